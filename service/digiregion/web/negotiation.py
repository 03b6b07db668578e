"""Content negotiation, in exactly one place.

Every route that has more than one representation asks ``choose`` which one to send. It reads the
``Accept`` header as RFC 9110 defines it (lists, q-values, ``type/*`` and ``*/*``, the most specific
range deciding a type's q) and honours a ``format`` parameter first, for people who cannot set
headers (``?format=ttl``). Ties are broken in favour of a type the client named explicitly over one
that only matched a wildcard, and then by the server's order, so ``Accept: application/rdf+xml, */*``
yields RDF/XML, not the server's favourite Turtle. Nothing acceptable (or an Accept header without a
single valid media range) raises ``NotAcceptable`` → 406 with the list of what is available.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Offer:
    """One representation a route can produce."""

    key: str
    media_type: str
    aliases: tuple[str, ...] = ()
    """Other media types clients use for the same thing (``application/json`` for SPARQL JSON)."""
    names: tuple[str, ...] = ()
    """Values of the ``format`` parameter that select it."""
    suffix: str | None = None
    """File suffix for Linked Data URLs that must name a format (``.ttl``)."""

    def types(self) -> tuple[str, ...]:
        return (self.media_type, *self.aliases)


RESULTS_JSON = Offer("json", "application/sparql-results+json", ("application/json",), ("json", "srj"))
RESULTS_XML = Offer("xml", "application/sparql-results+xml", ("application/xml", "text/xml"), ("xml", "srx"))
RESULTS_CSV = Offer("csv", "text/csv", (), ("csv",))
RESULTS_TSV = Offer("tsv", "text/tab-separated-values", (), ("tsv",))

TURTLE = Offer("turtle", "text/turtle", ("application/x-turtle",), ("ttl", "turtle"), ".ttl")
NTRIPLES = Offer("n-triples", "application/n-triples", ("text/plain",), ("nt", "ntriples", "n-triples"), ".nt")
JSONLD = Offer("json-ld", "application/ld+json", ("application/json",), ("jsonld", "json-ld", "json"), ".jsonld")
RDFXML = Offer("rdf-xml", "application/rdf+xml", ("application/xml", "text/xml"), ("rdf", "rdfxml", "xml"), ".rdf")
TRIG = Offer("trig", "application/trig", (), ("trig",))
NQUADS = Offer("n-quads", "application/n-quads", (), ("nq", "nquads", "n-quads"))
HTML = Offer("html", "text/html", ("application/xhtml+xml",), ("html",), ".html")

SELECT_OFFERS = (RESULTS_JSON, RESULTS_XML, RESULTS_CSV, RESULTS_TSV)
ASK_OFFERS = (RESULTS_JSON, RESULTS_XML, RESULTS_CSV, RESULTS_TSV)
GRAPH_OFFERS = (TURTLE, NTRIPLES, JSONLD, RDFXML, TRIG, NQUADS)
"""CONSTRUCT/DESCRIBE results: a graph is also a dataset with only a default graph, so TriG/N-Quads fit."""
DOCUMENT_OFFERS = (TURTLE, HTML, JSONLD, NTRIPLES, RDFXML)
"""Linked Data documents: Turtle for ``*/*`` (curl, scripts), HTML when a browser asks for it."""
SUFFIXES = {offer.suffix: offer for offer in DOCUMENT_OFFERS if offer.suffix}


class NotAcceptable(Exception):
    """Nothing the route can produce is acceptable to the client (HTTP 406)."""

    def __init__(self, offers: Sequence[Offer], reason: str) -> None:
        super().__init__(reason)
        self.offers = tuple(offers)
        self.reason = reason

    def message(self) -> str:
        available = ", ".join(o.media_type for o in self.offers)
        names = ", ".join(o.names[0] for o in self.offers if o.names)
        return (f"Kein passendes Format ({self.reason}). Verfügbar: {available}; oder ?format={{{names}}}.\n"
                f"No acceptable format ({self.reason}). Available: {available}; or ?format={{{names}}}.\n")


@dataclass(frozen=True)
class MediaRange:
    type: str
    subtype: str
    q: float
    params: int

    def specificity(self, media_type: str) -> int:
        """How specifically this range names ``media_type`` (0: not at all)."""
        kind, _, sub = media_type.partition("/")
        if self.type == "*" and self.subtype == "*":
            return 1
        if self.type == kind and self.subtype == "*":
            return 2
        if self.type == kind and self.subtype == sub:
            return 3 + self.params
        return 0


def parse_accept(header: str) -> list[MediaRange]:
    """Parse an Accept header; invalid ranges are skipped (a header with none left is unacceptable)."""
    ranges = []
    for part in header.split(","):
        pieces = [p.strip() for p in part.split(";")]
        media = pieces[0].lower()
        if media.count("/") != 1:
            continue
        kind, sub = media.split("/")
        if not kind or not sub or (kind == "*" and sub != "*"):
            continue
        q = 1.0
        params = 0
        valid = True
        for param in pieces[1:]:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value.strip())
                except ValueError:
                    valid = False
                if not 0.0 <= q <= 1.0:
                    valid = False
            elif name.strip():
                params += 1
        if valid:
            ranges.append(MediaRange(kind, sub, q, params))
    return ranges


def choose(offers: Sequence[Offer], accept: str | None, format_name: str | None = None) -> Offer:
    """Pick the representation to send; raise ``NotAcceptable`` when none fits."""
    if format_name:
        wanted = format_name.strip().lower()
        for offer in offers:
            if wanted in offer.names or wanted in offer.types():
                return offer
        raise NotAcceptable(offers, f"format={format_name!r}")
    if accept is None or not accept.strip():
        return offers[0]
    ranges = parse_accept(accept)
    if not ranges:
        raise NotAcceptable(offers, f"Accept: {accept[:100]!r}")
    best: tuple[float, int, int] | None = None
    chosen: Offer | None = None
    for position, offer in enumerate(offers):
        q, explicit = _quality(offer, ranges)
        if q <= 0:
            continue
        score = (q, explicit, -position)
        if best is None or score > best:
            best, chosen = score, offer
    if chosen is None:
        raise NotAcceptable(offers, f"Accept: {accept[:100]!r}")
    return chosen


def _quality(offer: Offer, ranges: Sequence[MediaRange]) -> tuple[float, int]:
    """The q of an offer: per media type the most specific matching range decides; best type wins.

    Aliases (``application/json`` for SPARQL JSON results) only count when named explicitly.
    """
    best_q, best_explicit = 0.0, 0
    for index, media_type in enumerate(offer.types()):
        specificity, q = 0, 0.0
        for media_range in ranges:
            s = media_range.specificity(media_type)
            if index and s < 3:
                continue  # aliases count only when named: application/* must not pick Turtle
            if s > specificity or (s == specificity and s and media_range.q > q):
                specificity, q = s, media_range.q
        if specificity and (q, specificity >= 3) > (best_q, bool(best_explicit)):
            best_q, best_explicit = q, int(specificity >= 3)
    return best_q, best_explicit
