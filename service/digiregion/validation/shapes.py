"""The SHACL shapes graph, read once into plain Python objects.

Reading the shapes up front (targets, path, severity, messages, constraint parameters) keeps the
engine's inner loops free of graph look-ups and makes unsupported features fail loudly at start
instead of being silently ignored.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pyoxigraph as ox

SH = "http://www.w3.org/ns/shacl#"
RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
RDF_TYPE = ox.NamedNode(RDF + "type")
RDF_FIRST = ox.NamedNode(RDF + "first")
RDF_REST = ox.NamedNode(RDF + "rest")
RDF_NIL = ox.NamedNode(RDF + "nil")


def sh(local: str) -> ox.NamedNode:
    return ox.NamedNode(SH + local)


# parameter -> constraint component (SHACL Core, the subset this engine implements)
COMPONENTS = {
    "class": "ClassConstraintComponent",
    "datatype": "DatatypeConstraintComponent",
    "nodeKind": "NodeKindConstraintComponent",
    "minCount": "MinCountConstraintComponent",
    "maxCount": "MaxCountConstraintComponent",
    "minExclusive": "MinExclusiveConstraintComponent",
    "minInclusive": "MinInclusiveConstraintComponent",
    "maxExclusive": "MaxExclusiveConstraintComponent",
    "maxInclusive": "MaxInclusiveConstraintComponent",
    "minLength": "MinLengthConstraintComponent",
    "maxLength": "MaxLengthConstraintComponent",
    "pattern": "PatternConstraintComponent",
    "languageIn": "LanguageInConstraintComponent",
    "uniqueLang": "UniqueLangConstraintComponent",
    "in": "InConstraintComponent",
    "hasValue": "HasValueConstraintComponent",
    "node": "NodeConstraintComponent",
    "not": "NotConstraintComponent",
    "and": "AndConstraintComponent",
    "or": "OrConstraintComponent",
    "xone": "XoneConstraintComponent",
}
_LIST_PARAMETERS = {"languageIn", "in", "and", "or", "xone"}
_SHAPE_PARAMETERS = {"node", "not"}
_UNSUPPORTED = ["closed", "sparql", "qualifiedValueShape", "equals", "disjoint", "lessThan",
                "lessThanOrEquals", "rule", "target", "expression"]


class UnsupportedShapeError(ValueError):
    """The shapes use a SHACL feature the fast engine does not implement; use --engine pyshacl."""


@dataclass(frozen=True)
class PropertyPath:
    predicate: ox.NamedNode
    inverse: bool = False

    def __str__(self) -> str:
        return f"^{self.predicate.value}" if self.inverse else self.predicate.value


@dataclass
class Shape:
    node: ox.NamedNode | ox.BlankNode
    key: str
    """A stable name: the shape's IRI, or ``<parent key>/<path>`` for a blank-node property shape."""
    path: PropertyPath | None = None
    severity: str = SH + "Violation"
    messages: list[ox.Literal] = field(default_factory=list)
    deactivated: bool = False
    target_classes: list[ox.NamedNode] = field(default_factory=list)
    target_nodes: list[ox.Term] = field(default_factory=list)
    target_subjects_of: list[ox.NamedNode] = field(default_factory=list)
    target_objects_of: list[ox.NamedNode] = field(default_factory=list)
    constraints: list[tuple[str, object]] = field(default_factory=list)
    """(parameter local name, value); list parameters hold Python lists, shape parameters Shape objects."""
    properties: list[Shape] = field(default_factory=list)

    @property
    def has_targets(self) -> bool:
        return bool(self.target_classes or self.target_nodes or self.target_subjects_of or self.target_objects_of)


