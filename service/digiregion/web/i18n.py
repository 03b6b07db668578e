"""Texts of the HTML pages, German first, English on request (``?lang=en``)."""

from __future__ import annotations

TEXTS: dict[str, dict[str, str]] = {
    "de": {
        "home": "Startseite", "sparql": "SPARQL-Abfrage", "catalog": "Datenkatalog (DCAT)", "void": "VoID",
        "dumps": "Downloads", "ontology": "Ontologie", "shapes": "Shapes", "types": "Typen",
        "properties": "Eigenschaften", "incoming": "Verweise auf diese Ressource", "formats": "Formate",
        "source": "Quelle", "licence": "Lizenz", "data_source": "Daten und Lizenz",
        "not_found": "Nicht gefunden", "not_found_text": "Zu dieser Adresse gibt es im Datensatz keine Beschreibung.",
        "try": "Vielleicht hilft die Startseite, die SPARQL-Abfrage oder der Datenkatalog weiter.",
        "query": "Abfrage", "run": "Ausführen", "result_format": "Ergebnisformat", "error": "Fehler",
        "start_here": "Einstieg", "triples": "Tripel", "entities": "Entitäten", "classes": "Klassen", "last_modified": "Stand der Daten",
        "file": "Datei", "size": "Größe", "checksum": "SHA-256", "language": "English",
        "iri": "IRI", "truncated": "Liste gekürzt", "more": "weitere", "example_queries": "Beispiele",
        "published_files": "Veröffentlichte Dateien", "endpoint": "SPARQL-Endpunkt",
        "intro": "Offener Wissensgraph: jede Ressource ist als Webseite und in RDF-Formaten abrufbar, "
                 "alles ist per SPARQL abfragbar und als Download verfügbar.",
    },
    "en": {
        "home": "Home", "sparql": "SPARQL query", "catalog": "Data catalogue (DCAT)", "void": "VoID",
        "dumps": "Downloads", "ontology": "Ontology", "shapes": "Shapes", "types": "Types",
        "properties": "Properties", "incoming": "Links to this resource", "formats": "Formats",
        "source": "Source", "licence": "Licence", "data_source": "Data and licence",
        "not_found": "Not found", "not_found_text": "The dataset has no description for this address.",
        "try": "The home page, the SPARQL query page or the data catalogue may help.",
        "query": "Query", "run": "Run", "result_format": "Result format", "error": "Error",
        "start_here": "Start here", "triples": "Triples", "entities": "Entities", "classes": "Classes", "last_modified": "Data as of",
        "file": "File", "size": "Size", "checksum": "SHA-256", "language": "Deutsch",
        "iri": "IRI", "truncated": "list truncated", "more": "more", "example_queries": "Examples",
        "published_files": "Published files", "endpoint": "SPARQL endpoint",
        "intro": "Open knowledge graph: every resource is available as a web page and in RDF formats, "
                 "everything can be queried with SPARQL and downloaded.",
    },
}
LANGUAGES = tuple(TEXTS)


def texts(lang: str) -> dict[str, str]:
    return TEXTS.get(lang, TEXTS["de"])


def negotiate_language(explicit: str | None, accept_language: str | None = None, default: str = "de") -> str:
    """German first: English only on explicit request (``?lang=en``, the switch in the page header).

    The browser's Accept-Language is deliberately not followed: most browsers send English by default,
    and the pages of a German open-data publisher should not switch language behind the user's back.
    """
    if explicit in LANGUAGES:
        return explicit
    return default if default in LANGUAGES else "de"
