#!/usr/bin/env python3
"""Validator benchmark: ``digiregion validate`` (fast engine) against plain pyshacl, side by side.

For each size (``--sizes``, default 100000,1000000 triples) the script generates national-scale
data with known violations (``generate.py``, reused when an identical generation exists), then runs,
each in its own child process and on the same files, shapes and ontology:

- **fast**: the real command line, ``digiregion validate --engine fast --format json --base-iri B
  --context DIR DIR`` (``--context DIR`` keeps the shipped Lippe data out, so both engines see
  exactly the generated files plus the ontology);
- **pyshacl**: plain pyshacl as a user would call it: rdflib parses the same files, the ontology's
  triples are added to the data graph by hand (pyshacl's own ``ont_graph`` mixing is pathologically
  slow), then ``pyshacl.validate(data, shacl_graph=shapes, inference="none")``.

It measures the wall time of each child (median of ``--runs``; default 3 below 10^6 triples, 1 from
10^6 on) and its peak RSS (``os.wait4``), and it checks answers before speed: the sets of
SHACL findings (severity, code, focus node, path, value, source shape — ``Finding.identity()``)
must be identical, and every violation injected by the generator must be among them. Results go to
``benchmarks/out/validate-<timestamp>.json`` and ``.md`` (a table for benchmarks/README.md).

Usage::

    python benchmarks/validate_bench.py [--sizes 100000,1000000] [--runs 3,1] [--violations 28]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))

import generate  # noqa: E402  (benchmarks/ is not a package; generate.py is its sibling)

SHAPES = REPO / "shapes" / "digiregion-shapes.ttl"
ONTOLOGY = REPO / "ontology" / "digiregion.ttl"
DEFAULT_SIZES = (100_000, 1_000_000)
DEFAULT_VIOLATIONS = 28
"""Two of each of the generator's 14 violation kinds."""


# -- child processes -----------------------------------------------------------------------------

@dataclass
class Run:
    wall: float
    rss_mb: float
    code: int
    stdout: str
    stderr: str
    timed_out: bool = False


