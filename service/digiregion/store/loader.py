"""Turn the published files into a persisted pyoxigraph store, or reuse the one already built.

A store folder is named after the fingerprint of its inputs (paths, sizes, mtimes, SHA-256 and the
store layout version), so a restart with unchanged files opens it without parsing anything, and a
changed file leads to a new folder instead of a half-updated store. Building happens in a hidden
temporary folder that is renamed into place only when complete, so a crash or a concurrent start
never leaves a store that looks finished but is not.

Besides the oxigraph database a built store holds ``dataset.json`` (counts, graphs, provenance for
VoID/DCAT), ``fragments.sqlite`` (which hash IRIs ``doc#…`` belong to which document, so a resource
page finds them with an index lookup instead of a scan), ``snapshot.nq`` (all quads, from which the
query workers fill their in-memory copies) and the gzipped dumps.

Only what is needed to answer queries is on the start-up path: the database and the core facts that
cost next to nothing (files, named graphs, number of quads and of default-graph triples). For inputs of
``SYNC_EXTRAS_BYTES`` and more, everything else is written afterwards by a background process
(``store.dumper``, started by the embedded store): first the VoID statistics and the fragment index
(``dataset.json`` is then rewritten with ``statistics_ready``), then the snapshot and the dumps. At 1M
triples that takes ~2.6 s of statistics and far more for the dumps off the path between "data loaded"
and "first answer". Meanwhile VoID and the home page wait (bounded, then 503 with Retry-After), resource
pages find hash IRIs by a scan instead of the index (``worker.Worker.fragments_of``), and ``/dumps/…``
answers 503 with Retry-After. Every file is written under a temporary name and renamed into place when
complete, so a killed dumper leaves a folder that the next start completes. Small inputs (tests, the
Lippe data) get everything during the build; offline commands (``export``, ``load``) complete what is
missing synchronously (``ensure_statistics``, ``ensure_extras``).
"""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import traceback
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

import pyoxigraph as ox

from ..config import Settings
from ..dataset import DatasetInfo, InputFile, Partition, fingerprint, input_files, utc_now
from ..rdf_files import OXIGRAPH_FORMATS, InputError, has_doctype

INFO_FILE = "dataset.json"
OXIGRAPH_DIR = "oxigraph"
FRAGMENTS_DB = "fragments.sqlite"
DUMPS_DIR = "dumps"
SNAPSHOT_FILE = "snapshot.nq"
UPLOAD_SCRATCH = "upload"
"""Folder for the N-Triples files ``digiregion load`` sends (``.upload.<pid>``, removed when done)."""
SYNC_EXTRAS_BYTES = 1024 * 1024
"""Inputs smaller than this get statistics, snapshot and dumps during the build; larger ones in the background.

1 MiB: the Lippe data (~0.5 MB with ontology and shapes) and the tests stay synchronous (everything exists when
the server answers); at 10^5 generated triples (4.7 MB) the synchronous dumps took ~4 s of a 6.4 s first start
(was 8 MiB until the fourth session)."""
LOAD_THREADS = 2
"""Parallel bulk loads (pyoxigraph releases the GIL; at 1M triples 2 threads: 5.6 s instead of 7.6 s)."""
TRIPLE_FORMATS = frozenset({"turtle", "n-triples", "rdf-xml"})
BULK_THRESHOLD = 1024 * 1024
"""Files from this size on go through bulk_load: at ~1M triples, one load() transaction per file stalled
rocksdb for good (the build hung in a futex wait; measured with benchmarks/service_bench.py)."""

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

    @property
    def snapshot_path(self) -> Path:
        return self.path / SNAPSHOT_FILE

    @property
    def statistics_ready(self) -> bool:
        """VoID statistics are in ``dataset.json`` and the fragment index exists (both written by the same step)."""
        return self.info.statistics_ready and self.fragments_path.is_file()

    @property
    def extras_ready(self) -> bool:
        """Snapshot and dumps are written (they are renamed into place only when complete)."""
        from ..dumps import MANIFEST

        return self.snapshot_path.is_file() and (self.dumps_path / MANIFEST).is_file()


