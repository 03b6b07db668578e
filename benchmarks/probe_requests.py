"""Per-request cost of ``digiregion serve``: many sequential cold requests of one query, with the CPU they took.

Why besides ``service_bench.py``: the service benchmark takes ten cold runs per query right after a
restart, which is the right comparison between engines but too few to see a fixed cost per request
or how it settles. This starts digiregion over a data folder (reusing a persisted store), waits for
the in-memory copy and for quiet, optionally runs warm-up queries, then sends ``--requests`` cold
variants (distinct texts) of one query on one kept-alive connection and prints the p50, medians per
block of requests, the CPU per request of the web process and of the workers, and the workers' minor
page faults per block (copy-on-write faults of the forked workers would show there; all from /proc).

    /tmp/venv/bin/python benchmarks/probe_requests.py --data benchmarks/out/work/data/1000000 \\
        [--query 01] [--requests 1500] [--warm-up 01,02,…,11] [--store-dir DIR]

Talks to 127.0.0.1 only. A measurement, not a test.
"""

from __future__ import annotations

import argparse
import itertools
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_engines as be
import bench_queries as bq

READY = "Kopie im Speicher bereit"


def cpu_seconds(pid: int) -> float:
    """utime + stime of one process (0 when it is gone)."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def minor_faults(pids: list[int]) -> int:
    """Minor page faults of ``pids`` so far (copy-on-write faults of forked workers are counted here)."""
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as fh:
                total += int(fh.read().rsplit(")", 1)[1].split()[7])
        except OSError:
            pass
    return total


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--store-dir", type=Path, default=Path(__file__).parent / "out" / "work" / "probe-store")
    parser.add_argument("--query", default="01")
    parser.add_argument("--requests", type=int, default=1500)
    parser.add_argument("--warm-up", default="", help="comma-separated query keys run once before measuring")
    args = parser.parse_args()

    port = be.free_port()
    url = f"http://127.0.0.1:{port}/sparql"
    log_path = args.store_dir.parent / "probe-serve.log"
    args.store_dir.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            [str(Path(sys.executable).parent / "digiregion"), "serve", "--host", "127.0.0.1", "--port", str(port),
             "--store-dir", str(args.store_dir), "--data", str(args.data)], stdout=log, stderr=subprocess.STDOUT)
    try:
        began = time.monotonic()
        be.wait_until_answers(url, began + 900, process)
        while READY not in log_path.read_text(errors="replace") and time.monotonic() < began + 900:
            time.sleep(0.5)
        mix = {q.key: q for q in bq.load_mix()}
        client = bq.Client(url, {}, 60)
        for key in filter(None, args.warm_up.split(",")):
            client.query(mix[key].text, mix[key].accept)
        # real AGS from the data, as the service benchmark uses them (until the fourth session: mostly absent ones)
        status, _, body = client.query(bq.PARAMS_QUERY, bq.SELECT_ACCEPT)
        params = bq.params_from_rows(bq.parse_answer(bq.Query("00", "params", bq.PARAMS_QUERY, "SELECT"), status, 0,
                                                     body).rows)
        print("quiet:", be.wait_quiet([process.pid], 60))
        query = mix[args.query]
        tree = be._tree(process.pid)
        before = {pid: cpu_seconds(pid) for pid in tree}
        latencies = []
        workers_pids = [pid for pid in tree if pid != process.pid]
        faults = []  # minor page faults of the workers per block of 20 requests (read between requests)
        for n in range(args.requests):
            if n % 20 == 0:
                faults.append(minor_faults(workers_pids))
            status, seconds, body = client.query(bq.variant(query, n, params), query.accept)
            if status != "200":
                raise SystemExit(f"request {n}: {status} {body[:300]!r}")
            latencies.append(seconds * 1000)
        faults.append(minor_faults(workers_pids))
        web = (cpu_seconds(process.pid) - before[process.pid]) / args.requests * 1000
        workers = sum(cpu_seconds(pid) - before[pid] for pid in tree if pid != process.pid) / args.requests * 1000
        print(f"{query.label}: {args.requests} cold requests, p50 {statistics.median(latencies):.2f} ms; "
              f"CPU per request: web process {web:.3f} ms, workers {workers:.3f} ms")
        print("medians per 20 (first 200):",
              " ".join(f"{statistics.median(latencies[i:i + 20]):.2f}" for i in range(0, min(200, args.requests), 20)))
        print("worker minor page faults per request, per 20 (first 200):",
              " ".join(f"{(b - a) / 20:.0f}" for a, b in list(itertools.pairwise(faults))[:10]))
        print("medians per 100:",
              " ".join(f"{statistics.median(latencies[i:i + 100]):.2f}" for i in range(0, args.requests, 100)))
    finally:
        process.terminate()
        process.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
