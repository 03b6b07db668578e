"""What the routes share: settings, store, IRI map, templates, cached metadata, HTTP caching rules.

One ``Service`` per app (``app.state.service``). Routes stay thin: they parse the request, call the
store or a builder, and hand the result to one of the helpers here (``rdf_response``,
``not_modified``, ``error_response``, ``render``), so caching headers, languages and error pages
behave the same on every page.

Statistics may arrive after the start (a large embedded store computes them in the background): pages
that show counts (VoID, the home page) call ``wait_for_statistics`` first and answer
``statistics_pending`` (503, Retry-After, not cached) if they are still missing after a bounded wait.
Likewise the metadata itself is loaded in the background in that case (``metadata_loaded``), so that the
SPARQL endpoint answers before the self-description was read (``middleware.MetadataGate``).
"""

from __future__ import annotations

import asyncio
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
STATISTICS_PATIENCE = 30.0
"""Seconds a request for VoID or the home page waits for statistics still being computed, before 503."""
RETRY_AFTER = "10"
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
        self._metadata_lock = asyncio.Lock()
        self.metadata_loaded = asyncio.Event()
        """Set once VoID, DCAT and the service description were built (they may lack the statistics)."""
        self._metadata_statistics = False
        """Whether the metadata graphs were built from complete statistics (``DatasetInfo.statistics_ready``)."""
        self.statistics_patience = STATISTICS_PATIENCE
        self._last_modified: tuple[Any, str] | None = None

    # -- metadata ---------------------------------------------------------------------------------------------
    async def load_metadata(self) -> None:
        """Read the dataset's self-description and build VoID, DCAT and the service description."""
        async with self._metadata_lock:
            await self._build_metadata()

    async def _build_metadata(self) -> None:
        """Called under the lock. Serialised forms are dropped in the same step as the graphs are replaced
        (no await in between), so no request caches bytes of the previous graphs after the new ones are in."""
        iri = dataset_iri(self.iri_map)
        description = await self.store.describe(iri)
        graph = Graph()
        if description.found:
            graph.parse(data=description.triples + description.labels, format="nt")
        me = SelfDescription.from_graph(iri, graph, self.settings)
        dumps_path = getattr(self.store, "built", None)
        dumps = read_manifest(dumps_path.dumps_path) if dumps_path else []
        info = self.store.info
        self.me, self.dumps = me, dumps
        self._metadata = {
            "void": build_void(self.settings, info, me, dumps),
            "catalog": build_catalog(self.settings, info, me, dumps),
            "service": build_service_description(self.settings, info, me),
        }
        self._serialised = {}
        self._metadata_statistics = info.statistics_ready
        self.metadata_loaded.set()

    @property
    def statistics_pending(self) -> bool:
        """The store is still computing its statistics: load the metadata in the background (``app``)."""
        ready = getattr(self.store, "statistics_ready", None)
        return ready is not None and not ready.is_set()

    async def wait_for_metadata(self) -> bool:
        """True once the metadata is loaded; waits at most ``statistics_patience`` seconds."""
        if self.metadata_loaded.is_set():
            return True
        try:
            async with asyncio.timeout(self.statistics_patience):
                await self.metadata_loaded.wait()
        except TimeoutError:
            return False
        return True

    async def wait_for_statistics(self, *, forever: bool = False) -> bool:
        """True once the metadata carries complete statistics; waits at most ``statistics_patience`` seconds.

        Pages that show counts call this first. When the store's ``statistics_ready`` fires, the first
        caller rebuilds the metadata from the completed ``info`` (the others wait for the lock), so a
        page is never built from counts that are still missing.
        """
        if self._metadata_statistics:
            return True
        ready = getattr(self.store, "statistics_ready", None)
        try:
            async with asyncio.timeout(None if forever else self.statistics_patience):
                if ready is not None:
                    await ready.wait()
                await self.metadata_loaded.wait()
        except TimeoutError:
            return False
        if not self._metadata_statistics and self.store.info.statistics_ready:
            async with self._metadata_lock:
                if not self._metadata_statistics:  # only the first of the waiting requests rebuilds
                    await self._build_metadata()
        return self._metadata_statistics

    def statistics_pending_response(self) -> Response:
        """503 while counts or metadata are still being computed: clients retry, caches keep nothing."""
        return PlainTextResponse(
            "Statistik und Metadaten des Datensatzes werden gerade berechnet; bitte gleich erneut versuchen. / "
            "The dataset's statistics and metadata are being computed; please retry shortly.\n",
            status_code=503, headers={"Retry-After": RETRY_AFTER, "Cache-Control": "no-store"})

    async def follow_data_changes(self) -> None:
        """Rebuild VoID/DCAT when the store reports new data (a ``digiregion load`` into a remote engine)."""
        refresh = getattr(self.store, "refresh", None)
        if refresh is not None and await refresh():
            await self.load_metadata()  # drops the serialised forms with the old graphs

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
