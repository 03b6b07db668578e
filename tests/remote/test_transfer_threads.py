"""The remote store's hand-over between transfer threads and the event loop (``transfer_threads``, ``Pipe``).

No engine needed: the work functions stand in for a transfer. What must hold: every job frees its slot
(``done``) however it ends; a transfer that fails with an unexpected exception answers with an error at
once instead of leaving the client waiting for its deadline; chunks are bounded (a thread that gets
ahead of a slow client waits), the final item never waits; a cancelled pipe stops the thread.
"""

from __future__ import annotations

import asyncio
import threading
import time

from digiregion.store.base import StoreError
from digiregion.store.streaming import PIPE_DEPTH, Cancelled, Pipe
from digiregion.store.transfer_threads import TransferThreads


def test_answers_and_slots_for_every_way_a_job_ends():
    threads = TransferThreads(2, "test-transfer")
    outcomes: dict[str, object] = {}

    def answer(pipe: Pipe) -> None:
        pipe.put("Z", b"body")

    def bug(pipe: Pipe) -> None:
        raise KeyError("not a store error")

    def cancelled(pipe: Pipe) -> None:
        raise Cancelled

    async def main() -> None:
        loop = asyncio.get_running_loop()
        for name, work in (("answer", answer), ("bug", bug), ("cancelled", cancelled)):
            done = asyncio.Event()
            pipe = Pipe(loop)
            threads.submit(work, pipe, done.set)
            await asyncio.wait_for(done.wait(), 5)
            outcomes[name] = pipe.queue.get_nowait() if not pipe.queue.empty() else None
        threads.shutdown()

    asyncio.run(main())
    assert outcomes["answer"] == ("Z", b"body")
    tag, error = outcomes["bug"]  # type: ignore[misc]
    assert tag == "E" and isinstance(error, StoreError) and "KeyError" in error.message
    assert outcomes["cancelled"] is None  # nothing to say: the loop side had given up


def test_chunks_wait_for_room_and_the_final_item_does_not():
    threads = TransferThreads(1, "test-transfer")
    sent: list[int] = []
    may_finish = threading.Event()

    def chatty(pipe: Pipe) -> None:
        for n in range(PIPE_DEPTH + 3):
            pipe.put("D", n)
            sent.append(n)
        may_finish.wait(5)
        pipe.put("Z", None)

    async def main() -> list[object]:
        loop = asyncio.get_running_loop()
        pipe = Pipe(loop)
        done = asyncio.Event()
        threads.submit(chatty, pipe, done.set)
        await asyncio.sleep(0.3)
        assert len(sent) == PIPE_DEPTH  # the thread is held back until the loop takes chunks
        items = [(await pipe.get())[1] for _ in range(3)]
        deadline = time.monotonic() + 5
        while len(sent) < PIPE_DEPTH + 3 and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        may_finish.set()  # the pipe still holds PIPE_DEPTH chunks: the final item must not wait for room
        await asyncio.wait_for(done.wait(), 5)
        while True:
            tag, payload = await pipe.get()
            items.append(payload)
            if tag == "Z":
                break
        threads.shutdown()
        return items

    items = asyncio.run(main())
    assert items == [*range(PIPE_DEPTH + 3), None]


def test_a_cancelled_pipe_stops_a_waiting_thread():
    threads = TransferThreads(1, "test-transfer")
    stopped = threading.Event()

    def flood(pipe: Pipe) -> None:
        try:
            while True:
                pipe.put("D", b"x")
        except Cancelled:
            stopped.set()
            raise

    async def main() -> None:
        pipe = Pipe(asyncio.get_running_loop())
        done = asyncio.Event()
        threads.submit(flood, pipe, done.set)
        await asyncio.sleep(0.1)
        pipe.cancel()
        await asyncio.wait_for(done.wait(), 5)
        threads.shutdown()

    asyncio.run(main())
    assert stopped.is_set()
