"""One graph of the local store as N-Triples files of bounded size: what ``load`` sends or gives a bulk loader.

Every file must be loadable on its own: a blank node's label is scoped to one request (Graph Store
Protocol) or one file (Virtuoso's bulk loader), so all triples of a blank-node-connected group travel
together, and every term is written as the engine stores it (``EngineProfile.encode``).

Two ways to get there. The fast way lets pyoxigraph write the whole graph (in Rust) and cuts the file at
line ends — N-Triples has exactly one triple per line and escapes line breaks inside literals. It is
exact only when the graph has no blank node and no literal of a datatype the profile re-encodes. Both
show in the written bytes: a blank node is always written ``_:label`` and a datatype ``^^<iri>``, so a
byte search over the file finds every one (it may also find the same characters inside a literal: then
the slow way is taken needlessly, never wrongly). The search replaced two ASK queries, which scanned the
on-disk store for 3 minutes at 10^7 triples. Otherwise the slow way groups the triples in Python
(``chunks``): at 10^6 triples that took 48 of the 101 s of a whole ``load`` here, which is why it is no
longer the only way.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Collection, Iterable, Iterator
from pathlib import Path
from typing import Any

import pyoxigraph as ox

Encode = Callable[[ox.Triple], ox.Triple]


def graph_files(store: ox.Store, graph: ox.DefaultGraph | ox.NamedNode, folder: Path, stem: str, size: int,
                encode: Encode, encoded_datatypes: Collection[str] = ()) -> Iterator[tuple[Path, int]]:
    """Files ``folder/stem.NNNNNN.nt`` of at most ``size`` triples (more only for one large blank-node group).

    Yields each file with its number of triples as soon as it is written; the caller may delete it then.
    """
    whole = folder / f"{stem}.all.nt"
    try:
        store.dump(str(whole), format=ox.RdfFormat.N_TRIPLES, from_graph=graph)
        markers = [b"_:", *(f"^^<{datatype}>".encode() for datatype in encoded_datatypes)]
        if not _contains_any(whole, markers):
            yield from _split_lines(whole, folder, stem, size)
            return
    finally:
        whole.unlink(missing_ok=True)
    yield from triples_files(store.quads_for_pattern(None, None, None, graph), folder, stem, size, encode)


def triples_files(triples: Iterable[Any], folder: Path, stem: str, size: int, encode: Encode
                  ) -> Iterator[tuple[Path, int]]:
    """The slow way, for any triples (or quads): blank-node groups kept together by ``chunks``."""
    for number, chunk in enumerate(chunks(triples, size), start=1):
        path = folder / f"{stem}.{number:06d}.nt"
        ox.serialize((encode(t) for t in chunk), str(path), ox.RdfFormat.N_TRIPLES)
        yield path, len(chunk)


def chunks(quads: Iterable[Any], size: int) -> Iterator[list[ox.Triple]]:
    """Triples in chunks of about ``size``; every blank-node-connected group stays in one chunk."""
    plain: list[ox.Triple] = []
    parent: dict[str, str] = {}
    grouped: list[ox.Triple] = []

    def root(label: str) -> str:
        while parent.setdefault(label, label) != label:
            parent[label] = parent[parent[label]]
            label = parent[label]
        return label

    for quad in quads:
        triple = ox.Triple(quad.subject, quad.predicate, quad.object)
        bnodes = [t.value for t in (quad.subject, quad.object) if isinstance(t, ox.BlankNode)]
        if not bnodes:
            plain.append(triple)
            if len(plain) >= size:
                yield plain
                plain = []
            continue
        grouped.append(triple)
        first = root(bnodes[0])
        for other in bnodes[1:]:
            parent[root(other)] = first
    if plain:
        yield plain
    components: dict[str, list[ox.Triple]] = {}
    for triple in grouped:
        label = next(t.value for t in (triple.subject, triple.object) if isinstance(t, ox.BlankNode))
        components.setdefault(root(label), []).append(triple)
    batch: list[ox.Triple] = []
    for component in components.values():
        if batch and len(batch) + len(component) > size:
            yield batch
            batch = []
        batch.extend(component)
    if batch:
        yield batch


def _contains_any(path: Path, markers: list[bytes]) -> bool:
    """Whether any marker occurs in the file (read in blocks; a marker may straddle two blocks)."""
    overlap = max(len(m) for m in markers) - 1
    tail = b""
    with path.open("rb") as source:
        while block := source.read(1 << 22):
            window = tail + block
            if any(marker in window for marker in markers):
                return True
            tail = window[-overlap:]
    return False


def _split_lines(whole: Path, folder: Path, stem: str, size: int) -> Iterator[tuple[Path, int]]:
    with whole.open("rb") as source:
        for number in itertools.count(1):
            lines = list(itertools.islice(source, size))
            if not lines:
                return
            path = folder / f"{stem}.{number:06d}.nt"
            path.write_bytes(b"".join(lines))
            yield path, len(lines)
