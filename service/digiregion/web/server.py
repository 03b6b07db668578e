"""``digiregion serve``: build (or reuse) the store with a progress bar, then run uvicorn.

The store is built before uvicorn binds the port, so a client never reaches a half-loaded service;
a restart with unchanged data reuses the persisted store and starts in about a second.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

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

    if settings.store != "embedded":
        return _remote_store(settings)
    started = time.monotonic()
    if not _store_exists(settings):
        _build_in_child(settings)  # the serving process never holds the build's memory (~250 MB at 1M)
    built = _build_with_progress(settings)  # after the child: opens the finished store
    info = built.info
    console.print(f"[green]Store bereit / store ready[/green]: {info.triples} Tripel/triples, "
                  f"{len(info.files)} Dateien/files, {time.monotonic() - started:.1f} s ({built.path})")
    return _federated(settings, EmbeddedStore(built, _backend_settings(settings)))


def _store_exists(settings: Settings) -> bool:
    from ..dataset import fingerprint, input_files
    from ..store.loader import INFO_FILE, default_store_root

    root = Path(settings.store_dir) if settings.store_dir else default_store_root()
    return (root / fingerprint(input_files(settings.data_paths))[:24] / INFO_FILE).is_file()


def _build_in_child(settings: Settings) -> None:
    """Build the store in a forked child (same progress bar); the parent then opens the finished store.

    RocksDB's and the parser's memory stay in the child and are returned to the system when it exits.
    Input errors are reported by the child exactly as in-process, and the parent exits with its code.
    """
    if not hasattr(os, "fork"):
        return
    pid = os.fork()
    if pid == 0:  # child
        code = 0
        try:
            _build_with_progress(settings)
        except InputError as exc:
            console.print(f"[red]Fehler / error[/red]: {exc}")
            code = 2
        except BaseException:  # reported; the parent stops with an error
            import traceback

            traceback.print_exc()
            code = 1
        sys.stderr.flush()
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        raise SystemExit(code if code > 0 else 1)


def _build_with_progress(settings: Settings):
    from ..store.loader import open_or_build

    with Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn(),
                  TimeRemainingColumn(), console=console, transient=True) as progress:
        def factory(total: int, label: str) -> Callable[[int], None] | None:
            if total < PROGRESS_THRESHOLD:
                return None
            task = progress.add_task(label, total=total)
            return lambda n: progress.advance(task, n)

        return open_or_build(settings, progress_factory=lambda total, label: factory(total, label) or _noop)


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
    # httptools with a bounded request head (web/http_protocol.py) where installed, else h11 with the same
    # bound; uvloop, where installed, saves another ~0.3 ms per request
    uvicorn.run(app, host=settings.host, port=settings.port, log_level="info", proxy_headers=False,
                server_header=False, timeout_keep_alive=5, limit_concurrency=1000, http=_http_protocol(),
                loop=_event_loop(), access_log=settings.access_log, h11_max_incomplete_event_size=64 * 1024)


def _http_protocol():  # type: ignore[no-untyped-def]
    try:
        from .http_protocol import BoundedHttpToolsProtocol
    except ImportError:
        return "h11"
    return BoundedHttpToolsProtocol


def _event_loop() -> str:
    try:
        import uvloop  # noqa: F401
    except ImportError:
        return "asyncio"
    return "uvloop"
