"""The embedded store: pyoxigraph in a pool of warm worker processes, each query under a deadline.

The web process never runs a query itself. It checks the query (``sparql_guard``), takes an idle
worker from the pool, sends the request and relays the serialised result chunks to the client. When
the deadline passes, the worker is killed, the client gets a 504 with a clear message (German, then
English), and a fresh worker replaces the killed one in the background; other clients keep being
served by the remaining workers. N workers use N cores.

Results are held back up to ``HOLD_BYTES`` before the response starts: small results (almost all)
are therefore answered with a proper status even when they fail late, and they can be cached. The
data never changes while the process runs (read-only store, one data version), so complete results
are kept in a small LRU cache keyed by the request, which is what makes repeated dashboard queries
cheap. Larger results are streamed; if they hit the deadline or the size cap mid-stream the
connection is aborted (the client sees a broken transfer, never a short 200 that looks complete).

Workers answer from one in-memory copy, loaded once by a fork server (``forkserver.py``) and forked
from it (until it is loaded, from the on-disk store); the fork server then exits, and a replacement
(after a timeout) is forked from an idle sibling in milliseconds. The
statistics, fragment index, snapshot and dumps of a large store are written by a background process
(``dumper.py``) started here, so none of them is on the start-up path. ``statistics_ready`` and
``dumps_ready`` tell the web layer when they exist.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import socket
import struct
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from ..config import Settings
from ..dataset import DatasetInfo
from ..dumps import PREFIXES
from . import alternative_paths, not_exists
from .base import (
    Description,
    QueryRefused,
    QueryRequest,
    QueryResult,
    QuerySyntaxError,
    QueryTimeout,
    ResultTooLarge,
    Store,
    StoreBusy,
    StoreError,
)
from .dumper import STATISTICS_READY
from .loader import INFO_FILE, BuiltStore
from .result_cache import ResultCache
from .sparql_guard import check_request
from .worker import frame

log = logging.getLogger("digiregion.store")

HOLD_BYTES = 1024 * 1024
CACHE_ENTRY_BYTES = 16 * 1024 * 1024
"""Streamed results up to this size are cached too once they completed (dashboards re-run big SELECTs)."""
CACHE_TOTAL_BYTES = 64 * 1024 * 1024
_HEADER = struct.Struct(">cI")

RESULT_MEDIA_TYPES = {
    "json": "application/sparql-results+json",
    "xml": "application/sparql-results+xml",
    "csv": "text/csv; charset=utf-8",
    "tsv": "text/tab-separated-values; charset=utf-8",
    "turtle": "text/turtle; charset=utf-8",
    "n-triples": "application/n-triples",
    "json-ld": "application/ld+json",
    "rdf-xml": "application/rdf+xml",
    "trig": "application/trig",
    "n-quads": "application/n-quads",
}


async def _read_frame(reader: asyncio.StreamReader) -> tuple[bytes, bytes]:
    """One ``tag, payload`` frame (``worker.frame``) from a worker or the fork server."""
    tag, length = _HEADER.unpack(await reader.readexactly(_HEADER.size))
    return tag, await reader.readexactly(length)


class _WorkerProcess:
    """One running worker and its framed channel (pipes of a spawned worker, a socket of a forked one)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                 kill: Callable[[], None], wait: Callable[[], Awaitable[Any]]) -> None:
        self.reader = reader
        self.writer = writer
        self._kill = kill
        self._wait = wait
        self.isolated = False
        self.in_memory = False
        self.exited = False
        self.pid: int | None = None
        self.sender: socket.socket | None = None
        """A forked worker's socket for passing a file descriptor (``fork``); None for a spawned one."""

    @classmethod
    async def spawn(cls, config: dict[str, Any]) -> _WorkerProcess:
        """A fresh interpreter over the on-disk store (before the fork server is ready, or without it)."""
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "digiregion.store.worker", json.dumps(config),
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE)
        assert process.stdin is not None and process.stdout is not None

        def kill() -> None:
            if process.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    process.kill()

        return await cls(process.stdout, process.stdin, kill, process.wait).handshake()

    async def handshake(self) -> _WorkerProcess:
        tag, payload = await self.recv()
        if tag != b"R":
            self.kill()
            raise RuntimeError("query worker did not start")
        ready = json.loads(payload)
        self.pid = ready.get("pid")
        self.isolated = bool(ready["isolated"])
        self.in_memory = bool(ready.get("in_memory"))
        return self

    async def send(self, request: dict[str, Any]) -> None:
        self.writer.write(frame(b"Q", json.dumps(request).encode()))
        await self.writer.drain()

    async def recv(self) -> tuple[bytes, bytes]:
        try:
            return await _read_frame(self.reader)
        except (asyncio.IncompleteReadError, ConnectionError) as exc:
            self.exited = True
            raise StoreError("Abfrage-Prozess beendet / query worker exited") from exc

    async def fork(self) -> _WorkerProcess:
        """A sibling forked from this (idle, in-memory) worker: it shares this worker's pages copy-on-write."""
        if self.sender is None:
            raise StoreError("nur ein geforkter Prozess kann forken / only a forked worker can fork")
        ours, theirs = socket.socketpair()
        try:  # the writer's buffer is empty between requests, so the frame can go out beside it
            socket.send_fds(self.sender, [frame(b"Q", b'{"op": "fork"}')], [theirs.fileno()])
        finally:
            theirs.close()
        tag, payload = await self.recv()
        if tag != b"J":
            ours.close()
            raise StoreError(f"fork refused: {payload[:200]!r}")
        return await _attach(ours, int(json.loads(payload)["pid"]))

    def kill(self) -> None:
        self.exited = True
        self._kill()

    async def wait(self) -> None:
        await self._wait()


