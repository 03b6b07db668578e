"""Allow-listed federation across two local instances: Lippe (fixtures) and a second district (Höxter).

No Virtuoso needed: both instances use the embedded store, which is where federation is hardest (the
query workers have no network; the web process answers SERVICE, see ``store/federation.py``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.web.conftest import FIXTURE_DATA, Server, start_server, stop_server

HOEXTER = Path(__file__).parent / "fixtures" / "hoexter"
ACROSS = """PREFIX dr: <https://w3id.org/digiregion/ontology#>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
SELECT ?kommune ?name WHERE {
  { ?kommune a dr:Municipality ; skos:prefLabel ?name . FILTER(lang(?name) = "de") }
  UNION
  { SERVICE <HOEXTER> { ?kommune a dr:Municipality ; skos:prefLabel ?name } }
} ORDER BY ?name"""


@pytest.fixture(scope="module")
def hoexter(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    server = start_server(tmp_path_factory.mktemp("hoexter"), "--data", str(HOEXTER), "--base-iri",
                          "https://w3id.org/digiregion/hoexter/", "--workers", "1")
    yield server
    stop_server(server)


@pytest.fixture(scope="module")
def lippe(tmp_path_factory: pytest.TempPathFactory, hoexter: Server) -> Iterator[Server]:
    server = start_server(tmp_path_factory.mktemp("lippe-federated"), "--data", str(FIXTURE_DATA), "--workers", "1",
                          "--allow-service", hoexter.url + "/sparql")
    yield server
    stop_server(server)


def _rows(response) -> list[dict]:
    assert response.status_code == 200, response.text
    return response.json()["results"]["bindings"]


def test_one_query_across_both_districts(lippe, hoexter):
    query = ACROSS.replace("HOEXTER", hoexter.url + "/sparql")
    rows = _rows(lippe.get("/sparql", params={"query": query}))
    names = {row["name"]["value"] for row in rows}
    assert {"Detmold", "Höxter", "Bad Driburg", "Beverungen", "Brakel"} <= names
    hoexter_rows = [r for r in rows if "/hoexter/" in r["kommune"]["value"]]
    assert len(hoexter_rows) == 4
    assert all(r["name"].get("xml:lang") == "de" for r in hoexter_rows)  # terms survive exactly


def test_join_with_remote_values_and_prefixes(lippe, hoexter):
    query = f"""PREFIX dr: <https://w3id.org/digiregion/ontology#>
    SELECT (SUM(?n) AS ?einwohner) WHERE {{ SERVICE <{hoexter.url}/sparql> {{ ?k dr:populationCount ?n }} }}"""
    rows = _rows(lippe.post("/sparql", content=query, headers={"Content-Type": "application/sparql-query"}))
    assert int(rows[0]["einwohner"]["value"]) == 19390 + 13238 + 16372 + 28709


def test_service_silent_to_a_failing_allowed_endpoint_is_empty_not_an_error(tmp_path):
    server = start_server(tmp_path, "--data", str(FIXTURE_DATA), "--workers", "1",
                          "--allow-service", "http://127.0.0.1:9/sparql")
    try:
        silent = "SELECT * WHERE { SERVICE SILENT <http://127.0.0.1:9/sparql> { ?s ?p ?o } }"
        rows = _rows(server.get("/sparql", params={"query": silent}))
        assert rows == [{}]
        loud = server.get("/sparql", params={"query": silent.replace(" SILENT", "")})
        assert loud.status_code == 502 and "SERVICE" in loud.text
    finally:
        stop_server(server)


def test_everything_else_stays_refused(lippe, hoexter):
    other = "SELECT * WHERE { SERVICE <http://127.0.0.1:1/sparql> { ?s ?p ?o } }"
    response = lippe.get("/sparql", params={"query": other})
    assert response.status_code == 403 and "not allow-listed" in response.text
    variable = f"SELECT * WHERE {{ BIND(<{hoexter.url}/sparql> AS ?e) SERVICE ?e {{ ?s ?p ?o }} }}"
    assert lippe.get("/sparql", params={"query": variable}).status_code == 403
    nested = (f"SELECT * WHERE {{ SERVICE <{hoexter.url}/sparql> {{ SERVICE <{hoexter.url}/sparql> "
              "{ ?s ?p ?o } } }")
    assert lippe.get("/sparql", params={"query": nested}).status_code == 403


def test_query_workers_stay_network_isolated(lippe):
    log = (lippe.store_dir.parent / "server.log").read_text(errors="replace")
    assert "not network-isolated" not in log or "unshare" in log  # platform without user namespaces: warned
