"""The ontology is reusable by any district: it parses, documents every term in German and English,
declares its version and licence, and contains nothing region-specific."""

from __future__ import annotations

import pytest
import rdflib
from rdflib.namespace import DCTERMS, OWL, RDF, RDFS, SKOS

from digiregion.resources import ontology_dir

DR = rdflib.Namespace("https://w3id.org/digiregion/ontology#")
ONTOLOGY = rdflib.URIRef("https://w3id.org/digiregion/ontology")


@pytest.fixture(scope="module")
def ontology() -> rdflib.Graph:
    graph = rdflib.Graph()
    for path in sorted(ontology_dir().glob("*.ttl")):
        graph.parse(path, format="turtle")
    return graph


def _terms(graph: rdflib.Graph) -> list[rdflib.URIRef]:
    return sorted({s for s in graph.subjects() if isinstance(s, rdflib.URIRef) and s.startswith(str(DR))})


def _languages(graph, subject, *predicates) -> set[str]:
    return {o.language for p in predicates for o in graph.objects(subject, p) if isinstance(o, rdflib.Literal)}


def test_header(ontology):
    assert (ONTOLOGY, RDF.type, OWL.Ontology) in ontology
    assert ontology.value(ONTOLOGY, OWL.versionIRI) is not None
    assert ontology.value(ONTOLOGY, OWL.versionInfo) is not None
    assert ontology.value(ONTOLOGY, DCTERMS.license) is not None
    assert ontology.value(ONTOLOGY, DCTERMS.creator) is not None
    assert {"de", "en"} <= _languages(ontology, ONTOLOGY, DCTERMS.title)


def test_every_term_has_german_and_english_label_and_definition(ontology):
    terms = _terms(ontology)
    assert len(terms) > 40
    missing = []
    for term in terms:
        if not {"de", "en"} <= _languages(ontology, term, RDFS.label, SKOS.prefLabel):
            missing.append(f"{term}: label")
        if not {"de", "en"} <= _languages(ontology, term, RDFS.comment, SKOS.definition):
            missing.append(f"{term}: comment/definition")
    assert not missing, missing


def test_core_classes_and_alignments(ontology):
    expected = {
        DR.Municipality: DR.LocalAuthority,
        DR.District: DR.LocalAuthority,
        DR.Cooperation: rdflib.URIRef("http://www.w3.org/ns/org#OrganizationalCollaboration"),
        DR.Project: rdflib.URIRef("https://schema.org/Project"),
        DR.StrategyField: SKOS.Concept,
        DR.Source: rdflib.URIRef("http://www.w3.org/ns/prov#Entity"),
    }
    for cls, parent in expected.items():
        assert (cls, RDFS.subClassOf, parent) in ontology, f"{cls} ⊑ {parent}"
    public = rdflib.URIRef("http://data.europa.eu/m8g/PublicOrganisation")
    assert (DR.LocalAuthority, RDFS.subClassOf, public) in ontology


def test_nothing_region_specific(ontology):
    for s, p, o in ontology:
        for term in (s, o):
            assert "/lippe/" not in str(term), (s, p, o)
