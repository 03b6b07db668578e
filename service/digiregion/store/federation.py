"""Allow-listed federation: SERVICE clauses are answered by the web process, never by a query engine.

Design (why not let pyoxigraph or the remote engine execute SERVICE): the embedded store's query
workers have no network at all (network namespaces) — that is the strongest SSRF protection there
is, and opening it for federation would make every worker able to reach every host, guarded only
by the lexer. pyoxigraph has no hook to intercept SERVICE from Python, and a remote engine such as
Virtuoso would fetch from *its* network position. So:

1. ``sparql_guard`` runs first, as for every query: SERVICE to an endpoint that is not in
   ``allowed_service_endpoints`` (or to a variable) is refused with 403.
2. ``FederatingStore`` cuts each ``SERVICE <allowed> { pattern }`` out of the query, sends
   ``SELECT * WHERE { pattern }`` (with the query's PREFIX/BASE) to that endpoint with SPARQLWrapper,
   under the query's own deadline and row cap, and puts the answer back in the same place as
   ``VALUES`` — which is exactly SPARQL's semantics for SERVICE (the pattern is evaluated on its own
   and joined with the rest of the group). ``SERVICE SILENT`` that fails becomes one empty solution.
3. The rewritten query, which no longer contains SERVICE, goes to the backend (embedded workers stay
   isolated; a remote engine is never asked to fetch anything).

Limits, documented: blank nodes from a remote endpoint are turned into IRIs
``urn:digiregion:federation:bnode:…`` (VALUES cannot carry blank nodes); a SERVICE nested inside
another SERVICE is refused; the remote part is fetched whole (no bind-join), bounded by
``max_result_rows``. Federated answers are cached by the backend like any other only for the exact
rewritten text, i.e. for the same remote answer.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from dataclasses import dataclass, replace
from typing import Any

import pyoxigraph as ox

from ..config import Settings
from ..dataset import DatasetInfo
from .base import Description, QueryRefused, QueryRequest, QueryResult, ResultTooLarge, Store, StoreError
from .credentials import Credentials
from .query_tokens import prologue, resolve
from .sparql_client import Endpoint, EngineUnavailable
from .sparql_guard import Token, check_request, scan
from .streaming import EngineReader

FEDERATION_BYTES = 8 * 1024 * 1024
"""Extra query length the backend accepts for inlined VALUES (the client's query is limited as usual)."""


def local_settings(settings: Settings) -> Settings:
    """Settings for the backend behind a ``FederatingStore``: it never sees SERVICE, so it allows none
    (the embedded workers then stay network-isolated) and accepts the longer rewritten query."""
    return replace(settings, allowed_service_endpoints=(),
                   max_query_length=settings.max_query_length + FEDERATION_BYTES)


@dataclass(frozen=True)
class ServiceCall:
    """One SERVICE clause: where it is in the text, what it asks, whom."""

    start: int
    end: int
    endpoint: str
    silent: bool
    query: str


class FederatingStore(Store):
    """Wraps any backend; answers allow-listed SERVICE clauses itself, passes everything else on."""

    def __init__(self, inner: Store, settings: Settings) -> None:
        self.inner = inner
        self.settings = settings

    def __getattr__(self, name: str) -> Any:  # ``built``, ``refresh_interval``, … of the backend
        return getattr(self.inner, name)

    @property
    def info(self) -> DatasetInfo:
        return self.inner.info

    @property
    def data_version(self) -> str:
        return self.inner.data_version

    async def start(self) -> None:
        await self.inner.start()

    async def close(self) -> None:
        await self.inner.close()

    async def refresh(self) -> bool:
        refresh = getattr(self.inner, "refresh", None)
        return bool(await refresh()) if refresh else False

    async def describe(self, iri: str, *, incoming: bool = False) -> Description:
        return await self.inner.describe(iri, incoming=incoming)

    async def query(self, request: QueryRequest) -> QueryResult:
        settings = self.settings
        found = check_request(request, self.settings, self.info.graphs)
        if not found.services:
            return await self.inner.query(request)
        timeout = request.timeout or settings.query_timeout
        deadline = time.monotonic() + timeout
        calls = service_calls(request.text, settings.base_iri, settings.allowed_service_endpoints)
        answers = await asyncio.gather(*(self._answer(call, deadline) for call in calls))
        text = request.text
        for call, replacement in sorted(zip(calls, answers, strict=True), key=lambda pair: -pair[0].start):
            text = text[:call.start] + replacement + text[call.end:]
        remaining = max(0.5, deadline - time.monotonic())
        return await self.inner.query(replace(request, text=text, timeout=remaining))

    async def _answer(self, call: ServiceCall, deadline: float) -> str:
        remaining = deadline - time.monotonic()
        try:
            if remaining <= 0:
                raise StoreError("Zeitlimit vor SERVICE erreicht / time limit reached before SERVICE")
            rows = await asyncio.wait_for(asyncio.to_thread(self._fetch, call, remaining), remaining + 1)
        except ResultTooLarge:
            raise
        except (StoreError, TimeoutError) as exc:
            if call.silent:
                return "{ }"
            message = exc.message if isinstance(exc, StoreError) else "Zeitlimit / time limit"
            raise EngineUnavailable(f"SERVICE <{call.endpoint}> fehlgeschlagen / failed: {message}") from None
        return values_block(rows, call.endpoint)

    def _fetch(self, call: ServiceCall, timeout: float) -> tuple[list[str], list[dict[str, Any]]]:
        endpoint = Endpoint(call.endpoint, Credentials())
        response = endpoint.open(call.query, "SELECT", timeout=timeout, engine_timeout=False)
        try:
            results = ox.parse_query_results(EngineReader(response, rewrite_bnodes=True),
                                             format=ox.QueryResultsFormat.JSON)
            names = [v.value for v in results.variables]
            rows = []
            for row in results:
                if len(rows) >= self.settings.max_result_rows:
                    raise ResultTooLarge(
                        f"SERVICE <{call.endpoint}> liefert mehr als {self.settings.max_result_rows} Zeilen; bitte "
                        f"das Muster einschränken. / SERVICE <{call.endpoint}> returns more than "
                        f"{self.settings.max_result_rows} rows; please narrow the pattern.")
                rows.append({name: row[name] for name in names if row[name] is not None})
            return names, rows
        finally:
            response.close()


def service_calls(text: str, base_iri: str | None, allowed: tuple[str, ...] | list[str]) -> list[ServiceCall]:
    """Every SERVICE clause of ``text`` with its sub-query (prologue + ``SELECT * WHERE { … }``)."""
    tokens = scan(text)
    prefixes, head = prologue(tokens, text, base_iri)
    calls = []
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if token.kind != "word" or token.value.upper() != "SERVICE":
            i += 1
            continue
        j = i + 1
        silent = j < len(tokens) and tokens[j].kind == "word" and tokens[j].value.upper() == "SILENT"
        j += silent
        endpoint = resolve(tokens[j], prefixes, base_iri) if j < len(tokens) else None
        if endpoint is None or endpoint not in allowed:
            raise QueryRefused(f"SERVICE <{endpoint or '?'}> ist nicht freigegeben / is not allow-listed")
        if j + 1 >= len(tokens) or tokens[j + 1].value != "{":
            raise QueryRefused("SERVICE ohne Muster / SERVICE without a pattern")
        close = _matching_brace(tokens, j + 1)
        if any(t.kind == "word" and t.value.upper() == "SERVICE" for t in tokens[j + 2:close]):
            raise QueryRefused("Verschachteltes SERVICE wird nicht unterstützt / nested SERVICE is not supported")
        pattern = text[tokens[j + 1].start:tokens[close].end]
        calls.append(ServiceCall(token.start, tokens[close].end, endpoint, silent,
                                 f"{head}\nSELECT * WHERE {pattern}"))
        i = close + 1
    return calls


def _matching_brace(tokens: list[Token], opening: int) -> int:
    depth = 0
    for k in range(opening, len(tokens)):
        if tokens[k].kind == "other" and tokens[k].value == "{":
            depth += 1
        elif tokens[k].kind == "other" and tokens[k].value == "}":
            depth -= 1
            if depth == 0:
                return k
    raise QueryRefused("SERVICE-Muster nicht geschlossen / SERVICE pattern not closed")


def values_block(answer: tuple[list[str], list[dict[str, Any]]], endpoint: str) -> str:
    """The remote solutions as a group that yields exactly them: ``{ VALUES (?a ?b) { … } }``."""
    names, rows = answer
    if not rows:
        return "{ FILTER(false) }"
    if not names:
        return "{ }"
    salt = hashlib.sha256(endpoint.encode()).hexdigest()[:8]
    lines = []
    for row in rows:
        cells = [_term(row[name], salt) if name in row else "UNDEF" for name in names]
        lines.append("(" + " ".join(cells) + ")")
    return "{ VALUES (" + " ".join("?" + n for n in names) + ") {\n" + "\n".join(lines) + "\n} }"


def _term(term: Any, salt: str) -> str:
    if isinstance(term, ox.BlankNode):
        return f"<urn:digiregion:federation:bnode:{salt}:{term.value}>"
    if isinstance(term, (ox.NamedNode, ox.Literal)):
        return str(term)
    raise QueryRefused("SERVICE-Ergebnis mit RDF-star-Termen wird nicht unterstützt / RDF-star terms from "
                       "SERVICE are not supported")
