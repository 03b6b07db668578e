"""Finding RDF files and knowing their formats.

One table maps file suffixes to formats for every reader in digiregion (rdflib for diagnostics and
validation, pyoxigraph for the store), so a file is never read as Turtle by one layer and skipped by
another.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox


@dataclass(frozen=True)
class RdfFormat:
    name: str
    media_type: str
    rdflib_format: str
    is_quad_format: bool = False


FORMATS: dict[str, RdfFormat] = {
    ".ttl": RdfFormat("turtle", "text/turtle", "turtle"),
    ".turtle": RdfFormat("turtle", "text/turtle", "turtle"),
    ".nt": RdfFormat("n-triples", "application/n-triples", "nt"),
    ".ntriples": RdfFormat("n-triples", "application/n-triples", "nt"),
    ".nq": RdfFormat("n-quads", "application/n-quads", "nquads", is_quad_format=True),
    ".trig": RdfFormat("trig", "application/trig", "trig", is_quad_format=True),
    ".jsonld": RdfFormat("json-ld", "application/ld+json", "json-ld", is_quad_format=True),
    ".rdf": RdfFormat("rdf-xml", "application/rdf+xml", "xml"),
    ".owl": RdfFormat("rdf-xml", "application/rdf+xml", "xml"),
    ".xml": RdfFormat("rdf-xml", "application/rdf+xml", "xml"),
}

RDF_SUFFIXES = frozenset(FORMATS)

OXIGRAPH_FORMATS: dict[str, ox.RdfFormat] = {
    "turtle": ox.RdfFormat.TURTLE,
    "n-triples": ox.RdfFormat.N_TRIPLES,
    "n-quads": ox.RdfFormat.N_QUADS,
    "trig": ox.RdfFormat.TRIG,
    "json-ld": ox.RdfFormat.JSON_LD,
    "rdf-xml": ox.RdfFormat.RDF_XML,
}
"""pyoxigraph's parser for each format name of ``FORMATS``."""

_DOCTYPE = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)


def has_doctype(path: Path) -> bool:
    """Whether an XML file declares a DOCTYPE or ENTITY anywhere: entity expansion can burn minutes of
    CPU from a few hundred bytes, so such RDF/XML is never parsed (the whole file is scanned in blocks)."""
    tail = b""
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 16), b""):
            if _DOCTYPE.search(tail + block):
                return True
            tail = block[-16:]
    return False


class InputError(Exception):
    """Input that cannot be read; ``path``/``line`` say where, the message says what (de / en)."""

    def __init__(self, message: str, path: Path | str | None = None, line: int | None = None,
                 column: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.path = str(path) if path is not None else None
        self.line = line
        self.column = column

    def __str__(self) -> str:
        where = self.path or ""
        if self.line:
            where += f":{self.line}" + (f":{self.column}" if self.column else "")
        return f"{where}: {self.message}" if where else self.message


def format_of(path: Path) -> RdfFormat | None:
    return FORMATS.get(path.suffix.lower())


def discover(paths: Iterable[Path], suffixes: Iterable[str] = RDF_SUFFIXES) -> list[Path]:
    """Expand files and folders into a sorted, duplicate-free list of RDF files.

    A missing path is an error (a typo must not silently validate nothing); files named explicitly
    are taken whatever their suffix, files inside folders only with a known RDF suffix.
    """
    wanted = {s.lower() for s in suffixes}
    found: dict[Path, None] = {}
    for path in paths:
        path = Path(path)
        if not path.exists():
            raise InputError("Pfad nicht gefunden / path not found", path)
        if path.is_dir():
            for child in _walk(path):
                if child.suffix.lower() in wanted:
                    found.setdefault(child.resolve(), None)
        else:
            found.setdefault(path.resolve(), None)
    return list(found)


def _walk(folder: Path) -> Iterator[Path]:
    for child in sorted(folder.rglob("*")):
        if child.is_file() and not any(part.startswith(".") for part in child.relative_to(folder).parts):
            yield child
