"""A JSON answer the engine wrote, passed on from the event loop: the remote store's short way.

Most API queries to a Virtuoso-backed service are SELECT or ASK asking for SPARQL JSON, which the
service passes on as the engine wrote it after byte fixes (``EngineProfile.verbatim_json_replacements``).
Nothing in that needs a thread: the request is SPARQLWrapper's (``Endpoint.request``), errors are named
as SPARQLWrapper names them (``Endpoint.status_error``), and the bytes travel over ``loop_transport``.
A request that goes through a transfer thread instead wakes that thread and the event loop once more
and runs urllib's and ``http.client``'s Python; see docs/remote-engines.md ("Per-request overhead") for
what that costs and what this saves.

``LoopTransfer`` has the loop-side interface of ``streaming.Pipe`` (``get``, ``cancel``), so the remote
store holds, streams, caches and times out both alike. When the engine's answer is one this path does
not take (a redirect, another media type, an authentication challenge), it hands the query to the thread
path, which sends it again (queries are read-only) and handles every case; after a challenge the store
sends every later query that way too (``EngineConnections.challenged``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .base import StoreError
from .engines import EngineProfile
from .loop_transport import EngineConnection, EngineConnections
from .sparql_client import RESULTS_ACCEPT, Endpoint
from .streaming import Pipe, Rewriter, media_type

ERROR_BODY_BYTES = 64 * 1024
"""Of an engine's error answer, this much is read for the message (the rest closes the connection)."""


class LoopTransfer:
    """One engine answer read on the event loop; ``get`` gives ``D`` chunks, then ``Z`` (the rest) or ``E``."""

    def __init__(self, connections: EngineConnections, request: bytes, endpoint: Endpoint, profile: EngineProfile,
                 *, timeout: float, max_bytes: int, too_large: Callable[[], StoreError],
                 release: Callable[[], None], fallback: Callable[[], Pipe]) -> None:
        self._connections = connections
        self._request = request
        self._endpoint = endpoint
        self._profile = profile
        self._timeout = timeout
        self._max_bytes = max_bytes
        self._too_large = too_large
        self._release = release
        """Frees the caller's engine slot; called once, when the transfer ends (or by the thread it hands over to)."""
        self._fallback = fallback
        self._answers_challenges = bool(endpoint.credentials) and endpoint.auth != "basic"
        """Credentials that wait for the engine's challenge (``auto``, ``digest``): only urllib's auth handlers
        on the thread path can answer one."""
        self._rewriter = Rewriter(rewrite_bnodes=True, replacements=profile.verbatim_json_replacements or ())
        self._connection: EngineConnection | None = None
        self._thread: Pipe | None = None
        self._size = 0
        self._ended = False

    async def get(self) -> tuple[str, Any]:
        if self._thread is not None:
            return await self._thread.get()
        try:
            if self._connection is None:
                failure = await self._open()
                if failure is not None:
                    return self._end("E", failure)
                if self._thread is not None:
                    return await self._thread.get()
            return await self._next()
        except StoreError as exc:
            return self._end("E", exc)
        except OSError as exc:
            return self._end("E", self._endpoint.store_error(exc, self._timeout))
        except BaseException:  # cancelled (deadline, client gone): the connection cannot be reused
            self.cancel()
            raise

    def cancel(self) -> None:
        if self._thread is not None:
            self._thread.cancel()
            return
        if not self._ended:
            self._ended = True
            if self._connection is not None:
                self._connection.close()
            self._release()

    async def _open(self) -> StoreError | None:
        """Send the request and read the answer's head: an error, or None to go on (here or in a thread)."""
        connection = self._connection = await self._connections.exchange(self._request)
        status = connection.status
        if status == 401 and self._answers_challenges and "www-authenticate" in connection.headers:
            self._connections.challenged = True  # the thread path answers this and every later request
            self._hand_over()
            return None
        if 300 <= status < 400 or (200 <= status < 300 and
                                   media_type(connection.headers.get("content-type")) != RESULTS_ACCEPT):
            self._hand_over()
            return None
        if not 200 <= status < 300:
            body = await connection.read_all(ERROR_BODY_BYTES)
            return self._endpoint.status_error(status, connection.reason, body, self._timeout)
        try:
            self._profile.check_headers(connection.headers, self._timeout)
        except StoreError as exc:
            return exc
        return None

    async def _next(self) -> tuple[str, Any]:
        connection = self._connection
        assert connection is not None
        rewriter = self._rewriter
        while True:
            data = await connection.read()
            if data is None:
                return self._end("Z", rewriter.end())
            self._size += len(data)
            if self._size > self._max_bytes:
                return self._end("E", self._too_large())
            data = rewriter.feed(data)
            if connection.finished:
                rest = rewriter.end()
                return self._end("Z", data + rest if rest else data)
            if data:
                return "D", data

    def _end(self, tag: str, payload: Any) -> tuple[str, Any]:
        """The final item; the connection goes back to the pool if its answer was read to the end."""
        if not self._ended:
            self._ended = True
            if self._connection is not None:
                self._connections.release(self._connection)
            self._release()
        return tag, payload

    def _hand_over(self) -> None:
        """Let the thread path answer this query (it sends it again); the slot goes with it."""
        assert self._connection is not None
        self._connection.close()
        self._ended = True
        self._thread = self._fallback()
