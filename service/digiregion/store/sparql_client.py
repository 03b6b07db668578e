"""One SPARQL 1.1 Protocol request to a remote engine (SPARQLWrapper), with errors in the store's terms.

Blocking by nature (SPARQLWrapper sits on urllib), so callers run it in a thread. It returns the open
HTTP response without reading it: the remote store streams the body through pyoxigraph instead of
letting SPARQLWrapper build the whole result in memory. Every request is a form POST (no URL-length
limit), content negotiation by ``Accept`` only (SPARQLWrapper's extra ``format=`` parameters confuse
some engines), and the query form is set explicitly so SPARQLWrapper's own regex never mistakes a
query for an update.

SPARQLWrapper builds the request (parameters, headers, query type) and names the errors; only the
last step, ``urlopen``, goes through an opener of our own (``keepalive``): one per endpoint, kept
for the process, reusing TCP connections, with the credentials in its auth handlers. Stock
SPARQLWrapper would open a new connection per request and, with Digest auth, build and install a
process-wide urllib opener on every request (which the federation's requests would then share).
"""

from __future__ import annotations

import ast
import functools
import io
import socket
import string
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from http.client import HTTPResponse
from typing import Any

from SPARQLWrapper import BASIC, POST, URLENCODED, SPARQLWrapper
from SPARQLWrapper.SPARQLExceptions import (
    EndPointInternalError,
    EndPointNotFound,
    QueryBadFormed,
    SPARQLWrapperException,
    Unauthorized,
    URITooLong,
)

from .. import __version__
from .base import QuerySyntaxError, QueryTimeout, StoreError
from .credentials import Credentials
from .deviations import EngineDeviation
from .engines import EngineProfile
from .keepalive import ChallengeAuthHandler, KeepAliveHTTPHandler, KeepAliveHTTPSHandler

RESULTS_ACCEPT = "application/sparql-results+json"
GRAPH_ACCEPT = "application/n-triples, text/turtle;q=0.9"
MAX_ENGINE_MESSAGE = 600
UNSUPPORTED_HINTS = ("transitive start not given", "neither end of it is bound")
"""Virtuoso's errors for transitive paths it cannot plan: the client gets a 422 explanation, not a 502."""
STATUS_ERRORS: dict[int, type[SPARQLWrapperException]] = {
    400: QueryBadFormed, 404: EndPointNotFound, 401: Unauthorized, 414: URITooLong, 500: EndPointInternalError}
"""SPARQLWrapper 2.0's names for an engine's error statuses (its ``_query``)."""


class EngineUnavailable(StoreError):
    """The remote engine could not be reached or failed; the client gets 502 (bad gateway)."""

    status = 502
    code = "engine-unavailable"


