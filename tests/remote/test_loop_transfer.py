"""The remote store's short way (``loop_transfer`` over ``loop_transport``) against a local HTTP/1.1 engine.

What must hold, on asyncio's loop and on uvloop (the server's): the request is the one the thread path
sends (SPARQLWrapper builds both); answers arrive whole whatever their framing (length, chunks, close)
and size (reading pauses while the consumer is behind); connections are reused only after a complete
answer and never after an abandoned one; a reused connection the engine closes before answering is
retried once; errors carry the engine's message as the thread path names it; answers this path does not
take go to the thread path; the engine slot is freed exactly once however a transfer ends. No Virtuoso
needed: ``tests/remote/test_web_suite.py`` runs the whole endpoint suite against a real one.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qs

import pytest
import uvloop

from digiregion.config import Settings
from digiregion.store.base import QuerySyntaxError, QueryTimeout, ResultTooLarge, StoreError
from digiregion.store.credentials import Credentials
from digiregion.store.deviations import EngineDeviation
from digiregion.store.engines import VIRTUOSO
from digiregion.store.loop_transfer import LoopTransfer
from digiregion.store.loop_transport import READ_AHEAD, EngineConnections, request_bytes
from digiregion.store.remote import RemoteStore
from digiregion.store.sparql_client import Endpoint, EngineUnavailable
from digiregion.store.streaming import Pipe
from digiregion.store.transfer_threads import TransferThreads
from tests.remote.conftest import StandInEngine, StandInHandler, engine_in_thread

ROW = b'{"s": {"type": "bnode", "value": "nodeID://b10003"}, "n": {"type": "typed-literal", "datatype": ' \
      b'"http://www.w3.org/2001/XMLSchema#integer", "value": "7"}}'
ANSWER = b'{"head": {"vars": ["s", "n"]}, "results": {"bindings": [' + ROW + b"]}}"
PASSED_ON = ANSWER.replace(b"nodeID://b10003", b"bnodeID_3a_2f_2fb10003").replace(b"typed-literal", b"literal")
"""The answer as a client gets it: Virtuoso's blank-node label made parseable, its 2007 term type fixed."""
JSON = "application/sparql-results+json"

LOOPS: dict[str, Callable[[], asyncio.AbstractEventLoop]] = {
    "asyncio": asyncio.new_event_loop, "uvloop": uvloop.new_event_loop}


def many_rows(count: int) -> bytes:
    return b'{"head": {"vars": ["s", "n"]}, "results": {"bindings": [' + b", ".join([ROW] * count) + b"]}}"


MANY = many_rows(20_000)
"""A 2.8 MB answer, sent in pieces that cut through rows."""


class Engine(StandInEngine):
    """Answers each POST as its query text asks (``shape:…``); records connections and raw requests."""

    def __init__(self) -> None:
        super().__init__(Handler)
        self.raw: list[tuple[str, dict[str, str], bytes]] = []
        self.drop_next_reused = False
        self.require_basic: str | None = None

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that went away mid-answer is part of the tests


