"""The ``digiregion`` command: one sub-command per verb, each a thin wrapper over the application layer.

Commands parse arguments, build ``Settings`` and call one function; they print and exit, nothing
else. Bad usage exits with 2 (the validator's contract: 0 conforms, 1 violations, 2 bad input).
"""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from . import __version__
from .config import DEFAULT_BASE_IRI, ConfigError, load_settings

app = typer.Typer(
    name="digiregion",
    help="Digitale Region: Wissensgraph validieren und veröffentlichen / validate and publish the knowledge graph.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


class OutputFormat(StrEnum):
    text = "text"
    json = "json"
    github = "github"


class EngineName(StrEnum):
    fast = "fast"
    pyshacl = "pyshacl"


class Language(StrEnum):
    de = "de"
    en = "en"


def _version(value: bool) -> None:
    if value:
        typer.echo(f"digiregion {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Version ausgeben / show version")] = False,
) -> None:
    """digiregion."""


@app.command()
def validate(
    paths: Annotated[list[Path] | None, typer.Argument(
        help="Turtle-Dateien oder Ordner (Standard: die mitgelieferten Regionsdaten) / files or folders")] = None,
    output_format: Annotated[OutputFormat, typer.Option("--format", "-f", help="text | json | github")] = OutputFormat.text,
    lang: Annotated[Language, typer.Option("--lang", help="Sprache der Meldungen / message language")] = Language.de,
    context: Annotated[list[Path] | None, typer.Option(
        "--context", help="Weitere Daten als Kontext (Standard: die veröffentlichten Daten) / extra context data")] = None,
    shapes: Annotated[list[Path] | None, typer.Option("--shapes", help="SHACL-Shapes (Standard: mitgelieferte)")] = None,
    engine: Annotated[EngineName, typer.Option("--engine", help="fast (pyoxigraph) | pyshacl (Referenz)")] = EngineName.fast,
    base_iri: Annotated[str, typer.Option("--base-iri", help="Basis-IRI der Daten (für Verweisprüfungen)")] = DEFAULT_BASE_IRI,
    max_file_size: Annotated[int, typer.Option("--max-file-size", help="Größte Datei in MiB / largest file in MiB")] = 1024,
) -> None:
    """Validiert Turtle-Dateien gegen die SHACL-Shapes / validate Turtle files against the shapes.

    Exit 0: konform (Warnungen erlaubt) / conforms; 1: Verstöße / violations; 2: unlesbare Eingabe / bad input.
    """
    from .validation.runner import ValidationRequest, run_validation

    request = ValidationRequest(
        paths=tuple(paths or ()),
        context=tuple(context) if context is not None else None,
        shapes=tuple(shapes) if shapes else None,
        lang=lang.value,
        engine=engine.value,
        base_iri=base_iri,
        max_file_bytes=max_file_size * 2**20,
    )
    report = run_validation(request)
    from .validation.render import render

    sys.stdout.write(render(report, output_format.value, lang.value))
    raise typer.Exit(report.exit_code)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Adresse / bind address (127.0.0.1)")] = None,
    port: Annotated[int | None, typer.Option(help="Port (8000)")] = None,
    data: Annotated[list[Path] | None, typer.Option("--data", help="RDF-Dateien/Ordner statt der Lippe-Daten")] = None,
    base_iri: Annotated[str | None, typer.Option("--base-iri", help="uriSpace der Daten / dataset base IRI")] = None,
    store: Annotated[str | None, typer.Option("--store", help="embedded | URL eines SPARQL-Endpunkts")] = None,
    store_dir: Annotated[Path | None, typer.Option("--store-dir", help="Ordner des persistenten Stores")] = None,
    workers: Annotated[int | None, typer.Option("--workers", help="Abfrage-Prozesse / query worker processes")] = None,
    query_timeout: Annotated[float | None, typer.Option("--query-timeout", help="Sekunden / seconds")] = None,
    public_url: Annotated[str | None, typer.Option("--public-url", help="Öffentliche Basis-URL des Dienstes")] = None,
    allow_service: Annotated[list[str] | None, typer.Option(
        "--allow-service", help="Erlaubter SERVICE-Endpunkt (Föderation) / allow-listed SERVICE endpoint")] = None,
    config: Annotated[Path | None, typer.Option("--config", help="TOML-Konfigurationsdatei")] = None,
) -> None:
    """Veröffentlicht den Graphen über SPARQL 1.1 und Linked Data / serve SPARQL and Linked Data."""
    settings = _settings(config, host=host, port=port, data=tuple(data) if data else None, base_iri=base_iri,
                         store=store, store_dir=store_dir, workers=workers, query_timeout=query_timeout,
                         public_url=public_url,
                         allowed_service_endpoints=tuple(allow_service) if allow_service else None)
    from .web.server import run

    run(settings)


