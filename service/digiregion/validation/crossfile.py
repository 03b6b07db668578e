"""Checks SHACL cannot express because they are about files, not graphs.

- the same resource described (as a subject) in two data files: reviewers lose track of which file
  holds the truth, and removing one file silently changes the other's resource;
- a link to an IRI under the dataset base that no file describes: a typo or a missing file;
- a literal where an IRI is required (object properties of the ontology and well-known link
  properties): the value looks right in Turtle but is not a link for any consumer.
"""

from __future__ import annotations

import pyoxigraph as ox

from .findings import Finding, Message, Severity
from .loading import LoadedData

OWL_OBJECT_PROPERTY = "http://www.w3.org/2002/07/owl#ObjectProperty"
LINK_PROPERTIES = frozenset({
    "http://www.w3.org/1999/02/22-rdf-syntax-ns#type",
    "http://purl.org/dc/terms/source",
    "http://xmlns.com/foaf/0.1/homepage",
    "https://schema.org/url",
    "http://www.w3.org/2004/02/skos/core#inScheme",
    "http://www.w3.org/2004/02/skos/core#exactMatch",
    "http://www.w3.org/2004/02/skos/core#broader",
    "http://www.w3.org/2004/02/skos/core#topConceptOf",
    "http://www.w3.org/2002/07/owl#sameAs",
    "http://www.w3.org/2000/01/rdf-schema#seeAlso",
    "http://www.w3.org/ns/org#member",
    "http://www.w3.org/ns/org#organization",
    "http://www.w3.org/ns/org#hasMembership",
    "http://www.w3.org/ns/org#unitOf",
    "http://www.w3.org/ns/org#hasUnit",
    "http://www.w3.org/ns/org#postIn",
    "http://www.w3.org/ns/org#role",
    "http://www.opengis.net/ont/geosparql#hasGeometry",
    "http://purl.org/dc/terms/spatial",
    "http://purl.org/dc/terms/license",
})


def _values(graphs: list[ox.NamedNode]) -> str:
    return " ".join(str(g) for g in graphs)


def check(data: LoadedData, base_iri: str) -> list[Finding]:
    targets = data.graphs("target")
    if not targets:
        return []
    return [*_duplicates(data), *_undefined_links(data, base_iri), *_literals_for_iris(data)]


# The queries below let the store do the scanning and return only offending rows; they filter the
# graph in Python rather than with ``VALUES ?g``, which the store would join with every triple.

def _duplicates(data: LoadedData) -> list[Finding]:
    data_graphs = data.graphs("target", "context")
    query = (f"SELECT ?s WHERE {{ VALUES ?g {{ {_values(data_graphs)} }} GRAPH ?g {{ ?s ?p ?o }} FILTER(isIRI(?s)) }} "
             f"GROUP BY ?s HAVING (COUNT(DISTINCT ?g) > 1)")
    wanted = set(data_graphs)
    graphs_of: dict[ox.NamedNode, list[ox.NamedNode]] = {}
    for solution in data.store.query(query):
        subject = solution["s"]
        graphs = dict.fromkeys(q.graph_name for q in data.store.quads_for_pattern(subject, None, None))
        graphs_of[subject] = [g for g in graphs if g in wanted]
    targets = set(data.graphs("target"))
    findings = []
    for subject, graphs in graphs_of.items():
        files = sorted(str(data.file_of_graph(g).path) for g in graphs)
        for graph in graphs:
            if graph not in targets:
                continue
            here = str(data.file_of_graph(graph).path)
            others = ", ".join(f for f in files if f != here)
            findings.append(Finding(
                Severity.VIOLATION, "duplicate-resource",
                Message(f"Die Ressource wird auch in {others} beschrieben; jede Ressource gehört in genau eine Datei",
                        f"the resource is also described in {others}; each resource belongs in exactly one file"),
                file=here, focus=subject.value))
    return findings


def _undefined_links(data: LoadedData, base_iri: str) -> list[Finding]:
    query = (f"SELECT DISTINCT ?s ?p ?o ?g WHERE {{ GRAPH ?g {{ ?s ?p ?o }} FILTER(isIRI(?o)) "
             f"FILTER NOT EXISTS {{ GRAPH ?any {{ ?o ?p2 ?o2 }} }} FILTER(STRSTARTS(STR(?o), {ox.Literal(base_iri)})) }}")
    targets = set(data.graphs("target"))
    findings = []
    for solution in data.store.query(query):
        if solution["g"] not in targets:
            continue
        target = solution["o"].value
        findings.append(Finding(
            Severity.VIOLATION, "undefined-link",
            Message(f"Verweis auf <{target}>, das in keiner Datei beschrieben wird",
                    f"link to <{target}>, which no file describes"),
            file=str(data.file_of_graph(solution["g"]).path), focus=solution["s"].value if isinstance(
                solution["s"], ox.NamedNode) else None, path=solution["p"].value, value=target))
    return findings


def _literals_for_iris(data: LoadedData) -> list[Finding]:
    object_properties = {q.subject.value for q in data.store.quads_for_pattern(
        None, ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type"), ox.NamedNode(OWL_OBJECT_PROPERTY))
        if isinstance(q.subject, ox.NamedNode)}
    link_properties = " ".join(f"<{p}>" for p in sorted(object_properties | LINK_PROPERTIES))
    query = f"SELECT ?s ?p ?o ?g WHERE {{ VALUES ?p {{ {link_properties} }} GRAPH ?g {{ ?s ?p ?o }} FILTER(isLiteral(?o)) }}"
    targets = set(data.graphs("target"))
    findings = []
    for solution in data.store.query(query):
        if solution["g"] not in targets:
            continue
        findings.append(Finding(
            Severity.VIOLATION, "literal-for-iri",
            Message(f"<{solution['p'].value}> verlangt einen Verweis (IRI), gefunden wurde ein Literal",
                    f"<{solution['p'].value}> requires a link (IRI), found a literal"),
            file=str(data.file_of_graph(solution["g"]).path),
            focus=solution["s"].value if isinstance(solution["s"], ox.NamedNode) else None,
            path=solution["p"].value, value=str(solution["o"])))
    return findings
