"""The guard's analysis (``sparql_guard``): the keyword-only lexer finds exactly what the full lexer finds.

The guard reads a query's words with ``_WORDS`` (one match per word, everything else skipped inside the
match) instead of tokenising every token with ``_TOKEN``. Both are built from the same patterns; these
tests check that they agree on where every word is — on random mixes of the fragments where lexers go
wrong (quotes, IRIs, comments, escapes, prefixed names, non-ASCII letters) — and what the analysis makes
of the queries a public endpoint must refuse or restrict. The HTTP-level refusals are in
``tests/web/test_security.py``.
"""

from __future__ import annotations

import random

import pytest

from digiregion.store.base import QueryRefused, UnknownGraph
from digiregion.store.sparql_guard import _TOKEN, _WORDS, analyse, check_query

FRAGMENTS = [
    "SELECT", "ask", " ", "\n", "\t", "#", "# SERVICE <http://evil/>\n", '"', "'", '"""', "'''", "\\", '\\"', "<", ">",
    "<http://a.example/c#d>", "<rel>", "?x", "$y", "?", "@en", "@de-DE", "_:b1", "_", "dr:", "dr:ags", ":", "a:b.",
    "x.", "1", "1.5", ".5e3", "1e", "{", "}", "(", ")", "*", "|", "^^", "SERVICE", "service", "SILENT", "FROM",
    "NAMED", "PREFIX", "BASE", "LOAD", "INSERT", "with", "ä", "é:x", "\u00b7", "\u2028", "\\u0053ERVICE", "ab_c9",
    "9ab", "-", ";", "%41", "a:%4", "WHERE",
]


def _words_by_full_lexer(text: str) -> list[tuple[int, int]]:
    spans = []
    for match in _TOKEN.finditer(text):
        kind = match.lastgroup or "other"
        if kind == "end":
            break
        if kind == "word":
            spans.append(match.span(kind))
    return spans


def _words_by_guard(text: str) -> list[tuple[int, int]]:
    spans = []
    for match in _WORDS.finditer(text):
        if match.group("word") is None:
            break
        spans.append(match.span("word"))
    return spans


def test_the_keyword_lexer_finds_exactly_the_words_of_the_full_lexer():
    rnd = random.Random(20261126)
    texts = ["".join(rnd.choice(FRAGMENTS) + rnd.choice(("", " ")) for _ in range(rnd.randint(1, 40)))
             for _ in range(4000)]
    texts += ["".join(chr(rnd.randint(0, 0x2FF)) for _ in range(rnd.randint(1, 60))) for _ in range(1000)]
    with_words = 0
    for text in texts:
        expected = _words_by_full_lexer(text)
        assert _words_by_guard(text) == expected, repr(text)
        with_words += bool(expected)
    assert with_words > 3000  # the corpus is not trivially word-free


BASE = "https://w3id.org/digiregion/"


@pytest.mark.parametrize(("query", "expected"), [
    ('SELECT * { ?s ?p "SERVICE <http://evil/> { }" } # FROM <http://x/>\n',
     {"form": "SELECT", "services": [], "from_graphs": []}),
    ("PREFIX ex: <http://example.org/> SELECT * FROM ex:g FROM NAMED <g2> { SERVICE SILENT ex:s { ?s ?p ?o } }",
     {"form": "SELECT", "services": ["http://example.org/s"], "from_graphs": ["http://example.org/g"],
      "from_named_graphs": [BASE + "g2"]}),
    ("BASE <http://other.example/> ASK FROM <g> { SERVICE ?endpoint { } }",
     {"form": "ASK", "services": [None], "from_graphs": ["http://other.example/g"]}),
    ("SELECT * { SERVICE unknown:x { } } LIMIT 1", {"services": [None]}),
    ("\\u0053ERVICE <http://evil/> SELECT * {}", {"form": "SELECT", "services": ["http://evil/"]}),
    ("PREFIX : <http://e.org/> DESCRIBE :a SELECT", {"form": "DESCRIBE"}),
    ("INSERT DATA { <a> <b> <c> } ; LOAD <http://x/>", {"form": None, "updates": {"INSERT", "LOAD"}}),
    ("SELECT * WHERE { ?s ?p ?o } # trailing FROM", {"form": "SELECT", "from_graphs": []}),
    ("SELECT * FROM", {"form": "SELECT", "from_graphs": [""]}),
    # declarations are read lazily (at the first SERVICE/FROM): their order must still hold
    ("BASE <http://a.example/> PREFIX p: <x/> BASE <http://b.example/> SELECT * FROM p:g FROM <y> "
     "{ SERVICE <z> { } }",
     {"from_graphs": ["http://a.example/x/g", "http://b.example/y"], "services": ["http://b.example/z"]}),
    ("PREFIX p: <http://one.example/> SELECT * FROM p:g PREFIX p: <http://two.example/> FROM p:h FROM q:i "
     "PREFIX q: <http://late.example/>",
     {"from_graphs": ["http://one.example/g", "http://two.example/h", ""]}),
])
def test_what_the_guard_finds(query, expected):
    info = analyse(query, BASE)
    for name, value in expected.items():
        assert getattr(info, name) == value, (name, getattr(info, name))


def test_check_query_refuses_services_updates_and_unknown_graphs():
    common = {"base_iri": BASE, "known_graphs": [BASE + "g"], "allowed_services": ["http://allowed.example/sparql"],
              "max_length": 10_000}
    assert check_query("SELECT * FROM <g> { SERVICE <http://allowed.example/sparql> { ?s ?p ?o } }", **common)
    with pytest.raises(QueryRefused):
        check_query("SELECT * { SERVICE <http://127.0.0.1:9/> { ?s ?p ?o } }", **common)
    with pytest.raises(QueryRefused):
        check_query("SELECT * {} ; DROP ALL", **common)
    with pytest.raises(UnknownGraph):
        check_query("SELECT * FROM <file:///etc/passwd> { ?s ?p ?o }", **common)
