"""``ntriples_files``: a graph as N-Triples files that each load on their own, by the fast or the slow way.

The fast way (pyoxigraph writes the graph, the file is cut at line ends) must give exactly the triples of
the slow way; it may only be taken when no triple has a blank node and no literal needs the engine's
encoding, and every file must respect the size bound.
"""

from __future__ import annotations

import pyoxigraph as ox
import pytest

from digiregion.store import ntriples_files
from digiregion.store.ntriples_files import graph_files

EX = "http://example.org/"
WKT = "http://www.opengis.net/ont/geosparql#wktLiteral"
STORED_WKT = "urn:digiregion:test:wkt"


def _store(*, blank: bool = False, wkt: bool = False, graph: ox.NamedNode | ox.DefaultGraph | None = None
           ) -> ox.Store:
    graph = graph or ox.DefaultGraph()
    store = ox.Store()
    for n in range(25):
        store.add(ox.Quad(ox.NamedNode(f"{EX}s{n}"), ox.NamedNode(f"{EX}p"),
                          ox.Literal(f"line\nbreak {n} \"quoted\"", language="de"), graph))
        store.add(ox.Quad(ox.NamedNode(f"{EX}s{n}"), ox.NamedNode(f"{EX}q"), ox.NamedNode(f"{EX}o{n % 3}"), graph))
    if blank:
        for n in range(3):
            node = ox.BlankNode(f"b{n}")
            store.add(ox.Quad(ox.NamedNode(f"{EX}s{n}"), ox.NamedNode(f"{EX}address"), node, graph))
            store.add(ox.Quad(node, ox.NamedNode(f"{EX}city"), ox.Literal(f"City {n}"), graph))
    if wkt:
        store.add(ox.Quad(ox.NamedNode(f"{EX}s0"), ox.NamedNode(f"{EX}geometry"),
                          ox.Literal("POINT(8.9 51.9)", datatype=ox.NamedNode(WKT)), graph))
    return store


def _encode(triple: ox.Triple) -> ox.Triple:
    obj = triple.object
    if isinstance(obj, ox.Literal) and obj.datatype.value == WKT:
        obj = ox.Literal(obj.value, datatype=ox.NamedNode(STORED_WKT))
    return ox.Triple(triple.subject, triple.predicate, obj)


def _read(files: list[tuple]) -> list[list[ox.Triple]]:
    return [[ox.Triple(q.subject, q.predicate, q.object) for q in ox.parse(path=str(path), format=ox.RdfFormat.N_TRIPLES)]
            for path, _ in files]


@pytest.mark.parametrize("graph", [ox.DefaultGraph(), ox.NamedNode(f"{EX}graph")])
def test_fast_way_gives_the_triples_of_the_graph_in_bounded_files(tmp_path, graph):
    store = _store(graph=graph)
    store.add(ox.Quad(ox.NamedNode(f"{EX}other"), ox.NamedNode(f"{EX}p"), ox.Literal("elsewhere"),
                      ox.NamedNode(f"{EX}elsewhere") if isinstance(graph, ox.DefaultGraph) else ox.DefaultGraph()))
    files = list(graph_files(store, graph, tmp_path, "g", 20, _encode, [WKT]))
    parsed = _read(files)
    assert [count for _, count in files] == [20, 20, 10] == [len(triples) for triples in parsed]
    expected = {ox.Triple(q.subject, q.predicate, q.object) for q in store.quads_for_pattern(None, None, None, graph)}
    assert {t for triples in parsed for t in triples} == expected
    assert sorted(p.name for p in tmp_path.iterdir()) == ["g.000001.nt", "g.000002.nt", "g.000003.nt"]


def test_blank_nodes_take_the_slow_way_and_stay_with_their_triples(tmp_path):
    store = _store(blank=True)
    files = list(graph_files(store, ox.DefaultGraph(), tmp_path, "g", 4, _encode, []))
    parsed = _read(files)
    assert sum(count for _, count in files) == len(store) == sum(len(t) for t in parsed)
    for triples in parsed:  # each blank node's triples (its address and its city) are in one file
        subjects = {t.subject.value for t in triples if isinstance(t.subject, ox.BlankNode)}
        objects = {t.object.value for t in triples if isinstance(t.object, ox.BlankNode)}
        assert subjects == objects


def test_literals_the_engine_encodes_take_the_slow_way_and_are_encoded(tmp_path):
    store = _store(wkt=True)
    files = list(graph_files(store, ox.DefaultGraph(), tmp_path, "g", 100, _encode, [WKT]))
    datatypes = {t.object.datatype.value for triples in _read(files) for t in triples if isinstance(t.object, ox.Literal)}
    assert STORED_WKT in datatypes and WKT not in datatypes


def _way(monkeypatch) -> list[str]:
    """Record which way ``graph_files`` took."""
    taken: list[str] = []
    split, slow = ntriples_files._split_lines, ntriples_files.triples_files
    monkeypatch.setattr(ntriples_files, "_split_lines", lambda *a: (taken.append("fast"), split(*a))[1])
    monkeypatch.setattr(ntriples_files, "triples_files", lambda *a: (taken.append("slow"), slow(*a))[1])
    return taken


@pytest.mark.parametrize(("blank", "wkt", "encoded", "way"), [
    (False, False, [WKT], "fast"),
    (False, True, [], "fast"),  # an engine that stores the datatype as it is: nothing to encode
    (False, True, [WKT], "slow"),
    (True, False, [], "slow"),
])
def test_the_fast_way_only_where_it_is_exact(tmp_path, monkeypatch, blank, wkt, encoded, way):
    taken = _way(monkeypatch)
    list(graph_files(_store(blank=blank, wkt=wkt), ox.DefaultGraph(), tmp_path, "g", 10, _encode, encoded))
    assert taken == [way]
    assert not (tmp_path / "g.all.nt").exists()


def test_marker_search_finds_a_marker_across_block_boundaries(tmp_path):
    path = tmp_path / "big.nt"
    path.write_bytes(b"x" * ((1 << 22) - 1) + b"_:b0 rest")
    assert ntriples_files._contains_any(path, [b"_:", b"^^<urn:x>"])
    path.write_bytes(b"x" * (1 << 22) * 2)
    assert not ntriples_files._contains_any(path, [b"_:"])
