"""A query worker: one process that opens the built store read-only and answers requests on stdin.

Why a separate process per worker: neither pyoxigraph nor rdflib can interrupt a running query from
Python, and threads do not spread CPU-bound queries over cores. A worker process can simply be
killed at the deadline (``embedded.py`` does that and starts a fresh one), and N workers use N cores.

Isolation: before it imports pyoxigraph, a worker moves itself into fresh user + network namespaces
(Linux ``unshare``) when no SERVICE endpoint is allow-listed, so even a query that slipped past the
guard cannot open a socket: the only interfaces left are a downed loopback. Where the platform
forbids it (no user namespaces, other OS) the worker reports ``isolated: false`` and the parent logs
it; the guard in ``sparql_guard`` still refuses SERVICE/LOAD, and nothing in this module fetches
URLs. An optional address-space limit keeps a runaway query from taking the machine's memory.

In-memory copy: pyoxigraph answers joins, sorts, aggregates and filters 5–20× faster from its
in-memory store than from the on-disk one (it decodes terms from RocksDB for every comparison; at
1M triples a sort of 15,000 titles takes 2 s on disk, 0.13 s in memory). A worker started here
answers from the read-only on-disk store; the in-memory copy is loaded once by the fork server
(``forkserver.py``), which forks workers from it (``Worker(..., store=copy)``); such a worker also
answers ``fork`` (a sibling on the socket passed with the request), which is how the pool replaces a
worker killed at its deadline.

Hash IRIs: a description of ``doc`` includes the subjects ``doc#…``. They come from the fragment index
(``fragments.sqlite``), which a large store gets from the background dumper a few seconds after the
start; until it exists the worker finds them with a scan of the store (``fragments_of``) — the same
answer, only slower — and it switches to the index as soon as the file is there.

Wire format (both directions): one tag byte, a 4-byte big-endian length, the payload. A small
result goes out as one write (``H`` + ``D`` + ``Z`` frames together), so the parent wakes up once.
  parent → worker  ``Q`` JSON request (``op``: query, describe, fork — the last with one file descriptor)
  worker → parent  ``R`` ready (JSON), ``H`` header (JSON: query form), ``D`` data chunk,
                   ``Z`` end of result, ``E`` error (JSON: code, message), ``J`` JSON answer (describe)
Run as ``python -m digiregion.store.worker CONFIG_JSON``.
"""

from __future__ import annotations

import ctypes
import functools
import io
import json
import os
import socket
import sqlite3
import struct
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any, BinaryIO

CHUNK = 64 * 1024
_HEADER = struct.Struct(">cI")
CLONE_NEWUSER = 0x10000000
CLONE_NEWNET = 0x40000000
TRIM_SLACK = 64 * 1024 * 1024
"""Resident growth since the last trim after which a worker hands freed heap back to the system."""
TRIM_AFTER_SECONDS = 0.5
"""Only a request that ran this long is followed by the resident-size check (see ``HeapTrimmer``)."""

LABEL_PREDICATES = (
    "http://www.w3.org/2004/02/skos/core#prefLabel",
    "http://www.w3.org/2000/01/rdf-schema#label",
    "http://purl.org/dc/terms/title",
    "https://schema.org/name",
    "http://xmlns.com/foaf/0.1/name",
)


def frame(tag: bytes, payload: bytes) -> bytes:
    return _HEADER.pack(tag, len(payload)) + payload


@functools.lru_cache(maxsize=8)
def _header_frame(form: str) -> bytes:
    """The ``H`` frame of a result of this query form (the same few bytes for every query)."""
    return frame(b"H", json.dumps({"form": form}).encode())


def write_frame(out: BinaryIO, tag: bytes, payload: bytes) -> None:
    out.write(frame(tag, payload))


def read_frame(inp: BinaryIO) -> tuple[bytes, bytes] | None:
    header = _read_exact(inp.read, _HEADER.size)
    if header is None:
        return None
    tag, length = _HEADER.unpack(header)
    payload = _read_exact(inp.read, length)
    return None if payload is None else (tag, payload)


