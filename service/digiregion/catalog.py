"""Open-data metadata about the published dataset: VoID for Linked Data tools, DCAT(-AP.de) for portals.

Both describe the same dataset IRI (``<base>datensatz``, see docs/model.md) and are built from three
inputs only: the settings (public URL, base IRI), ``DatasetInfo`` (counts, vocabularies, dates) and
what the data says about itself on that dataset resource (title, description, licence, publisher).
So a region's data team edits its own ``datensatz`` resource and the catalogue follows; nothing here
knows about Lippe. The catalogue is written to conform to DCAT-AP.de 3.0 (tests run the official
shapes): licences are mapped to the dcat-ap.de licence list, formats to the EU file-type table.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCAT, DCTERMS, FOAF, RDF, RDFS, SKOS, VOID, XSD

from .config import Settings
from .dataset import DatasetInfo, IriMap
from .dumps import Dump

DCATDE = Namespace("http://dcat-ap.de/def/dcatde/")
DCATAP = Namespace("http://data.europa.eu/r5r/")
SPDX = Namespace("http://spdx.org/rdf/terms#")
VCARD = Namespace("http://www.w3.org/2006/vcard/ns#")
SD = Namespace("http://www.w3.org/ns/sparql-service-description#")
EU = "http://publications.europa.eu/resource/authority/"

LICENCE_MAP = {
    "https://creativecommons.org/licenses/by/4.0/": "http://dcat-ap.de/def/licenses/cc-by/4.0",
    "http://creativecommons.org/licenses/by/4.0/": "http://dcat-ap.de/def/licenses/cc-by/4.0",
    "https://creativecommons.org/publicdomain/zero/1.0/": "http://dcat-ap.de/def/licenses/cc-zero",
    "http://creativecommons.org/publicdomain/zero/1.0/": "http://dcat-ap.de/def/licenses/cc-zero",
    "https://www.govdata.de/dl-de/by-2-0": "http://dcat-ap.de/def/licenses/dl-by-de/2.0",
    "https://www.govdata.de/dl-de/zero-2-0": "http://dcat-ap.de/def/licenses/dl-zero-de/2.0",
}
DEFAULT_LICENCE = "http://dcat-ap.de/def/licenses/dl-by-de/2.0"
FORMAT_FEATURES = ("Turtle", "N-Triples", "JSON-LD", "RDF_XML")


@dataclass
class SelfDescription:
    """What the data says about the dataset itself (from the ``datensatz`` resource), with defaults."""

    iri: str
    title: dict[str, str] = field(default_factory=dict)
    description: dict[str, str] = field(default_factory=dict)
    licence: str | None = None
    publisher: str | None = None
    publisher_name: str | None = None
    keywords: list[str] = field(default_factory=list)
    root_resources: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    """Entry points (void:rootResource) with their labels per language, in IRI order."""

    @classmethod
    def from_graph(cls, iri: str, graph: Graph, settings: Settings) -> SelfDescription:
        node = URIRef(iri)
        found = cls(iri)
        for predicate, target in ((DCTERMS.title, found.title), (DCTERMS.description, found.description)):
            for value in graph.objects(node, predicate):
                if isinstance(value, Literal):
                    target.setdefault(value.language or "de", str(value))
        found.licence = next((str(o) for o in graph.objects(node, DCTERMS.license)), None)
        publisher = next(iter(graph.objects(node, DCTERMS.publisher)), None)
        if isinstance(publisher, URIRef):
            found.publisher = str(publisher)
            label = next((o for p in (SKOS.prefLabel, RDFS.label, FOAF.name)
                          for o in graph.objects(publisher, p)), None)
            found.publisher_name = str(label) if label else None
        elif isinstance(publisher, Literal):
            found.publisher_name = str(publisher)
        found.keywords = sorted({str(k) for k in graph.objects(node, DCAT.keyword)})
        for root in sorted(o for o in graph.objects(node, VOID.rootResource) if isinstance(o, URIRef)):
            labels: dict[str, str] = {}
            for p in (SKOS.prefLabel, RDFS.label):
                for label in graph.objects(root, p):
                    if isinstance(label, Literal):
                        labels.setdefault(label.language or "de", str(label))
            found.root_resources.append((str(root), labels))
        found.title.setdefault("de", settings.title)
        found.title.setdefault("en", "Digital region: open knowledge graph")
        found.description.setdefault(
            "de", f"Offener Wissensgraph „{settings.title}“: Kommunen, Organisationen, Strategie und Projekte "
                  "der Digitalisierung, mit Quellen zu jeder Angabe.")
        found.description.setdefault(
            "en", "Open knowledge graph of a digital region: municipalities, organisations, strategy and "
                  "digitalisation projects, with a source for every fact.")
        return found


@dataclass(frozen=True)
class Urls:
    """Absolute URLs of the service's own documents."""

    root: str

    def __getattr__(self, name: str) -> str:
        paths = {"sparql": "sparql", "void": ".well-known/void", "catalog": "catalog", "dumps": "dumps/",
                 "home": ""}
        if name in paths:
            return self.root + paths[name]
        raise AttributeError(name)


