#!/usr/bin/env python3
"""Scaling benchmark (issue 4): how start-up, latency, throughput and memory of each engine grow with the data size.

    /tmp/venv/bin/python benchmarks/scaling_bench.py --sizes 100000,1000000      # ~20 min on 2 cores
    /tmp/venv/bin/python benchmarks/scaling_bench.py --sizes 100000,1000000,10000000   # 10^7 only when asked

For every size (``benchmarks/generate.py --triples N`` with the Lippe base IRI, plus the ontology — the same
files as ``service_bench.py``) the engines run ONE AT A TIME, each stopped before the next starts, so no two
servers share the two cores: digiregion embedded (the reference, first), digiregion → Virtuoso, the Oxigraph
server, Virtuoso 7, and rdflib-endpoint at the smallest size only. The orchestration is
``service_bench.run_engines`` (shared with the service benchmark):

1. *answers*, per engine alone: load + start-up time (until the endpoint answers; details such as the load
   step in the JSON), every query of ``query_mix/`` once, stop; the stored rows are compared with the
   embedded reference (``bench_queries.compare``) once all engines have run;
2. *measurement*, per engine alone: restart over what step 1 built (timed), every answered query once more
   (warm-up; rows compared with its own step-1 rows), a bounded wait until the engine and the machine are
   idle (load average recorded), sequential latency of *cold* queries (distinct texts,
   ``bench_queries.variant``: p50 / p95 over at most ``--reps`` runs and ``--budget`` seconds per query;
   queries without an answer in step 1 skipped), then throughput of ``--clients`` concurrent clients over
   ``--throughput-seconds`` (cold texts; the mix = the queries every main engine answered, stress query 11
   never; ``service_bench.throughput``), stop;
3. rdflib-endpoint (in memory, nothing to restart) in one phase, alone, afterwards;
4. peak RSS of the server process trees over both phases (digiregion → Virtuoso: both trees).

Derived: the geometric mean of the cold p50 over the queries every main engine of that size answered, and
the ratio "digiregion → Virtuoso ÷ Virtuoso" (geometric mean of the per-query p50 ratios; issue target
≤ 1.3×), twice: across the two separately loaded instances, and on the SAME instance (the Virtuoso behind
digiregion asked directly and through digiregion, alternately, with the same cold texts, at most
``--overhead-reps`` per query: ``service_bench.overhead``), which isolates what digiregion adds from how the data was loaded. Writes ``benchmarks/out/scaling-<timestamp>.json`` and ``.md`` (+ ``scaling-latest.md``), the
log-log plot ``benchmarks/scaling.png`` (``--png``) and prints the summary table. A measurement, not a test:
no timed assertions; every loop is bounded in count and time; every query has a timeout; every server is
stopped in ``finally``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_engines import loadavg
from bench_queries import load_mix
from service_bench import (
    ORDER,
    OUT,
    Plan,
    add_common_arguments,
    conditions,
    fmt_rss,
    fmt_throughput,
    kinds_of,
    log,
    new_report,
    prepare_data,
    run_engines,
    startup_text,
    verdict,
    write_report,
)

ROOT = Path(__file__).resolve().parent.parent
MAIN = ("digiregion", "digiregion-virtuoso", "oxigraph", "virtuoso")
REMOTE, DIRECT = "digiregion-virtuoso", "virtuoso"
TARGET_RATIO = 1.3


def flatten_latency(entries: dict[str, dict[str, object]]) -> None:
    """``{query: {"cold": summary}}`` → ``{query: summary}`` (this benchmark measures cold texts only; the
    flat form is what earlier scaling JSON files hold, so ``--from-json`` can combine old and new runs)."""
    for entry in entries.values():
        if "latency" in entry:
            entry["latency"] = {key: found.get("cold", found) for key, found in entry["latency"].items()}


def geo_mean(values: list[float]) -> float | None:
    return math.exp(sum(math.log(v) for v in values) / len(values)) if values else None


def derive(size_result: dict[str, object]) -> None:
    """Geometric means over the common answered queries, and the digiregion → Virtuoso ÷ Virtuoso ratio."""
    engines = size_result["engines"]

    def p50(name: str, key: str) -> float | None:
        lat = engines.get(name, {}).get("latency", {}).get(key, {})
        return lat.get("p50_ms")

    keys = sorted({k for e in engines.values() for k in e.get("latency", {})})
    started = [n for n in MAIN if n in engines and "latency" in engines[n]]
    common = [k for k in keys if started and all(p50(n, k) for n in started)]
    size_result["geo_mean_queries"] = common
    for name, e in engines.items():
        if "latency" not in e:
            continue
        own = common if all(p50(name, k) for k in common) and common else [k for k in keys if p50(name, k)]
        value = geo_mean([p50(name, k) for k in own])
        e["geo_mean_ms"] = round(value, 2) if value else None
        e["geo_mean_n"] = len(own)
    both = [k for k in keys if p50(REMOTE, k) and p50(DIRECT, k)]
    if both:
        ratio = geo_mean([p50(REMOTE, k) / p50(DIRECT, k) for k in both])
        size_result["remote_ratio"] = {"value": round(ratio, 2), "queries": both, "target": TARGET_RATIO,
                                       "per_query": {k: round(p50(REMOTE, k) / p50(DIRECT, k), 2) for k in both}}
    same = engines.get(REMOTE, {}).get("overhead")
    if same and same.get("geo_mean_ratio"):
        size_result["remote_overhead"] = {
            "value": round(same["geo_mean_ratio"], 2), "queries": same["ratio_queries"], "target": TARGET_RATIO,
            "per_query": {k: q["ratio"] for k, q in same["queries"].items() if "ratio" in q},
            "added_ms": {k: q["added_ms"] for k, q in same["queries"].items() if "added_ms" in q},
            "texts": {k: q["front"].get("n") for k, q in same["queries"].items() if "ratio" in q}}


# -- report -------------------------------------------------------------------------------------------------

def markdown(report: dict[str, object], brief: bool = False) -> str:
    clients = report.get("settings", {}).get("clients", 8)
    lines = ["| triples | engine | start-up s | geo-mean cold p50 ms | cold q/s "
             f"({clients} clients) | peak RSS MB | answers same as reference |",
             "|---|---|---|---|---|---|---|"]
    for s in report["sizes"]:
        for name, e in s["engines"].items():
            gm = e.get("geo_mean_ms")
            gm_text = f"{gm:g} ({e['geo_mean_n']} q)" if gm else "–"
            lines.append(f"| {s['size']:,} | {e['label']} | {startup_text(e)} | {gm_text} | "
                         f"{fmt_throughput(e.get('throughput_cold'))} | {fmt_rss(e)} | "
                         f"{verdict(e, name)} |")
    lines.append("")
    for s in report["sizes"]:
        r = s.get("remote_ratio")
        if r:
            ok = "meets" if r["value"] <= r["target"] else "misses"
            lines.append(f"- {s['size']:,}: digiregion → Virtuoso ÷ Virtuoso = **{r['value']}×** (geo-mean of per-query "
                         f"cold p50 ratios over {len(r['queries'])} queries: {', '.join(r['queries'])}; {ok} the "
                         f"≤ {r['target']}× target); geo-mean columns use the queries {', '.join(s['geo_mean_queries'])}")
        else:
            lines.append(f"- {s['size']:,}: ratio digiregion → Virtuoso ÷ Virtuoso not available")
        o = s.get("remote_overhead")
        if o:
            ok = "meets" if o["value"] <= o["target"] else "misses"
            texts = o.get("texts") or {}
            per = ", ".join(f"{k} {v:g}× (+{o['added_ms'][k]:g} ms" + (f", {texts[k]} texts)" if texts.get(k) else ")")
                            for k, v in o["per_query"].items())
            lines.append(f"- {s['size']:,}: same Virtuoso instance, interleaved (directly vs through digiregion, same "
                         f"cold texts): **{o['value']}×** ({ok} the ≤ {o['target']}× target); per query: {per}")
        if s.get("throughput_mix"):
            lines.append(f"- {s['size']:,}: throughput mix {', '.join(s['throughput_mix'])} (queries every main "
                         "engine answered; 11 never)")
    lines.append("")
    for s in report["sizes"]:
        found = conditions(s["engines"])
        if found:
            lines += [f"Measurement conditions at {s['size']:,} triples (each engine alone, after a bounded wait "
                      "for quiet):", "", *found, ""]
    if brief:
        return "\n".join(lines)
    for s in report["sizes"]:
        names = list(s["engines"])
        lines += [f"Cold latency at {s['size']:,} triples, ms p50 / p95 (✗ = answer differs from the reference):", "",
                  "| query | " + " | ".join(s["engines"][n]["label"] for n in names) + " |",
                  "|---|" + "---|" * len(names)]
        for query in load_mix():
            cells = []
            for n in names:
                e = s["engines"][n]
                lat = e.get("latency", {}).get(query.key)
                answer = e.get("answers", {}).get(query.key, {})
                if lat is None:
                    cells.append("–")
                elif "skipped" in lat:
                    cells.append(f"{answer.get('verdict', '–')} ({answer.get('status', '')})")
                elif "p50_ms" in lat:
                    mark = " ✗" if answer.get("verdict") == "DIFFERENT" else ""
                    cells.append(f"{lat['p50_ms']:g} / {lat['p95_ms']:g}{mark}")
                else:
                    cells.append("/".join(lat.get("failed", ["–"])))
            lines.append(f"| {query.label} | " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines)


def _metric(e: dict[str, object], key: str) -> float | None:
    if key == "cold_qps":
        return e.get("throughput_cold", {}).get("qps")
    return e.get(key)


def plot(report: dict[str, object], path: Path) -> bool:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        log("matplotlib missing (pip install -r benchmarks/requirements-bench.txt): no PNG")
        return False
    clients = report.get("settings", {}).get("clients", 8)
    metrics = [("startup_s", "load + start-up (s)"), ("geo_mean_ms", "geo-mean cold p50 latency (ms)"),
               ("cold_qps", f"cold throughput, {clients} clients (q/s)"), ("peak_rss_mb", "peak RSS (MB)")]
    if not any(_metric(e, "cold_qps") for s in report["sizes"] for e in s["engines"].values()):
        metrics.pop(2)  # runs without throughput (earlier JSON files, --throughput-seconds 0)
    fig, grid = plt.subplots(2, 2, figsize=(11, 8.6))
    axes = list(grid.flat)
    if len(metrics) == 3:
        axes.pop().remove()
    labels: dict[str, str] = {}
    for s in report["sizes"]:
        for name, e in s["engines"].items():
            labels[name] = e["label"]
    for ax, (key, title) in zip(axes, metrics, strict=True):
        for name in ORDER:
            if name not in labels:
                continue
            points = [(s["size"], _metric(s["engines"][name], key)) for s in report["sizes"]
                      if "startup_s" in s["engines"].get(name, {})]  # an engine that never served: no point
            points = [(x, y) for x, y in points if y]
            if points:
                xs, ys = zip(*points, strict=True)
                ax.plot(xs, ys, marker="o", label=labels[name])
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("triples (generated, + ontology)")
        ax.set_title(title)
        ax.grid(True, which="both", alpha=0.3)
    axes[0].legend(fontsize=8)
    fig.suptitle(f"digiregion scaling (issue 4), {report['date']}, {report['machine']['nproc']} cores, "
                 "engines run one at a time", fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100000,1000000", help="comma-separated triple counts (10^7 only "
                                                                   "when listed)")
    parser.add_argument("--engines", default=",".join(ORDER), help="subset of " + ", ".join(ORDER))
    parser.add_argument("--timeout", type=float, default=30.0, help="per-query timeout, s")
    parser.add_argument("--reps", type=int, default=5, help="cold repetitions per query (sequential)")
    parser.add_argument("--budget", type=float, default=3.0, help="max seconds per query (sequential)")
    add_common_arguments(parser, "cold")
    parser.add_argument("--start-timeout", type=float, default=600.0)
    parser.add_argument("--rdflib-start-timeout", type=float, default=120.0)
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--png", type=Path, default=ROOT / "benchmarks" / "scaling.png")
    parser.add_argument("--work", type=Path, default=None, help="scratch folder (default OUT/work)")
    parser.add_argument("--from-json", type=Path, nargs="+", default=None,
                        help="measure nothing: combine the sizes of earlier scaling-*.json runs into one PNG + table")
    args = parser.parse_args(argv)
    if args.from_json:
        runs = [json.loads(p.read_text(encoding="utf-8")) for p in args.from_json]
        combined = {**runs[0], "sizes": sorted((s for r in runs for s in r["sizes"]), key=lambda s: s["size"]),
                    "combined_from": [p.name for p in args.from_json]}
        if plot(combined, args.png):
            log(f"wrote {args.png}")
        print(markdown(combined))
        return 0
    wanted = [e.strip() for e in args.engines.split(",") if e.strip()]
    unknown = set(wanted) - set(ORDER)
    if unknown:
        parser.error(f"unknown engines: {sorted(unknown)}")
    sizes = sorted({int(s) for s in args.sizes.split(",") if s.strip()})
    plan = Plan(timeout=args.timeout, reps=args.reps, budget=args.budget, clients=args.clients,
                throughput_seconds=args.throughput_seconds, quiet_timeout=args.quiet_timeout,
                start_timeout=args.start_timeout, single_start_timeout=args.rdflib_start_timeout,
                single_reps=max(1, args.reps // 2), latency_kinds=("cold",), throughput_kinds=kinds_of(args),
                overhead_reps=args.overhead_reps)
    args.out.mkdir(parents=True, exist_ok=True)
    work = args.work or args.out / "work"
    mix = load_mix()
    started = dt.datetime.now(dt.UTC)
    report = new_report("scaling_bench.py", args, argv, started)
    for size in sizes:
        files = prepare_data(str(size), work)
        size_result: dict[str, object] = {"size": size, "files": len(list(files.iterdir())),
                                          "loadavg_start": loadavg()}
        log(f"== size {size}: {size_result['files']} files in {files}")
        names = [n for n in wanted if n in MAIN or size == sizes[0]]  # rdflib-endpoint at the smallest size
        entries, _, throughput_keys = run_engines(files, work, names, plan, mix)
        flatten_latency(entries)
        size_result["engines"] = entries
        size_result["throughput_mix"] = throughput_keys
        derive(size_result)
        report["sizes"].append(size_result)
    report["duration_s"] = round((dt.datetime.now(dt.UTC) - started).total_seconds())
    report["loadavg_end"] = loadavg()
    json_path, md_path = write_report(report, args.out, "scaling", markdown(report))
    if plot(report, args.png):
        log(f"wrote {args.png}")
    print(markdown(report, brief=True))
    log(f"wrote {json_path} and {md_path} ({report['duration_s']} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
