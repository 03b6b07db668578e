"""Generate data/lippe/quellen.ttl: one dr:Source per web page cited in the reference fact tables.

Why a script: the fact tables in ``shared/reference`` cite ~90 pages; writing their source nodes by
hand invites typos in URLs and dates. The generated file is committed and reviewed like any other
data file; rerun this script only when the reference tables change.

Usage: python scripts/build_sources.py ../shared/reference > data/lippe/quellen.ttl
"""

from __future__ import annotations

import csv
import re
import sys
import unicodedata
from pathlib import Path
from urllib.parse import urlsplit

UMLAUTS = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue", "ß": "ss"})
STOP = {"der", "die", "das", "und", "fuer", "im", "in", "des", "den", "dem", "von", "zur", "zum", "mit",
        "auf", "ein", "eine", "the", "of", "an", "a", "am", "bei", "wird", "werden", "ist", "sind"}


def slugify(text: str) -> str:
    text = unicodedata.normalize("NFKD", text.translate(UMLAUTS)).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def host_label(url: str) -> str:
    host = urlsplit(url).hostname or "quelle"
    parts = [p for p in host.split(".") if p not in {"www", "www-stage", "de", "com", "net", "org", "eu", "nrw", "jetzt", "m"}]
    return slugify(parts[-1] if parts else host)


def parse_date(raw: str) -> tuple[str | None, str | None, str | None]:
    """Return (literal, datatype, note): a typed date when the table gives one, else a note."""
    raw = (raw or "").strip()
    if m := re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})( \(last changed\))?", raw):
        return raw[:10], "xsd:date", ("zuletzt geändert" if m.group(4) else None)
    if re.fullmatch(r"\d{4}-\d{2}", raw):
        return raw, "xsd:gYearMonth", None
    if m := re.fullmatch(r"(\d{4}-\d{2}) \((.*)\)", raw):
        return m.group(1), "xsd:gYearMonth", m.group(2)
    if re.fullmatch(r"\d{4}", raw):
        return raw, "xsd:gYear", None
    if m := re.fullmatch(r"(\d{4}) \((.*)\)", raw):
        return m.group(1), "xsd:gYear", m.group(2)
    return None, None, raw or None


def turtle_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


# Sources of the territorial reference data (shared/reference/SOURCES.md), with fixed slugs that
# data/lippe/territorium.ttl refers to.
FIXED = [
    ("destatis-gv100ad-2023", "https://www.destatis.de/DE/Themen/Laender-Regionen/Regionales/Gemeindeverzeichnis/_inhalt.html",
     "Gemeindeverzeichnis GV100AD, Gebietsstand 30.11.2023 (Bevölkerung 31.12.2022)", "Statistisches Bundesamt (Destatis)",
     "2023-11-30", "xsd:date", "Lizenz: Datenlizenz Deutschland – Namensnennung – Version 2.0 (dl-de/by-2-0)"),
    ("destatis-gvisys-2020q4", "https://www.destatis.de/DE/Themen/Laender-Regionen/Regionales/Gemeindeverzeichnis/_inhalt.html#gvisys",
     "GV-ISys: Alle politisch selbständigen Gemeinden mit ausgewählten Merkmalen, 4. Quartal 2020 (Mittelpunktkoordinaten, Bevölkerung 31.12.2019)",
     "Statistisches Bundesamt (Destatis)", "2020", "xsd:gYear", "Lizenz: dl-de/by-2-0"),
    ("bkg-vg250-2013", "https://gdz.bkg.bund.de/index.php/default/open-data/verwaltungsgebiete-1-250-000-stand-01-01-vg250-01-01.html",
     "Verwaltungsgebiete 1:250 000 (VG250), vereinfacht; © GeoBasis-DE / BKG 2013 (Daten verändert)",
     "Bundesamt für Kartographie und Geodäsie (BKG)", "2013", "xsd:gYear", "Lizenz: dl-de/by-2-0"),
    ("lippelex-augustdorf", "https://lippelex.de/index.php?title=Augustdorf", "Augustdorf (LippeLex)", "lippelex.de",
     None, None, None),
    ("wikidata-q6230", "https://www.wikidata.org/wiki/Q6230", "Kreis Lippe (Q6230), Wikidata", "Wikidata",
     None, None, "Wikidata-Inhalte stehen unter CC0 1.0."),
]


