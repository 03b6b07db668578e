#!/usr/bin/env python3
"""Scaling benchmark (issue 4): how start-up, latency and memory of each engine grow with the data size.

    /tmp/venv/bin/python benchmarks/scaling_bench.py --sizes 100000,1000000      # ~10 min on 2 cores
    /tmp/venv/bin/python benchmarks/scaling_bench.py --sizes 100000,1000000,10000000   # 10^7 only when asked

For every size (``benchmarks/generate.py --triples N`` with the Lippe base IRI, plus the ontology — the same
files as ``service_bench.py``) the engines run ONE AT A TIME, each stopped before the next starts, so no two
servers share the two cores: digiregion embedded (the reference, first), digiregion → Virtuoso, Virtuoso 7,
the Oxigraph server, and rdflib-endpoint at the smallest size only. Per engine:

1. load + start-up time (until the endpoint answers; details such as the load step in the JSON);
2. answers first: every query of ``query_mix/`` once, rows compared with the embedded reference
   (``bench_queries.compare``);
3. sequential latency of *cold* queries (distinct texts, ``bench_queries.variant``): p50 / p95 over at most
   ``--reps`` runs and ``--budget`` seconds per query; queries without an answer in step 2 are skipped;
4. peak RSS of the server process trees over the engine's whole life (digiregion → Virtuoso: both trees).

Derived: the geometric mean of the cold p50 over the queries every main engine of that size answered, and
the ratio "digiregion → Virtuoso ÷ Virtuoso" (geometric mean of the per-query p50 ratios; issue target
≤ 1.3×). Writes ``benchmarks/out/scaling-<timestamp>.json``, the log-log plot ``benchmarks/scaling.png``
(``--png``) and prints a markdown table. A measurement, not a test: no timed assertions; every loop is
bounded in count and time; every query has a timeout; every server is stopped in ``finally``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_engines import ENGINES, Engine
from bench_queries import (
    PARAMS_QUERY,
    SELECT_ACCEPT,
    Answer,
    Client,
    Query,
    load_mix,
    params_from_rows,
    parse_answer,
)
from service_bench import OUT, _answer_report, answered, answers_for, log, machine, prepare_data, sequential

ROOT = Path(__file__).resolve().parent.parent
ORDER = ("digiregion", "digiregion-virtuoso", "virtuoso", "oxigraph", "rdflib-endpoint")
MAIN = ("digiregion", "digiregion-virtuoso", "virtuoso", "oxigraph")
REMOTE, DIRECT = "digiregion-virtuoso", "virtuoso"
TARGET_RATIO = 1.3


def cold_latency(engine: Engine, mix: list[Query], skip: dict[str, str], params: dict[str, list[str]],
                 reps: int, budget: float, timeout: float) -> dict[str, dict[str, object]]:
    """Sequential cold p50/p95 per query (the service benchmark's loop, cold texts only)."""
    found = sequential(engine, mix, skip, params, reps, budget, timeout, kinds=("cold",))
    return {key: entry.get("cold", entry) for key, entry in found.items()}


def run_engine(name: str, files: Path, work: Path, args: argparse.Namespace, mix: list[Query],
               reference: dict[str, Answer], params: dict[str, list[str]]) -> tuple[dict[str, object],
                                                                                   dict[str, Answer]]:
    """Start ``name``, check its answers, measure cold latency, stop it (always). Returns (entry, answers)."""
    start_timeout = args.rdflib_start_timeout if name == "rdflib-endpoint" else args.start_timeout
    engine = ENGINES[name](start_timeout, args.timeout)
    entry: dict[str, object] = {"label": engine.label}
    answers: dict[str, Answer] = {}
    try:
        entry["version"] = engine.version()
    except (OSError, subprocess.SubprocessError) as exc:
        entry["version"] = f"? ({type(exc).__name__})"
    log(f"starting {name}")
    (work / name).mkdir(parents=True, exist_ok=True)
    try:
        try:
            entry["startup_s"] = round(engine.start(files, work / name), 2)
            entry.update(engine.details)
        except TimeoutError:
            entry["startup_error"] = f"did not start/answer within {start_timeout:g} s"
        except (RuntimeError, subprocess.SubprocessError, OSError) as exc:
            entry["startup_error"] = f"{type(exc).__name__}: {exc}"[:500]
        log(f"  {name}: start-up {entry.get('startup_s', entry.get('startup_error'))}")
        if "startup_s" in entry:
            answers = answers_for(engine, mix, args.timeout, give_up_after=2 if name == "rdflib-endpoint" else 0)
            if name == "digiregion":
                reference = answers
                client = Client(engine.url, {}, args.timeout)
                status, _, body = client.query(PARAMS_QUERY, SELECT_ACCEPT)
                client.close()
                if status == "200":
                    params.update(params_from_rows(parse_answer(Query("00", "params", PARAMS_QUERY, "SELECT"),
                                                                status, 0, body).rows))
            entry["answers"] = _answer_report(mix, reference, answers, args.timeout)
            skip = {q.key: f"no answer in the first round ({answers[q.key].status})"
                    for q in mix if not answered(answers[q.key], args.timeout)}
            reps = max(1, args.reps // 2) if name == "rdflib-endpoint" else args.reps
            log(f"measuring {name} (sequential cold, ≤ {reps} reps, ≤ {args.budget:g} s per query)")
            entry["latency"] = cold_latency(engine, mix, skip, params, reps, args.budget, args.timeout)
    finally:
        log(f"stopping {name}")
        try:
            engine.stop()
        finally:
            entry["peak_rss_mb"] = round(engine.peak_rss() / 2**20, 1)
    return entry, answers


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


# -- report -------------------------------------------------------------------------------------------------

def _verdict(e: dict[str, object], name: str) -> str:
    answers = e.get("answers", {})
    if not answers:
        return "–"
    same = [k for k, a in answers.items() if a.get("verdict") == "same"]
    wrong = [k for k, a in answers.items() if a.get("verdict") == "DIFFERENT"]
    timeouts = [k for k, a in answers.items() if a.get("verdict") == "timeout"]
    other = [f"{k} ({a.get('status')})" for k, a in answers.items()
             if a.get("verdict") not in ("same", "DIFFERENT", "timeout")]
    if name == "digiregion":
        text = f"reference ({len(answers) - len(timeouts)}/{len(answers)} answered)"
    else:
        text = f"{len(same)}/{len(answers)}"
    notes = ([f"differ: {', '.join(wrong)}"] if wrong else []) + ([f"timeout: {', '.join(timeouts)}"]
                                                                  if timeouts else [])
    if other and name != "digiregion":
        notes.append(f"error/not run: {', '.join(other)}")
    return text + (" — " + "; ".join(notes) if notes else "")


def _startup(e: dict[str, object]) -> str:
    if "startup_s" not in e:
        return str(e.get("startup_error", "–"))
    parts = [f"{k.removesuffix('_s').replace('_', ' ')} {e[k]}" for k in
             ("server_start_s", "load_s", "serve_start_s", "restart_s", "dumps_ready_s") if k in e]
    return f"{e['startup_s']}" + (f" ({'; '.join(parts)})" if parts else "")


def markdown(report: dict[str, object]) -> str:
    lines = ["| triples | engine | start-up s | geo-mean cold p50 ms | peak RSS MB | answers same as reference |",
             "|---|---|---|---|---|---|"]
    for s in report["sizes"]:
        for name, e in s["engines"].items():
            gm = e.get("geo_mean_ms")
            gm_text = f"{gm:g} ({e['geo_mean_n']} q)" if gm else "–"
            lines.append(f"| {s['size']:,} | {e['label']} | {_startup(e)} | {gm_text} | "
                         f"{e.get('peak_rss_mb', '–')} | {_verdict(e, name)} |")
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
    lines.append("")
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


def plot(report: dict[str, object], path: Path) -> bool:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        log("matplotlib missing (pip install -r benchmarks/requirements-bench.txt): no PNG")
        return False
    metrics = (("startup_s", "load + start-up (s)"), ("geo_mean_ms", "geo-mean cold p50 latency (ms)"),
               ("peak_rss_mb", "peak RSS (MB)"))
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.6))
    labels: dict[str, str] = {}
    for s in report["sizes"]:
        for name, e in s["engines"].items():
            labels[name] = e["label"]
    for ax, (key, title) in zip(axes, metrics, strict=True):
        for name in ORDER:
            if name not in labels:
                continue
            points = [(s["size"], s["engines"][name].get(key)) for s in report["sizes"] if name in s["engines"]]
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
                 "engines run one at a time")
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
    args.out.mkdir(parents=True, exist_ok=True)
    work = args.work or args.out / "work"
    mix = load_mix()
    started = dt.datetime.now(dt.UTC)
    report: dict[str, object] = {
        "date": started.strftime("%Y-%m-%d %H:%M UTC"),
        "command": " ".join([Path(sys.executable).as_posix(), "benchmarks/scaling_bench.py",
                             *(argv if argv is not None else sys.argv[1:])]),
        "machine": machine(),
        "settings": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "sizes": [],
    }
    for size in sizes:
        files = prepare_data(str(size), work)
        size_result: dict[str, object] = {"size": size, "files": len(list(files.iterdir())), "engines": {},
                                          "loadavg_start": [round(x, 2) for x in os.getloadavg()]}
        log(f"== size {size}: {size_result['files']} files in {files}")
        reference: dict[str, Answer] = {}
        params: dict[str, list[str]] = {"ags": ["05766020"], "active_ags": ["05766020"]}
        for name in ORDER:
            if name not in wanted or (name == "rdflib-endpoint" and size != sizes[0]):
                continue
            entry, answers = run_engine(name, files, work, args, mix, reference, params)
            if name == "digiregion":
                reference = answers
            size_result["engines"][name] = entry
        derive(size_result)
        report["sizes"].append(size_result)
    report["duration_s"] = round((dt.datetime.now(dt.UTC) - started).total_seconds())
    report["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    path = args.out / f"scaling-{started.strftime('%Y%m%dT%H%M%S')}.json"
    path.write_text(json.dumps(report, indent=2, ensure_ascii=False), encoding="utf-8")
    text = markdown(report)
    (args.out / "scaling-latest.md").write_text(text, encoding="utf-8")
    if plot(report, args.png):
        log(f"wrote {args.png}")
    print(text)
    log(f"wrote {path} ({report['duration_s']} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
