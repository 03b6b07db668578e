"""Dumps of a dataset that lives in a remote engine: fetched once per data version, then served as files.

Downloads must never run a query per request, and a dump must never be silently incomplete: the
triples are fetched with CONSTRUCT per graph, their number is compared with the engine's own
count (an engine row cap such as Virtuoso's ``ResultSetMaxRows`` would otherwise cut them short), and
only a complete set is written, with the same writer (gzip without timestamps, SHA-256 in the
manifest) as the embedded store. The folder appears atomically (written aside, then renamed).

This runs in a background child process (``remote_dumper``), never in the web process: at 10^6
triples it takes about a minute and, done in memory, held the graph several times over (2.3 GB).
Each answer is parsed into a temporary *on-disk* pyoxigraph store beside the target, so memory stays
bounded by two pages (the one being parsed, the next one being downloaded) whatever the size of the
dataset; the temporary store is removed afterwards, also on failure.

A graph larger than ``PAGE`` triples is fetched in pages (``LIMIT/OFFSET``): Virtuoso refuses a single
answer of more than 10^6 rows ("FRVEC: array in for vectored over max vector length"). The pages
cannot be ordered (Virtuoso sorts at most ``MaxSortedTopRows``, 10,000 by default, under an OFFSET),
so they are collected as a *set*: the store keeps each triple once, and if the engine's unordered
pages overlapped or skipped anything, the store would hold fewer triples than the engine's count and
no dump is offered — a complete set is the only way through the check. Blank nodes keep their labels
across pages (the engine's labels are stable and the parser keeps them).

Reproducible bytes: an on-disk oxigraph store iterates in an order fixed by its content (its keys
are encodings of the terms), not by the order of insertion, so the same data gives byte-identical
dumps (and SHA-256) however it was fetched.
"""

from __future__ import annotations

import http.client
import io
import shutil
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import pyoxigraph as ox

from ..dumps import MANIFEST, write_dumps
from .base import StoreError
from .loader import DUMPS_DIR, discard
from .remote_layout import EMPTY_GRAPH
from .streaming import EngineReader, parse_graph

if TYPE_CHECKING:
    from ..dataset import DatasetInfo
    from .sparql_client import Endpoint

TIMEOUT = 600.0
"""Per page; the engine's own (anytime) timeout is off: a partial page would fail the count check anyway."""
PAGE = 100_000
"""Triples per request, and what bounds the child's memory: one page is parsed (the store's bulk loader
buffers it before it writes it) while the next is downloaded as bytes (10^6 triples from Virtuoso: peak
RSS 185 MB with pages of 100k and the page ahead, 142 MB without it; with pages of 500k, 474 MiB and the
same total time). Virtuoso answers at most 10^6 rows."""
WORK_PREFIX = "."
STORE_DIR = "oxigraph"
T = TypeVar("T")


def work_folder(folder: Path) -> Path:
    """A fresh temporary folder beside ``folder`` (``.dumps.<random>``): store and files while being written."""
    return folder.parent / f"{WORK_PREFIX}{folder.name}.{uuid.uuid4().hex[:8]}"


def write_remote_dumps(endpoint: Endpoint, graph: str, info: DatasetInfo, folder: Path, *, page: int = PAGE,
                       work: Path | None = None) -> None:
    """Blocking: fetch every graph of the dataset into a temporary store, write the dumps, rename into ``folder``.

    ``graph`` holds the dataset's default graph, ``info`` has the engine's counts and the named graphs.
    ``work`` (default: a fresh ``work_folder``) is removed in any case; on failure nothing else is left.
    """
    work = work or work_folder(folder)
    try:
        work.mkdir(parents=True, exist_ok=True)
        _fetch_and_write(endpoint, graph, info, work, page)
        _move_into_place(work / DUMPS_DIR, folder)
    except BaseException as exc:
        discard(work, exc)  # releases the temporary store first: its compactions would race the removal
        raise
    discard(work)


def _move_into_place(written: Path, folder: Path) -> None:
    """Rename the complete folder into place; dumps another process put there meanwhile are the same bytes."""
    if (folder / MANIFEST).is_file():
        return
    folder.parent.mkdir(parents=True, exist_ok=True)
    if folder.exists():  # no manifest: not a complete dump folder
        shutil.rmtree(folder)
    try:
        written.rename(folder)
    except OSError:
        if not (folder / MANIFEST).is_file():
            raise


