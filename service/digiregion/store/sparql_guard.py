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
import itertools
import re
from collections.abc import Collection, Iterator
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

# The lexer's token patterns, shared by the two regexes below so that they cannot drift apart.
_STRING = (r"""\"\"\"(?:[^"\\]|\\.|"(?!""))*\"\"\"|'''(?:[^'\\]|\\.|'(?!''))*'''"""
           r"""|"(?:[^"\\\n\r]|\\.)*"|'(?:[^'\\\n\r]|\\.)*'""")
_IRI = r"""<[^<>"{}|^`\\\x00-\x20]*>"""
VARNAME_CHAR = r"[A-Za-z0-9_\u00B7-\uFFFF]"
"""A character of a variable name: ``?`` or ``$`` followed by one is always a variable for the lexer."""
_VAR = rf"[?$]{VARNAME_CHAR}+"
_LANGTAG = r"@[A-Za-z]+(?:-[A-Za-z0-9]+)*"
_BNODE = r"_:[A-Za-z0-9_\-.\u00B7-\uFFFF]*"
_PNAME = r"(?:[A-Za-z\u00C0-\uFFFF][A-Za-z0-9_\-.\u00B7-\uFFFF]*)?:(?:[A-Za-z0-9_\-:%.\u00B7-\uFFFF]|\\.)*"
_WORD = r"[A-Za-z_][A-Za-z0-9_]*"
_NUMBER = r"[0-9]*\.[0-9]+(?:[eE][+-]?[0-9]+)?|[0-9]+\.[0-9]*[eE][+-]?[0-9]+|[0-9]+(?:[eE][+-]?[0-9]+)?"
_SPACE = r"\s|\#[^\n\r]*"

_TOKEN = re.compile(
    # whitespace and comments before the token, possessive (never re-read); then the first kind that matches;
    # ``end``: trailing whitespace/comments consumed once here, not re-scanned from every position
    rf"(?:{_SPACE})*+(?:(?P<string>{_STRING})|(?P<iri>{_IRI})|(?P<var>{_VAR})|(?P<langtag>{_LANGTAG})"
    rf"|(?P<bnode>{_BNODE})|(?P<pname>{_PNAME})|(?P<word>{_WORD})|(?P<number>{_NUMBER})|(?P<other>.)|(?P<end>\Z))",
    re.DOTALL,
)
"""One match per token; the whitespace and comments in front of it are consumed by the same match
(half as many matches as tokenising them separately: the lexer's cost is per match)."""

_WORDS = re.compile(
    rf"(?:{_SPACE}|{_STRING}|{_IRI}|{_VAR}|{_LANGTAG}|{_BNODE}|{_PNAME}|{_NUMBER}|[^A-Za-z_])*+"
    rf"(?:(?P<word>{_WORD})|\Z)",
    re.DOTALL,
)
"""The words of a query only, each found after the tokens in front of it were skipped in the same match.

The skipped alternatives are ``_TOKEN``'s in the same order, without ``word`` (and ``other`` without the
characters a word starts with, which ``_TOKEN`` never gives to ``other``), so the words and where they end
are exactly ``_TOKEN``'s: a keyword inside a string, IRI or comment is skipped with it. Why a second
regex: the guard only needs the keywords and the few tokens after some of them, and one match per word
instead of one per token lexes ~3.5× faster (a point lookup: 63 → 19 µs; ``check_query`` as a whole 75 → 43 µs;
one-off in-process timings of the query mix's cold texts, old and new code alternately)."""
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


def scan(text: str) -> list[Token]:
    """The query's tokens (without whitespace and comments) with their character spans.

    For the rewrites and checks that need every token (deviations, graph rewrite, federation, the
    embedded store's query rewrites; the guard itself reads only the words, ``_WORDS``). One request may
    scan the same text several times and the lexer is the costly part (~0.1 ms for a short query), so the
    last texts' tokens are remembered and each caller gets its own list.
    """
    return list(_scan_cached(text))


@functools.lru_cache(maxsize=64)
def _scan_cached(text: str) -> tuple[Token, ...]:
    return tuple(_tokens(text))


def _tokens(text: str, position: int = 0) -> Iterator[Token]:
    """The tokens from ``position`` (the start of the text or the end of a token) to the end."""
    for match in _TOKEN.finditer(text, position):
        kind = match.lastgroup or "other"
        if kind == "end":
            return
        start, end = match.span(kind)
        yield Token(kind, text[start:end], start, end)


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
    prefixes: dict[str, str] = {}
    base = base_iri
    pending: list[tuple[str, int]] = []  # PREFIX/BASE declarations (keyword, end) not read yet

    def resolve(token: Token | None) -> str | None:
        if token is None:
            return None
        kind, value = token.kind, token.value
        if kind == "iri":
            iri = value[1:-1]
            return urljoin(base, iri) if base and ":" not in iri.split("/", 1)[0] else iri
        if kind == "pname":
            prefix, _, local = value.partition(":")
            if prefix in prefixes:
                return prefixes[prefix] + re.sub(r"\\(.)", r"\1", local)
        return None

    def declare() -> None:
        """Read the pending declarations, in order (a BASE applies to the relative IRIs after it).

        Only a SERVICE or FROM target needs them, which most queries lack; reading each costs a
        look-ahead with the full lexer (a third of the guard's time for a point lookup with five prefixes).
        """
        nonlocal base
        for keyword, end in pending:
            if keyword == "PREFIX":
                name, target = _following(text, end, 2)
                if name is not None and name.kind == "pname" and target is not None and target.kind == "iri":
                    prefixes[name.value.rstrip(":").split(":")[0]] = resolve(target) or ""
            else:
                target = _following(text, end, 1)[0]
                if target is not None and target.kind == "iri":
                    base = resolve(target)
        pending.clear()

    for match in _WORDS.finditer(text):
        word = match.group("word")
        if word is None:
            break
        upper = word.upper()
        if upper not in _KEYWORDS:
            continue
        if upper == "PREFIX" or upper == "BASE":
            pending.append((upper, match.end()))
        elif upper in QUERY_FORMS:
            if info.form is None:
                info.form = upper
        elif upper in UPDATE_KEYWORDS:
            info.updates.add(upper)
        elif upper == "SERVICE":
            declare()
            first, second = _following(text, match.end(), 2)
            silent = first is not None and first.kind == "word" and first.value.upper() == "SILENT"
            info.services.append(resolve(second if silent else first))
        elif upper == "FROM":
            declare()
            first, second = _following(text, match.end(), 2)
            named = first is not None and first.kind == "word" and first.value.upper() == "NAMED"
            target = resolve(second if named else first)
            (info.from_named_graphs if named else info.from_graphs).append(target or "")


_KEYWORDS = frozenset({"PREFIX", "BASE", "SERVICE", "FROM", *QUERY_FORMS, *UPDATE_KEYWORDS})


def _following(text: str, position: int, count: int) -> list[Token | None]:
    """The ``count`` tokens after ``position`` (a token's end), None past the end of the text."""
    found: list[Token | None] = list(itertools.islice(_tokens(text, position), count))
    return found + [None] * (count - len(found))


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
