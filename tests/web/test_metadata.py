"""VoID, the DCAT catalogue (checked with the official DCAT-AP.de 3.0 shapes), dumps and ``export``."""

from __future__ import annotations

import gzip
import hashlib
import subprocess
import sys
from pathlib import Path

import pyshacl
import pytest
import rdflib
from rdflib import Literal, Namespace, URIRef
from rdflib.namespace import DCAT, DCTERMS, RDF, VOID

SHAPES = Path(__file__).parent / "dcat_ap_de"
FIXTURE_DATA = Path(__file__).parent / "fixtures" / "data"
SPDX = Namespace("http://spdx.org/rdf/terms#")
SH = Namespace("http://www.w3.org/ns/shacl#")
DATASET = URIRef("https://w3id.org/digiregion/lippe/datensatz")
OFFLINE_VOCABULARIES = ("http://publications.europa.eu/resource/authority/", "http://dcat-ap.de/def/",
                        "http://spdx.org/rdf/terms#")


def _graph(server, path, fmt="text/turtle"):
    response = server.get(path, headers={"Accept": fmt})
    assert response.status_code == 200, response.text
    return rdflib.Graph().parse(data=response.content, format="turtle" if fmt == "text/turtle" else "json-ld")


def test_void(served):
    g = _graph(served, "/.well-known/void")
    assert (DATASET, VOID.sparqlEndpoint, URIRef(served.url + "/sparql")) in g
    assert (DATASET, VOID.uriSpace, Literal("https://w3id.org/digiregion/lippe/")) in g
    dumps = set(g.objects(DATASET, VOID.dataDump))
    assert URIRef(served.url + "/dumps/digiregion.ttl.gz") in dumps and len(dumps) >= 3
    count = served.get("/sparql", params={"query": "SELECT (COUNT(*) AS ?n) { ?s ?p ?o }"}).json()
    assert int(g.value(DATASET, VOID.triples)) == int(count["results"]["bindings"][0]["n"]["value"])
    for predicate in (VOID.entities, VOID.classes, VOID.properties, DCTERMS.modified, DCTERMS.license):
        assert g.value(DATASET, predicate) is not None, predicate
    assert URIRef("https://w3id.org/digiregion/ontology#") in set(g.objects(DATASET, VOID.vocabulary))
    assert any(True for _ in g.objects(DATASET, VOID.classPartition))


def test_void_in_json_ld_without_remote_context(served):
    response = served.get("/.well-known/void", headers={"Accept": "application/ld+json"})
    assert b"http://" not in response.content.split(b'"@context"')[1][:200] if b'"@context"' in response.content \
        else True
    assert len(rdflib.Graph().parse(data=response.content, format="json-ld")) > 10


@pytest.mark.parametrize("server_name", ["served", "default_server"])
def test_catalog_conforms_to_dcat_ap_de(request, server_name):
    catalog = _graph(request.getfixturevalue(server_name), "/catalog")
    shapes = rdflib.Graph()
    for name in ("dcat-ap-SHACL.ttl", "dcat-ap-SHACL-DE.ttl", "dcat-ap-spec-german-additions.ttl",
                 "dcat-ap-de-controlledvocabularies.ttl", "dcat-ap-de-deprecated.ttl"):
        shapes.parse(SHAPES / "v3.0" / name)
    vocabularies = rdflib.Graph()
    for path in (SHAPES / "vocab").iterdir():
        vocabularies.parse(path)
    _, report, _ = pyshacl.validate(catalog, shacl_graph=shapes, ont_graph=vocabularies, inference="none",
                                    advanced=True, allow_warnings=True)
    violations = []
    for result in report.subjects(RDF.type, SH.ValidationResult):
        if report.value(result, SH.resultSeverity) != SH.Violation:
            continue
        focus = str(report.value(result, SH.focusNode))
        path = report.value(result, SH.resultPath)
        # Membership of EU/dcat-ap.de vocabulary IRIs needs the remote vocabularies (see README): not offline.
        if path == rdflib.SKOS.inScheme and focus.startswith(OFFLINE_VOCABULARIES):
            continue
        violations.append((focus, path, str(report.value(result, SH.resultMessage))))
    assert violations == []


def test_catalog_lists_dumps_with_size_and_checksum(served):
    g = _graph(served, "/catalog")
    distributions = list(g.objects(DATASET, DCAT.distribution))
    downloads = [d for d in distributions if g.value(d, DCAT.downloadURL)]
    assert len(downloads) >= 3
    for dist in downloads:
        url = str(g.value(dist, DCAT.downloadURL))
        body = served.get(url.removeprefix(served.url)).content
        assert int(g.value(dist, DCAT.byteSize)) == len(body)
        checksum = g.value(dist, SPDX.checksum)
        assert str(g.value(checksum, SPDX.checksumValue)) == hashlib.sha256(body).hexdigest()
    assert (None, RDF.type, DCAT.DataService) in g


def test_dumps_parse_and_hold_the_graph(served):
    for name, fmt in (("digiregion.ttl.gz", "turtle"), ("digiregion.nt.gz", "nt"),
                      ("digiregion.jsonld.gz", "json-ld")):
        response = served.get("/dumps/" + name)
        assert response.status_code == 200
        graph = rdflib.Graph().parse(data=gzip.decompress(response.content), format=fmt)
        assert (URIRef("https://w3id.org/digiregion/lippe/kommune/05766020"), None, None) in graph
        etag = response.headers["etag"]
        assert served.get("/dumps/" + name, headers={"If-None-Match": etag}).status_code == 304
    assert served.get("/dumps/nope.ttl.gz").status_code == 404


def test_export_writes_the_same_dumps(served, tmp_path):
    served_catalog = _graph(served, "/catalog")
    sizes = {str(served_catalog.value(d, DCAT.downloadURL)).rsplit("/", 1)[1]: int(served_catalog.value(d, DCAT.byteSize))
             for d in served_catalog.objects(DATASET, DCAT.distribution) if served_catalog.value(d, DCAT.downloadURL)}
    result = subprocess.run([sys.executable, "-m", "digiregion.cli", "export", str(tmp_path / "out"),
                             "--data", str(FIXTURE_DATA)], capture_output=True, text=True, timeout=120,
                            env={**__import__("os").environ, "DIGIREGION_STORE_DIR": str(served.store_dir)})
    assert result.returncode == 0, result.stderr
    for name, size in sizes.items():
        path = tmp_path / "out" / name
        assert path.stat().st_size == size
        assert hashlib.sha256(path.read_bytes()).hexdigest() in result.stdout


def test_service_description(served):
    g = _graph(served, "/sparql")
    SD = Namespace("http://www.w3.org/ns/sparql-service-description#")
    assert (None, SD.endpoint, URIRef(served.url + "/sparql")) in g
    assert served.get("/sparql", headers={"Accept": "text/html"}).text.count("<textarea") == 1