def dataset_iri(iri_map: IriMap) -> str:
    return iri_map.base_iri + "datensatz"


def build_void(settings: Settings, info: DatasetInfo, me: SelfDescription, dumps: Sequence[Dump]) -> Graph:
    """VoID description (``/.well-known/void``): endpoint, uriSpace, dumps, counts, vocabularies."""
    urls = Urls(settings.base_url)
    iri_map = IriMap.from_settings(settings)
    g = _graph()
    ds = URIRef(me.iri)
    doc = URIRef(urls.void)
    g.add((doc, RDF.type, VOID.DatasetDescription))
    g.add((doc, FOAF.primaryTopic, ds))
    g.add((doc, DCTERMS.title, Literal(f"VoID-Beschreibung: {me.title['de']}", lang="de")))
    g.add((ds, RDF.type, VOID.Dataset))
    _common(g, ds, me, info)
    g.add((ds, VOID.sparqlEndpoint, URIRef(urls.sparql)))
    g.add((ds, VOID.uriSpace, Literal(iri_map.base_iri)))
    g.add((ds, VOID.uriLookupEndpoint, URIRef(urls.home)))
    for dump in dumps:
        g.add((ds, VOID.dataDump, URIRef(urls.dumps + dump.name)))
    for name in FORMAT_FEATURES:
        g.add((ds, VOID.feature, URIRef(f"http://www.w3.org/ns/formats/{name}")))
    for predicate, value in ((VOID.triples, info.default_graph_triples), (VOID.entities, info.entities),
                             (VOID.classes, len(info.classes)), (VOID.properties, len(info.properties)),
                             (VOID.distinctSubjects, info.distinct_subjects),
                             (VOID.distinctObjects, info.distinct_objects)):
        g.add((ds, predicate, Literal(value, datatype=XSD.integer)))
    for vocabulary in info.vocabularies():
        g.add((ds, VOID.vocabulary, URIRef(vocabulary)))
    for partition in info.classes:
        node = BNode()
        g.add((ds, VOID.classPartition, node))
        g.add((node, VOID["class"], URIRef(partition.iri)))
        g.add((node, VOID.entities, Literal(partition.count, datatype=XSD.integer)))
    for partition in info.properties:
        node = BNode()
        g.add((ds, VOID.propertyPartition, node))
        g.add((node, VOID.property, URIRef(partition.iri)))
        g.add((node, VOID.triples, Literal(partition.count, datatype=XSD.integer)))
    return g


