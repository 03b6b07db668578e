"""SPARQL queries take a short way past FastAPI (``web.entry``): the same layers and answers as every page.

What the short way must keep, each checked here over real HTTP: CORS headers on the answer itself (not
only on the preflight), gzip for large results, the request-body limit, content negotiation (406), the
error statuses and messages, HEAD, and the pages that are not queries (``GET /sparql`` without a query,
the preflight) still going through the full application.
"""

from __future__ import annotations

import gzip

import httpx

BASE = "https://w3id.org/digiregion/lippe/"
ALL = "SELECT ?s ?p ?o WHERE { ?s ?p ?o } ORDER BY ?s ?p ?o"
ORIGIN = {"Origin": "https://example.org"}


def test_query_answers_carry_cors_headers_by_get_and_post(served):
    got = served.get("/sparql", params={"query": "ASK {}"}, headers=ORIGIN)
    posted = served.post("/sparql", data={"query": "ASK {}"}, headers=ORIGIN)
    direct = served.post("/sparql", content="ASK {}", headers={**ORIGIN, "Content-Type": "application/sparql-query"})
    for response in (got, posted, direct):
        assert response.status_code == 200
        assert response.json()["boolean"] is True
        assert response.headers["access-control-allow-origin"] == "*"
        assert "ETag" in response.headers["access-control-expose-headers"]


def test_errors_on_the_short_way_carry_cors_headers_and_messages(served):
    bad = served.get("/sparql", params={"query": "SELECT * WHERE { ?s ?p }"}, headers=ORIGIN)
    assert bad.status_code == 400 and bad.headers["access-control-allow-origin"] == "*"
    assert "Syntax" in bad.text or "syntax" in bad.text
    update = served.post("/sparql", data={"update": "DROP ALL"}, headers=ORIGIN)
    assert update.status_code == 403 and "read-only" in update.text
    service = served.get("/sparql", params={"query": "SELECT * { SERVICE <http://127.0.0.1:9/> { ?s ?p ?o } }"})
    assert service.status_code in (400, 403) and "SERVICE" in service.text


def test_unacceptable_query_format_gets_406_with_vary(served):
    response = served.get("/sparql", params={"query": "ASK {}"}, headers={"Accept": "image/png"})
    assert response.status_code == 406
    assert "Accept" in [v.strip() for v in response.headers["vary"].split(",")]


def test_large_query_results_are_gzipped(served):
    plain = served.get("/sparql", params={"query": ALL}, headers={"Accept-Encoding": "identity"})
    assert plain.status_code == 200
    assert len(plain.content) > 2048 and "content-encoding" not in plain.headers
    with httpx.stream("GET", served.url + "/sparql", params={"query": ALL}, timeout=30,
                      headers={"Accept-Encoding": "gzip"}) as zipped:
        assert zipped.status_code == 200
        assert zipped.headers["content-encoding"] == "gzip"
        raw = b"".join(zipped.iter_raw())
    assert len(raw) < len(plain.content)
    assert gzip.decompress(raw) == plain.content


def test_body_limit_applies_to_queries(strict_server):
    huge = "ASK {}" + " " * (2 * 1024 * 1024)
    response = strict_server.post("/sparql", content=huge, headers={"Content-Type": "application/sparql-query"})
    assert response.status_code == 413


def test_head_with_a_query_has_headers_and_no_body(served):
    response = httpx.head(served.url + "/sparql", params={"query": "ASK {}"}, timeout=30)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/sparql-results+json")
    assert response.content == b""


def test_pages_that_are_not_queries_still_take_the_full_application(served):
    page = served.get("/sparql", headers={"Accept": "text/html"})
    assert page.status_code == 200 and "<form" in page.text
    description = served.get("/sparql", headers={"Accept": "text/turtle"})
    assert description.status_code == 200 and "sparql-service-description" in description.text
    preflight = httpx.options(served.url + "/sparql", timeout=30, headers={
        **ORIGIN, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "Content-Type"})
    assert preflight.status_code == 200 and "POST" in preflight.headers["access-control-allow-methods"]
    wrong_method = httpx.put(served.url + "/sparql", content="ASK {}", timeout=30)
    assert wrong_method.status_code == 405