class Handler(StandInHandler):
    server: Engine

    def setup(self) -> None:
        super().setup()
        self.served = 0

    def do_GET(self) -> None:  # where a 303 sends urllib (the thread path)
        self._send(200, ANSWER, JSON)

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.served += 1
        self.server.raw.append((self.requestline, {k.lower(): v for k, v in self.headers.items()}, body))
        if self.server.require_basic and self.headers.get("Authorization") != self.server.require_basic:
            self._send(401, b"who are you?", "text/plain", {"WWW-Authenticate": 'Basic realm="SPARQL"'})
            return
        if self.served > 1 and self.server.drop_next_reused:
            self.server.drop_next_reused = False
            self.close_connection = True  # as an engine whose keep-alive timeout fired just now: no answer
            return
        shape = parse_qs(body.decode()).get("query", [""])[0].rpartition("shape:")[2].split()[0]
        if shape == "chunked":
            self._chunked([ANSWER[:40], ANSWER[40:97], ANSWER[97:]])
        elif shape == "many":
            self._chunked([MANY[i:i + 70_001] for i in range(0, len(MANY), 70_001)])
        elif shape == "until-close":
            self.send_response(200)
            self.send_header("Content-Type", JSON)
            self.end_headers()
            self.wfile.write(ANSWER)
            self.close_connection = True
        elif shape == "syntax":
            self._send(400, b"SP030: SPARQL compiler, line 1: syntax error\n\nSPARQL query:\nSELECT ...", "text/plain")
        elif shape == "transitive":
            self._send(500, b"SR362: transitive start not given", "text/plain")
        elif shape == "busy":
            self._send(503, b"try later", "text/plain")
        elif shape == "anytime":
            self._send(200, ANSWER, JSON, {"X-SQL-State": "S1TAT", "X-SQL-Message": "RC...: Returning incomplete"})
        elif shape == "plain-json":
            self._send(200, ANSWER, "application/json")
        elif shape == "see-other":
            self._send(303, b"", "text/plain", {"Location": self.path})
        elif shape == "slow":
            time.sleep(2)
            self._send(200, ANSWER, JSON)
        else:
            self._send(200, ANSWER, JSON)

    def _send(self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _chunked(self, pieces: list[bytes]) -> None:
        self.send_response(200)
        self.send_header("Content-Type", JSON)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for piece in pieces:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            self.wfile.flush()
            time.sleep(0.01)  # each piece arrives on its own
        self.wfile.write(b"0\r\n\r\n")


@pytest.fixture
def engine() -> Iterator[Engine]:
    yield from engine_in_thread(Engine())  # type: ignore[misc]


class Harness:
    """What the remote store gives a transfer: the endpoint, the connections, slots and the thread path."""

    def __init__(self, engine: Engine, max_bytes: int = 64 * 1024 * 1024, credentials: Credentials | None = None,
                 auth: str = "auto") -> None:
        self.endpoint = Endpoint(engine.url, credentials or Credentials(), auth, profile=VIRTUOSO)
        self.connections = EngineConnections(engine.url)
        self.threads = TransferThreads(2, "test-loop-fallback")
        self.store = RemoteStore(Settings(store=engine.url, max_result_bytes=max_bytes))
        self.store.profile, self.store.endpoint = VIRTUOSO, self.endpoint
        self.max_bytes = max_bytes
        self.released = 0
        self.handed_over = 0

    def start(self, text: str, timeout: float = 10.0) -> LoopTransfer:
        request = self.endpoint.request(text, "SELECT", default_graphs=["urn:g"], timeout=timeout)
        return LoopTransfer(self.connections, request_bytes(request, self.connections.host_header), self.endpoint,
                            VIRTUOSO, timeout=timeout, max_bytes=self.max_bytes,
                            too_large=lambda: ResultTooLarge("too large"), release=self._release,
                            fallback=lambda: self._thread(text, timeout))

    def _release(self) -> None:
        self.released += 1

    def _thread(self, text: str, timeout: float) -> Pipe:
        """The remote store's own thread path for a JSON answer (``RemoteStore._transfer``)."""
        self.handed_over += 1
        pipe = Pipe(asyncio.get_running_loop())
        self.threads.submit(lambda p: self.store._transfer(p, text, "SELECT", "json", ["urn:g"], [], timeout),
                            pipe, self._release)
        return pipe


async def collect(transfer: Any) -> tuple[list[str], Any]:
    """Every item's tag and the joined answer (or the error)."""
    tags: list[str] = []
    body = bytearray()
    while True:
        tag, payload = await asyncio.wait_for(transfer.get(), 10)
        tags.append(tag)
        if tag == "E":
            return tags, payload
        body += payload
        if tag == "Z":
            return tags, bytes(body)


def run(loop: str, main: Callable[[], Any]) -> Any:
    with asyncio.Runner(loop_factory=LOOPS[loop]) as runner:
        return runner.run(main())


@pytest.fixture(params=sorted(LOOPS))
def loop(request: pytest.FixtureRequest) -> str:
    return request.param


def test_the_loop_sends_the_request_the_thread_path_sends(engine):
    endpoint = Endpoint(engine.url, Credentials(), profile=VIRTUOSO)
    text = 'SELECT * { ?s ?p "ä & é + ?" } # shape:plain'
    endpoint.open(text, "SELECT", default_graphs=["urn:g"], named_graphs=["urn:n"], timeout=5).close()
    connections = EngineConnections(engine.url)

    async def main() -> None:
        request = endpoint.request(text, "SELECT", default_graphs=["urn:g"], named_graphs=["urn:n"], timeout=5)
        connection = await connections.exchange(request_bytes(request, connections.host_header))
        assert await connection.read_all(1 << 20) == ANSWER
        connection.close()

    asyncio.run(main())
    (line_thread, headers_thread, body_thread), (line_loop, headers_loop, body_loop) = engine.raw
    assert line_loop == line_thread and body_loop == body_thread
    assert parse_qs(body_loop.decode())["timeout"] == ["5000"]  # Virtuoso's own limit, as on the thread path
    transport_only = {"connection", "accept-encoding"}  # urllib's, not SPARQLWrapper's
    assert {k: v for k, v in headers_loop.items() if k not in transport_only} == \
        {k: v for k, v in headers_thread.items() if k not in transport_only}


@pytest.mark.parametrize("shape", ["plain", "chunked", "until-close"])
def test_answers_arrive_whole_and_rewritten_whatever_their_framing(engine, loop, shape):
    harness = Harness(engine)

    async def main() -> tuple[list[str], Any]:
        return await collect(harness.start(f"SELECT * {{ ?s ?p ?o }} # shape:{shape}"))

    tags, body = run(loop, main)
    assert body == PASSED_ON
    assert tags[-1] == "Z" and harness.released == 1 and harness.handed_over == 0


def test_a_large_answer_streams_in_pieces_and_reading_pauses_for_a_slow_consumer(engine, loop):
    harness = Harness(engine)
    expected = MANY.replace(b"nodeID://b10003", b"bnodeID_3a_2f_2fb10003").replace(
        b"typed-literal", b"literal")

    async def main() -> tuple[list[str], bytes, int]:
        transfer = harness.start("SELECT * { ?s ?p ?o } # shape:many")
        tags: list[str] = []
        body = bytearray()
        most = 0
        while not tags or tags[-1] not in ("Z", "E"):
            await asyncio.sleep(0.6 if len(tags) == 1 else 0.02)  # a slow client: the engine sends all meanwhile
            connection = transfer._connection
            most = max(most, connection._buffered if connection is not None else 0)
            tag, payload = await transfer.get()
            tags.append(tag)
            body += payload
        return tags, bytes(body), most

    tags, body, most = run(loop, main)
    assert body == expected  # no term cut between pieces, nothing lost while reading was paused
    assert tags.count("D") >= 2 and tags[-1] == "Z"
    assert READ_AHEAD <= most < 2 * READ_AHEAD < len(expected)  # held back, not the whole answer in memory
    assert harness.released == 1


def test_connections_are_reused_only_after_a_complete_answer(engine, loop):
    harness = Harness(engine)

    async def main() -> None:
        for _ in range(3):
            assert (await collect(harness.start("SELECT * { ?s ?p ?o }")))[1] == PASSED_ON
        assert engine.connections == 1
        transfer = harness.start("SELECT * { ?s ?p ?o } # shape:many")
        tag, _ = await transfer.get()
        assert tag == "D"
        transfer.cancel()  # client gone halfway: unread bytes remain on that connection
        assert (await collect(harness.start("SELECT * { ?s ?p ?o }")))[1] == PASSED_ON
        assert engine.connections == 2
        assert (await collect(harness.start("SELECT * { ?s ?p ?o } # shape:until-close")))[1] == PASSED_ON
        assert (await collect(harness.start("SELECT * { ?s ?p ?o }")))[1] == PASSED_ON
        assert engine.connections == 3  # the engine closed the last one: not kept

    run(loop, main)
    assert harness.released == 7


def test_a_connection_the_engine_drops_is_replaced(engine, loop):
    harness = Harness(engine)

    async def main() -> None:
        assert (await collect(harness.start("SELECT * { ?s ?p ?o }")))[1] == PASSED_ON
        engine.drop_next_reused = True  # closes the kept connection on the next request, without answering
        assert (await collect(harness.start("SELECT * { ?s ?p ?o }")))[1] == PASSED_ON
        assert engine.connections == 2
        idle = harness.connections._idle
        assert len(idle) == 1
        idle[0].transport.close()  # as if the engine's keep-alive timeout had closed it while idle
        await asyncio.sleep(0.05)
        assert (await collect(harness.start("SELECT * { ?s ?p ?o }")))[1] == PASSED_ON
        assert engine.connections == 3

    run(loop, main)


@pytest.mark.parametrize(("shape", "error", "words"), [
    ("syntax", QuerySyntaxError, "SP030: SPARQL compiler, line 1: syntax error"),
    ("transitive", EngineDeviation, "transitiver Pfad"),
    ("busy", EngineUnavailable, "HTTP 503"),
    ("anytime", QueryTimeout, "Teilergebnis"),
])
def test_engine_errors_are_named_as_on_the_thread_path(engine, loop, shape, error, words):
    harness = Harness(engine)
    text = f"SELECT * {{ ?s ?p ?o }} # shape:{shape}"

    async def main() -> tuple[list[str], Any]:
        return await collect(harness.start(text))

    tags, failure = run(loop, main)
    assert tags == ["E"] and type(failure) is error and words in failure.message
    assert "SPARQL query:" not in failure.message  # Virtuoso's echo of the query is cut
    with pytest.raises(StoreError) as thread_error:  # the thread path's answer to the same query
        harness.endpoint.open(text, "SELECT", default_graphs=["urn:g"], timeout=10).close()
    assert type(thread_error.value) is error and thread_error.value.message == failure.message
    assert harness.released == 1


def test_an_unreachable_engine_and_an_answer_over_the_cap(engine, loop):
    harness = Harness(engine, max_bytes=10_000)
    closed = Harness(engine)
    closed.connections = EngineConnections("http://127.0.0.1:9/sparql")  # discard port: nothing listens

    async def main() -> tuple[Any, Any]:
        return (await collect(harness.start("SELECT * { ?s ?p ?o } # shape:many")))[1], \
            (await collect(closed.start("SELECT * { ?s ?p ?o }")))[1]

    too_large, unreachable = run(loop, main)
    assert isinstance(too_large, ResultTooLarge)
    assert isinstance(unreachable, EngineUnavailable) and "nicht erreichbar" in unreachable.message
    assert harness.released == 1 and closed.released == 1
    assert not harness.connections._idle  # the unread rest of the large answer closed its connection


@pytest.mark.parametrize("shape", ["plain-json", "see-other"])
def test_answers_this_path_does_not_take_go_to_the_thread_path(engine, loop, shape):
    harness = Harness(engine)

    async def main() -> tuple[list[str], Any]:
        answer = await collect(harness.start(f"SELECT * {{ ?s ?p ?o }} # shape:{shape}"))
        await asyncio.sleep(0.1)  # the thread frees the slot on the loop just after its final item
        return answer

    tags, body = run(loop, main)
    assert harness.handed_over == 1 and harness.released == 1  # freed once, by the thread
    assert tags == ["Z"]
    assert json.loads(body) == json.loads(PASSED_ON)  # re-serialised by pyoxigraph: same solutions
    harness.threads.shutdown()


def test_a_deadline_closes_the_connection_and_frees_the_slot(engine, loop):
    harness = Harness(engine)

    async def main() -> None:
        transfer = harness.start("SELECT * { ?s ?p ?o } # shape:slow")
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.3):
                await transfer.get()
        transfer.cancel()  # what the store does after its deadline; a second cancel changes nothing
        assert harness.released == 1
        assert not harness.connections._idle

    run(loop, main)


