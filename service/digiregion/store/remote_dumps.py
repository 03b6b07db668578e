"""Dumps of a dataset that lives in a remote engine: fetched once per data version, then served as files.

Downloads must never run a query per request, and a dump must never be silently incomplete: the
triples are fetched with CONSTRUCT per graph, their number is compared with the engine's own
count (an engine row cap such as Virtuoso's ``ResultSetMaxRows`` would otherwise cut them short), and
only a complete set is written, with the same writer (gzip without timestamps, SHA-256 in the
manifest) as the embedded store. The folder appears atomically (written aside, then renamed).

A graph larger than ``PAGE`` triples is fetched in pages (``LIMIT/OFFSET``): Virtuoso refuses a single
answer of more than 10^6 rows ("FRVEC: array in for vectored over max vector length"), so at 10^6
triples one CONSTRUCT gave no dump at all. The pages cannot be ordered (Virtuoso sorts at most
``MaxSortedTopRows``, 10,000 by default, under an OFFSET), so they are collected as a *set*: if the
engine's unordered pages overlapped or skipped anything, the set would be smaller than the engine's
count and no dump is offered — a complete set is the only way through the check. Blank nodes keep
their labels across pages (the engine's labels are stable and the parser keeps them).
"""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

import pyoxigraph as ox

from ..dumps import write_dumps
from .base import StoreError

if TYPE_CHECKING:
    from ..dataset import DatasetInfo
    from .remote import RemoteStore

TIMEOUT = 600.0
PAGE = 500_000


def write_remote_dumps(store: RemoteStore, info: DatasetInfo, folder: Path, page: int = PAGE) -> None:
    """Blocking: fetch every graph of the dataset and write the dump files into ``folder``."""
    memory = ox.Store()
    triples = _fetch(store, "?s ?p ?o", info.default_graph_triples, page, default_graphs=[store.graph])
    _check(len(triples), info.default_graph_triples, store.graph)
    memory.extend(ox.Quad(t.subject, t.predicate, t.object, ox.DefaultGraph()) for t in _ordered(triples))
    named_total = 0
    upper = info.triples - info.default_graph_triples  # all named graphs together: enough to decide on paging
    for graph in info.graphs:
        triples = _fetch(store, "GRAPH ?g { ?s ?p ?o }", upper, page,
                         default_graphs=[store.graph], named_graphs=[graph])
        named_total += len(triples)
        memory.extend(ox.Quad(t.subject, t.predicate, t.object, ox.NamedNode(graph)) for t in _ordered(triples))
    _check(info.default_graph_triples + named_total, info.triples, "named graphs")
    aside = folder.parent / f".{folder.name}.{uuid.uuid4().hex[:8]}"
    try:
        write_dumps(memory, aside, info)
        folder.parent.mkdir(parents=True, exist_ok=True)
        if folder.exists():
            shutil.rmtree(folder)
        aside.rename(folder)
    finally:
        shutil.rmtree(aside, ignore_errors=True)


def _fetch(store: RemoteStore, pattern: str, expected: int | None, page: int, **graphs) -> set[ox.Triple]:
    """The set of triples matching ``pattern``: one CONSTRUCT, or pages when more than ``page`` are expected."""
    if expected is None or expected <= page:
        return set(store.construct(f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ {pattern} }}", timeout=TIMEOUT, **graphs))
    triples: set[ox.Triple] = set()
    for offset in range(0, expected, page):
        triples.update(store.construct(
            f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ {pattern} }} LIMIT {page} OFFSET {offset}", timeout=TIMEOUT, **graphs))
    return triples


def _ordered(triples: set[ox.Triple]) -> list[ox.Triple]:
    """A fixed order, so the same data gives byte-identical dumps (and SHA-256) however it was fetched."""
    return sorted(triples, key=str)


def _check(got: int, expected: int, what: str) -> None:
    if got != expected:
        raise StoreError(
            f"Dump unvollständig ({got} statt {expected} Tripel aus {what}); es wird kein Dump angeboten. / "
            f"Dump incomplete ({got} instead of {expected} triples from {what}); no dump is offered.")
