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
])
def test_repeated_alternative_is_recognised(query: str) -> None:
    found = virtuoso_deviations(RDF + query)
    assert found is not None and found.code == "repeated-alternative"


@pytest.mark.parametrize("query", [
    "SELECT * { ?s d:p|d:q ?o }",
    "SELECT * { ?s d:p|^d:p ?o }",
    "SELECT * { ?s ?p ?o FILTER(?o = 1 || ?o = 1) }",
    "SELECT * { ?s ?p ?o FILTER(?o || ?o) }",
])
def test_other_alternatives_pass(query: str) -> None:
    assert virtuoso_deviations(RDF + query) is None
