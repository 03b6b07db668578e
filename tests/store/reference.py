"""The two engines the rewrite tests compare: rdflib evaluates the client's query as the specification
says, pyoxigraph runs the rewritten text; both load the same Turtle."""

from __future__ import annotations

from collections import Counter

import pyoxigraph as ox
import rdflib


def load_both(data: str) -> tuple[rdflib.Graph, ox.Store]:
    graph = rdflib.Graph().parse(data=data, format="turtle")
    store = ox.Store()
    store.load(data.encode(), ox.RdfFormat.TURTLE)
    return graph, store


def rows(graph: rdflib.Graph, store: ox.Store, original: str, rewritten: str) -> tuple[Counter, Counter]:
    """(rdflib's rows for ``original``, pyoxigraph's rows for ``rewritten``) as multisets of strings,
    columns in rdflib's variable order."""
    expected = graph.query(original)
    names = [str(v) for v in expected.vars]
    actual = store.query(rewritten)
    return (Counter(tuple(None if row[n] is None else str(row[n]) for n in names) for row in expected),
            Counter(tuple(None if row[ox.Variable(n)] is None else row[ox.Variable(n)].value for n in names)
                        for row in actual))
