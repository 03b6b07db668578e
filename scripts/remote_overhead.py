"""Per-request overhead of ``digiregion serve --store`` over the engine itself, measured sequentially.

Why a separate script: the issue's target ("digiregion in front of Virtuoso adds at most 1.3x the
engine's own latency") is about a fixed cost per request, which a throughput benchmark hides. This
sends the query mix one request at a time to the engine directly and to one or more digiregion
instances, **interleaved** in rounds (so load from other processes on a shared machine hits every
target alike), with a unique comment in every text (no result or plan cache can answer), and reports
medians, the added milliseconds and the ratio per query, plus the geometric mean of the ratios.

    python scripts/remote_overhead.py --engine http://127.0.0.1:8890/sparql \\
        --graph https://w3id.org/digiregion/lippe/ --target new=http://127.0.0.1:8000/sparql \\
        [--target old=http://127.0.0.1:8001/sparql] [--queries 01,02] [--rounds 5] [--block 50]

Talks to 127.0.0.1 only. The engine gets the dataset as digiregion pins it (``default-graph-uri``).
The client acknowledges at once (``TCP_QUICKACK``, Linux): Virtuoso writes answers without
``TCP_NODELAY``, and with the kernel's delayed ACK a kept-alive connection then stalls 40 ms on many
answers of a few KB and more — that would be measured as the engine's own latency.
"""

from __future__ import annotations

import argparse
import http.client
import math
import socket
import statistics
import sys
import time
import urllib.parse
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.bench_queries import load_mix


class Target:
    """One kept-alive connection to a SPARQL endpoint; ``ask`` returns milliseconds for one answer."""

    def __init__(self, name: str, url: str, params: dict[str, str]) -> None:
        parts = urllib.parse.urlsplit(url)
        if parts.hostname != "127.0.0.1":
            raise SystemExit(f"{url}: only 127.0.0.1 is measured")
        self.name, self.path, self.params = name, parts.path or "/", params
        self.conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=120)

    def ask(self, text: str, accept: str) -> float:
        """One answer; a kept-alive connection the server closed meanwhile (idle timeout) is reopened first."""
        sock = self.conn.sock
        if sock is not None:
            sock.setblocking(False)
            try:
                closed = sock.recv(1, socket.MSG_PEEK) == b""
            except BlockingIOError:
                closed = False
            except OSError:
                closed = True
            sock.setblocking(True)
            if closed:
                self.conn.close()
        body = urllib.parse.urlencode({"query": text, **self.params})
        started = time.perf_counter()
        self.conn.request("POST", self.path, body, {"Content-Type": "application/x-www-form-urlencoded",
                                                    "Accept": accept})
        if hasattr(socket, "TCP_QUICKACK") and self.conn.sock is not None:
            self.conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)
        response = self.conn.getresponse()
        data = response.read()
        elapsed = (time.perf_counter() - started) * 1000
        if response.status != 200:
            raise SystemExit(f"{self.name}: HTTP {response.status}: {data[:300]!r}")
        return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--engine", required=True, help="the engine's SPARQL endpoint (measured directly)")
    parser.add_argument("--graph", required=True, help="the dataset's graph (default-graph-uri for the engine)")
    parser.add_argument("--target", action="append", required=True, help="NAME=URL of a digiregion /sparql")
    parser.add_argument("--queries", default="01", help="keys of benchmarks/query_mix, comma-separated")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--block", type=int, default=50, help="requests per target per round")
    args = parser.parse_args()
    targets = [Target("engine", args.engine, {"default-graph-uri": args.graph})]
    targets += [Target(*spec.split("=", 1), {}) for spec in args.target]
    ratios: dict[str, list[float]] = {t.name: [] for t in targets[1:]}
    for query in load_mix():
        if query.key not in args.queries.split(","):
            continue
        times: dict[str, list[float]] = {t.name: [] for t in targets}
        for target in targets:  # warm-up: connections, plans of the query shape
            for _ in range(3):
                target.ask(f"{query.text}\n# warm {uuid.uuid4()}\n", query.accept)
        for _ in range(args.rounds):
            for target in targets:
                for _ in range(args.block):
                    times[target.name].append(target.ask(f"{query.text}\n# {uuid.uuid4()}\n", query.accept))
        engine = statistics.median(times["engine"])
        line = [f"{query.label:42s} engine {engine:7.2f} ms"]
        for target in targets[1:]:
            median = statistics.median(times[target.name])
            ratios[target.name].append(median / engine)
            line.append(f"{target.name} {median:7.2f} ms (+{median - engine:5.2f}, x{median / engine:4.2f})")
        print(" | ".join(line), flush=True)
    for name, values in ratios.items():
        if values:
            print(f"{name}: geometric mean of the ratios x{math.exp(sum(map(math.log, values)) / len(values)):.2f}")


if __name__ == "__main__":
    main()
