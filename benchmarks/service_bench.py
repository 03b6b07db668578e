#!/usr/bin/env python3
"""Service benchmark: digiregion embedded vs. the Oxigraph server, Virtuoso 7 and rdflib-endpoint.

One run, on the same files, all on 127.0.0.1, ONE ENGINE AT A TIME (no two servers ever run together)::

    /tmp/venv/bin/python benchmarks/service_bench.py --sizes lippe,1000000

For every size: prepare the data (``lippe`` = ontology + shapes + data/lippe, what ``digiregion serve``
publishes by default; a number = ``benchmarks/generate.py --triples N`` with the Lippe base IRI plus the
ontology), then

1. *answers* — per engine, alone: load + start-up (timed), every query of ``query_mix/`` once (rows stored),
   stop. The reference is digiregion embedded (first), on the Lippe data itself checked against
   hand-computed answers; every engine's stored rows are compared with it once all have run. The throughput
   mix = the queries every engine answered within the timeout (stress query 11 never).
2. *measurement* — per engine, alone again: restart over what phase 1 built (no second load; timed), every
   query it answered once more (warm-up; rows compared with its own phase-1 rows), a bounded wait until the
   engine's process tree and the machine are idle (``bench_engines.wait_quiet``; the load average at that
   moment is recorded), sequential latency of *cold* (distinct texts) and *repeated* (identical texts)
   queries, throughput of 8 concurrent clients over a ``--throughput-seconds`` window (cold and repeated
   separately; completions and errors counted), stop.
3. rdflib-endpoint (in memory, nothing to restart) in one phase alone afterwards, with a start-up deadline.

Peak RSS of each server's process trees is sampled over both phases (build included). Writes
``benchmarks/out/service-<timestamp>.json`` and ``.md`` (+ ``service-latest.md``) and prints the summary
tables. No timed assertions anywhere: this is a measurement, not a test. Every loop is bounded in count and
time; every query has a timeout; every server is stopped in ``finally``. The peers live in
benchmarks/.venv-peers (``pip install -r benchmarks/requirements-peers.txt``), Virtuoso comes from
``scripts/virtuoso.sh install``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
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
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_engines
from bench_engines import ENGINES, Engine, loadavg, wait_quiet
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
ORDER = ("digiregion", "digiregion-virtuoso", "oxigraph", "virtuoso", "rdflib-endpoint")
"""Engines in the order they run; digiregion embedded first (the reference, and the source of the cold
variants' parameter pools)."""
STRESS_ONLY = ("11",)
"""Queries measured for answers and sequential latency but kept out of the throughput mix (not one of the
issue's ten: a sort over the whole store)."""
DEFAULT_PARAMS = {"ags": ["05766020"], "active_ags": ["05766020"]}
COLD_OFFSET = 1_000_000
"""Throughput's cold variants are numbered from here per query (sequential latency uses 1..reps): every
text sent to a server in one run is distinct."""


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


@dataclass(frozen=True)
class Plan:
    """What to measure per engine (shared by service_bench.py and scaling_bench.py)."""

    timeout: float
    reps: int
    budget: float
    clients: int
    throughput_seconds: float
    quiet_timeout: float
    start_timeout: float
    single_start_timeout: float
    single_reps: int
    latency_kinds: tuple[str, ...] = ("cold", "repeated")
    throughput_kinds: tuple[str, ...] = ("cold", "repeated")
    overhead_reps: int = 30
    """Texts per query for the same-instance overhead (within 2 × ``budget``): its p50s are compared with a
    target, and a p50 of 5 samples moved the geometric mean by ±0.03 between two runs of the same code."""


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


def cpu_probe_us() -> float:
    """How fast this machine runs plain Python right now: median µs of ``sum(range(20000))`` (5 × best of 3).

    Why: on this shared VM the same loop took 330–630 µs within one minute (measured while probing point
    lookups), so a latency of one engine measured in a slow phase is not comparable with another's measured
    in a fast one. Recorded with every engine's measurement so readers can see the phase it ran in.
    """
    import timeit

    runs = [min(timeit.repeat("sum(range(20000))", number=20, repeat=3)) / 20 for _ in range(5)]
    return round(statistics.median(runs) * 1e6, 1)


OVERHEAD_VARIANTS = 1000
"""Cold variants of the overhead pass start here: never the texts of the latency pass (1…reps)."""


def overhead(engine: Engine, mix: list[Query], skip: dict[str, str], params: dict[str, list[str]], reps: int,
             budget: float, timeout: float) -> dict[str, object] | None:
    """What a front-end adds over the engine behind it, measured on the SAME engine instance and data.

    Why besides comparing two engine entries: those are two separately loaded instances (Virtuoso's bulk
    loader vs ``digiregion load``), each measured at its own time, so their difference mixes in how the data
    was loaded and the machine's mood. Here every cold text goes to the engine directly and then through the
    front-end, alternately (noise hits both alike); p50 per query and the geometric mean of the ratios.
    """
    if engine.direct is None:
        return None
    url, direct_params = engine.direct
    front = Client(engine.url, engine.params, timeout + 5)
    behind = Client(url, direct_params, timeout + 5)
    queries: dict[str, dict[str, object]] = {}
    try:
        for query in mix:
            if query.key in skip:
                continue
            samples: dict[str, list[float]] = {"engine": [], "front": []}
            statuses: dict[str, list[str]] = {"engine": [], "front": []}
            began = time.monotonic()
            for n in range(1, reps + 1):
                # texts the latency pass did not send (the front-end's result cache must not answer), and
                # the order alternates (whichever goes second may find the engine's pages warm)
                text = variant(query, OVERHEAD_VARIANTS + n, params)
                order = (("engine", behind), ("front", front))
                for side, client in order if n % 2 else reversed(order):
                    status, seconds, _ = client.query(text, query.accept)
                    samples[side].append(seconds)
                    statuses[side].append(status)
                if "timeout" in statuses["engine"] + statuses["front"] or time.monotonic() - began > 2 * budget:
                    break
            found = {side: summary(samples[side], statuses[side]) for side in samples}
            if found["engine"].get("p50_ms") and found["front"].get("p50_ms"):
                found["ratio"] = round(found["front"]["p50_ms"] / found["engine"]["p50_ms"], 3)
                found["added_ms"] = round(found["front"]["p50_ms"] - found["engine"]["p50_ms"], 2)
            queries[query.key] = found
    finally:
        front.close()
        behind.close()
    ratios = [q["ratio"] for q in queries.values() if "ratio" in q]
    mean = math.exp(sum(math.log(r) for r in ratios) / len(ratios)) if ratios else None
    return {"queries": queries, "geo_mean_ratio": round(mean, 3) if mean else None,
            "ratio_queries": [k for k, q in queries.items() if "ratio" in q]}


def throughput(engine: Engine, mix: list[Query], params: dict[str, list[str]], kind: str, clients: int,
               window: float, timeout: float, offset: int = COLD_OFFSET) -> dict[str, object]:
    """``clients`` keep-alive threads send the mix round-robin (one shared counter: request ``n`` is query
    ``n mod len(mix)``) for ``window`` seconds. Completions (HTTP 200) and errors that finish inside the window
    count; requests finishing after it are reported as ``late``. Cold texts are variant number
    ``offset + n // len(mix)`` of their query: all distinct (``distinct_texts`` counts them)."""
    counter = itertools.count()
    lock = threading.Lock()
    finished: list[tuple[str, str, bool]] = []  # query key, status, inside the window
    texts: set[int] = set()
    end = time.monotonic() + window

    def run() -> None:
        client = Client(engine.url, engine.params, timeout + 5)
        try:
            while time.monotonic() < end:
                with lock:
                    n = next(counter)
                query = mix[n % len(mix)]
                text = variant(query, offset + n // len(mix), params) if kind == "cold" else query.text
                if kind == "cold":
                    with lock:
                        texts.add(hash(text))
                status, _, _ = client.query(text, query.accept)
                inside = time.monotonic() <= end
                with lock:
                    finished.append((query.key, status, inside))
        finally:
            client.close()

    threads = [threading.Thread(target=run, daemon=True) for _ in range(clients)]
    for thread in threads:
        thread.start()
    deadline = end + timeout + 15  # requests still running at the end may take up to their timeout
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    with lock:
        sent = next(counter)
        done = list(finished)
    inside = [d for d in done if d[2]]
    ok = Counter(d[0] for d in inside if d[1] == "200")
    failed = Counter(f"{d[0]}:{d[1]}" for d in inside if d[1] != "200")
    return {"window_s": window, "clients": clients, "queries": [q.key for q in mix],
            "completed": sum(ok.values()), "qps": round(sum(ok.values()) / window, 2),
            "errors": sum(failed.values()), "failed": dict(sorted(failed.items())),
            "late": len(done) - len(inside), "unfinished": sent - len(done), "sent": sent,
            "per_query": dict(sorted(ok.items())),
            "distinct_texts": len(texts) if kind == "cold" else len({q.key for q in mix})}


def answers_for(engine: Engine, mix: list[Query], timeout: float, give_up_after: int = 0) -> dict[str, Answer]:
    """Every query once; ``give_up_after`` consecutive timeouts stop the round (a saturated engine)."""
    client = Client(engine.url, engine.params, timeout)
    answers: dict[str, Answer] = {}
    streak = 0
    began = time.monotonic()
    try:
        for query in mix:
            if give_up_after and streak >= give_up_after:
                answers[query.key] = Answer("not-run", 0.0, [], [], "engine saturated by earlier timeouts")
                continue
            status, seconds, body = client.query(query.text, query.accept)
            answers[query.key] = answer = parse_answer(query, status, seconds, body)
            streak = streak + 1 if answer.status in ("timeout", "504", "500", "error") else 0
    finally:
        client.close()
    bad = [f"{k} {a.status}" for k, a in answers.items() if not answered(a, timeout)]
    slow = [f"{k} {a.seconds:.1f}s" for k, a in answers.items() if answered(a, timeout) and a.seconds >= 1]
    log(f"  {engine.name} answers: {len(answers) - len(bad)}/{len(answers)} in {time.monotonic() - began:.1f} s"
        + (f"; not answered: {', '.join(bad)}" if bad else "") + (f"; slow: {', '.join(slow)}" if slow else ""))
    return answers


def answered(answer: Answer, timeout: float) -> bool:
    return answer.status == "200" and answer.seconds < timeout


def fetch_params(engine: Engine, timeout: float) -> dict[str, list[str]] | None:
    """The AGS pools for the cold variants, asked from the reference engine."""
    client = Client(engine.url, {}, timeout)
    try:
        status, _, body = client.query(PARAMS_QUERY, SELECT_ACCEPT)
    finally:
        client.close()
    if status != "200":
        return None
    return params_from_rows(parse_answer(Query("00", "params", PARAMS_QUERY, "SELECT"), status, 0, body).rows)


def recheck(engine: Engine, mix: list[Query], before: dict[str, Answer], timeout: float) -> dict[str, object]:
    """After the restart: every query the engine answered in phase 1 once more (also the warm-up before the
    measurement), rows compared with its own phase-1 rows."""
    client = Client(engine.url, engine.params, timeout)
    differ: dict[str, str] = {}
    keys = [q for q in mix if answered(before[q.key], timeout)]
    try:
        for query in keys:
            status, seconds, body = client.query(query.text, query.accept)
            diff = compare(before[query.key], parse_answer(query, status, seconds, body),
                           "ORDER BY" in query.text.upper())
            if not diff["equal"]:
                differ[query.key] = diff["why"]
    finally:
        client.close()
    return {"same": len(keys) - len(differ), "of": len(keys), "differ": differ}


# -- the engines, one at a time -------------------------------------------------------------------------------

def _new_entry(engine: Engine) -> dict[str, object]:
    entry: dict[str, object] = {"label": engine.label}
    try:
        entry["version"] = engine.version()
    except (OSError, subprocess.SubprocessError) as exc:
        entry["version"] = f"? ({type(exc).__name__})"
    return entry


def _quiet(engine: Engine | None, plan: Plan, what: str) -> dict[str, object]:
    name = engine.name if engine else "machine"
    seen = wait_quiet(engine.pids() if engine else [], plan.quiet_timeout, log)
    state = "quiet" if seen["quiet"] else f"NOT quiet (gave up after {plan.quiet_timeout:g} s)"
    log(f"  {name} {what}: {state}, waited {seen['waited_s']} s; engine {seen['engine_cores']} cores, "
        f"machine {seen['machine_cores']} cores, load average {seen['loadavg']}")
    return seen


def _start(engine: Engine, entry: dict[str, object], files: Path, work: Path, plan: Plan) -> bool:
    entry["before_start"] = _quiet(None, plan, "before start")
    log(f"starting {engine.name}")
    work.mkdir(parents=True, exist_ok=True)
    try:
        entry["startup_s"] = round(engine.start(files, work), 2)
    except TimeoutError:
        entry["startup_error"] = f"did not start/answer within {engine.start_timeout:g} s"
    except (RuntimeError, subprocess.SubprocessError, OSError) as exc:
        entry["startup_error"] = f"{type(exc).__name__}: {exc}"[:500]
    entry.update(engine.details)
    log(f"  {engine.name}: start-up {entry.get('startup_s', entry.get('startup_error'))} s "
        f"{engine.details or ''}".rstrip())
    return "startup_s" in entry


def _restart(engine: Engine, entry: dict[str, object], work: Path, plan: Plan) -> bool:
    entry["before_restart"] = _quiet(None, plan, "before restart")
    log(f"restarting {engine.name} (over what phase 1 built)")
    try:
        engine.restart(work)
    except TimeoutError:
        entry["restart_error"] = f"did not restart/answer within {engine.start_timeout:g} s"
    except (RuntimeError, subprocess.SubprocessError, OSError) as exc:
        entry["restart_error"] = f"{type(exc).__name__}: {exc}"[:500]
    entry.update(engine.details)
    log(f"  {engine.name}: restart {entry.get('restart_s', entry.get('restart_error'))} s")
    return "restart_error" not in entry


def _stop(engine: Engine, entry: dict[str, object]) -> None:
    log(f"stopping {engine.name}")
    try:
        engine.stop()
    finally:
        entry["peak_rss_mb"] = round(engine.peak_rss() / 2**20, 1)
        entry["peak_rss_phases_mb"] = {phase: round(peak / 2**20, 1) for phase, peak in engine.peaks.items()}
        entry["pss_at_peak_phases_mb"] = {phase: round(pss / 2**20, 1) for phase, pss in engine.pss_at_peaks.items()}


def measure(engine: Engine, entry: dict[str, object], mix: list[Query], skip: dict[str, str],
            params: dict[str, list[str]], plan: Plan, throughput_mix: list[Query], reps: int,
            throughput_kinds: tuple[str, ...]) -> None:
    """Bounded wait for quiet, then sequential latency and throughput of the running ``engine`` (alone)."""
    entry["measurement_start"] = _quiet(engine, plan, "before measuring")
    entry["measurement_start"]["cpu_probe_us"] = cpu_probe_us()
    log(f"measuring {engine.name}: sequential {'+'.join(plan.latency_kinds)} (≤ {reps} runs, "
        f"≤ {plan.budget:g} s per query and kind)")
    entry["latency"] = sequential(engine, mix, skip, params, reps, plan.budget, plan.timeout, plan.latency_kinds)
    if engine.direct is not None and "cold" in plan.latency_kinds:
        log(f"measuring {engine.name}: same-instance overhead (engine directly vs through it, interleaved)")
        found = overhead(engine, mix, skip, params, plan.overhead_reps, plan.budget, plan.timeout)
        if found is not None:
            entry["overhead"] = found
            log(f"  {engine.name} same-instance ratio (geo-mean): {found['geo_mean_ratio']}")
    for kind in throughput_kinds:
        found = throughput(engine, throughput_mix, params, kind, plan.clients, plan.throughput_seconds,
                           plan.timeout)
        entry[f"throughput_{kind}"] = found
        log(f"  {engine.name} throughput {kind}: {found['qps']} q/s ({found['completed']} completed, "
            f"{found['errors']} errors, {found['late']} late in {plan.throughput_seconds:g} s, "
            f"{plan.clients} clients)")
    entry["loadavg_end"] = loadavg()


def run_engines(files: Path, work: Path, names: list[str], plan: Plan,
                mix: list[Query]) -> tuple[dict[str, dict[str, object]], dict[str, dict[str, Answer]], list[str]]:
    """Run ``names`` (in ``ORDER``) one at a time on ``files``: restartable engines in two phases (answers,
    then measurement), the others (rdflib-endpoint) in one phase afterwards — see the module docstring.
    Returns (entries per engine, stored answers per engine, throughput mix keys)."""
    names = [n for n in ORDER if n in names]
    entries: dict[str, dict[str, object]] = {}
    answers: dict[str, dict[str, Answer]] = {}
    params = dict(DEFAULT_PARAMS)
    started: dict[str, Engine] = {}
    main = [n for n in names if ENGINES[n].restartable]
    # phase 1: load, start, answers, stop — one engine at a time
    for name in main:
        engine = ENGINES[name](plan.start_timeout, plan.timeout)
        entry = entries[name] = _new_entry(engine)
        try:
            if _start(engine, entry, files, work / name, plan):
                answers[name] = answers_for(engine, mix, plan.timeout)
                started[name] = engine
                if name == "digiregion":
                    params = fetch_params(engine, plan.timeout) or params
        finally:
            _stop(engine, entry)
    reference = answers.get("digiregion", {})
    for name, found in answers.items():
        entries[name]["answers"] = answer_report(mix, reference, found, plan.timeout)
    common = [q for q in mix if q.key not in STRESS_ONLY
              and all(answered(found[q.key], plan.timeout) for found in answers.values())]
    throughput_mix = common or mix[:1]
    log(f"throughput mix: {', '.join(q.key for q in throughput_mix)}")
    # phase 2: restart over what phase 1 built, warm-up + recheck, quiet, measure, stop — one at a time
    for name, engine in started.items():
        entry = entries[name]
        try:
            if not _restart(engine, entry, work / name, plan):
                continue
            entry["answers_after_restart"] = again = recheck(engine, mix, answers[name], plan.timeout)
            log(f"  {name} answers after restart: {again['same']}/{again['of']} same as before"
                + (f"; differ: {again['differ']}" if again["differ"] else ""))
            skip = {q.key: f"no answer in the first round ({answers[name][q.key].status})"
                    for q in mix if not answered(answers[name][q.key], plan.timeout)}
            measure(engine, entry, mix, skip, params, plan, throughput_mix, plan.reps, plan.throughput_kinds)
        finally:
            _stop(engine, entry)
    # one phase, alone, afterwards: engines without a persisted state (rdflib-endpoint)
    for name in (n for n in names if n not in main):
        engine = ENGINES[name](plan.single_start_timeout, plan.timeout)
        entry = entries[name] = _new_entry(engine)
        try:
            if not _start(engine, entry, files, work / name, plan):
                continue
            answers[name] = found = answers_for(engine, mix, plan.timeout, give_up_after=2)
            entry["answers"] = answer_report(mix, reference, found, plan.timeout)
            kinds = tuple(k for k in plan.throughput_kinds if k == "cold")
            if any(answered(a, plan.timeout) for a in found.values()):
                skip = {q.key: f"no answer in the first round ({found[q.key].status})"
                        for q in mix if not answered(found[q.key], plan.timeout)}
                measure(engine, entry, mix, skip, params, plan, throughput_mix, plan.single_reps, kinds)
            elif kinds:
                entry["throughput_cold"] = {"qps": 0.0, "completed": 0, "errors": 0,
                                            "window_s": plan.throughput_seconds, "clients": plan.clients,
                                            "note": "no query answered in the first round"}
        finally:
            _stop(engine, entry)
    return entries, answers, [q.key for q in throughput_mix]


def answer_report(mix: list[Query], reference: dict[str, Answer], answers: dict[str, Answer],
                  timeout: float) -> dict[str, dict[str, object]]:
    """Per query: status, rows, seconds and the verdict against the reference's stored rows."""
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


# -- one size -----------------------------------------------------------------------------------------------

def run_size(size: str, args: argparse.Namespace, plan: Plan, mix: list[Query], work: Path) -> dict[str, object]:
    files = prepare_data(size, work)
    result: dict[str, object] = {"size": size, "files": len(list(files.iterdir())), "loadavg_start": loadavg()}
    log(f"== size {size}: {result['files']} files in {files}")
    entries, answers, throughput_keys = run_engines(files, work, args.engines, plan, mix)
    result["engines"] = entries
    result["throughput_mix"] = throughput_keys
    if size == "lippe" and "digiregion" in answers:
        hand = hand_checks(files)
        result["hand_checks"] = {"municipalities": hand["municipalities"], "fields": hand["fields"]}
        failures = check_reference(answers["digiregion"], hand)
        result["reference_check"] = failures or "ok"
        log(f"hand-computed cross-check of the reference: {failures or 'ok'}")
    result["ratios"] = ratios(result)
    return result


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
            "os": platform.platform(), "python": platform.python_version(), "loadavg": loadavg()}


def new_report(script: str, args: argparse.Namespace, argv: list[str] | None,
               started: dt.datetime) -> dict[str, object]:
    """The JSON report's header shared by the service and scaling benchmarks: when, how, where."""
    return {
        "date": started.strftime("%Y-%m-%d %H:%M UTC"),
        "started": started.strftime("%Y%m%dT%H%M%S"),
        "command": " ".join([Path(sys.executable).as_posix(), f"benchmarks/{script}",
                             *(argv if argv is not None else sys.argv[1:])]),
        "machine": machine(),
        "settings": {**{k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
                     "quiet": quiet_settings(), "method": "one engine at a time; answers, then restart + measure"},
        "sizes": [],
    }


def quiet_settings() -> dict[str, float]:
    return {"engine_cores_below": bench_engines.QUIET_ENGINE_CORES,
            "machine_cores_below": bench_engines.QUIET_MACHINE_CORES,
            "consecutive_1s_samples": bench_engines.QUIET_SAMPLES}


def _fmt_ms(summary_: dict[str, object] | None) -> str:
    if not summary_:
        return "–"
    if "p50_ms" not in summary_:
        return "/".join(summary_.get("failed", ["–"]))
    return f"{summary_['p50_ms']:g} / {summary_['p95_ms']:g}"


def fmt_throughput(found: dict[str, object] | None) -> str:
    """``q/s (completed in window; errors)`` of one throughput entry."""
    if not found:
        return "–"
    text = f"{found['qps']} ({found.get('completed', 0)} in {found.get('window_s', 0):g} s"
    errors = found.get("errors")
    if errors is None and found.get("failed"):  # older JSON without the count
        errors = sum(found["failed"].values())
    return text + (f"; {errors} errors)" if errors else ")")


def fmt_rss(e: dict[str, object]) -> str:
    phases = e.get("peak_rss_phases_mb", {})
    pss = e.get("pss_at_peak_phases_mb", {})
    text = str(e.get("peak_rss_mb", "–"))
    notes = []
    if "restart" in phases:
        notes.append(f"measured life {phases['restart']}")
    if pss:
        notes.append("PSS at the peaks " + " / ".join(f"{phase} {value}" for phase, value in pss.items()))
    return f"{text} ({'; '.join(notes)})" if notes else text


def conditions(engines: dict[str, dict[str, object]]) -> list[str]:
    """One markdown bullet per engine: quiet wait and load average at the start of its measurement, and
    whether its answers after the restart were the same as before."""
    lines = []
    for e in engines.values():
        seen = e.get("measurement_start")
        if not seen:
            continue
        state = "quiet" if seen["quiet"] else "**not quiet**"
        text = (f"- {e['label']}: {state} after {seen['waited_s']} s (engine {seen['engine_cores']} cores, machine "
                f"{seen['machine_cores']} cores); load average at measurement start "
                f"{' / '.join(str(x) for x in seen['loadavg'])}")
        if "cpu_probe_us" in seen:
            text += f"; CPU probe {seen['cpu_probe_us']:g} µs (lower = faster phase of the machine)"
        again = e.get("answers_after_restart")
        if again:
            text += f"; answers after restart {again['same']}/{again['of']} same as before"
            if again["differ"]:
                text += f" (differ: {', '.join(again['differ'])})"
        lines.append(text)
    return lines


def verdict(e: dict[str, object], name: str) -> str:
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


def startup_text(e: dict[str, object]) -> str:
    if "startup_s" not in e:  # one line, no table separators: the error text goes into a markdown cell
        return " ".join(str(e.get("startup_error", "–")).split()).replace("|", "\\|")
    names = {"load_s": "load", "server_start_s": "server start", "serve_start_s": "serve start",
             "dumps_ready_s": "dumps ready", "restart_s": "restart",
             "restart_in_memory_s": "in-memory after restart", "restart_error": "restart failed"}
    parts = [f"{label} {e[key] if e[key] is not None else 'not within the deadline'}"
             for key, label in names.items() if key in e]
    return f"{e['startup_s']}" + (f" ({'; '.join(parts)})" if parts else "")


def markdown(report: dict[str, object], brief: bool = False) -> str:
    lines: list[str] = []
    settings = report["settings"]
    for size_result in report["sizes"]:
        engines = size_result["engines"]
        size = size_result["size"]
        lines += [f"#### Data: {size}" + (" (ontology + shapes + data/lippe)" if size == "lippe" else
                                          " triples (generate.py, Lippe base IRI) + ontology"), ""]
        if "reference_check" in size_result:
            lines += [f"Reference (digiregion) cross-checked against hand-computed answers: "
                      f"{size_result['reference_check']}.", ""]
        clients = settings["clients"]
        lines += [f"| engine | start-up s | peak RSS MB | answers same as reference | cold q/s ({clients} clients) | "
                  f"repeated q/s ({clients} clients) |", "|---|---|---|---|---|---|"]
        for name, e in engines.items():
            lines.append(f"| {e['label']} | {startup_text(e)} | {fmt_rss(e)} | {verdict(e, name)} | "
                         f"{fmt_throughput(e.get('throughput_cold'))} | "
                         f"{fmt_throughput(e.get('throughput_repeated'))} |")
        lines += ["", f"Throughput mix (queries every engine answered within the timeout in phase 1): "
                      f"{', '.join(size_result.get('throughput_mix', [])) or '–'}; "
                      f"{settings.get('throughput_seconds', settings.get('window', 0)):g} s window per kind.", "",
                  "Each engine measured alone (the others stopped), after a bounded wait for quiet:", "",
                  *conditions(engines), ""]
        if brief:
            continue
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
                    cells.append("–" if not answer else f"not run ({answer.get('status', '')})")
                elif "skipped" in lat:
                    cells.append(f"{answer.get('verdict', '–')} ({answer.get('status', '')})")
                else:
                    mark = " ✗" if answer.get("verdict") == "DIFFERENT" else ""
                    cells.append(f"{_fmt_ms(lat.get('cold'))} │ {_fmt_ms(lat.get('repeated'))}{mark}")
            lines.append(f"| {query.label} | " + " | ".join(cells) + " |")
        lines += ["", "✗ = answer differs from the reference.", ""]
        per_query = [(e["label"], kind, e[f"throughput_{kind}"]) for e in engines.values()
                     for kind in ("cold", "repeated") if e.get(f"throughput_{kind}", {}).get("per_query")]
        if per_query:
            keys = size_result.get("throughput_mix", [])
            lines += ["Throughput completions per query (errors in the last column):", "",
                      "| engine | kind | " + " | ".join(keys) + " | errors |", "|---|---|" + "---|" * (len(keys) + 1)]
            for label, kind, found in per_query:
                errors = ", ".join(f"{k} ×{n}" for k, n in found.get("failed", {}).items()) or "0"
                lines.append(f"| {label} | {kind} | " + " | ".join(str(found["per_query"].get(k, 0)) for k in keys)
                             + f" | {errors} |")
            lines.append("")
        ratios_ = size_result.get("ratios")
        if ratios_:
            lines += ["| digiregion ÷ peer | " + " | ".join(ratios_) + " |", "|---|" + "---|" * len(ratios_)]
            for metric in ("cold q/s", "repeated q/s", "latency geo-mean (peer ÷ digiregion, cold)"):
                lines.append(f"| {metric} | " + " | ".join(str(ratios_[p].get(metric, "–")) for p in ratios_) + " |")
            lines.append("")
        diffs = [(n, k, a) for n, e in engines.items() for k, a in e.get("answers", {}).items()
                 if a.get("verdict") == "DIFFERENT"]
        if diffs:
            lines += ["Differences from the reference:", ""]
            for n, k, a in diffs:
                lines.append(f"- {engines[n]['label']}, query {k}: {' '.join(a['difference']['why'].split())}")
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


def add_common_arguments(parser: argparse.ArgumentParser, kinds: str) -> None:
    """Flags shared with scaling_bench.py (throughput, quiet wait, clients, same-instance overhead)."""
    parser.add_argument("--overhead-reps", type=int, default=Plan.overhead_reps,
                        help="texts per query for the same-instance overhead (engine directly vs through "
                             f"digiregion; default {Plan.overhead_reps})")
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients for throughput (default 8)")
    parser.add_argument("--throughput-seconds", "--window", dest="throughput_seconds", type=float, default=30.0,
                        help="throughput window per engine and kind, s (default 30; 0 = no throughput)")
    parser.add_argument("--throughput-kinds", default=kinds,
                        help=f"comma-separated: cold and/or repeated (default {kinds})")
    parser.add_argument("--quiet-timeout", type=float, default=120.0,
                        help="max wait, s, for an idle engine and machine before each start, restart and "
                             "measurement (default 120; 0 = sample once, do not wait)")


def kinds_of(args: argparse.Namespace) -> tuple[str, ...]:
    kinds = tuple(k.strip() for k in args.throughput_kinds.split(",") if k.strip())
    if set(kinds) - {"cold", "repeated"}:
        raise SystemExit(f"--throughput-kinds: cold and/or repeated, not {args.throughput_kinds!r}")
    return kinds if args.throughput_seconds > 0 else ()


def write_report(report: dict[str, object], out: Path, prefix: str, text: str) -> tuple[Path, Path]:
    """JSON + markdown into ``out``: ``<prefix>-<timestamp>.json``/``.md`` and ``<prefix>-latest.md``."""
    stamp = report["started"]
    json_path, md_path = out / f"{prefix}-{stamp}.json", out / f"{prefix}-{stamp}.md"
    json_path.write_text(json.dumps(report, indent=2, ensure_ascii=False), encoding="utf-8")
    md_path.write_text(text, encoding="utf-8")
    (out / f"{prefix}-latest.md").write_text(text, encoding="utf-8")
    return json_path, md_path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="lippe,1000000", help="comma-separated: lippe and/or triple counts")
    parser.add_argument("--engines", default="digiregion,oxigraph,virtuoso,rdflib-endpoint",
                        help="subset of " + ", ".join(ORDER))
    parser.add_argument("--timeout", type=float, default=30.0, help="per-query timeout, s (default 30)")
    parser.add_argument("--reps", type=int, default=10, help="sequential repetitions per query and kind")
    parser.add_argument("--budget", type=float, default=6.0, help="max seconds per query and kind (sequential)")
    add_common_arguments(parser, "cold,repeated")
    parser.add_argument("--start-timeout", type=float, default=300.0)
    parser.add_argument("--rdflib-start-timeout", type=float, default=120.0)
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--work", type=Path, default=None, help="scratch folder (default OUT/work)")
    args = parser.parse_args(argv)
    args.engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    unknown = set(args.engines) - set(ENGINES)
    if unknown:
        parser.error(f"unknown engines: {sorted(unknown)}")
    plan = Plan(timeout=args.timeout, reps=args.reps, budget=args.budget, clients=args.clients,
                throughput_seconds=args.throughput_seconds, quiet_timeout=args.quiet_timeout,
                start_timeout=args.start_timeout, single_start_timeout=args.rdflib_start_timeout,
                single_reps=max(1, args.reps // 3), throughput_kinds=kinds_of(args),
                overhead_reps=args.overhead_reps)
    args.out.mkdir(parents=True, exist_ok=True)
    work = args.work or args.out / "work"
    mix = load_mix()
    started = dt.datetime.now(dt.UTC)
    report = new_report("service_bench.py", args, argv, started)
    for size in [s.strip() for s in args.sizes.split(",") if s.strip()]:
        report["sizes"].append(run_size(size, args, plan, mix, work))
    report["versions"] = {name: e.get("version") for s in report["sizes"] for name, e in s["engines"].items()}
    report["duration_s"] = round((dt.datetime.now(dt.UTC) - started).total_seconds())
    report["loadavg_end"] = loadavg()
    json_path, md_path = write_report(report, args.out, "service", markdown(report))
    print(markdown(report, brief=True))
    log(f"wrote {json_path} and {md_path} ({report['duration_s']} s)")
    failed = [s for s in report["sizes"] if isinstance(s.get("reference_check"), list)]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
