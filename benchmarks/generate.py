#!/usr/bin/env python3
"""Deterministic national-scale test data in the digiregion vocabulary.

Real territory, fictitious everything else:

- the 400 Kreise and up to all 10,773 political municipalities of Germany with their real keys
  (AGS/ARS), names, type, population, area, postcode and centre point, read from the copies in
  ``benchmarks/reference/`` (Destatis, dl-de/by-2-0; see the README there);
- generated, clearly fictitious projects ("Generiertes Projekt 000123"), organisations, sources,
  fundings, claims, funding programmes, cooperations and strategies with their strategy-field
  schemes, all with example.org web addresses.

The data conforms to ``shapes/digiregion-shapes.ttl`` (no violations, no warnings) unless
``--violations K`` asks for K known shape violations; each one is listed, with the exact findings
it must produce, in ``manifest.json`` next to the data. The size is set in triples (``--triples``,
10^4 … 10^7): the territory takes up to 35 % of it (all of Germany from about 10^6 triples on, whole
Kreise in a seeded order below that), generated projects with their dependents fill the rest. The
same arguments always give byte-identical files.

Usage::

    python benchmarks/generate.py --triples 1000000 [--out DIR] [--base-iri IRI] [--seed 42] [--violations K]

As a module: ``generate(triples, out, base_iri=..., seed=..., violations=...)`` returns the manifest.
This script depends on the Python standard library only (not on the ``digiregion`` package).
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
REFERENCE = HERE / "reference"
DEFAULT_BASE_IRI = "https://w3id.org/digiregion/de/"
DEFAULT_SEED = 42
CHUNK_TRIPLES = 50_000
"""Generated resources are split into files of about this many triples (one entity never spans two)."""
TERRITORY_SHARE = 0.35
"""At most this share of the requested triples is territory; from ~10^6 triples on that is all of Germany."""
MANIFEST = "manifest.json"
FORMAT_VERSION = 1

PREFIXES = {
    "dr": "https://w3id.org/digiregion/ontology#",
    "org": "http://www.w3.org/ns/org#",
    "schema": "https://schema.org/",
    "skos": "http://www.w3.org/2004/02/skos/core#",
    "dcterms": "http://purl.org/dc/terms/",
    "foaf": "http://xmlns.com/foaf/0.1/",
    "wgs": "http://www.w3.org/2003/01/geo/wgs84_pos#",
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
}
SHAPES = "https://w3id.org/digiregion/shapes#"
XSD = PREFIXES["xsd"]
EXAMPLE = "https://example.org/digiregion-generiert/"

MUNICIPALITY_TYPES = {"60": "dr:TypeMarkt", "61": "dr:TypeKreisfreieStadt", "62": "dr:TypeStadtkreis",
                      "63": "dr:TypeStadt", "64": "dr:TypeKreisangehoerigeGemeinde", "67": "dr:TypeGrosseKreisstadt"}
STATUSES = ("dr:StatusPlanned", "dr:StatusRunning", "dr:StatusCompleted", "dr:StatusLive")
FIELD_THEMES = ("Verwaltung", "Mobilität", "Gesellschaft und Soziales", "Energie und Umwelt",
                "Wirtschaft und Tourismus", "Gesundheit und Pflege", "Bildung und Lernen", "Städtebau")
FIELD_THEMES_EN = ("Administration", "Mobility", "Society and social affairs", "Energy and environment",
                   "Economy and tourism", "Health and care", "Education and learning", "Urban development")
QUALIFIERS = ("ca.", "bis zu", "über", "mehr als")
SRC_GV100 = "<quelle/destatis-gv100ad-2023>"
SRC_GVISYS = "<quelle/destatis-gvisys-2020q4>"
SRC_VG5000 = "<quelle/bkg-vg5000-2021>"
SRC_WIKIDATA = "<quelle/wikidata>"
NOT_REAL = "Fiktiv, von benchmarks/generate.py für Last- und Vergleichstests erzeugt; keine reale Angabe."


# -- Turtle terms --------------------------------------------------------------------------------

def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")


def de(text: str) -> str:
    return f'"{_escape(text)}"@de'


def en(text: str) -> str:
    return f'"{_escape(text)}"@en'


def string(text: str) -> str:
    return f'"{_escape(text)}"'


def typed(lexical: str, datatype: str) -> str:
    return f'"{lexical}"^^xsd:{datatype}'


Props = dict[str, list[str]]
"""predicate (prefixed name) -> objects (Turtle terms); insertion order is the written order."""


@dataclass
class Resource:
    subject: str
    """A relative IRI in angle brackets, resolved against the file's ``@base``."""
    props: Props

    def render(self) -> tuple[str, int]:
        lines, count = [], 0
        for predicate, objects in self.props.items():
            if objects:
                lines.append(f"{predicate} {' , '.join(objects)}")
                count += len(objects)
        return f"{self.subject} " + " ;\n    ".join(lines) + " .\n\n", count


Bundle = list[Resource]
"""A resource and its dependent hash-IRI nodes: written together, into one file."""


# -- output files --------------------------------------------------------------------------------

@dataclass
class OutputFile:
    path: str
    triples: int = 0
    parts: list[str] = field(default_factory=list)