def build_catalog(settings: Settings, info: DatasetInfo, me: SelfDescription, dumps: Sequence[Dump]) -> Graph:
    """DCAT-AP.de catalogue (``/catalog``): catalogue, dataset, one distribution per dump, the endpoint."""
    urls = Urls(settings.base_url)
    g = _graph()
    catalog = URIRef(urls.catalog)
    ds = URIRef(me.iri)
    publisher = _publisher(g, me, urls)
    licence = URIRef(LICENCE_MAP.get(me.licence or "", me.licence or DEFAULT_LICENCE))
    modified = Literal(info.last_modified.isoformat(), datatype=XSD.dateTime)

    g.add((catalog, RDF.type, DCAT.Catalog))
    for lang in ("de", "en"):
        g.add((catalog, DCTERMS.title, Literal(f"Katalog: {me.title['de']}" if lang == "de"
                                               else f"Catalogue: {me.title['en']}", lang=lang)))
        g.add((catalog, DCTERMS.description, Literal(me.description[lang], lang=lang)))
    g.add((catalog, DCTERMS.publisher, publisher))
    g.add((catalog, FOAF.homepage, URIRef(urls.home)))
    g.add((catalog, DCTERMS.language, URIRef(EU + "language/DEU")))
    g.add((catalog, DCTERMS.modified, modified))
    g.add((catalog, DCAT.dataset, ds))

    g.add((ds, RDF.type, DCAT.Dataset))
    _common(g, ds, me, info)
    g.add((ds, DCTERMS.publisher, publisher))
    g.add((ds, DCTERMS.identifier, Literal(me.iri)))
    g.add((ds, DCAT.landingPage, URIRef(urls.home)))
    g.add((ds, DCAT.theme, URIRef(EU + "data-theme/GOVE")))
    g.add((ds, DCAT.theme, URIRef(EU + "data-theme/TECH")))
    g.add((ds, DCTERMS.accessRights, URIRef(EU + "access-right/PUBLIC")))
    g.add((ds, DCTERMS.language, URIRef(EU + "language/DEU")))
    for keyword in me.keywords or ["Digitalisierung", "Kommunen", "Linked Data", "Wissensgraph"]:
        g.add((ds, DCAT.keyword, Literal(keyword, lang="de")))
    contact = URIRef(urls.home + "#kontakt")
    g.add((ds, DCAT.contactPoint, contact))
    g.add((contact, RDF.type, VCARD.Organization))
    g.add((contact, VCARD.fn, Literal(me.publisher_name or settings.title)))
    g.add((contact, VCARD.hasURL, URIRef(urls.home)))

    for dump in dumps:
        dist = URIRef(urls.dumps + dump.name)
        g.add((ds, DCAT.distribution, dist))
        g.add((dist, RDF.type, DCAT.Distribution))
        g.add((dist, DCTERMS.title, Literal(dump.title_de, lang="de")))
        g.add((dist, DCTERMS.title, Literal(dump.title_en, lang="en")))
        g.add((dist, DCAT.accessURL, URIRef(urls.dumps)))
        g.add((dist, DCAT.downloadURL, URIRef(urls.dumps + dump.name)))
        g.add((dist, DCTERMS.format, URIRef(dump.eu_file_type)))
        g.add((dist, DCAT.mediaType, URIRef("https://www.iana.org/assignments/media-types/" + dump.media_type)))
        g.add((dist, DCAT.compressFormat, URIRef("https://www.iana.org/assignments/media-types/application/gzip")))
        g.add((dist, DCAT.byteSize, Literal(dump.size, datatype=XSD.nonNegativeInteger)))
        checksum = URIRef(urls.dumps + dump.name + "#sha256")
        g.add((dist, SPDX.checksum, checksum))
        g.add((checksum, RDF.type, SPDX.Checksum))
        g.add((checksum, SPDX.algorithm, SPDX.checksumAlgorithm_sha256))
        g.add((checksum, SPDX.checksumValue, Literal(dump.sha256, datatype=XSD.hexBinary)))
        g.add((dist, DCTERMS.license, licence))
        g.add((dist, DCTERMS.modified, modified))
        g.add((dist, DCATAP.availability, URIRef(EU + "planned-availability/STABLE")))

    endpoint = URIRef(urls.sparql)
    service = URIRef(urls.sparql + "#dienst")
    g.add((catalog, DCAT.service, service))
    g.add((service, RDF.type, DCAT.DataService))
    g.add((service, DCTERMS.title, Literal("SPARQL-Endpunkt", lang="de")))
    g.add((service, DCTERMS.title, Literal("SPARQL endpoint", lang="en")))
    g.add((service, DCAT.endpointURL, endpoint))
    g.add((service, DCAT.endpointDescription, endpoint))
    g.add((service, DCAT.servesDataset, ds))
    g.add((service, DCTERMS.publisher, publisher))
    g.add((service, DCTERMS.conformsTo, URIRef("https://www.w3.org/TR/sparql11-protocol/")))
    g.add((service, DCTERMS.license, licence))
    g.add((service, DCTERMS.accessRights, URIRef(EU + "access-right/PUBLIC")))
    api = URIRef(urls.sparql + "#zugang")
    g.add((ds, DCAT.distribution, api))
    g.add((api, RDF.type, DCAT.Distribution))
    g.add((api, DCTERMS.title, Literal("SPARQL-Endpunkt (Abfragen über HTTP)", lang="de")))
    g.add((api, DCTERMS.title, Literal("SPARQL endpoint (queries over HTTP)", lang="en")))
    g.add((api, DCAT.accessURL, endpoint))
    g.add((api, DCAT.accessService, service))
    g.add((api, DCTERMS.format, URIRef(EU + "file-type/SPARQLQ")))
    g.add((api, DCTERMS.license, licence))
    g.add((api, DCTERMS.modified, modified))
    return g


