"""One textual form for RDF terms in findings, whichever library produced them.

Both engines (pyoxigraph terms, rdflib terms) must render a focus node, path or value identically,
otherwise their findings could not be compared; blank-node labels are library-private, so they all
render as ``_:b`` in identities and keep their label only for display.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pyoxigraph as ox

if TYPE_CHECKING:
    import rdflib

XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")


def render_ox(term: ox.Term | None) -> str | None:
    if term is None:
        return None
    if isinstance(term, ox.NamedNode):
        return term.value
    if isinstance(term, ox.BlankNode):
        return "_:b"
    if isinstance(term, ox.Literal):
        return _literal(term.value, term.language, term.datatype.value if term.datatype else None)
    return str(term)


def render_rdflib(term: rdflib.term.Node | None) -> str | None:
    import rdflib  # only the reference engine has rdflib terms; the fast path never imports rdflib

    if term is None:
        return None
    if isinstance(term, rdflib.URIRef):
        return str(term)
    if isinstance(term, rdflib.BNode):
        return "_:b"
    if isinstance(term, rdflib.Literal):
        return _literal(str(term), term.language, str(term.datatype) if term.datatype else None)
    return str(term)


def _literal(lexical: str, language: str | None, datatype: str | None) -> str:
    text = f'"{_escape(lexical)}"'
    if language:
        return f"{text}@{language.lower()}"
    if datatype and datatype != XSD_STRING and not datatype.endswith("#langString"):
        return f"{text}^^<{datatype}>"
    return text