class Output:
    """Turtle files under one folder, each with the project's prefixes and ``@base``."""

    def __init__(self, root: Path, base_iri: str, chunk_triples: int) -> None:
        self.root = root
        self.chunk_triples = chunk_triples
        self.header = (f"# Generated by benchmarks/generate.py. {NOT_REAL}\n"
                       "# Territory: Destatis GV100AD 30.11.2023 / GV-ISys 2020 Q4, dl-de/by-2-0; "
                       "Kreis centroids © GeoBasis-DE / BKG 2021 (Daten verändert).\n\n"
                       f"@base <{base_iri}> .\n"
                       + "".join(f"@prefix {p}: <{iri}> .\n" for p, iri in PREFIXES.items()) + "\n")
        self.files: list[OutputFile] = []
        self._open: dict[str, OutputFile] = {}
        self._counters: dict[str, int] = {}
        self.triples = 0

    def add(self, series: str, bundle: Bundle, chunked: bool = True) -> str:
        """Append a bundle to the current file of ``series``; returns the file's relative path."""
        current = self._open.get(series)
        if current is None or (chunked and current.triples >= self.chunk_triples):
            if current is not None:
                self._flush(current)
            number = self._counters.get(series, 0) + 1
            self._counters[series] = number
            current = OutputFile(f"{series}-{number:04d}.ttl" if chunked else f"{series}.ttl")
            self._open[series] = current
            self.files.append(current)
        for resource in bundle:
            text, count = resource.render()
            current.parts.append(text)
            current.triples += count
            self.triples += count
        return current.path

    def _flush(self, output: OutputFile) -> None:
        path = self.root / output.path
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(self.header)
            fh.write("".join(output.parts))
        output.parts = []

    def close(self) -> None:
        for output in self._open.values():
            self._flush(output)
        self._open = {}


# -- territory (real data) -----------------------------------------------------------------------

@dataclass
class Municipality:
    ags: str
    ars: str
    name: str
    short: str
    type_code: str
    kreis: str
    area: str
    population: str
    postcode: str
    lat: str
    lon: str

    @property
    def iri(self) -> str:
        return f"<kommune/{self.ags}>"


@dataclass
class District:
    ags: str
    name: str
    short: str
    seat_name: str
    land_code: str
    land_name: str
    population: str
    area: str
    qid: str
    gnd: str
    lat: str
    lon: str
    municipalities: list[Municipality] = field(default_factory=list)

    @property
    def iri(self) -> str:
        return f"<kreis/{self.ags}>"


