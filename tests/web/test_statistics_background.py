"""A large store's statistics and fragment index come from the background dumper, not the start-up path.

In-process over the small fixtures (``SYNC_EXTRAS_BYTES`` lowered to 0, as in ``test_store_build``), with
the real dumper, real worker processes and the real app behind uvicorn on 127.0.0.1. The dumper is held
back by wrapping ``EmbeddedStore._write_extras`` in the test, so "VoID while the statistics are missing"
is deterministic instead of a race against a fast child.
"""

from __future__ import annotations

import asyncio
import io
import json
import shutil
import socket
import sqlite3
import time
from dataclasses import asdict
from pathlib import Path

import httpx
import pytest
import uvicorn
from rdflib import Graph, URIRef
from rdflib.namespace import VOID

from digiregion.config import Settings
from digiregion.dataset import DatasetInfo
from digiregion.store import dumper, loader
from digiregion.store.embedded import EmbeddedStore
from digiregion.store.worker import Worker, read_frame
from digiregion.web.app import create_app

from .conftest import BASE, FIXTURE_DATA
from .test_worker_pool import _in_memory_pool

NAMED_ONLY = """@prefix ex: <https://w3id.org/digiregion/lippe/test/> .
<https://w3id.org/digiregion/lippe/test/nur-benannt> {
  <https://w3id.org/digiregion/lippe/test/nur-benannt#teil> ex:wert "nur im benannten Graphen" .
}
"""
"""A hash IRI that is a subject only in a named graph: the fragment index holds it, so must the scan."""


@pytest.fixture
def data(tmp_path: Path) -> tuple[Path, ...]:
    extra = tmp_path / "extra"
    extra.mkdir()
    (extra / "named-only.trig").write_text(NAMED_ONLY, encoding="utf-8")
    return FIXTURE_DATA, extra


def _build(data: tuple[Path, ...], folder: Path, monkeypatch, large: bool) -> loader.BuiltStore:
    with monkeypatch.context() as patch:
        if large:
            patch.setattr(loader, "SYNC_EXTRAS_BYTES", 0)
        return loader.open_or_build(Settings(data=data, store_dir=folder))


def _fragment_rows(built: loader.BuiltStore) -> list[tuple[str, str]]:
    connection = sqlite3.connect(built.fragments_path)
    try:
        return connection.execute("SELECT doc, iri FROM fragments ORDER BY doc, iri").fetchall()
    finally:
        connection.close()


def _reread(built: loader.BuiltStore) -> loader.BuiltStore:
    return loader.BuiltStore(built.path, DatasetInfo.from_json((built.path / loader.INFO_FILE).read_text("utf-8")))


def _comparable(info: DatasetInfo) -> dict:
    facts = asdict(info)
    del facts["loaded_at"]
    return facts


def test_large_build_leaves_the_statistics_to_the_dumper_which_matches_a_synchronous_build(
        data, tmp_path, monkeypatch, capsys):
    large = _build(data, tmp_path / "large", monkeypatch, large=True)
    small = _build(data, tmp_path / "small", monkeypatch, large=False)
    assert small.statistics_ready and small.info.entities > 0
    assert not large.statistics_ready and not large.fragments_path.exists()
    written = json.loads((large.path / loader.INFO_FILE).read_text("utf-8"))
    assert written["statistics_ready"] is False and written["entities"] == 0 and written["classes"] == []
    for core in ("fingerprint", "files", "graphs", "file_graphs", "triples", "default_graph_triples"):
        assert written[core] == asdict(small.info)[core], core

    dumper.main(["dumper", str(large.path)])

    assert capsys.readouterr().out.splitlines()[0] == dumper.STATISTICS_READY
    completed = _reread(large)
    assert completed.statistics_ready and completed.extras_ready
    assert _comparable(completed.info) == _comparable(small.info)
    assert completed.info.loaded_at == large.info.loaded_at  # the build's time, not the dumper's
    assert completed.info.version == large.info.version and large.path.name == small.path.name
    assert _fragment_rows(completed) == _fragment_rows(small)
    assert not [p for p in large.path.iterdir() if p.name.startswith(".")]  # nothing half-written


