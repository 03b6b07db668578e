"""Where the shipped ontology, shapes and region data live.

In a wheel they are package data (``digiregion/_resources``); in a source checkout or an editable
install they are the top-level folders of the repository. Looking in both places keeps
``pip install .`` and ``pip install -e .`` equally usable without copying files around.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent
_CANDIDATES = (_PACKAGE_DIR / "_resources", _PACKAGE_DIR.parent.parent)


def resource_dir(name: str) -> Path:
    """Return the folder ``name`` (``ontology``, ``shapes`` or ``data``) of the installed project."""
    for root in _CANDIDATES:
        candidate = root / name
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"digiregion resource folder {name!r} not found in {[str(c) for c in _CANDIDATES]}")


def ontology_dir() -> Path:
    return resource_dir("ontology")


def shapes_dir() -> Path:
    return resource_dir("shapes")


def default_data_dir(region: str = "lippe") -> Path:
    return resource_dir("data") / region
