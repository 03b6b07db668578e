"""SPARQL queries take a short way past FastAPI (``web.entry``): the same layers and answers as every page.

What the short way must keep, each checked here over real HTTP: CORS headers on the answer itself (not
only on the preflight), gzip for large results, the request-body limit, content negotiation (406), the
error statuses and messages, HEAD, and the pages that are not queries (``GET /sparql`` without a query,
the preflight) still going through the full application.
"""

from __future__ import annotations

import asyncio
import copy
import gzip

import httpx

from digiregion.config import Settings
from digiregion.web.middleware import GZIP_MINIMUM_SIZE, outer_layers, query_layers

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


# -- the fast path of the short way (``middleware.OneLayer``): clients that send no Origin and ask for no gzip --

IDENTITY = {"Accept-Encoding": "identity"}


def _vary(response: httpx.Response) -> set[str]:
    return {v.strip().lower() for v in response.headers.get("vary", "").split(",") if v.strip()}


def test_a_client_without_origin_or_gzip_gets_the_same_vary_as_through_the_full_layers(served):
    small = served.get("/sparql", params={"query": "ASK {}"}, headers=IDENTITY)
    large = served.get("/sparql", params={"query": ALL}, headers=IDENTITY)
    assert small.status_code == large.status_code == 200
    assert "access-control-allow-origin" not in small.headers
    assert _vary(small) == {"accept", "origin"}
    assert _vary(large) == {"accept", "accept-encoding", "origin"} and "content-encoding" not in large.headers
    # the same requests with an Origin take Starlette's layers: the same Vary, plus the CORS headers
    browser_small = served.get("/sparql", params={"query": "ASK {}"}, headers={**IDENTITY, **ORIGIN})
    browser_large = served.get("/sparql", params={"query": ALL}, headers={**IDENTITY, **ORIGIN})
    assert browser_small.headers["access-control-allow-origin"] == "*"
    assert (_vary(browser_small), _vary(browser_large)) == (_vary(small), _vary(large))
    assert browser_large.content == large.content


def test_body_limit_on_the_fast_path_and_for_a_chunked_body(strict_server):
    huge = "ASK {}" + " " * (2 * 1024 * 1024)
    announced = strict_server.post("/sparql", content=huge,
                                   headers={**IDENTITY, "Content-Type": "application/sparql-query"})
    assert announced.status_code == 413 and "zu groß" in announced.text

    def chunks():
        yield b"ASK {}"
        for _ in range(40):
            yield b" " * 65536

    chunked = strict_server.post("/sparql", content=chunks(),
                                 headers={**IDENTITY, "Content-Type": "application/sparql-query"})
    assert chunked.status_code == 413
    small = strict_server.post("/sparql", content="ASK {}",
                               headers={**IDENTITY, "Content-Type": "application/sparql-query"})
    assert small.status_code == 200 and small.json()["boolean"] is True


def _messages(layers, answer: list[dict], headers: list[tuple[bytes, bytes]], method: str = "GET") -> list[dict]:
    """What ``layers`` sends for an app that sends ``answer`` (copies: the layers edit messages in place)."""
    async def app(scope, receive, send):
        for message in copy.deepcopy(answer):
            await send(message)

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    sent: list[dict] = []

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "method": method, "path": "/sparql", "headers": headers, "query_string": b""}
    asyncio.run(layers(app)(scope, receive, send))
    return sent


def test_fast_path_sends_exactly_what_the_full_layers_send():
    settings = Settings()

    def start(status=200, extra=()):
        return {"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/sparql-results+json"), (b"etag", b'W/"x"'),
                            (b"vary", b"Accept"), *extra]}

    def body(data, more=False):
        return {"type": "http.response.body", "body": data, "more_body": more}

    answers = {
        "small": [start(), body(b"{}")],
        "exactly the gzip minimum": [start(), body(b"x" * GZIP_MINIMUM_SIZE)],
        "large": [start(), body(b"x" * 50_000)],
        "streamed": [start(), body(b"x" * 10, more=True), body(b"y" * 10, more=True), body(b"")],
        "no vary yet": [{"type": "http.response.start", "status": 406,
                         "headers": [(b"content-type", b"text/plain; charset=utf-8")]}, body(b"n" * 3000)],
        "two vary headers": [start(extra=[(b"vary", b"Cookie")]), body(b"x" * 3000)],
        "already encoded": [start(extra=[(b"content-encoding", b"br")]), body(b"x" * 3000)],
        "partial": [start(206), body(b"x" * 3000)],
        "excluded type": [{"type": "http.response.start", "status": 200,
                           "headers": [(b"content-type", b"image/png")]}, body(b"x" * 3000)],
        "excluded family": [{"type": "http.response.start", "status": 200,
                             "headers": [(b"content-type", b"application/grpc+proto")]}, body(b"x" * 3000)],
        "head": [start(), body(b"")],
    }
    requests = {
        "GET": ([(b"accept", b"*/*")], "GET"),
        "POST with length": ([(b"content-type", b"application/sparql-query"), (b"content-length", b"6")], "POST"),
        "identity asked for": ([(b"accept-encoding", b"identity")], "GET"),
    }
    for answer_name, answer in answers.items():
        for request_name, (headers, method) in requests.items():
            fast = _messages(lambda app: query_layers(app, settings), answer, headers, method)
            full = _messages(lambda app: outer_layers(app, settings), answer, headers, method)
            assert fast == full, (answer_name, request_name)