def test_a_dumper_killed_between_index_and_dataset_json_is_completed_by_the_next_run(
        data, tmp_path, monkeypatch):
    large = _build(data, tmp_path / "large", monkeypatch, large=True)

    def killed(folder: Path, info: DatasetInfo) -> None:
        raise KeyboardInterrupt  # as if the process died right after renaming the fragment index

    with monkeypatch.context() as patch, pytest.raises(KeyboardInterrupt):
        patch.setattr(loader, "write_info", killed)
        loader.ensure_statistics(large)
    again = _reread(large)
    assert again.fragments_path.is_file() and not again.statistics_ready  # consistent: the flag is missing
    assert not [p for p in large.path.iterdir() if p.name.startswith(".")]

    reopened = loader.open_or_build(Settings(data=data, store_dir=tmp_path / "large"))
    assert reopened.path == large.path and not reopened.statistics_ready  # not rebuilt, still to complete
    completed = loader.ensure_statistics(reopened)
    assert completed.statistics_ready and _reread(completed).info == completed.info
    assert loader.ensure_statistics(completed) is completed  # nothing left to do


def _describe(worker: Worker, out: io.BytesIO, iri: str) -> dict:
    out.seek(0)
    out.truncate()
    worker.describe({"op": "describe", "iri": iri, "incoming": True, "max_rows": 10_000})
    out.seek(0)
    tag, payload = read_frame(out)
    assert tag == b"J"
    return json.loads(payload)


