"""Real SPARQL clients against the real server: SPARQLWrapper, rdflib's SPARQLStore, plain httpx.

Terms must survive every format exactly: datatypes, language tags, blank-node identity across rows.
Canonical-form surprises, documented here so nobody rediscovers them:
* language tags come back lower-cased (``@en-GB`` → ``@en-gb``; RDF 1.1 compares them case-insensitively);
* CSV carries no datatypes or language tags at all (by the CSV results spec); TSV carries them;
* numbers keep their lexical form (``"1.0E3"^^xsd:double`` stays ``1.0E3``; ``129.39`` stays decimal).
"""

from __future__ import annotations

import csv
import io
import json

import pyoxigraph
import rdflib
import rdflib.compare
from rdflib import XSD, Literal, URIRef
from rdflib.plugins.stores.sparqlstore import SPARQLStore
from SPARQLWrapper import CSV, JSON, TURTLE, XML, SPARQLWrapper

BASE = "https://w3id.org/digiregion/lippe/"

DETMOLD = BASE + "kommune/05766020"
TERMS = f"""PREFIX schema: <https://schema.org/> PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
PREFIX dr: <https://w3id.org/digiregion/ontology#> PREFIX wgs: <http://www.w3.org/2003/01/geo/wgs84_pos#>
SELECT ?p ?o WHERE {{ <{DETMOLD}> ?p ?o }} ORDER BY ?p ?o"""
BNODES = f"""PREFIX schema: <https://schema.org/>
SELECT ?a ?p ?v WHERE {{ <{DETMOLD}> schema:address ?a . ?a ?p ?v }} ORDER BY ?p"""


def _wrapper(server, query, fmt):
    sparql = SPARQLWrapper(server.url + "/sparql")
    sparql.setQuery(query)
    sparql.setReturnFormat(fmt)
    return sparql.query()


def test_sparqlwrapper_json_terms_exact(served):
    rows = _wrapper(served, TERMS, JSON).convert()["results"]["bindings"]
    objects = {(r["p"]["value"], r["o"]["value"]): r["o"] for r in rows}
    assert objects[("http://www.w3.org/2003/01/geo/wgs84_pos#lat", "51.9386")]["datatype"] == str(XSD.decimal)
    assert objects[("http://www.w3.org/2004/02/skos/core#note", "Former residence")]["xml:lang"] == "en-gb"
    assert objects[("http://www.w3.org/2004/02/skos/core#prefLabel", "Detmold")]["xml:lang"] == "de"
    note = next(v for (p, v) in objects if v.startswith("Zeile 1"))
    assert note == 'Zeile 1\nZeile 2 mit "Anführungszeichen", Komma; Tab\tEnde'


def test_sparqlwrapper_xml(served):
    document = _wrapper(served, TERMS, XML).convert()
    literals = document.getElementsByTagName("literal")
    langs = {el.getAttribute("xml:lang") for el in literals if el.getAttribute("xml:lang")}
    assert {"de", "en-gb"} <= langs
    assert any(el.getAttribute("datatype") == str(XSD.decimal) for el in literals)


def test_sparqlwrapper_csv_parses(served):
    body = _wrapper(served, TERMS, CSV).convert()
    rows = list(csv.DictReader(io.StringIO(body.decode("utf-8"))))
    values = {r["o"] for r in rows}
    assert 'Zeile 1\nZeile 2 mit "Anführungszeichen", Komma; Tab\tEnde' in values
    assert "51.9386" in values


def test_sparqlwrapper_construct_into_rdflib(served):
    query = f"CONSTRUCT {{ <{DETMOLD}> ?p ?o }} WHERE {{ <{DETMOLD}> ?p ?o }}"
    graph = _wrapper(served, query, TURTLE).convert()
    if isinstance(graph, bytes):
        graph = rdflib.Graph().parse(data=graph, format="turtle")
    assert (URIRef(DETMOLD), URIRef("http://www.w3.org/2003/01/geo/wgs84_pos#lat"),
            Literal("51.9386", datatype=XSD.decimal)) in graph
    assert (URIRef(DETMOLD), URIRef("http://www.w3.org/2004/02/skos/core#note"),
            Literal("Former residence", lang="en-gb")) in graph


def test_rdflib_sparqlstore(served):
    store = SPARQLStore(served.url + "/sparql", returnFormat="xml")
    graph = rdflib.Graph(store=store)
    rows = list(graph.query(f"SELECT ?v WHERE {{ <{BASE}projekt/smart-country-side> ?p ?v FILTER(isLiteral(?v)) }}"))
    values = {row.v for row in rows}
    assert Literal("2016", datatype=XSD.gYear) in values
    assert Literal(True) in values
    assert Literal("1.0E3", datatype=XSD.double) in values
    assert Literal("1", datatype=XSD.integer) in values
    assert (URIRef(DETMOLD), None, None) in graph


