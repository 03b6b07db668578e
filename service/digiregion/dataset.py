"""The published dataset: which files it is made of, where its IRIs live on the server, what it contains.

Three things every other layer needs and must agree on live here, once:

* ``IriMap`` — the one mapping between IRIs and server paths. The dataset base (uriSpace, e.g.
  ``https://w3id.org/digiregion/lippe/``) maps to the server root, the ontology and shapes namespaces
  to ``/ontology`` and ``/shapes``. Routes, HTML links, VoID and DCAT all ask it, so a second region or
  a different public URL changes one setting, not a dozen string concatenations.
* ``InputFile`` / ``fingerprint`` — what exactly is published (paths, sizes, mtimes, SHA-256). The
  fingerprint keys the persisted store, so a restart with unchanged files never re-parses them.
* ``DatasetInfo`` — the facts gathered while loading (counts, graphs, per-file provenance), kept as
  JSON next to the store and read by VoID/DCAT and the ETag logic without touching the store again.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote, unquote

from . import __version__
from .config import ONTOLOGY_IRI, SHAPES_IRI, Settings
from .rdf_files import FORMATS, InputError, discover, format_of

STORE_LAYOUT_VERSION = "2"
"""Bumped whenever the persisted store or its metadata change shape; part of the fingerprint (2: ``dataset.json``
has ``statistics_ready``, so code that predates it never opens such a store)."""

RESERVED_PATHS = ("sparql", "ontology", "shapes", "catalog", "dumps", "static", ".well-known", "favicon.ico")
"""First path segments the service uses itself; data IRIs must not start with them (see ``IriMap``)."""


@dataclass(frozen=True)
class IriMap:
    """Maps IRIs of served namespaces to server paths and back (the only place that does so).

    ``namespaces`` is ordered most specific first: ``(iri_prefix, server_path_prefix)``. The ontology
    ``https://w3id.org/digiregion/ontology#Project`` is a hash IRI of the document
    ``https://w3id.org/digiregion/ontology`` which is served at ``/ontology``.
    """

    base_iri: str
    public_url: str
    namespaces: tuple[tuple[str, str], ...]

    @classmethod
    def from_settings(cls, settings: Settings) -> IriMap:
        base = settings.base_iri if settings.base_iri.endswith(("/", "#")) else settings.base_iri + "/"
        return cls(
            base_iri=base,
            public_url=settings.base_url,
            namespaces=((ONTOLOGY_IRI, "/ontology"), (SHAPES_IRI, "/shapes"), (base, "/")),
        )

    def path_for(self, iri: str) -> str | None:
        """Server path (without fragment) that serves ``iri``, or None if the IRI is not ours."""
        document = iri.split("#", 1)[0]
        for prefix, path in self.namespaces:
            if document == prefix or (document.startswith(prefix) and (prefix.endswith("/")
                                                                       or document[len(prefix)] == "/")):
                rest = document[len(prefix):]
                if path == "/":
                    return "/" + quote(rest, safe="/:@!$&'()*+,;=-._~%")
                return path + ("" if not rest else quote(rest, safe="/:@!$&'()*+,;=-._~%"))
        return None

    def url_for(self, iri: str) -> str | None:
        """Absolute URL at this service for ``iri`` (fragment kept), or None if not served here."""
        path = self.path_for(iri)
        if path is None:
            return None
        fragment = "#" + iri.split("#", 1)[1] if "#" in iri else ""
        return self.public_url.rstrip("/") + path + fragment

    def iri_for(self, path: str) -> str | None:
        """The document IRI served at server ``path``, or None when the path belongs to the service."""
        path = unquote(path)
        for prefix, server_path in self.namespaces:
            if server_path == "/":
                rest = path.lstrip("/")
                if not rest or rest.split("/", 1)[0] in RESERVED_PATHS:
                    return None
                return prefix + rest
            if path == server_path or path.startswith(server_path + "/"):
                return prefix + path[len(server_path):]
        return None


@dataclass(frozen=True)
class InputFile:
    """One published file: enough to notice any change and to cite it as provenance."""

    path: str
    format: str
    media_type: str
    size: int
    mtime_ns: int
    sha256: str
    quad_format: bool


def input_files(paths: Iterable[Path]) -> list[InputFile]:
    """Discover the RDF files under ``paths`` and describe each (hashing its content)."""
    files = []
    for path in discover(paths):
        fmt = format_of(path) or FORMATS[".ttl"]
        stat = path.stat()
        digest = hashlib.sha256()
        with open(path, "rb") as fh:
            for block in iter(lambda fh=fh: fh.read(1 << 20), b""):
                digest.update(block)
        files.append(InputFile(str(path), fmt.name, fmt.media_type, stat.st_size, stat.st_mtime_ns,
                               digest.hexdigest(), fmt.is_quad_format))
    if not files:
        raise InputError("Keine RDF-Dateien gefunden / no RDF files found", ", ".join(map(str, paths)))
    return files


def fingerprint(files: Iterable[InputFile]) -> str:
    """A stable hash of the inputs and of the code that turns them into a store."""
    digest = hashlib.sha256(f"digiregion-store/{STORE_LAYOUT_VERSION}/{__version__}\n".encode())
    for f in files:
        digest.update(f"{f.path}\t{f.size}\t{f.mtime_ns}\t{f.sha256}\n".encode())
    return digest.hexdigest()


@dataclass
class Partition:
    """A class or property partition for VoID: how many entities/triples use one term."""

    iri: str
    count: int


@dataclass
class DatasetInfo:
    """What the loader learned about the dataset; persisted as JSON beside the store."""

    fingerprint: str
    files: list[InputFile]
    loaded_at: str
    triples: int = 0
    default_graph_triples: int = 0
    entities: int = 0
    distinct_subjects: int = 0
    distinct_objects: int = 0
    classes: list[Partition] = field(default_factory=list)
    properties: list[Partition] = field(default_factory=list)
    graphs: list[str] = field(default_factory=list)
    file_graphs: dict[str, list[str]] = field(default_factory=dict)
    """Per input file, the named graphs it contributed (quad formats); provenance, not a split."""
    statistics_ready: bool = True
    """False while only the core facts are known (fingerprint, files, graphs, ``triples``,
    ``default_graph_triples``): a large store gets entities, distinct subjects/objects and the class and
    property partitions from the background dumper (``store.dumper``); until then they are 0/empty and
    must not be published. True by default, so files written before this field existed read as complete."""

    @property
    def version(self) -> str:
        """Short data-version string: ETags and result caches key on it.

        Derived from the input fingerprint only, so it stays the same when the statistics arrive later:
        they describe the same data, and anything that depends on them is not served before they exist.
        """
        return self.fingerprint[:16]

    @functools.cached_property
    def last_modified(self) -> datetime:
        """Newest modification time of any input file (the data's own date, not the load time).

        Kept once computed: every answer's ``Last-Modified`` header reads it, and a new data version is a
        new ``DatasetInfo`` (the files of one never change).
        """
        newest = max((f.mtime_ns for f in self.files), default=0)
        return datetime.fromtimestamp(newest / 1e9, tz=UTC).replace(microsecond=0)

    def vocabularies(self) -> list[str]:
        """Namespaces of the classes and properties in use (for void:vocabulary)."""
        found = set()
        for term in [p.iri for p in self.properties] + [c.iri for c in self.classes]:
            cut = max(term.rfind("#"), term.rfind("/"))
            if cut > 0:
                found.add(term[: cut + 1])
        return sorted(found)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=1, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> DatasetInfo:
        raw = json.loads(text)
        raw["files"] = [InputFile(**f) for f in raw["files"]]
        raw["classes"] = [Partition(**p) for p in raw["classes"]]
        raw["properties"] = [Partition(**p) for p in raw["properties"]]
        return cls(**raw)


def utc_now() -> str:
    return datetime.now(tz=UTC).replace(microsecond=0).isoformat()
