"""Recognising the query shapes Virtuoso is known to answer wrongly (without a server; the behaviour
itself is reproduced against Virtuoso in tests/remote)."""

from __future__ import annotations

import pytest

from digiregion.store.deviations import virtuoso_deviations

RDF = "PREFIX rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#> PREFIX d: <http://example.org/>\n"


@pytest.mark.parametrize("query", [
    "SELECT * { ?s (d:p|d:p) ?o }",
    "SELECT * { ?s rdf:type|a ?t }",
    "SELECT * { ?s d:q|<http://example.org/p>|d:p ?o }",
    "SELECT * { ?s ^d:p|^d:p ?o }",
    "SELECT * { ?s ^d:q|d:r|^d:q ?o }",  # the repeat is not next to the first
    "SELECT * { ?s d:a|d:b ?o . ?s ^d:p|d:q|^d:p ?o }",  # in the second of two chains
])
def test_repeated_alternative_is_recognised(query: str) -> None:
    found = virtuoso_deviations(RDF + query)
    assert found is not None and found.code == "repeated-alternative"


@pytest.mark.parametrize("query", [
    "SELECT * { ?s d:p|d:q ?o }",
    "SELECT * { ?s d:p|^d:p ?o }",
    "SELECT * { ?s d:p|d:q ?o . ?s d:q|d:p ?o }",  # two chains, each without a repeat
    "SELECT * { ?s ?p ?o FILTER(?o = 1 || ?o = 1) }",
    "SELECT * { ?s ?p ?o FILTER(?o || ?o) }",
])
def test_other_alternatives_pass(query: str) -> None:
    assert virtuoso_deviations(RDF + query) is None


@pytest.mark.parametrize(("query", "code"), [
    ("SELECT * { ?s ?p ?o FILTER NOT EXISTS { ?s d:broader? d:c } }", "path-in-negation"),
    ("SELECT * { ?s ?p ?o FILTER EXISTS { ?s d:broader*d:c } }", "path-in-negation"),
    ("SELECT * { ?s ?p ?o MINUS { ?s (d:a/d:b)+ ?x } }", "path-in-negation"),
    ("SELECT * { ?s ?p ?o FILTER NOT EXISTS { ?s a? d:C } }", "path-in-negation"),
    ("SELECT * { ?s d:broader+ ?a . ?s d:narrower* ?b }", "two-transitive-paths"),
])
def test_paths_virtuoso_answers_wrongly_are_recognised(query: str, code: str) -> None:
    found = virtuoso_deviations(RDF + query)
    assert found is not None and found.code == code


@pytest.mark.parametrize("query", [
    "SELECT ?s WHERE { ?s d:broader ?o FILTER NOT EXISTS { ?s d:p ?x } }",  # no modifier: lexer not needed
    "SELECT * { ?s d:broader? d:c }",  # outside a negation Virtuoso is right
    "SELECT (COUNT(*) AS ?n) { ?s d:p ?o FILTER(?o + 1 > 2) }",  # * and + that are not path modifiers
    "SELECT * { ?s d:p ?o FILTER NOT EXISTS { ?s d:q \"a?b*c+\" } }",  # inside a string
])
def test_queries_without_a_known_deviation_pass(query: str) -> None:
    assert virtuoso_deviations(RDF + query) is None
