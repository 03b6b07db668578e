"""Checks across files: one resource per file, links that resolve, IRIs where IRIs belong."""

from __future__ import annotations

from .conftest import line_of
from .test_cli_contract import GOOD_PROJECT


def _codes(run) -> list[str]:
    return [f["code"] for f in run.json()["findings"]]


def test_resource_described_in_two_files(validate, contribution):
    path = contribution("""
<kommune/05766020> skos:altLabel "Residenzstadt"@de .
""" + GOOD_PROJECT)
    run = validate(path, "--format", "json")
    assert run.code == 1
    finding = next(f for f in run.json()["findings"] if f["code"] == "duplicate-resource")
    assert finding["focusNode"] == "https://w3id.org/digiregion/lippe/kommune/05766020"
    assert "territorium.ttl" in finding["messages"]["de"]
    assert finding["line"] == line_of(path, "<kommune/05766020> skos:altLabel")


def test_same_resource_in_two_contributed_files(validate, contribution):
    first = contribution(GOOD_PROJECT, name="a.ttl")
    second = contribution('<projekt/test-beispielprojekt> skos:altLabel "Zweitname"@de .\n', name="b.ttl")
    run = validate(first, second, "--format", "json")
    assert run.code == 1
    files = {f["file"] for f in run.json()["findings"] if f["code"] == "duplicate-resource"}
    assert files == {str(first.resolve()), str(second.resolve())}


def test_link_to_undefined_iri_under_the_base(validate, contribution):
    path = contribution(GOOD_PROJECT.replace("<kommune/05766020>", "<kommune/05766999>"))
    run = validate(path, "--format", "json")
    assert run.code == 1
    finding = next(f for f in run.json()["findings"] if f["code"] == "undefined-link")
    assert finding["value"] == "https://w3id.org/digiregion/lippe/kommune/05766999"
    assert finding["line"] == line_of(path, "<kommune/05766999>")


def test_links_outside_the_base_are_not_checked(validate, contribution):
    path = contribution(GOOD_PROJECT.replace(
        "dcterms:source <quelle/destatis-gv100ad-2023> .",
        "dcterms:source <quelle/destatis-gv100ad-2023> ; foaf:homepage <https://example.org/nirgends> ."))
    assert "undefined-link" not in _codes(validate(path, "--format", "json"))


def test_literal_where_an_iri_is_required(validate, contribution):
    path = contribution(GOOD_PROJECT.replace("dr:participant <kommune/05766020>", 'dr:participant "Detmold"'))
    run = validate(path, "--format", "json")
    assert run.code == 1
    finding = next(f for f in run.json()["findings"] if f["code"] == "literal-for-iri")
    assert finding["resultPath"] == "https://w3id.org/digiregion/ontology#participant"
    assert finding["line"] == line_of(path, 'dr:participant "Detmold"')


def test_a_new_file_with_its_own_new_resources_is_fine(validate, contribution):
    path = contribution(GOOD_PROJECT.replace("dr:participant <kommune/05766020>", "dr:participant <organisation/test-verein>") + """
<organisation/test-verein> a dr:Organisation ; skos:prefLabel "Testverein"@de ; rdfs:label "Testverein"@de ;
    dcterms:source <quelle/destatis-gv100ad-2023> .
""")
    run = validate(path, "--format", "json")
    assert run.code == 0, run.stdout