def _read_exact(read: Callable[[int], bytes], size: int, start: bytes = b"") -> bytes | None:
    """``size`` bytes from ``read`` (a file's ``read`` or a socket's ``recv``); None at EOF."""
    data = bytearray(start)
    while len(data) < size:
        block = read(size - len(data))
        if not block:
            return None
        data += block
    return bytes(data)


def isolate_network() -> bool:
    """Enter new user and network namespaces; True when the worker can no longer reach any network."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.unshare(CLONE_NEWUSER | CLONE_NEWNET) == 0
    except (OSError, AttributeError):
        return False


class _Statm:
    """``/proc/self/statm`` kept open and re-read in place: 3 µs instead of 25 µs for open + read + close.

    The worker reads it after every request (``HeapTrimmer``). A forked worker must not read its
    parent's file (``/proc/self`` was resolved when it was opened), so a child forgets the descriptor.
    """

    def __init__(self) -> None:
        self.fd: int | None = None
        self.page_size = os.sysconf("SC_PAGE_SIZE")
        os.register_at_fork(after_in_child=self.forget)

    def forget(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None

    def resident(self) -> int:
        if self.fd is None:
            self.fd = os.open("/proc/self/statm", os.O_RDONLY | os.O_CLOEXEC)
        return int(os.pread(self.fd, 256, 0).split()[1]) * self.page_size


_statm = _Statm()


def resident_bytes() -> int:
    """This process's resident memory (0 where /proc is missing)."""
    try:
        return _statm.resident()
    except (OSError, ValueError, IndexError):
        return 0


def _malloc_trim() -> Callable[[int], int] | None:
    """glibc's ``malloc_trim``, or None on a C library without it."""
    try:
        return ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):
        return None


class HeapTrimmer:
    """Hands the heap that a large query freed back to the system, between requests.

    glibc keeps freed memory for reuse: at 1M triples a sort over all triples left a worker at ~520 MB
    instead of ~350 MB for good, which alone took the service past 1 GB. ``malloc_trim`` returns it in
    ~30 ms. The resident size is read after every request (one read of /proc/self/statm, ~3 µs, ``_Statm``) to
    keep the level the worker returns to; a trim runs only after a request that ran at least
    ``min_seconds`` (only such queries build large intermediate results) and grew the worker by more
    than ``slack`` above that level, and only after its answer went out.
    """

    def __init__(self, slack: int = TRIM_SLACK, trim: Callable[[int], Any] | None = None,
                 resident: Callable[[], int] = resident_bytes, min_seconds: float = TRIM_AFTER_SECONDS) -> None:
        self._slack = slack
        self._trim = trim if trim is not None else _malloc_trim()
        self._resident = resident
        self._min_seconds = min_seconds
        self._level = resident()

    def after_request(self, seconds: float) -> None:
        """Called once the answer is written, with how long the request ran."""
        if self._trim is None:
            return
        current = self._resident()
        if seconds >= self._min_seconds and current > self._level + self._slack:
            self._trim(0)
            self._level = self._resident()  # what stays is in use (e.g. an in-memory copy): the new level
        elif seconds < self._min_seconds:
            self._level = current  # a fast request leaves the worker at its working level


class ResultLimit(Exception):
    """Raised inside serialisation when the result grows past the configured cap."""