def measure(command: list[str], timeout: float) -> Run:
    """Run ``command``; wall time and the peak RSS of exactly this child (not of earlier ones)."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        started = time.perf_counter()
        proc = subprocess.Popen(command, stdout=out, stderr=err, cwd=REPO)
        killed = threading.Event()

        def kill() -> None:
            killed.set()
            proc.kill()

        timer = threading.Timer(timeout, kill)
        timer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            timer.cancel()
        wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return Run(wall, usage.ru_maxrss / 1024, proc.returncode, out.read(), err.read(), killed.is_set())


def fast_command(data: Path, base_iri: str) -> list[str]:
    script = Path(sys.executable).with_name("digiregion")
    program = [str(script)] if script.exists() else [sys.executable, "-m", "digiregion.cli"]
    return [*program, "validate", "--engine", "fast", "--format", "json", "--base-iri", base_iri,
            "--context", str(data), str(data)]


def reference_command(data: Path) -> list[str]:
    return [sys.executable, str(Path(__file__).resolve()), "--reference", str(data)]


def reference_main(data: Path) -> int:
    """The pyshacl child: plain rdflib + pyshacl, findings printed as JSON identities."""
    started = time.perf_counter()
    data = data.resolve()
    import pyshacl
    import rdflib

    graph = rdflib.Graph()
    for path in sorted(data.rglob("*.ttl")):
        graph.parse(path, format="turtle", publicID=path.as_uri())
    described = set(graph.subjects())
    graph.parse(ONTOLOGY, format="turtle")  # the ontology, merged by hand (not ont_graph=)
    shapes = rdflib.Graph().parse(SHAPES, format="turtle", publicID=SHAPES.as_uri())
    parsed = time.perf_counter()
    conforms, results, _ = pyshacl.validate(graph, shacl_graph=shapes, inference="none")
    validated = time.perf_counter()

    from digiregion.validation.reference import report_findings  # only renders the results

    findings = report_findings(results, shapes, lambda focus: "data" if focus in described else None)
    print(json.dumps({"conforms": conforms, "triples": len(graph), "parseSeconds": round(parsed - started, 3),
                      "validateSeconds": round(validated - parsed, 3),
                      "findings": [list(f.identity()) for f in findings]}))
    return 0


def fast_identities(report: dict) -> tuple[set[tuple], set[tuple]]:
    """(SHACL findings, cross-file findings) of a ``digiregion validate --format json`` report."""
    shacl, other = set(), set()
    for f in report["findings"]:
        identity = (f["severity"], f["code"], f["focusNode"], f["resultPath"], f["value"], f["sourceShape"])
        (shacl if f["code"].startswith("shacl:") else other).add(identity)
    return shacl, other


def expected_identities(manifest: dict) -> set[tuple]:
    return {(f["severity"], f["code"], f["focus"], f["path"], f["value"], f["shape"])
            for v in manifest["violations"] for f in v["findings"]}


# -- one size ----------------------------------------------------------------------------------

@dataclass
class EngineStats:
    walls: list[float] = field(default_factory=list)
    rss_mb: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    detail: dict = field(default_factory=dict)

    def summary(self) -> dict:
        return {"medianSeconds": round(statistics.median(self.walls), 2) if self.walls else None,
                "seconds": [round(w, 2) for w in self.walls],
                "peakRssMb": round(max(self.rss_mb)) if self.rss_mb else None,
                "failures": self.failures, **self.detail}


def prepare_data(size: int, violations: int, seed: int, base_iri: str, root: Path) -> tuple[Path, dict]:
    folder = root / f"validate-{size}"
    manifest_path = folder / generate.MANIFEST
    if manifest_path.exists():
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        if (manifest.get("formatVersion"), manifest.get("requestedTriples"), manifest.get("seed"),
                manifest.get("violationsRequested"), manifest.get("baseIri")) == (
                generate.FORMAT_VERSION, size, seed, violations, base_iri):
            return folder, manifest
    manifest = generate.generate(size, folder, base_iri=base_iri, seed=seed, violations=violations)
    return folder, manifest


def bench_size(size: int, runs: int, args: argparse.Namespace) -> dict:
    data, manifest = prepare_data(size, args.violations, args.seed, args.base_iri, args.data_root)
    expected = expected_identities(manifest)
    expected_shacl = {e for e in expected if e[1].startswith("shacl:")}
    print(f"\n== {manifest['triples']} triples, {len(manifest['files'])} files, {len(expected)} expected findings "
          f"({data})", flush=True)
    fast, reference = EngineStats(), EngineStats()
    fast_found: set[tuple] | None = None
    ref_found: set[tuple] | None = None
    crossfile: set[tuple] = set()
    phases: list[tuple[float, float]] = []
    for number in range(1, runs + 1):
        for name, stats, command in (("fast", fast, fast_command(data, args.base_iri)),
                                     ("pyshacl", reference, reference_command(data))):
            if name == "pyshacl" and args.skip_pyshacl:
                continue
            run = measure(command, args.timeout)
            print(f"   run {number} {name:8s} {run.wall:8.2f} s  {run.rss_mb:7.0f} MB  exit {run.code}"
                  + ("  TIMEOUT" if run.timed_out else ""), flush=True)
            if run.timed_out or (name == "pyshacl" and run.code != 0) or run.code not in (0, 1):
                stats.failures.append(f"run {number}: exit {run.code}{' (timeout)' if run.timed_out else ''}: "
                                      f"{run.stderr.strip()[-500:]}")
                continue
            stats.walls.append(run.wall)
            stats.rss_mb.append(run.rss_mb)
            report = json.loads(run.stdout)
            if name == "fast":
                found, crossfile = fast_identities(report)
                fast.detail = {"triplesReported": report["triples"], "exitCode": report["exitCode"]}
                if fast_found is not None and found != fast_found:
                    fast.failures.append(f"run {number}: findings differ from run 1")
                fast_found = fast_found if fast_found is not None else found
            else:
                found = {tuple(f) for f in report["findings"]}
                phases.append((report["parseSeconds"], report["validateSeconds"]))
                reference.detail = {"parseSeconds": round(statistics.median(p for p, _ in phases), 2),
                                    "validateSeconds": round(statistics.median(v for _, v in phases), 2),
                                    "triplesInGraph": report["triples"]}
                if ref_found is not None and found != ref_found:
                    reference.failures.append(f"run {number}: findings differ from run 1")
                ref_found = ref_found if ref_found is not None else found
    result = {
        "requestedTriples": size,
        "triples": manifest["triples"],
        "files": len(manifest["files"]),
        "runs": runs,
        "data": str(data),
        "fast": fast.summary(),
        "pyshacl": reference.summary(),
        "findings": {
            "fastShacl": len(fast_found) if fast_found is not None else None,
            "fastCrossFile": len(crossfile),
            "pyshacl": len(ref_found) if ref_found is not None else None,
            "expected": len(expected),
            "identical": (fast_found == ref_found) if fast_found is not None and ref_found is not None else None,
            "injectedFoundByFast": fast_found is not None and expected_shacl <= fast_found
            and expected - expected_shacl <= crossfile,
            "injectedFoundByPyshacl": (expected_shacl <= ref_found) if ref_found is not None else None,
            "exactlyTheInjected": fast_found == expected_shacl and crossfile == expected - expected_shacl,
            "onlyFast": sorted(map(list, (fast_found or set()) - (ref_found or set())))[:20] if ref_found else [],
            "onlyPyshacl": sorted(map(list, (ref_found or set()) - (fast_found or set())))[:20] if fast_found else [],
        },
    }
    f, r = result["fast"]["medianSeconds"], result["pyshacl"]["medianSeconds"]
    result["speedup"] = round(r / f, 1) if f and r else None
    return result


# -- report --------------------------------------------------------------------------------------

def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _ram_gb() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 2**20, 1)
    except OSError:
        pass
    return None


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def environment() -> dict:
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": {"nproc": os.cpu_count(), "cpu": _cpu_model(), "ramGb": _ram_gb(),
                    "loadAverageAtStart": [round(x, 2) for x in os.getloadavg()]},
        "versions": {"python": platform.python_version(), "digiregion": _version("digiregion"),
                     "pyoxigraph": _version("pyoxigraph"), "rdflib": _version("rdflib"),
                     "pyshacl": _version("pyshacl")},
    }


def markdown(doc: dict) -> str:
    env, machine, versions = doc, doc["machine"], doc["versions"]
    lines = [
        f"Measured {env['date']} on {machine['nproc']} cores ({machine['cpu']}), {machine['ramGb']} GB RAM, "
        f"load average at start {', '.join(map(str, machine['loadAverageAtStart']))}; Python {versions['python']}, "
        f"digiregion {versions['digiregion']}, pyoxigraph {versions['pyoxigraph']}, rdflib {versions['rdflib']}, "
        f"pyshacl {versions['pyshacl']}.",
        "",
        f"Command: `{doc['command']}`",
        "",
        "| triples | files | runs | digiregion validate (fast) | peak RSS | plain pyshacl | peak RSS | speed-up "
        "| SHACL findings fast / pyshacl | identical | injected violations found |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|:---:|:---:|",
    ]
    for r in doc["results"]:
        fast, ref, found = r["fast"], r["pyshacl"], r["findings"]

        def seconds(stats: dict) -> str:
            if stats["medianSeconds"] is None:
                return "failed" if stats["failures"] else "–"
            return f"{stats['medianSeconds']:.2f} s"

        def rss(stats: dict) -> str:
            return f"{stats['peakRssMb']} MB" if stats["peakRssMb"] else "–"

        parse = (f" (parse {ref['parseSeconds']:.1f} s, validate {ref['validateSeconds']:.1f} s)"
                 if "parseSeconds" in ref else "")
        identical = {True: "yes", False: "**no**", None: "–"}[found["identical"]]
        speedup = f"{r['speedup']:.1f}×" if r["speedup"] else "–"
        injected = "yes" if found["injectedFoundByFast"] and found["injectedFoundByPyshacl"] is not False else "**no**"
        injected += ", nothing else" if found["exactlyTheInjected"] else ", **and others**"
        lines.append(
            f"| {r['triples']:,} | {r['files']} | {r['runs']} | {seconds(fast)} | {rss(fast)} | {seconds(ref)}{parse} "
            f"| {rss(ref)} | {speedup} "
            f"| {found['fastShacl']} / {found['pyshacl'] if found['pyshacl'] is not None else '–'} | {identical} "
            f"| {injected} ({found['expected']}) |")
    return "\n".join(lines) + "\n"


def _int_list(text: str) -> list[int]:
    return [generate._size(part) for part in text.split(",") if part.strip()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=_int_list, default=list(DEFAULT_SIZES),
                        help="comma-separated sizes in triples (default 100000,1000000)")
    parser.add_argument("--runs", type=_int_list, help="runs per size, one number or one per size "
                        "(default 3 below 10^6 triples, 1 from 10^6 on); the median counts")
    parser.add_argument("--violations", type=int, default=DEFAULT_VIOLATIONS,
                        help=f"known violations injected into the data (default {DEFAULT_VIOLATIONS})")
    parser.add_argument("--seed", type=int, default=generate.DEFAULT_SEED)
    parser.add_argument("--base-iri", default=generate.DEFAULT_BASE_IRI)
    parser.add_argument("--timeout", type=float, default=3600, help="seconds per child run (default 3600)")
    parser.add_argument("--skip-pyshacl", action="store_true", help="time only the fast engine")
    parser.add_argument("--data-root", type=Path, default=HERE / "generated", help="where generated data is kept")
    parser.add_argument("--out", type=Path, default=HERE / "out", help="where results are written")
    parser.add_argument("--reference", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.reference:
        return reference_main(args.reference)
    args.data_root = args.data_root.resolve()

    runs = args.runs or [3 if size < 1_000_000 else 1 for size in args.sizes]
    if len(runs) == 1:
        runs = runs * len(args.sizes)
    if len(runs) != len(args.sizes):
        parser.error("--runs needs one number or one per size")
    if shutil.which("digiregion") is None and not Path(sys.executable).with_name("digiregion").exists():
        print("note: no digiregion console script next to this Python; using python -m digiregion.cli", flush=True)

    doc = {**environment(), "command": " ".join([Path(sys.executable).name, *sys.argv])
           if argv is None else " ".join(["python", "benchmarks/validate_bench.py", *argv]), "results": []}
    for size, count in zip(args.sizes, runs, strict=True):
        doc["results"].append(bench_size(size, count, args))
    doc["loadAverageAtEnd"] = [round(x, 2) for x in os.getloadavg()]

    args.out.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    (args.out / f"validate-{stamp}.json").write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
    table = markdown(doc)
    (args.out / f"validate-{stamp}.md").write_text(table, encoding="utf-8")
    print("\n" + table)
    print(f"written: {args.out / f'validate-{stamp}.json'} and .md")
    ok = all(r["findings"]["identical"] is not False and r["findings"]["injectedFoundByFast"]
             and r["findings"]["injectedFoundByPyshacl"] is not False for r in doc["results"])
    if not ok:
        print("FINDINGS DIFFER or injected violations missing: see the JSON", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
