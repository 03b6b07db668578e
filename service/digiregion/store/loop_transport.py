"""HTTP/1.1 to the engine on the event loop: kept-alive connections, no thread per request.

Why: in front of an engine that answers a point lookup in 2 ms, every request that goes through a
transfer thread wakes that thread and then the event loop again, and pays urllib's and ``http.client``'s
Python on top (docs/remote-engines.md, "Per-request overhead"). For the answers the service passes on
as the engine wrote them (``loop_transfer``), the exchange runs here instead: asyncio's transport sends
the request SPARQLWrapper built, httptools (the parser the web server uses too) reads the answer.

This is deliberately not a general HTTP client. It speaks to one engine origin over plain ``http``,
sends one request per connection at a time, follows no redirects and answers no authentication
challenge (Basic credentials go up front in the request SPARQLWrapper built); ``loop_transfer`` hands
every such case to the thread path. The rules that keep connection reuse safe are ``keepalive``'s:

* a connection goes back to the pool only when its answer was read to the end and the engine did
  not ask to close it; an answer abandoned early (client gone, deadline, result cap) closes it;
* an idle connection the engine closed meanwhile is dropped; if the engine closes a reused
  connection before answering, the request is sent once more on a new one (queries are read-only);
* ``TCP_QUICKACK`` whenever a piece of an unfinished answer arrives (Linux): Virtuoso writes without
  ``TCP_NODELAY``, so a piece would otherwise wait for the client's delayed ACK (40 ms).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
import urllib.request
from typing import Any
from urllib.parse import urlsplit

import httptools

from .keepalive import IDLE_SECONDS, MAX_IDLE_PER_HOST

READ_AHEAD = 256 * 1024
"""Bytes of an answer buffered before the connection stops reading (until the consumer takes them)."""
SKIPPED_HEADERS = frozenset({"host", "content-length", "connection", "transfer-encoding"})
QUICKACK = getattr(socket, "TCP_QUICKACK", None)


class EngineClosed(ConnectionError):
    """The engine closed the connection before or while answering."""

    def __init__(self, message: str, *, before_answer: bool) -> None:
        super().__init__(message)
        self.before_answer = before_answer


class Headers(dict[str, str]):
    """Response headers by lower-cased name (repeated fields joined with ``,``); ``get`` ignores case
    like ``http.client``'s message, which the engine profiles' checks were written against."""

    def get(self, name: str, default: Any = None) -> Any:  # type: ignore[override]
        return dict.get(self, name.lower(), default)

    def __getitem__(self, name: str) -> str:
        return dict.__getitem__(self, name.lower())


def request_bytes(request: urllib.request.Request, host: str) -> bytes:
    """A urllib request (as SPARQLWrapper builds it) as the bytes of one HTTP/1.1 request."""
    body = request.data or b""
    if not isinstance(body, bytes):
        raise TypeError("only a request body in bytes can be sent on the event loop")
    lines = [f"{request.get_method()} {request.selector or '/'} HTTP/1.1", f"Host: {host}"]
    if body or request.get_method() == "POST":
        lines.append(f"Content-Length: {len(body)}")
    for name, value in request.header_items():
        if name.lower() in SKIPPED_HEADERS:
            continue
        if "\r" in value or "\n" in value or "\r" in name or "\n" in name:
            raise ValueError(f"invalid header {name!r}")  # as http.client refuses them
        lines.append(f"{name}: {value}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


class EngineConnection(asyncio.Protocol):
    """One TCP connection to the engine and the answer currently arriving on it."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.idle_since = 0.0
        self._socket: Any = None
        self.reset()

    def reset(self) -> None:
        """Fresh state for the next answer."""
        self._parser = httptools.HttpResponseParser(self)
        self.status = 0
        self.reason = ""
        self.headers = Headers()
        self.head: asyncio.Future[None] = self.loop.create_future()
        self.complete = False
        self.keep_alive = False
        self._received = False
        self._body: list[bytes] = []
        self._buffered = 0
        self._paused = False
        self._ends_with_close = False
        self._error: BaseException | None = None
        self._wake: asyncio.Future[None] | None = None

    # -- asyncio protocol ----------------------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self._socket = transport.get_extra_info("socket")

    def data_received(self, data: bytes) -> None:
        self._received = True
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(EngineClosed(f"unreadable HTTP answer ({exc})", before_answer=False))
            self.close()
            return
        if not self.complete and QUICKACK is not None and self._socket is not None:
            with contextlib.suppress(OSError):
                self._socket.setsockopt(socket.IPPROTO_TCP, QUICKACK, 1)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.complete:
            return
        if self.head.done() and self._ends_with_close and self._error is None:
            self.complete = True  # a body without length or chunks ends where the connection does
            self._notify()
            return
        self._fail(EngineClosed("the engine closed the connection" + (f" ({exc})" if exc else ""),
                                before_answer=not self._received))

    def eof_received(self) -> bool:
        return False  # close our side too; connection_lost decides what the end means

    # -- httptools callbacks ---------------------------------------------------------------------------------
    def on_status(self, reason: bytes) -> None:
        self.reason = reason.decode("latin-1")

    def on_header(self, name: bytes, value: bytes) -> None:
        key = name.decode("latin-1").lower()
        text = value.decode("latin-1")
        previous = dict.get(self.headers, key)
        self.headers[key] = text if previous is None else f"{previous}, {text}"

    def on_headers_complete(self) -> None:
        self.status = self._parser.get_status_code()
        chunked = "chunked" in self.headers.get("transfer-encoding", "").lower()
        self._ends_with_close = not chunked and "content-length" not in self.headers
        if not self.head.done():
            self.head.set_result(None)

    def on_body(self, body: bytes) -> None:
        self._body.append(body)
        self._buffered += len(body)
        if self._buffered > READ_AHEAD and not self._paused and self.transport is not None:
            self._paused = True
            self.transport.pause_reading()
        self._notify()

    def on_message_complete(self) -> None:
        self.complete = True
        self.keep_alive = self._parser.should_keep_alive()
        self._notify()

    # -- the consumer's side ---------------------------------------------------------------------------------
    def send(self, data: bytes) -> None:
        assert self.transport is not None
        self.transport.write(data)

    async def read(self) -> bytes | None:
        """The body bytes that arrived since the last call (waits for some); None after the end."""
        while not self._body:
            if self._error is not None:
                raise self._error
            if self.complete:
                return None
            self._wake = self.loop.create_future()
            try:
                await self._wake
            finally:
                self._wake = None
        body = self._body
        data = body[0] if len(body) == 1 else b"".join(body)
        body.clear()
        self._buffered = 0
        if self._paused and self.transport is not None:
            self._paused = False
            self.transport.resume_reading()
        return data

    @property
    def finished(self) -> bool:
        """The whole answer has arrived and been taken by ``read``."""
        return self.complete and not self._body

    async def read_all(self, limit: int) -> bytes:
        """The rest of the body, up to ``limit`` bytes (for an error's explanation)."""
        pieces: list[bytes] = []
        size = 0
        while size < limit and (piece := await self.read()) is not None:
            pieces.append(piece)
            size += len(piece)
        return b"".join(pieces)[:limit]

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()

    def _notify(self) -> None:
        if self._wake is not None and not self._wake.done():
            self._wake.set_result(None)

    def _fail(self, error: BaseException) -> None:
        self._error = error
        if not self.head.done():
            self.head.set_exception(error)
            self.head.exception()  # retrieved: nobody may be waiting for the head any more
        self._notify()


