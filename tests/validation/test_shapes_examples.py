"""Every shape has a conforming and a failing example, and both engines agree on all of them."""

from __future__ import annotations

from pathlib import Path

import pytest

from digiregion.validation.runner import ValidationRequest, run_validation

EXAMPLES = Path(__file__).resolve().parents[1] / "shapes_examples"
VALID = sorted(EXAMPLES.glob("*.valid.ttl"))
INVALID = sorted(EXAMPLES.glob("*.invalid.ttl"))


def _validate(path: Path, engine: str = "fast"):
    return run_validation(ValidationRequest(paths=(path,), context=(), engine=engine))


def _expectation(path: Path) -> tuple[str, str]:
    first = path.read_text(encoding="utf-8").splitlines()[0]
    assert first.startswith("# expect: "), f"{path.name} must start with '# expect: <component> on <path>'"
    component, _, prop = first[len("# expect: "):].partition(" on ")
    return component.strip(), prop.strip()


def test_every_shape_has_both_examples():
    valid = {p.name.removesuffix(".valid.ttl") for p in VALID}
    invalid = {p.name.removesuffix(".invalid.ttl") for p in INVALID}
    assert valid and valid == invalid


@pytest.mark.parametrize("path", VALID, ids=lambda p: p.name)
def test_valid_example_conforms(path):
    report = _validate(path)
    assert report.exit_code == 0, [f.message.de for f in report.findings]


@pytest.mark.parametrize("path", INVALID, ids=lambda p: p.name)
def test_invalid_example_fails_with_expected_component(path):
    component, _prop = _expectation(path)
    report = _validate(path)
    expected = [f for f in report.findings if f.code == f"shacl:{component}"]
    assert expected, [f.code for f in report.findings]
    # a warning-only shape fails its example with warnings (exit 0); any violation means exit 1
    assert report.exit_code == (1 if any(f.severity.value == "violation" for f in report.findings) else 0)
    assert all(f.line for f in report.findings if f.code.startswith("shacl:") and not (f.focus or "").startswith("_:"))


@pytest.mark.parametrize("path", VALID + INVALID, ids=lambda p: p.name)
def test_fast_engine_and_pyshacl_report_the_same(path):
    fast = {f.identity() for f in _validate(path, "fast").findings}
    reference = {f.identity() for f in _validate(path, "pyshacl").findings}
    assert fast == reference


def test_engines_agree_on_the_shipped_data():
    fast = run_validation(ValidationRequest(engine="fast"))
    reference = run_validation(ValidationRequest(engine="pyshacl"))
    assert fast.exit_code == reference.exit_code == 0
    assert {f.identity() for f in fast.findings} == {f.identity() for f in reference.findings}
