"""The W3C SPARQL 1.1 Protocol test suite, adapted for a read-only endpoint.

Source: w3c/rdf-tests, ``sparql/sparql11/protocol/manifest.ttl`` (34 cases, W3C test suite licence).
Each case below keeps the manifest's request (method, path with query string, Content-Type, body)
and its expected outcome, with two documented adaptations:

* The 15 query cases expect 2xx and, where the manifest says so, the boolean ``true`` or a tabular/RDF
  result. The graphs the manifest loads (``ut:graphData``, kasei.us data0–3) are in
  ``fixtures/data/protocol-graphs.trig``.
* The 7 update cases (``update_*``) expect 2xx in the manifest; this endpoint is read-only, so the
  adapted test expects 4xx for the update and then checks that the follow-up query the manifest sends
  finds the data *unchanged* (the inserted triples are absent, the triple count is the same).
  The 12 ``bad_*`` cases expect 4xx as in the manifest.

``query_multiple_dataset`` sends ``named-graph-uri`` with an encoded ``&``, i.e. ONE graph IRI
``…data1.rdf&named-graph-uri=…data2.rdf`` that exists nowhere; its intent ("the protocol dataset
overrides FROM") is tested with the two parameters it means, and the literal request is checked to
be refused with a clear 400 (unknown graph), which is this endpoint's rule for graphs it does not have.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from urllib.parse import quote

import pytest

K = "http%3A%2F%2Fkasei.us%2F2009%2F09%2Fsparql%2Fdata%2F"
FORM = "application/x-www-form-urlencoded"
QUERY = "application/sparql-query"
UPDATE = "application/sparql-update"
ASK_D1_D2 = ("ASK { <http://kasei.us/2009/09/sparql/data/data1.rdf> a ?type . "
             "<http://kasei.us/2009/09/sparql/data/data2.rdf> a ?type . }")
ASK_G1_G2 = ("ASK { GRAPH ?g1 { <http://kasei.us/2009/09/sparql/data/data1.rdf> a ?type } "
             "GRAPH ?g2 { <http://kasei.us/2009/09/sparql/data/data2.rdf> a ?type } }")
ASK_FULL = """ASK {
  <http://kasei.us/2009/09/sparql/data/data3.rdf> a ?type
  GRAPH ?g1 { <http://kasei.us/2009/09/sparql/data/data1.rdf> a ?type }
  GRAPH ?g2 { <http://kasei.us/2009/09/sparql/data/data2.rdf> a ?type }
}"""
MULTI = ("ASK FROM <http://kasei.us/2009/09/sparql/data/data3.rdf> { GRAPH ?g1 { "
         "<http://kasei.us/2009/09/sparql/data/data1.rdf> a ?type } GRAPH ?g2 { "
         "<http://kasei.us/2009/09/sparql/data/data2.rdf> a ?type } }")

# name, method, path (+ query string), content type, body, expected ("true" | "tabular" | "rdf" | "4xx")
QUERY_CASES = [
    ("query_post_form", "POST", f"/sparql/?default-graph-uri={K}data0.rdf", FORM, "query=ASK%20%7B%7D", "true"),
    ("query_dataset_default_graphs_get", "GET",
     f"/sparql/?query={quote(ASK_D1_D2)}&default-graph-uri={K}data1.rdf&default-graph-uri={K}data2.rdf",
     None, None, "true"),
    ("query_dataset_default_graphs_post", "POST",
     f"/sparql/?default-graph-uri={K}data1.rdf&default-graph-uri={K}data2.rdf", QUERY, ASK_D1_D2, "true"),
    ("query_dataset_named_graphs_post", "POST",
     f"/sparql/?named-graph-uri={K}data1.rdf&named-graph-uri={K}data2.rdf", QUERY, ASK_G1_G2, "true"),
    ("query_dataset_named_graphs_get", "GET",
     f"/sparql/?query={quote(ASK_G1_G2)}&named-graph-uri={K}data1.rdf&named-graph-uri={K}data2.rdf",
     None, None, "true"),
    ("query_dataset_full", "POST",
     f"/sparql/?default-graph-uri={K}data3.rdf&named-graph-uri={K}data1.rdf&named-graph-uri={K}data2.rdf",
     QUERY, ASK_FULL, "true"),
    ("query_multiple_dataset (intended parameters)", "POST",
     f"/sparql/?named-graph-uri={K}data1.rdf&named-graph-uri={K}data2.rdf", QUERY, MULTI, "true"),
    ("query_get", "GET", f"/sparql/?query=ASK%20%7B%7D&default-graph-uri={K}data0.rdf", None, None, "true"),
    ("query_content_type_select", "POST", f"/sparql/?default-graph-uri={K}data0.rdf", QUERY,
     "SELECT (1 AS ?value) {}", "tabular"),
    ("query_content_type_ask", "POST", f"/sparql/?default-graph-uri={K}data0.rdf", QUERY, "ASK {}", "true"),
    ("query_content_type_describe", "POST", f"/sparql/?default-graph-uri={K}data0.rdf", QUERY,
     "DESCRIBE <http://example.org/>", "rdf"),
    ("query_content_type_construct", "POST", f"/sparql/?default-graph-uri={K}data0.rdf", QUERY,
     "CONSTRUCT { <s> <p> 1 } WHERE {}", "rdf"),
    ("query_post_direct", "POST", "/sparql/", QUERY, "ASK {}", "true"),
]

BAD_CASES = [
    ("bad_query_method", "PUT", f"/sparql/?query=ASK%20%7B%7D&default-graph-uri={K}data0.rdf", FORM, ""),
    ("bad_multiple_queries", "GET", "/sparql/?query=ASK%20%7B%7D&query=SELECT%20%2A%20%7B%7D", None, None),
    ("bad_query_wrong_media_type", "POST", "/sparql/", "text/plain", "ASK {}"),
    ("bad_query_missing_form_type", "POST", "/sparql/", None, "query=ASK%20%7B%7D"),
    ("bad_query_missing_direct_type", "POST", "/sparql/", None, "ASK {}"),
    ("bad_query_non_utf8", "POST", "/sparql/", "application/sparql-query; charset=UTF-16",
     "ASK {}".encode("utf-16")),
    ("bad_query_syntax", "GET", "/sparql/?query=ASK%20%7B", None, None),
    ("bad_update_get", "GET", "/sparql/?update=CLEAR%20ALL", None, None),
    ("bad_multiple_updates", "POST", "/sparql/", FORM, "update=CLEAR%20NAMED&update=CLEAR%20DEFAULT"),
    ("bad_update_wrong_media_type", "POST", "/sparql/", "text/plain", "CLEAR NAMED"),
    ("bad_update_missing_form_type", "POST", "/sparql/", None, "update=CLEAR%20NAMED"),
    ("bad_update_non_utf8", "POST", "/sparql/", "application/sparql-update; charset=UTF-16",
     "CLEAR NAMED".encode("utf-16")),
    ("bad_update_syntax", "POST", "/sparql/", FORM, "update=CLEAR%20XYZ"),
    ("bad_update_dataset_conflict", "POST", "/sparql/?using-named-graph-uri=http%3A%2F%2Fexample%2Fpeople", UPDATE,
     "PREFIX foaf:  <http://xmlns.com/foaf/0.1/>\nWITH <http://example/addresses>\n"
     "DELETE { ?person foaf:givenName 'Bill' }\nINSERT { ?person foaf:givenName 'William' }\n"
     "WHERE {\n    ?person foaf:givenName 'Bill'\n}"),
]

P = "PREFIX dc: <http://purl.org/dc/terms/>\nPREFIX foaf: <http://xmlns.com/foaf/0.1/>\n"
INSERT3 = ("INSERT DATA {\n GRAPH <http://kasei.us/2009/09/sparql/data/data1.rdf> { "
           "<http://kasei.us/2009/09/sparql/data/data1.rdf> a foaf:Document } } ;\n")
# name, path, content type, update body, follow-up ASK that would be true had the update run
UPDATE_CASES = [
    ("update_dataset_default_graph", f"/sparql/?using-graph-uri={K}data1.rdf", UPDATE,
     P + "CLEAR ALL ;\n" + INSERT3 + "INSERT { GRAPH <http://example.org/protocol-update-dataset-test/> "
     "{ ?s a dc:BibliographicResource } } WHERE { ?s a foaf:Document }",
     "ASK { GRAPH <http://example.org/protocol-update-dataset-test/> { "
     "<http://kasei.us/2009/09/sparql/data/data1.rdf> a <http://purl.org/dc/terms/BibliographicResource> } }"),
    ("update_dataset_default_graphs", f"/sparql/?using-graph-uri={K}data1.rdf&using-graph-uri={K}data2.rdf",
     UPDATE, P + "DROP ALL ;\n" + INSERT3 + "INSERT { GRAPH <http://example.org/protocol-update-dataset-graphs-test/>"
     " { ?s a dc:BibliographicResource } } WHERE { ?s a foaf:Document }",
     "ASK { GRAPH <http://example.org/protocol-update-dataset-graphs-test/> { ?s ?p ?o } }"),
    ("update_dataset_named_graphs",
     f"/sparql/?using-named-graph-uri={K}data1.rdf&using-named-graph-uri={K}data2.rdf", UPDATE,
     P + "DROP ALL ;\n" + INSERT3 + "INSERT { GRAPH <http://example.org/protocol-update-dataset-named-graphs-test/>"
     " { ?s a dc:BibliographicResource } } WHERE { GRAPH ?g { ?s a foaf:Document } }",
     "ASK { GRAPH <http://example.org/protocol-update-dataset-named-graphs-test/> { ?s ?p ?o } }"),
    ("update_dataset_full", f"/sparql/?using-graph-uri={K}data1.rdf&using-named-graph-uri={K}data2.rdf", UPDATE,
     P + "DROP ALL ;\n" + INSERT3 + "INSERT { GRAPH <http://example.org/protocol-update-dataset-full-test/> "
     "{ ?s <http://example.org/in> ?in } } WHERE { { GRAPH ?g { ?s a foaf:Document } BIND(?g AS ?in) } "
     "UNION { ?s a foaf:Document . BIND(\"default\" AS ?in) } }",
     "ASK { GRAPH <http://example.org/protocol-update-dataset-full-test/> { ?s ?p ?o } }"),
    ("update_post_form", "/sparql/", FORM, "update=CLEAR+ALL", None),
    ("update_post_direct", "/sparql/", UPDATE, "CLEAR ALL", None),
    ("update_base_uri", "/sparql/", UPDATE,
     "CLEAR GRAPH <http://example.org/protocol-base-test/> ;\nINSERT DATA { GRAPH <http://example.org/protocol-base-test/>"
     " { <http://example.org/s> <http://example.org/p> <test> } }",
     "ASK { GRAPH <http://example.org/protocol-base-test/> { <http://example.org/s> <http://example.org/p> ?o } }"),
]

COUNT = "SELECT (COUNT(*) AS ?n) { { ?s ?p ?o } UNION { GRAPH ?g { ?s ?p ?o } } }"


def _boolean(response) -> bool:
    media = response.headers["content-type"].split(";")[0]
    if media == "application/sparql-results+json":
        return json.loads(response.content)["boolean"]
    root = ET.fromstring(response.content)
    return root.find("{http://www.w3.org/2005/sparql-results#}boolean").text == "true"


def _send(server, method, path, content_type, body):
    headers = {"Content-Type": content_type} if content_type else {}
    import httpx

    return httpx.request(method, server.url + path, headers=headers,
                         content=body.encode() if isinstance(body, str) else body, timeout=30)


def _count(server) -> int:
    response = server.get("/sparql", params={"query": COUNT})
    return int(response.json()["results"]["bindings"][0]["n"]["value"])


def test_suite_is_complete():
    """13 query + 14 bad + 7 update cases = the manifest's 34 entries."""
    assert len(QUERY_CASES) + len(BAD_CASES) + len(UPDATE_CASES) == 34


@pytest.mark.parametrize(("name", "method", "path", "content_type", "body", "expected"), QUERY_CASES,
                         ids=[c[0] for c in QUERY_CASES])
def test_query_cases(served, name, method, path, content_type, body, expected):
    response = _send(served, method, path, content_type, body)
    assert 200 <= response.status_code < 400, response.text
    media = response.headers["content-type"].split(";")[0]
    if expected == "true":
        assert _boolean(response) is True
    elif expected == "tabular":
        assert media in ("application/sparql-results+json", "application/sparql-results+xml", "text/csv",
                         "text/tab-separated-values")
        assert json.loads(response.content)["results"]["bindings"][0]["value"]["value"] == "1"
    else:
        assert media in ("text/turtle", "application/n-triples", "application/rdf+xml", "application/ld+json")


def test_query_multiple_dataset_literal_request_is_refused_clearly(served):
    response = _send(served, "POST", f"/sparql/?named-graph-uri={K}data1.rdf%26named-graph-uri%3D{K}data2.rdf",
                     QUERY, MULTI)
    assert response.status_code == 400
    assert "gibt es in diesem Datensatz nicht" in response.text and "not in this dataset" in response.text
    assert "data1.rdf&named-graph-uri=" in response.text


@pytest.mark.parametrize(("name", "method", "path", "content_type", "body"), BAD_CASES,
                         ids=[c[0] for c in BAD_CASES])
def test_bad_cases(served, name, method, path, content_type, body):
    response = _send(served, method, path, content_type, body)
    assert 400 <= response.status_code < 500, (response.status_code, response.text)


@pytest.mark.parametrize(("name", "path", "content_type", "body", "follow_up"), UPDATE_CASES,
                         ids=[c[0] for c in UPDATE_CASES])
def test_update_cases_are_refused_and_change_nothing(served, name, path, content_type, body, follow_up):
    before = _count(served)
    response = _send(served, "POST", path, content_type, body)
    assert response.status_code == 403, response.text
    assert "read-only" in response.text and "schreibgeschützt" in response.text
    assert _count(served) == before
    if follow_up:
        answer = _send(served, "POST", "/sparql/", QUERY, follow_up)
        if answer.status_code == 400:  # the graph the update would have created does not exist
            assert "not in this dataset" in answer.text
        else:
            assert _boolean(answer) is False
