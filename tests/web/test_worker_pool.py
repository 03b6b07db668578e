"""The embedded store's worker pool: workers forked from one in-memory copy, replaced by forking a sibling.

In-process over the small fixtures with real worker processes (no mocks): the pool is started as the
web app starts it, and queries go through ``EmbeddedStore.query``. No timed assertions: waiting
loops only bound how long a broken pool may take to fail.
"""

from __future__ import annotations

import asyncio
import json
import time

import pytest

from digiregion.config import Settings
from digiregion.store import loader
from digiregion.store.base import QueryRequest, QueryTimeout
from digiregion.store.embedded import EmbeddedStore

from .conftest import FIXTURE_DATA

COUNT = "SELECT (COUNT(*) AS ?n) { ?s ?p ?o }"
SLOW = "SELECT (COUNT(*) AS ?n) { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l . ?m ?n2 ?o }"


def _parent_of(pid: int) -> int:
    with open(f"/proc/{pid}/stat") as fh:
        return int(fh.read().rsplit(")", 1)[1].split()[1])


async def _in_memory_pool(store: EmbeddedStore, size: int) -> None:
    """Wait until the pool has ``size`` workers, all forked from the in-memory copy."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        workers = list(store._all)
        if len(workers) == size and all(w.in_memory for w in workers) and store._idle.qsize() == size:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"pool not in memory: {[(w.pid, w.in_memory) for w in store._all]}")


async def _count(store: EmbeddedStore, suffix: str = "") -> int:
    result = await store.query(QueryRequest(COUNT + suffix, "json"))
    return int(json.loads(result.complete)["results"]["bindings"][0]["n"]["value"])


def _store(tmp_path, **overrides) -> EmbeddedStore:
    settings = Settings(data=(FIXTURE_DATA,), store_dir=tmp_path / "stores", **{"workers": 2, **overrides})
    return EmbeddedStore(loader.open_or_build(settings), settings)


def test_workers_are_forked_from_one_in_memory_copy_and_the_fork_server_leaves(tmp_path):
    async def scenario() -> None:
        store = _store(tmp_path)
        await store.start()
        server = store._forkserver
        try:
            await _in_memory_pool(store, 2)
            assert store._forkserver is None  # its copy would be a third one next to the workers' pages
            await asyncio.wait_for(server.process.wait(), 30)
            assert await _count(store) == store.info.default_graph_triples
        finally:
            await store.close()

    asyncio.run(scenario())


def test_a_worker_killed_at_its_deadline_is_replaced_by_a_fork_of_its_sibling(tmp_path):
    async def scenario() -> None:
        store = _store(tmp_path, query_timeout=1.0)
        await store.start()
        try:
            await _in_memory_pool(store, 2)
            before = {w.pid for w in store._all}
            with pytest.raises(QueryTimeout):
                await store.query(QueryRequest(SLOW, "json"))
            await _in_memory_pool(store, 2)
            after = {w.pid for w in store._all}
            (survivor,) = before & after
            (replacement,) = after - before
            assert _parent_of(replacement) == survivor  # forked from the sibling, already in memory
            for n in range(4):  # both answer; distinct texts so the result cache cannot
                assert await _count(store, f" # {n}") == store.info.default_graph_triples
        finally:
            await store.close()

    asyncio.run(scenario())


def test_with_one_worker_a_timeout_reloads_the_copy_through_a_new_fork_server(tmp_path):
    async def scenario() -> None:
        store = _store(tmp_path, query_timeout=1.0, workers=1)
        await store.start()
        try:
            await _in_memory_pool(store, 1)
            with pytest.raises(QueryTimeout):
                await store.query(QueryRequest(SLOW, "json"))
            await _in_memory_pool(store, 1)  # no sibling to fork from: on disk first, then a fresh copy
            assert await _count(store) == store.info.default_graph_triples
        finally:
            await store.close()

    asyncio.run(scenario())