def is_citable(url: str) -> bool:
    """Wikipedia and its copies are evidence only, never a published source (shared/README.md)."""
    return "wikipedia.org" not in (urlsplit(url).hostname or "")


def collect(reference: Path) -> dict[str, dict[str, str]]:
    sources: dict[str, dict[str, str]] = {}
    with open(reference / "facts" / "lippe-digital-facts.csv", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            sources.setdefault(row["source_url"], {"title": row["source_title"], "date": row["source_date"]})
    with open(reference / "lippe_org_facts.csv", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            sources.setdefault(row["source_url"], {"title": "", "date": ""})
    return {url: meta for url, meta in sources.items() if is_citable(url)}


def website_sources(reference: Path) -> list[tuple]:
    """The official websites are their own source for their address."""
    rows = []
    with open(reference / "lippe_gemeinden.csv", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            kind = "des Kreises" if row["level"] == "Kreis" else ("der Stadt" if row["typ"] == "Stadt" else "der Gemeinde")
            name = row["name_official"] if row["level"] == "Kreis" else row["name"]
            rows.append((f"website-{slugify(row['name'])}", f"https://{row['website']}/", f"Offizielle Website {kind} {name}",
                         row["website"], None, None, None))
    return rows


def main(reference: Path) -> None:
    sources = collect(reference)
    used: set[str] = set()
    out = [
        "# Generated by scripts/build_sources.py from shared/reference (facts tables). Do not edit by hand.",
        "@prefix dr: <https://w3id.org/digiregion/ontology#> .",
        "@base <https://w3id.org/digiregion/lippe/> .",
        "@prefix schema: <https://schema.org/> .",
        "@prefix dcterms: <http://purl.org/dc/terms/> .",
        "@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .",
        "@prefix skos: <http://www.w3.org/2004/02/skos/core#> .",
        "@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .",
        "",
    ]
    for slug, url, title, publisher, issued, datatype, note in FIXED + website_sources(reference):
        used.add(slug)
        lines = [f"<quelle/{slug}> a dr:Source ;", f"    schema:url <{url}> ;",
                 f"    dcterms:title {turtle_string(title)}@de ;", f"    rdfs:label {turtle_string(title)}@de ;",
                 f"    dcterms:publisher {turtle_string(publisher)} ;"]
        if issued:
            lines.append(f'    dcterms:issued "{issued}"^^{datatype} ;')
        if note:
            lines.append(f"    skos:note {turtle_string(note)}@de ;")
        lines[-1] = lines[-1][:-2] + " ."
        out.extend([*lines, ""])
    for url, meta in sorted(sources.items(), key=lambda kv: kv[0]):
        title = meta["title"].strip() or urlsplit(url).path.rstrip("/").split("/")[-1] or url
        title = title.strip("[]") if title.startswith("[") else title
        literal, datatype, note = parse_date(meta["date"])
        words = [w for w in slugify(title).split("-") if w and w not in STOP][:4]
        base = "-".join([host_label(url)] + ([literal[:4]] if literal else []) + words)
        slug, n = base, 2
        while slug in used:
            slug, n = f"{base}-{n}", n + 1
        used.add(slug)
        publisher = (urlsplit(url).hostname or "").removeprefix("www.")
        lines = [
            f"<quelle/{slug}> a dr:Source ;",
            f"    schema:url <{url}> ;",
            f"    dcterms:title {turtle_string(title)}@de ;",
            f"    rdfs:label {turtle_string(title)}@de ;",
            f"    dcterms:publisher {turtle_string(publisher)} ;",
        ]
        if literal:
            lines.append(f'    dcterms:issued "{literal}"^^{datatype} ;')
        if note:
            lines.append(f"    dr:dateNote {turtle_string(note)} ;")
        if meta["title"].startswith("["):
            lines.append('    skos:note "Titel von digiregion beschrieben, die Überschrift war nicht sichtbar."@de ;')
        lines[-1] = lines[-1][:-2] + " ."
        out.extend([*lines, ""])
    sys.stdout.write("\n".join(out))


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/reference"))