@pytest.mark.parametrize("auth", ["auto", "basic"])
def test_credentials_up_front_or_after_a_challenge(engine, loop, auth):
    token = "Basic " + base64.b64encode(b"reader:secret").decode()
    engine.require_basic = token
    harness = Harness(engine, credentials=Credentials("reader", "secret"), auth=auth)

    async def main() -> tuple[list[str], Any]:
        answer = await collect(harness.start("SELECT * { ?s ?p ?o }"))
        await asyncio.sleep(0.1)  # a thread frees the slot on the loop just after its final item
        return answer

    tags, body = run(loop, main)
    assert tags[-1] == "Z" and body == PASSED_ON and harness.released == 1
    sent = [headers.get("authorization", "") for _, headers, _ in engine.raw]
    if auth == "basic":  # SPARQLWrapper put them into the request: answered on the loop
        assert sent == [token] and harness.handed_over == 0 and not harness.connections.challenged
    else:  # nothing before the challenge; urllib answers it on the thread path, which takes every later query
        assert sent == ["", "", token] and harness.handed_over == 1 and harness.connections.challenged
    harness.threads.shutdown()


def test_queries_in_the_engine_at_once_follow_the_setting(engine):
    chosen = RemoteStore(Settings(store=engine.url, store_connections=3))
    default = RemoteStore(Settings(store=engine.url))
    assert chosen._slots._value == 3
    assert default._slots._value == max(4, 2 * (os.cpu_count() or 2))  # not tied to the embedded store's workers
    assert RemoteStore(Settings(store=engine.url, workers=8))._slots._value == default._slots._value
