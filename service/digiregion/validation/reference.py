"""The reference engine: plain pyshacl on rdflib graphs, reported exactly like the fast engine.

It exists so that every claim about the fast engine can be checked against the established
implementation (``--engine pyshacl``, the cross-engine tests and the benchmark).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pyshacl
import rdflib
from rdflib.namespace import RDF, SH

from .findings import SHACL_SEVERITIES, Finding, Severity
from .loading import LoadedData
from .runner import shape_message
from .terms import render_rdflib


def _parse(loaded) -> rdflib.Graph:
    graph = rdflib.Graph()
    graph.parse(loaded.path, format=rdflib.util.guess_format(str(loaded.path)) or "turtle", publicID=loaded.base_iri)
    return graph


def _union(graphs: list[rdflib.Graph]) -> rdflib.Graph:
    union = rdflib.Graph()
    for graph in graphs:
        union += graph
    return union


def _shape_key(shapes: rdflib.Graph, shape: rdflib.term.Node) -> str:
    if isinstance(shape, rdflib.URIRef):
        return str(shape)
    parent = next(shapes.subjects(SH.property, shape), None)
    for name in ("node", "not"):
        parent = parent or next(shapes.subjects(SH[name], shape), None)
    if parent is None:
        lists = list(shapes.subjects(RDF.first, shape))
        while lists:
            head = lists[0]
            owners = [s for p in (SH["or"], SH["and"], SH.xone) for s in shapes.subjects(p, head)]
            if owners:
                parent = owners[0]
                break
            lists = list(shapes.subjects(RDF.rest, head))
    path = shapes.value(shape, SH.path)
    if isinstance(path, rdflib.BNode):
        inverse = shapes.value(path, SH.inversePath)
        path_text = f"^{inverse}" if inverse is not None else str(path)
    else:
        path_text = str(path) if path is not None else str(shape)
    parent_key = _shape_key(shapes, parent) if parent is not None else "_"
    return f"{parent_key}/{path_text}"


def pyshacl_findings(data: LoadedData, shape_files: list[Path]) -> list[Finding]:
    parsed = {f.path: (f, _parse(f)) for f in data.files}
    # The ontology is merged by hand: pyshacl's own ont_graph mixing ("inoculate") clones nodes
    # recursively and takes minutes on an ontology of a few hundred terms; the union is equivalent.
    data_graph = _union([g for f, g in parsed.values()])
    per_target = {path: set(g.subjects()) for path, (f, g) in parsed.items() if f.role == "target"}
    shapes = rdflib.Graph()
    for path in shape_files:
        shapes.parse(path, format="turtle", publicID=path.as_uri())
    _conforms, results, _text = pyshacl.validate(data_graph, shacl_graph=shapes,
                                                 inference="none", advanced=False, meta_shacl=False)

    def file_of(focus: rdflib.term.Node) -> str | None:
        return next((str(p) for p, subjects in per_target.items() if focus in subjects), None)

    return report_findings(results, shapes, file_of)


def report_findings(results: rdflib.Graph, shapes: rdflib.Graph,
                    file_of: Callable[[rdflib.term.Node], str | None]) -> list[Finding]:
    """The findings of a pyshacl results graph, in the fast engine's terms (for ``Finding.identity()``).

    ``file_of`` names the validated file that describes a focus node; results about other nodes
    (None) are dropped, as the fast engine reports only on what the validated files say.
    """
    findings = []
    for result in results.subjects(RDF.type, SH.ValidationResult):
        focus = results.value(result, SH.focusNode)
        file = file_of(focus)
        if file is None:
            continue
        component = str(results.value(result, SH.sourceConstraintComponent)).rsplit("#", 1)[-1]
        shape = results.value(result, SH.sourceShape)
        path = results.value(result, SH.resultPath)
        if isinstance(path, rdflib.BNode):
            inverse = results.value(path, SH.inversePath)
            path_text = f"^{inverse}" if inverse is not None else None
        else:
            path_text = str(path) if path is not None else None
        messages = [(str(m), m.language) for m in shapes.objects(shape, SH.message)]
        findings.append(Finding(
            severity=SHACL_SEVERITIES.get(str(results.value(result, SH.resultSeverity)), Severity.VIOLATION),
            code=f"shacl:{component}",
            message=shape_message(messages, component, ""),
            file=file,
            focus=render_rdflib(focus),
            path=path_text,
            value=render_rdflib(results.value(result, SH.value)),
            shape=_shape_key(shapes, shape),
        ))
    return findings