@dataclass(frozen=True)
class Endpoint:
    """Where and how to reach the engine for queries."""

    url: str
    credentials: Credentials
    auth: str = "auto"
    profile: EngineProfile | None = None

    def open(self, text: str, form: str, *, default_graphs: Sequence[str] = (), named_graphs: Sequence[str] = (),
             timeout: float, engine_timeout: bool = True) -> HTTPResponse:
        """Send one query; return the unread response (headers already checked by the profile)."""
        wrapper = self._wrapper(text, form, default_graphs, named_graphs, timeout, engine_timeout)
        try:
            response = wrapper.query().response
        except (SPARQLWrapperException, OSError) as exc:
            raise self.store_error(exc, timeout) from None
        if self.profile is not None:
            try:
                self.profile.check_headers(response.headers, timeout)
            except StoreError:
                response.close()
                raise
        return response

    def request(self, text: str, form: str, *, default_graphs: Sequence[str] = (), named_graphs: Sequence[str] = (),
                timeout: float, engine_timeout: bool = True) -> urllib.request.Request:
        """The request ``open`` would send, built by SPARQLWrapper, for a transport of the caller's own
        (``loop_transport``: the same request on the event loop, without a thread)."""
        return self._wrapper(text, form, default_graphs, named_graphs, timeout, engine_timeout)._createRequest()

    def _wrapper(self, text: str, form: str, default_graphs: Sequence[str], named_graphs: Sequence[str],
                 timeout: float, engine_timeout: bool) -> _PooledWrapper:
        wrapper = _PooledWrapper(self.url, opener(self.url, self.credentials, self.auth), form)
        wrapper.setMethod(POST)
        wrapper.setRequestMethod(URLENCODED)
        wrapper.setOnlyConneg(True)
        wrapper.setQuery(text)
        wrapper.addCustomHttpHeader("Accept", RESULTS_ACCEPT if form in ("SELECT", "ASK") else GRAPH_ACCEPT)
        for graph in default_graphs:
            wrapper.addDefaultGraph(graph)
        for graph in named_graphs:
            wrapper.addNamedGraph(graph)
        if engine_timeout and self.profile and self.profile.timeout_parameter:
            name, value = self.profile.timeout_parameter(timeout)
            wrapper.addParameter(name, value)
        wrapper.setTimeout(max(1, int(timeout + 1)))  # the engine's own limit should fire first
        if self.credentials and self.auth == "basic":  # sent up front; digest/auto: the opener answers a 401
            wrapper.setHTTPAuth(BASIC)
            wrapper.setCredentials(self.credentials.user, self.credentials.password)
        return wrapper

    def status_error(self, status: int, reason: str, body: bytes, timeout: float) -> StoreError:
        """What an engine's non-2xx answer means, named as SPARQLWrapper names it (``_PooledWrapper._query``)."""
        if status in STATUS_ERRORS:
            return self.store_error(STATUS_ERRORS[status](body), timeout)
        return self.store_error(urllib.error.HTTPError(self.url, status, reason, None, io.BytesIO(body)), timeout)

    def store_error(self, exc: SPARQLWrapperException | OSError, timeout: float) -> StoreError:
        """The store's error for a failed exchange (the client's status code and a German/English message)."""
        if isinstance(exc, QueryBadFormed):
            return QuerySyntaxError(
                f"Syntaxfehler in der Abfrage (laut Datenbank) / query syntax error (engine): {engine_message(exc)}")
        if isinstance(exc, URITooLong):
            return QuerySyntaxError(f"Abfrage zu lang für die Datenbank / query too long for the engine: "
                                    f"{engine_message(exc)}")
        if isinstance(exc, Unauthorized):
            return EngineUnavailable(
                "Die Datenbank verweigert den Zugang (Zugangsdaten prüfen). / The engine refused access "
                "(check the credentials).")
        if isinstance(exc, EndPointNotFound):
            return EngineUnavailable(f"SPARQL-Endpunkt nicht gefunden / SPARQL endpoint not found: {self.url}")
        if isinstance(exc, EndPointInternalError):
            message = engine_message(exc)
            if any(hint in message for hint in UNSUPPORTED_HINTS):
                return EngineDeviation(
                    "Die angeschlossene Datenbank kann diese Abfrage nicht auswerten (transitiver Pfad ohne "
                    "gebundenen Anfang oder Ende); bitte einen Endpunkt des Pfads festlegen oder den eingebetteten "
                    "Store verwenden. / The connected engine cannot evaluate this query (transitive path with "
                    f"neither end bound); please bind one end of the path or use the embedded store. ({message})")
            return EngineUnavailable(f"Fehler der Datenbank / engine error: {message}")
        if isinstance(exc, SPARQLWrapperException):
            return EngineUnavailable(f"Fehler der Datenbank / engine error: {engine_message(exc)}")
        if isinstance(exc, urllib.error.HTTPError):
            return EngineUnavailable(f"Datenbank antwortet mit HTTP {exc.code} / engine answered HTTP {exc.code}: "
                                     f"{_short(exc.read())}")
        if isinstance(exc, TimeoutError) or (isinstance(exc, urllib.error.URLError)
                                             and isinstance(exc.reason, (TimeoutError, socket.timeout))):
            return QueryTimeout(_timeout_message(timeout))
        if isinstance(exc, urllib.error.URLError):
            return EngineUnavailable(f"Datenbank nicht erreichbar / engine unreachable: {self.url} ({exc.reason})")
        return EngineUnavailable(f"Datenbank nicht erreichbar / engine unreachable: {self.url} ({exc})")


