"""Remote dumps fetched in pages give the same files, byte for byte, as one CONSTRUCT; failures leave nothing.

Virtuoso refuses an answer of more than 10^6 rows, so a large graph is fetched with LIMIT/OFFSET pages
streamed into a temporary on-disk store (store/remote_dumps.py); here the pages are made tiny so the
data needs dozens of them. The on-disk store iterates in an order fixed by its content, so every page
size must give the same SHA-256; the graph must be the engine's (isomorphic: the engine may label blank
nodes differently per request). The fixtures graph has named graphs, so the N-Quads dump is covered too.
"""

from __future__ import annotations

import asyncio
import dataclasses
import gzip
import hashlib
import json
from pathlib import Path

import pytest
import rdflib
from rdflib.compare import isomorphic

from digiregion.config import Settings
from digiregion.dumps import MANIFEST
from digiregion.store.base import StoreError
from digiregion.store.credentials import Credentials
from digiregion.store.remote import RemoteStore
from digiregion.store.remote_dumps import write_remote_dumps
from digiregion.store.sparql_client import Endpoint, EngineUnavailable
from tests.web.conftest import _free_port

PAGES = (10**9, 1000, 97)


def _started(virtuoso, graph: str, tmp: Path) -> RemoteStore:
    """A started store (counts, engine profile); its own background dump job is not needed here."""
    settings = Settings(store=virtuoso.sparql, store_graph=graph, store_dir=str(tmp / "store"))
    store = RemoteStore(settings, Credentials.from_environment(virtuoso.env))

    async def run() -> None:
        await store.start()
        await store.close()  # cancels the background job: these tests call the writer directly

    asyncio.run(run())
    return store


def _digests(folder: Path) -> dict[str, str]:
    written = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.iterdir() if p.name != MANIFEST}
    listed = {d["path"]: d["sha256"] for d in json.loads((folder / MANIFEST).read_text(encoding="utf-8"))}
    assert written == listed
    return written


def _leftovers(parent: Path) -> list[str]:
    return sorted(p.name for p in parent.iterdir() if p.name.startswith("."))


@pytest.mark.parametrize("which", ["lippe", "fixtures"])
def test_dumps_are_byte_identical_for_every_page_size(virtuoso, lippe_loaded, fixtures_loaded, tmp_path, which):
    graph = lippe_loaded if which == "lippe" else fixtures_loaded
    store = _started(virtuoso, graph, tmp_path)
    info = store.info
    assert info.default_graph_triples > (1000 if which == "lippe" else 50)
    digests = []
    for page in PAGES:
        folder = tmp_path / f"page-{page}" / "dumps"
        write_remote_dumps(store.endpoint, store.graph, info, folder, page=page)
        digests.append(_digests(folder))
        assert _leftovers(folder.parent) == []  # the temporary store and files are gone
    assert digests[0] == digests[1] == digests[2]
    expected = {"digiregion.ttl.gz", "digiregion.nt.gz", "digiregion.jsonld.gz"}
    assert set(digests[0]) == (expected | {"digiregion.nq.gz"} if info.graphs else expected)

    dumped = rdflib.Graph().parse(data=gzip.decompress((folder / "digiregion.nt.gz").read_bytes()), format="nt")
    engine = rdflib.Graph().parse(data=b"\n".join(str(t).encode() + b" ." for t in store.construct(
        "CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o }", default_graphs=[store.graph], timeout=60)), format="nt")
    assert len(dumped) == len(engine) == info.default_graph_triples
    assert isomorphic(dumped, engine)
    if info.graphs:  # one quad per line, every graph
        assert len(gzip.decompress((folder / "digiregion.nq.gz").read_bytes()).splitlines()) == info.triples


def test_incomplete_fetch_leaves_no_dump_and_no_temporary_folder(virtuoso, lippe_loaded, tmp_path):
    """The engine's count says one more triple than the pages hold (as after a silent row cap)."""
    store = _started(virtuoso, lippe_loaded, tmp_path)
    info = dataclasses.replace(store.info, default_graph_triples=store.info.default_graph_triples + 1,
                               triples=store.info.triples + 1)
    folder = tmp_path / "out" / "dumps"
    with pytest.raises(StoreError, match=r"Dump unvollständig .* / Dump incomplete"):
        write_remote_dumps(store.endpoint, store.graph, info, folder, page=500)
    assert not folder.exists()
    assert _leftovers(folder.parent) == []


def test_unreachable_engine_leaves_no_dump_and_no_temporary_folder(virtuoso, lippe_loaded, tmp_path):
    store = _started(virtuoso, lippe_loaded, tmp_path)
    gone = dataclasses.replace(store.endpoint, url=f"http://127.0.0.1:{_free_port()}/sparql")
    folder = tmp_path / "out" / "dumps"
    with pytest.raises(StoreError, match="nicht erreichbar / engine unreachable"):
        write_remote_dumps(gone, store.graph, store.info, folder, page=500)
    assert not folder.exists()
    assert _leftovers(folder.parent) == []


@dataclasses.dataclass(frozen=True)
class _GoneAfterTwoPages(Endpoint):
    """The real engine for two pages, then unreachable: a failure while the next page is fetched ahead."""

    calls: list[int] = dataclasses.field(default_factory=list)

    def open(self, *args, **kwargs):
        self.calls.append(1)
        if len(self.calls) == 3:
            raise EngineUnavailable("Datenbank weg / engine gone (simulated after two pages)")
        return super().open(*args, **kwargs)


def test_engine_gone_while_a_page_is_fetched_ahead_leaves_nothing(virtuoso, lippe_loaded, tmp_path):
    store = _started(virtuoso, lippe_loaded, tmp_path)
    flaky = _GoneAfterTwoPages(**{f.name: getattr(store.endpoint, f.name) for f in dataclasses.fields(Endpoint)})
    folder = tmp_path / "out" / "dumps"
    with pytest.raises(StoreError, match="engine gone"):
        write_remote_dumps(flaky, store.graph, store.info, folder, page=500)
    assert len(flaky.calls) == 3  # the third page failed; no fourth was started
    assert not folder.exists()
    assert _leftovers(folder.parent) == []