Progress = Callable[[int], None]
"""Called with the number of bytes just read; lets the CLI draw a progress bar."""


def default_store_root() -> Path:
    """Where stores live when ``store_dir`` is not set: the user's cache folder."""
    return Path.home() / ".cache" / "digiregion" / "stores"


def open_or_build(settings: Settings, *, progress_factory: Callable[[int, str], Progress] | None = None,
                  compact: bool = False) -> BuiltStore:
    """Return the store for the current inputs, building it first when no complete one exists.

    ``compact``: when building, compact the database before it is renamed into place (``_build``).
    """
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
        info = _build(files, key, temporary, progress_factory, compact)
        try:
            temporary.rename(target)
        except OSError:
            if not (target / INFO_FILE).is_file():  # someone else finished first: use theirs
                raise
            shutil.rmtree(temporary, ignore_errors=True)
    except BaseException as exc:
        discard(temporary, exc)
        raise
    return BuiltStore(target, info)


def _build(files: list[InputFile], key: str, folder: Path,
           progress_factory: Callable[[int, str], Progress] | None, compact: bool = False) -> DatasetInfo:
    store = ox.Store(str(folder / OXIGRAPH_DIR))
    total = sum(f.size for f in files)
    advance = progress_factory(total, "Daten laden / loading data") if progress_factory else None
    file_graphs: dict[str, list[str]] = {}
    # large files of pure triple formats (no named graphs to attribute) load in parallel bulk loads
    parallel = [f for f in files if f.size >= BULK_THRESHOLD and f.format in TRIPLE_FORMATS]
    for item in files:
        if item in parallel:
            continue
        before = {g.value for g in store.named_graphs() if isinstance(g, ox.NamedNode)}
        _load_file(store, item, advance)
        after = {g.value for g in store.named_graphs() if isinstance(g, ox.NamedNode)}
        if after - before:
            file_graphs[item.path] = sorted(after - before)
    if parallel:
        parallel.sort(key=lambda f: -f.size)
        with ThreadPoolExecutor(max(1, min(LOAD_THREADS, os.cpu_count() or 1))) as pool:
            for future in [pool.submit(_load_file, store, item, advance) for item in parallel]:
                future.result()
    store.flush()
    info = DatasetInfo(fingerprint=key, files=files, loaded_at=utc_now(), file_graphs=file_graphs,
                       statistics_ready=False)
    _collect_core_facts(store, info)
    if total < SYNC_EXTRAS_BYTES:
        _collect_statistics(store, info, folder / FRAGMENTS_DB)
        write_extras(store, folder, info)
    store.flush()
    if compact:
        # The bulk loader leaves many overlapping files, and a store opened read-only never compacts them:
        # reading every quad back then took 40 s at 10^6 triples here instead of 10 s (2 s to compact).
        # ``serve`` skips it (it would lengthen the start-up); ``load`` reads everything back at once.
        store.optimize()
    del store
    write_info(folder, info)
    return info


_NAMES = "|".join(re.escape(name) for name in (INFO_FILE, FRAGMENTS_DB, SNAPSHOT_FILE, DUMPS_DIR, UPLOAD_SCRATCH))
_PARTIAL = re.compile(rf"^\.(?:{_NAMES})\.(\d+)$")


def discard(folder: Path, failure: BaseException | None = None) -> None:
    """Remove a temporary folder that held an on-disk store; after ``failure``, release that store first.

    While an on-disk pyoxigraph store is open, RocksDB's background compactions keep writing new files
    into its folder, and a removal racing them leaves the folder behind (seen in CI: one ``.sst`` file
    survived). A store has no ``close()``: it closes (and waits for its compactions) when the last
    reference goes, and after a failure the frames of the traceback still hold it, so their locals are
    cleared before the folder is removed.
    """
    if failure is not None:
        traceback.clear_frames(failure.__traceback__)
    shutil.rmtree(folder, ignore_errors=True)


