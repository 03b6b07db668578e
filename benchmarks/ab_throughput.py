"""A/B of two running digiregion servers under concurrent load: queries per second in alternating time slices.

Why: ``ab_requests.py`` compares latency one request at a time; how a server behaves with several clients at
once (how many queries it lets into the engine, how the engine copes with them) only shows under load. The
machine's speed drifts between minutes, so the servers take turns in short slices (A, B, then B, A, …) and
each is measured in every phase. Every request is the mix's next cold variant with its own comment (no
result cache, no engine plan cache answers). Per slice: completed queries per second and CPU per query of
the server's process tree and, with ``--engine-pid``, of the engine behind both (e.g. Virtuoso).

    /tmp/venv/bin/python benchmarks/ab_throughput.py --a http://127.0.0.1:8201/sparql --a-pid PID_A \\
        --b http://127.0.0.1:8202/sparql --b-pid PID_B --engine-pid "$(pgrep -d, virtuoso-t)" \\
        [--clients 8] [--slices 6] [--seconds 20] [--queries 01,02,03,04,05,06,07,09,10]

Start the servers yourself (see ``ab_requests.py``). 127.0.0.1 only. A measurement, not a test.
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_engines as be
import bench_queries as bq
from ab_requests import add_servers, variant_params
from probe_requests import cpu_seconds
from service_bench import cpu_probe_us

DEFAULT_QUERIES = "01,02,03,04,05,06,07,09,10"
"""The mix without 08 (Virtuoso refuses it) and 11 (one query takes longer than a slice's share)."""


def tree_cpu(pids: list[int]) -> float:
    return sum(cpu_seconds(p) for pid in pids for p in be._tree(pid))


def load(url: str, mix: list[bq.Query], params: dict[str, list[str]], clients: int, seconds: float,
         numbers: itertools.count, tag: str) -> tuple[int, int]:
    """``clients`` threads send the mix's next cold variants for ``seconds``; (answered, failed)."""
    counts = {"ok": 0, "failed": 0}
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def client() -> None:
        connection = bq.Client(url, {}, 120)
        try:
            while time.monotonic() < stop:
                with lock:
                    n = next(numbers)
                query = mix[n % len(mix)]
                status, _, _ = connection.query(f"{bq.variant(query, n, params)}# {tag}\n", query.accept)
                with lock:
                    counts["ok" if status == "200" else "failed"] += 1
        finally:
            connection.close()

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return counts["ok"], counts["failed"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_servers(parser)
    parser.add_argument("--engine-pid", default="", help="comma-separated pids of the engine behind both")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--slices", type=int, default=6, help="per server")
    parser.add_argument("--seconds", type=float, default=20.0, help="length of one slice")
    parser.add_argument("--queries", default=DEFAULT_QUERIES)
    parser.add_argument("--offset", type=int, default=0, help="first variant number (use a new one per run)")
    args = parser.parse_args()

    wanted = args.queries.split(",")
    mix = [q for q in bq.load_mix() if q.key in wanted]
    params = variant_params(args.a)
    servers = {"A": (args.a, args.a_pid), "B": (args.b, args.b_pid)}
    engine = [int(p) for p in args.engine_pid.split(",") if p]
    print(f"quiet: {be.wait_quiet([args.a_pid, args.b_pid, *engine], 60)}; CPU probe {cpu_probe_us():.0f} µs; "
          f"{args.clients} clients, {args.seconds:g} s slices, queries {args.queries}")
    numbers = itertools.count(args.offset)
    rates: dict[str, list[float]] = {"A": [], "B": []}
    for turn in range(args.slices):
        order = ["A", "B"] if turn % 2 else ["B", "A"]
        for name in order:
            url, pid = servers[name]
            service_before, engine_before = tree_cpu([pid]), tree_cpu(engine)
            ok, failed = load(url, mix, params, args.clients, args.seconds, numbers, name)
            service = 1000 * (tree_cpu([pid]) - service_before) / max(ok, 1)
            behind = 1000 * (tree_cpu(engine) - engine_before) / max(ok, 1)
            rates[name].append(ok / args.seconds)
            print(f"slice {turn} {name}: {ok / args.seconds:.1f} q/s ({failed} failed); CPU per query: service "
                  f"{service:.2f} ms" + (f", engine {behind:.2f} ms" if engine else ""), flush=True)
    for name, values in rates.items():
        print(f"{name}: mean {statistics.mean(values):.1f} q/s, median {statistics.median(values):.1f} q/s "
              f"over {len(values)} slices")
    return 0


if __name__ == "__main__":
    sys.exit(main())
