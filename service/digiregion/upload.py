"""The ``load`` verb: validate, build the dataset locally, push it into a remote engine, switch atomically.

Validation comes first because a remote engine accepts anything: data that breaks the shapes would
be published without complaint. The dataset is then built exactly as ``serve`` would build it for
the embedded store (same parsing, same safety rules such as refusing RDF/XML with a DOCTYPE, same
named-graph handling, reused when unchanged), so both backends publish the same triples.
"""

from __future__ import annotations

import os
import sys

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from .config import Settings
from .rdf_files import InputError

EXIT_OK, EXIT_VIOLATIONS, EXIT_BAD_INPUT, EXIT_ENGINE = 0, 1, 2, 3

console = Console(stderr=True)


def run_load(settings: Settings, *, graph: str | None, force: bool, chunk_triples: int, cleanup: bool = False) -> int:
    """Run the whole ``load`` command; returns its exit code (see ``cli.load``)."""
    if settings.store == "embedded" or "://" not in settings.store:
        console.print("[red]Fehler / error[/red]: --store braucht die URL eines SPARQL-Endpunkts / "
                      "--store needs a SPARQL endpoint URL")
        return EXIT_BAD_INPUT
    verdict = _validate(settings, force)
    if verdict != EXIT_OK:
        return verdict
    from .store.credentials import Credentials
    from .store.loader import open_or_build
    from .store.remote_load import LoadError, LoadTarget, load_dataset

    try:
        built = open_or_build(settings, compact=True)  # read back in full at once: worth compacting
    except InputError as exc:
        console.print(f"[red]Fehler / error[/red]: {exc}")
        return EXIT_BAD_INPUT
    try:
        target = LoadTarget.from_settings(settings, Credentials.from_environment(os.environ), graph)
    except (ValueError, LoadError) as exc:
        console.print(f"[red]Fehler / error[/red]: {exc}")
        return EXIT_ENGINE if isinstance(exc, LoadError) else EXIT_BAD_INPUT
    console.print(f"Ziel / target: {target.query_url} ({target.profile.name}), Graph <{target.graph}>")
    with Progress(TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(), MofNCompleteColumn(),
                  TextColumn("Tripel/triples"), TimeElapsedColumn(), TimeRemainingColumn(), console=console,
                  transient=not console.is_terminal) as progress:
        task = progress.add_task("Laden / loading", total=None)
        try:
            report = load_dataset(built, target, chunk_triples=chunk_triples,
                                  progress=lambda n: progress.advance(task, n),
                                  on_total=lambda total: progress.update(task, total=total), cleanup_all=cleanup,
                                  on_phase=lambda message: progress.console.print(message))
        except LoadError as exc:
            progress.stop()
            console.print(f"[red]Laden fehlgeschlagen / load failed[/red]: {exc}")
            console.print("Die bisherigen Daten bleiben aktiv. / The previous data stays live.")
            return EXIT_ENGINE
    if report.removed:
        console.print(f"{len(report.removed)} temporäre Graphen früherer Ladevorgänge entfernt / temporary graphs "
                      "of earlier loads removed")
    for name, count in report.graphs.items():
        console.print(f"[green]geladen / loaded[/green] <{name}>: {count} Tripel/triples")
    steps = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in report.phases.items())
    console.print(f"Version {report.version[:16]} in {report.seconds:.1f} s ({steps})")
    for warning in report.warnings:
        console.print(f"[yellow]Warnung / warning[/yellow]: {warning}")
    return EXIT_OK


def _validate(settings: Settings, force: bool) -> int:
    """Run the validator over the data to load; violations stop the load unless ``force``."""
    from .validation.render import render
    from .validation.runner import ValidationRequest, run_validation

    report = run_validation(ValidationRequest(paths=tuple(settings.data), base_iri=settings.base_iri))
    code = report.exit_code
    if code == EXIT_OK:
        return EXIT_OK
    sys.stderr.write(render(report, "text", settings.lang))
    if code == EXIT_VIOLATIONS and force:
        console.print("[yellow]Warnung / warning[/yellow]: Verstöße, wegen --force trotzdem geladen / "
                      "violations, loading anyway because of --force")
        return EXIT_OK
    if code == EXIT_VIOLATIONS:
        console.print("[red]Nicht geladen / not loaded[/red]: Verstöße gegen die Shapes (--force lädt trotzdem) / "
                      "shape violations (--force loads anyway)")
    return code
