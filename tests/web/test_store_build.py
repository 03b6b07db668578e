"""The embedded store's build path: extras (snapshot, dumps) off the start-up path, in-memory worker copies.

In-process and small: the black-box tests in this folder cover the same code over HTTP with the
fixtures, which are small enough that snapshot and dumps are written during the build.
"""

from __future__ import annotations

import io
import json
import os

import pyoxigraph as ox
import pytest

from digiregion.config import ConfigError, Settings
from digiregion.dumps import PREFIXES, read_manifest
from digiregion.store import dumper, loader
from digiregion.store.forkserver import fill_copy, load_copy, mirror_sources
from digiregion.store.worker import HeapTrimmer, Worker, read_frame, resident_bytes

from .conftest import FIXTURE_DATA


@pytest.fixture
def large_store(tmp_path, monkeypatch):
    """A store built as if its input were large: no snapshot and no dumps yet."""
    monkeypatch.setattr(loader, "SYNC_EXTRAS_BYTES", 0)
    settings = Settings(data=(FIXTURE_DATA,), store_dir=tmp_path / "stores")
    return loader.open_or_build(settings)


def test_large_store_starts_without_extras_and_the_dumper_writes_them(large_store):
    assert not large_store.extras_ready
    assert read_manifest(large_store.dumps_path) == []
    dumper.main(["dumper", str(large_store.path)])
    assert large_store.extras_ready
    assert {d.name for d in read_manifest(large_store.dumps_path)} >= {"digiregion.ttl.gz", "digiregion.nt.gz"}
    snapshot = ox.Store()
    snapshot.bulk_load(path=str(large_store.snapshot_path), format=ox.RdfFormat.N_QUADS)
    assert len(snapshot) == large_store.info.triples
    assert not [p for p in large_store.path.iterdir() if p.name.startswith(".")]  # nothing half-written


def test_restart_reuses_the_store_without_building(large_store, tmp_path, monkeypatch):
    def fail(*args, **kwargs):
        raise AssertionError("rebuilt")

    monkeypatch.setattr(loader, "_build", fail)
    again = loader.open_or_build(Settings(data=(FIXTURE_DATA,), store_dir=tmp_path / "stores"))
    assert again.path == large_store.path and again.info.triples == large_store.info.triples


def test_counts_and_fragments_match_full_queries(large_store):
    store = ox.Store.read_only(str(large_store.oxigraph_path))
    info = loader.ensure_statistics(large_store).info  # a large store gets them in the background
    entities = next(iter(store.query(
        "SELECT (COUNT(DISTINCT ?s) AS ?n) { ?s ?p ?o FILTER(isIRI(?s)) }")))[0].value
    assert info.entities == int(entities)
    assert info.distinct_subjects == int(next(iter(store.query(
        "SELECT (COUNT(DISTINCT ?s) AS ?n) { ?s ?p ?o }")))[0].value)


@pytest.mark.parametrize("source", ["snapshot", "inputs"])
def test_in_memory_copy_answers_like_the_on_disk_store(large_store, source):
    if source == "snapshot":
        dumper.main(["dumper", str(large_store.path)])
    sources = mirror_sources(str(large_store.oxigraph_path), source)
    assert len(sources) == (1 if source == "snapshot" else len(large_store.info.files))
    assert all(s.lenient == (source == "snapshot") for s in sources)  # only the store's own dump skips checks
    config = {"store": str(large_store.oxigraph_path), "fragments": str(large_store.fragments_path),
              "prefixes": PREFIXES}
    out = io.BytesIO()
    query = {"op": "query", "text": "SELECT ?p (COUNT(*) AS ?n) { ?s ?p ?o } GROUP BY ?p ORDER BY ?p",
             "format": "json", "form": "SELECT", "base_iri": None, "max_bytes": 1 << 24, "max_rows": 1000}

    def answer(worker: Worker) -> dict:
        out.seek(0)
        out.truncate()
        worker.query(query)
        out.seek(0)
        frames = []
        while (item := read_frame(out)) is not None:
            frames.append(item)
        assert [tag for tag, _ in frames][-1] == b"Z"
        return json.loads(b"".join(payload for tag, payload in frames if tag == b"D"))

    on_disk = Worker(config, out)
    in_memory = Worker(config, out, store=fill_copy(sources))
    assert in_memory.in_memory and not on_disk.in_memory
    assert answer(in_memory) == answer(on_disk)
    copy, quads = load_copy({**config, "mirror": source})
    assert quads == len(copy) == large_store.info.triples


def test_fork_server_refuses_a_copy_that_differs_from_the_store(large_store, monkeypatch):
    import pyoxigraph as ox

    from digiregion.store import forkserver

    monkeypatch.setattr(forkserver, "fill_copy", lambda sources: ox.Store())
    with pytest.raises(ValueError, match="in-memory copy has 0 quads"):
        load_copy({"store": str(large_store.oxigraph_path), "mirror": "inputs"})


