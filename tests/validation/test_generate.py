"""The benchmark generator writes conforming data, and exactly the violations it says it injected.

Runs ``benchmarks/generate.py`` as the benchmarks call it (a separate script, no digiregion import)
on ~10^4 triples, then validates the result with the fast engine through the real command line.
"""

from __future__ import annotations

import filecmp
import json
import subprocess
import sys

from digiregion.validation.runner import ValidationRequest, run_validation

from .conftest import REPO

GENERATOR = REPO / "benchmarks" / "generate.py"
BASE = "https://w3id.org/digiregion/de/"


def _generate(out, *args: str) -> dict:
    subprocess.run([sys.executable, str(GENERATOR), "--triples", "10000", "--out", str(out), "--quiet", *args],
                   check=True, timeout=120)
    return json.loads((out / "manifest.json").read_text(encoding="utf-8"))


def _identities(findings) -> set[tuple]:
    return {(f["severity"], f["code"], f["focusNode"], f["resultPath"], f["value"], f["sourceShape"])
            for f in findings}


def _expected(manifest: dict) -> set[tuple]:
    return {(f["severity"], f["code"], f["focus"], f["path"], f["value"], f["shape"])
            for v in manifest["violations"] for f in v["findings"]}


def test_clean_generation_conforms_without_any_finding(validate, tmp_path):
    out = tmp_path / "clean"
    manifest = _generate(out)
    assert 10_000 <= manifest["triples"] < 10_100
    assert manifest["violations"] == []
    run = validate("--format", "json", "--base-iri", BASE, "--context", out, out)
    assert run.code == 0, run.stdout[-2000:]
    report = run.json()
    assert report["findings"] == []
    assert report["triples"] == manifest["triples"]


def test_exactly_the_injected_violations_are_found(validate, tmp_path):
    out = tmp_path / "bad"
    manifest = _generate(out, "--violations", "3")
    assert len(manifest["violations"]) == 3
    run = validate("--format", "json", "--base-iri", BASE, "--context", out, out)
    assert run.code == 1
    findings = run.json()["findings"]
    assert _identities(findings) == _expected(manifest)
    # each finding names the file and line of the resource the manifest says was broken
    files = {v["focus"]: str((out / v["file"]).resolve()) for v in manifest["violations"]}
    for finding in findings:
        assert finding["file"] == files[finding["focusNode"]]
        assert finding["line"]


def test_every_violation_kind_is_found_as_documented(tmp_path):
    out = tmp_path / "all"
    manifest = _generate(out, "--violations", "14", "--seed", "7")
    assert len({v["kind"] for v in manifest["violations"]}) == 14
    report = run_validation(ValidationRequest(paths=(out,), context=(out,), base_iri=BASE))
    found = {(f.severity.value, f.code, f.focus, f.path, f.value, f.shape) for f in report.findings}
    assert found == _expected(manifest)


def test_same_arguments_same_bytes(tmp_path):
    first, second = tmp_path / "a", tmp_path / "b"
    _generate(first, "--violations", "2")
    _generate(second, "--violations", "2")
    names = sorted(p.relative_to(first) for p in first.rglob("*") if p.is_file())
    assert names == sorted(p.relative_to(second) for p in second.rglob("*") if p.is_file())
    _match, mismatch, errors = filecmp.cmpfiles(first, second, [str(n) for n in names], shallow=False)
    assert not mismatch and not errors
