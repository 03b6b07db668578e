"""A/B of two running digiregion servers (e.g. two commits): cold requests sent alternately, p50 and CPU of each.

Why alternately: this machine's speed drifts by up to 2× between minutes (the CPU probe of the other
benchmarks), so two runs one after the other compare phases, not code. Sending request n to A, then to B,
then n + 1 to A … puts both in the same phase; differences of ~0.05 ms per request become visible.
Round n sends the same query (``bench_queries.variant`` n) to each server, so both servers (and the engine)
do the same work: the variants of some queries repeat with a short period (09: the month, 05: the
district), which per-server numbering would align with the rotation, giving one server only the small
answers. Each server's copy ends in its own comment, so no text is seen twice — neither by a result cache
nor by the engine behind both (Virtuoso compiles a text it has seen before faster: a second identical text
made a front look ~1 ms faster). Who is asked first alternates between rounds.

With ``--direct URL`` the engine behind a ``--store`` server (Virtuoso) is asked the same kind of query
in the same rotation, and the ratio front ÷ engine is printed (what digiregion adds, per query).

Start the servers yourself, e.g. the old commit from a git worktree with ``PYTHONPATH``:

    git worktree add /tmp/base <commit>
    digiregion serve --port 8101 --data DATA --store-dir /tmp/a &
    PYTHONPATH=/tmp/base/service digiregion serve --port 8102 --data DATA --store-dir /tmp/b &
    /tmp/venv/bin/python benchmarks/ab_requests.py --a http://127.0.0.1:8101/sparql --a-pid PID_A \\
        --b http://127.0.0.1:8102/sparql --b-pid PID_B [--queries 01,02] [--requests 2000] [--direct URL]

Prints per query: p50 of A and B (and of the engine), and the CPU per request of each server's web process
and of its workers (from /proc; a ``--store`` server's engine threads are in the web process). 127.0.0.1 only.
A measurement, not a test.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_engines as be
import bench_queries as bq
from probe_requests import cpu_seconds
from service_bench import cpu_probe_us

DIRECT_GRAPH = "urn:digiregion:bench-served"
"""The graph the scaling harness loads for digiregion → Virtuoso (``bench_engines``)."""


def tree_cpu(pid: int) -> tuple[float, float]:
    """CPU seconds so far of the web process and of all its descendants (the query workers)."""
    return cpu_seconds(pid), sum(cpu_seconds(p) for p in be._tree(pid) if p != pid)


def add_servers(parser: argparse.ArgumentParser) -> None:
    """The two servers to compare (shared with ``ab_throughput.py``)."""
    parser.add_argument("--a", required=True, help="SPARQL endpoint of server A")
    parser.add_argument("--a-pid", type=int, required=True)
    parser.add_argument("--b", required=True, help="SPARQL endpoint of server B")
    parser.add_argument("--b-pid", type=int, required=True)


def variant_params(url: str) -> dict[str, list[str]]:
    """The values the cold variants of the mix draw from, asked of the server at ``url``."""
    status, _, body = bq.Client(url, {}, 60).query(bq.PARAMS_QUERY, bq.SELECT_ACCEPT)
    return bq.params_from_rows(bq.parse_answer(bq.Query("00", "params", bq.PARAMS_QUERY, "SELECT"), status, 0,
                                               body).rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_servers(parser)
    parser.add_argument("--direct", default=None, help="the engine behind both (--store servers), asked too")
    parser.add_argument("--direct-graph", default=DIRECT_GRAPH)
    parser.add_argument("--queries", default="01,02")
    parser.add_argument("--requests", type=int, default=2000, help="per query and server")
    parser.add_argument("--offset", type=int, default=0, help="first variant number (use a new one per run)")
    args = parser.parse_args()

    mix = {q.key: q for q in bq.load_mix()}
    clients = {"A": bq.Client(args.a, {}, 60), "B": bq.Client(args.b, {}, 60)}
    if args.direct:
        clients["engine"] = bq.Client(args.direct, {"default-graph-uri": args.direct_graph}, 60)
    params = variant_params(args.a)
    pids = {"A": args.a_pid, "B": args.b_pid}
    print(f"quiet: {be.wait_quiet(list(pids.values()), 60)}; CPU probe {cpu_probe_us():.0f} µs")
    for key in args.queries.split(","):
        query = mix[key]
        latencies: dict[str, list[float]] = {name: [] for name in clients}
        before = {name: tree_cpu(pid) for name, pid in pids.items()}
        for n in range(args.requests):
            text = bq.variant(query, args.offset + n, params)
            order = list(clients.items())
            for name, client in order if n % 2 else reversed(order):  # who goes first alternates too
                status, seconds, body = client.query(f"{text}# {name}\n", query.accept)
                if status != "200":
                    raise SystemExit(f"{name}, {key}, request {n}: {status} {body[:300]!r}")
                latencies[name].append(seconds * 1000)
        p50 = {name: statistics.median(values) for name, values in latencies.items()}
        parts = []
        for name, pid in pids.items():
            web, workers = (1000 * (after - start) / args.requests
                            for start, after in zip(before[name], tree_cpu(pid), strict=True))
            ratio = f" = {p50[name] / p50['engine']:.2f}× engine" if "engine" in p50 else ""
            parts.append(f"{name} p50 {p50[name]:.3f} ms{ratio} (CPU per request: web {web:.3f}, workers {workers:.3f})")
        if "engine" in p50:
            parts.append(f"engine p50 {p50['engine']:.3f} ms")
        print(f"{query.label}: " + " │ ".join(parts))
    return 0


if __name__ == "__main__":
    sys.exit(main())
