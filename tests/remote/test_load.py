"""``digiregion load``: validation first, exit codes, and the atomic switch (a failed or killed load leaves
the previous graph served)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import rdflib
from rdflib.compare import isomorphic

from digiregion.config import Settings
from digiregion.store.credentials import Credentials
from digiregion.store.loader import open_or_build
from digiregion.store.remote_layout import LOADING_PREFIX, loading_prefix
from digiregion.store.remote_load import LoadTarget, load_dataset, temporary_graphs
from tests.web.conftest import FIXTURE_DATA

INVALID = Path(__file__).parent / "fixtures" / "invalid"
HOEXTER = Path(__file__).parent / "fixtures" / "hoexter"


def _count(virtuoso, graph: str) -> int:
    response = httpx.post(virtuoso.sparql, data={"query": "SELECT (COUNT(*) AS ?n) { ?s ?p ?o }",
                                                  "default-graph-uri": graph},
                          headers={"Accept": "application/sparql-results+json"}, timeout=30)
    return int(response.json()["results"]["bindings"][0]["n"]["value"])


def _loading_graphs(virtuoso) -> int:
    query = "SELECT (COUNT(DISTINCT ?g) AS ?n) { GRAPH ?g { ?s ?p ?o } FILTER(STRSTARTS(STR(?g), 'urn:digiregion:loading:')) }"
    response = httpx.post(virtuoso.sparql, data={"query": query}, headers={"Accept": "application/sparql-results+json"},
                          timeout=30)
    return int(response.json()["results"]["bindings"][0]["n"]["value"])


def test_violations_refuse_the_load(virtuoso):
    result = virtuoso.load("--graph", "urn:digiregion:test:invalid", str(INVALID))
    assert result.returncode == 1, result.stderr
    assert "Nicht geladen" in result.stderr and "--force" in result.stderr
    assert _count(virtuoso, "urn:digiregion:test:invalid") == 0


def test_bad_input_exits_2(virtuoso, tmp_path):
    result = virtuoso.load("--graph", "urn:digiregion:test:missing", str(tmp_path / "nothing-here.ttl"))
    assert result.returncode == 2


def test_load_replaces_the_graph(virtuoso, fixtures_loaded, tmp_path):
    before = _count(virtuoso, fixtures_loaded)
    result = virtuoso.load("--graph", fixtures_loaded, "--force", "--chunk-triples", "50", str(FIXTURE_DATA))
    assert result.returncode == 0, result.stderr
    assert "geladen / loaded" in result.stderr
    assert _count(virtuoso, fixtures_loaded) == before  # replaced, not appended
    assert _loading_graphs(virtuoso) == 0


def _target(virtuoso, graph: str) -> LoadTarget:
    settings = Settings(store=virtuoso.sparql)
    return LoadTarget.from_settings(settings, Credentials("dba", virtuoso.password), graph)


def test_failed_load_leaves_the_previous_graph(virtuoso, tmp_path):
    graph = "urn:digiregion:test:atomic"
    hoexter = Settings(data=(Path(__file__).parent / "fixtures" / "hoexter",), store_dir=tmp_path / "a")
    load_dataset(open_or_build(hoexter), _target(virtuoso, graph))
    old = _count(virtuoso, graph)
    assert old == 23
    bigger = open_or_build(Settings(data=(FIXTURE_DATA,), store_dir=tmp_path / "b"))
    sent = []

    def fail_after_two_chunks(n: int) -> None:
        sent.append(n)
        if len(sent) == 2:
            raise ConnectionError("simulated failure mid-load")

    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    killed_scratch = bigger.path / f".upload.{gone.stdout.strip()}"  # what a killed load leaves next to the store
    (killed_scratch / "g0000.all.nt").parent.mkdir()
    (killed_scratch / "g0000.all.nt").write_text("<urn:a> <urn:b> <urn:c> .\n", encoding="utf-8")
    with pytest.raises(ConnectionError):
        load_dataset(bigger, _target(virtuoso, graph), chunk_triples=10, progress=fail_after_two_chunks)
    assert _count(virtuoso, graph) == old
    assert _loading_graphs(virtuoso) == 0  # the temporary graphs were dropped
    assert list(bigger.path.glob(".upload.*")) == []  # its own files and the killed load's are gone


def test_killed_load_leaves_the_previous_graph(virtuoso, fixtures_loaded):
    before = _count(virtuoso, fixtures_loaded)
    process = subprocess.Popen(
        [sys.executable, "-m", "digiregion.cli", "load", "--store", virtuoso.sparql, "--graph", fixtures_loaded,
         "--force", "--chunk-triples", "1", str(FIXTURE_DATA)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ, **virtuoso.env})
    deadline = time.monotonic() + 60
    while _loading_graphs(virtuoso) == 0 and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert _count(virtuoso, fixtures_loaded) == before
    assert process.returncode == -signal.SIGKILL
    target = _target(virtuoso, fixtures_loaded)
    assert temporary_graphs(target, loading_prefix(fixtures_loaded))  # the killed load left them behind
    result = virtuoso.load("--graph", fixtures_loaded, "--force", str(FIXTURE_DATA))
    assert result.returncode == 0, result.stderr
    assert temporary_graphs(target, loading_prefix(fixtures_loaded)) == []  # the next load dropped them
    assert _count(virtuoso, fixtures_loaded) == before


def _insert(virtuoso, graph: str, triples: str) -> None:
    """Write into the engine directly (as a killed load would have), through Virtuoso's update endpoint."""
    update = f"INSERT DATA {{ GRAPH <{graph}> {{ {triples} }} }}"
    response = httpx.post(virtuoso.sparql + "-auth", data={"update": update},
                          auth=Credentials("dba", virtuoso.password).httpx_auth(), timeout=30)
    assert response.status_code < 300, response.text


