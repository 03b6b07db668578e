"""The ASGI entry point: SPARQL queries take the short way to their handler, everything else goes to FastAPI.

Why a short way: a point lookup costs the web process about a millisecond of CPU, and a fifth of it went
to layers a query does not use — FastAPI's telemetry check and its own body-limit layer, Starlette's
error and exception middleware, the router matching the path against every route, FastAPI's exit
stack, and the send wrappers each of them adds (py-spy over 5,000 sequential point lookups; with the
short way the web process needs ~0.3 ms less CPU per query). Queries are the service's hot path; pages,
metadata and dumps are not, and keep the full application.

The short way is built from the same pieces with the same settings, so a query is answered exactly as
before: CORS, the request-body limit and gzip (``middleware.query_layers``), the same handlers
(``sparql.sparql_get`` / ``sparql_post``) and the same error answers (``StoreError`` with its status,
``NotAcceptable`` as 406). An unexpected exception propagates to the server, which answers 500 (what
Starlette's error middleware did, minus its debug page).

What counts as a query (``is_query``): any POST to ``/sparql`` (the handler refuses updates and wrong
content types itself) and a GET/HEAD with a ``query`` parameter. ``GET /sparql`` without one — the
query page and the Service Description — needs the dataset's metadata and goes the long way, through
``middleware.MetadataGate``.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from fastapi import FastAPI
from fastapi.responses import PlainTextResponse
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from ..config import Settings
from ..store.base import StoreError
from . import sparql
from .middleware import query_layers
from .negotiation import NotAcceptable
from .service import Service

SPARQL_PATHS = frozenset({"/sparql", "/sparql/"})


def is_query(scope: Scope) -> bool:
    """A SPARQL query on the protocol endpoint: answered without the dataset's metadata."""
    if scope["type"] != "http" or scope["path"] not in SPARQL_PATHS:
        return False
    method = scope["method"]
    if method == "POST":
        return True
    if method not in ("GET", "HEAD"):
        return False
    raw = scope.get("query_string", b"")
    if b"query" not in raw:  # a substring test first: most page requests carry no parameters at all
        return False
    return any(name == "query" for name, _ in parse_qsl(raw.decode("latin-1"), keep_blank_values=True))


class QueryFirst:
    """Route SPARQL queries through ``query_layers`` straight to their handler; the rest to ``app``."""

    def __init__(self, app: FastAPI, settings: Settings, service: Service) -> None:
        self.app = app
        self.service = service
        self._queries = query_layers(self._answer, settings)

    @property
    def state(self):  # type: ignore[no-untyped-def]
        """The FastAPI application's state (``service``), for code that holds the entry point."""
        return self.app.state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if is_query(scope):
            scope["app"] = self.app  # what the handlers read ``request.app.state.service`` from
            await self._queries(scope, receive, send)
        else:
            await self.app(scope, receive, send)

    async def _answer(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive, send)
        try:
            if scope["method"] == "POST":
                response = await sparql.sparql_post(request)
            else:
                response = await sparql.sparql_get(request)
        except StoreError as exc:
            response = self.service.error_response(request, exc.status, exc.message)
        except NotAcceptable as exc:
            response = not_acceptable(exc)
        await response(scope, receive, send)


def not_acceptable(exc: NotAcceptable) -> Response:
    """406 with the offers the client could have asked for (shared with the application's handler)."""
    return PlainTextResponse(exc.message(), status_code=406, headers={"Vary": "Accept"})