def build_service_description(settings: Settings, info: DatasetInfo, me: SelfDescription) -> Graph:
    """SPARQL 1.1 Service Description, answered on GET /sparql with an RDF Accept header."""
    urls = Urls(settings.base_url)
    g = _graph()
    service = URIRef(urls.sparql + "#dienst")
    g.add((service, RDF.type, SD.Service))
    g.add((service, SD.endpoint, URIRef(urls.sparql)))
    g.add((service, SD.supportedLanguage, SD.SPARQL11Query))
    for name in ("SPARQL_Results_JSON", "SPARQL_Results_XML", "SPARQL_Results_CSV", "SPARQL_Results_TSV",
                 "Turtle", "N-Triples", "JSON-LD", "RDF_XML", "TriG", "N-Quads"):
        g.add((service, SD.resultFormat, URIRef(f"http://www.w3.org/ns/formats/{name}")))
    g.add((service, SD.feature, SD.BasicFederatedQuery if settings.allowed_service_endpoints
           else URIRef("https://w3id.org/digiregion/ontology#NoFederation")))
    dataset = BNode()
    default_graph = BNode()
    g.add((service, SD.defaultDataset, dataset))
    g.add((dataset, RDF.type, SD.Dataset))
    g.add((dataset, DCTERMS.title, Literal(me.title["de"], lang="de")))
    g.add((dataset, SD.defaultGraph, default_graph))
    g.add((default_graph, RDF.type, SD.Graph))
    g.add((default_graph, VOID.triples, Literal(info.default_graph_triples, datatype=XSD.integer)))
    g.add((default_graph, RDFS.seeAlso, URIRef(urls.void)))
    for name in info.graphs:
        named = BNode()
        g.add((dataset, SD.namedGraph, named))
        g.add((named, SD.name, URIRef(name)))
    return g


def _common(g: Graph, ds: URIRef, me: SelfDescription, info: DatasetInfo) -> None:
    for lang, text in me.title.items():
        g.add((ds, DCTERMS.title, Literal(text, lang=lang)))
    for lang, text in me.description.items():
        g.add((ds, DCTERMS.description, Literal(text, lang=lang)))
    g.add((ds, DCTERMS.modified, Literal(info.last_modified.isoformat(), datatype=XSD.dateTime)))
    if me.licence:
        g.add((ds, DCTERMS.license, URIRef(me.licence)))


def _publisher(g: Graph, me: SelfDescription, urls: Urls) -> URIRef:
    publisher = URIRef(me.publisher or urls.home + "#herausgeber")
    g.add((publisher, RDF.type, FOAF.Agent))
    g.add((publisher, FOAF.name, Literal(me.publisher_name or "Projekt digiregion", lang="de")))
    return publisher


def _graph() -> Graph:
    g = Graph()
    for prefix, namespace in (("dcat", DCAT), ("dct", DCTERMS), ("foaf", FOAF), ("void", VOID),
                              ("dcatde", DCATDE), ("dcatap", DCATAP), ("spdx", SPDX), ("vcard", VCARD),
                              ("sd", SD), ("xsd", XSD), ("skos", SKOS)):
        g.bind(prefix, namespace)
    return g
