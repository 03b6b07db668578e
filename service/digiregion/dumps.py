"""The whole graph as downloadable files: Turtle, N-Triples and JSON-LD, gzipped.

Dumps are written once per data version after the store is built (``store.loader``; for large
inputs in a background process, ``store.dumper``) and served from there (``/dumps/``), so a download never runs a query. ``digiregion export DIR`` writes the same
files offline. Gzip headers carry no timestamp, so the same data always gives the same bytes and
the same SHA-256 that the DCAT catalogue publishes.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import shutil
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pyoxigraph as ox

if TYPE_CHECKING:
    from .config import Settings
    from .dataset import DatasetInfo

MANIFEST = "manifest.json"
DUMP_STEM = "digiregion"

PREFIXES = {
    "dr": "https://w3id.org/digiregion/ontology#",
    "drsh": "https://w3id.org/digiregion/shapes#",
    "org": "http://www.w3.org/ns/org#",
    "m8g": "http://data.europa.eu/m8g/",
    "schema": "https://schema.org/",
    "skos": "http://www.w3.org/2004/02/skos/core#",
    "dcterms": "http://purl.org/dc/terms/",
    "dcat": "http://www.w3.org/ns/dcat#",
    "prov": "http://www.w3.org/ns/prov#",
    "foaf": "http://xmlns.com/foaf/0.1/",
    "geo": "http://www.opengis.net/ont/geosparql#",
    "wgs": "http://www.w3.org/2003/01/geo/wgs84_pos#",
    "owl": "http://www.w3.org/2002/07/owl#",
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
    "sh": "http://www.w3.org/ns/shacl#",
}
"""Prefixes used in Turtle output everywhere (dumps, resource pages, CONSTRUCT results)."""


@dataclass(frozen=True)
class DumpFormat:
    suffix: str
    media_type: str
    ox_format: ox.RdfFormat
    eu_file_type: str
    """Format IRI from the EU file-type authority table (what DCAT-AP.de expects in dct:format)."""
    title_de: str
    title_en: str
    dataset: bool = False


DUMP_FORMATS = (
    DumpFormat(".ttl.gz", "text/turtle", ox.RdfFormat.TURTLE,
               "http://publications.europa.eu/resource/authority/file-type/RDF_TURTLE",
               "Gesamter Graph als Turtle (gzip)", "Whole graph as Turtle (gzip)"),
    DumpFormat(".nt.gz", "application/n-triples", ox.RdfFormat.N_TRIPLES,
               "http://publications.europa.eu/resource/authority/file-type/RDF_N_TRIPLES",
               "Gesamter Graph als N-Triples (gzip)", "Whole graph as N-Triples (gzip)"),
    DumpFormat(".jsonld.gz", "application/ld+json", ox.RdfFormat.JSON_LD,
               "http://publications.europa.eu/resource/authority/file-type/JSON_LD",
               "Gesamter Graph als JSON-LD (gzip)", "Whole graph as JSON-LD (gzip)"),
    DumpFormat(".nq.gz", "application/n-quads", ox.RdfFormat.N_QUADS,
               "http://publications.europa.eu/resource/authority/file-type/RDF_N_QUADS",
               "Alle Graphen als N-Quads (gzip)", "All graphs as N-Quads (gzip)", dataset=True),
)


@dataclass(frozen=True)
class Dump:
    """One written dump file (the contract of ``export``: ``.path``, ``.size``, ``.sha256``)."""

    path: Path
    size: int
    sha256: str
    media_type: str
    eu_file_type: str
    title_de: str
    title_en: str

    @property
    def name(self) -> str:
        return self.path.name


def write_dumps(store: ox.Store, folder: Path, info: DatasetInfo) -> list[Dump]:
    """Write the default graph in every triple format (and all graphs as N-Quads if there are named ones)."""
    folder.mkdir(parents=True, exist_ok=True)
    dumps = []
    for fmt in DUMP_FORMATS:
        if fmt.dataset and not info.graphs:
            continue
        path = folder / f"{DUMP_STEM}{fmt.suffix}"
        with open(path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, filename="",
                                                     compresslevel=6) as out:
            if fmt.dataset:
                store.dump(out, format=fmt.ox_format)
            else:
                store.dump(out, format=fmt.ox_format, from_graph=ox.DefaultGraph(),
                           prefixes=PREFIXES if fmt.ox_format != ox.RdfFormat.N_TRIPLES else None)
        dumps.append(_describe(path, fmt))
    (folder / MANIFEST).write_text(json.dumps([{**asdict(d), "path": d.path.name} for d in dumps], indent=1),
                                   encoding="utf-8")
    return dumps


def read_manifest(folder: Path) -> list[Dump]:
    """The dumps of a built store, as recorded when they were written."""
    try:
        raw = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return []
    return [Dump(**{**d, "path": folder / d["path"]}) for d in raw]


def _describe(path: Path, fmt: DumpFormat) -> Dump:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return Dump(path, path.stat().st_size, digest.hexdigest(), fmt.media_type, fmt.eu_file_type,
                fmt.title_de, fmt.title_en)


def export_dumps(settings: Settings, directory: Path,
                 progress_factory: Callable[[int, str], Callable[[int], None]] | None = None) -> list[Dump]:
    """Build (or reuse) the store for ``settings`` and copy its dumps into ``directory``."""
    from .store.loader import ensure_extras, open_or_build

    built = open_or_build(settings, progress_factory=progress_factory)
    ensure_extras(built)
    directory.mkdir(parents=True, exist_ok=True)
    copied = []
    for dump in read_manifest(built.dumps_path):
        target = directory / dump.name
        shutil.copyfile(dump.path, target)
        copied.append(Dump(target, dump.size, dump.sha256, dump.media_type, dump.eu_file_type,
                           dump.title_de, dump.title_en))
    return copied
