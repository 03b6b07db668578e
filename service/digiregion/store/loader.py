"""Turn the published files into a persisted pyoxigraph store, or reuse the one already built.

A store folder is named after the fingerprint of its inputs (paths, sizes, mtimes, SHA-256 and the
store layout version), so a restart with unchanged files opens it without parsing anything, and a
changed file leads to a new folder instead of a half-updated store. Building happens in a hidden
temporary folder that is renamed into place only when complete, so a crash or a concurrent start
never leaves a store that looks finished but is not.

Besides the oxigraph database a built store holds ``dataset.json`` (counts, graphs, provenance for
VoID/DCAT), ``fragments.sqlite`` (which hash IRIs ``doc#…`` belong to which document, so a resource
page finds them with an index lookup instead of a scan) and the gzipped dumps.
"""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox

from ..config import Settings
from ..dataset import DatasetInfo, InputFile, Partition, fingerprint, input_files, utc_now
from ..rdf_files import InputError

INFO_FILE = "dataset.json"
OXIGRAPH_DIR = "oxigraph"
FRAGMENTS_DB = "fragments.sqlite"
DUMPS_DIR = "dumps"
BULK_THRESHOLD = 1024 * 1024
"""Files from this size on go through bulk_load: at ~1M triples, one load() transaction per file stalled
rocksdb for good (the build hung in a futex wait; measured with benchmarks/service_bench.py)."""

_OX_FORMATS = {
    "turtle": ox.RdfFormat.TURTLE,
    "n-triples": ox.RdfFormat.N_TRIPLES,
    "n-quads": ox.RdfFormat.N_QUADS,
    "trig": ox.RdfFormat.TRIG,
    "json-ld": ox.RdfFormat.JSON_LD,
    "rdf-xml": ox.RdfFormat.RDF_XML,
}
_DOCTYPE = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)
_POSITION = re.compile(r"(?:at|on line)\s+(\d+):(\d+)|line (\d+)")


@dataclass(frozen=True)
class BuiltStore:
    """A complete store folder and what is known about its content."""

    path: Path
    info: DatasetInfo

    @property
    def oxigraph_path(self) -> Path:
        return self.path / OXIGRAPH_DIR

    @property
    def fragments_path(self) -> Path:
        return self.path / FRAGMENTS_DB

    @property
    def dumps_path(self) -> Path:
        return self.path / DUMPS_DIR


Progress = Callable[[int], None]
"""Called with the number of bytes just read; lets the CLI draw a progress bar."""


def default_store_root() -> Path:
    """Where stores live when ``store_dir`` is not set: the user's cache folder."""
    return Path.home() / ".cache" / "digiregion" / "stores"


def open_or_build(settings: Settings, *, progress_factory: Callable[[int, str], Progress] | None = None
                  ) -> BuiltStore:
    """Return the store for the current inputs, building it first when no complete one exists."""
    files = input_files(settings.data_paths)
    key = fingerprint(files)
    root = Path(settings.store_dir) if settings.store_dir else default_store_root()
    target = root / key[:24]
    if (target / INFO_FILE).is_file():
        return BuiltStore(target, DatasetInfo.from_json((target / INFO_FILE).read_text(encoding="utf-8")))
    root.mkdir(parents=True, exist_ok=True)
    temporary = root / f".{key[:24]}.building-{os.getpid()}"
    shutil.rmtree(temporary, ignore_errors=True)
    temporary.mkdir()
    try:
        info = _build(files, key, temporary, progress_factory)
        try:
            temporary.rename(target)
        except OSError:
            if not (target / INFO_FILE).is_file():  # someone else finished first: use theirs
                raise
            shutil.rmtree(temporary, ignore_errors=True)
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise
    return BuiltStore(target, info)


def _build(files: list[InputFile], key: str, folder: Path,
           progress_factory: Callable[[int, str], Progress] | None) -> DatasetInfo:
    from ..dumps import write_dumps

    store = ox.Store(str(folder / OXIGRAPH_DIR))
    total = sum(f.size for f in files)
    advance = progress_factory(total, "Daten laden / loading data") if progress_factory else None
    file_graphs: dict[str, list[str]] = {}
    for item in files:
        before = {g.value for g in store.named_graphs() if isinstance(g, ox.NamedNode)}
        _load_file(store, item, advance)
        after = {g.value for g in store.named_graphs() if isinstance(g, ox.NamedNode)}
        if after - before:
            file_graphs[item.path] = sorted(after - before)
    store.flush()
    info = DatasetInfo(fingerprint=key, files=files, loaded_at=utc_now(), file_graphs=file_graphs)
    _collect_stats(store, info)
    _index_fragments(store, folder / FRAGMENTS_DB)
    write_dumps(store, folder / DUMPS_DIR, info)
    store.flush()
    del store
    (folder / INFO_FILE).write_text(info.to_json(), encoding="utf-8")
    return info


