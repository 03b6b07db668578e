"""Kept-alive connections to the engine (``store/keepalive.py``) against a tiny local HTTP/1.1 server:
reuse, no reuse after an unfinished answer, an engine that closes idle connections, the auth challenge,
and the engine's error answers. No Virtuoso needed."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from urllib.parse import parse_qs

import pytest

from digiregion.store.base import QuerySyntaxError
from digiregion.store.credentials import Credentials
from digiregion.store.keepalive import POOL
from digiregion.store.sparql_client import Endpoint, EngineUnavailable
from tests.remote.conftest import StandInEngine, StandInHandler, engine_in_thread

ANSWER = b'{"head": {"vars": ["x"]}, "results": {"bindings": [{"x": {"type": "literal", "value": "1"}}]}}'
BIG = b" " * 200_000 + ANSWER


class Engine(StandInEngine):
    """Answers every POST with a fixed SPARQL JSON result; records connections and requests."""

    def __init__(self) -> None:
        super().__init__(Handler)
        self.requests: list[dict[str, str]] = []
        self.close_after_each = False
        self.require_basic: str | None = None


class Handler(StandInHandler):
    server: Engine

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
        self.server.requests.append({"authorization": self.headers.get("Authorization", ""), **form})
        if self.server.require_basic and self.headers.get("Authorization") != self.server.require_basic:
            self._send(401, b"who are you?", {"WWW-Authenticate": 'Basic realm="SPARQL"'})
            return
        if "syntax error" in form.get("query", ""):
            self._send(400, b"SP030: SPARQL compiler, line 1: syntax error")
            return
        self._send(200, BIG if "big" in form.get("query", "") else ANSWER,
                   {"Content-Type": "application/sparql-results+json"})

    def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        if self.server.close_after_each:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def engine() -> Iterator[Engine]:
    yield from engine_in_thread(Engine())  # type: ignore[misc]


def _ask(endpoint: Endpoint, text: str = "SELECT * { ?s ?p ?o }", read: int = -1) -> bytes:
    response = endpoint.open(text, "SELECT", default_graphs=["urn:g"], timeout=10)
    try:
        return response.read() if read < 0 else response.read(read)
    finally:
        response.close()


def test_connections_are_reused(engine):
    endpoint = Endpoint(engine.url, Credentials())
    for _ in range(5):
        assert _ask(endpoint) == ANSWER
    assert engine.connections == 1
    assert engine.requests[0]["default-graph-uri"] == "urn:g" and "query" in engine.requests[0]


def test_an_unfinished_answer_takes_its_connection_with_it(engine):
    endpoint = Endpoint(engine.url, Credentials())
    assert _ask(endpoint, "SELECT * { ?big ?p ?o }", read=10) == b" " * 10  # closed early: unread bytes left
    assert _ask(endpoint) == ANSWER  # so this one must not see them
    assert engine.connections == 2
    assert _ask(endpoint) == ANSWER
    assert engine.connections == 2


def test_an_engine_that_closes_connections(engine):
    engine.close_after_each = True
    endpoint = Endpoint(engine.url, Credentials())
    for _ in range(3):
        assert _ask(endpoint) == ANSWER
    assert engine.connections == 3
    assert POOL.idle_count() == 0


def test_idle_connection_closed_by_the_engine_is_not_reused(engine):
    endpoint = Endpoint(engine.url, Credentials())
    assert _ask(endpoint) == ANSWER
    with POOL._lock:
        idle = [conn for entries in POOL._idle.values() for _, conn in entries]
    assert len(idle) == 1
    idle[0].sock.shutdown(2)  # as if the engine's keep-alive timeout had closed it
    assert _ask(endpoint) == ANSWER
    assert engine.connections == 2


def test_basic_challenge_is_answered_and_nothing_is_sent_before(engine):
    token = "Basic " + base64.b64encode(b"reader:secret").decode()
    engine.require_basic = token
    endpoint = Endpoint(engine.url, Credentials("reader", "secret"), "auto")
    assert _ask(endpoint) == ANSWER
    assert [r["authorization"] for r in engine.requests] == ["", token]
    assert engine.connections == 1  # the challenge's connection carried the answer


def test_wrong_credentials_are_a_clear_error(engine):
    engine.require_basic = "Basic " + base64.b64encode(b"reader:secret").decode()
    with pytest.raises(EngineUnavailable, match="verweigert"):
        _ask(Endpoint(engine.url, Credentials("reader", "wrong"), "auto"))


def test_engine_syntax_error_keeps_its_message(engine):
    with pytest.raises(QuerySyntaxError, match="SP030"):
        _ask(Endpoint(engine.url, Credentials()), "SELECT syntax error")
    assert _ask(Endpoint(engine.url, Credentials())) == ANSWER
    assert engine.connections == 1  # the error answer was read to the end: its connection is reused
