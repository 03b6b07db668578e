"""Virtuoso's bulk loader as the upload step of ``digiregion load``: files the engine reads itself.

Why: through the Graph Store Protocol Virtuoso parses and commits every chunk as one logged transaction,
while its bulk loader (``ld_add`` + ``rdf_loader_run``) parses files without a transaction log, on as
many threads as loaders run. Measured at 10^6 triples on a fresh engine (2 cores): the upload step took
36 s instead of 48 s, of which the loader itself needed 10 s and writing the files from the local store
most of the rest; the whole ``load`` 66 s instead of 75 s, because the switch (Virtuoso's ``MOVE`` copies
the graph: 20–25 s) and validation cost the same either way.

How: the triples of every temporary graph are written as N-Triples files (the same chunks as the
upload: every blank-node-connected group stays in one file, the loader's blank-node scope) into a fresh
folder below ``store_bulk_dir``, registered with ``ld_add(file, graph)``, and loaded by ``LOADERS``
parallel ``rdf_loader_run()`` calls, then ``checkpoint`` makes them durable. Everything is driven over the
authenticated SPARQL endpoint that ``load`` already uses for its updates (SQL procedures called from
SPARQL: ``sql:ld_add``, ``sql:rdf_loader_run``, ``bif:exec``): no ``isql`` (whose password would sit on a
command line, visible to ``ps``) and no ODBC driver. The rest of ``load`` is unchanged — the temporary
graphs' triple counts are checked (a file the loader could not parse shows up there) and the switch is
the same single SPARQL Update transaction, so clients see the old or the new dataset, never a mix
(the loader's unlogged mode is per request; later requests run logged, checked against 7.2.5).

Requirements: the engine's process must be able to read the folder, so it is on the engine's machine or
a shared volume; ``store_bulk_engine_dir`` names the folder as the engine sees it when that differs (a
container's mount point). (Virtuoso 7.2.5's ``ld_add`` does not consult ``DirsAllowed``; ``ld_dir`` would,
and is not used.) A folder the engine looks for in the wrong place loads nothing, which the count check
turns into a failed load. The loader's work list (``DB.DBA.LOAD_LIST``) is shared by the whole engine:
``rdf_loader_run`` also loads files someone else registered and did not load yet.
Afterwards the files and this load's entries in the list are removed, also on failure.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import re
import shutil
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyoxigraph as ox

FILE_TRIPLES = 500_000
"""Triples per file: files are the loader's unit of parallel work (and of blank-node scope)."""
LOADERS = 2
"""Parallel ``rdf_loader_run`` calls; Virtuoso advises about one per 2.5 cores of the engine's machine."""
LOADER_TIMEOUT = 6 * 3600.0
"""Seconds one loader call may take (it returns when no registered file is left)."""
_SAFE_PATH = re.compile(r"^[A-Za-z0-9_./\-]+$")


@dataclass(frozen=True)
class BulkFolder:
    """Where the files go (``local``) and the same folder as the engine sees it (``engine``)."""

    local: Path
    engine: str

    @classmethod
    def from_settings(cls, local: str | Path, engine: str | None = None) -> BulkFolder:
        folder = Path(local).resolve()
        seen = (engine or str(folder)).rstrip("/")
        for path in (str(folder), seen):
            if not _SAFE_PATH.match(path):  # it ends up inside SQL and SPARQL string literals
                raise ValueError(f"Bulk-Ordner nur mit Buchstaben, Ziffern und ._/- / bulk folder may only contain "
                                 f"letters, digits and ._/-: {path!r}")
        return cls(folder, seen)


Call = Callable[[str, float], Any]
"""Runs one SPARQL request on the engine's authenticated endpoint (text, timeout); raises on failure."""


Files = Callable[[Path], Iterable[tuple[str, Path, int]]]
"""Writes the N-Triples files into the given folder, yielding (temporary graph, file, triples) as it goes."""


def bulk_upload(call: Call, folder: BulkFolder, files: Files, progress: Callable[[int], None] | None = None,
                on_phase: Callable[[str], None] | None = None) -> dict[str, int]:
    """Load every file ``files`` writes into its graph with the engine's bulk loader; returns triples per graph.

    ``progress`` counts triples as their files are registered; ``on_phase`` hears when the engine starts loading.
    """
    name = f"digiregion-load-{uuid.uuid4().hex[:12]}"
    local = folder.local / name
    engine = f"{folder.engine}/{name}"
    expected: dict[str, int] = {}
    local.mkdir(parents=True)
    try:
        number = 0
        for graph, path, count in files(local):
            number += 1
            call(f"SELECT (sql:ld_add({_literal(f'{engine}/{path.name}')}, {_literal(graph)}) AS ?done) {{}}", 60.0)
            expected[graph] = expected.get(graph, 0) + count
            if progress:
                progress(count)
        if on_phase:
            on_phase(f"Bulk-Loader der Datenbank lädt {number} Datei(en) / the engine's bulk loader loads "
                     f"{number} file(s)")
        with concurrent.futures.ThreadPoolExecutor(LOADERS) as pool:
            runs = [pool.submit(call, "SELECT (sql:rdf_loader_run() AS ?done) {}", LOADER_TIMEOUT)
                    for _ in range(min(LOADERS, number))]
            for run in runs:
                run.result()
        checkpoint(call)
    finally:
        shutil.rmtree(local, ignore_errors=True)
        with contextlib.suppress(Exception):  # best effort: an entry left in the list is harmless (done or missing)
            call(f"SELECT (bif:exec(\"DELETE FROM DB.DBA.LOAD_LIST WHERE ll_file LIKE '{engine}/%'\") AS ?done) {{}}",
                 60.0)
    return expected


def checkpoint(call: Call) -> None:
    """Make everything written so far durable in the database file instead of only in the transaction log.

    The bulk loader writes without logging, so its work is lost in a crash before a checkpoint. After the
    switch it spares the next start: Virtuoso replays a log of a 10^7-triple ``MOVE`` for ~4 minutes before it
    answers (measured at 10^7), while the checkpoint itself is written once, now.
    """
    call("SELECT (bif:exec('checkpoint') AS ?done) {}", LOADER_TIMEOUT)


def _literal(text: str) -> str:
    return str(ox.Literal(text))
