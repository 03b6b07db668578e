"""The in-memory copy, loaded once and forked into the query workers: a fork server.

Why: pyoxigraph answers 5–20× faster from memory than from its on-disk store (``worker.py``). When
each worker loaded its own copy, every start loaded N copies at once (N× the CPU and a memory peak),
and a worker killed at its deadline came back on the slow on-disk store for the seconds its copy
needed. The fork server loads the copy once and forks the workers from itself; it then exits (the
pool closes it), and a replacement is forked from an idle sibling (``fork_worker``, the ``fork`` op
of ``worker.serve``) — in milliseconds and already in memory.

Memory: the forked workers share the copy's pages copy-on-write, but pyoxigraph writes a lock word in
every quad a query visits, so a worker soon owns the pages it reads (1M triples: one pass of the
benchmark mix made 275 of 340 MB private). That is why the fork server does not stay (it would hold a
third copy next to two workers') and why workers are not recycled to re-share pages (each fresh fork
pays the copy-on-write faults again: 40 % less throughput, measured). Worst case one copy per worker.

Order of events in the fork server: enter the isolated network namespaces (the forked workers
inherit them: they cannot reach any network either), load the copy in the main thread (pyoxigraph's
``Store.load`` leaves no other thread behind, so forking is safe), check the number of quads against
the built store's, report ready, then fork on request. It never opens the on-disk store or SQLite
(neither survives a fork); each forked worker opens the fragments database itself, once it exists (a
large store gets it from the background dumper; until then a worker scans, ``Worker.fragments_of``).

Control protocol on the socket the parent passes as ``control_fd`` (framed like the worker pipe):
  server → parent  ``R`` ready (JSON: pid, isolated, quads, seconds) or ``E`` (JSON: message), once
  parent → server  one byte ``F`` carrying one file descriptor (SCM_RIGHTS): the worker's end of a
                   socket pair; the server forks a worker on it and answers with ``P`` (JSON: pid)
The server exits when the parent closes the control socket. Workers are reaped by the kernel
(``SIGCHLD`` ignored) or, once their forking process is gone, by the web process (a child subreaper);
the parent signals them through a pidfd and notices their exit on it.

Run as ``python -m digiregion.store.forkserver CONFIG_JSON`` (same config as a worker, plus ``control_fd``).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple

from .worker import isolate_network, serve, set_memory_limit, write_frame


class MirrorSource(NamedTuple):
    """One file that the in-memory copy is filled from."""

    path: str
    format: str
    base_iri: str | None
    lenient: bool
    """Skip IRI validation while parsing: only for the snapshot, which the store wrote itself from validated data."""


def mirror_sources(store: str, kind: str) -> list[MirrorSource]:
    """What to load: the store folder's snapshot, or (first start, before it exists) the input files it was built from.

    Read here rather than passed on the command line (a long list of files would not fit into one argument).
    """
    from .loader import INFO_FILE, SNAPSHOT_FILE  # not at module level: it imports pyoxigraph (see fill_copy)

    folder = Path(store).parent
    if kind == "snapshot":
        return [MirrorSource(str(folder / SNAPSHOT_FILE), "n-quads", None, lenient=True)]
    info = json.loads((folder / INFO_FILE).read_text(encoding="utf-8"))
    return [MirrorSource(f["path"], f["format"], Path(f["path"]).as_uri(), lenient=False) for f in info["files"]]


def fill_copy(sources: list[MirrorSource]) -> Any:
    """A new in-memory store filled from ``sources`` with ``Store.load`` rather than ``bulk_load``.

    Into an in-memory store, ``bulk_load`` holds about 230 MB more per million quads while it runs
    (snapshot of 1M triples, pyoxigraph 0.5.13: peak 596 MB, 368 MB once done; ``load``: peak 386 MB,
    349 MB once done), and it leaves worker threads behind, which a process that forks must not have.
    """
    import pyoxigraph as ox  # only here: the process must still be single-threaded when it isolates itself

    from ..rdf_files import OXIGRAPH_FORMATS

    memory = ox.Store()
    for source in sources:
        memory.load(path=source.path, format=OXIGRAPH_FORMATS[source.format], base_iri=source.base_iri,
                    lenient=source.lenient)
    return memory


def load_copy(config: dict[str, Any]) -> tuple[Any, int]:
    """The in-memory copy and its number of quads; raises ``ValueError`` if it differs from the built store."""
    sources = mirror_sources(config["store"], config["mirror"])
    memory = fill_copy(sources)
    from .loader import INFO_FILE

    info = json.loads((Path(config["store"]).parent / INFO_FILE).read_text(encoding="utf-8"))
    if len(memory) != info["triples"]:
        raise ValueError(f"in-memory copy has {len(memory)} quads, the store {info['triples']}")
    return memory, len(memory)


def fork_worker(config: dict[str, Any], memory: Any, channel: int, close: Sequence[Any] = (),
                isolated: bool | None = None) -> int:
    """Fork a worker answering on ``channel`` from ``memory``; returns its pid (in the forking process).

    Called by the fork server and by a forked worker asked for a sibling. In the child, ``close`` (the
    forking process's own channels) is closed first, so the parent still sees EOF when the forking
    process ends; the child never returns into the forking process's code.
    """
    pid = os.fork()
    if pid:
        os.close(channel)
        return pid
    code = 0
    try:
        for thing in close:
            with contextlib.suppress(OSError):
                thing.close()
        signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # siblings it forks later are reaped by the kernel
        set_memory_limit(config)
        sock = socket.socket(fileno=channel)
        sock.setblocking(True)
        out = os.fdopen(os.dup(channel), "wb", buffering=0)
        from .worker import Worker

        serve(Worker(config, out, store=memory), sock, isolated)
    except BaseException:  # a forked child must never unwind into the forking process's code
        import traceback

        traceback.print_exc()
        code = 1
    finally:
        sys.stderr.flush()
        os._exit(code)


def main(argv: list[str]) -> int:
    config = json.loads(argv[1])
    control = socket.socket(fileno=int(config["control_fd"]))
    control.setblocking(True)
    channel = control.makefile("rwb", buffering=0)
    isolated = isolate_network() if config.get("isolate") else False
    sys.stdout = sys.stderr  # nothing may write stray text into the control stream
    began = time.monotonic()
    try:
        memory, quads = load_copy(config)
    except (OSError, ValueError, SyntaxError) as exc:
        write_frame(channel, b"E", json.dumps({"message": str(exc)}).encode())
        return 1
    seconds = time.monotonic() - began  # logged by the parent ("Kopie im Speicher bereit")
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # the kernel reaps the workers
    write_frame(channel, b"R", json.dumps({"pid": os.getpid(), "isolated": isolated, "quads": quads,
                                           "seconds": round(seconds, 2)}).encode())
    while True:
        try:
            message, fds, _, _ = socket.recv_fds(control, 1, 1)
        except OSError:
            return 0
        if not message:
            return 0  # the parent closed the control socket (or exited)
        if not fds:
            continue
        pid = fork_worker(config, memory, fds[0], close=(channel, control), isolated=isolated)
        write_frame(channel, b"P", json.dumps({"pid": pid}).encode())


if __name__ == "__main__":
    sys.exit(main(sys.argv))