class _ForkServer:
    """The parent's side of ``forkserver.py``: one process holding the in-memory copy, forking workers from it."""

    def __init__(self, process: asyncio.subprocess.Process, control: socket.socket) -> None:
        self.process = process
        self.control = control
        self._lock = asyncio.Lock()
        self._replies: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        """Kept: a collected writer closes its transport, and the replies would end."""

    @classmethod
    async def start(cls, config: dict[str, Any]) -> _ForkServer:
        ours, theirs = socket.socketpair()
        try:
            process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "digiregion.store.forkserver",
                json.dumps({**config, "control_fd": theirs.fileno()}), pass_fds=(theirs.fileno(),))
        finally:
            theirs.close()
        return cls(process, ours)

    async def ready(self) -> dict[str, Any]:
        """Wait until the copy is loaded; raises ``StoreError`` with the server's reason if it could not be."""
        self.control.setblocking(False)
        # the replies are read through a duplicate: uvloop takes over (detaches) the socket it is given,
        # and ``fork`` still needs this one to pass file descriptors with sendmsg
        self._replies, self._writer = await asyncio.open_unix_connection(sock=self.control.dup())
        tag, payload = await self._reply()
        answer = json.loads(payload)
        if tag != b"R":
            raise StoreError(answer.get("message", "fork server failed"))
        return answer

    async def _reply(self) -> tuple[bytes, bytes]:
        assert self._replies is not None
        try:
            return await _read_frame(self._replies)
        except (asyncio.IncompleteReadError, ConnectionError) as exc:
            raise StoreError("Fork-Server beendet / fork server exited") from exc

    @property
    def running(self) -> bool:
        return self.process.returncode is None

    async def fork(self) -> _WorkerProcess:
        """A new worker forked from the server, sharing its in-memory copy; ready in milliseconds."""
        ours, theirs = socket.socketpair()
        try:
            async with self._lock:
                socket.send_fds(self.control, [b"F"], [theirs.fileno()])
                _, payload = await self._reply()
        finally:
            theirs.close()
        return await _attach(ours, int(json.loads(payload)["pid"]))

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
        self.control.close()
        if self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.kill()
        await self.process.wait()


