"""The layers every answer passes through, and the one that holds pages until the metadata is there.

``outer_layers`` wraps an ASGI app in CORS (GET/POST/OPTIONS/HEAD, preflight allows Content-Type),
the request-body limit (413 before the body is read into memory) and gzip for larger responses, in
that order from the outside. It is used twice with the same settings: around the FastAPI application
(``app.create_app``) and around the short way for SPARQL queries (``entry.QueryFirst``), so both answer
with the same headers and limits.

``query_layers`` is the same for the query short way (``entry.QueryFirst``), with a fast path for the
common API client (``OneLayer``).

``MetadataGate`` sits inside, in the FastAPI application only: when a large store still computes its
statistics in the background, pages that render metadata wait for it (bounded); queries never pass it.
"""

from __future__ import annotations

from starlette.middleware.cors import CORSMiddleware
from starlette.middleware.gzip import DEFAULT_EXCLUDED_CONTENT_TYPES, GZipMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..config import Settings
from .service import Service

CORS_OPTIONS = {
    "allow_origins": ["*"],
    "allow_methods": ["GET", "POST", "OPTIONS", "HEAD"],
    "allow_headers": ["Content-Type", "Accept", "If-None-Match", "If-Modified-Since"],
    "expose_headers": ["ETag", "Last-Modified", "Content-Location", "Link", "Vary"],
    "max_age": 86400,
}
GZIP_MINIMUM_SIZE = 2048


def outer_layers(app: ASGIApp, settings: Settings) -> ASGIApp:
    """CORS → body limit → gzip → ``app``."""
    return CORSMiddleware(BodyLimit(GZipMiddleware(app, minimum_size=GZIP_MINIMUM_SIZE),
                                    max_bytes=settings.max_body_bytes), **CORS_OPTIONS)


def query_layers(app: ASGIApp, settings: Settings) -> ASGIApp:
    """``outer_layers`` around ``app``, answering the requests where they only edit headers in one step."""
    return OneLayer(app, outer_layers(app, settings), settings.max_body_bytes)


class OneLayer:
    """What ``outer_layers`` does, in one pass, for a request that sends no ``Origin`` and does not ask for gzip.

    Why: for such a request — SPARQLWrapper, rdflib's SPARQLStore, scripts: urllib asks for no gzip — the three
    layers only add ``Vary: Origin`` (CORS; no ``Access-Control-*`` without an Origin), ``Vary:
    Accept-Encoding`` on answers the gzip layer would compress for another client (at least
    ``GZIP_MINIMUM_SIZE`` bytes or streamed), and refuse a body announced above the limit; yet they cost a
    point lookup ~0.1 ms of the web process's ~1.3 ms (three wrappers, header objects parsed three times;
    A/B at 10^5 triples, benchmarks/README.md). Every other request — a browser's ``Origin``, gzip asked
    for, a POST body without ``Content-Length`` (chunked: it must be counted as it arrives) — goes through
    ``full`` unchanged, so Starlette's CORS and gzip stay the only implementations of those.

    A body within its announced ``Content-Length`` needs no counting: the HTTP parser delivers no more.
    """

    def __init__(self, app: ASGIApp, full: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.full = full
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        length = None
        for name, value in scope["headers"]:
            if name == b"origin" or name == b"transfer-encoding" or (name == b"accept-encoding" and b"gzip" in value):
                await self.full(scope, receive, send)
                return
            if name == b"content-length":
                length = value
        if (length is None and scope["method"] == "POST") or (length is not None and not length.isdigit()):
            await self.full(scope, receive, send)
            return
        if length is not None and int(length) > self.max_bytes:
            await _too_large(send, self.max_bytes)
            return
        held: list[Message] = []

        async def edit_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                held.append(message)  # until the first body part tells whether gzip would have applied
                return
            if held:
                start = held.pop()
                vary = [b"Origin"]
                if message["type"] == "http.response.body" and _compressible(start) and (
                        message.get("more_body", False) or len(message.get("body", b"")) >= GZIP_MINIMUM_SIZE):
                    vary.insert(0, b"Accept-Encoding")
                _add_vary(start.setdefault("headers", []), vary)
                await send(start)
            await send(message)

        await self.app(scope, receive, edit_headers)


_EXCLUDED = frozenset(DEFAULT_EXCLUDED_CONTENT_TYPES)


def _compressible(start: Message) -> bool:
    """Whether Starlette's gzip layer would compress this answer for a client that asked (its own rules)."""
    if start["status"] == 206:
        return False
    media_type = b""
    for name, value in start.get("headers", ()):
        if name == b"content-encoding":
            return False
        if name == b"content-type":
            media_type = value.partition(b";")[0].strip().lower()
    text = media_type.decode("latin-1")
    kinds = {text, text.partition("/")[0] + "/*"}
    if text.startswith("application/grpc+"):
        kinds.add("application/grpc")
    return kinds.isdisjoint(_EXCLUDED)


def _add_vary(headers: list[tuple[bytes, bytes]], additions: list[bytes]) -> None:
    """Append to ``Vary`` as Starlette's ``MutableHeaders`` does: one header, in the place of the first."""
    found = [i for i, (name, _) in enumerate(headers) if name == b"vary"]
    value = b", ".join([*(headers[i][1] for i in found), *additions])
    for i in reversed(found[1:]):
        del headers[i]
    if found:
        headers[found[0]] = (b"vary", value)
    else:
        headers.append((b"vary", value))


class BodyLimit:
    """Refuse request bodies above ``max_bytes`` with 413, whether announced or streamed (chunked)."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = next((value for name, value in scope.get("headers") or () if name == b"content-length"), None)
        if length is not None and length.isdigit() and int(length) > self.max_bytes:
            await _too_large(send, self.max_bytes)
            return
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise _BodyTooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _BodyTooLarge:
            if not started:
                await _too_large(send, self.max_bytes)


class _BodyTooLarge(Exception):
    pass


async def _too_large(send: Send, limit: int) -> None:
    body = (f"Anfrage zu groß (höchstens {limit} Bytes). / Request body too large (at most {limit} bytes).\n"
            ).encode()
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                            (b"content-length", str(len(body)).encode()), (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})


class MetadataGate:
    """Hold requests that render metadata (title, licence, VoID, DCAT) until it is loaded.

    Only in effect during the first seconds of a large store's first start (see ``app``'s module
    docstring); afterwards one ``is_set`` per request. Bounded like the statistics wait: 503 with
    Retry-After. SPARQL queries do not get here (``entry.QueryFirst``); static files pass.
    """

    def __init__(self, app: ASGIApp, service: Service) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (scope["type"] != "http" or self.service.metadata_loaded.is_set()
                or scope["path"].startswith("/static/") or await self.service.wait_for_metadata()):
            await self.app(scope, receive, send)
            return
        await self.service.statistics_pending_response()(scope, receive, send)