def remove_stale_partials(folder: Path) -> None:
    """Remove what killed writers left behind: ``.<name>.<pid>`` files and folders whose process is gone.

    Every file of a store folder is written under such a name and renamed into place when complete, so a
    writer killed half-way (a stopped service's dumper, a crash) leaves its partial file; the next dumper
    starts by removing those whose process no longer runs (a live one may be another service's dumper).
    """
    if not folder.is_dir():
        return
    for entry in folder.iterdir():
        found = _PARTIAL.match(entry.name)
        if found is None or process_alive(int(found.group(1))):
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)


def process_alive(pid: int | None) -> bool:
    """Whether ``pid`` runs (someone else's process counts as running: not ours to judge)."""
    if pid is None:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def write_info(folder: Path, info: DatasetInfo) -> None:
    """``dataset.json`` replaced atomically: a reader (the web process, a restart) sees the old or the new file."""
    partial = folder / f".{INFO_FILE}.{os.getpid()}"
    partial.write_text(info.to_json(), encoding="utf-8")
    os.replace(partial, folder / INFO_FILE)


def complete_statistics(store: ox.Store, folder: Path, info: DatasetInfo) -> DatasetInfo:
    """Compute the statistics and the fragment index of a built store and record them in its ``dataset.json``.

    The fragment index is renamed into place before ``dataset.json`` says ``statistics_ready``: a process
    killed in between leaves an index but no flag, and the next run simply computes both again. The
    data version (the fingerprint) does not change. Returns the completed info (``info`` is not changed).
    """
    completed = replace(info, statistics_ready=False)
    _collect_statistics(store, completed, folder / FRAGMENTS_DB)
    write_info(folder, completed)
    return completed


def ensure_statistics(built: BuiltStore) -> BuiltStore:
    """The store with complete statistics, computing them now if the background dumper has not yet.

    For offline commands that publish the counts or the fragment index (``load`` copies both into the
    engine, ``export``): they must not wait for a service to run the dumper.
    """
    if built.statistics_ready:
        return built
    store = ox.Store.read_only(str(built.oxigraph_path))
    return BuiltStore(built.path, complete_statistics(store, built.path, built.info))


def write_extras(store: ox.Store, folder: Path, info: DatasetInfo) -> None:
    """Snapshot (N-Quads, all graphs) and dumps, each written under a temporary name and renamed when complete."""
    from ..dumps import write_dumps

    snapshot = folder / SNAPSHOT_FILE
    if not snapshot.is_file():
        partial = folder / f".{SNAPSHOT_FILE}.{os.getpid()}"
        store.dump(str(partial), format=ox.RdfFormat.N_QUADS)
        partial.rename(snapshot)
    dumps = folder / DUMPS_DIR
    if not dumps.is_dir():
        partial_dir = folder / f".{DUMPS_DIR}.{os.getpid()}"
        shutil.rmtree(partial_dir, ignore_errors=True)
        write_dumps(store, partial_dir, info)
        try:
            partial_dir.rename(dumps)
        except OSError:  # written by a concurrent process in the meantime
            shutil.rmtree(partial_dir, ignore_errors=True)


def ensure_extras(built: BuiltStore) -> BuiltStore:
    """Write statistics, snapshot and dumps now if they are missing (``export``, which needs them at once)."""
    built = ensure_statistics(built)
    if not built.extras_ready:
        store = ox.Store.read_only(str(built.oxigraph_path))
        write_extras(store, built.path, built.info)
    return built


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
    fmt = OXIGRAPH_FORMATS[item.format]
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
    if has_doctype(path):
        raise InputError(
            "RDF/XML mit DOCTYPE/ENTITY wird aus Sicherheitsgründen nicht geladen / RDF/XML with a "
            "DOCTYPE or ENTITY declaration is refused for safety (entity expansion)", path)


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


