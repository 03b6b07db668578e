#!/usr/bin/env python3
"""Service benchmark: digiregion embedded vs. the Oxigraph server, Virtuoso 7 and rdflib-endpoint.

One run, side by side, on the same files, all on 127.0.0.1::

    /tmp/venv/bin/python benchmarks/service_bench.py --sizes lippe,1000000

For every size: prepare the data (``lippe`` = ontology + shapes + data/lippe, what ``digiregion serve``
publishes by default; a number = ``benchmarks/generate.py --triples N`` with the Lippe base IRI plus the
ontology), then

1. start digiregion, Oxigraph and Virtuoso one after the other (load + start-up time each);
2. answers first: every query of ``query_mix/`` once on every engine, rows compared with the reference
   (digiregion embedded), which on the Lippe data is itself checked against hand-computed answers;
3. per engine alone (the others idle): sequential latency of *cold* (distinct texts) and *repeated*
   (identical texts) queries, reported separately; throughput of 8 concurrent clients over a fixed
   window, cold and repeated separately; peak RSS of the server's process tree;
4. stop them (always, in ``finally``), then rdflib-endpoint alone, with a start-up deadline.

Writes ``benchmarks/out/service-<timestamp>.json`` and prints markdown tables (copied into
benchmarks/README.md). No timed assertions anywhere: this is a measurement, not a test. Every loop is
bounded in count and time; every query has a timeout. The peers live in benchmarks/.venv-peers
(``pip install -r benchmarks/requirements-peers.txt``), Virtuoso comes from ``scripts/virtuoso.sh install``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_engines import ENGINES, Engine
from bench_queries import (
    PARAMS_QUERY,
    SELECT_ACCEPT,
    Answer,
    Client,
    Query,
    check_reference,
    compare,
    hand_checks,
    load_mix,
    params_from_rows,
    parse_answer,
    variant,
)

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "benchmarks" / "out"
GENERATED = ROOT / "benchmarks" / "generated"
LIPPE_BASE = "https://w3id.org/digiregion/lippe/"
MAIN_ENGINES = ("digiregion", "oxigraph", "virtuoso")
STRESS_ONLY = ("11",)
"""Queries measured for answers and sequential latency but kept out of the throughput mix (not one of the
issue's ten: a sort over the whole store)."""


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# -- data ---------------------------------------------------------------------------------------------------

def prepare_data(size: str, work: Path) -> Path:
    """A flat folder of Turtle files for ``size`` (each engine loads exactly these files)."""
    target = work / "data" / size
    if target.is_dir() and any(target.iterdir()):
        return target
    target.mkdir(parents=True, exist_ok=True)
    if size == "lippe":
        sources = [ROOT / "ontology", ROOT / "shapes", ROOT / "data" / "lippe"]
    else:
        generated = GENERATED / f"{size}-lippe-base"
        if not (generated / "manifest.json").is_file():
            log(f"generating {size} triples into {generated}")
            subprocess.run([sys.executable, str(ROOT / "benchmarks" / "generate.py"), "--triples", size, "--out",
                            str(generated), "--base-iri", LIPPE_BASE, "--force", "--quiet"], check=True)
        sources = [ROOT / "ontology", generated]
    for source in sources:
        for path in sorted(source.rglob("*.ttl")):
            name = "_".join(path.relative_to(source.parent).parts)
            shutil.copyfile(path, target / name)
    return target


# -- measuring ----------------------------------------------------------------------------------------------

def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


def summary(samples: list[float], statuses: list[str]) -> dict[str, object]:
    ok = [s for s, st in zip(samples, statuses, strict=True) if st == "200"]
    bad = [st for st in statuses if st != "200"]
    result: dict[str, object] = {"n": len(samples), "ok": len(ok)}
    if ok:
        result["p50_ms"] = round(statistics.median(ok) * 1000, 2)
        result["p95_ms"] = round(pct(ok, 0.95) * 1000, 2)
    if bad:
        result["failed"] = sorted(set(bad))
    return result


def sequential(engine: Engine, mix: list[Query], skip: dict[str, str], params: dict[str, list[str]],
               reps: int, budget: float, timeout: float,
               kinds: tuple[str, ...] = ("cold", "repeated")) -> dict[str, dict[str, object]]:
    """Sequential p50/p95 per query and kind: at most ``reps`` texts and ``budget`` s per query and kind
    (cold = distinct texts, repeated = the identical text)."""
    client = Client(engine.url, engine.params, timeout + 5)
    results: dict[str, dict[str, object]] = {}
    try:
        for query in mix:
            if query.key in skip:
                results[query.key] = {"skipped": skip[query.key]}
                continue
            entry: dict[str, object] = {}
            for kind in kinds:
                samples, statuses = [], []
                began = time.monotonic()
                for n in range(1, reps + 1):
                    text = variant(query, n, params) if kind == "cold" else query.text
                    status, seconds, _ = client.query(text, query.accept)
                    samples.append(seconds)
                    statuses.append(status)
                    if status in ("timeout", "error") or time.monotonic() - began > budget:
                        break
                entry[kind] = summary(samples, statuses)
            results[query.key] = entry
    finally:
        client.close()
    return results


def throughput(engine: Engine, mix: list[Query], params: dict[str, list[str]], kind: str, clients: int,
               window: float, timeout: float, offset: int) -> dict[str, object]:
    """``clients`` threads send the mix round-robin for ``window`` seconds; completions inside it count."""
    counter = iter(range(offset, offset + 10_000_000))
    lock = threading.Lock()
    done: list[tuple[str, str, float]] = []
    start = time.monotonic()
    end = start + window

    def run(slot: int) -> None:
        client = Client(engine.url, engine.params, timeout + 5)
        try:
            while time.monotonic() < end:
                with lock:
                    n = next(counter)
                query = mix[(n + slot) % len(mix)]
                text = variant(query, n, params) if kind == "cold" else query.text
                status, seconds, _ = client.query(text, query.accept)
                finished = time.monotonic()
                with lock:
                    done.append((query.key, status, seconds if finished <= end else -1.0))
        finally:
            client.close()

    threads = [threading.Thread(target=run, args=(slot,), daemon=True) for slot in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:  # requests still running at the end may take up to their timeout
        thread.join(window + timeout + 15)
    inside = [d for d in done if d[2] >= 0]
    ok = [d for d in inside if d[1] == "200"]
    failed: dict[str, int] = {}
    for d in inside:
        if d[1] != "200":
            failed[f"{d[0]}:{d[1]}"] = failed.get(f"{d[0]}:{d[1]}", 0) + 1
    return {"window_s": window, "clients": clients, "completed": len(ok), "qps": round(len(ok) / window, 2),
            "failed": failed, "queries": [q.key for q in mix]}


def answers_for(engine: Engine, mix: list[Query], timeout: float, give_up_after: int = 0) -> dict[str, Answer]:
    """Every query once; ``give_up_after`` consecutive timeouts stop the round (a saturated engine)."""
    client = Client(engine.url, engine.params, timeout)
    answers: dict[str, Answer] = {}
    streak = 0
    try:
        for query in mix:
            if give_up_after and streak >= give_up_after:
                answers[query.key] = Answer("not-run", 0.0, [], [], "engine saturated by earlier timeouts")
                continue
            status, seconds, body = client.query(query.text, query.accept)
            answers[query.key] = answer = parse_answer(query, status, seconds, body)
            streak = streak + 1 if answer.status in ("timeout", "504", "500", "error") else 0
            log(f"  {engine.name} {query.label}: {answer.status} {seconds:.2f}s {len(answer.rows)} rows")
    finally:
        client.close()
    return answers


def answered(answer: Answer, timeout: float) -> bool:
    return answer.status == "200" and answer.seconds < timeout


# -- one size -----------------------------------------------------------------------------------------------

def run_size(size: str, args: argparse.Namespace, mix: list[Query], work: Path) -> dict[str, object]:
    files = prepare_data(size, work)
    triples_hint = size
    result: dict[str, object] = {"size": size, "files": len(list(files.iterdir())), "engines": {}}
    log(f"== size {size}: {result['files']} files in {files}")
    hand = None
    if size == "lippe":
        hand = hand_checks(files)
        result["hand_checks"] = {"municipalities": hand["municipalities"], "fields": hand["fields"]}
    wanted = [name for name in args.engines if name in MAIN_ENGINES]
    engines: dict[str, Engine] = {}
    reference: dict[str, Answer] = {}
    params: dict[str, list[str]] = {"ags": ["05766020"], "active_ags": ["05766020"]}
    try:
        for name in wanted:
            engine = ENGINES[name](args.start_timeout, args.timeout)
            entry = result["engines"][name] = {"label": engine.label, "version": engine.version()}
            log(f"starting {name}")
            try:
                engines[name] = engine
                (work / name).mkdir(parents=True, exist_ok=True)
                entry["startup_s"] = round(engine.start(files, work / name), 2)
                entry.update(engine.details)
            except TimeoutError:
                entry["startup_error"] = f"did not start/answer within {args.start_timeout:g} s"
            except (RuntimeError, subprocess.CalledProcessError, OSError) as exc:
                entry["startup_error"] = f"{type(exc).__name__}: {exc}"[:500]
            log(f"  {name}: {entry.get('startup_s', entry.get('startup_error'))}")
        running = {n: e for n, e in engines.items() if "startup_s" in result["engines"][n]}
        # 2. answers first
        all_answers: dict[str, dict[str, Answer]] = {}
        for name, engine in running.items():
            all_answers[name] = answers_for(engine, mix, args.timeout)
        if "digiregion" in all_answers:
            reference = all_answers["digiregion"]
            client = Client(running["digiregion"].url, {}, args.timeout)
            status, _, body = client.query(PARAMS_QUERY, SELECT_ACCEPT)
            client.close()
            if status == "200":
                params = params_from_rows(parse_answer(Query("00", "params", PARAMS_QUERY, "SELECT"),
                                                       status, 0, body).rows)
        if hand is not None and reference:
            failures = check_reference(reference, hand)
            result["reference_check"] = failures or "ok"
            log(f"hand-computed cross-check of the reference: {failures or 'ok'}")
        for name, answers in all_answers.items():
            result["engines"][name]["answers"] = _answer_report(mix, reference, answers, args.timeout)
        # the throughput mix: what every main engine answered within the timeout
        common = [q for q in mix if q.key not in STRESS_ONLY
                  and all(answered(a[q.key], args.timeout) for a in all_answers.values())]
        result["throughput_mix"] = [q.key for q in common]
        # 3. per engine alone
        for name, engine in running.items():
            skip = {q.key: f"no answer in the first round ({all_answers[name][q.key].status})"
                    for q in mix if not answered(all_answers[name][q.key], args.timeout)}
            log(f"measuring {name} (sequential)")
            entry = result["engines"][name]
            entry["latency"] = sequential(engine, mix, skip, params, args.reps, args.budget, args.timeout)
            for kind, offset in (("cold", 1_000_000), ("repeated", 0)):
                log(f"measuring {name} (throughput {kind}, {args.clients} clients, {args.window:g} s)")
                entry[f"throughput_{kind}"] = throughput(engine, common or mix[:1], params, kind, args.clients,
                                                         args.window, args.timeout, offset)
            entry["peak_rss_mb"] = round(engine.peak_rss() / 2**20, 1)
    finally:
        for name, engine in engines.items():
            log(f"stopping {name}")
            result["engines"][name]["peak_rss_mb"] = round(engine.peak_rss() / 2**20, 1)
            engine.stop()
    # 4. rdflib-endpoint alone
    if "rdflib-endpoint" in args.engines:
        result["engines"]["rdflib-endpoint"] = _rdflib_endpoint(args, mix, files, work, reference, params,
                                                                result.get("throughput_mix") or [])
    result["triples_hint"] = triples_hint
    return result


def _rdflib_endpoint(args, mix, files, work, reference, params, common_keys) -> dict[str, object]:
    engine = ENGINES["rdflib-endpoint"](args.rdflib_start_timeout, args.timeout)
    entry: dict[str, object] = {"label": engine.label, "version": engine.version()}
    try:
        log("starting rdflib-endpoint")
        (work / "rdflib-endpoint").mkdir(parents=True, exist_ok=True)
        try:
            entry["startup_s"] = round(engine.start(files, work / "rdflib-endpoint"), 2)
        except TimeoutError:
            entry["startup_error"] = f"did not start/answer within {args.rdflib_start_timeout:g} s"
            return entry
        except (RuntimeError, OSError) as exc:
            entry["startup_error"] = f"{type(exc).__name__}: {exc}"[:500]
            return entry
        answers = answers_for(engine, mix, args.timeout, give_up_after=2)
        entry["answers"] = _answer_report(mix, reference, answers, args.timeout)
        if any(answered(a, args.timeout) for a in answers.values()):
            skip = {q.key: f"no answer in the first round ({answers[q.key].status})"
                    for q in mix if not answered(answers[q.key], args.timeout)}
            entry["latency"] = sequential(engine, mix, skip, params, max(1, args.reps // 3), args.budget,
                                          args.timeout)
            common = [q for q in mix if q.key in common_keys] or mix[:1]
            entry["throughput_cold"] = throughput(engine, common, params, "cold", args.clients, args.window,
                                                  args.timeout, 2_000_000)
        else:
            entry["throughput_cold"] = {"qps": 0.0, "completed": 0, "window_s": args.window,
                                        "clients": args.clients, "note": "no query answered in the first round"}
    finally:
        entry["peak_rss_mb"] = round(engine.peak_rss() / 2**20, 1)
        engine.stop()
    return entry


def _answer_report(mix, reference, answers, timeout) -> dict[str, dict[str, object]]:
    report = {}
    for query in mix:
        answer = answers[query.key]
        item: dict[str, object] = {"status": answer.status, "rows": len(answer.rows),
                                   "seconds": round(answer.seconds, 3)}
        if answer.status in ("timeout", "504") or (answer.status == "200" and answer.seconds >= timeout):
            item["verdict"] = "timeout"
        elif query.key in reference and reference[query.key].status == "200":
            ordered = "ORDER BY" in query.text.upper()
            diff = compare(reference[query.key], answer, ordered)
            item["verdict"] = "same" if diff["equal"] else "DIFFERENT"
            if not diff["equal"]:
                item["difference"] = diff
        else:
            item["verdict"] = "no reference" if answer.status == "200" else f"error {answer.status}"
            if answer.error:
                item["error"] = answer.error
        report[query.key] = item
    return report


# -- report -------------------------------------------------------------------------------------------------

def machine() -> dict[str, object]:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return {"nproc": os.cpu_count(), "cpu": cpu, "ram_gib": round(mem / 2**30, 1),
            "os": platform.platform(), "python": platform.python_version(),
            "loadavg": [round(x, 2) for x in os.getloadavg()]}


def _fmt_ms(summary_: dict[str, object] | None) -> str:
    if not summary_:
        return "–"
    if "p50_ms" not in summary_:
        return "/".join(summary_.get("failed", ["–"]))
    return f"{summary_['p50_ms']:g} / {summary_['p95_ms']:g}"


def markdown(report: dict[str, object]) -> str:
    lines: list[str] = []
    for size_result in report["sizes"]:
        engines = size_result["engines"]
        size = size_result["size"]
        lines += [f"#### Data: {size}" + (" (ontology + shapes + data/lippe)" if size == "lippe" else
                                          " triples (generate.py, Lippe base IRI) + ontology"), ""]
        if "reference_check" in size_result:
            lines += [f"Reference (digiregion) cross-checked against hand-computed answers: "
                      f"{size_result['reference_check']}.", ""]
        lines += ["| engine | start-up s | peak RSS MB | answers same as reference | cold q/s (8 clients) | "
                  "repeated q/s (8 clients) |", "|---|---|---|---|---|---|"]
        for name, e in engines.items():
            start = e.get("startup_s", e.get("startup_error", "–"))
            if "load_s" in e:
                start = f"{start} (load {e['load_s']})"
            if "restart_s" in e:
                start = f"{start} (restart {e['restart_s']})"
            if "dumps_ready_s" in e:
                start = f"{start}; dumps ready {e['dumps_ready_s']}"
            if "restart_in_memory_s" in e:
                start = f"{start}; in-memory after restart {e['restart_in_memory_s']}"
            answers = e.get("answers", {})
            same = sum(1 for a in answers.values() if a.get("verdict") == "same")
            timeouts = [k for k, a in answers.items() if a.get("verdict") == "timeout"]
            wrong = [k for k, a in answers.items() if a.get("verdict") == "DIFFERENT"]
            other = [k for k, a in answers.items() if a.get("verdict") not in ("same", "timeout", "DIFFERENT")]
            verdict = f"{same}/{len(answers)}" if answers else "–"
            if name == "digiregion":
                verdict = f"reference ({len(answers) - len(timeouts)}/{len(answers)} answered)"
            notes = ([f"wrong: {', '.join(wrong)}"] if wrong else []) + (
                [f"timeout: {', '.join(timeouts)}"] if timeouts else []) + (
                [f"error/not run: {', '.join(other)}"] if other and name != "digiregion" else [])
            if notes:
                verdict += " — " + "; ".join(notes)
            cold = e.get("throughput_cold", {}).get("qps", "–")
            rep = e.get("throughput_repeated", {}).get("qps", "–")
            lines.append(f"| {e['label']} | {start} | {e.get('peak_rss_mb', '–')} | {verdict} | {cold} | {rep} |")
        lines += ["", f"Throughput mix (queries every main engine answered within the timeout): "
                      f"{', '.join(size_result.get('throughput_mix', [])) or '–'}.", ""]
        names = list(engines)
        lines += ["Sequential latency, ms p50 / p95 — cold (distinct texts) │ repeated (identical texts):", "",
                  "| query | " + " | ".join(engines[n]["label"] for n in names) + " |",
                  "|---|" + "---|" * len(names)]
        for query in load_mix():
            cells = []
            for n in names:
                lat = engines[n].get("latency", {}).get(query.key)
                answer = engines[n].get("answers", {}).get(query.key, {})
                if lat is None:
                    cells.append("–")
                elif "skipped" in lat:
                    cells.append(f"{answer.get('verdict', '–')} ({answer.get('status', '')})")
                else:
                    mark = " ✗" if answer.get("verdict") == "DIFFERENT" else ""
                    cells.append(f"{_fmt_ms(lat.get('cold'))} │ {_fmt_ms(lat.get('repeated'))}{mark}")
            lines.append(f"| {query.label} | " + " | ".join(cells) + " |")
        lines += ["", "✗ = answer differs from the reference.", ""]
        ratios = size_result.get("ratios")
        if ratios:
            lines += ["| digiregion ÷ peer | " + " | ".join(ratios) + " |", "|---|" + "---|" * len(ratios)]
            for metric in ("cold q/s", "repeated q/s", "latency geo-mean (peer ÷ digiregion, cold)"):
                lines.append(f"| {metric} | " + " | ".join(str(ratios[p].get(metric, "–")) for p in ratios) + " |")
            lines.append("")
        diffs = [(n, k, a) for n, e in engines.items() for k, a in e.get("answers", {}).items()
                 if a.get("verdict") == "DIFFERENT"]
        if diffs:
            lines += ["Differences from the reference:", ""]
            for n, k, a in diffs:
                lines.append(f"- {engines[n]['label']}, query {k}: {a['difference']['why']}")
            lines.append("")
    return "\n".join(lines)


def ratios(size_result: dict[str, object]) -> dict[str, dict[str, object]]:
    engines = size_result["engines"]
    me = engines.get("digiregion")
    if not me:
        return {}
    out: dict[str, dict[str, object]] = {}
    for name, e in engines.items():
        if name == "digiregion":
            continue
        r: dict[str, object] = {}
        for kind in ("cold", "repeated"):
            mine = me.get(f"throughput_{kind}", {}).get("qps")
            theirs = e.get(f"throughput_{kind}", {}).get("qps")
            if mine is not None and theirs is not None:
                r[f"{kind} q/s"] = "∞" if theirs == 0 and mine else (round(mine / theirs, 2) if theirs else "–")
        logs = []
        for key, lat in me.get("latency", {}).items():
            theirs = e.get("latency", {}).get(key, {})
            a, b = lat.get("cold", {}).get("p50_ms"), theirs.get("cold", {}).get("p50_ms") if theirs else None
            if a and b:
                logs.append(math.log(b / a))
        if logs:
            r["latency geo-mean (peer ÷ digiregion, cold)"] = f"{math.exp(sum(logs) / len(logs)):.2f} ({len(logs)} q)"
        out[e["label"]] = r
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="lippe,1000000", help="comma-separated: lippe and/or triple counts")
    parser.add_argument("--engines", default="digiregion,oxigraph,virtuoso,rdflib-endpoint")
    parser.add_argument("--timeout", type=float, default=30.0, help="per-query timeout, s (default 30)")
    parser.add_argument("--reps", type=int, default=10, help="sequential repetitions per query and kind")
    parser.add_argument("--budget", type=float, default=6.0, help="max seconds per query and kind (sequential)")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--window", type=float, default=15.0, help="throughput window, s")
    parser.add_argument("--start-timeout", type=float, default=300.0)
    parser.add_argument("--rdflib-start-timeout", type=float, default=120.0)
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--work", type=Path, default=None, help="scratch folder (default OUT/work)")
    args = parser.parse_args(argv)
    args.engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    unknown = set(args.engines) - set(ENGINES)
    if unknown:
        parser.error(f"unknown engines: {sorted(unknown)}")
    args.out.mkdir(parents=True, exist_ok=True)
    work = args.work or args.out / "work"
    mix = load_mix()
    started = dt.datetime.now(dt.UTC)
    report: dict[str, object] = {
        "date": started.strftime("%Y-%m-%d %H:%M UTC"),
        "command": " ".join([Path(sys.executable).as_posix(), "benchmarks/service_bench.py", *(argv or sys.argv[1:])]),
        "machine": machine(),
        "settings": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "sizes": [],
    }
    for size in [s.strip() for s in args.sizes.split(",") if s.strip()]:
        size_result = run_size(size, args, mix, work)
        size_result["ratios"] = ratios(size_result)
        report["sizes"].append(size_result)
    report["versions"] = {name: e.get("version") for s in report["sizes"] for name, e in s["engines"].items()}
    report["duration_s"] = round((dt.datetime.now(dt.UTC) - started).total_seconds())
    report["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    path = args.out / f"service-{started.strftime('%Y%m%dT%H%M%S')}.json"
    path.write_text(json.dumps(report, indent=2, ensure_ascii=False), encoding="utf-8")
    text = markdown(report)
    (args.out / "service-latest.md").write_text(text, encoding="utf-8")
    print(text)
    log(f"wrote {path} ({report['duration_s']} s)")
    failed = [s for s in report["sizes"] if isinstance(s.get("reference_check"), list)]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