class FrameSink(io.RawIOBase):
    """A binary file that pyoxigraph serialises into; it forwards the bytes as ``D`` frames.

    ``prefix`` (already framed bytes, e.g. the ``H`` frame) goes out with the first chunk, and
    ``finish`` sends the rest together with the closing frame: one write for a small result.
    """

    def __init__(self, out: BinaryIO, max_bytes: int, prefix: bytes = b"") -> None:
        super().__init__()
        self._out = out
        self._buffer = bytearray()
        self._prefix = prefix
        self._max = max_bytes
        self.total = 0
        self.exceeded = False

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        if self.exceeded:
            raise ResultLimit
        size = len(data)
        self.total += size
        if self.total > self._max:
            self.exceeded = True
            raise ResultLimit
        self._buffer += data
        if len(self._buffer) >= CHUNK:
            self.flush_frames()
        return size

    def flush_frames(self, closing: bytes = b"") -> None:
        data = self._prefix
        self._prefix = b""
        if self._buffer:
            data += frame(b"D", bytes(self._buffer))
            self._buffer.clear()
        if data or closing:
            self._out.write(data + closing)

    def finish(self, closing: bytes) -> None:
        """Send what is buffered and the closing frame (``Z`` or ``E``) in one write."""
        self.flush_frames(closing)


