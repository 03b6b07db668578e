"""Remote dumps are written by a background process: start-up does not wait, failures leave nothing behind.

The dump child is started through a gate (``_gated``): the real ``digiregion.store.remote_dumper``, run
only once the test creates the gate file. That makes "the service answers while the dumps are still
being written" deterministic instead of a race against a fast child, with no timed assertion. The gate
also keeps the job the child got on stdin, so the test can check that no credential is in it.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import logging
import os
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import pytest
from rdflib import Graph, URIRef
from rdflib.namespace import VOID

from digiregion.config import Settings
from digiregion.dumps import MANIFEST
from digiregion.store.credentials import Credentials
from digiregion.store.remote import RemoteStore
from digiregion.store.remote_dumper import OWNER
from digiregion.web.app import create_app
from tests.web.conftest import FIXTURE_DATA

with warnings.catch_warnings():  # starlette's notice about its httpx-based client; the client works as documented
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

WAIT = 300.0
"""Upper bound for waiting on the background job (a hang fails the test instead of blocking the suite)."""
DATASET = URIRef("https://w3id.org/digiregion/lippe/datensatz")

GATE = """
import io, json, pathlib, runpy, sys, time
gate, seen, mode = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2]), sys.argv[3]
job = sys.stdin.read()
seen.write_text(job)
while not gate.exists():
    time.sleep(0.05)
if mode == "incomplete":  # the engine 'counts' one triple more than the pages hold: the check must fail
    raw = json.loads(job)
    info = json.loads(raw["info"])
    info["default_graph_triples"] += 1
    info["triples"] += 1
    raw["info"] = json.dumps(info)
    job = json.dumps(raw)
sys.stdin = io.StringIO(job)
sys.argv = ["remote_dumper"]
runpy.run_module("digiregion.store.remote_dumper", run_name="__main__")
"""


def _gated(tmp: Path, mode: str = "real") -> tuple[list[str], Path, Path]:
    gate, seen = tmp / "gate", tmp / "job.json"
    return [sys.executable, "-c", GATE, str(gate), str(seen), mode], gate, seen


def _store(virtuoso, graph: str, tmp: Path, command: list[str]) -> RemoteStore:
    settings = Settings(store=virtuoso.sparql, store_graph=graph, store_dir=str(tmp / "store"))
    store = RemoteStore(settings, Credentials.from_environment(virtuoso.env))
    store.dumper_command = command
    return store


def _temporary(store: RemoteStore) -> list[Path]:
    return sorted(store.built.path.parent.glob("*/.dumps.*"))


async def _owner_pid(store: RemoteStore) -> int:
    """The running child's pid, from the owner file the service writes before it hands over the job."""
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        for owner in store.built.path.glob(f".dumps.*/{OWNER}"):
            text = owner.read_text(encoding="utf-8")
            if text:
                return int(text)
        await asyncio.sleep(0.05)
    pytest.fail("dump job did not start")


def _wait_for(client: TestClient, path: str):
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        response = client.get(path)
        if response.status_code == 200:
            return response
        # 503 while being written; 404 for the moment between "ready" and the catalogue's reload
        assert response.status_code in (503, 404), response.text
        time.sleep(0.1)
    pytest.fail(f"{path} did not become available")


def _void_dumps(client: TestClient) -> set:
    response = client.get("/.well-known/void", headers={"Accept": "text/turtle"})
    assert response.status_code == 200
    return set(Graph().parse(data=response.text, format="turtle").objects(DATASET, VOID.dataDump))


