"""How much of a forked in-memory pyoxigraph store stays shared, and what a fresh fork costs per query.

Why: the embedded store forks its query workers from one in-memory copy (``store/forkserver.py``).
This loads a snapshot into memory, runs the heavier queries of the mix in the parent twice, then in a
freshly forked child three times, and prints the latencies and the child's private memory
(``/proc/self/smaps_rollup``) after each pass. It is the measurement behind the design: pyoxigraph
writes in every quad a query visits, so the child's first pass pays copy-on-write faults and ends
up owning most pages.

    /tmp/venv/bin/python benchmarks/fork_sharing.py benchmarks/out/work/digiregion/digiregion-store/<key>/snapshot.nq

A measurement, not a test (Linux only).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pyoxigraph as ox

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_queries as bq

from digiregion.store.embedded import engine_text

KEYS = ("01", "02", "03", "04", "05", "06", "07", "08", "09", "10")
PARAMS = {"ags": ["05766020", "05766008", "09162000", "11000000"], "active_ags": ["05766020"]}


def private_bytes() -> int:
    """Resident memory that is this process's alone (copied on write or allocated)."""
    with open("/proc/self/smaps_rollup", "rb") as fh:
        return sum(int(line.split()[1]) * 1024 for line in fh
                   if line.startswith((b"Private_Clean:", b"Private_Dirty:")))


def run(store: ox.Store, label: str) -> None:
    mix = {q.key: q for q in bq.load_mix()}
    cells = []
    for key in KEYS:
        began = time.perf_counter()
        list(store.query(engine_text(bq.variant(mix[key], 3, PARAMS))))
        cells.append(f"{key}:{(time.perf_counter() - began) * 1000:.0f}")
    print(f"{label:<14} {' '.join(cells)}  (ms)  private {private_bytes() / 1e6:.0f} MB", flush=True)


def main(argv: list[str]) -> int:
    store = ox.Store()
    store.load(path=argv[1], format=ox.RdfFormat.N_QUADS, lenient=True)
    run(store, "parent 1")
    run(store, "parent 2")
    pid = os.fork()
    if pid == 0:
        print(f"fresh child: private {private_bytes() / 1e6:.0f} MB", flush=True)
        for n in range(3):
            run(store, f"child {n + 1}")
        os._exit(0)
    os.waitpid(pid, 0)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
