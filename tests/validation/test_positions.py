"""The position scanner finds the line where a resource is written, whatever the Turtle style."""

from __future__ import annotations

from digiregion.validation.positions import scan_text

RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"

TEXT = '''@prefix ex: <http://example.org/> .
@base <https://w3id.org/digiregion/lippe/> .
PREFIX sk: <http://www.w3.org/2004/02/skos/core#>
# a comment with "quotes" and a <bracket
<kommune/05766020> a ex:Kommune ;
    ex:name "Detmold; Stadt." , """zwei
Zeilen""" ;
    ex:zahl 1.5e3 ; ex:datum "2020"^^ex:jahr .
ex:a.b ex:p [ ex:q ex:r ; ex:s ( 1 ex:t ) ] .
<#hash> sk:prefLabel "x"@de-DE .
ex:esc\\/aped ex:p ex:o .
_:b1 ex:p <kommune/05766020> .
'''


def test_subjects_predicates_and_objects():
    pos = scan_text(TEXT)
    assert pos.complete
    kommune = "https://w3id.org/digiregion/lippe/kommune/05766020"
    assert pos.subject_line(kommune) == 5
    assert pos.predicate_line(kommune, RDF_TYPE) == 5
    assert pos.predicate_line(kommune, "http://example.org/zahl") == 8
    assert pos.predicate_line(kommune, "http://example.org/datum") == 8
    assert pos.subject_line("http://example.org/a.b") == 9
    assert pos.subject_line("https://w3id.org/digiregion/lippe/#hash") == 10
    assert pos.subject_line("http://example.org/esc/aped") == 11
    assert pos.subject_line("_:b1") == 12
    assert pos.objects[("_:b1", "http://example.org/p", kommune)] == 12


def test_stops_quietly_on_what_it_does_not_understand():
    pos = scan_text("<http://e/a> <http://e/p> <http://e/o> .\n<http://e/b> ??? .\n")
    assert pos.subject_line("http://e/a") == 1
    assert not pos.complete


def test_n_triples():
    pos = scan_text('<http://e/a> <http://e/p> "x" .\n<http://e/b> <http://e/p> <http://e/a> .\n')
    assert pos.subject_line("http://e/b") == 2