def test_leftover_temporary_graphs_are_dropped_by_the_next_load(virtuoso):
    graph = "urn:digiregion:test:leftovers"
    result = virtuoso.load("--graph", graph, "--force", str(HOEXTER))
    assert result.returncode == 0, result.stderr
    served = _count(virtuoso, graph)
    assert served == 23
    mine = loading_prefix(graph) + "0123456789ab:0"
    other = loading_prefix("urn:digiregion:test:someone-else") + "0123456789ab:0"  # a load into another graph
    legacy = LOADING_PREFIX + "0123456789ab:0"  # name scheme without the target
    for leftover in (mine, other, legacy):
        _insert(virtuoso, leftover, "<urn:x:s> <urn:x:p> <urn:x:o> . <urn:x:s> <urn:x:p> 'x' .")
    target = _target(virtuoso, graph)
    assert temporary_graphs(target) == sorted([mine, other, legacy])

    result = virtuoso.load("--graph", graph, "--force", str(HOEXTER))
    assert result.returncode == 0, result.stderr
    assert "1 temporäre Graphen" in result.stderr
    assert temporary_graphs(target) == sorted([other, legacy])  # only this graph's leftovers are dropped
    assert _count(virtuoso, graph) == served  # and the served graph is intact (replaced, not appended)

    result = virtuoso.load("--graph", graph, "--force", "--cleanup", str(HOEXTER))
    assert result.returncode == 0, result.stderr
    assert temporary_graphs(target) == []  # --cleanup: every target, and the old name scheme
    assert _count(virtuoso, graph) == served


def _triples(virtuoso, graph: str) -> rdflib.Graph:
    response = httpx.post(virtuoso.sparql, data={"query": "CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o }",
                                                  "default-graph-uri": graph},
                          headers={"Accept": "application/n-triples"}, timeout=60)
    assert response.status_code == 200, response.text
    return rdflib.Graph().parse(data=response.text, format="nt")


def test_bulk_loader_loads_the_same_graph_as_the_graph_store_protocol(virtuoso, lippe_loaded):
    """The shipped data (blank nodes, geo:wktLiteral the profile re-encodes, named graphs: the slow way of
    ``ntriples_files``) through Virtuoso's bulk loader equals what the Graph Store Protocol loaded."""
    bulk = virtuoso.folder / "bulk"  # any folder the engine's process can read
    graph = "urn:digiregion:test:bulk"
    result = virtuoso.load("--graph", graph, "--force", "--bulk-dir", str(bulk))
    assert result.returncode == 0, result.stderr
    assert "Bulk-Loader" in result.stderr
    assert "checkpoint" in result.stderr and "Warnung" not in result.stderr  # the switch made durable
    assert isomorphic(_triples(virtuoso, graph), _triples(virtuoso, lippe_loaded))
    assert list(bulk.iterdir()) == []  # the files are gone
    assert temporary_graphs(_target(virtuoso, graph)) == []


def test_bulk_files_the_engine_cannot_find_leave_the_previous_graph(virtuoso, tmp_path):
    """A wrong ``--bulk-engine-dir`` (the engine looks elsewhere): the loader loads nothing, the count check
    stops the load before the switch, and nothing is left behind."""
    graph = "urn:digiregion:test:bulk-missing"
    result = virtuoso.load("--graph", graph, "--force", str(HOEXTER))
    assert result.returncode == 0, result.stderr
    before = _count(virtuoso, graph)
    result = virtuoso.load("--graph", graph, "--force", "--bulk-dir", str(tmp_path / "bulk"),
                           "--bulk-engine-dir", str(tmp_path / "not-where-the-files-are"), str(FIXTURE_DATA))
    assert result.returncode == 3, result.stderr
    assert "statt" in result.stderr and "bisherigen Daten bleiben aktiv" in result.stderr
    assert _count(virtuoso, graph) == before
    assert list((tmp_path / "bulk").iterdir()) == []
    assert temporary_graphs(_target(virtuoso, graph)) == []


def test_bulk_loader_only_for_virtuoso(virtuoso, tmp_path):
    settings = Settings(store=virtuoso.sparql, store_engine="generic", store_bulk_dir=str(tmp_path))
    with pytest.raises(ValueError, match="only supported for Virtuoso"):
        LoadTarget.from_settings(settings, Credentials(), "urn:digiregion:test:generic")
