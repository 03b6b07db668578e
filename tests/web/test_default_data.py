"""The shipped default data (ontology + shapes + Lippe) served as a user would start it: ``digiregion serve``.

Skipped while the data is not present or does not load yet (it is written in parallel).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import rdflib
from rdflib import URIRef

DR = "https://w3id.org/digiregion/ontology#"


def test_municipality_page_and_rdf(default_server):
    html = default_server.get("/kommune/05766020", headers={"Accept": "text/html"})
    assert html.status_code == 200 and "<h1>Detmold</h1>" in html.text
    graph = rdflib.Graph().parse(data=default_server.get("/kommune/05766020.ttl").content, format="turtle")
    assert (URIRef("https://w3id.org/digiregion/lippe/kommune/05766020"), None, URIRef(DR + "Municipality")) in graph


def test_ontology_and_shapes_served_at_namespace(default_server):
    graph = rdflib.Graph().parse(data=default_server.get("/ontology", headers={"Accept": "text/turtle"}).content,
                                 format="turtle")
    assert (URIRef(DR + "Municipality"), None, None) in graph
    assert default_server.get("/ontology", headers={"Accept": "text/html"}).status_code == 200
    assert default_server.get("/shapes", headers={"Accept": "text/turtle"}).status_code == 200


def test_every_dataset_iri_dereferences(default_server):
    query = ("SELECT DISTINCT ?s { ?s ?p ?o FILTER(isIRI(?s) && STRSTARTS(STR(?s), "
             "'https://w3id.org/digiregion/lippe/') && !CONTAINS(STR(?s), '#')) }")
    rows = default_server.get("/sparql", params={"query": query}).json()["results"]["bindings"]
    assert rows
    for row in rows[:60]:
        path = row["s"]["value"].removeprefix("https://w3id.org/digiregion/lippe")
        response = default_server.get(path, headers={"Accept": "text/html"})
        assert response.status_code == 200, path


QUERY_MIX = sorted((Path(__file__).resolve().parents[2] / "benchmarks" / "query_mix").glob("*.rq"))


@pytest.mark.parametrize("path", QUERY_MIX, ids=[p.stem for p in QUERY_MIX])
def test_benchmark_query_mix_runs(default_server, path):
    response = default_server.post("/sparql", content=path.read_text(encoding="utf-8"),
                                   headers={"Content-Type": "application/sparql-query"})
    assert response.status_code == 200, response.text