@app.command()
def export(
    directory: Annotated[Path, typer.Argument(help="Zielordner / target folder")],
    data: Annotated[list[Path] | None, typer.Option("--data", help="RDF-Dateien/Ordner statt der Lippe-Daten")] = None,
    config: Annotated[Path | None, typer.Option("--config", help="TOML-Konfigurationsdatei")] = None,
) -> None:
    """Schreibt die Dumps (Turtle, N-Triples, JSON-LD, gzip) offline / write the dumps offline."""
    settings = _settings(config, data=tuple(data) if data else None)
    from .dumps import export_dumps

    for dump in export_dumps(settings, directory):
        typer.echo(f"{dump.path}  {dump.size} bytes  sha256:{dump.sha256}")


@app.command()
def load(
    paths: Annotated[list[Path] | None, typer.Argument(
        help="RDF-Dateien/Ordner (Standard: Ontologie + Shapes + Lippe-Daten) / files or folders")] = None,
    store: Annotated[str | None, typer.Option("--store", help="URL des SPARQL-Endpunkts / SPARQL endpoint URL")] = None,
    graph: Annotated[str | None, typer.Option("--graph", help="Ziel-Graph (Standard: Basis-IRI) / target graph")] = None,
    force: Annotated[bool, typer.Option("--force", help="Trotz Verstößen laden / load despite violations")] = False,
    base_iri: Annotated[str | None, typer.Option("--base-iri", help="uriSpace der Daten / dataset base IRI")] = None,
    store_dir: Annotated[Path | None, typer.Option("--store-dir", help="Ordner des lokalen Zwischen-Stores")] = None,
    chunk_triples: Annotated[int, typer.Option("--chunk-triples", help="Tripel pro Anfrage / triples per request")]
    = 20_000,
    cleanup: Annotated[bool, typer.Option(
        "--cleanup", help="Vorher temporäre Graphen aller früheren Ladevorgänge löschen (jeder Ziel-Graph) / first "
                          "drop the temporary graphs of all earlier loads (any target graph)")] = False,
    bulk_dir: Annotated[Path | None, typer.Option(
        "--bulk-dir", help="Virtuoso: Dateien hier ablegen und vom Bulk-Loader der Datenbank lesen lassen / write "
                           "files here for the engine's bulk loader")] = None,
    bulk_engine_dir: Annotated[str | None, typer.Option(
        "--bulk-engine-dir", help="Derselbe Ordner aus Sicht der Datenbank (z. B. im Container) / the same folder as "
                                  "the engine sees it")] = None,
    config: Annotated[Path | None, typer.Option("--config", help="TOML-Konfigurationsdatei")] = None,
) -> None:
    """Prüft die Daten und lädt sie atomar in eine SPARQL-Datenbank / validate, then load into a SPARQL engine.

    Zugangsdaten nur aus DIGIREGION_STORE_USER / DIGIREGION_STORE_PASSWORD. Exit 0: geladen / loaded;
    1: Verstöße (ohne --force) / violations; 2: unlesbare Eingabe / bad input; 3: Datenbank-Fehler, die
    bisherigen Daten bleiben aktiv / engine failure, the previous data stays live.
    """
    settings = _settings(config, store=store, data=tuple(paths) if paths else None, base_iri=base_iri,
                         store_dir=store_dir, store_bulk_dir=str(bulk_dir) if bulk_dir else None,
                         store_bulk_engine_dir=bulk_engine_dir)
    from .upload import run_load

    raise typer.Exit(run_load(settings, graph=graph, force=force, chunk_triples=chunk_triples, cleanup=cleanup))


def _settings(config: Path | None, **values: object):
    try:
        return load_settings({k: v for k, v in values.items() if v is not None}, config_file=config)
    except ConfigError as exc:
        typer.echo(f"Fehler / error: {exc}", err=True)
        raise typer.Exit(2) from exc


def main() -> None:
    """Console-script entry point (click exits with 2 on usage errors, as the validator contract wants)."""
    app()


if __name__ == "__main__":
    main()
