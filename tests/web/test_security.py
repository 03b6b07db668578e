"""Safety: read-only, no fetching on a client's behalf, limits answered with clear errors, not hangs."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading

import httpx
import pytest

COUNT = "SELECT (COUNT(*) AS ?n) { { ?s ?p ?o } UNION { GRAPH ?g { ?s ?p ?o } } }"


def _count(server) -> int:
    return int(server.get("/sparql", params={"query": COUNT}).json()["results"]["bindings"][0]["n"]["value"])


@pytest.fixture
def listener():
    """A local TCP port that records whether anything connects (an SSRF target)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(5)
    sock.settimeout(0.2)
    hits: list[bytes] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = sock.accept()
                hits.append(conn.recv(1024))
                conn.close()
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield sock.getsockname()[1], hits
    stop.set()
    thread.join()
    sock.close()


@pytest.mark.parametrize("query", [
    "SELECT * WHERE { SERVICE <http://127.0.0.1:{port}/sparql> { ?s ?p ?o } }",
    "SELECT * WHERE { SERVICE SILENT <http://127.0.0.1:{port}/> { ?s ?p ?o } }",
    "PREFIX x: <http://127.0.0.1:{port}/> SELECT * WHERE { SERVICE x:sparql { ?s ?p ?o } }",
    "SELECT * WHERE { BIND(<http://127.0.0.1:{port}/> AS ?e) SERVICE ?e { ?s ?p ?o } }",
    "SELECT * WHERE { \\u0053ERVICE <http://127.0.0.1:{port}/> { ?s ?p ?o } }",
    "select * where { service <http://127.0.0.1:{port}/> { ?s ?p ?o } }",
])
def test_service_is_refused_and_nothing_is_fetched(served, listener, query):
    port, hits = listener
    response = served.get("/sparql", params={"query": query.replace("{port}", str(port))})
    assert response.status_code == 403
    assert "SERVICE" in response.text and "not allow-listed" in response.text
    assert hits == []


@pytest.mark.parametrize("query", [
    'DEFINE get:soft "soft" SELECT * WHERE { GRAPH <http://127.0.0.1:{port}/x> { ?s ?p ?o } } LIMIT 1',
    "DEFINE input:default-graph-uri <http://127.0.0.1:{port}/x> SELECT * WHERE { ?s ?p ?o } LIMIT 1",
    'define get:soft "replace" SELECT * FROM <http://127.0.0.1:{port}/x> WHERE { ?s ?p ?o }',
])
def test_engine_pragmas_are_not_sparql_and_fetch_nothing(served, listener, query):
    """Virtuoso runs ``DEFINE`` pragmas at the start of a query (``get:soft`` fetches the graph's URL, and
    ``input:default-graph-uri`` would widen the dataset); SPARQL has none. The remote store puts its
    ``BASE`` in front of every query, where Virtuoso no longer accepts a pragma: a syntax error, as from
    the embedded store."""
    port, hits = listener
    response = served.get("/sparql", params={"query": query.replace("{port}", str(port))})
    assert response.status_code == 400
    assert hits == []


@pytest.mark.parametrize("query", [
    "SELECT * FROM <file:///etc/passwd> WHERE { ?s ?p ?o }",
    "SELECT * FROM NAMED <http://127.0.0.1:1/> WHERE { GRAPH ?g { ?s ?p ?o } }",
])
def test_from_unknown_graph_is_refused(served, query):
    response = served.get("/sparql", params={"query": query})
    assert response.status_code == 400
    assert "root:" not in response.text and "nothing is fetched" in response.text


def test_protocol_graph_parameter_must_exist(served):
    response = served.get("/sparql", params={"query": "ASK {}", "default-graph-uri": "file:///etc/passwd"})
    assert response.status_code == 400


