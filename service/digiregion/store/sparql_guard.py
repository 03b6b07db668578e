"""Decide, before any engine sees it, whether a query may run on this read-only public endpoint.

pyoxigraph executes SERVICE (an SSRF hole) and has no switch to turn it off; rdflib even fetches
FROM and LOAD targets. So every query passes this check first. It is a lexer, not a parser: it
tokenises SPARQL exactly enough to tell keywords from IRIs, strings, comments, variables and
prefixed names, and then looks at the keyword sequence. That is fast (microseconds, so it runs in
the web process without blocking it), independent of the engine, and conservative: where it is
unsure it refuses rather than lets a query through.

SPARQL allows ``\\uXXXX`` escapes anywhere in a query. Engines differ in whether they decode them
outside strings, so the text is checked twice — as written and with escapes decoded — and a finding
in either reading counts.

Findings: the query form, update operations (refused), SERVICE targets (refused unless allow-listed,
a variable target always), FROM / FROM NAMED graphs (must be graphs of the dataset).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, NamedTuple
from urllib.parse import urljoin

from .base import QueryRefused, QuerySyntaxError, UnknownGraph

if TYPE_CHECKING:
    from ..config import Settings
    from .base import QueryRequest

QUERY_FORMS = ("SELECT", "CONSTRUCT", "DESCRIBE", "ASK")
UPDATE_KEYWORDS = frozenset(
    {"INSERT", "DELETE", "LOAD", "CLEAR", "DROP", "CREATE", "ADD", "MOVE", "COPY", "WITH", "USING"})

_TOKEN = re.compile(
    r"""
    (?:\s|\#[^\n\r]*)*+   # whitespace and comments before the token, possessive: never re-read
    (?:
      (?P<string>\"\"\"(?:[^"\\]|\\.|"(?!""))*\"\"\"|'''(?:[^'\\]|\\.|'(?!''))*'''
               |"(?:[^"\\\n\r]|\\.)*"|'(?:[^'\\\n\r]|\\.)*')
    | (?P<iri><[^<>"{}|^`\\\x00-\x20]*>)
    | (?P<var>[?$][A-Za-z0-9_\u00B7-\uFFFF]+)
    | (?P<langtag>@[A-Za-z]+(?:-[A-Za-z0-9]+)*)
    | (?P<bnode>_:[A-Za-z0-9_\-.\u00B7-\uFFFF]*)
    | (?P<pname>(?:[A-Za-z\u00C0-\uFFFF][A-Za-z0-9_\-.\u00B7-\uFFFF]*)?:(?:[A-Za-z0-9_\-:%.\u00B7-\uFFFF]|\\.)*)
    | (?P<word>[A-Za-z_][A-Za-z0-9_]*)
    | (?P<number>[0-9]*\.[0-9]+(?:[eE][+-]?[0-9]+)?|[0-9]+\.[0-9]*[eE][+-]?[0-9]+|[0-9]+(?:[eE][+-]?[0-9]+)?)
    | (?P<other>.)
    | (?P<end>\Z)   # trailing whitespace/comments: consumed once here, not re-scanned from every position
    )
    """,
    re.VERBOSE | re.DOTALL,
)
"""One match per token; the whitespace and comments in front of it are consumed by the same match
(half as many matches as tokenising them separately: the lexer's cost is per match)."""
_ESCAPE = re.compile(r"\\u([0-9A-Fa-f]{4})|\\U([0-9A-Fa-f]{8})")


@dataclass
class QueryInfo:
    """What the guard found out about a query."""

    form: str | None = None
    updates: set[str] = field(default_factory=set)
    services: list[str | None] = field(default_factory=list)
    """SERVICE targets as IRIs; None for a variable or an unresolvable name."""
    from_graphs: list[str] = field(default_factory=list)
    from_named_graphs: list[str] = field(default_factory=list)


class Token(NamedTuple):
    """One lexical token with its position, for tools that rewrite a query (``federation``, ``deviations``)."""

    kind: str
    value: str
    start: int
    end: int


_EOF = Token("eof", "", -1, -1)


def scan(text: str) -> list[Token]:
    """The query's tokens (without whitespace and comments) with their character spans.

    One request scans the same text up to four times (guard, deviations, graph rewrite, federation);
    the lexer is the costly part (~0.1 ms for a short query), so the last texts' tokens are remembered
    and each caller gets its own list.
    """
    return list(_scan_cached(text))


@functools.lru_cache(maxsize=64)
def _scan_cached(text: str) -> tuple[Token, ...]:
    tokens = []
    for match in _TOKEN.finditer(text):
        kind = match.lastgroup or "other"
        if kind == "end":
            break
        start, end = match.span(kind)
        tokens.append(Token(kind, text[start:end], start, end))
    return tuple(tokens)


def _decode_escapes(text: str) -> str:
    def repl(m: re.Match[str]) -> str:
        code = int(m.group(1) or m.group(2), 16)
        return chr(code) if code <= 0x10FFFF else m.group()

    return _ESCAPE.sub(repl, text)


def analyse(text: str, base_iri: str | None = None) -> QueryInfo:
    """Collect form, update keywords, SERVICE and FROM targets from both readings of ``text``.

    The last few answers are remembered (the web layer and the store both check the same text in one
    request); callers must not change the returned object.
    """
    return _analyse_cached(text, base_iri)


@functools.lru_cache(maxsize=64)
def _analyse_cached(text: str, base_iri: str | None) -> QueryInfo:
    info = QueryInfo()
    readings = [text]
    if "\\u" in text or "\\U" in text:
        readings.append(_decode_escapes(text))
    for reading in readings:
        _analyse_reading(reading, base_iri, info)
    return info


def _analyse_reading(text: str, base_iri: str | None, info: QueryInfo) -> None:
    tokens = _scan_cached(text)
    prefixes: dict[str, str] = {}
    base = base_iri
    i = 0

    def resolve(token: Token) -> str | None:
        kind, value = token.kind, token.value
        if kind == "iri":
            iri = value[1:-1]
            return urljoin(base, iri) if base and ":" not in iri.split("/", 1)[0] else iri
        if kind == "pname":
            prefix, _, local = value.partition(":")
            if prefix in prefixes:
                return prefixes[prefix] + re.sub(r"\\(.)", r"\1", local)
        return None

    while i < len(tokens):
        kind, value = tokens[i].kind, tokens[i].value
        upper = value.upper() if kind == "word" else ""
        nxt = tokens[i + 1] if i + 1 < len(tokens) else _EOF
        if upper == "PREFIX" and nxt[0] == "pname" and i + 2 < len(tokens) and tokens[i + 2][0] == "iri":
            prefixes[nxt[1].rstrip(":").split(":")[0]] = resolve(tokens[i + 2]) or ""
            i += 3
            continue
        if upper == "BASE" and nxt[0] == "iri":
            base = resolve(nxt)
            i += 2
            continue
        if upper in QUERY_FORMS and info.form is None:
            info.form = upper
        elif upper in UPDATE_KEYWORDS:
            info.updates.add(upper)
        elif upper == "SERVICE":
            j = i + 1
            if j < len(tokens) and tokens[j][0] == "word" and tokens[j][1].upper() == "SILENT":
                j += 1
            info.services.append(resolve(tokens[j]) if j < len(tokens) else None)
        elif upper == "FROM":
            j = i + 1
            named = j < len(tokens) and tokens[j][0] == "word" and tokens[j][1].upper() == "NAMED"
            if named:
                j += 1
            target = resolve(tokens[j]) if j < len(tokens) else None
            (info.from_named_graphs if named else info.from_graphs).append(target or "")
        i += 1


def check_query(text: str, *, base_iri: str | None, known_graphs: Collection[str],
                allowed_services: Collection[str], max_length: int,
                default_graph_uris: Collection[str] = (), named_graph_uris: Collection[str] = ()) -> QueryInfo:
    """Refuse what a read-only public endpoint must not run; return what was found otherwise.

    Raises ``QueryRefused`` (update, LOAD, SERVICE not allow-listed), ``UnknownGraph`` (FROM or
    protocol graph that is not in the dataset) or ``QuerySyntaxError`` (too long, or no query form).
    """
    if len(text) > max_length:
        raise QueryRefused(
            f"Abfrage zu lang ({len(text)} Zeichen, erlaubt {max_length}) / "
            f"query too long ({len(text)} characters, limit {max_length})")
    info = analyse(text, base_iri)
    if info.updates:
        words = ", ".join(sorted(info.updates))
        raise QueryRefused(
            "Dieser Endpunkt ist schreibgeschützt: SPARQL Update (auch LOAD) wird nicht ausgeführt "
            f"({words}); die Daten bleiben unverändert. / This endpoint is read-only: SPARQL Update "
            f"(including LOAD) is not executed ({words}); the data is unchanged.")
    for target in info.services:
        if target is None or target not in allowed_services:
            shown = target or "?variable"
            raise QueryRefused(
                f"SERVICE <{shown}> ist nicht freigegeben; der Dienst ruft keine fremden URLs ab. / "
                f"SERVICE <{shown}> is not allow-listed; this service does not fetch URLs for clients.")
    known = set(known_graphs)
    for graph in [*info.from_graphs, *info.from_named_graphs, *default_graph_uris, *named_graph_uris]:
        if graph not in known:
            raise UnknownGraph(
                f"Graph <{graph}> gibt es in diesem Datensatz nicht; FROM und default-/named-graph-uri "
                f"wählen nur vorhandene Graphen aus, es wird nichts geladen. / Graph <{graph}> is not in "
                "this dataset; FROM and default-/named-graph-uri only select existing graphs, nothing is "
                "fetched.")
    if info.form is None:
        raise QuerySyntaxError(
            "Keine SPARQL-Abfrage gefunden (SELECT, CONSTRUCT, DESCRIBE oder ASK erwartet). / "
            "No SPARQL query found (expected SELECT, CONSTRUCT, DESCRIBE or ASK).")
    return info


def check_request(request: QueryRequest, settings: Settings, known_graphs: Collection[str]) -> QueryInfo:
    """``check_query`` with the service's own limits: the one call every store makes before executing."""
    return check_query(
        request.text, base_iri=settings.base_iri, known_graphs=known_graphs,
        allowed_services=settings.allowed_service_endpoints, max_length=settings.max_query_length,
        default_graph_uris=request.default_graph_uris, named_graph_uris=request.named_graph_uris)
