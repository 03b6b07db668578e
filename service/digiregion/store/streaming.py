"""Move a remote engine's answer through pyoxigraph to the client without holding it in memory.

A transfer runs in a thread (SPARQLWrapper and pyoxigraph block): it reads the engine's response,
parses it with pyoxigraph (SPARQL JSON results, or N-Triples/Turtle for graphs), re-serialises it in
the format the client negotiated, and hands the bytes to the event loop through a small bounded
queue, so a slow client slows the transfer down instead of filling memory. Re-serialising is what
makes every backend speak the same ten formats with the same exact terms (the engine's own CSV/TSV,
JSON-LD or TriG support varies), and it checks the engine's output on the way.

Cancellation (deadline, client gone) sets a flag the thread checks on every read and write, and
closes the engine response.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import re
import threading
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import pyoxigraph as ox

CHUNK = 64 * 1024
PIPE_DEPTH = 8

RESULTS_FORMATS = {
    "json": ox.QueryResultsFormat.JSON, "xml": ox.QueryResultsFormat.XML,
    "csv": ox.QueryResultsFormat.CSV, "tsv": ox.QueryResultsFormat.TSV,
}
RDF_FORMATS = {
    "turtle": ox.RdfFormat.TURTLE, "n-triples": ox.RdfFormat.N_TRIPLES, "json-ld": ox.RdfFormat.JSON_LD,
    "rdf-xml": ox.RdfFormat.RDF_XML, "trig": ox.RdfFormat.TRIG, "n-quads": ox.RdfFormat.N_QUADS,
}
_BNODE = re.compile(
    rb'("type"\s*:\s*"bnode"\s*,\s*"value"\s*:\s*")([^"]*)(")'
    rb'|("value"\s*:\s*")([^"]*)("\s*,\s*"type"\s*:\s*"bnode")')


class Cancelled(Exception):
    """The transfer was stopped from the event loop (deadline or client gone)."""


class ResultLimit(Exception):
    """The serialised result grew past the configured cap."""


class Flag:
    """A switch the event loop sets and a transfer thread reads: ``threading.Event`` without its lock and
    condition variable, which nobody waits on here (an ``Event`` took ~3 µs to create, per query)."""

    __slots__ = ("_on",)

    def __init__(self) -> None:
        self._on = False

    def set(self) -> None:
        self._on = True

    def is_set(self) -> bool:
        return self._on


class Pipe:
    """Chunks from a transfer thread to the event loop; bounded, cancellable from either side.

    The thread hands a chunk over with ``call_soon_threadsafe`` and goes on at once; a semaphore
    (released by the loop as it takes a chunk) holds it back when ``PIPE_DEPTH`` chunks are in flight.
    Why not ``run_coroutine_threadsafe`` + wait: that costs a round trip between the threads per chunk
    (thread → loop → thread), about as long as a whole millisecond query on a busy machine. The final
    item (``Z`` or ``E``) never waits for room, so most answers — one final item — need no semaphore,
    which is made only for the first ``D`` chunk.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        self.cancelled = Flag()
        self.response: Any = None
        self.finished = False
        """Set by the thread once it has put the final item."""
        self._room: threading.Semaphore | None = None

    def put(self, tag: str, payload: Any = None) -> None:
        """Thread side: hand an item over (a ``D`` chunk waits for room), giving up when cancelled."""
        if self.cancelled.is_set():
            raise Cancelled
        if tag == "D":
            if self._room is None:
                self._room = threading.Semaphore(PIPE_DEPTH)  # before the chunk is sent: ``get`` sees it
            while not self._room.acquire(timeout=0.25):
                if self.cancelled.is_set():
                    raise Cancelled
        else:
            self.finished = True
        try:
            self.loop.call_soon_threadsafe(self.queue.put_nowait, (tag, payload))
        except RuntimeError:  # the loop is gone (shutdown): nobody is reading any more
            raise Cancelled from None

    async def get(self) -> tuple[str, Any]:
        """Loop side: the next ``(tag, payload)``; a chunk taken makes room for the thread."""
        item = await self.queue.get()
        if item[0] == "D":
            self._room.release()  # type: ignore[union-attr]
        return item

    def cancel(self) -> None:
        self.cancelled.set()
        response = self.response
        if response is not None:
            with contextlib.suppress(Exception):
                response.close()


class Sink(io.RawIOBase):
    """The file pyoxigraph serialises into: counts bytes against the cap and forwards chunks."""

    def __init__(self, pipe: Pipe, max_bytes: int) -> None:
        super().__init__()
        self.pipe = pipe
        self.max_bytes = max_bytes
        self.total = 0
        self.exceeded = False
        self._buffer = bytearray()

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        if self.pipe.cancelled.is_set():
            raise Cancelled
        size = len(data)
        self.total += size
        if self.total > self.max_bytes:
            self.exceeded = True
            raise ResultLimit
        if not self._buffer and size >= CHUNK and type(data) is bytes:
            self.pipe.put("D", data)  # a whole piece (the verbatim path): handed over without a copy
            return size
        self._buffer += data
        if len(self._buffer) >= CHUNK:
            self.flush_chunks()
        return size

    def flush_chunks(self) -> None:
        if self._buffer:
            self.pipe.put("D", self.take())

    def take(self) -> bytes:
        """The bytes not yet handed over (the last chunk travels with the end mark: one hand-over less)."""
        data = bytes(self._buffer)
        self._buffer.clear()
        return data


