"""The engine client's form body (``sparql_client``) is SPARQLWrapper's, character for character.

``_PooledWrapper`` encodes the form with its own table-driven ``form_quote`` instead of
``urllib.parse.quote_plus`` (speed); what the engine receives must not change. Compared with
SPARQLWrapper's own ``_getRequestEncodedParameters`` on the same wrapper, for texts made of the characters
encoders treat specially (space, ``+``, ``/``, ``%``, ``&``, ``=``, controls, non-ASCII, astral).
"""

from __future__ import annotations

import random
import urllib.parse

from SPARQLWrapper import POST, URLENCODED, SPARQLWrapper

from digiregion.store.credentials import Credentials
from digiregion.store.sparql_client import _PooledWrapper, form_quote, opener

PIECES = ["a", "Z", "0", " ", "  ", "+", "/", "%", "%41", "&", "=", "?", "#", "~", "-", "_", ".", "*", "'", "\n", "\r",
          "\t", "\x00", "\x7f", "\x80", "ä", "é", "ß", "\u2028", "\U0001F600", "<http://a.example/b?c=d&e>", '"x"@de']


def _texts(count: int) -> list[str]:
    rnd = random.Random(20261126)
    return ["".join(rnd.choice(PIECES) for _ in range(rnd.randint(0, 25))) for _ in range(count)]


def test_form_quote_is_quote_plus_with_slash_safe():
    for text in [*_texts(3000), "".join(map(chr, range(256))), ""]:
        assert form_quote(text) == urllib.parse.quote_plus(text.encode("utf-8"), safe="/"), repr(text)


def test_the_form_body_is_sparqlwrappers_own():
    url = "http://127.0.0.1:9/sparql"
    for n, text in enumerate(_texts(500)):
        wrapper = _PooledWrapper(url, opener(url, Credentials(), "auto"), "SELECT")
        wrapper.setMethod(POST)
        wrapper.setRequestMethod(URLENCODED)
        wrapper.setOnlyConneg(True)
        wrapper.setQuery(text)
        wrapper.addDefaultGraph(f"urn:graph:{text[:5]}")
        wrapper.addNamedGraph("urn:digiregion:empty-graph")
        wrapper.addNamedGraph(f"http://example.org/{n}?a=b c")
        wrapper.addParameter("timeout", "10000")
        query = ("query", wrapper.queryString)
        ours = wrapper._getRequestEncodedParameters(query)
        assert ours == SPARQLWrapper._getRequestEncodedParameters(wrapper, query), repr(text)
        assert urllib.parse.parse_qs(ours, keep_blank_values=True)["query"] == [text]