def read_reference(folder: Path = REFERENCE) -> list[District]:
    """All Kreise (in AGS order) with their political municipalities (gemeindefreie Gebiete left out)."""
    with open(folder / "de_kreise.csv", encoding="utf-8", newline="") as fh:
        districts = {row["kreis_ags"]: District(
            ags=row["kreis_ags"], name=row["name"], short=row["name_short"], seat_name=row["verwaltungssitz"],
            land_code=row["land_code"], land_name=row["land_name"], population=row["population_sum"],
            area=row["area_km2_sum"], qid=row["wikidata_qid"], gnd=row["gnd_from_wikidata"],
            lat=row["centroid_lat_vg5000_2021"], lon=row["centroid_lon_vg5000_2021"]) for row in csv.DictReader(fh)}
    with open(folder / "de_gemeinden.csv", encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            if row["is_municipality"] != "true" or row["kreis_ags"] not in districts:
                continue
            districts[row["kreis_ags"]].municipalities.append(Municipality(
                ags=row["ags"], ars=row["ars"], name=row["name"], short=row["name_short"],
                type_code=row["gemeindetyp_code"], kreis=row["kreis_ags"], area=row["area_km2"],
                population=row["population"], postcode=row["plz"], lat=row["lat"], lon=row["lon"]))
    return [districts[k] for k in sorted(districts)]


def _seat(district: District, by_land: dict[str, list[Municipality]]) -> Municipality | None:
    """The Verwaltungssitz, only where its name matches exactly one municipality (never guessed)."""
    same = [m for m in district.municipalities if m.short == district.seat_name]
    if len(same) == 1:
        return same[0]
    if not same:
        in_land = [m for m in by_land.get(district.land_code, []) if m.short == district.seat_name]
        if len(in_land) == 1:
            return in_land[0]
    return None


def _figure(owner: str, kind: str, value: str, label: str, source: str, note: str | None = None) -> Resource:
    population = kind == "einwohner"
    date = "2022-12-31" if population else "2023-11-30"
    props: Props = {
        "a": ["dr:Figure"],
        "rdfs:label": [de(label)],
        "schema:value": [value if population else typed(value, "decimal")],
        "schema:unitCode": [string("C62" if population else "KMK")],
        "dr:referenceDate": [typed(date, "date")],
        "skos:note": [de(note)] if note else [],
        "dcterms:source": [source],
    }
    return Resource(f"<{owner[1:-1]}#{kind}-{date}>", props)


def municipality_bundle(m: Municipality, district: District) -> Bundle:
    has_point = bool(m.lat and m.lon)
    population = _figure(m.iri, "einwohner", m.population, f"Einwohner {m.short}, 31.12.2022", SRC_GV100)
    area = _figure(m.iri, "flaeche", m.area, f"Fläche {m.short}, Gebietsstand 30.11.2023", SRC_GV100)
    props: Props = {
        "a": ["dr:Municipality"],
        "skos:prefLabel": [de(m.short)],
        "rdfs:label": [de(m.short)],
        "schema:legalName": [string(m.name)],
        "dr:ags": [string(m.ags)],
        "dr:ars": [string(m.ars)],
        "dr:municipalityType": [MUNICIPALITY_TYPES[m.type_code]],
        "dr:district": [district.iri],
        "dr:population": [population.subject],
        "dr:area": [area.subject],
        "wgs:lat": [typed(m.lat, "decimal")] if has_point else [],
        "wgs:long": [typed(m.lon, "decimal")] if has_point else [],
        "schema:postalCode": [string(m.postcode)],
        "dcterms:source": [SRC_GV100, SRC_GVISYS] if has_point else [SRC_GV100],
    }
    return [Resource(m.iri, props), population, area]


def district_bundle(d: District, seat: Municipality | None) -> Bundle:
    summed = "Summe der Gemeinden in derselben Quelle (berechnet, keine eigene amtliche Kreisangabe)."
    population = _figure(d.iri, "einwohner", d.population, f"Einwohner {d.short}, 31.12.2022", SRC_GV100, summed)
    area = _figure(d.iri, "flaeche", d.area, f"Fläche {d.short}, Gebietsstand 30.11.2023", SRC_GV100, summed)
    props: Props = {
        "a": ["dr:District"],
        "skos:prefLabel": [de(d.short)],
        "rdfs:label": [de(d.short)],
        "schema:legalName": [string(d.name)],
        "dr:ags": [string(d.ags)],
        "dr:ars": [string(d.ags)],
        "dr:seat": [seat.iri] if seat else [],
        "dr:population": [population.subject],
        "dr:area": [area.subject],
        "wgs:lat": [typed(d.lat, "decimal")],
        "wgs:long": [typed(d.lon, "decimal")],
        "dr:gnd": [string(d.gnd)] if d.gnd else [],
        "skos:exactMatch": ([f"<http://www.wikidata.org/entity/{d.qid}>"] if d.qid else [])
        + ([f"<https://d-nb.info/gnd/{d.gnd}>"] if d.gnd else []),
        "skos:note": [de("Mittelpunkt: Schwerpunkt der VG5000-Fläche (berechnet).")],
        "dcterms:source": [SRC_GV100, SRC_VG5000] + ([SRC_WIKIDATA] if d.qid else []),
    }
    return [Resource(d.iri, props), population, area]


def official_sources() -> list[Bundle]:
    def source(slug: str, url: str, title: str, publisher: str, issued: str, note: str) -> Bundle:
        return [Resource(f"<quelle/{slug}>", {
            "a": ["dr:Source"], "schema:url": [f"<{url}>"], "dcterms:title": [de(title)], "rdfs:label": [de(title)],
            "dcterms:publisher": [string(publisher)], "dcterms:issued": [issued], "skos:note": [de(note)]})]

    destatis = "https://www.destatis.de/DE/Themen/Laender-Regionen/Regionales/Gemeindeverzeichnis/_inhalt.html"
    return [
        source("destatis-gv100ad-2023", destatis,
               "Gemeindeverzeichnis GV100AD, Gebietsstand 30.11.2023 (Bevölkerung 31.12.2022)",
               "Statistisches Bundesamt (Destatis)", typed("2023-11-30", "date"),
               "Lizenz: Datenlizenz Deutschland – Namensnennung – Version 2.0 (dl-de/by-2-0). Quelle: Statistisches "
               "Bundesamt (Destatis), Gemeindeverzeichnis GV100AD, Gebietsstand 30.11.2023; eigene Aufbereitung."),
        source("destatis-gvisys-2020q4", destatis + "#gvisys",
               "GV-ISys: Alle politisch selbständigen Gemeinden mit ausgewählten Merkmalen, 4. Quartal 2020 "
               "(Mittelpunktkoordinaten)", "Statistisches Bundesamt (Destatis)", typed("2020", "gYear"),
               "Lizenz: dl-de/by-2-0. Mittelpunktkoordinaten: Destatis GV-ISys, Stand 4. Quartal 2020."),
        source("bkg-vg5000-2021", "https://gdz.bkg.bund.de/index.php/default/open-data.html",
               "Verwaltungsgebiete 1:5 000 000 (VG5000), Stand 01.01.2021; © GeoBasis-DE / BKG 2021 (Daten verändert)",
               "Bundesamt für Kartographie und Geodäsie (BKG)", typed("2021-01-01", "date"),
               "Lizenz: dl-de/by-2-0. Kreis-Mittelpunkte sind daraus berechnete Flächenschwerpunkte."),
        source("wikidata", "https://www.wikidata.org/", "Wikidata", "Wikimedia Foundation", typed("2025", "gYear"),
               "Wikidata-Kennungen und GND-Nummern der Kreise; Wikidata-Inhalte stehen unter CC0 1.0."),
    ]


# -- generated (fictitious) resources ----------------------------------------------------------

def _n(number: int, width: int = 6) -> str:
    return f"{number:0{width}d}"


def _date(rng: random.Random, first_year: int = 2015, last_year: int = 2025) -> tuple[int, str]:
    year = rng.randint(first_year, last_year)
    return year, f"{year}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"


def source_bundle(number: int, rng: random.Random) -> Bundle:
    title = f"Generierte Quelle {_n(number)}"
    _, issued = _date(rng)
    return [Resource(f"<quelle/generiert-{_n(number)}>", {
        "a": ["dr:Source"],
        "schema:url": [f"<{EXAMPLE}quelle/{_n(number)}>"],
        "dcterms:title": [de(title)],
        "rdfs:label": [de(title)],
        "dcterms:publisher": [string(f"Generierter Herausgeber {rng.randint(1, 500):03d}")],
        "dcterms:issued": [typed(issued, "date")],
    })]


@dataclass
class Pools:
    """Everything projects link to, as Turtle IRIs."""

    districts: list[District]
    local: dict[str, list[Municipality]]
    """The generated municipalities of each Kreis (all, or a part in the last Kreis of a small selection)."""
    sources: list[str] = field(default_factory=list)
    organisations: list[str] = field(default_factory=list)
    programmes: list[str] = field(default_factory=list)
    schemes: list[list[str]] = field(default_factory=list)
    """The field IRIs of each strategy-field scheme."""
    strategies: list[str] = field(default_factory=list)

    def source(self, rng: random.Random) -> str:
        return self.sources[rng.randrange(len(self.sources))]

    def organisation(self, rng: random.Random) -> str:
        return self.organisations[rng.randrange(len(self.organisations))]


def organisation_bundle(number: int, rng: random.Random, pools: Pools) -> Bundle:
    name = f"Generierte Organisation {_n(number)}"
    unit = number > 1 and rng.random() < 0.2
    props: Props = {
        "a": ["dr:OrganisationalUnit" if unit else "dr:Organisation"],
        "skos:prefLabel": [de(name)],
        "rdfs:label": [de(name)],
        "org:unitOf": [pools.organisation(rng)] if unit else [],
        "foaf:homepage": [f"<{EXAMPLE}organisation/{_n(number)}>"],
        "dcterms:source": [pools.source(rng)],
    }
    return [Resource(f"<organisation/generiert-{_n(number)}>", props)]


def programme_bundle(number: int, rng: random.Random, pools: Pools) -> Bundle:
    name = f"Generiertes Förderprogramm {_n(number, 4)}"
    return [Resource(f"<foerderprogramm/generiert-{_n(number, 4)}>", {
        "a": ["dr:FundingProgramme"],
        "skos:prefLabel": [de(name)],
        "rdfs:label": [de(name)],
        "dcterms:description": [de(NOT_REAL)],
        "dr:funder": [pools.organisation(rng)],
        "foaf:homepage": [f"<{EXAMPLE}foerderprogramm/{_n(number, 4)}>"],
        "dcterms:source": [pools.source(rng)],
    })]


def strategy_bundle(number: int, rng: random.Random, pools: Pools) -> tuple[Bundle, list[str]]:
    key = _n(number, 4)
    title = f"Generierte Strategie {key}"
    scheme = f"<strategiefelder/generiert-{key}>"
    source = pools.source(rng)
    fields = [f"<strategiefeld/generiert-{key}-{i + 1:02d}>" for i in range(len(FIELD_THEMES))]
    publisher = pools.districts[rng.randrange(len(pools.districts))].iri
    bundle = [
        Resource(f"<strategie/generiert-{key}>", {
            "a": ["dr:Strategy"], "dcterms:title": [de(title)], "skos:prefLabel": [de(title)],
            "rdfs:label": [de(title)], "dcterms:description": [de(NOT_REAL)],
            "dr:strategyFieldScheme": [scheme], "dr:publisher": [publisher], "dcterms:source": [source]}),
        Resource(scheme, {
            "a": ["skos:ConceptScheme"], "skos:prefLabel": [de(f"Strategiefelder der {title}")],
            "rdfs:label": [de(f"Strategiefelder der {title}")], "skos:hasTopConcept": fields,
            "dcterms:source": [source]}),
    ]
    for i, (iri, theme, theme_en) in enumerate(zip(fields, FIELD_THEMES, FIELD_THEMES_EN, strict=True)):
        label = f"{theme} (generiertes Strategiefeld {key}-{i + 1:02d})"
        bundle.append(Resource(iri, {
            "a": ["dr:StrategyField"], "skos:prefLabel": [de(label), en(f"{theme_en} (generated field {key})")],
            "rdfs:label": [de(label)], "skos:notation": [string(str(i + 1))], "skos:inScheme": [scheme],
            "skos:topConceptOf": [scheme], "skos:definition": [de(f"Fiktives Strategiefeld „{theme}“. {NOT_REAL}")],
            "dcterms:source": [source]}))
    return bundle, fields


def cooperation_bundle(number: int, rng: random.Random, pools: Pools) -> Bundle:
    key = _n(number, 4)
    iri = f"<kooperation/generiert-{key}>"
    district = pools.districts[rng.randrange(len(pools.districts))]
    members = pools.local[district.ags][:]
    rng.shuffle(members)
    members = members[:rng.randint(2, 8)]
    memberships = [Resource(f"<kooperation/generiert-{key}#mitglied-{m.ags}>", {
        "a": ["org:Membership"], "org:member": [m.iri], "org:organization": [iri],
        "dcterms:source": [pools.source(rng)]}) for m in members]
    name = f"Generierte Kooperation {key}"
    return [Resource(iri, {
        "a": ["dr:Cooperation"], "skos:prefLabel": [de(name)], "rdfs:label": [de(name)],
        "dcterms:description": [de(NOT_REAL)], "dr:memberCount": [str(len(members))],
        "org:hasMembership": [m.subject for m in memberships], "dr:initiatedBy": [district.iri],
        "dcterms:source": [pools.source(rng)]}), *memberships]


MAX_PROJECT_TRIPLES = 80
"""Upper bound of one project bundle (project, ≤2 fundings, ≤2 claims); checked while generating."""


def project_bundle(number: int, rng: random.Random, pools: Pools) -> Bundle:
    key = _n(number)
    iri = f"<projekt/generiert-{key}>"
    title = f"Generiertes Projekt {key}"
    district = pools.districts[rng.randrange(len(pools.districts))]
    local = pools.local[district.ags]
    participants = list(dict.fromkeys(local[rng.randrange(len(local))].iri for _ in range(rng.randint(1, 3))))
    partners = list(dict.fromkeys(pools.organisation(rng) for _ in range(rng.randint(0, 2))))
    fields = pools.schemes[rng.randrange(len(pools.schemes))]
    chosen_fields = rng.sample(fields, rng.randint(1, 3))
    funder = pools.organisation(rng)
    programme = pools.programmes[rng.randrange(len(pools.programmes))]
    status = STATUSES[rng.randrange(len(STATUSES))]
    start_year, start = _date(rng, 2015, 2024)
    sources = list(dict.fromkeys(pools.source(rng) for _ in range(rng.randint(1, 2))))

    fundings = []
    for i in range(rng.randint(1, 2)):
        source = pools.source(rng)
        amount = f"{rng.randint(5, 5000) * 1000}.00"
        label = f"{title}: Förderung {i + 1}"
        fundings.append(Resource(f"<projekt/generiert-{key}#foerderung-{i + 1}>", {
            "a": ["dr:Funding"], "skos:prefLabel": [de(label)], "rdfs:label": [de(label)],
            "dr:amount": [typed(amount, "decimal")], "schema:currency": [string("EUR")],
            "dr:amountQualifier": [string(QUALIFIERS[rng.randrange(len(QUALIFIERS))])] if rng.random() < 0.3 else [],
            "dr:funder": [funder], "dr:fundingProgramme": [programme], "dcterms:source": [source]}))
    claims = [Resource(f"<projekt/generiert-{key}#beginn-{start_year - 1}>", {
        "a": ["dr:Claim"], "dr:claimedProperty": ["schema:startDate"],
        "rdf:value": [typed(str(start_year - 1), "gYear")], "dr:confidence": ["dr:HighConfidence"],
        "dcterms:source": [pools.source(rng)]})]
    if rng.random() < 0.5:
        claims.append(Resource(f"<projekt/generiert-{key}#strategiefeld>", {
            "a": ["dr:Claim"], "dr:claimedProperty": ["dr:strategyField"], "rdf:value": [chosen_fields[0]],
            "dr:confidence": ["dr:MediumConfidence"],
            "skos:note": [de("Zuordnung abgeleitet; gilt nur im Wortlaut der Quelle.")],
            "dcterms:source": [sources[0]]}))
    completed = status == "dr:StatusCompleted"
    project = Resource(iri, {
        "a": ["dr:Project"],
        "dcterms:title": [de(title)],
        "skos:prefLabel": [de(title)],
        "rdfs:label": [de(title)],
        "dcterms:description": [de(NOT_REAL)],
        "dr:strategyField": chosen_fields,
        "dr:participant": participants + partners,
        "dr:lead": [participants[0]],
        "dr:partner": partners,
        "dr:funder": [funder],
        "dr:fundingProgramme": [programme],
        "dr:funding": [f.subject for f in fundings],
        "dr:status": [status],
        "schema:startDate": [typed(start, "date")],
        "schema:endDate": [typed(str(min(start_year + rng.randint(1, 4), 2025)), "gYear")] if completed else [],
        "dcterms:spatial": [district.iri if len(participants) > 1 else participants[0]],
        "dr:partOf": [pools.strategies[rng.randrange(len(pools.strategies))]] if rng.random() < 0.25 else [],
        "dr:claim": [c.subject for c in claims],
        "dcterms:source": sources,
    })
    return [project, *fundings, *claims]


# -- injected violations -----------------------------------------------------------------------

@dataclass
class Context:
    base_iri: str

    def iri(self, term: str) -> str:
        """A Turtle IRI term (``<rel>`` or ``prefix:local``) as an absolute IRI."""
        if term.startswith("<"):
            inner = term[1:-1]
            return inner if "://" in inner else self.base_iri + inner
        prefix, _, local = term.partition(":")
        return PREFIXES[prefix] + local


def _finding(focus: str, path: str, value: str | None, component: str, shape: str, code: str | None = None) -> dict:
    """One expected finding, in the form of ``Finding.identity()`` of the digiregion validator."""
    return {"severity": "violation", "code": code or f"shacl:{component}ConstraintComponent", "focus": focus,
            "path": path, "value": value, "shape": SHAPES + shape if shape else None}


def _rendered(lexical: str, datatype: str | None = None) -> str:
    return f'"{lexical}"' + (f"^^<{XSD}{datatype}>" if datatype else "")


Mutation = Callable[[Bundle, Context], list[dict]]


@dataclass(frozen=True)
class ViolationKind:
    name: str
    target: str
    """``municipality`` (with a centre point), ``organisation`` or ``project``."""
    description: str
    apply: Mutation


def _ags_pattern(bundle: Bundle, ctx: Context) -> list[dict]:
    m = bundle[0]
    bad = m.props["dr:ags"][0][1:-2]  # 7 digits instead of 8
    m.props["dr:ags"] = [string(bad)]
    return [_finding(ctx.iri(m.subject), PREFIXES["dr"] + "ags", _rendered(bad), "Pattern", "Municipality-ags")]


def _district_missing(bundle: Bundle, ctx: Context) -> list[dict]:
    m = bundle[0]
    m.props["dr:district"] = []
    return [_finding(ctx.iri(m.subject), PREFIXES["dr"] + "district", None, "MinCount", "Municipality-district")]


def _latitude_range(bundle: Bundle, ctx: Context) -> list[dict]:
    m = bundle[0]
    m.props["wgs:lat"] = [typed("60.5", "decimal")]
    return [_finding(ctx.iri(m.subject), PREFIXES["wgs"] + "lat", _rendered("60.5", "decimal"), "MaxInclusive",
                     "LocalAuthority-lat")]


def _postcode_pattern(bundle: Bundle, ctx: Context) -> list[dict]:
    m = bundle[0]
    bad = m.props["schema:postalCode"][0][1:-2]  # 4 digits
    m.props["schema:postalCode"] = [string(bad)]
    return [_finding(ctx.iri(m.subject), PREFIXES["schema"] + "postalCode", _rendered(bad), "Pattern",
                     "LocalAuthority-postalCode")]


def _figure_source_missing(bundle: Bundle, ctx: Context) -> list[dict]:
    figure = bundle[1]
    figure.props["dcterms:source"] = []
    return [_finding(ctx.iri(figure.subject), PREFIXES["dcterms"] + "source", None, "MinCount", "Figure-source")]


def _homepage_literal(bundle: Bundle, ctx: Context) -> list[dict]:
    o = bundle[0]
    url = o.props["foaf:homepage"][0][1:-1]
    o.props["foaf:homepage"] = [string(url)]
    focus, path = ctx.iri(o.subject), PREFIXES["foaf"] + "homepage"
    return [_finding(focus, path, _rendered(url), "NodeKind", "homepage"),
            _finding(focus, path, _rendered(url), "", "", code="literal-for-iri")]


def _label_without_language(bundle: Bundle, ctx: Context) -> list[dict]:
    o = bundle[0]
    name = o.props["skos:prefLabel"][0][1:-4]
    o.props["skos:prefLabel"] = [string(name)]
    return [_finding(ctx.iri(o.subject), PREFIXES["skos"] + "prefLabel", _rendered(name), "LanguageIn",
                     "Organisation-prefLabel")]


def _title_missing(bundle: Bundle, ctx: Context) -> list[dict]:
    p = bundle[0]
    p.props["dcterms:title"] = []
    return [_finding(ctx.iri(p.subject), PREFIXES["dcterms"] + "title", None, "MinCount", "Project-title")]


def _start_date_string(bundle: Bundle, ctx: Context) -> list[dict]:
    p = bundle[0]
    year = p.props["schema:startDate"][0][1:5]
    p.props["schema:startDate"] = [string(year)]
    return [_finding(ctx.iri(p.subject), PREFIXES["schema"] + "startDate", _rendered(year), "Or",
                     "Project-startDate")]


def _status_not_in_list(bundle: Bundle, ctx: Context) -> list[dict]:
    p = bundle[0]
    p.props["dr:status"] = ["dr:StatusUnknown"]
    return [_finding(ctx.iri(p.subject), PREFIXES["dr"] + "status", PREFIXES["dr"] + "StatusUnknown", "In",
                     "Project-status")]


def _strategy_field_wrong_class(bundle: Bundle, ctx: Context) -> list[dict]:
    p = bundle[0]
    wrong = p.props["dr:funder"][0]  # an organisation, not a dr:StrategyField
    p.props["dr:strategyField"] = [*p.props["dr:strategyField"], wrong]
    return [_finding(ctx.iri(p.subject), PREFIXES["dr"] + "strategyField", ctx.iri(wrong), "Class",
                     "Project-strategyField")]


def _amount_datatype(bundle: Bundle, ctx: Context) -> list[dict]:
    funding = next(r for r in bundle if "dr:amount" in r.props)
    whole = funding.props["dr:amount"][0][1:].split(".")[0]
    funding.props["dr:amount"] = [typed(whole, "integer")]
    return [_finding(ctx.iri(funding.subject), PREFIXES["dr"] + "amount", _rendered(whole, "integer"), "Datatype",
                     "Funding-amount")]


def _currency_pattern(bundle: Bundle, ctx: Context) -> list[dict]:
    funding = next(r for r in bundle if "dr:amount" in r.props)
    funding.props["schema:currency"] = [string("Euro")]
    return [_finding(ctx.iri(funding.subject), PREFIXES["schema"] + "currency", _rendered("Euro"), "Pattern",
                     "Funding-currency")]


def _confidence_not_in_list(bundle: Bundle, ctx: Context) -> list[dict]:
    claim = next(r for r in bundle if "dr:confidence" in r.props)
    claim.props["dr:confidence"] = ["dr:LowConfidence"]
    return [_finding(ctx.iri(claim.subject), PREFIXES["dr"] + "confidence", PREFIXES["dr"] + "LowConfidence", "In",
                     "Claim-confidence")]


VIOLATION_KINDS: tuple[ViolationKind, ...] = (
    ViolationKind("ags-pattern", "municipality", "AGS with 7 instead of 8 digits", _ags_pattern),
    ViolationKind("project-title-missing", "project", "project without dcterms:title", _title_missing),
    ViolationKind("homepage-literal", "organisation", "foaf:homepage as a string literal instead of an IRI "
                  "(also reported by the cross-file check literal-for-iri)", _homepage_literal),
    ViolationKind("amount-datatype", "project", "funding amount as xsd:integer instead of xsd:decimal",
                  _amount_datatype),
    ViolationKind("start-date-string", "project", "project start as a plain string instead of a date",
                  _start_date_string),
    ViolationKind("status-not-in-list", "project", "project status outside the closed list", _status_not_in_list),
    ViolationKind("figure-source-missing", "municipality", "population figure without its source",
                  _figure_source_missing),
    ViolationKind("latitude-range", "municipality", "latitude 60.5 outside Germany (47–56)", _latitude_range),
    ViolationKind("currency-pattern", "project", "currency 'Euro' instead of the ISO code 'EUR'", _currency_pattern),
    ViolationKind("label-without-language", "organisation", "organisation name without language tag",
                  _label_without_language),
    ViolationKind("strategy-field-wrong-class", "project", "dr:strategyField pointing to an organisation",
                  _strategy_field_wrong_class),
    ViolationKind("confidence-not-in-list", "project", "claim confidence outside the closed list",
                  _confidence_not_in_list),
    ViolationKind("municipality-district-missing", "municipality", "municipality without its Kreis (dr:district)",
                  _district_missing),
    ViolationKind("postcode-pattern", "municipality", "postcode with 4 digits", _postcode_pattern),
)


def plan_violations(count: int, target: str, available: int, seed: int) -> dict[int, ViolationKind]:
    """Violation i gets kind i mod 14; each one gets its own resource (index) of the kind's target type."""
    wanted = [VIOLATION_KINDS[i % len(VIOLATION_KINDS)] for i in range(count)]
    wanted = [k for k in wanted if k.target == target]
    if len(wanted) > available:
        raise ValueError(f"--violations {count} needs {len(wanted)} {target} resources, the data has only "
                         f"{available}; ask for more triples or fewer violations")
    chosen = sorted(random.Random(f"{seed}-violations-{target}").sample(range(available), len(wanted)))
    return dict(zip(chosen, wanted, strict=True))


# -- the whole data set --------------------------------------------------------------------------

def _select_territory(districts: list[District], budget: float, rng: random.Random
                      ) -> list[tuple[District, list[Municipality]]]:
    """Whole Kreise in a seeded order until the budget, the last one possibly in part (≥ 1 municipality)."""
    per_municipality, per_district = 27, 32  # triples, close enough for the budget
    order = districts[:]
    rng.shuffle(order)
    selected, used = [], 0
    for district in order:
        if selected and used + per_district + per_municipality > budget:
            break
        used += per_district
        chosen = []
        for m in district.municipalities:
            if (selected or chosen) and used + per_municipality > budget:
                break
            chosen.append(m)
            used += per_municipality
        selected.append((district, chosen))
        if len(chosen) < len(district.municipalities):
            break
    return sorted(selected, key=lambda item: item[0].ags)


def _land_file(district: District) -> str:
    slug = district.land_name.lower()
    for old, new in (("ä", "ae"), ("ö", "oe"), ("ü", "ue"), ("ß", "ss"), (" ", "-")):
        slug = slug.replace(old, new)
    return f"territorium/{district.land_code}-{slug}"


def _prepare_out(out: Path, force: bool) -> None:
    """Remove an earlier generation (files listed in its manifest); refuse to mix with foreign files."""
    manifest = out / MANIFEST
    if manifest.exists():
        previous = json.loads(manifest.read_text(encoding="utf-8"))
        for entry in previous.get("files", []):
            (out / entry["path"]).unlink(missing_ok=True)
        manifest.unlink()
        for folder in sorted((p for p in out.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts)):
            if not any(folder.iterdir()):
                folder.rmdir()
    if out.exists() and any(out.iterdir()):
        if not force:
            raise FileExistsError(f"{out} is not empty and holds no earlier generation; use --force or another --out")
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)