class ShapesGraph:
    """All shapes of a shapes graph, built from a pyoxigraph store."""

    def __init__(self, store: ox.Store) -> None:
        self.store = store
        self._shapes: dict[ox.Term, Shape] = {}
        self.node_shapes: list[Shape] = []
        self._check_supported()
        roots = set()
        for predicate in ("targetClass", "targetNode", "targetSubjectsOf", "targetObjectsOf"):
            roots.update(q.subject for q in store.quads_for_pattern(None, sh(predicate), None))
        roots.update(q.subject for q in store.quads_for_pattern(None, RDF_TYPE, sh("NodeShape")))
        for root in sorted(roots, key=str):
            shape = self.shape(root)
            if shape.has_targets:
                self.node_shapes.append(shape)

    def _check_supported(self) -> None:
        for name in _UNSUPPORTED:
            for quad in self.store.quads_for_pattern(None, sh(name), None):
                raise UnsupportedShapeError(f"sh:{name} (in {quad.subject}) wird von der schnellen Engine nicht "
                                            f"unterstützt / is not supported by the fast engine")

    def _objects(self, subject: ox.Term, local: str) -> list[ox.Term]:
        return [q.object for q in self.store.quads_for_pattern(subject, sh(local), None)]

    def _one(self, subject: ox.Term, local: str) -> ox.Term | None:
        values = self._objects(subject, local)
        return values[0] if values else None

    def list_items(self, head: ox.Term) -> list[ox.Term]:
        items = []
        while head != RDF_NIL:
            first = [q.object for q in self.store.quads_for_pattern(head, RDF_FIRST, None)]
            rest = [q.object for q in self.store.quads_for_pattern(head, RDF_REST, None)]
            if not first or not rest:
                raise UnsupportedShapeError(f"Kaputte RDF-Liste / broken RDF list at {head}")
            items.append(first[0])
            head = rest[0]
        return items

    def shape(self, node: ox.Term, parent_key: str | None = None) -> Shape:
        if node in self._shapes:
            return self._shapes[node]
        path = self._path(node)
        if isinstance(node, ox.NamedNode):
            key = node.value
        else:
            key = f"{parent_key or '_'}/{path}" if path else f"{parent_key or '_'}/{node}"
        shape = Shape(node=node, key=key, path=path)
        self._shapes[node] = shape
        severity = self._one(node, "severity")
        if severity is not None:
            shape.severity = severity.value
        shape.messages = [m for m in self._objects(node, "message") if isinstance(m, ox.Literal)]
        deactivated = self._one(node, "deactivated")
        shape.deactivated = deactivated is not None and deactivated.value in ("true", "1")
        shape.target_classes = self._objects(node, "targetClass")
        shape.target_nodes = self._objects(node, "targetNode")
        shape.target_subjects_of = self._objects(node, "targetSubjectsOf")
        shape.target_objects_of = self._objects(node, "targetObjectsOf")
        for local in COMPONENTS:
            for value in self._objects(node, local):
                if local in _LIST_PARAMETERS:
                    items = self.list_items(value)
                    if local in ("and", "or", "xone"):
                        items = [self.shape(item, key) for item in items]
                    shape.constraints.append((local, items))
                elif local in _SHAPE_PARAMETERS:
                    shape.constraints.append((local, self.shape(value, key)))
                else:
                    shape.constraints.append((local, value))
        shape.properties = [self.shape(p, key) for p in self._objects(node, "property")]
        return shape

    def _path(self, node: ox.Term) -> PropertyPath | None:
        path = self._one(node, "path")
        if path is None:
            return None
        if isinstance(path, ox.NamedNode):
            return PropertyPath(path)
        inverse = self._one(path, "inversePath")
        if isinstance(inverse, ox.NamedNode):
            return PropertyPath(inverse, inverse=True)
        raise UnsupportedShapeError(f"Nur einfache und inverse Pfade werden unterstützt / only predicate and "
                                    f"inverse paths are supported (shape {node})")


def load_shapes(paths: list) -> ShapesGraph:
    store = ox.Store()
    for path in paths:
        store.bulk_load(path=path, format=ox.RdfFormat.from_extension(path.suffix.lstrip(".")) or ox.RdfFormat.TURTLE,
                        base_iri=path.as_uri())
    return ShapesGraph(store)