class EngineConnections:
    """The kept-alive connections to one ``http`` engine origin, for the event loop they were made on."""

    def __init__(self, url: str, max_idle: int = MAX_IDLE_PER_HOST, idle_seconds: float = IDLE_SECONDS) -> None:
        parts = urlsplit(url)
        if parts.scheme != "http" or not parts.hostname:
            raise ValueError(f"only http:// endpoints are reached from the event loop, not {url!r}")
        self.host = parts.hostname
        self.port = parts.port or 80
        self.host_header = parts.netloc.rpartition("@")[2]
        self.max_idle = max_idle
        self.idle_seconds = idle_seconds
        self._idle: list[EngineConnection] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self.challenged = False
        """Set once the engine asked for credentials: they can only be answered on the thread path."""

    async def exchange(self, data: bytes) -> EngineConnection:
        """Send one request; return its connection once the answer's head has arrived."""
        for attempt in range(2):
            connection, reused = await self._connection()
            connection.send(data)
            try:
                await connection.head
            except EngineClosed as exc:
                connection.close()
                if reused and exc.before_answer and attempt == 0:
                    continue  # the engine closed the idle connection just as it was reused
                raise
            except BaseException:
                connection.close()
                raise
            return connection
        raise AssertionError("unreachable")

    def release(self, connection: EngineConnection) -> None:
        """Keep the connection for the next request if its answer was read to the end, else close it."""
        if connection.closed or not connection.finished or not connection.keep_alive \
                or self._loop is not connection.loop or len(self._idle) >= self.max_idle:
            connection.close()
            return
        connection.reset()
        connection.idle_since = time.monotonic()
        self._idle.append(connection)

    def close(self) -> None:
        idle, self._idle = self._idle, []
        for connection in idle:
            connection.close()

    async def _connection(self) -> tuple[EngineConnection, bool]:
        loop = asyncio.get_running_loop()
        if self._loop is not loop:  # connections belong to the loop that made them
            self.close()
            self._loop = loop
        now = time.monotonic()
        while self._idle:
            connection = self._idle.pop()
            if not connection.closed and now - connection.idle_since < self.idle_seconds:
                return connection, True
            connection.close()
        _, connection = await loop.create_connection(lambda: EngineConnection(loop), self.host, self.port)
        return connection, False
