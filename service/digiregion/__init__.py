"""digiregion: the open-data knowledge graph of a digital region, and the tools to publish it.

Layers, each in its own module: ``cli`` (commands) → ``config`` and ``dataset`` (what is published)
→ ``store`` (the one small query interface every backend implements) and ``validation`` (SHACL and
cross-file checks) → ``web`` (a thin HTTP layer over the store).
"""

__version__ = "0.1.0"
