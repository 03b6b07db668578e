"""Virtuoso's SPARQL JSON passed to clients as it came (``EngineProfile.results_json_fixes``) carries the same
terms as the answer the service parses and writes again.

Why this check exists: JSON answers are no longer re-serialised for Virtuoso (that cost ~20–35 ms per MB),
so the engine's own JSON must be standard SPARQL 1.1 JSON after the profile's byte fixes and mean exactly
what pyoxigraph reads from it. The XML answer to the same query still goes through pyoxigraph (parsed and
written again), so comparing the two — solution by solution, blank nodes as a consistent renaming — shows
any difference. The queries cover the fixtures' data (language tags, datatypes, blank nodes shared across
rows) and the literals where JSON writers go wrong: escapes, control and astral characters, U+2028.
"""

from __future__ import annotations

import collections
import json

import pyoxigraph as ox
import pytest

JSON = "application/sparql-results+json"
XML = "application/sparql-results+xml"
EDGE_LITERALS = r'''SELECT ?text ?astral ?lang ?iri ?custom ?decimal ?double ?empty WHERE {
  BIND("tab\there\nline \"quoted\" back\\slash \u0001 \u001F \r return" AS ?text)
  BIND("emoji 😀 ü \u2028 separator" AS ?astral)
  BIND("Kreis"@de-DE AS ?lang)
  BIND(<https://example.org/ü?x=1&y=2#frag> AS ?iri)
  BIND("x"^^<https://example.org/custom> AS ?custom)
  BIND("1.50"^^<http://www.w3.org/2001/XMLSchema#decimal> AS ?decimal)
  BIND(1e3 AS ?double)
  BIND("" AS ?empty)
}'''
QUERIES = {
    "all-triples": "SELECT ?s ?p ?o WHERE { ?s ?p ?o }",
    "named-graphs": "SELECT ?g ?s ?p ?o WHERE { GRAPH ?g { ?s ?p ?o } }",
    "edge-literals": EDGE_LITERALS,
    "optional-unbound": "SELECT ?s ?label WHERE { ?s a ?type OPTIONAL { ?s <urn:nothing> ?label } }",
}


def _answer(server, query: str, accept: str) -> bytes:
    response = server.get("/sparql", params={"query": query}, headers={"Accept": accept})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith(accept)
    return response.content


def _solutions(body: bytes, fmt: ox.QueryResultsFormat) -> tuple[collections.Counter, int]:
    """Solutions as a multiset with blank nodes blinded, and the number of distinct blank nodes."""
    blanks: set[str] = set()
    rows: collections.Counter = collections.Counter()
    results = ox.parse_query_results(body, format=fmt)
    for solution in results:
        row = []
        for variable in results.variables:
            term = solution[variable]
            if isinstance(term, ox.BlankNode):
                blanks.add(term.value)
                term = "blank node"
            row.append((variable.value, str(term)))
        rows[tuple(row)] += 1
    return rows, len(blanks)


@pytest.mark.parametrize("name", sorted(QUERIES))
def test_verbatim_json_means_what_the_reserialised_answer_says(served, name):
    query = QUERIES[name]
    verbatim = _answer(served, query, JSON)
    reserialised = _answer(served, query, XML)
    assert b'"distinct"' in verbatim  # Virtuoso's own layout: the JSON answer was passed through
    rows, blanks = _solutions(verbatim, ox.QueryResultsFormat.JSON)
    assert rows  # every query has solutions: the comparison is not vacuous
    assert (rows, blanks) == _solutions(reserialised, ox.QueryResultsFormat.XML)


@pytest.mark.parametrize("name", sorted(QUERIES))
def test_verbatim_json_is_sparql_11_json(served, name):
    """Only the three term types of SPARQL 1.1 (no "typed-literal"); well-formed for a strict JSON parser."""
    document = json.loads(_answer(served, QUERIES[name], JSON))
    types = {term["type"] for row in document["results"]["bindings"] for term in row.values()}
    assert types and types <= {"uri", "literal", "bnode"}


def test_verbatim_json_keeps_blank_node_identity_across_rows(served):
    """A blank node that occurs in several solutions keeps one label in all of them."""
    query = "SELECT ?b ?p ?o WHERE { ?s ?q ?b . ?b ?p ?o FILTER(isBlank(?b)) }"
    document = json.loads(_answer(served, query, JSON))
    labels = collections.Counter(row["b"]["value"] for row in document["results"]["bindings"])
    assert labels and max(labels.values()) > 1  # the fixtures have blank nodes with several properties
    assert _solutions(json.dumps(document).encode(), ox.QueryResultsFormat.JSON) == \
        _solutions(_answer(served, query, XML), ox.QueryResultsFormat.XML)


def test_ask_answers_verbatim(served):
    for query, expected in (("ASK { ?s ?p ?o }", True), ("ASK { <urn:nothing> ?p ?o }", False)):
        assert json.loads(_answer(served, query, JSON))["boolean"] is expected
