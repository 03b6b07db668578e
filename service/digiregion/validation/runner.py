"""``digiregion validate`` as a function: files in, a report with file:line findings out.

Steps: find files → load them into one store (a graph per file) → stop with exit 2 if any cannot be
read → run the shapes (fast engine or pyshacl reference) on the union, keeping only findings about
resources the validated files describe → add the cross-file checks → attach lines.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox

from ..config import DEFAULT_BASE_IRI
from ..rdf_files import InputError, discover
from ..resources import default_data_dir, ontology_dir, shapes_dir
from . import crossfile
from .engine import Engine, Result
from .findings import SHACL_SEVERITIES, Finding, Message, Report, Severity
from .loading import MAX_FILE_BYTES, LoadedData, count_triples, file_warnings, load_files
from .messages import default_message
from .positions import Locator
from .shapes import UnsupportedShapeError, load_shapes
from .terms import render_ox

TEXT_SUFFIXES = (".ttl", ".nt", ".turtle", ".ntriples")


@dataclass(frozen=True)
class ValidationRequest:
    paths: tuple[Path, ...] = ()
    """Files/folders to validate; empty: the shipped region data."""
    context: tuple[Path, ...] | None = None
    """Data that may be linked to; None: the shipped region data (minus the validated files)."""
    shapes: tuple[Path, ...] | None = None
    vocabulary: tuple[Path, ...] | None = None
    """Ontology files (subclass axioms, object properties); None: the shipped ontology."""
    lang: str = "de"
    engine: str = "fast"
    base_iri: str = DEFAULT_BASE_IRI
    max_file_bytes: int = MAX_FILE_BYTES


def run_validation(request: ValidationRequest) -> Report:
    with _without_cyclic_gc():
        return _run(request)


@contextmanager
def _without_cyclic_gc() -> Iterator[None]:
    """Validation allocates millions of short-lived, acyclic objects (terms, value lists); Python's
    cyclic collector would re-scan all of them again and again (about a third of the engine's time
    at 10^6 triples). Reference counting still frees everything; the collector resumes afterwards."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _run(request: ValidationRequest) -> Report:
    report = Report(engine=request.engine)
    try:
        targets = discover(request.paths or (default_data_dir(),))
        context = [p for p in discover(request.context if request.context is not None else (default_data_dir(),))
                   if p not in set(targets)]
        vocabulary = discover(request.vocabulary or (ontology_dir(),))
        shape_files = discover(request.shapes or (shapes_dir(),), suffixes=(".ttl",))
    except InputError as exc:
        report.findings.append(Finding(Severity.ERROR, "io", Message(f"{exc.message}", exc.message), file=exc.path))
        return report
    if not targets:
        report.findings.append(Finding(Severity.ERROR, "io", Message(
            "Keine RDF-Dateien gefunden", "no RDF files found"), file=" ".join(str(p) for p in request.paths)))
        return report

    data = load_files(targets, context, vocabulary, request.max_file_bytes)
    report.files = [str(f.path) for f in data.files if f.role == "target"]
    report.findings.extend(data.errors)
    if data.errors:
        return report
    count_triples(data)
    report.triples = sum(f.triples for f in data.files if f.role == "target")
    report.findings.extend(file_warnings(data))

    try:
        if request.engine == "pyshacl":
            from .reference import pyshacl_findings

            shape_findings = pyshacl_findings(data, shape_files)
        else:
            shape_findings = _fast_findings(data, shape_files)
    except UnsupportedShapeError as exc:
        report.findings.append(Finding(Severity.ERROR, "shapes", Message(str(exc), str(exc))))
        return report
    report.findings.extend(shape_findings)
    report.findings.extend(crossfile.check(data, request.base_iri))
    report.findings = _with_lines(data, report.findings)
    return report


class FocusScope:
    """Which target file describes a node: findings are only about what the validated files say."""

    def __init__(self, data: LoadedData) -> None:
        self.data = data
        self.targets = set(data.graphs("target"))
        self._cache: dict[ox.Term, ox.NamedNode | None] = {}

    def graph_of(self, node: ox.Term) -> ox.NamedNode | None:
        if node not in self._cache:
            found = None
            if not isinstance(node, ox.Literal):
                for quad in self.data.store.quads_for_pattern(node, None, None):
                    if quad.graph_name in self.targets:
                        found = quad.graph_name
                        break
            self._cache[node] = found
        return self._cache[node]


def _fast_findings(data: LoadedData, shape_files: list[Path]) -> list[Finding]:
    shapes = load_shapes(shape_files)
    engine = Engine(data.store, shapes)
    scope = FocusScope(data)
    findings = []
    for result in engine.validate():
        graph = scope.graph_of(result.focus)
        if graph is None:
            continue
        findings.append(_finding_from_result(result, str(data.file_of_graph(graph).path)))
    return findings


def shape_message(messages: list[tuple[str, str | None]], component: str, argument: str) -> Message:
    """Pick the shape's own sh:message per language, falling back to the other language, then a default."""
    by_lang = {lang or "": text for text, lang in messages}
    de = by_lang.get("de") or by_lang.get("")
    en = by_lang.get("en") or by_lang.get("")
    if not de and not en:
        return default_message(component, argument)
    return Message(de or en, en or de)


def _finding_from_result(result: Result, file: str) -> Finding:
    argument = next((str(arg) for name, arg in result.shape.constraints if name == result.component), "")
    component = {"in": "InConstraintComponent"}.get(result.component) or _component_name(result.component)
    message = shape_message([(m.value, m.language) for m in result.shape.messages], component, argument)
    return Finding(
        severity=SHACL_SEVERITIES.get(result.severity, Severity.VIOLATION),
        code=f"shacl:{component}",
        message=message,
        file=file,
        focus=render_ox(result.focus),
        path=str(result.path) if result.path else None,
        value=render_ox(result.value),
        shape=result.shape.key,
    )


def _component_name(parameter: str) -> str:
    from .shapes import COMPONENTS

    return COMPONENTS[parameter]


def _with_lines(data: LoadedData, findings: list[Finding]) -> list[Finding]:
    """Give each finding the line where its focus node (or the offending triple) is written."""
    base_of = {str(f.path): f.base_iri for f in data.files}
    wanted: dict[str, set[str]] = {}
    for finding in findings:
        if _needs_line(finding) and finding.focus and not finding.focus.startswith("_:"):
            wanted.setdefault(finding.file, set()).add(finding.focus)
    locators: dict[str, Locator] = {}
    for file, subjects in wanted.items():
        locators[file] = Locator(Path(file), base_of.get(file))
        locators[file].prepare(subjects)  # one pass per file for all its findings
    placed = []
    for finding in findings:
        if not _needs_line(finding):
            placed.append(finding)
            continue
        if finding.file not in locators:
            locators[finding.file] = Locator(Path(finding.file), base_of.get(finding.file))
        positions = locators[finding.file]
        line = None
        if finding.focus and not finding.focus.startswith("_:"):
            if finding.code in ("undefined-link", "literal-for-iri") and finding.path:
                line = positions.predicate_line(finding.focus, finding.path)
            line = line or positions.subject_line(finding.focus)
        if line is None and finding.value and finding.path and finding.code == "undefined-link":
            line = next((ln for (s, p, o), ln in positions.objects.items() if p == finding.path and o == finding.value),
                        None)
        placed.append(Finding(**{**finding.__dict__, "line": line}))
    return placed


def _needs_line(finding: Finding) -> bool:
    return finding.line is None and finding.file is not None and finding.file.endswith(TEXT_SUFFIXES)


__all__ = ["Report", "ValidationRequest", "run_validation"]