def generate(triples: int, out: Path, base_iri: str = DEFAULT_BASE_IRI, seed: int = DEFAULT_SEED,
             violations: int = 0, chunk_triples: int = CHUNK_TRIPLES, force: bool = False,
             reference: Path = REFERENCE) -> dict:
    """Write about ``triples`` triples of Turtle under ``out``; return (and write) the manifest."""
    if triples < 1000:
        raise ValueError("--triples must be at least 1000")
    if not base_iri.endswith(("/", "#")):
        raise ValueError("--base-iri must end with / or #")
    started = time.perf_counter()
    out = Path(out)
    _prepare_out(out, force)
    ctx = Context(base_iri)
    output = Output(out, base_iri, chunk_triples)
    expected: list[dict] = []

    def add(series: str, bundle: Bundle, chunked: bool = True, kind: ViolationKind | None = None) -> None:
        findings = kind.apply(bundle, ctx) if kind else []
        path = output.add(series, bundle, chunked)
        if kind:
            expected.append({"kind": kind.name, "description": kind.description, "file": path,
                             "focus": ctx.iri(bundle[0].subject), "findings": findings})

    # territory and the official sources
    districts = read_reference(reference)
    selection = _select_territory(districts, TERRITORY_SHARE * triples, random.Random(f"{seed}-territory"))
    municipalities = [m for _, ms in selection for m in ms]
    pools = Pools(districts=[d for d, ms in selection if ms], local={d.ags: ms for d, ms in selection})
    with_point = {m.ags: i for i, m in enumerate(m for m in municipalities if m.lat and m.lon)}
    planned = plan_violations(violations, "municipality", len(with_point), seed)
    for bundle in official_sources():
        add("quellen/amtlich", bundle, chunked=False)
    by_land: dict[str, list[Municipality]] = {}  # all of Germany, so a seat name is unique or not, whatever the size
    for m in (m for d in districts for m in d.municipalities):
        by_land.setdefault(m.kreis[:2], []).append(m)
    included = {m.ags for m in municipalities}
    for district, chosen in selection:
        seat = _seat(district, by_land)
        add(_land_file(district), district_bundle(district, seat if seat and seat.ags in included else None),
            chunked=False)
        for m in chosen:
            add(_land_file(district), municipality_bundle(m, district), chunked=False,
                kind=planned.get(with_point.get(m.ags, -1)))
    territory = output.triples

    # pools: sources, organisations, funding programmes, strategies, cooperations
    rng = random.Random(seed)
    projects_estimate = max(20, (triples - territory) // 48)
    counts = {"sources": max(10, projects_estimate // 2), "organisations": max(10, projects_estimate // 4),
              "programmes": max(3, projects_estimate // 100), "strategies": max(1, projects_estimate // 400),
              "cooperations": max(1, projects_estimate // 200)}
    for i in range(1, counts["sources"] + 1):
        add("quellen/generiert", source_bundle(i, rng))
        pools.sources.append(f"<quelle/generiert-{_n(i)}>")
    planned = plan_violations(violations, "organisation", counts["organisations"], seed)
    for i in range(counts["organisations"]):
        bundle = organisation_bundle(i + 1, rng, pools)
        add("organisationen/generiert", bundle, kind=planned.get(i))
        pools.organisations.append(bundle[0].subject)
    for i in range(1, counts["programmes"] + 1):
        bundle = programme_bundle(i, rng, pools)
        add("foerderprogramme", bundle, chunked=False)
        pools.programmes.append(bundle[0].subject)
    for i in range(1, counts["strategies"] + 1):
        bundle, fields = strategy_bundle(i, rng, pools)
        add("strategien", bundle, chunked=False)
        pools.strategies.append(bundle[0].subject)
        pools.schemes.append(fields)
    for i in range(1, counts["cooperations"] + 1):
        add("kooperationen", cooperation_bundle(i, rng, pools), chunked=False)

    # projects until the requested size is reached
    planned = plan_violations(violations, "project", max(0, triples - output.triples) // MAX_PROJECT_TRIPLES, seed)
    number = 0
    while output.triples < triples or number < 1:
        bundle = project_bundle(number + 1, rng, pools)
        before = output.triples
        add("projekte/projekte", bundle, kind=planned.get(number))
        number += 1
        if output.triples - before > MAX_PROJECT_TRIPLES:
            raise AssertionError("a project bundle exceeded MAX_PROJECT_TRIPLES")
    output.close()

    manifest = {
        "generator": "benchmarks/generate.py",
        "formatVersion": FORMAT_VERSION,
        "requestedTriples": triples,
        "triples": output.triples,
        "seed": seed,
        "baseIri": base_iri,
        "violationsRequested": violations,
        "counts": {"districts": len(selection), "municipalities": len(municipalities), "territoryTriples": territory,
                   **counts, "projects": number},
        "files": [{"path": f.path, "triples": f.triples} for f in output.files],
        "violations": expected,
        "attribution": "Territory: Statistisches Bundesamt (Destatis), Gemeindeverzeichnis GV100AD, Gebietsstand "
                       "30.11.2023; Mittelpunktkoordinaten: Destatis GV-ISys, Stand 4. Quartal 2020; Kreis centroids "
                       "© GeoBasis-DE / BKG 2021 (Daten verändert); dl-de/by-2-0. Everything else is fictitious.",
    }
    (out / MANIFEST).write_text(json.dumps(manifest, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return {**manifest, "seconds": round(time.perf_counter() - started, 2)}


def _size(text: str) -> int:
    value = float(text.replace("_", "")) if any(c in text.lower() for c in "e.") else int(text.replace("_", ""))
    return int(value)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--triples", type=_size, default=100_000, help="about how many triples (10^4 … 10^7; 1e6 "
                        "and 1_000_000 are accepted); default 100000")
    parser.add_argument("--out", type=Path, help="output folder (default benchmarks/generated/<triples>/)")
    parser.add_argument("--base-iri", default=DEFAULT_BASE_IRI, help=f"dataset base IRI (default {DEFAULT_BASE_IRI})")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help=f"random seed (default {DEFAULT_SEED})")
    parser.add_argument("--violations", type=int, default=0, metavar="K",
                        help="inject K known shape violations, listed in manifest.json (default 0)")
    parser.add_argument("--chunk-triples", type=int, default=CHUNK_TRIPLES,
                        help=f"triples per generated file (default {CHUNK_TRIPLES})")
    parser.add_argument("--force", action="store_true", help="empty a non-empty output folder first")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    out = args.out or HERE / "generated" / str(args.triples)
    try:
        manifest = generate(args.triples, out, base_iri=args.base_iri, seed=args.seed, violations=args.violations,
                            chunk_triples=args.chunk_triples, force=args.force)
    except (ValueError, FileExistsError, OSError) as exc:
        print(f"generate.py: error: {exc}", file=sys.stderr)
        return 2
    if not args.quiet:
        counts = manifest["counts"]
        print(f"{manifest['triples']} triples in {len(manifest['files'])} files under {out} "
              f"({counts['municipalities']} municipalities, {counts['districts']} Kreise, {counts['projects']} projects, "
              f"{len(manifest['violations'])} violations) in {manifest['seconds']} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