def test_service_answers_while_the_dumps_are_written_and_lists_them_when_ready(virtuoso, fixtures_loaded, tmp_path):
    command, gate, seen = _gated(tmp_path)
    store = _store(virtuoso, fixtures_loaded, tmp_path, command)
    with TestClient(create_app(store.settings, store)) as client:  # the lifespan runs store.start()
        assert store.dumps_ready is not None and not store.dumps_ready.is_set()  # start-up did not wait
        answer = client.get("/sparql", params={"query": "SELECT (COUNT(*) AS ?n) { ?s ?p ?o }"},
                            headers={"Accept": "application/sparql-results+json"})
        assert answer.status_code == 200
        assert int(answer.json()["results"]["bindings"][0]["n"]["value"]) == store.info.default_graph_triples
        pending = client.get("/dumps/digiregion.nt.gz")
        assert pending.status_code == 503 and pending.headers["retry-after"]
        assert "Dumps werden gerade geschrieben" in pending.text and "dumps are being written" in pending.text
        assert _void_dumps(client) == set()

        gate.touch()
        dump = _wait_for(client, "/dumps/digiregion.nt.gz")
        assert store.dumps_ready.is_set() and store.dumps_error is None
        assert len(gzip.decompress(dump.content).splitlines()) == store.info.default_graph_triples
        quads = _wait_for(client, "/dumps/digiregion.nq.gz")  # the fixtures have named graphs
        assert len(gzip.decompress(quads.content).splitlines()) == store.info.triples
        assert {str(d).rsplit("/", 1)[1] for d in _void_dumps(client)} >= {"digiregion.nt.gz", "digiregion.ttl.gz"}
        assert _temporary(store) == []
    job = seen.read_text(encoding="utf-8")
    assert json.loads(job)["graph"] == fixtures_loaded
    assert virtuoso.password not in job and virtuoso.password not in " ".join(command)


def test_failed_fetch_leaves_no_dump_and_no_temporary_folder(virtuoso, lippe_loaded, tmp_path, caplog):
    command, gate, _ = _gated(tmp_path, "incomplete")
    gate.touch()
    store = _store(virtuoso, lippe_loaded, tmp_path, command)

    async def scenario() -> None:
        await store.start()
        assert store._dump_task is not None
        await asyncio.wait([store._dump_task])
        await store.close()

    with caplog.at_level(logging.WARNING, logger="digiregion.store.remote"):
        asyncio.run(scenario())
    assert not store.dumps_ready.is_set()  # /dumps/ keeps answering 503
    assert "Dump unvollständig" in store.dumps_error and "Dump incomplete" in store.dumps_error
    warning = next(r.getMessage() for r in caplog.records if r.levelno == logging.WARNING)
    assert "Keine Dumps" in warning and "No dumps" in warning and "Dump incomplete" in warning
    assert virtuoso.password not in caplog.text
    assert not store.built.dumps_path.exists()
    assert _temporary(store) == []


def test_after_a_failed_job_dumps_answer_why_instead_of_retry_shortly(virtuoso, lippe_loaded, tmp_path):
    command, gate, _ = _gated(tmp_path, "incomplete")
    gate.touch()
    store = _store(virtuoso, lippe_loaded, tmp_path, command)
    with TestClient(create_app(store.settings, store)) as client:
        deadline = time.monotonic() + WAIT
        while store.dumps_error is None and time.monotonic() < deadline:
            time.sleep(0.05)
        response = client.get("/dumps/digiregion.nt.gz")
        assert response.status_code == 503 and "retry-after" not in response.headers
        assert "keine Dumps" in response.text and "no dumps" in response.text
        assert "Dump incomplete" in response.text


def test_killed_child_leaves_nothing_and_stale_folders_are_removed(virtuoso, lippe_loaded, tmp_path, caplog):
    command, _, _ = _gated(tmp_path)  # the gate stays closed: the child waits until it is killed
    store = _store(virtuoso, lippe_loaded, tmp_path, command)

    async def killed() -> None:
        await store.start()
        os.kill(await _owner_pid(store), signal.SIGKILL)  # e.g. the OOM killer
        await asyncio.wait([store._dump_task])
        await store.close()

    with caplog.at_level(logging.WARNING, logger="digiregion.store.remote"):
        asyncio.run(killed())
    assert not store.dumps_ready.is_set()
    assert "Signal 9" in store.dumps_error and "signal 9" in store.dumps_error
    assert not store.built.dumps_path.exists() and _temporary(store) == []

    # what a killed *service* leaves behind: removed on the next start unless its process still runs
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    stale = store.built.path.parent / "0123456789abcdef" / ".dumps.dead0001"
    running = store.built.path.parent / "0123456789abcdef" / ".dumps.live0001"
    for folder, pid in ((stale, gone.stdout.strip()), (running, str(os.getpid()))):
        (folder / "oxigraph").mkdir(parents=True)
        (folder / OWNER).write_text(pid, encoding="utf-8")
    again = _store(virtuoso, lippe_loaded, tmp_path, command)

    async def restarted() -> None:
        await again.start()
        await again.close()

    asyncio.run(restarted())
    assert not stale.exists() and running.exists()