class Worker:
    """Answers query and describe requests against one read-only store."""

    def __init__(self, config: dict[str, Any], out: BinaryIO, store: Any = None) -> None:
        """``store``: an in-memory copy to answer from (a forked worker); else the on-disk store, read-only."""
        import pyoxigraph as ox

        self.ox = ox
        self.out = out
        self.in_memory = store is not None
        self.store = store if store is not None else ox.Store.read_only(config["store"])
        self.config = config
        self.fragments: sqlite3.Connection | None = None
        """The fragment index, opened once it exists (see ``fragments_of``)."""
        self._named_graphs: bool | None = None
        self.prefixes: dict[str, str] = config.get("prefixes", {})
        self.results_formats = {
            "json": ox.QueryResultsFormat.JSON, "xml": ox.QueryResultsFormat.XML,
            "csv": ox.QueryResultsFormat.CSV, "tsv": ox.QueryResultsFormat.TSV,
        }
        self.rdf_formats = {
            "turtle": ox.RdfFormat.TURTLE, "n-triples": ox.RdfFormat.N_TRIPLES,
            "json-ld": ox.RdfFormat.JSON_LD, "rdf-xml": ox.RdfFormat.RDF_XML,
            "trig": ox.RdfFormat.TRIG, "n-quads": ox.RdfFormat.N_QUADS,
        }

    # -- SPARQL ------------------------------------------------------------------------------------------------
    def query(self, request: dict[str, Any]) -> None:
        ox = self.ox
        kwargs: dict[str, Any] = {"base_iri": request.get("base_iri")}
        default_graphs = request.get("default_graph_uris") or []
        named_graphs = request.get("named_graph_uris") or []
        if default_graphs or named_graphs:  # the protocol dataset replaces the query's FROM clauses
            kwargs["default_graph"] = [ox.NamedNode(g) for g in default_graphs]
            kwargs["named_graphs"] = [ox.NamedNode(g) for g in named_graphs]
        try:
            result = self._run(request, kwargs)
        except SyntaxError as exc:
            self.error("syntax-error", str(exc))
            return
        except (OSError, ValueError, RuntimeError) as exc:
            self.error("store-error", str(exc))
            return
        form = request["form"]
        sink = FrameSink(self.out, request["max_bytes"], _header_frame(form))
        try:
            if isinstance(result, ox.QueryTriples):
                fmt = self.rdf_formats[request["format"]]
                triples = _capped(result, request["max_rows"])
                prefixes = self.prefixes if fmt in (ox.RdfFormat.TURTLE, ox.RdfFormat.TRIG) else None
                ox.serialize(triples, sink, fmt, prefixes=prefixes)
            else:
                result.serialize(sink, self.results_formats[request["format"]])
        except ResultLimit:
            self.error("result-too-large", f"bytes>{request['max_bytes']} rows>{request['max_rows']}")
            return
        except (OSError, ValueError, RuntimeError) as exc:
            if sink.exceeded or isinstance(exc.__cause__ or exc.__context__, ResultLimit):
                self.error("result-too-large", f"bytes>{request['max_bytes']}")
            else:
                self.error("store-error", str(exc))
            return
        sink.finish(frame(b"Z", b""))

    def _run(self, request: dict[str, Any], kwargs: dict[str, Any]) -> Any:
        """Execute the rewritten text (``alternative_paths``); the client's own text decides every error.

        If the rewrite does not parse, the original runs as written: a rewrite never turns a valid
        query into an error, and syntax errors name the client's own line and column.
        """
        text, original = request["text"], request.get("original")
        if original is None:
            return self.store.query(text, **kwargs)
        try:
            return self.store.query(text, **kwargs)
        except SyntaxError:
            return self.store.query(original, **kwargs)

    # -- Linked Data -------------------------------------------------------------------------------------------
    def describe(self, request: dict[str, Any]) -> None:
        ox = self.ox
        iri = request["iri"]
        limit = request["max_rows"]
        queue: list[Any] = [ox.NamedNode(iri)] + [ox.NamedNode(f) for f in self.fragments_of(iri)]
        subjects = set(queue)
        triples: dict[Any, None] = {}
        while queue and len(triples) <= limit:
            subject = queue.pop()
            for quad in self.store.quads_for_pattern(subject, None, None, None):
                triples.setdefault(ox.Triple(quad.subject, quad.predicate, quad.object), None)
                obj = quad.object
                if isinstance(obj, ox.BlankNode) and obj not in subjects:
                    subjects.add(obj)
                    queue.append(obj)
        incoming: dict[Any, None] = {}
        truncated = False
        if request.get("incoming"):
            for quad in self.store.quads_for_pattern(None, None, ox.NamedNode(iri), None):
                if len(incoming) >= request.get("max_incoming", 500):
                    truncated = True
                    break
                if quad.subject not in subjects:
                    incoming.setdefault(ox.Triple(quad.subject, quad.predicate, quad.object), None)
        neighbours = {t.object for t in triples if isinstance(t.object, ox.NamedNode)}
        neighbours |= {t.predicate for t in triples} | {t.subject for t in incoming} | {t.predicate for t in incoming}
        labels = self._labels(neighbours - subjects)
        answer = {
            "triples": _ntriples(ox, triples),
            "labels": _ntriples(ox, labels),
            "incoming": _ntriples(ox, incoming),
            "truncated": truncated or len(triples) > limit,
        }
        write_frame(self.out, b"J", json.dumps(answer).encode())

    def fragments_of(self, document: str) -> list[str]:
        """The hash IRIs ``document#…`` that are subjects in the store, sorted: from the index if it exists.

        Without the index (a large store's first seconds, before the dumper wrote it) a SPARQL scan gives
        exactly what the index would hold — IRI subjects whose part before the first ``#`` is
        ``document``, in the default and in named graphs — at the price of a pass over the store (~2 s at
        1M triples on disk). Whether the file appeared is checked with one ``stat`` per description
        until it is found; the file is renamed into place complete, so it can be opened at once.
        """
        if self.fragments is None and os.path.exists(self.config["fragments"]):
            self.fragments = sqlite3.connect(f"file:{self.config['fragments']}?mode=ro", uri=True)
        if self.fragments is not None:
            rows = self.fragments.execute("SELECT iri FROM fragments WHERE doc = ? ORDER BY iri", (document,))
            return [row[0] for row in rows]
        if "#" in document:  # the index keys on the part before the first '#': such a document has none
            return []
        if self._named_graphs is None:
            self._named_graphs = next(iter(self.store.named_graphs()), None) is not None
        pattern = "{ ?s ?p ?o } UNION { GRAPH ?g { ?s ?p ?o } }" if self._named_graphs else "?s ?p ?o"
        query = (f"SELECT DISTINCT ?s {{ {pattern} "
                 f"FILTER(isIRI(?s) && STRSTARTS(STR(?s), {self.ox.Literal(document + '#')})) }}")
        return sorted(row[0].value for row in self.store.query(query))

    def _labels(self, terms: Iterable[Any]) -> list[Any]:
        ox = self.ox
        found = []
        for term in terms:
            if not isinstance(term, ox.NamedNode):
                continue
            for predicate in LABEL_PREDICATES:
                hits = [ox.Triple(q.subject, q.predicate, q.object)
                        for q in self.store.quads_for_pattern(term, ox.NamedNode(predicate), None, None)]
                if hits:
                    found.extend(hits)
                    break
        return found

    def error(self, code: str, message: str) -> None:
        write_frame(self.out, b"E", json.dumps({"code": code, "message": message}).encode())


