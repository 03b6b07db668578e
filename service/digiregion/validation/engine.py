"""A fast SHACL Core engine over a pyoxigraph store.

Why not just pyshacl: pyshacl walks rdflib graphs in pure Python, focus node by focus node and
constraint by constraint, and needs rdflib's slow parser first (measured: see benchmarks/README.md).
This engine

- reads each predicate a shape uses once from pyoxigraph's indexes into a subject → values table,
- computes class memberships (rdf:type/rdfs:subClassOf*) with one SPARQL query per class,
- evaluates each property shape for all its focus nodes at once: the value lists are looked up once
  per property shape and every constraint is a specialised loop (counts) or a memoised per-value
  test (class, datatype, pattern, …), so a repeated value is checked once;
- checks lexical forms of the common XSD datatypes itself and asks rdflib only about unusual ones,
  so the fast path never imports rdflib.

It implements the SHACL Core subset the shapes use (see ``shapes.COMPONENTS``) with pyshacl's
semantics; tests and the benchmark run both engines on the same data and require identical findings.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from functools import lru_cache

import pyoxigraph as ox

from .shapes import SH, PropertyPath, Shape, ShapesGraph

XSD = "http://www.w3.org/2001/XMLSchema#"
RDF_LANG_STRING = "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString"
XSD_STRING = XSD + "string"
_NUMERIC = {XSD + t for t in ("integer", "decimal", "double", "float", "int", "long", "short", "byte",
                               "nonNegativeInteger", "positiveInteger", "negativeInteger", "nonPositiveInteger",
                               "unsignedInt", "unsignedLong", "unsignedShort", "unsignedByte")}
_EMPTY: tuple = ()


@dataclass(frozen=True)
class Result:
    """One SHACL validation result, before it gets a file and a line."""

    focus: ox.Term
    path: PropertyPath | None
    value: ox.Term | None
    component: str
    shape: Shape
    severity: str


ValueTest = Callable[[object], bool]
"""True when a value node satisfies a per-value constraint."""


class Engine:
    def __init__(self, store: ox.Store, shapes: ShapesGraph) -> None:
        self.store = store
        self.shapes = shapes
        self._instances: dict[ox.NamedNode, frozenset[ox.Term]] = {}
        self._by_path: dict[PropertyPath, dict[ox.Term, list[ox.Term]]] = {}
        self._tests: dict[tuple[int, int], ValueTest] = {}

    # -- data access ---------------------------------------------------------------------------
    def instances(self, cls: ox.NamedNode) -> frozenset[ox.Term]:
        """Everything typed ``cls`` or a subclass (rdf:type/rdfs:subClassOf*), over all graphs."""
        if cls not in self._instances:
            query = (f"SELECT DISTINCT ?x WHERE {{ ?x <http://www.w3.org/1999/02/22-rdf-syntax-ns#type>/"
                     f"<http://www.w3.org/2000/01/rdf-schema#subClassOf>* {cls} }}")
            self._instances[cls] = frozenset(s[0] for s in self.store.query(query, use_default_graph_as_union=True))
        return self._instances[cls]

    def _path_index(self, path: PropertyPath) -> dict[ox.Term, list[ox.Term]]:
        """Focus node → its values along ``path`` (duplicates across graphs removed, order kept)."""
        index = self._by_path.get(path)
        if index is None:
            table: dict[ox.Term, list[ox.Term]] = defaultdict(list)
            duplicates = False
            if path.inverse:
                for quad in self.store.quads_for_pattern(None, path.predicate, None):
                    table[quad.object].append(quad.subject)
            else:
                for quad in self.store.quads_for_pattern(None, path.predicate, None):
                    table[quad.subject].append(quad.object)
            for values in table.values():
                if len(values) > 1 and len(set(values)) < len(values):
                    duplicates = True
                    break
            if duplicates:  # the same triple in two files: SHACL sees the union, each value once
                table = defaultdict(list, {k: list(dict.fromkeys(v)) for k, v in table.items()})
            index = self._by_path[path] = table  # only read with .get(), which adds no keys
        return index

    def values(self, focus: ox.Term, path: PropertyPath) -> list[ox.Term]:
        return self._path_index(path).get(focus, [])

    def targets(self, shape: Shape) -> list[ox.Term]:
        found: dict[ox.Term, None] = {}
        for cls in shape.target_classes:
            found.update(dict.fromkeys(self.instances(cls)))
        for node in shape.target_nodes:
            found[node] = None
        for predicate in shape.target_subjects_of:
            found.update(dict.fromkeys(q.subject for q in self.store.quads_for_pattern(None, predicate, None)))
        for predicate in shape.target_objects_of:
            found.update(dict.fromkeys(q.object for q in self.store.quads_for_pattern(None, predicate, None)))
        return list(found)

    # -- validation ----------------------------------------------------------------------------
    def validate(self, focus_filter: frozenset[ox.Term] | None = None) -> list[Result]:
        """Validate every targeted node (or only those in ``focus_filter``) against every shape."""
        results: list[Result] = []
        for shape in self.shapes.node_shapes:
            focus_nodes = self.targets(shape)
            if focus_filter is not None:
                focus_nodes = [f for f in focus_nodes if f in focus_filter]
            if focus_nodes:
                results.extend(self.validate_shape(shape, focus_nodes))
        return results

    def conforms(self, node: ox.Term, shape: Shape) -> bool:
        return not self.validate_shape(shape, [node])

    def validate_shape(self, shape: Shape, focus_nodes: Sequence[ox.Term],
                       _value_lists: dict[PropertyPath, list] | None = None) -> list[Result]:
        """All results of ``shape`` and its property shapes for the given focus nodes."""
        if shape.deactivated:
            return []
        if not isinstance(focus_nodes, list):
            focus_nodes = list(focus_nodes)
        results: list[Result] = []
        if not shape.constraints and not shape.properties:
            return results
        if shape.path is None:
            value_lists: Sequence[Sequence[ox.Term]] = [(focus,) for focus in focus_nodes]
        elif _value_lists is not None and shape.path in _value_lists:
            value_lists = _value_lists[shape.path]
        else:
            get = self._path_index(shape.path).get
            value_lists = [get(focus, _EMPTY) for focus in focus_nodes]
            if _value_lists is not None:
                _value_lists[shape.path] = value_lists
        for position, (parameter, argument) in enumerate(shape.constraints):
            for focus, value in self._violations(shape, position, parameter, argument, focus_nodes, value_lists):
                results.append(Result(focus, shape.path, value, parameter, shape, shape.severity))
        if shape.properties:
            # the property shapes of a node shape apply to its focus nodes, those of a property shape
            # to its value nodes
            inner = focus_nodes if shape.path is None else list(dict.fromkeys(v for vs in value_lists for v in vs))
            shared: dict[PropertyPath, list] = {}  # property shapes on the same path share one look-up
            for prop in shape.properties:
                results.extend(self.validate_shape(prop, inner, shared))
        return results

    def _violations(self, shape: Shape, position: int, parameter: str, argument,
                    focus_nodes: list[ox.Term], value_lists: Sequence[Sequence[ox.Term]]
                    ) -> Iterable[tuple[ox.Term, ox.Term | None]]:
        """(focus, offending value or None) for one constraint over all focus nodes."""
        if parameter == "minCount":
            bound = int(argument.value)
            return [(f, None) for f, values in zip(focus_nodes, value_lists, strict=True) if len(values) < bound]
        if parameter == "maxCount":
            bound = int(argument.value)
            return [(f, None) for f, values in zip(focus_nodes, value_lists, strict=True) if len(values) > bound]
        if parameter == "hasValue":
            return [(f, None) for f, values in zip(focus_nodes, value_lists, strict=True) if argument not in values]
        if parameter == "uniqueLang":
            if argument.value not in ("true", "1"):
                return []
            return [(f, None) for f, values in zip(focus_nodes, value_lists, strict=True)
                    for _ in range(_duplicate_languages(values))]
        if parameter in ("class", "in"):  # a set look-up is cheaper than any memo
            members = self.instances(argument) if parameter == "class" else frozenset(argument)
            return [(f, v) for f, values in zip(focus_nodes, value_lists, strict=True) for v in values
                    if v not in members]
        test = self._value_test(shape, position, parameter, argument)
        if parameter not in _SHAPE_BASED:  # cheap tests on mostly distinct values: a memo would cost more
            return [(f, v) for f, values in zip(focus_nodes, value_lists, strict=True) for v in values
                    if not test(v)]
        verdicts: dict[ox.Term, bool] = {}
        found = []
        for focus, values in zip(focus_nodes, value_lists, strict=True):
            for value in values:
                ok = verdicts.get(value)
                if ok is None:
                    ok = verdicts[value] = test(value)
                if not ok:
                    found.append((focus, value))
        return found

    # -- per-value tests -----------------------------------------------------------------------
    def _value_test(self, shape: Shape, position: int, parameter: str, argument) -> ValueTest:
        key = (id(shape), position)
        test = self._tests.get(key)
        if test is None:
            test = self._tests[key] = self._build_test(shape, parameter, argument)
        return test

    def _build_test(self, shape: Shape, parameter: str, argument) -> ValueTest:
        if parameter == "class":
            return self.instances(argument).__contains__
        if parameter == "datatype":
            return _datatype_test(argument.value)
        if parameter == "nodeKind":
            return _node_kind_test(argument.value[len(SH):])
        if parameter in _COMPARISONS:
            return _comparison_test(_COMPARISONS[parameter], argument)
        if parameter in ("minLength", "maxLength"):
            bound = int(argument.value)
            if parameter == "minLength":
                return lambda v: not isinstance(v, ox.BlankNode) and len(v.value) >= bound
            return lambda v: not isinstance(v, ox.BlankNode) and len(v.value) <= bound
        if parameter == "pattern":
            flags = [q.object.value for q in self.shapes.store.quads_for_pattern(shape.node, ox.NamedNode(SH + "flags"),
                                                                                 None)]
            search = _regex(argument.value, flags[0] if flags else "").search
            return lambda v: not isinstance(v, ox.BlankNode) and search(v.value) is not None
        if parameter == "languageIn":
            return _language_in_test([lang.value.lower() for lang in argument])
        if parameter == "in":
            return frozenset(argument).__contains__
        if parameter == "node":
            return lambda v: self.conforms(v, argument)
        if parameter == "not":
            return lambda v: not self.conforms(v, argument)
        alternatives = [self._shape_test(s) for s in argument]
        if parameter == "and":
            return lambda v: all(test(v) for test in alternatives)
        if parameter == "or":
            return lambda v: any(test(v) for test in alternatives)
        if parameter == "xone":
            return lambda v: sum(1 for test in alternatives if test(v)) == 1
        raise KeyError(parameter)

    def _shape_test(self, shape: Shape) -> ValueTest:
        """Does a value conform to ``shape``? Plain value-node shapes (``[ sh:datatype xsd:date ]``)
        become a conjunction of per-value tests; anything else is validated as a shape."""
        simple = (not shape.deactivated and shape.path is None and not shape.properties
                  and all(p not in _COUNTS for p, _ in shape.constraints))
        if not simple:
            return lambda v: self.conforms(v, shape)
        tests = [self._value_test(shape, i, p, a) for i, (p, a) in enumerate(shape.constraints)]
        if len(tests) == 1:
            return tests[0]
        return lambda v: all(test(v) for test in tests)


_COUNTS = {"minCount", "maxCount", "hasValue", "uniqueLang"}
_SHAPE_BASED = {"node", "not", "and", "or", "xone"}


def _duplicate_languages(values: Sequence[ox.Term]) -> int:
    """How many language tags occur more than once (one result each, as pyshacl reports)."""
    if len(values) < 2:
        return 0
    seen: dict[str, int] = defaultdict(int)
    for value in values:
        if isinstance(value, ox.Literal) and value.language:
            seen[value.language.lower()] += 1
    return sum(1 for count in seen.values() if count > 1)


# -- datatypes ---------------------------------------------------------------------------------

def _valid_date(lexical: str) -> bool:
    try:
        date.fromisoformat(lexical)
    except ValueError:
        return False
    return True


_CERTAINLY_VALID: dict[str, Callable[[str], bool]] = {
    XSD + "integer": re.compile(r"[+-]?[0-9]+").fullmatch,
    XSD + "decimal": re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)").fullmatch,
    XSD + "gYear": re.compile(r"[0-9]{4}").fullmatch,
    XSD + "gYearMonth": re.compile(r"[0-9]{4}-(?:0[1-9]|1[0-2])").fullmatch,
    XSD + "date": lambda s: len(s) == 10 and s[4] == "-" and s[7] == "-" and s[:4] != "0000" and _valid_date(s),
    XSD + "boolean": frozenset({"true", "false", "1", "0"}).__contains__,
}
"""Lexical forms that are certainly well-formed (and that rdflib accepts); anything else is decided
by rdflib exactly as pyshacl decides it."""


@lru_cache(maxsize=65536)
def _ill_typed(lexical: str, datatype: str) -> bool:
    quick = _CERTAINLY_VALID.get(datatype)
    if quick is not None and quick(lexical):
        return False
    import rdflib  # only for unusual lexical forms: keeps rdflib's import time off the fast path

    return bool(rdflib.Literal(lexical, datatype=rdflib.URIRef(datatype)).ill_typed)


def _datatype_test(datatype: str) -> ValueTest:
    check_lexical = datatype not in (XSD_STRING, RDF_LANG_STRING)

    def test(value: ox.Term) -> bool:
        if not isinstance(value, ox.Literal) or value.datatype.value != datatype:
            return False
        return not check_lexical or not _ill_typed(value.value, datatype)
    return test


def _node_kind_test(kind: str) -> ValueTest:
    classes = {
        "IRI": (ox.NamedNode,), "BlankNode": (ox.BlankNode,), "Literal": (ox.Literal,),
        "BlankNodeOrIRI": (ox.BlankNode, ox.NamedNode), "BlankNodeOrLiteral": (ox.BlankNode, ox.Literal),
        "IRIOrLiteral": (ox.NamedNode, ox.Literal),
    }.get(kind)
    if classes is None:
        return lambda v: False
    return lambda v: isinstance(v, classes)


def _language_in_test(languages: list[str]) -> ValueTest:
    def test(value: ox.Term) -> bool:
        if not isinstance(value, ox.Literal) or not value.language:
            return False
        tag = value.language.lower()
        return any(wanted == "*" or tag == wanted or tag.startswith(wanted + "-") for wanted in languages)
    return test


# -- comparisons -------------------------------------------------------------------------------

def _python_value(term):
    if not isinstance(term, ox.Literal):
        return None
    if term.datatype.value in _NUMERIC:
        try:
            return Decimal(term.value)
        except InvalidOperation:
            return None
    import rdflib  # dates and other ordered non-numeric types are rare in range constraints

    return rdflib.Literal(term.value, datatype=rdflib.URIRef(term.datatype.value)).toPython()


_COMPARISONS = {
    "minExclusive": lambda a, b: a > b,
    "minInclusive": lambda a, b: a >= b,
    "maxExclusive": lambda a, b: a < b,
    "maxInclusive": lambda a, b: a <= b,
}


def _comparison_test(op: Callable[[object, object], bool], bound: ox.Term) -> ValueTest:
    right = _python_value(bound)

    def test(value: ox.Term) -> bool:
        left = _python_value(value)
        if left is None or right is None:
            return False
        try:
            return bool(op(left, right))
        except TypeError:
            return False
    return test


@lru_cache(maxsize=1024)
def _regex(pattern: str, flags: str) -> re.Pattern:
    value = 0
    for flag, bit in (("i", re.IGNORECASE), ("m", re.MULTILINE), ("s", re.DOTALL), ("x", re.VERBOSE)):
        if flag in flags:
            value |= bit
    return re.compile(pattern, value)
