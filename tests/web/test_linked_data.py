"""Linked Data over HTTP: dereferencing, content negotiation, suffixes, caching headers, 404s, HTML pages."""

from __future__ import annotations

import pytest
import rdflib
from rdflib import URIRef

from digiregion.web.negotiation import DOCUMENT_OFFERS, GRAPH_OFFERS, SELECT_OFFERS, NotAcceptable, choose

BASE = "https://w3id.org/digiregion/lippe/"
DETMOLD = "/kommune/05766020"
CHROME = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,*/*;q=0.8"

CONNEG = [
    (None, "text/turtle"),
    ("*/*", "text/turtle"),
    (CHROME, "text/html"),
    ("text/turtle", "text/turtle"),
    ("application/ld+json", "application/ld+json"),
    ("application/n-triples", "application/n-triples"),
    ("application/rdf+xml", "application/rdf+xml"),
    ("application/rdf+xml, */*", "application/rdf+xml"),
    ("text/turtle;q=0.5, application/ld+json", "application/ld+json"),
    ("application/ld+json;q=0.2, application/n-triples;q=0.9, text/html;q=0.1", "application/n-triples"),
    ("text/*", "text/turtle"),
    ("application/*", "application/ld+json"),
    ("application/json", "application/ld+json"),
    ("text/html;q=0, */*;q=0.1", "text/turtle"),
    ("TEXT/HTML", "text/html"),
]


@pytest.mark.parametrize(("accept", "expected"), CONNEG)
def test_resource_conneg_matrix(served, accept, expected):
    headers = {"Accept": accept} if accept else {}
    response = served.get(DETMOLD, headers=headers)
    assert response.status_code == 200
    assert response.headers["content-type"].split(";")[0] == expected
    assert "Accept" in response.headers["vary"]


@pytest.mark.parametrize("accept", ["image/png", "garbage", "text/html;q=0, text/turtle;q=0, application/*;q=0"])
def test_unacceptable_gets_406(served, accept):
    response = served.get(DETMOLD, headers={"Accept": accept})
    assert response.status_code == 406
    assert "text/turtle" in response.text and "Verfügbar" in response.text


@pytest.mark.parametrize(("suffix", "parser", "media"), [
    (".ttl", "turtle", "text/turtle"), (".nt", "nt", "application/n-triples"),
    (".jsonld", "json-ld", "application/ld+json"), (".rdf", "xml", "application/rdf+xml")])
def test_suffixes_name_a_format_and_parse_back(served, suffix, parser, media):
    response = served.get(DETMOLD + suffix, headers={"Accept": "text/html"})  # the suffix wins
    assert response.headers["content-type"].split(";")[0] == media
    graph = rdflib.Graph().parse(data=response.content, format=parser)
    subject = URIRef(BASE + "kommune/05766020")
    assert (subject, None, None) in graph
    assert (URIRef(BASE + "kommune/05766020#einwohner-2022-12-31"), None, None) in graph  # hash IRIs
    assert (URIRef(BASE + "kreis/05766"), None, None) in graph  # label of a linked resource
    address = next(graph.objects(subject, URIRef("https://schema.org/address")))
    assert (address, URIRef("https://schema.org/postalCode"), None) in graph  # blank-node closure


def test_format_parameter(served):
    response = served.get(DETMOLD, params={"format": "nt"}, headers={"Accept": "text/html"})
    assert response.headers["content-type"].startswith("application/n-triples")
    assert served.get(DETMOLD, params={"format": "pdf"}).status_code == 406


def test_content_location_and_alternates(served):
    response = served.get(DETMOLD, headers={"Accept": "application/ld+json"})
    assert response.headers["content-location"] == DETMOLD + ".jsonld"
    assert f'<{DETMOLD}.ttl>; rel="alternate"' in response.headers["link"]


def test_etag_and_last_modified_give_304(served):
    first = served.get(DETMOLD, headers={"Accept": "text/turtle"})
    etag, modified = first.headers["etag"], first.headers["last-modified"]
    again = served.get(DETMOLD, headers={"Accept": "text/turtle", "If-None-Match": etag})
    assert again.status_code == 304 and again.headers["etag"] == etag and not again.content
    assert served.get(DETMOLD, headers={"Accept": "text/turtle", "If-Modified-Since": modified}).status_code == 304
    other = served.get(DETMOLD, headers={"Accept": "application/ld+json", "If-None-Match": etag})
    assert other.status_code == 200  # another representation has another ETag


def test_head_has_headers_without_body(served):
    import httpx

    response = httpx.head(served.url + DETMOLD, headers={"Accept": "text/turtle"})
    assert response.status_code == 200 and response.headers["etag"] and not response.content