async def _attach(channel: socket.socket, pid: int) -> _WorkerProcess:
    """The parent's handle on a forked worker that answers on ``channel``."""
    handle = _PidHandle(pid)
    sender = channel.dup()  # for sendmsg with file descriptors: the transport takes over ``channel``
    reader, writer = await asyncio.open_unix_connection(sock=channel)

    def kill() -> None:
        handle.kill()
        writer.close()
        sender.close()

    async def wait() -> None:
        await handle.wait(reader)

    worker = _WorkerProcess(reader, writer, kill, wait)
    worker.sender = sender
    return await worker.handshake()


PR_SET_CHILD_SUBREAPER = 36


def _become_subreaper() -> None:
    """Keep every worker a descendant of this process, also after the process that forked it has ended.

    Forked workers are children of the fork server or of a sibling; when that one exits they would be
    re-parented to init and drop out of this process's tree — where operators (``ps``, cgroups) and the
    benchmarks (RSS/PSS of the service's tree) look for them. As a Linux "child subreaper" this process
    adopts them instead (and reaps them, ``_PidHandle.wait``). Elsewhere a no-op.
    """
    if not sys.platform.startswith("linux"):
        return
    with contextlib.suppress(OSError, AttributeError):
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


class _PidHandle:
    """Signals a forked worker through a pidfd where Linux has them, so a recycled pid is never hit."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.fd: int | None = None
        with contextlib.suppress(AttributeError, OSError):
            self.fd = os.pidfd_open(pid)

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError, OSError):
            if self.fd is not None:
                signal.pidfd_send_signal(self.fd, signal.SIGKILL)
            else:
                os.kill(self.pid, signal.SIGKILL)

    async def wait(self, reader: asyncio.StreamReader) -> None:
        """Until the worker is gone: its pidfd turns readable (else: its socket reaches EOF)."""
        try:
            if self.fd is None:
                with contextlib.suppress(ConnectionError):
                    while await reader.read(65536):
                        pass
                return
            loop = asyncio.get_running_loop()
            gone = loop.create_future()
            loop.add_reader(self.fd, lambda: gone.done() or gone.set_result(None))
            try:
                await gone
            finally:
                loop.remove_reader(self.fd)
        finally:
            if self.fd is not None:
                os.close(self.fd)
                self.fd = None
            with contextlib.suppress(ChildProcessError, OSError):
                os.waitpid(self.pid, os.WNOHANG)  # adopted by this subreaper: no zombie left behind


class EmbeddedStore(Store):
    """pyoxigraph behind a pool of worker processes with per-query deadlines."""

    def __init__(self, built: BuiltStore, settings: Settings) -> None:
        self.built = built
        self.settings = settings
        self._config = {
            "store": str(built.oxigraph_path),
            "fragments": str(built.fragments_path),
            "isolate": not settings.allowed_service_endpoints,
            "prefixes": PREFIXES,
        }
        self.dumps_ready: asyncio.Event | None = None
        """Set when snapshot and dumps exist (None until ``start``)."""
        self.statistics_ready: asyncio.Event | None = None
        """Set when ``info`` carries the VoID statistics and the fragment index exists (None until ``start``)."""
        self._dumper: asyncio.subprocess.Process | None = None
        self._idle: asyncio.Queue[_WorkerProcess] = asyncio.Queue()
        self._all: set[_WorkerProcess] = set()
        self._cache = ResultCache(CACHE_ENTRY_BYTES, CACHE_TOTAL_BYTES)
        self._background: set[asyncio.Future] = set()
        self._forkserver: _ForkServer | None = None
        self._memory_ready = False
        """True once the in-memory copy is loaded: new workers are forked (from the fork server, later a sibling)."""
        self.isolated: bool | None = None

    @property
    def info(self) -> DatasetInfo:
        return self.built.info

    def _mirror_sources(self) -> str | None:
        """Where the fork server fills the in-memory copy from: the snapshot, or else the store's own input files."""
        if not self.settings.in_memory:
            return None
        return "snapshot" if self.built.snapshot_path.is_file() else "inputs"

    async def start(self) -> None:
        self.statistics_ready = asyncio.Event()
        self.dumps_ready = asyncio.Event()
        if self.built.statistics_ready:
            self.statistics_ready.set()
        if self.built.extras_ready:
            self.dumps_ready.set()
        # Statistics before the in-memory copy: VoID, the home page and the self-description wait for the
        # statistics, while queries are already answered by on-disk workers. Side by side, the fork server
        # (~5 s of parsing at 1M triples) and the statistics (~2.6 s on two threads) shared this 2-core VM,
        # and the pages came ~3 s later than when the statistics were still part of the build.
        if self.statistics_ready.is_set():
            await self._load_copy()  # else once the dumper has the statistics (``_write_extras``)
        workers = await asyncio.gather(*(self._spawn() for _ in range(max(1, self.settings.workers))))
        if not (self.statistics_ready.is_set() and self.dumps_ready.is_set()):
            # after the first workers: the dumper's statistics (normal priority) would delay their start
            self._run_in_background(self._write_extras())
        self.isolated = all(w.isolated for w in workers)
        if not self.isolated and self._config["isolate"]:
            log.warning("Abfrage-Prozesse ohne Netz-Isolation (Plattform erlaubt kein unshare) / "
                        "query workers are not network-isolated on this platform")

    def _run_in_background(self, job: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(job)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _load_copy(self) -> None:
        """Start a fork server that loads the in-memory copy, unless the copy is loaded or loading (or off)."""
        mirror = self._mirror_sources()
        if mirror is None or self._memory_ready or (self._forkserver is not None and self._forkserver.running):
            return
        _become_subreaper()
        self._forkserver = await _ForkServer.start({**self._config, "mirror": mirror})
        self._run_in_background(self._switch_to_memory(self._forkserver))

    async def _switch_to_memory(self, server: _ForkServer) -> None:
        """Once the fork server holds the copy, replace the on-disk workers: idle ones now, busy ones when done."""
        try:
            ready = await server.ready()
        except StoreError as exc:
            log.warning("Keine Kopie im Speicher, Abfragen laufen auf dem Datenträger (langsamer) / no in-memory "
                        "copy, queries run on the on-disk store (slower): %s", exc.message)
            return
        log.info("Kopie im Speicher bereit / in-memory copy ready (%s quads, %.1f s)", ready["quads"],
                 ready["seconds"])
        self._memory_ready = True
        idle: list[_WorkerProcess] = []
        while not self._idle.empty():
            idle.append(self._idle.get_nowait())
        for worker in idle:
            self._release(worker)

    async def _write_extras(self) -> None:
        """Statistics, then snapshot and dumps, in a background process (the dumps at a lower CPU priority).

        The service answers meanwhile. The dumper reports the statistics with one line on its stdout
        (``dumper.STATISTICS_READY``) rather than the parent polling for files: the parent learns at once,
        no timer runs for the life of the service, and the pipe's end-of-file says that the dumper is
        gone. The line is only a wake-up call; what counts is ``dataset.json``, read again here.
        """
        assert self.dumps_ready is not None and self.statistics_ready is not None
        began = time.monotonic()
        try:
            self._dumper = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "digiregion.store.dumper", str(self.built.path),
                stdout=asyncio.subprocess.PIPE)
            assert self._dumper.stdout is not None
            async for line in self._dumper.stdout:
                if line.strip() == STATISTICS_READY.encode() and not self.statistics_ready.is_set():
                    self._statistics_written(began)
                    await self._load_copy()
            code = await self._dumper.wait()
        except asyncio.CancelledError:
            raise
        except Exception:  # pragma: no cover - logged; the dumps stay unavailable (503) until a restart
            log.exception("Dumps konnten nicht geschrieben werden / could not write the dumps")
            await self._load_copy()
            return
        await self._load_copy()
        if not self.statistics_ready.is_set():
            log.error("Statistik fehlt / statistics missing (dumper exit %s): VoID antwortet 503 bis zum "
                      "Neustart / VoID answers 503 until a restart", code)
        if code == 0 and self.built.extras_ready:
            log.info("Dumps bereit / dumps ready after %.1f s", time.monotonic() - began)
            self.dumps_ready.set()
        elif code is not None and code >= 0:
            log.error("Dumps fehlgeschlagen / writing the dumps failed (exit %s)", code)

    def _statistics_written(self, began: float) -> None:
        """Take the completed ``dataset.json`` as ``info`` (same data version: ETags stay valid)."""
        assert self.statistics_ready is not None
        try:
            info = DatasetInfo.from_json((self.built.path / INFO_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError, TypeError, KeyError):
            log.exception("dataset.json nicht lesbar / cannot read dataset.json")
            return
        built = BuiltStore(self.built.path, info)
        if built.statistics_ready and info.version == self.built.info.version:
            self.built = built
            self.statistics_ready.set()
            log.info("Statistik bereit / statistics ready after %.1f s", time.monotonic() - began)

    async def _spawn(self) -> _WorkerProcess:
        worker = await self._new_worker()
        self._all.add(worker)
        self._release(worker)  # an on-disk worker that arrives after the copy became ready is replaced at once
        await self._retire_forkserver()
        return worker

    async def _new_worker(self) -> _WorkerProcess:
        """Forked from the fork server while it runs, later from an idle sibling; else a fresh on-disk worker.

        Forking from a sibling (rather than keeping the fork server and its copy for the whole life of the
        service) matters for memory: pyoxigraph writes a lock word in every quad a query visits, so after
        a pass of the benchmark mix a worker has made ~80 % of the shared pages its own (1M triples: 275 of
        340 MB). A fork server kept alive would add a third copy to the workers' two.
        """
        if self._memory_ready:
            server = self._forkserver
            try:
                if server is not None and server.running:
                    return await server.fork()
                sibling = await self._borrow_sibling()
                if sibling is not None:
                    try:
                        return await sibling.fork()
                    finally:
                        (self._replace if sibling.exited else self._release)(sibling)
            except (StoreError, OSError, RuntimeError) as exc:
                log.warning("Fork fehlgeschlagen, neuer Prozess auf dem Datenträger / fork failed, starting an "
                            "on-disk worker: %s", exc)
            self._memory_ready = False  # nothing in memory to fork from: load the copy again
            await self._load_copy()
        return await _WorkerProcess.spawn(self._config)

    async def _borrow_sibling(self, patience: float = 30.0) -> _WorkerProcess | None:
        """An idle in-memory worker taken out of the pool (waiting while all of them are busy), or None."""
        deadline = time.monotonic() + patience
        while time.monotonic() < deadline:
            if not any(w.in_memory and not w.exited for w in self._all):
                return None
            others: list[_WorkerProcess] = []
            found = None
            while not self._idle.empty():
                candidate = self._idle.get_nowait()
                if found is None and candidate.in_memory and not candidate.exited:
                    found = candidate
                else:
                    others.append(candidate)
            for other in others:
                self._idle.put_nowait(other)
            if found is not None:
                return found
            await asyncio.sleep(0.02)
        return None

    async def _retire_forkserver(self) -> None:
        """Once every worker is forked from the copy, the fork server's own copy is only dead weight."""
        server = self._forkserver
        if (server is not None and self._memory_ready and len(self._all) >= max(1, self.settings.workers)
                and all(w.in_memory for w in self._all)):
            self._forkserver = None
            await server.close()
            log.info("Alle Abfrage-Prozesse im Speicher / all query workers answer from memory")

    async def close(self) -> None:
        for task in list(self._background):  # e.g. a copy still loading: no warning about it at shutdown
            task.cancel()
        if self._dumper is not None and self._dumper.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self._dumper.kill()
            await self._dumper.wait()
        for worker in list(self._all):
            worker.kill()
            await worker.wait()
        self._all.clear()
        if self._forkserver is not None:
            await self._forkserver.close()

    # -- pool ------------------------------------------------------------------------------------------------
    async def _acquire(self, deadline: float) -> _WorkerProcess:
        if not self._idle.empty():
            return self._idle.get_nowait()
        try:
            return await asyncio.wait_for(self._idle.get(), max(0.01, deadline - time.monotonic()))
        except TimeoutError as exc:
            raise StoreBusy(
                "Alle Abfrage-Prozesse sind belegt; bitte später erneut versuchen. / "
                "All query workers are busy; please retry later.") from exc

    def _release(self, worker: _WorkerProcess) -> None:
        if self._memory_ready and not worker.in_memory:
            self._replace(worker)  # an on-disk worker from before the copy was ready: a forked one takes over
        else:
            self._idle.put_nowait(worker)

    def _replace(self, worker: _WorkerProcess) -> None:
        """Kill a worker that ran over its deadline (or whose client left) and start a fresh one."""
        worker.kill()
        self._all.discard(worker)
        task = asyncio.get_running_loop().create_task(self._respawn(worker))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _respawn(self, old: _WorkerProcess) -> None:
        await old.wait()
        try:
            await self._spawn()
        except Exception:  # pragma: no cover - logged, the pool shrinks instead of crashing the app
            log.exception("Ersatz-Prozess konnte nicht gestartet werden / could not start a replacement worker")

    async def _recv(self, worker: _WorkerProcess, deadline: float, timeout: float) -> tuple[bytes, bytes]:
        remaining = deadline - time.monotonic()
        try:
            if remaining <= 0:
                raise TimeoutError
            async with asyncio.timeout(remaining):  # no extra task per frame, unlike wait_for
                return await worker.recv()
        except TimeoutError as exc:
            self._replace(worker)
            raise QueryTimeout(
                f"Abfrage nach {timeout:g} s abgebrochen (Zeitlimit). Bitte die Abfrage einschränken "
                f"(LIMIT, spezifischere Muster). / Query cancelled after {timeout:g} s (time limit). "
                "Please narrow the query (LIMIT, more specific patterns).") from exc
        except StoreError:
            self._replace(worker)
            raise

    # -- queries ---------------------------------------------------------------------------------------------
    async def query(self, request: QueryRequest) -> QueryResult:
        settings = self.settings
        info = check_request(request, self.settings, self.info.graphs)
        form = info.form or "SELECT"
        media_type = RESULT_MEDIA_TYPES[request.result_format]
        key = (request.text, request.result_format, tuple(request.default_graph_uris),
               tuple(request.named_graph_uris))
        cached = self._cache.get(key)
        if cached is not None:
            return QueryResult(cached[0], media_type, _once(cached[1]), complete=cached[1])
        timeout = request.timeout or settings.query_timeout
        deadline = time.monotonic() + timeout
        text = engine_text(request.text)
        worker = await self._acquire(deadline)
        try:
            await worker.send({
                "op": "query", "text": text, "original": request.text if text != request.text else None,
                "format": request.result_format, "form": form,
                "base_iri": settings.base_iri, "default_graph_uris": list(request.default_graph_uris),
                "named_graph_uris": list(request.named_graph_uris),
                "max_bytes": settings.max_result_bytes, "max_rows": settings.max_result_rows,
            })
        except (ConnectionError, OSError) as exc:
            self._replace(worker)
            raise StoreError("Abfrage-Prozess nicht erreichbar / query worker unreachable") from exc
        held = bytearray()
        while True:
            tag, payload = await self._recv(worker, deadline, timeout)
            if tag == b"H":
                continue
            if tag == b"E":
                self._release(worker)
                raise _worker_error(json.loads(payload), settings)
            if tag == b"Z":
                self._release(worker)
                body = bytes(held)
                self._cache.put(key, form, body)
                return QueryResult(form, media_type, _once(body), complete=body)
            held += payload
            if len(held) >= HOLD_BYTES:
                return QueryResult(form, media_type,
                                   self._stream(worker, bytes(held), deadline, timeout, key, form))

    async def _stream(self, worker: _WorkerProcess, first: bytes, deadline: float,
                      timeout: float, key: tuple, form: str) -> AsyncIterator[bytes]:
        finished = False
        kept: list[bytes] | None = [first]  # a copy for the cache while the result stays small enough
        size = len(first)
        try:
            yield first
            while True:
                tag, payload = await self._recv(worker, deadline, timeout)
                if tag == b"D":
                    if kept is not None:
                        size += len(payload)
                        if size <= self._cache.entry_bytes:
                            kept.append(payload)
                        else:
                            kept = None
                    yield payload
                elif tag == b"Z":
                    finished = True
                    self._release(worker)
                    if kept is not None:
                        self._cache.put(key, form, b"".join(kept))
                    return
                elif tag == b"E":
                    finished = True
                    self._release(worker)
                    raise _worker_error(json.loads(payload), self.settings)
        finally:
            if not finished and not worker.exited and worker in self._all:
                self._replace(worker)  # client went away mid-stream: the worker is still writing


    # -- Linked Data -----------------------------------------------------------------------------------------
    async def describe(self, iri: str, *, incoming: bool = False) -> Description:
        timeout = self.settings.query_timeout
        deadline = time.monotonic() + timeout
        worker = await self._acquire(deadline)
        await worker.send({"op": "describe", "iri": iri, "incoming": incoming,
                           "max_rows": self.settings.max_result_rows})
        tag, payload = await self._recv(worker, deadline, timeout)
        answer = json.loads(payload)
        self._release(worker)
        if tag == b"E":
            raise _worker_error(answer, self.settings)
        if answer["truncated"] and len(answer["triples"]) > self.settings.max_result_bytes:
            raise ResultTooLarge("Beschreibung zu groß / description too large")
        return Description(iri, answer["triples"], answer["labels"], answer["incoming"], answer["truncated"])


def engine_text(text: str) -> str:
    """The text pyoxigraph runs: bag semantics for ``p|q`` (the engine dedups), ``MINUS`` where faster.

    ``not_exists`` first, so that an alternative inside the new ``MINUS`` is left alone (removal does
    not depend on multiplicity).
    """
    return alternative_paths.rewrite(not_exists.rewrite(text))


def _worker_error(error: dict[str, str], settings: Settings) -> StoreError:
    code, message = error["code"], error["message"]
    if code == "syntax-error":
        return QuerySyntaxError(f"Syntaxfehler in der Abfrage / query syntax error: {message}")
    if code == "result-too-large":
        mib = settings.max_result_bytes / (1024 * 1024)
        return ResultTooLarge(
            f"Ergebnis größer als erlaubt ({mib:g} MiB bzw. {settings.max_result_rows} Tripel). Bitte LIMIT "
            f"verwenden oder die Dumps unter /dumps/ laden. / Result exceeds the limit ({mib:g} MiB or "
            f"{settings.max_result_rows} triples). Use LIMIT or download the dumps at /dumps/.")
    if "SERVICE" in message.upper() or "network" in message.lower():
        return QueryRefused(f"Abfrage verweigert / query refused: {message}")
    return StoreError(f"Fehler im Store / store error: {message}")


async def _once(body: bytes) -> AsyncIterator[bytes]:
    yield body
