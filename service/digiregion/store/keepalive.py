"""Kept-alive HTTP connections for the urllib requests SPARQLWrapper makes to the engine.

Why: urllib, which SPARQLWrapper sits on, opens a new TCP connection for every request and sends
``Connection: close``; SPARQLWrapper with credentials also builds (and installs process-wide) a new
urllib opener per request. For a millisecond query that fixed cost was a large part of the
per-request overhead of ``digiregion serve --store`` in front of Virtuoso (see
docs/remote-engines.md, "Per-request overhead"). This module gives ``sparql_client`` one opener per
endpoint whose HTTP(S) handler reuses idle connections from a small process-wide pool.

Rules that keep reuse safe:

* a connection goes back to the pool only when its response was read to the very end and closed
  and the engine did not ask to close it; a response closed early (client gone, deadline, result
  cap) takes its connection with it, so no unread bytes can leak into the next answer;
* an idle connection that the engine has closed meanwhile (keep-alive timeout) is noticed before
  reuse (readable socket = EOF) and dropped; if the engine closes it in the very moment of reuse,
  the request is sent once more on a new connection (queries are read-only, so a repeat is harmless);
* the pool is forgotten in a forked child (the parent's sockets are not the child's to use);
* ``TCP_QUICKACK`` after sending and before every read while the body has bytes left (Linux): Virtuoso writes an answer in pieces
  without ``TCP_NODELAY``, so on a kept-alive connection a piece waits for the client's delayed ACK
  (40 ms on Linux). Measured on Virtuoso 7.2.5: a 31 KB answer took 52 ms instead of 11 ms, a 1.8 MB
  answer 219 ms instead of 129 ms; acknowledging at once removes the stall (a new connection per
  request never had it: the engine's close pushes the data out).
"""

from __future__ import annotations

import contextlib
import http.client
import os
import select
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

MAX_IDLE_PER_HOST = 32
IDLE_SECONDS = 5.0
"""Idle connections older than this are closed instead of reused: engines drop idle keep-alive
connections after a few seconds (Virtuoso: ``KeepAliveTimeout``, 10 s by default)."""
DRAIN_BYTES = 64 * 1024
"""An authentication challenge's body up to this size is read, so its connection can be reused."""

RETRYABLE = (http.client.RemoteDisconnected, ConnectionResetError, ConnectionAbortedError, BrokenPipeError)
"""Errors that mean "the engine closed the idle connection just now", not "the request failed"."""

Key = tuple[str, str, str | None]


class ConnectionPool:
    """Idle HTTP connections by (scheme, host:port, tunnel); thread-safe, bounded, expiring."""

    def __init__(self, max_idle: int = MAX_IDLE_PER_HOST, idle_seconds: float = IDLE_SECONDS) -> None:
        self.max_idle = max_idle
        self.idle_seconds = idle_seconds
        self._idle: dict[Key, list[tuple[float, http.client.HTTPConnection]]] = {}
        self._lock = threading.Lock()

    def take(self, key: Key) -> http.client.HTTPConnection | None:
        """The most recently used live idle connection for ``key``, or None."""
        now = time.monotonic()
        while True:
            with self._lock:
                idle = self._idle.get(key)
                if not idle:
                    return None
                since, conn = idle.pop()
            if now - since < self.idle_seconds and _alive(conn):
                return conn
            conn.close()

    def give(self, key: Key, conn: http.client.HTTPConnection) -> None:
        """Keep ``conn`` for the next request (or close it when the pool for ``key`` is full)."""
        if conn.sock is None:
            return
        with self._lock:
            idle = self._idle.setdefault(key, [])
            if len(idle) < self.max_idle:
                idle.append((time.monotonic(), conn))
                return
        conn.close()

    def clear(self) -> None:
        """Close every idle connection (tests, shutdown)."""
        with self._lock:
            idle, self._idle = self._idle, {}
        for entries in idle.values():
            for _, conn in entries:
                conn.close()

    def forget(self) -> None:
        """Drop the idle connections without touching their sockets (a forked child)."""
        self._idle = {}
        self._lock = threading.Lock()

    def idle_count(self) -> int:
        with self._lock:
            return sum(len(entries) for entries in self._idle.values())


POOL = ConnectionPool()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=POOL.forget)


def _alive(conn: http.client.HTTPConnection) -> bool:
    """An idle connection must have nothing to read: readable means the engine closed it (EOF)."""
    sock = conn.sock
    if sock is None:
        return False
    try:
        poller = select.poll()
        poller.register(sock, select.POLLIN)
        return not poller.poll(0)
    except (OSError, ValueError):
        return False


QUICKACK: int | None = getattr(socket, "TCP_QUICKACK", None)  # Linux only


def quickack(sock: socket.socket | None) -> None:
    """Acknowledge the next segments at once instead of after the delayed-ACK timer (see module doc)."""
    if QUICKACK is not None and sock is not None:
        with contextlib.suppress(OSError):  # closed meanwhile (cancelled): nothing to acknowledge
            sock.setsockopt(socket.IPPROTO_TCP, QUICKACK, 1)


class PooledResponse(http.client.HTTPResponse):
    """A response that hands its connection back to the pool when it is closed after its last byte."""

    def __init__(self, sock: socket.socket, *args: Any, **kwargs: Any) -> None:
        super().__init__(sock, *args, **kwargs)
        self._socket = sock

    def read(self, amt: int | None = None) -> bytes:
        if self.fp is not None:  # after the last byte (fp dropped) there is nothing left to acknowledge
            quickack(self._socket)
        return super().read(amt)

    def readinto(self, b: Any) -> int:
        if self.fp is not None:
            quickack(self._socket)
        return super().readinto(b)

    def close(self) -> None:
        complete = self.fp is None  # http.client drops fp exactly when the body has ended
        try:
            super().close()
        finally:
            release: Callable[[bool], None] | None = self.__dict__.pop("_release", None)  # atomic: once
            if release is not None:
                release(complete and not self.will_close)