def _collect_core_facts(store: ox.Store, info: DatasetInfo) -> None:
    """What the start-up path records: the named graphs and the numbers of quads and of default-graph triples.

    Cheap (at 1M triples ``len`` takes ~0.2 s; without named graphs the default graph is all of it) and
    needed at once: the query guard knows the graphs, the fork server checks its copy against ``triples``,
    the SPARQL service description states ``default_graph_triples``.
    """
    info.graphs = sorted(g.value for g in store.named_graphs() if isinstance(g, ox.NamedNode))
    info.triples = len(store)
    info.default_graph_triples = (_count(store, "SELECT (COUNT(*) AS ?n) { ?s ?p ?o }") if info.graphs
                                  else info.triples)


def _collect_statistics(store: ox.Store, info: DatasetInfo, db_path: Path) -> None:
    """Counts for VoID over the default graph and the fragment index; sets ``info.statistics_ready``.

    One pass over the distinct subjects gives the subject count, the entity count (IRIs) and the hash
    IRIs for the fragment index; FILTERs over all triples (``isIRI``, ``CONTAINS(STR(…))``) cost several
    seconds per million triples in pyoxigraph. At 1M triples ~2.6 s, which is why large stores run this
    in the background dumper rather than on the start-up path.
    """

    def subjects_and_fragments() -> tuple[int, int, dict[str, str]]:
        subjects = entities = 0
        fragments: dict[str, str] = {}
        for row in store.query("SELECT DISTINCT ?s { ?s ?p ?o }"):
            subject = row[0]
            subjects += 1
            if isinstance(subject, ox.NamedNode):
                entities += 1
                if "#" in subject.value:
                    fragments[subject.value] = subject.value.split("#", 1)[0]
        if info.graphs:
            for row in store.query("SELECT DISTINCT ?s { GRAPH ?g { ?s ?p ?o } }"):
                if isinstance(row[0], ox.NamedNode) and "#" in row[0].value:
                    fragments[row[0].value] = row[0].value.split("#", 1)[0]
        return subjects, entities, fragments

    def rows(query: str) -> list[Partition]:
        return [Partition(row[0].value, int(row[1].value)) for row in store.query(query)]

    # pyoxigraph releases the GIL while it evaluates: the independent counts run side by side
    with ThreadPoolExecutor(2) as pool:
        subject_pass = pool.submit(subjects_and_fragments)
        objects = pool.submit(_count, store, "SELECT (COUNT(DISTINCT ?o) AS ?n) { ?s ?p ?o }")
        classes = pool.submit(rows, "SELECT ?c (COUNT(DISTINCT ?s) AS ?n) { ?s a ?c FILTER(isIRI(?c)) } "
                                    "GROUP BY ?c ORDER BY ?c")
        properties = pool.submit(rows, "SELECT ?p (COUNT(*) AS ?n) { ?s ?p ?o } GROUP BY ?p ORDER BY ?p")
        distinct_subjects, entities, fragments = subject_pass.result()
        _write_fragments(db_path, fragments)  # while the other counts still run
        info.distinct_subjects, info.entities = distinct_subjects, entities
        info.distinct_objects = objects.result()
        info.classes = classes.result()
        info.properties = properties.result()
    info.statistics_ready = True


def _write_fragments(db_path: Path, fragments: dict[str, str]) -> None:
    """The fragment index (``doc``, ``iri``), written under a temporary name and renamed into place.

    Query workers open it as soon as it exists (``worker.Worker.fragments_of``): they must never see a
    half-written database.
    """
    partial = db_path.with_name(f".{db_path.name}.{os.getpid()}")
    partial.unlink(missing_ok=True)
    try:
        connection = sqlite3.connect(partial)
        try:
            connection.execute("CREATE TABLE fragments (doc TEXT NOT NULL, iri TEXT NOT NULL)")
            connection.executemany("INSERT INTO fragments VALUES (?, ?)",
                                   ((doc, iri) for iri, doc in sorted(fragments.items())))
            connection.execute("CREATE INDEX fragments_doc ON fragments (doc)")
            connection.commit()
        finally:
            connection.close()
        os.replace(partial, db_path)
    finally:
        partial.unlink(missing_ok=True)