def test_unknown_resource_404_with_useful_html(served):
    response = served.get("/kommune/99999999", headers={"Accept": "text/html"})
    assert response.status_code == 404
    assert "Nicht gefunden" in response.text and 'href="/sparql"' in response.text
    assert served.get("/kommune/99999999").status_code == 404


def test_html_page_german_first_with_labels_and_links(served):
    html = served.get(DETMOLD, headers={"Accept": "text/html"}).text
    assert "<h1>Detmold</h1>" in html
    assert "Kreis Lippe" in html  # label of the linked district, not its IRI
    assert "Amtlicher Gemeindeschlüssel" in html  # property label from the ontology
    assert "Kommune" in html
    for suffix in (".ttl", ".jsonld", ".nt", ".rdf"):
        assert f'href="{DETMOLD}{suffix}"' in html
    assert 'id="einwohner-2022-12-31"' in html
    assert "Smart Country Side" in html  # incoming link, by label
    assert "Gemeindeverzeichnis GV100AD" in html  # the source
    assert "cc-by/4.0" in html  # the licence


def test_html_english_on_request(served):
    html = served.get(DETMOLD, params={"lang": "en"}, headers={"Accept": "text/html"}).text
    assert "official municipality key" in html and "Links to this resource" in html
    html = served.get("/kreis/05766", headers={"Accept": "text/html", "Accept-Language": "en-GB,en;q=0.9"}).text
    assert "Amtlicher Gemeindeschlüssel" in html  # German first: an English browser alone does not switch


def test_ontology_and_shapes_at_their_namespaces(served):
    graph = rdflib.Graph().parse(data=served.get("/ontology", headers={"Accept": "text/turtle"}).content,
                                 format="turtle")
    assert (URIRef("https://w3id.org/digiregion/ontology#Municipality"), None, None) in graph
    html = served.get("/ontology", headers={"Accept": "text/html"}).text
    assert "Kommune" in html and 'id="Municipality"' in html
    shapes = served.get("/shapes", headers={"Accept": "application/ld+json"})
    assert shapes.status_code == 200
    graph = rdflib.Graph().parse(data=shapes.content, format="json-ld")
    assert (URIRef("https://w3id.org/digiregion/shapes#MunicipalityShape"), None, None) in graph


def test_root_redirects_rdf_clients_to_void(served):
    import httpx

    response = httpx.get(served.url + "/", headers={"Accept": "text/turtle"}, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/.well-known/void"
    assert "Digitale Region" in served.get("/", headers={"Accept": "text/html"}).text


def test_cors_and_preflight(served):
    import httpx

    response = httpx.options(served.url + "/sparql", headers={
        "Origin": "https://example.org", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "Content-Type"})
    assert response.status_code == 200
    assert "POST" in response.headers["access-control-allow-methods"]
    assert "content-type" in response.headers["access-control-allow-headers"].lower()
    got = served.get(DETMOLD, headers={"Origin": "https://example.org"})
    assert got.headers["access-control-allow-origin"] == "*"


def test_gzip_for_large_responses(served):
    response = served.get("/ontology", headers={"Accept": "text/turtle", "Accept-Encoding": "gzip"})
    assert response.status_code == 200


# -- the one negotiation module, directly ------------------------------------------------------------------

@pytest.mark.parametrize(("offers", "accept", "fmt", "expected"), [
    (SELECT_OFFERS, "application/sparql-results+xml", None, "xml"),
    (SELECT_OFFERS, "application/json", None, "json"),
    (SELECT_OFFERS, "text/csv;q=1, application/sparql-results+json;q=0.9", None, "csv"),
    (SELECT_OFFERS, "text/tab-separated-values", None, "tsv"),
    (SELECT_OFFERS, None, "xml", "xml"),
    (GRAPH_OFFERS, None, "xml", "rdf-xml"),
    (GRAPH_OFFERS, "application/trig", None, "trig"),
    (GRAPH_OFFERS, "application/n-quads", None, "n-quads"),
    (DOCUMENT_OFFERS, "text/turtle;q=0.9;level=1, text/html;q=0.8", None, "turtle"),
])
def test_choose(offers, accept, fmt, expected):
    assert choose(offers, accept, fmt).key == expected


def test_choose_refuses_results_type_for_graphs():
    with pytest.raises(NotAcceptable):
        choose(GRAPH_OFFERS, "application/sparql-results+json")
    with pytest.raises(NotAcceptable):
        choose(SELECT_OFFERS, "text/turtle")