class _PooledWrapper(SPARQLWrapper):
    """SPARQLWrapper whose request goes through our opener instead of urllib's process-wide one.

    ``_query`` is SPARQLWrapper 2.0's own, with ``urlopen`` replaced by ``opener.open`` (the error
    mapping is the same; the body of an error is read once and kept for the caller). The query form
    is the guard's, never SPARQLWrapper's regex guess: the regex could mistake a query for an update
    request, and running it (twice per request, with the default query) cost ~0.1 ms.
    """

    def __init__(self, url: str, opener: urllib.request.OpenerDirector, form: str) -> None:
        self._form = form
        super().__init__(url, agent=f"digiregion/{__version__}")
        self._opener = opener

    def _parseQueryType(self, query: str) -> str:
        return self._form

    def _getRequestEncodedParameters(self, query: tuple[str, str] | None = None) -> str:
        """SPARQLWrapper's form body, character for character, with a faster percent-encoder.

        Only the branch digiregion uses (content negotiation only, a query) is SPARQLWrapper's loop
        again with ``form_quote`` instead of ``quote_plus``; anything else is SPARQLWrapper's own.
        """
        if not self.onlyConneg or self.isSparqlUpdateRequest():
            return super()._getRequestEncodedParameters(query)
        parameters = dict(self.parameters)
        if query and isinstance(query, tuple) and len(query) == 2:
            parameters[query[0]] = [query[1]]
        return "&".join(f"{form_quote(name)}={form_quote(value)}"
                        for name, values in parameters.items() for value in values)

    def _query(self) -> tuple[Any, str]:
        request = self._createRequest()
        try:
            if self.timeout:
                return self._opener.open(request, timeout=self.timeout), self.returnFormat
            return self._opener.open(request), self.returnFormat
        except urllib.error.HTTPError as exc:
            body = exc.read()
            exc.close()
            if exc.code in STATUS_ERRORS:
                raise STATUS_ERRORS[exc.code](body) from None
            raise urllib.error.HTTPError(exc.url, exc.code, exc.msg, exc.hdrs, io.BytesIO(body)) from None


_FORM_CHARACTERS = [
    chr(byte) if chr(byte) in string.ascii_letters + string.digits + "_.-~/" else "+" if byte == 0x20 else f"%{byte:02X}"
    for byte in range(256)]
"""Each byte as ``quote_plus(…, safe="/")`` writes it, indexed by the byte (a table for ``str.translate``)."""


def form_quote(value: str) -> str:
    """``urllib.parse.quote_plus(value.encode("utf-8"), safe="/")``, the same characters, in C loops.

    Why: Python 3.11's ``quote_plus`` encodes byte by byte in a Python list comprehension, ~50 µs for a
    point lookup's text; here its UTF-8 bytes, read as Latin-1 characters 0–255, are mapped through the
    table by ``str.translate`` (~30 µs; one-off timing on this machine).
    """
    return value.encode("utf-8").decode("latin-1").translate(_FORM_CHARACTERS)


@functools.lru_cache(maxsize=32)
def opener(url: str, credentials: Credentials, auth: str) -> urllib.request.OpenerDirector:
    """The opener for one endpoint: kept-alive connections, and the credentials where a 401 asks for them.

    Cached per (url, credentials, auth), so the federation's per-call ``Endpoint`` objects and the
    store's share openers and connections. ``basic`` sends the credentials up front (SPARQLWrapper);
    ``digest`` and ``auto`` send nothing until the engine challenges.
    """
    handlers: list[Any] = [KeepAliveHTTPHandler(), KeepAliveHTTPSHandler()]
    if credentials and auth != "basic":
        passwords = urllib.request.HTTPPasswordMgrWithDefaultRealm()
        passwords.add_password(None, url, credentials.user, credentials.password)
        handlers.append(urllib.request.HTTPDigestAuthHandler(passwords) if auth == "digest"
                        else ChallengeAuthHandler(passwords))
    return urllib.request.build_opener(*handlers)


def _timeout_message(timeout: float) -> str:
    return (f"Abfrage nach {timeout:g} s abgebrochen (Zeitlimit). Bitte die Abfrage einschränken (LIMIT, "
            f"spezifischere Muster). / Query cancelled after {timeout:g} s (time limit). Please narrow the query "
            "(LIMIT, more specific patterns).")


def engine_message(exc: SPARQLWrapperException) -> str:
    """The engine's own error text from a SPARQLWrapper exception, without the echoed query."""
    text = str(exc)
    if "Response:\n" in text:
        raw = text.split("Response:\n", 1)[1]
        try:
            value = ast.literal_eval(raw)
            text = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
        except (ValueError, SyntaxError):
            text = raw
    return _short(text)


def _short(text: str | bytes) -> str:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    text = text.split("SPARQL query:", 1)[0].strip()  # Virtuoso echoes the whole query after this
    return text[:MAX_ENGINE_MESSAGE]