def test_heap_trimmer_trims_only_after_the_worker_grew():
    levels = iter([100, 120, 300, 150, 140, 200, 150, 300, 160])
    trims: list[int] = []
    trimmer = HeapTrimmer(slack=64, trim=trims.append, resident=lambda: next(levels), min_seconds=0.5)  # 100
    trimmer.after_request(1.0)  # 120: slow, but within the slack
    trimmer.after_request(1.0)  # 300: slow and past it: trimmed, 150 stays in use
    assert trims == [0]
    trimmer.after_request(0.01)  # 140: a fast request sets the working level
    trimmer.after_request(1.0)  # 200: within 140 + 64
    assert trims == [0]
    trimmer.after_request(0.01)  # 150: fast requests never trim; the level follows them
    assert trims == [0]
    trimmer.after_request(1.0)  # 300: past 150 + 64 after a slow request: trimmed
    assert trims == [0, 0]


@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="needs Linux /proc")
def test_a_forked_worker_reads_its_own_resident_size_not_its_parents():
    """The statm file is kept open; a fork server's child must not go on reading the parent's file."""
    resident_bytes()  # the parent opens (and keeps) its file
    readable, writable = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: grow by 64 MiB, then compare the kept reader with a fresh read of its own file
        try:
            block = bytearray(64 * 1024 * 1024)
            block[::4096] = b"x" * len(range(0, len(block), 4096))  # touch every page: resident
            with open("/proc/self/statm", "rb") as fh:
                fresh = int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
            os.write(writable, f"{resident_bytes()} {fresh}".encode())
        finally:
            os._exit(0)
    os.close(writable)
    answer = os.read(readable, 100).decode()
    os.close(readable)
    os.waitpid(pid, 0)
    kept, fresh = map(int, answer.split())
    assert abs(kept - fresh) < 8 * 1024 * 1024, (kept, fresh)


def test_boolean_settings_from_strings():
    assert Settings().with_overrides({"in_memory": "false"}).in_memory is False
    assert Settings().with_overrides({"access_log": "1"}).access_log is True
    with pytest.raises(ConfigError):
        Settings().with_overrides({"in_memory": "maybe"})


def test_dumper_removes_what_a_killed_writer_left_and_keeps_what_a_running_one_writes(large_store):
    import subprocess
    import sys

    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    folder = large_store.path
    stale = [folder / f".{loader.INFO_FILE}.{gone.pid}", folder / f".{loader.FRAGMENTS_DB}.{gone.pid}",
             folder / f".{loader.SNAPSHOT_FILE}.{gone.pid}"]
    for path in stale:
        path.write_text("half-written", encoding="utf-8")
    (folder / f".{loader.DUMPS_DIR}.{gone.pid}").mkdir()
    (folder / f".{loader.DUMPS_DIR}.{gone.pid}" / "part.ttl.gz").write_bytes(b"\x1f\x8b")
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])  # another dumper, running
    running = folder / f".{loader.SNAPSHOT_FILE}.{other.pid}"
    running.write_text("in progress", encoding="utf-8")
    unrelated = folder / ".dumps.notapid"
    unrelated.mkdir()

    try:
        assert dumper.main(["dumper", str(folder)]) == 0
    finally:
        other.kill()
        other.wait()

    assert not any(path.exists() for path in stale)
    assert not (folder / f".{loader.DUMPS_DIR}.{gone.pid}").exists()
    assert running.read_text(encoding="utf-8") == "in progress"
    assert unrelated.is_dir()
    assert loader.BuiltStore(folder, large_store.info).extras_ready  # and the dumper did its own work


def _fill_and_fail(folder) -> None:
    """Many small bulk loads (each one an ingested file) trigger RocksDB compactions, then a failure."""
    folder.mkdir()
    store = ox.Store(str(folder / "oxigraph"))
    predicate = ox.NamedNode("http://example.org/p")
    for page in range(12):
        store.bulk_extend(ox.Quad(ox.NamedNode(f"http://example.org/{page}/{n}"), predicate, ox.Literal(str(n)),
                                  ox.DefaultGraph()) for n in range(500))
    raise RuntimeError("fetch failed")


def test_discard_after_a_failure_leaves_no_folder_behind(tmp_path):
    """The CI flake of test_dumps_paged: the failed store's compactions wrote into the folder being removed.

    Without releasing the store first this left a folder in about one try of three here.
    """
    for attempt in range(10):
        folder = tmp_path / f".dumps.{attempt}"
        try:
            _fill_and_fail(folder)
        except RuntimeError as exc:
            loader.discard(folder, exc)
        assert not folder.exists()
