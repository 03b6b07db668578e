"""The web application: one factory, the shared state, middleware, and the routers.

``create_app(settings, store)`` wires the thin route modules (``sparql``, ``metadata``,
``resources``) to one ``Service`` object that holds everything they share (settings, store, IRI map,
templates, cached metadata). Routes get it from ``request.app.state.service``; there are no module
globals, so tests and a future remote store build apps side by side. It returns the ASGI entry point
(``entry.QueryFirst``): SPARQL queries take a short way to their handler, everything else goes to the
FastAPI application.

Middleware, outermost first (``middleware``): CORS (GET/POST/OPTIONS, preflight allows Content-Type), a
request-body limit (413 before the body is read into memory), gzip for larger responses and, in the
FastAPI application only, the metadata gate.

Start-up: when the store still computes its statistics in the background (a large embedded store), the
dataset's self-description is read once they are there rather than before the server starts: its
description needs the fragment index that comes with them (or a slow scan, ``worker.Worker.fragments_of``),
and SPARQL queries do not need it. Until it is loaded, every other request waits for it, bounded
(``middleware.MetadataGate``). On a quiet 2-core machine that is a few seconds of a large store's first start, during
which nothing at all was answered before.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from starlette.middleware.cors import CORSMiddleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.staticfiles import StaticFiles

from .. import __version__
from ..config import Settings
from ..store.base import Store, StoreError
from .entry import QueryFirst, not_acceptable
from .middleware import CORS_OPTIONS, GZIP_MINIMUM_SIZE, BodyLimit, MetadataGate
from .negotiation import NotAcceptable
from .service import Service

STATIC_DIR = Path(__file__).parent / "static"


class CachedStaticFiles(StaticFiles):
    """Static assets change only with a release: let browsers and reverse proxies keep them for a day."""

    def file_response(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        response = super().file_response(*args, **kwargs)
        response.headers.setdefault("Cache-Control", "public, max-age=86400")
        return response


async def _load_metadata_when_possible(service: Service) -> None:
    """The metadata of a store that is still computing its statistics, read once they are there.

    Why wait: the self-description is a resource description, which needs the fragment index that comes
    with the statistics; without it a worker scans the whole store (``Worker.fragments_of``: ~2 s at 1M
    triples on a quiet machine, past the query deadline while the dumper and the fork server compete
    for the cores). So it waits for the statistics — at most ``statistics_patience`` seconds, then it
    reads the description with the scan (correct, only slower), and rebuilds VoID once the statistics
    arrive after all (requests for VoID or the home page would do so on demand; this makes it happen once,
    right away). Retried until it succeeds.
    """
    ready = getattr(service.store, "statistics_ready", None)
    patience = service.statistics_patience
    while True:
        if ready is not None:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(patience):
                    await ready.wait()
        try:
            await service.load_metadata()
            break
        except StoreError as exc:
            logging.getLogger("digiregion.web").warning(
                "Metadaten nicht ladbar, neuer Versuch / cannot load metadata, retrying: %s", exc.message)
            patience = 10.0
            await asyncio.sleep(1.0)
    with contextlib.suppress(StoreError):  # logged by the store; the next VoID request tries again
        await service.wait_for_statistics(forever=True)


def _follow(service: Service, interval: float | None) -> asyncio.Task | None:
    """A remote engine's data can change under a running service (``digiregion load``): poll its version."""
    if not interval:
        return None

    async def loop() -> None:
        while True:
            await asyncio.sleep(interval)
            try:
                await service.follow_data_changes()
            except Exception:  # the engine may be briefly unreachable; keep serving, try again later
                logging.getLogger("digiregion.web").exception("Datenstand nicht prüfbar / data version check failed")

    return asyncio.get_running_loop().create_task(loop())


def _when_dumps_ready(service: Service) -> asyncio.Task | None:
    """Large stores write their dumps in the background: list them in VoID/DCAT once they exist.

    Also when they became ready between the metadata's first build and this call (then the event is
    already set but the metadata still lacks them).
    """
    ready = getattr(service.store, "dumps_ready", None)
    if ready is None or (ready.is_set() and service.dumps):
        return None

    async def wait() -> None:
        await ready.wait()
        if not service.dumps:
            await service.load_metadata()

    return asyncio.get_running_loop().create_task(wait())


def create_app(settings: Settings, store: Store) -> QueryFirst:
    """Build the web application over an (unstarted) store; the lifespan starts and stops it."""
    service = Service(settings, store)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        await store.start()
        metadata = None
        if service.statistics_pending:
            metadata = asyncio.get_running_loop().create_task(_load_metadata_when_possible(service))
        else:
            await service.load_metadata()
        follower = _follow(service, getattr(store, "refresh_interval", None))
        dumps = _when_dumps_ready(service)
        # Everything built so far lives as long as the process: keep it out of the cyclic collector's
        # full passes, which would otherwise walk it again and again during the first requests.
        gc.collect()
        gc.freeze()
        yield
        for task in (metadata, follower, dumps):
            if task is not None:
                task.cancel()
        await store.close()

    app = FastAPI(title=settings.title, version=__version__, lifespan=lifespan, docs_url=None,
                  redoc_url=None, openapi_url=None)
    app.state.service = service

    @app.exception_handler(StoreError)
    async def store_error(request: Request, exc: StoreError):
        return service.error_response(request, exc.status, exc.message)

    @app.exception_handler(NotAcceptable)
    async def refuse_unacceptable(request: Request, exc: NotAcceptable):
        return not_acceptable(exc)

    from . import metadata, resources, sparql

    app.include_router(sparql.router)
    app.include_router(metadata.router)
    app.mount("/static", CachedStaticFiles(directory=STATIC_DIR), name="static")
    app.include_router(resources.router)  # last: it serves every remaining path under the dataset base

    # the same layers as middleware.outer_layers (the short way for queries), plus the metadata gate
    app.add_middleware(MetadataGate, service=service)
    app.add_middleware(GZipMiddleware, minimum_size=GZIP_MINIMUM_SIZE)
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(CORSMiddleware, **CORS_OPTIONS)
    return QueryFirst(app, settings, service)
