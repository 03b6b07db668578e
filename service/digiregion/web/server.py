"""``digiregion serve``: build (or reuse) the store with a progress bar, then run uvicorn.

The store is built before uvicorn binds the port, so a client never reaches a half-loaded service;
a restart with unchanged data reuses the persisted store and starts in about a second.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn, TransferSpeedColumn

from ..config import Settings
from ..rdf_files import InputError

PROGRESS_THRESHOLD = 8 * 1024 * 1024
"""Inputs smaller than this load too fast for a progress bar to be useful."""

console = Console(stderr=True)


def build_store(settings: Settings):
    """Open or build the store for ``settings`` (the embedded backend; a remote one comes with issue 4)."""
    from ..store.embedded import EmbeddedStore
    from ..store.loader import open_or_build

    if settings.store != "embedded":
        return _remote_store(settings)
    started = time.monotonic()
    with Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn(),
                  TimeRemainingColumn(), console=console, transient=True) as progress:
        def factory(total: int, label: str) -> Callable[[int], None] | None:
            if total < PROGRESS_THRESHOLD:
                return None
            task = progress.add_task(label, total=total)
            return lambda n: progress.advance(task, n)

        built = open_or_build(settings, progress_factory=lambda total, label: factory(total, label) or _noop)
    info = built.info
    console.print(f"[green]Store bereit / store ready[/green]: {info.triples} Tripel/triples, "
                  f"{len(info.files)} Dateien/files, {time.monotonic() - started:.1f} s ({built.path})")
    return _federated(settings, EmbeddedStore(built, _backend_settings(settings)))


def _remote_store(settings: Settings):
    """A remote SPARQL engine (issue 4); credentials only from the environment, see ``store.credentials``."""
    import os

    from ..store.credentials import Credentials
    from ..store.remote import RemoteStore

    try:
        store = RemoteStore(_backend_settings(settings), Credentials.from_environment(os.environ))
    except ValueError as exc:
        raise SystemExit(f"Fehler / error: {exc}") from None
    console.print(f"[green]Store[/green]: entfernt / remote {settings.store}, Graph <{store.graph}>")
    return _federated(settings, store)


def _backend_settings(settings: Settings) -> Settings:
    """With federation the backend never sees SERVICE (``store.federation``): it allows none."""
    if not settings.allowed_service_endpoints:
        return settings
    from ..store.federation import local_settings

    return local_settings(settings)


def _federated(settings: Settings, store):
    if not settings.allowed_service_endpoints:
        return store
    from ..store.federation import FederatingStore

    return FederatingStore(store, settings)


def _noop(_: int) -> None:
    return None


def run(settings: Settings) -> None:
    import uvicorn

    from .app import create_app

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        store = build_store(settings)
    except InputError as exc:
        console.print(f"[red]Fehler / error[/red]: {exc}")
        raise SystemExit(2) from exc
    app = create_app(settings, store)
    # h11 stays the HTTP parser (explicit header-size limit); uvloop, where installed, saves ~0.3 ms per request
    uvicorn.run(app, host=settings.host, port=settings.port, log_level="info", proxy_headers=False,
                server_header=False, timeout_keep_alive=5, limit_concurrency=1000, http="h11",
                loop=_event_loop(), access_log=settings.access_log, h11_max_incomplete_event_size=64 * 1024)


def _event_loop() -> str:
    try:
        import uvloop  # noqa: F401
    except ImportError:
        return "asyncio"
    return "uvloop"