class _CountingReader:
    """A binary reader that reports progress to the CLI while pyoxigraph pulls bytes."""

    def __init__(self, raw, advance: Progress | None) -> None:
        self._raw = raw
        self._advance = advance

    def read(self, size: int = -1) -> bytes:
        data = self._raw.read(size)
        if self._advance and data:
            self._advance(len(data))
        return data

    def readinto(self, buffer) -> int:  # pyoxigraph may use either protocol
        n = self._raw.readinto(buffer)
        if self._advance and n:
            self._advance(n)
        return n

    def readable(self) -> bool:
        return True


def _load_file(store: ox.Store, item: InputFile, advance: Progress | None) -> None:
    path = Path(item.path)
    fmt = _OX_FORMATS[item.format]
    if item.format == "rdf-xml":
        _refuse_doctype(path)
    try:
        with open(path, "rb") as raw:
            if item.size < BULK_THRESHOLD:  # bulk_load writes new files per call: slow for many small files
                store.load(raw.read(), format=fmt, base_iri=path.as_uri())
                if advance:
                    advance(item.size)
            else:
                store.bulk_load(_CountingReader(raw, advance), format=fmt, base_iri=path.as_uri())
    except SyntaxError as exc:
        line, column = _position(str(exc))
        raise InputError(f"Syntaxfehler / syntax error: {exc}", path, line, column) from exc
    except (OSError, ValueError) as exc:
        raise InputError(f"Nicht lesbar / cannot load: {exc}", path) from exc


def _refuse_doctype(path: Path) -> None:
    """RDF/XML with a DOCTYPE can define entities whose expansion burns minutes of CPU: never load it."""
    tail = b""
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 16), b""):
            if _DOCTYPE.search(tail + block):
                raise InputError(
                    "RDF/XML mit DOCTYPE/ENTITY wird aus Sicherheitsgründen nicht geladen / RDF/XML with a "
                    "DOCTYPE or ENTITY declaration is refused for safety (entity expansion)", path)
            tail = block[-16:]


def _position(message: str) -> tuple[int | None, int | None]:
    match = _POSITION.search(message)
    if not match:
        return None, None
    if match.group(3):
        return int(match.group(3)), None
    return int(match.group(1)), int(match.group(2))


def _count(store: ox.Store, query: str) -> int:
    for row in store.query(query):
        return int(row[0].value)
    return 0


def _collect_stats(store: ox.Store, info: DatasetInfo) -> None:
    """Counts for VoID over the default graph (the published graph), computed once at build time."""
    info.triples = len(store)
    info.default_graph_triples = _count(store, "SELECT (COUNT(*) AS ?n) { ?s ?p ?o }")
    info.distinct_subjects = _count(store, "SELECT (COUNT(DISTINCT ?s) AS ?n) { ?s ?p ?o }")
    info.distinct_objects = _count(store, "SELECT (COUNT(DISTINCT ?o) AS ?n) { ?s ?p ?o }")
    info.entities = _count(store, "SELECT (COUNT(DISTINCT ?s) AS ?n) { ?s ?p ?o FILTER(isIRI(?s)) }")
    info.classes = [Partition(row[0].value, int(row[1].value)) for row in store.query(
        "SELECT ?c (COUNT(DISTINCT ?s) AS ?n) { ?s a ?c FILTER(isIRI(?c)) } GROUP BY ?c ORDER BY ?c")]
    info.properties = [Partition(row[0].value, int(row[1].value)) for row in store.query(
        "SELECT ?p (COUNT(*) AS ?n) { ?s ?p ?o } GROUP BY ?p ORDER BY ?p")]
    info.graphs = sorted(g.value for g in store.named_graphs() if isinstance(g, ox.NamedNode))


def _index_fragments(store: ox.Store, db_path: Path) -> None:
    """Record every hash-IRI subject under its document IRI (``doc#x`` → ``doc``)."""
    connection = sqlite3.connect(db_path)
    try:
        connection.execute("CREATE TABLE fragments (doc TEXT NOT NULL, iri TEXT NOT NULL)")
        rows = store.query(
            "SELECT DISTINCT ?s { { ?s ?p ?o } UNION { GRAPH ?g { ?s ?p ?o } } "
            "FILTER(isIRI(?s) && CONTAINS(STR(?s), '#')) }")
        connection.executemany("INSERT INTO fragments VALUES (?, ?)",
                               ((row[0].value.split("#", 1)[0], row[0].value) for row in rows))
        connection.execute("CREATE INDEX fragments_doc ON fragments (doc)")
        connection.commit()
    finally:
        connection.close()
