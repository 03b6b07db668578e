"""The contract of ``digiregion validate``: exit codes, file:line findings, output formats."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from .conftest import REPO, line_of

GOOD_PROJECT = """
# Ein neues Projekt, das auf bestehende Daten verweist.
<projekt/test-beispielprojekt> a dr:Project ;
    dcterms:title "Beispielprojekt"@de ;
    skos:prefLabel "Beispielprojekt"@de ;
    rdfs:label "Beispielprojekt"@de ;
    dcterms:description "Ein Projekt nur für den Test."@de ;
    dr:participant <kommune/05766020> ;
    dr:strategyField <strategiefeld/verwaltung> ;
    schema:startDate "2024"^^xsd:gYear ;
    dcterms:source <quelle/destatis-gv100ad-2023> .
"""


def test_shipped_data_conforms(validate):
    run = validate()
    assert run.code == 0, run.stdout + run.stderr
    assert "konform" in run.stdout
    assert "Traceback" not in run.stderr


def test_good_contribution_with_links_into_published_data(validate, contribution):
    run = validate(contribution(GOOD_PROJECT))
    assert run.code == 0, run.stdout


def test_violation_exit_1_with_file_line_focus_path_and_message(validate, contribution):
    path = contribution(GOOD_PROJECT.replace('schema:startDate "2024"^^xsd:gYear', 'schema:startDate "im Jahr 2024"'))
    run = validate(path, "--format", "json")
    assert run.code == 1
    report = run.json()
    assert report["conforms"] is False and report["exitCode"] == 1
    finding = next(f for f in report["findings"] if f["resultPath"] == "https://schema.org/startDate")
    assert finding["file"] == str(path.resolve())
    assert finding["line"] == line_of(path, "<projekt/test-beispielprojekt> a dr:Project")
    assert finding["focusNode"] == "https://w3id.org/digiregion/lippe/projekt/test-beispielprojekt"
    assert finding["value"] == '"im Jahr 2024"'
    assert finding["severity"] == "violation"
    assert finding["code"] == "shacl:OrConstraintComponent"
    assert finding["messages"]["de"] and finding["messages"]["en"]
    assert finding["message"] == finding["messages"]["de"]


def test_english_messages(validate, contribution):
    path = contribution(GOOD_PROJECT.replace('dcterms:title "Beispielprojekt"@de ;', ""))
    de = validate(path, "--format", "json").json()
    en = validate(path, "--format", "json", "--lang", "en").json()
    assert [f["message"] for f in en["findings"]] == [f["messages"]["en"] for f in de["findings"]]
    assert validate(path, "--lang", "en").stdout.splitlines()[-1].endswith("warnings")


def test_warnings_only_exit_0(validate, contribution):
    path = contribution(GOOD_PROJECT.replace('dcterms:description "Ein Projekt nur für den Test."@de ;', ""))
    run = validate(path, "--format", "json")
    assert run.code == 0
    assert run.json()["summary"]["warning"] >= 1


def test_json_report_matches_documented_schema(validate, contribution):
    schema = json.loads((REPO / "docs" / "validation-report.schema.json").read_text(encoding="utf-8"))
    for body in (GOOD_PROJECT, GOOD_PROJECT.replace("<kommune/05766020>", '"Detmold"'), "ex:a ex:b ."):
        report = validate(contribution(body), "--format", "json").json()
        jsonschema.validate(report, schema)


def test_github_annotations(validate, contribution):
    path = contribution(GOOD_PROJECT.replace('schema:startDate "2024"^^xsd:gYear', 'schema:startDate "2024"'))
    run = validate(path, "--format", "github")
    assert run.code == 1
    annotation = next(line for line in run.stdout.splitlines() if line.startswith("::error "))
    line = line_of(path, "<projekt/test-beispielprojekt> a dr:Project")
    assert f"file={path.resolve()}".replace(":", "%3A").replace(",", "%2C") in annotation
    assert f"line={line}" in annotation


def test_syntax_error_exit_2_at_parser_line(validate, contribution):
    path = contribution(GOOD_PROJECT + '\n<projekt/kaputt> dr:status "offen ;\n')
    run = validate(path, "--format", "json")
    assert run.code == 2
    finding = run.json()["findings"][0]
    assert finding["code"] == "syntax" and finding["file"] == str(path.resolve())
    assert finding["line"] == line_of(path, "<projekt/kaputt>")


def test_undefined_prefix_names_line(validate, contribution):
    path = contribution(GOOD_PROJECT + "\n<projekt/x> foo:bar <kommune/05766020> .\n")
    run = validate(path)
    assert run.code == 2
    assert f"{path.resolve()}:{line_of(path, 'foo:bar')}" in run.stdout
    assert "Präfix foo: ist nicht deklariert" in run.stdout


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("binaer.ttl", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00", "Syntaxfehler"),
        ("latin1.ttl", "<https://e/a> <https://e/b> \"Lügde\" .\n".encode("latin-1"), "nicht UTF-8"),
        ("doctype.rdf", b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">]><rdf:RDF '
                        b'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"/>', "DOCTYPE"),
        ("unbekannt.xyz", b"irgendwas", "Unbekanntes RDF-Format"),
    ],
)
def test_unreadable_input_exit_2_without_traceback(validate, tmp_path, name, content, expected):
    path = tmp_path / name
    path.write_bytes(content)
    run = validate(path)
    assert run.code == 2, run.stdout
    assert expected in run.stdout
    assert str(path.resolve()) in run.stdout
    assert "Traceback" not in run.stderr + run.stdout


def test_missing_path_exit_2(validate, tmp_path):
    run = validate(tmp_path / "gibt-es-nicht.ttl")
    assert run.code == 2
    assert "Pfad nicht gefunden" in run.stdout


def test_folder_without_rdf_files_exit_2(validate, tmp_path):
    (tmp_path / "notiz.txt").write_text("keine Daten")
    run = validate(tmp_path)
    assert run.code == 2
    assert "Keine RDF-Dateien" in run.stdout


def test_empty_file_is_a_warning(validate, tmp_path):
    path = tmp_path / "leer.ttl"
    path.write_bytes(b"")
    run = validate(path, "--format", "json")
    assert run.code == 0
    assert [f["code"] for f in run.json()["findings"]] == ["empty-file"]


def test_huge_file_is_refused_before_reading(validate, tmp_path):
    path = tmp_path / "riesig.nt"
    with open(path, "wb") as fh:  # a sparse file: 3 GiB on paper, nothing on disk
        fh.truncate(3 * 2**30)
    run = validate(path)
    assert run.code == 2
    assert "zu groß" in run.stdout


def test_max_file_size_option(validate, tmp_path):
    path = tmp_path / "gross.nt"
    line = "<https://example.org/s> <https://example.org/p> \"%s\" .\n"
    path.write_text("".join(line % i for i in range(40_000)), encoding="utf-8")
    assert validate(path, "--max-file-size", "1").code == 2
    assert validate(path, "--max-file-size", "10").code == 0


def test_bad_usage_exit_2(validate):
    assert validate("--format", "yaml").code == 2
    assert validate("--engine", "turbo").code == 2


def test_whole_folder_argument(validate):
    assert validate(Path("data/lippe")).code == 0


def test_utf8_bom_is_accepted_with_a_warning(validate, contribution, tmp_path):
    text = contribution(GOOD_PROJECT).read_text(encoding="utf-8").replace("\n", "\r\n")
    path = tmp_path / "windows.ttl"
    path.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    run = validate(path, "--format", "json")
    assert run.code == 0, run.stdout
    assert [f["code"] for f in run.json()["findings"]] == ["byte-order-mark"]
    bad = tmp_path / "windows-bad.ttl"
    bad.write_bytes(b"\xef\xbb\xbf" + text.replace('"2024"^^xsd:gYear', '"2024"').encode("utf-8"))
    finding = next(f for f in validate(bad, "--format", "json").json()["findings"] if f["code"].startswith("shacl"))
    assert finding["line"] == line_of(bad, "<projekt/test-beispielprojekt> a dr:Project")
