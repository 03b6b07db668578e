"""``Locator`` (the shortcut for big files) gives the same lines as the full walk of the file."""

from __future__ import annotations

import pytest

from digiregion.validation import positions
from digiregion.validation.positions import Locator, scan_text

HEADER = """@base <https://w3id.org/digiregion/de/> .
@prefix ex: <http://example.org/> .
@prefix dr: <https://w3id.org/digiregion/ontology#> .

"""
BASE = "https://w3id.org/digiregion/de/"


def _body(n: int) -> str:
    parts = []
    for i in range(n):
        parts.append(f"<projekt/p{i}> a dr:Project ;\n    ex:title \"Projekt {i}; mit Punkt.\"@de ;\n"
                     f"    ex:link <projekt/p{(i + 1) % n}> ,\n        ex:o{i} ;\n    ex:n {i}.5 .\n\n"
                     f"<projekt/p{i}#f> ex:amount \"{i}\"^^ex:dec .\n\n")
    return "".join(parts)


ODD = """ex:prefixed ex:p ex:o .
    <indented> ex:p ex:o .
<a> ex:p ex:o . <same-line> ex:p ex:o .
@base <https://w3id.org/digiregion/other/> .
<rebased> ex:p ex:o .
ex:esc\\/aped ex:p ex:o .
"""


@pytest.fixture(autouse=True)
def small_threshold(monkeypatch):
    monkeypatch.setattr(positions, "FAST_MIN_BYTES", 1000)


def _compare(tmp_path, text: str) -> None:
    path = tmp_path / "big.ttl"
    path.write_text(text, encoding="utf-8")
    full = scan_text(text, BASE)
    assert full.complete
    subjects = [s for s in full.subjects if not s.startswith("_:")]
    locator = Locator(path, BASE)
    locator.prepare(subjects)
    for subject in subjects:
        assert locator.subject_line(subject) == full.subject_line(subject), subject
    for (subject, predicate), line in full.predicates.items():
        if not subject.startswith("_:"):
            assert locator.predicate_line(subject, predicate) == line, (subject, predicate)


def test_shortcut_matches_the_full_walk(tmp_path):
    _compare(tmp_path, HEADER + _body(300) + ODD)


def test_shortcut_is_used_for_line_start_subjects(tmp_path):
    text = HEADER + _body(300)
    path = tmp_path / "big.ttl"
    path.write_text(text, encoding="utf-8")
    locator = Locator(path, BASE)
    locator.prepare([BASE + "projekt/p7", BASE + "projekt/p7#f"])
    assert locator.subject_line(BASE + "projekt/p7") == scan_text(text, BASE).subject_line(BASE + "projekt/p7")
    assert locator._full is None  # answered without walking the whole file


def test_multi_line_strings_fall_back_to_the_full_walk(tmp_path):
    trap = '<projekt/q> ex:text """erste Zeile\n<projekt/p3> ex:p ex:o .\n""" .\n\n'
    _compare(tmp_path, HEADER + trap + _body(300))