def _fetch_and_write(endpoint: Endpoint, graph: str, info: DatasetInfo, work: Path, page: int) -> None:
    store = ox.Store(str(work / STORE_DIR))
    _fetch(store, endpoint, "?s ?p ?o", ox.DefaultGraph(), info.default_graph_triples, page,
           default_graphs=[graph])
    _check(_count(store, "SELECT (COUNT(*) AS ?n) { ?s ?p ?o }"), info.default_graph_triples, graph)
    upper = info.triples - info.default_graph_triples  # all named graphs together: enough to decide on paging
    for name in info.graphs:
        _fetch(store, endpoint, "GRAPH ?g { ?s ?p ?o }", ox.NamedNode(name), upper, page,
               default_graphs=[graph], named_graphs=[name])
    named = _count(store, "SELECT (COUNT(*) AS ?n) { GRAPH ?g { ?s ?p ?o } }") if info.graphs else 0
    _check(info.default_graph_triples + named, info.triples, "named graphs")
    write_dumps(store, work / DUMPS_DIR, info)


def _fetch(store: ox.Store, endpoint: Endpoint, pattern: str, target: ox.DefaultGraph | ox.NamedNode,
           expected: int | None, page: int, *, default_graphs: Sequence[str], named_graphs: Sequence[str] = ()) -> None:
    """Add the triples matching ``pattern`` to ``target``: one CONSTRUCT, or pages when more than ``page`` are expected.

    The next page is downloaded while the current one is parsed into the store: the engine computes and
    writes page n + 1 (skipping everything before it) while this process parses page n, so the two halves
    overlap instead of taking turns (one-off in-process timings of ``write_remote_dumps`` against the
    benchmark's Virtuoso, before/after: 10^6 triples downloading alone 21.9 s, parsing into the store
    ~20.5 s, fetch 44 → 27 s; 10^7: 485 → 342 s). At most two pages are held as bytes (~16 MB each at
    100,000 triples).
    """
    queries = list(_pages(f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ {pattern} }}", expected, page))
    named = list(named_graphs) or [EMPTY_GRAPH]
    replacements = endpoint.profile.answer_replacements if endpoint.profile else ()

    def download(query: str) -> tuple[bytes, str | None]:
        response = endpoint.open(query, "CONSTRUCT", default_graphs=default_graphs, named_graphs=named,
                                 timeout=TIMEOUT, engine_timeout=False)
        try:
            return EngineReader(response, replacements=replacements).read(), response.headers.get("Content-Type")
        finally:
            response.close()

    pending = _ahead(download, queries[0])
    for n in range(len(queries)):
        try:
            body, content_type = pending()
            if n + 1 < len(queries):
                pending = _ahead(download, queries[n + 1])
            triples = parse_graph(io.BytesIO(body), content_type)
            # parsed into the store without a list of Python objects; the bulk loader buffers this one page
            store.bulk_extend(ox.Quad(t.subject, t.predicate, t.object, target) for t in triples)
        except (SyntaxError, ValueError, OSError, http.client.HTTPException) as exc:
            raise StoreError(f"Antwort der Datenbank nicht lesbar oder Zwischenspeicher nicht beschreibbar / "
                             f"unreadable engine answer or temporary store not writable: {exc}") from exc


def _ahead(work: Callable[[str], T], argument: str) -> Callable[[], T]:
    """Start ``work(argument)`` in a thread; the returned function waits for its result or raises its error.

    A daemon thread, not an executor: when a page fails, the process ends without waiting for a download
    that is still running (an executor's threads are joined at exit, up to ``TIMEOUT``).
    """
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["value"] = work(argument)
        except BaseException as exc:  # handed to the waiting caller
            outcome["error"] = exc

    thread = threading.Thread(target=run, name="dump-page-ahead", daemon=True)
    thread.start()

    def result() -> T:
        thread.join()
        if "error" in outcome:
            raise outcome["error"]
        return outcome["value"]

    return result


def _pages(query: str, expected: int | None, page: int) -> Iterator[str]:
    """The query itself, or its pages; ``expected`` is the engine's count (an upper bound is enough)."""
    if expected is None or expected <= page:
        yield query
        return
    for offset in range(0, expected, page):
        yield f"{query} LIMIT {page} OFFSET {offset}"


def _count(store: ox.Store, query: str) -> int:
    return int(next(iter(store.query(query)))["n"].value)


def _check(got: int, expected: int, what: str) -> None:
    if got != expected:
        raise StoreError(
            f"Dump unvollständig ({got} statt {expected} Tripel aus {what}); es wird kein Dump angeboten. / "
            f"Dump incomplete ({got} instead of {expected} triples from {what}); no dump is offered.")