def _send(pool: ConnectionPool, key: Key, connect: Callable[[], http.client.HTTPConnection],
          req: urllib.request.Request) -> http.client.HTTPResponse:
    """``AbstractHTTPHandler.do_open`` without ``Connection: close``, on a pooled connection."""
    headers = dict(req.unredirected_hdrs)
    headers.update({k: v for k, v in req.headers.items() if k not in headers})
    headers = {name.title(): value for name, value in headers.items() if name.title() != "Connection"}
    tunnel = req._tunnel_host  # type: ignore[attr-defined]
    tunnel_headers = {}
    if tunnel and "Proxy-Authorization" in headers:  # never sent to the engine itself
        tunnel_headers["Proxy-Authorization"] = headers.pop("Proxy-Authorization")
    timeout = None if req.timeout is socket._GLOBAL_DEFAULT_TIMEOUT else req.timeout  # type: ignore[attr-defined]
    for attempt in (0, 1):
        conn = pool.take(key) if attempt == 0 else None
        reused = conn is not None
        if conn is None:
            conn = connect()
            conn.response_class = PooledResponse
            if tunnel:
                conn.set_tunnel(tunnel, headers=tunnel_headers)
        elif conn.sock is not None:
            conn.sock.settimeout(timeout)
        try:
            response = _exchange(conn, req, headers)
        except RETRYABLE:
            conn.close()
            if reused:
                continue  # the engine had just closed the idle connection: once more on a new one
            raise
        except BaseException:
            conn.close()
            raise
        response._release = lambda complete, conn=conn: (  # type: ignore[attr-defined]
            pool.give(key, conn) if complete else conn.close())
        response.url = req.get_full_url()  # type: ignore[attr-defined]
        response.msg = response.reason  # type: ignore[assignment]
        return response
    raise AssertionError("unreachable")


def _exchange(conn: http.client.HTTPConnection, req: urllib.request.Request,
              headers: dict[str, str]) -> http.client.HTTPResponse:
    try:
        if conn.sock is None:
            conn.connect()  # http.client sets TCP_NODELAY itself
        conn.request(req.get_method(), req.selector, req.data, headers,
                     encode_chunked=req.has_header("Transfer-encoding"))
        quickack(conn.sock)
    except RETRYABLE:
        raise
    except OSError as err:  # as urllib does: a failed connect or send (refused, timeout) is a URLError
        raise urllib.error.URLError(err) from None
    return conn.getresponse()


class KeepAliveHTTPHandler(urllib.request.HTTPHandler):
    """``http:`` through the pool (replaces urllib's HTTPHandler in ``build_opener``)."""

    def __init__(self, pool: ConnectionPool = POOL) -> None:
        super().__init__()
        self.pool = pool

    def http_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        if not req.host:
            raise urllib.error.URLError("no host given")

        def connect() -> http.client.HTTPConnection:
            return http.client.HTTPConnection(req.host, timeout=req.timeout)

        return _send(self.pool, ("http", req.host, req._tunnel_host), connect, req)  # type: ignore[attr-defined]


class KeepAliveHTTPSHandler(urllib.request.HTTPSHandler):
    """``https:`` through the pool, with urllib's default certificate checks."""

    def __init__(self, pool: ConnectionPool = POOL, context: Any = None) -> None:
        super().__init__(context=context)
        self.pool = pool

    def https_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        if not req.host:
            raise urllib.error.URLError("no host given")
        context = self._context  # type: ignore[attr-defined]

        def connect() -> http.client.HTTPConnection:
            return http.client.HTTPSConnection(req.host, timeout=req.timeout, context=context)

        return _send(self.pool, ("https", req.host, req._tunnel_host), connect, req)  # type: ignore[attr-defined]


class ChallengeAuthHandler(urllib.request.BaseHandler):
    """Answer the engine's 401 challenge with Digest or Basic, whichever it asks for (``store_auth=auto``).

    urllib's own handlers each fail with a ``ValueError`` on the other's challenge, so one of them alone
    cannot serve ``auto``. Nothing is sent before the engine asks. The challenge's body is read first
    (bounded), so its connection can carry the answer.
    """

    handler_order = 480  # before urllib's own auth handlers, should any be added

    def __init__(self, passwords: urllib.request.HTTPPasswordMgr) -> None:
        self._digest = urllib.request.HTTPDigestAuthHandler(passwords)
        self._basic = urllib.request.HTTPBasicAuthHandler(passwords)

    def add_parent(self, parent: urllib.request.OpenerDirector) -> None:
        super().add_parent(parent)
        self._digest.add_parent(parent)
        self._basic.add_parent(parent)

    def http_error_401(self, req: urllib.request.Request, fp: Any, code: int, msg: str, headers: Any) -> Any:
        schemes = [value.split(None, 1)[0].lower() for value in headers.get_all("www-authenticate") or []
                   if value.strip()]
        if fp is not None:
            fp.read(DRAIN_BYTES)
            fp.close()
        if schemes and schemes[0] == "digest":
            return self._digest.http_error_401(req, fp, code, msg, headers)
        if schemes and schemes[0] == "basic":
            return self._basic.http_error_401(req, fp, code, msg, headers)
        return None
