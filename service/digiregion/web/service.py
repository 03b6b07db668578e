"""What the routes share: settings, store, IRI map, templates, cached metadata, HTTP caching rules.

One ``Service`` per app (``app.state.service``). Routes stay thin: they parse the request, call the
store or a builder, and hand the result to one of the helpers here (``rdf_response``,
``not_modified``, ``error_response``, ``render``), so caching headers, languages and error pages
behave the same on every page.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from email.utils import format_datetime, parsedate_to_datetime
from pathlib import Path
from typing import Any

import pyoxigraph as ox
from fastapi import Request
from fastapi.responses import HTMLResponse, PlainTextResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape
from rdflib import Graph

from ..catalog import SelfDescription, build_catalog, build_service_description, build_void, dataset_iri
from ..config import Settings
from ..dataset import IriMap
from ..dumps import PREFIXES, Dump, read_manifest
from ..store.base import Store
from . import i18n
from .negotiation import Offer

TEMPLATES_DIR = Path(__file__).parent / "templates"

_OX_FORMATS = {
    "turtle": ox.RdfFormat.TURTLE, "n-triples": ox.RdfFormat.N_TRIPLES, "json-ld": ox.RdfFormat.JSON_LD,
    "rdf-xml": ox.RdfFormat.RDF_XML, "trig": ox.RdfFormat.TRIG, "n-quads": ox.RdfFormat.N_QUADS,
}
_RDFLIB_FORMATS = {"turtle": "turtle", "n-triples": "nt", "json-ld": "json-ld", "rdf-xml": "xml",
                   "trig": "trig", "n-quads": "nquads"}
MEDIA_TYPES = {"turtle": "text/turtle; charset=utf-8", "n-triples": "application/n-triples",
               "json-ld": "application/ld+json", "rdf-xml": "application/rdf+xml",
               "trig": "application/trig", "n-quads": "application/n-quads"}


class Service:
    """The application object behind all routes."""

    def __init__(self, settings: Settings, store: Store) -> None:
        self.settings = settings
        self.store = store
        self.iri_map = IriMap.from_settings(settings)
        self.templates = Environment(loader=FileSystemLoader(TEMPLATES_DIR),
                                     autoescape=select_autoescape(["html"]), trim_blocks=True, lstrip_blocks=True)
        self.me: SelfDescription | None = None
        self.dumps: list[Dump] = []
        self._metadata: dict[str, Graph] = {}
        self._serialised: dict[tuple[str, str], bytes] = {}
        self._last_modified: tuple[Any, str] | None = None

    # -- metadata ---------------------------------------------------------------------------------------------
    async def load_metadata(self) -> None:
        """Read the dataset's self-description once and build VoID, DCAT and the service description."""
        iri = dataset_iri(self.iri_map)
        description = await self.store.describe(iri)
        graph = Graph()
        if description.found:
            graph.parse(data=description.triples + description.labels, format="nt")
        self.me = SelfDescription.from_graph(iri, graph, self.settings)
        dumps_path = getattr(self.store, "built", None)
        self.dumps = read_manifest(dumps_path.dumps_path) if dumps_path else []
        info = self.store.info
        self._metadata = {
            "void": build_void(self.settings, info, self.me, self.dumps),
            "catalog": build_catalog(self.settings, info, self.me, self.dumps),
            "service": build_service_description(self.settings, info, self.me),
        }

    async def follow_data_changes(self) -> None:
        """Rebuild VoID/DCAT when the store reports new data (a ``digiregion load`` into a remote engine)."""
        refresh = getattr(self.store, "refresh", None)
        if refresh is not None and await refresh():
            self.reset_metadata()
            await self.load_metadata()

    def reset_metadata(self) -> None:
        self._serialised = {}

    @property
    def dumps_pending(self) -> bool:
        """The store is still writing its dumps in the background (``/dumps/…`` answers 503 meanwhile)."""
        ready = getattr(self.store, "dumps_ready", None)
        return ready is not None and not ready.is_set()

    def metadata_bytes(self, name: str, fmt: str) -> bytes:
        key = (name, fmt)
        if key not in self._serialised:
            graph = self._metadata[name]
            self._serialised[key] = graph.serialize(format=_RDFLIB_FORMATS[fmt], encoding="utf-8")
        return self._serialised[key]

    def metadata_graph(self, name: str) -> Graph:
        return self._metadata[name]

    # -- HTTP caching -----------------------------------------------------------------------------------------
    def etag(self, *parts: str) -> str:
        digest = hashlib.sha256("\x1f".join((self.store.data_version, *parts)).encode()).hexdigest()[:20]
        return f'W/"{digest}"'

    def cache_headers(self, etag: str, vary: str = "Accept") -> dict[str, str]:
        modified = self.store.info.last_modified
        if self._last_modified is None or self._last_modified[0] != modified:
            self._last_modified = (modified, format_datetime(modified, usegmt=True))
        return {"ETag": etag, "Last-Modified": self._last_modified[1], "Vary": vary,
                "Cache-Control": "public, max-age=300"}

    def not_modified(self, request: Request, headers: dict[str, str]) -> Response | None:
        """A 304 when the client's copy is current (If-None-Match first, else If-Modified-Since)."""
        inm = request.headers.get("if-none-match")
        if inm is not None:
            tags = {t.strip() for t in inm.split(",")}
            weak = headers["ETag"].removeprefix("W/")
            if "*" in tags or headers["ETag"] in tags or weak in tags or f"W/{weak}" in tags:
                return Response(status_code=304, headers=headers)
            return None
        ims = request.headers.get("if-modified-since")
        if ims:
            try:
                if self.store.info.last_modified <= parsedate_to_datetime(ims):
                    return Response(status_code=304, headers=headers)
            except (TypeError, ValueError):
                return None
        return None

    # -- representations --------------------------------------------------------------------------------------
    def serialise(self, ntriples: str, fmt: str) -> bytes:
        """N-Triples text (from the store) in the wanted RDF format, with the house prefixes for Turtle."""
        triples = ox.parse(ntriples.encode("utf-8"), format=ox.RdfFormat.N_TRIPLES)
        prefixes = PREFIXES if fmt in ("turtle", "trig") else None
        return ox.serialize(list(triples), format=_OX_FORMATS[fmt], prefixes=prefixes)

    def lang(self, request: Request) -> str:
        return i18n.negotiate_language(request.query_params.get("lang"), request.headers.get("accept-language"),
                                       self.settings.lang)

    def render(self, request: Request, template: str, status: int = 200, headers: dict[str, str] | None = None,
               **context: Any) -> HTMLResponse:
        lang = self.lang(request)
        page = self.templates.get_template(template).render(
            t=i18n.texts(lang), lang=lang, settings=self.settings, me=self.me, request=request,
            path=request.url.path, link=self.link, **context)
        return HTMLResponse(page, status_code=status, headers=headers)

    def link(self, iri: str) -> str:
        """Where an HTML page links an IRI: our own server path for served IRIs, the IRI itself otherwise."""
        path = self.iri_map.path_for(iri)
        if path is None:
            return iri
        return path + ("#" + iri.split("#", 1)[1] if "#" in iri else "")

    def error_response(self, request: Request, status: int, message: str) -> Response:
        accept = request.headers.get("accept", "")
        if "text/html" in accept and request.method != "HEAD":
            return self.render(request, "error.html", status=status, status_code=status, message=message)
        return PlainTextResponse(message.rstrip() + "\n", status_code=status)

    def alternates(self, path: str, offers: Iterable[Offer]) -> list[dict[str, str]]:
        return [{"suffix": o.suffix or "", "href": path + (o.suffix or ""), "media_type": o.media_type,
                 "key": o.key} for o in offers if o.suffix]