@pytest.mark.parametrize("in_memory", [False, True])
def test_descriptions_are_the_same_before_and_after_the_fragment_index_exists(data, tmp_path, monkeypatch,
                                                                                in_memory):
    large = _build(data, tmp_path / "large", monkeypatch, large=True)
    config = {"store": str(large.oxigraph_path), "fragments": str(large.fragments_path), "prefixes": {}}
    out = io.BytesIO()
    copy = None
    if in_memory:
        from digiregion.store.forkserver import load_copy

        copy, _ = load_copy({**config, "mirror": "inputs"})
    worker = Worker(config, out, store=copy)
    documents = ["https://w3id.org/digiregion/ontology", "https://w3id.org/digiregion/shapes",
                 BASE + "kommune/05766020", BASE + "test/nur-benannt", BASE + "datensatz",
                 "https://w3id.org/digiregion/ontology#Project"]
    before = {doc: _describe(worker, out, doc) for doc in documents}
    assert worker.fragments is None  # answered by the scan
    assert "nur-benannt#teil" in before[BASE + "test/nur-benannt"]["triples"]
    assert before["https://w3id.org/digiregion/ontology"]["triples"].count("ontology#") > 5

    dumper.main(["dumper", str(large.path)])

    after = {doc: _describe(worker, out, doc) for doc in documents}
    assert worker.fragments is not None  # switched to the index once the file appeared
    assert after == before
    fresh = Worker(config, out, store=copy)
    assert {doc: _describe(fresh, out, doc) for doc in documents} == before


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_void_and_the_home_page_wait_for_the_statistics_and_never_serve_them_incomplete(
        data, tmp_path, monkeypatch):
    small = _build(data, tmp_path / "small", monkeypatch, large=False)
    large = _build(data, tmp_path / "large", monkeypatch, large=True)
    settings = Settings(data=data, store_dir=tmp_path / "large", workers=1)
    store = EmbeddedStore(large, settings)
    release = asyncio.Event()
    original = EmbeddedStore._write_extras

    async def held_back(self: EmbeddedStore) -> None:
        await release.wait()
        await original(self)

    monkeypatch.setattr(EmbeddedStore, "_write_extras", held_back)
    app = create_app(settings, store)
    service = app.state.service
    service.statistics_patience = 0.3  # VoID's wait, the metadata gate's, and the metadata loader's
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    ontology = "/ontology"  # a document with hash IRIs: described by the scan, later by the index

    async def scenario() -> None:
        serving = asyncio.create_task(server.serve())
        try:
            while not server.started:
                await asyncio.sleep(0.05)
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
                answer = await client.get("/sparql", params={"query": "ASK {}"},
                                          headers={"Accept": "application/sparql-results+json"})
                assert answer.status_code == 200
                assert not store.statistics_ready.is_set()
                assert store._forkserver is None  # the in-memory copy waits for the statistics
                # held back longer than the patience: the self-description is read with the scan
                await asyncio.wait_for(service.metadata_loaded.wait(), 30)
                for path, accept in (("/.well-known/void", "text/turtle"), ("/", "text/html")):
                    held = await client.get(path, headers={"Accept": accept})
                    assert held.status_code == 503, path
                    assert held.headers["retry-after"] == "10" and held.headers["cache-control"] == "no-store"
                    assert "ETag" not in held.headers
                    assert "bitte gleich erneut versuchen" in held.text and "retry shortly" in held.text
                early = await client.get(ontology, headers={"Accept": "application/n-triples"})
                assert early.status_code == 200 and early.text.count("ontology#") > 5
                assert (await client.get("/catalog", headers={"Accept": "text/turtle"})).status_code == 200

                service.statistics_patience = 60.0
                release.set()  # the dumper starts now: VoID waits for it instead of answering 503
                void = await client.get("/.well-known/void", headers={"Accept": "text/turtle"})
                assert void.status_code == 200 and store.statistics_ready.is_set()
                graph = Graph().parse(data=void.text, format="turtle")
                dataset = URIRef(BASE + "datensatz")
                counts = {p: int(graph.value(dataset, p)) for p in (VOID.entities, VOID.distinctSubjects,
                                                                     VOID.distinctObjects, VOID.classes,
                                                                     VOID.properties, VOID.triples)}
                info = small.info
                assert counts == {VOID.entities: info.entities, VOID.distinctSubjects: info.distinct_subjects,
                                  VOID.distinctObjects: info.distinct_objects, VOID.classes: len(info.classes),
                                  VOID.properties: len(info.properties), VOID.triples: info.default_graph_triples}
                assert store.info.version == large.info.version  # ETags did not change with the statistics
                home = await client.get("/", headers={"Accept": "text/html"})
                assert home.status_code == 200 and str(info.entities) in home.text
                late = await client.get(ontology, headers={"Accept": "application/n-triples"})
                assert late.text == early.text
                await asyncio.wait_for(store.dumps_ready.wait(), 60)
                # VoID lists the dumps once they exist, so its ETag may change once more (a race in CI when
                # revalidated right away): revalidate against the document with the dumps
                settle = time.monotonic() + 60  # the metadata is rebuilt in the background: slow on a busy machine
                while True:
                    settled = await client.get("/.well-known/void", headers={"Accept": "text/turtle"})
                    if "dataDump" in settled.text or time.monotonic() > settle:
                        break
                    await asyncio.sleep(0.05)
                assert "dataDump" in settled.text
                again = await client.get("/.well-known/void", headers={"Accept": "text/turtle",
                                                                         "If-None-Match": settled.headers["etag"]})
                assert again.status_code == 304
                await _in_memory_pool(store, 1)  # then it was loaded, and the pool switched to it
        finally:
            server.should_exit = True
            await serving

    asyncio.run(scenario())
    assert (large.path / loader.FRAGMENTS_DB).is_file()
    shutil.rmtree(tmp_path / "large", ignore_errors=True)


def test_only_sparql_queries_take_the_short_way_past_the_metadata_gate():
    from digiregion.web.entry import is_query

    def scope(path: str, method: str = "GET", query: bytes = b"") -> dict:
        return {"type": "http", "path": path, "method": method, "query_string": query}

    assert is_query(scope("/sparql", query=b"query=ASK%7B%7D"))
    assert is_query(scope("/sparql/", query=b"format=json&query=ASK%7B%7D"))
    assert is_query(scope("/sparql", "HEAD", query=b"query=ASK%7B%7D"))
    assert is_query(scope("/sparql", "POST"))
    assert not is_query(scope("/sparql"))  # the HTML page and the service description need the metadata
    assert not is_query(scope("/sparql", query=b"format=ttl"))
    assert not is_query(scope("/sparql", query=b"queryx=1"))
    assert not is_query(scope("/sparql", "OPTIONS", query=b"query=x"))  # CORS preflight: the long way
    assert not is_query(scope("/.well-known/void", query=b"query=x"))
    assert not is_query({"type": "websocket", "path": "/sparql"})