@pytest.mark.parametrize(("method", "kwargs"), [
    ("GET", {"params": {"query": "INSERT DATA { <urn:a> <urn:b> <urn:c> }"}}),
    ("GET", {"params": {"query": "LOAD <http://127.0.0.1:1/x.ttl>"}}),
    ("GET", {"params": {"update": "INSERT DATA { <urn:a> <urn:b> <urn:c> }"}}),
    ("POST", {"data": {"query": "DELETE WHERE { ?s ?p ?o }"}}),
    ("POST", {"data": {"update": "CLEAR ALL"}}),
    ("POST", {"content": "DROP ALL", "headers": {"Content-Type": "application/sparql-update"}}),
    ("POST", {"content": "LOAD <file:///etc/passwd>", "headers": {"Content-Type": "application/sparql-query"}}),
    ("POST", {"content": "INSERT DATA { <urn:a> <urn:b> <urn:c> }",
              "headers": {"Content-Type": "application/sparql-query"}}),
])
def test_update_in_any_form_is_refused_and_graph_unchanged(served, method, kwargs):
    before = _count(served)
    response = httpx.request(method, served.url + "/sparql", timeout=30, **kwargs)
    assert response.status_code == 403, response.text
    assert _count(served) == before


def test_huge_body_is_refused(served):
    body = "ASK {} #" + "x" * (2 * 1024 * 1024)
    response = served.post("/sparql", content=body, headers={"Content-Type": "application/sparql-query"})
    assert response.status_code == 413


def test_too_long_query_is_refused(served):
    query = "ASK {} #" + "x" * 200_000
    response = served.post("/sparql", content=query[:900_000],
                           headers={"Content-Type": "application/sparql-query"})
    assert response.status_code == 413 and "too long" in response.text


def test_sparql_results_conneg_and_406(served):
    q = {"query": "SELECT * { ?s ?p ?o } LIMIT 1"}
    assert served.get("/sparql", params=q, headers={"Accept": "text/turtle"}).status_code == 406
    r = served.get("/sparql", params=q, headers={"Accept": "text/plain;q=0.1, text/csv;q=0.5, application/xml"})
    assert r.headers["content-type"].startswith("application/sparql-results+xml")
    r = served.get("/sparql", params={"query": "CONSTRUCT WHERE { ?s ?p ?o } LIMIT 1"},
                   headers={"Accept": "application/sparql-results+json, application/ld+json;q=0.5"})
    assert r.headers["content-type"].startswith("application/ld+json")


def test_rdfxml_with_doctype_is_refused_on_load(tmp_path):
    evil = tmp_path / "evil.rdf"
    evil.write_text('<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>'
                    '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"/>')
    result = subprocess.run([sys.executable, "-m", "digiregion.cli", "export", str(tmp_path / "out"),
                             "--data", str(evil)], capture_output=True, text=True, timeout=60,
                            env={**__import__("os").environ, "DIGIREGION_STORE_DIR": str(tmp_path / "store")})
    assert result.returncode != 0
    assert "DOCTYPE" in (result.stderr + result.stdout)


def _raw_request(server, head: bytes, body: bytes = b"") -> bytes:
    """Send bytes as they are (no client library normalising them) and return what comes back."""
    host, port = server.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as conn:
        conn.sendall(head + body)
        received = b""
        while chunk := conn.recv(65536):
            received += chunk
            if b"\r\n\r\n" in received and not body:
                break
        return received


def test_oversized_request_head_is_refused_with_431(served):
    padding = b"".join(b"X-Padding-%d: %s\r\n" % (n, b"a" * 1000) for n in range(100))  # ~100 KB of headers
    answer = _raw_request(served, b"GET /sparql?query=ASK%7B%7D HTTP/1.1\r\nHost: x\r\n" + padding + b"\r\n")
    assert answer.startswith(b"HTTP/1.1 431")
    assert "Anfragekopf zu groß".encode() in answer
    assert served.get("/sparql", params={"query": "ASK {}"}).status_code == 200  # the service goes on


def test_one_endless_header_line_is_cut_off(served):
    answer = _raw_request(served, b"GET /sparql HTTP/1.1\r\nHost: x\r\nX-Long: " + b"a" * 300_000)
    assert answer.startswith(b"HTTP/1.1 431")


def test_large_body_after_a_small_head_is_not_mistaken_for_a_large_head(served):
    query = "ASK { ?s ?p ?o }" + " " * 200_000 + "# padded"  # over the head bound, under the body limit
    response = served.post("/sparql", data={"query": query[:90_000]})
    assert response.status_code == 200 and response.json()["boolean"] is True