class Rewriter:
    """Makes an engine's answer parseable piece by piece: blank-node labels and a profile's replacements.

    Engines label blank nodes in SPARQL JSON as they like (Virtuoso: ``nodeID://b10003``), which is not
    a valid blank-node label for a strict parser. Labels are rewritten to ``[A-Za-z0-9_]`` consistently
    (the same label always maps to the same new one), so blank-node identity across rows is kept. The
    rewrite works on complete JSON objects or lines (cut at the last ``}`` or newline) so no label is
    split between pieces. ``replacements`` undo an engine profile's datatype encoding the same way.
    Shared by the transfer threads (``EngineReader``) and the event loop (``loop_transfer``).
    """

    __slots__ = ("_active", "_pending", "_relabel", "_replacements")

    def __init__(self, rewrite_bnodes: bool = False, replacements: Sequence[tuple[bytes, bytes]] = ()) -> None:
        self._relabel = rewrite_bnodes
        self._replacements = list(replacements)
        self._active = rewrite_bnodes or bool(self._replacements)
        self._pending = b""

    def feed(self, chunk: bytes) -> bytes:
        """The rewritten part of what arrived so far (``b""`` while a piece ends inside a term)."""
        if not self._active:
            return chunk
        pending = self._pending + chunk if self._pending else chunk
        cut = max(pending.rfind(b"}"), pending.rfind(b"\n")) + 1
        if cut == 0 and len(pending) < 1 << 20:
            self._pending = pending
            return b""
        if cut == 0 or cut == len(pending):
            self._pending = b""
            return self._apply(pending)
        self._pending = pending[cut:]
        return self._apply(pending[:cut])

    def end(self) -> bytes:
        """The rest, once the answer is complete."""
        pending, self._pending = self._pending, b""
        return self._apply(pending) if pending else b""

    def _apply(self, data: bytes) -> bytes:
        if self._relabel and b"bnode" in data:  # a substring search in C: the regex only where it can match
            data = _relabel(data)
        for old, new in self._replacements:
            data = data.replace(old, new)  # returns ``data`` itself when ``old`` does not occur
        return data


class EngineReader(io.RawIOBase):
    """The engine response as a file for pyoxigraph (or for ``forward``), rewritten by a ``Rewriter``."""

    def __init__(self, response: Any, cancelled: Flag | None = None, rewrite_bnodes: bool = False,
                 replacements: Sequence[tuple[bytes, bytes]] = ()) -> None:
        super().__init__()
        self._response = response
        self._cancelled = cancelled
        self._rewriter = Rewriter(rewrite_bnodes, replacements)
        self._ready = bytearray()
        self._eof = False

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            while (piece := self._next_piece()) is not None:
                self._ready += piece
            data, self._ready = bytes(self._ready), bytearray()
            return data
        while len(self._ready) < size and (piece := self._next_piece()) is not None:
            self._ready += piece
        data = bytes(self._ready[:size])
        del self._ready[:size]
        return data

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def pieces(self) -> Iterator[bytes]:
        """The rewritten answer in the pieces it arrives in, for copying it on as it is (``forward``):
        unlike ``read``, nothing is gathered into a buffer and cut to size again."""
        while (piece := self._next_piece()) is not None:
            if piece:
                yield piece

    def _next_piece(self) -> bytes | None:
        """The next rewritten piece (``b""`` while a piece ends inside a term), None after the end."""
        if self._eof:
            return None
        if self._cancelled is not None and self._cancelled.is_set():
            raise Cancelled
        chunk = self._response.read(CHUNK)
        if not chunk:
            self._eof = True
            return self._rewriter.end()
        return self._rewriter.feed(chunk)


def _relabel(data: bytes) -> bytes:
    def label(raw: bytes) -> bytes:
        safe = re.sub(rb"[^A-Za-z0-9]", lambda m: b"_%02x" % m.group()[0], raw)
        return b"b" + safe

    def repl(m: re.Match[bytes]) -> bytes:
        if m.group(1) is not None:
            return m.group(1) + label(m.group(2)) + m.group(3)
        return m.group(4) + label(m.group(5)) + m.group(6)

    return _BNODE.sub(repl, data)


def forward(reader: EngineReader, sink: Sink) -> None:
    """Copy the engine's answer as it came (after the reader's replacements): the verbatim JSON path."""
    for piece in reader.pieces():
        sink.write(piece)


def media_type(content_type: str | None) -> str:
    """``application/sparql-results+json; charset=UTF-8`` → ``application/sparql-results+json``."""
    return (content_type or "").split(";")[0].strip().lower()


def capped(triples: Iterable[Any], limit: int) -> Iterator[Any]:
    """Pass at most ``limit`` triples on; one more is a result-size error, never a silent cut."""
    for n, triple in enumerate(triples):
        if n >= limit:
            raise ResultLimit
        yield triple


def parse_graph(reader: Any, content_type: str | None) -> Iterator[ox.Triple]:
    """Triples from an engine's CONSTRUCT/DESCRIBE answer (N-Triples or Turtle; RDF/XML if it insists)."""
    fmt = ox.RdfFormat.RDF_XML if media_type(content_type) == "application/rdf+xml" else ox.RdfFormat.TURTLE
    for item in ox.parse(reader, format=fmt):
        yield item.triple if isinstance(item, ox.Quad) else item