def _capped(triples: Iterable[Any], limit: int) -> Iterator[Any]:
    for n, triple in enumerate(triples):
        if n >= limit:
            raise ResultLimit
        yield triple


def _ntriples(ox: Any, triples: Iterable[Any]) -> str:
    return ox.serialize(list(triples), format=ox.RdfFormat.N_TRIPLES).decode("utf-8")


def set_memory_limit(config: dict[str, Any]) -> None:
    """The optional address-space cap (``memory_limit``): a runaway query fails instead of taking the machine."""
    if config.get("memory_limit"):
        import resource

        limit = int(config["memory_limit"])
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def read_socket_frame(sock: socket.socket) -> tuple[bytes, bytes, list[int]] | None:
    """One frame from a socket channel, with the file descriptors that came along (``fork`` passes one)."""
    first, fds, _, _ = socket.recv_fds(sock, _HEADER.size, 4)  # the descriptors come with the first bytes
    header = _read_exact(sock.recv, _HEADER.size, first) if first else None
    payload = None if header is None else _read_exact(sock.recv, _HEADER.unpack(header)[1])
    if header is None or payload is None:
        for fd in fds:
            os.close(fd)
        return None
    return header[:1], payload, fds


def serve(worker: Worker, channel: BinaryIO | socket.socket, isolated: bool | None = None) -> int:
    """Announce readiness, then answer requests from ``channel`` (a pipe, or a forked worker's socket) until it closes.

    A worker forked from the in-memory copy also answers ``fork``: it forks a sibling that shares its
    pages (``forkserver.fork_worker``) on the socket that came with the request, and answers its pid.
    """
    write_frame(worker.out, b"R", json.dumps({"pid": os.getpid(), "isolated": isolated,
                                              "in_memory": worker.in_memory}).encode())
    trimmer = HeapTrimmer()
    while True:
        if isinstance(channel, socket.socket):
            received = read_socket_frame(channel)
            frame, fds = (None, []) if received is None else ((received[0], received[1]), received[2])
        else:
            frame, fds = read_frame(channel), []
        if frame is None:
            return 0
        request = json.loads(frame[1])
        began = time.monotonic()
        if request["op"] == "query":
            worker.query(request)
        elif request["op"] == "describe":
            worker.describe(request)
        elif request["op"] == "fork" and fds and worker.in_memory and isinstance(channel, socket.socket):
            from .forkserver import fork_worker

            pid = fork_worker(worker.config, worker.store, fds.pop(0), close=(channel, worker.out),
                              isolated=isolated)
            write_frame(worker.out, b"J", json.dumps({"pid": pid}).encode())
        else:
            worker.error("store-error", f"unknown op {request['op']!r}")
        for fd in fds:
            os.close(fd)
        trimmer.after_request(time.monotonic() - began)


def main(argv: list[str]) -> int:
    config = json.loads(argv[1])
    isolated = isolate_network() if config.get("isolate") else False
    set_memory_limit(config)
    out = os.fdopen(os.dup(sys.stdout.fileno()), "wb", buffering=0)
    sys.stdout = sys.stderr  # nothing may write stray text into the frame stream
    inp = os.fdopen(os.dup(sys.stdin.fileno()), "rb", buffering=0)
    return serve(Worker(config, out), inp, isolated)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