def test_blank_node_identity_across_rows_and_formats(served):
    for fmt in ("json", "xml", "tsv", "csv"):
        response = served.get("/sparql", params={"query": BNODES, "format": fmt})
        assert response.status_code == 200
        if fmt == "json":
            labels = {row["a"]["value"] for row in response.json()["results"]["bindings"]}
            types = {row["a"]["type"] for row in response.json()["results"]["bindings"]}
            assert types == {"bnode"}
        elif fmt == "xml":
            labels = set(_xml_bnodes(response.text))
        else:
            sep = "\t" if fmt == "tsv" else ","
            lines = [line for line in response.text.splitlines()[1:] if line]
            labels = {line.split(sep)[0] for line in lines}
        assert len(labels) == 1, (fmt, labels)


def _xml_bnodes(text: str) -> list[str]:
    import xml.etree.ElementTree as ET

    ns = "{http://www.w3.org/2005/sparql-results#}"
    return [el.text for el in ET.fromstring(text).iter(ns + "bnode")]


def test_tsv_keeps_datatypes_and_languages(served):
    response = served.get("/sparql", params={"query": TERMS, "format": "tsv"})
    assert '"51.9386"^^<http://www.w3.org/2001/XMLSchema#decimal>' in response.text or "51.9386" in response.text
    assert '"Former residence"@en-gb' in response.text


def test_every_graph_format_parses_back_identically(served):
    query = f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ ?s ?p ?o FILTER(STRSTARTS(STR(?s), '{DETMOLD}')) }}"
    graphs = {}
    for fmt, parser in (("ttl", "turtle"), ("nt", "nt"), ("jsonld", "json-ld"), ("rdf", "xml"),
                        ("trig", "trig"), ("nq", "nquads")):
        response = served.get("/sparql", params={"query": query, "format": fmt})
        assert response.status_code == 200, response.text
        if parser in ("trig", "nquads"):
            dataset = rdflib.Dataset()
            dataset.parse(data=response.content, format=parser)
            graph = rdflib.Graph()
            for s, p, o, _ in dataset.quads():
                graph.add((s, p, o))
        else:
            graph = rdflib.Graph().parse(data=response.content, format=parser)
        graphs[fmt] = graph
    reference = rdflib.compare.to_isomorphic(graphs["nt"])
    for fmt, graph in graphs.items():
        assert rdflib.compare.to_isomorphic(graph) == reference, fmt
    assert len(graphs["nt"]) > 10


def test_select_json_is_valid_and_ask_formats(served):
    for fmt, check in (("json", lambda r: json.loads(r.content)["boolean"] is True),
                       ("xml", lambda r: b"<boolean>true</boolean>" in r.content),
                       ("csv", lambda r: r.text.strip() == "true"), ("tsv", lambda r: r.text.strip() == "true")):
        response = served.get("/sparql", params={"query": "ASK { ?s ?p ?o }", "format": fmt})
        assert response.status_code == 200 and check(response), fmt


def test_relative_iris_resolve_against_dataset_base(served):
    response = served.get("/sparql", params={"query": "ASK { <kommune/05766020> ?p ?o }"})
    assert response.json()["boolean"] is True


def test_malformed_query_reports_line_and_column(served):
    response = served.get("/sparql", params={"query": "SELECT * WHERE {\n ?s ?p \n"})
    assert response.status_code == 400
    assert "Syntaxfehler" in response.text and "syntax error" in response.text
    assert "2:" in response.text or "3:" in response.text


def test_alternative_paths_have_bag_semantics(served):
    """SPARQL 1.1 §18.4: ``p|q`` is a union of multisets, so ``p|p`` yields every match twice.

    The embedded engine deduplicates alternatives; the store rewrites them (store/alternative_paths.py).
    """
    def count(pattern: str) -> int:
        query = f"SELECT (COUNT(*) AS ?n) WHERE {{ {pattern} }}"
        return int(_wrapper(served, query, JSON).convert()["results"]["bindings"][0]["n"]["value"])

    rdf_type = "<http://www.w3.org/1999/02/22-rdf-syntax-ns#type>"
    single = count(f"?s {rdf_type} ?t")
    assert single > 0
    assert count(f"?s ({rdf_type}|{rdf_type}) ?t") == 2 * single
    assert count(f"?s a ?t ; {rdf_type}|a ?t") == 2 * single


def test_syntax_error_in_a_rewritten_query_names_the_clients_own_position(served):
    query = "SELECT * {\n ?s a|a ?t ;\n ?p ?o ?oops\n}"
    try:
        pyoxigraph.Store().query(query)
    except SyntaxError as exc:
        own_message = str(exc)  # the engine's message for the text as the client wrote it
    response = served.get("/sparql", params={"query": query})
    assert response.status_code == 400
    assert own_message in response.text
