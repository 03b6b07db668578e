"""Turn a resource description (triples) into what the HTML page shows: labels instead of IRIs.

Kept apart from the route so the page logic (label choice by language, grouping by property,
nested blank nodes, hash-IRI sections, incoming links) can be read and tested without HTTP.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import pyoxigraph as ox

from ..dumps import PREFIXES
from ..store.base import Description
from ..store.worker import LABEL_PREDICATES

RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"
RDF_LANGSTRING = "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString"
MAX_DEPTH = 4


@dataclass
class Value:
    kind: str  # iri | literal | bnode
    text: str
    href: str | None = None
    iri: str | None = None
    lang: str | None = None
    datatype: str | None = None
    rows: list[Row] = field(default_factory=list)


@dataclass
class Row:
    label: str
    href: str
    iri: str
    values: list[Value]


@dataclass
class Section:
    iri: str
    anchor: str
    title: str
    types: list[Value]
    rows: list[Row]


@dataclass
class ResourceView:
    iri: str
    title: str
    types: list[Value]
    sections: list[Section]
    incoming: list[Row]
    incoming_truncated: bool


def compact(iri: str) -> str:
    for prefix, namespace in PREFIXES.items():
        if iri.startswith(namespace) and len(iri) > len(namespace):
            return f"{prefix}:{iri[len(namespace):]}"
    return iri


class Labeller:
    """Chooses the label of a term in the page language (then de, en, untagged, anything)."""

    def __init__(self, triples: Iterable[Any], lang: str) -> None:
        self.lang = lang
        self.labels: dict[str, dict[str, str]] = defaultdict(dict)
        ranked = {p: i for i, p in enumerate(LABEL_PREDICATES)}
        best: dict[tuple[str, str], int] = {}
        for t in triples:
            p = t.predicate.value
            if p in ranked and isinstance(t.object, ox.Literal) and isinstance(t.subject, ox.NamedNode):
                key = (t.subject.value, t.object.language or "")
                if ranked[p] < best.get(key, 99):
                    best[key] = ranked[p]
                    self.labels[t.subject.value][t.object.language or ""] = t.object.value

    def __call__(self, iri: str) -> str:
        found = self.labels.get(iri)
        if found:
            for lang in (self.lang, "de", "en", ""):
                if lang in found:
                    return found[lang]
            return next(iter(found.values()))
        if "#" in iri and not iri.endswith("#"):
            return compact(iri) if compact(iri) != iri else iri.rsplit("#", 1)[1]
        return compact(iri)


def build_view(description: Description, lang: str, link: Callable[[str], str]) -> ResourceView:
    own = list(ox.parse(description.triples.encode(), format=ox.RdfFormat.N_TRIPLES))
    extra = list(ox.parse(description.labels.encode(), format=ox.RdfFormat.N_TRIPLES))
    incoming = list(ox.parse(description.incoming.encode(), format=ox.RdfFormat.N_TRIPLES))
    label = Labeller(own + extra + incoming, lang)
    by_subject: dict[Any, list[Any]] = defaultdict(list)
    for t in own:
        by_subject[t.subject].append(t)

    def value(term: Any, depth: int) -> Value:
        if isinstance(term, ox.NamedNode):
            return Value("iri", label(term.value), href=link(term.value), iri=term.value)
        if isinstance(term, ox.BlankNode):
            rows = rows_for(by_subject.get(term, []), depth + 1) if depth < MAX_DEPTH else []
            return Value("bnode", "", rows=rows)
        datatype = term.datatype.value if term.datatype else None
        shown = None if datatype in (XSD_STRING, RDF_LANGSTRING) else compact(datatype or "")
        return Value("literal", term.value, lang=term.language, datatype=shown)

    def rows_for(triples: list[Any], depth: int, skip_types: bool = False) -> list[Row]:
        grouped: dict[str, list[Any]] = defaultdict(list)
        for t in triples:
            if skip_types and t.predicate.value == RDF_TYPE:
                continue
            grouped[t.predicate.value].append(t.object)
        rows = [Row(label(p), link(p), p, sorted((value(o, depth) for o in objs), key=lambda v: (v.kind, v.text)))
                for p, objs in grouped.items()]
        return sorted(rows, key=lambda r: r.label.lower())

    def types_of(subject: Any) -> list[Value]:
        return [value(t.object, 0) for t in by_subject.get(subject, []) if t.predicate.value == RDF_TYPE]

    main = ox.NamedNode(description.iri)
    sections = [Section(description.iri, "", label(description.iri), types_of(main),
                        rows_for(by_subject.get(main, []), 0, skip_types=True))]
    for subject in sorted((s for s in by_subject if isinstance(s, ox.NamedNode) and s != main),
                          key=lambda s: s.value):
        sections.append(Section(subject.value, subject.value.split("#", 1)[-1], label(subject.value),
                                types_of(subject), rows_for(by_subject[subject], 0, skip_types=True)))
    incoming_rows: dict[str, Row] = {}
    for t in incoming:
        row = incoming_rows.setdefault(t.predicate.value, Row(label(t.predicate.value), link(t.predicate.value),
                                                              t.predicate.value, []))
        row.values.append(value(t.subject, MAX_DEPTH))
    return ResourceView(description.iri, label(description.iri), sections[0].types, sections,
                        sorted(incoming_rows.values(), key=lambda r: r.label.lower()),
                        description.incoming_truncated)
