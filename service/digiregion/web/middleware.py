"""The layers every answer passes through, and the one that holds pages until the metadata is there.

``outer_layers`` wraps an ASGI app in CORS (GET/POST/OPTIONS/HEAD, preflight allows Content-Type),
the request-body limit (413 before the body is read into memory) and gzip for larger responses, in
that order from the outside. It is used twice with the same settings: around the FastAPI application
(``app.create_app``) and around the short way for SPARQL queries (``entry.QueryFirst``), so both answer
with the same headers and limits.

``MetadataGate`` sits inside, in the FastAPI application only: when a large store still computes its
statistics in the background, pages that render metadata wait for it (bounded); queries never pass it.
"""

from __future__ import annotations

from starlette.middleware.cors import CORSMiddleware
from starlette.middleware.gzip import GZipMiddleware
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