def test_new_data_version_kills_the_old_job_and_writes_the_new_dumps(virtuoso, tmp_path):
    graph = "urn:digiregion:test:dumps-reload"
    first = virtuoso.load("--graph", graph, "--force", str(FIXTURE_DATA))
    assert first.returncode == 0, first.stderr
    command, gate, _ = _gated(tmp_path)
    store = _store(virtuoso, graph, tmp_path, command)

    async def scenario() -> None:
        await store.start()
        old_folder, old_pid = store.built, await _owner_pid(store)
        second = virtuoso.load("--graph", graph, "--force", str(FIXTURE_DATA / "lippe-mini.ttl"))
        assert second.returncode == 0, second.stderr
        assert await store.refresh()  # new version: a new job, the old one is killed
        assert store.built != old_folder and not store.dumps_ready.is_set()
        with pytest.raises(ProcessLookupError):
            os.kill(old_pid, 0)  # killed and reaped
        assert not old_folder.dumps_path.exists() and not list(old_folder.path.glob(".dumps.*"))
        gate.touch()
        await asyncio.wait_for(store.dumps_ready.wait(), WAIT)
        assert await store.refresh()  # tells the web layer once that VoID/DCAT should list the dumps now
        assert not await store.refresh()
        await store.close()

    asyncio.run(scenario())
    assert (store.built.dumps_path / MANIFEST).is_file() and _temporary(store) == []
    nt = gzip.decompress((store.built.dumps_path / "digiregion.nt.gz").read_bytes())
    assert len(nt.splitlines()) == store.info.default_graph_triples
    assert not store.info.graphs and not (store.built.dumps_path / "digiregion.nq.gz").exists()


def test_dumps_stay_valid_when_the_engine_is_reached_under_another_url(virtuoso, lippe_loaded, tmp_path):
    """The dumps belong to the graph's data version, not to the engine's address (a restart on a new port
    must not fetch them again): the same Virtuoso under a second spelling of its URL finds them written."""
    command, gate, _ = _gated(tmp_path)
    gate.touch()
    first = _store(virtuoso, lippe_loaded, tmp_path, command)

    async def write() -> None:
        await first.start()
        await asyncio.wait_for(first.dumps_ready.wait(), WAIT)
        await first.close()

    asyncio.run(write())
    assert (first.built.dumps_path / MANIFEST).is_file()
    written = (first.built.dumps_path / MANIFEST).stat().st_mtime_ns

    elsewhere = virtuoso.sparql.replace("127.0.0.1", "localhost")
    assert elsewhere != virtuoso.sparql
    second = RemoteStore(Settings(store=elsewhere, store_graph=lippe_loaded, store_dir=str(tmp_path / "store")),
                         Credentials.from_environment(virtuoso.env))
    second.dumper_command = [sys.executable, "-c", "raise SystemExit('no dump job expected')"]

    async def restart() -> None:
        await second.start()
        try:
            assert second.dumps_ready.is_set() and second._dump_task is None
        finally:  # a job started by mistake is cancelled here: asyncio.run's teardown would hang on its spawn
            await second.close()

    asyncio.run(restart())
    assert second.info.version == first.info.version and second.built == first.built
    assert (second.built.dumps_path / MANIFEST).stat().st_mtime_ns == written
