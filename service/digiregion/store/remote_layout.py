"""How a dataset is laid out in a remote engine: the contract between ``digiregion load`` and the remote store.

* The dataset's default graph lives in one named graph ``G`` (``--graph``, default: the base IRI).
  Named graphs of quad files keep their own names.
* A side graph ``urn:digiregion:load:<G>`` holds what the service needs besides the data: the data
  version (fingerprint of the loaded files: ETags and caches key on it), the manifest (files, graphs,
  load time — the provenance VoID/DCAT show) and the hash-IRI index (``<doc> fragment <doc#x>``)
  that lets a resource page find ``doc#…`` subjects with one index lookup instead of a scan.
* A load uploads into temporary graphs named by ``loading_prefix(G)`` and switches them in at the end;
  a killed load's temporary graphs are dropped by the next load into ``G`` (or ``load --cleanup``).
* Every query the service sends pins the dataset (``default-graph-uri`` = ``G``, ``named-graph-uri`` =
  the dataset's named graphs), so the side graph, the engine's system graphs and other datasets in the
  same engine are invisible to clients.
"""

from __future__ import annotations

import hashlib

META_PREFIX = "urn:digiregion:load:"
LOADING_PREFIX = "urn:digiregion:loading:"
"""Temporary graphs of a running load: ``urn:digiregion:loading:<target key>:<token>:<n>`` (``loading_prefix``)."""
EMPTY_GRAPH = "urn:digiregion:empty-graph"
"""Never loaded: pinned as the only named graph when a dataset has none, so GRAPH ?g sees nothing."""

VERSION = "urn:digiregion:version"
MANIFEST = "urn:digiregion:manifest"
FRAGMENT = "urn:digiregion:fragment"


def meta_graph(graph: str) -> str:
    return META_PREFIX + graph


def loading_prefix(graph: str) -> str:
    """The name prefix of every temporary graph of loads into ``graph``.

    The target is part of the name (as a hash: graph IRIs may be long and hold any character) so that
    a load can find and drop what a killed load into the *same* graph left behind, without touching the
    temporary graphs of a load into another graph that may be running at the same time.
    """
    return f"{LOADING_PREFIX}{hashlib.sha256(graph.encode()).hexdigest()[:16]}:"


def sparql_iri(iri: str) -> str:
    """An IRI as a SPARQL term; refuses characters that could break out of ``<…>``."""
    if any(c in iri for c in '<>"{}|^`\\') or any(ord(c) <= 0x20 for c in iri):
        raise ValueError(f"Ungültige IRI / invalid IRI: {iri!r}")
    return f"<{iri}>"
