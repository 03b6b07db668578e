"""The embedded store's worker pool: workers forked from one in-memory copy, retired and replaced.

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
from digiregion.store.worker import CopyGuard

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
    settings = Settings(data=(FIXTURE_DATA,), store_dir=tmp_path / "stores", workers=2, **overrides)
    return EmbeddedStore(loader.open_or_build(settings), settings)


def test_workers_are_forked_from_one_in_memory_copy(tmp_path):
    async def scenario() -> None:
        store = _store(tmp_path)
        await store.start()
        try:
            await _in_memory_pool(store, 2)
            server_pid = store._forkserver.process.pid
            assert {_parent_of(w.pid) for w in store._all} == {server_pid}  # children of the fork server
            assert await _count(store) == store.info.default_graph_triples
        finally:
            await store.close()

    asyncio.run(scenario())


def test_a_retiring_worker_hands_over_to_a_fresh_fork(tmp_path):
    async def scenario() -> None:
        store = _store(tmp_path)
        store._config["retire_bytes"] = 1  # every forked worker retires after its first answer
        await store.start()
        try:
            await _in_memory_pool(store, 2)
            before = {w.pid for w in store._all}
            seen = set()
            for n in range(6):  # distinct texts: the result cache must not answer them
                assert await _count(store, f" # {n}") == store.info.default_graph_triples
                await _in_memory_pool(store, 2)
                seen |= {w.pid for w in store._all}
            assert len(seen - before) >= 6  # each answer came from a fresh fork, and the pool stayed full
        finally:
            await store.close()

    asyncio.run(scenario())


def test_a_worker_killed_at_its_deadline_is_replaced_in_memory(tmp_path):
    async def scenario() -> None:
        store = _store(tmp_path, query_timeout=1.0)
        await store.start()
        try:
            await _in_memory_pool(store, 2)
            with pytest.raises(QueryTimeout):
                await store.query(QueryRequest(SLOW, "json"))
            await _in_memory_pool(store, 2)
            assert await _count(store) == store.info.default_graph_triples
        finally:
            await store.close()

    asyncio.run(scenario())


def test_copy_guard_reads_the_exact_size_only_when_the_faults_could_reach_the_limit(monkeypatch):
    from digiregion.store import worker

    monkeypatch.setattr(worker, "PAGE_SIZE", 1000)
    faults = iter([0, 10, 3000, 4500, 9000])
    exact = iter([1_000_000, 5_000_000])
    readings: list[int] = []

    def private() -> int:
        readings.append(1)
        return next(exact)

    guard = CopyGuard(limit=4_000_000, private=private, faults=lambda: next(faults))  # counter starts at 0
    assert not guard.should_retire() and not readings  # 10 faults: at most 10 kB can have been copied
    assert not guard.should_retire() and not readings  # 3,000 faults: at most 3 MB
    assert not guard.should_retire() and len(readings) == 1  # 4,500: 4.5 MB possible: exact reading, 1 MB
    assert guard.should_retire() and len(readings) == 2  # 1 MB + 4,500 faults: exact reading, 5 MB ≥ 4 MB
