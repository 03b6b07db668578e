"""Dumps of a dataset that lives in a remote engine: fetched once per data version, then served as files.

Downloads must never run a query per request, and a dump must never be silently incomplete: the
triples are fetched with one CONSTRUCT per graph, their number is compared with the engine's own
count (an engine row cap such as Virtuoso's ``ResultSetMaxRows`` would otherwise cut them short), and
only a complete set is written, with the same writer (gzip without timestamps, SHA-256 in the
manifest) as the embedded store. The folder appears atomically (written aside, then renamed).
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


def write_remote_dumps(store: RemoteStore, info: DatasetInfo, folder: Path) -> None:
    """Blocking: fetch every graph of the dataset and write the dump files into ``folder``."""
    memory = ox.Store()
    triples = store.construct("CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o }", default_graphs=[store.graph],
                              timeout=TIMEOUT)
    _check(len(triples), info.default_graph_triples, store.graph)
    memory.extend(ox.Quad(t.subject, t.predicate, t.object, ox.DefaultGraph()) for t in triples)
    named_total = 0
    for graph in info.graphs:
        triples = store.construct("CONSTRUCT { ?s ?p ?o } WHERE { GRAPH ?g { ?s ?p ?o } }",
                                  default_graphs=[store.graph], named_graphs=[graph], timeout=TIMEOUT)
        named_total += len(triples)
        memory.extend(ox.Quad(t.subject, t.predicate, t.object, ox.NamedNode(graph)) for t in triples)
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


def _check(got: int, expected: int, what: str) -> None:
    if got != expected:
        raise StoreError(
            f"Dump unvollständig ({got} statt {expected} Tripel aus {what}); es wird kein Dump angeboten. / "
            f"Dump incomplete ({got} instead of {expected} triples from {what}); no dump is offered.")
