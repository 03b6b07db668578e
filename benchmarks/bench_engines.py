"""The engines of the service benchmark: start on 127.0.0.1, load the same files, stop, measure RSS.

Each engine is a small class with ``start(files_dir, work) -> seconds`` (load + start-up until the
endpoint answers), ``stop()`` (always called, in ``finally``), ``rss()`` (resident memory of the whole
server process tree, read from /proc) and the request details of its SPARQL endpoint. Nothing here
listens on anything but 127.0.0.1; every wait has a deadline.

Reused by issue 4 (remote store backend): add ``digiregion → Virtuoso`` as one more ``Engine`` whose
``start`` runs ``digiregion serve --store http://127.0.0.1:PORT/sparql`` after ``VirtuosoEngine``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import ClassVar

ROOT = Path(__file__).resolve().parent.parent
PEERS_VENV = ROOT / "benchmarks" / ".venv-peers"
VIRTUOSO_SH = ROOT / "scripts" / "virtuoso.sh"
VIRTUOSO_GRAPH = "urn:digiregion:bench"
PAGE = os.sysconf("SC_PAGE_SIZE")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _children(pid: int) -> list[int]:
    found: list[int] = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as fh:
                found.extend(int(c) for c in fh.read().split())
    except OSError:
        pass
    return found


def tree_rss(pid: int) -> int:
    """Resident bytes of ``pid`` and all its descendants (from /proc; 0 when it is gone).

    Walks /proc/PID/task/*/children instead of scanning all of /proc: the sampler runs in the
    benchmark's client process and must not steal noticeable time from the measured requests.
    """
    total, stack, seen = 0, [pid], set()
    while stack:
        current = stack.pop()
        if current in seen:
            continue
        seen.add(current)
        try:
            with open(f"/proc/{current}/statm") as fh:
                total += int(fh.read().split()[1]) * PAGE
        except OSError:
            continue
        stack.extend(_children(current))
    return total


class RssSampler:
    """Samples the tree RSS of a process every ``interval`` seconds; ``peak`` is the maximum seen."""

    def __init__(self, pid: int, interval: float = 0.5) -> None:
        self.pid = pid
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._interval = interval
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, tree_rss(self.pid))
            self._stop.wait(self._interval)

    def close(self) -> int:
        self._stop.set()
        self._thread.join(5)
        return self.peak


def wait_until_answers(url: str, deadline: float, process: subprocess.Popen | None = None,
                       extra: dict[str, str] | None = None) -> None:
    """Poll ``ASK {}`` until the endpoint answers 200; raise TimeoutError / RuntimeError otherwise."""
    params = {"query": "ASK {}", **(extra or {})}
    probe = url + "?" + urllib.parse.urlencode(params)
    while True:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode} during start-up")
        try:
            with urllib.request.urlopen(urllib.request.Request(
                    probe, headers={"Accept": "application/sparql-results+json"}), timeout=5) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError, TimeoutError):
            pass
        if time.monotonic() > deadline:
            raise TimeoutError
        time.sleep(0.2)


def stop_process(process: subprocess.Popen | None, grace: float = 10) -> None:
    """Stop a server we started (its own process group: workers included), SIGKILL after ``grace``."""
    if process is None or process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(grace)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(5)


class Engine:
    """One SPARQL engine under test."""

    name = "engine"
    label = "engine"
    #: extra protocol parameters sent with every query (Virtuoso: the graph that holds the data)
    params: ClassVar[dict[str, str]] = {}

    def __init__(self, start_timeout: float, query_timeout: float) -> None:
        self.start_timeout = start_timeout
        self.query_timeout = query_timeout
        self.url = ""
        self.pid: int | None = None
        self.process: subprocess.Popen | None = None
        self.sampler: RssSampler | None = None
        self.details: dict[str, object] = {}
        self.log_path: Path | None = None

    def version(self) -> str:
        return "?"

    def start(self, files_dir: Path, work: Path) -> float:
        raise NotImplementedError

    def _popen(self, argv: list[str], work: Path, env: dict[str, str] | None = None) -> subprocess.Popen:
        self.log_path = work / f"{self.name}.log"
        log = open(self.log_path, "wb")  # noqa: SIM115 - closed with the process
        return subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True, cwd=work, env={**os.environ, **(env or {})})

    def _watch(self, pid: int) -> None:
        self.pid = pid
        self.sampler = RssSampler(pid)

    def peak_rss(self) -> int:
        return self.sampler.peak if self.sampler else 0

    def stop(self) -> None:
        stop_process(self.process)
        if self.sampler:
            self.sampler.close()


IN_MEMORY_READY = "in-memory copy ready"


class DigiregionEngine(Engine):
    name = "digiregion"
    label = "digiregion embedded"

    def __init__(self, start_timeout: float, query_timeout: float, workers: int | None = None) -> None:
        super().__init__(start_timeout, query_timeout)
        self.workers = workers

    def version(self) -> str:
        import pyoxigraph

        from digiregion import __version__
        return f"digiregion {__version__} (pyoxigraph {pyoxigraph.__version__})"

    def _argv(self, files_dir: Path, work: Path, port: int) -> list[str]:
        argv = [str(Path(sys.executable).parent / "digiregion"), "serve", "--host", "127.0.0.1", "--port",
                str(port), "--store-dir", str(work / "digiregion-store"),
                "--query-timeout", str(self.query_timeout)]
        if self.workers:
            argv += ["--workers", str(self.workers)]
        return [*argv, "--data", str(files_dir)]

    def start(self, files_dir: Path, work: Path) -> float:
        shutil.rmtree(work / "digiregion-store", ignore_errors=True)
        port = free_port()
        self.url = f"http://127.0.0.1:{port}/sparql"
        began = time.monotonic()
        self.process = self._popen(self._argv(files_dir, work, port), work)
        self._watch(self.process.pid)
        wait_until_answers(self.url, began + self.start_timeout, self.process)
        first = time.monotonic() - began
        # snapshot + dumps are written in the background after start-up: wait for them (so they do not
        # run during another engine's measurement) and report when they were ready
        dump = self.url.rsplit("/", 1)[0] + "/dumps/digiregion.nt.gz"
        while time.monotonic() < began + self.start_timeout:
            try:
                with urllib.request.urlopen(urllib.request.Request(dump, method="HEAD"), timeout=5) as response:
                    if response.status == 200:
                        self.details["dumps_ready_s"] = round(time.monotonic() - began, 2)
                        break
            except (urllib.error.URLError, OSError, TimeoutError):
                pass
            time.sleep(0.5)
        # a restart over the persisted store (the normal case in production) is measured too
        stop_process(self.process)
        began = time.monotonic()
        self.process = self._popen(self._argv(files_dir, work, port), work)
        self.sampler.pid = self.process.pid
        wait_until_answers(self.url, began + self.start_timeout, self.process)
        self.details["restart_s"] = round(time.monotonic() - began, 2)
        # the workers answer from the on-disk store at once and switch to their in-memory copies when
        # loaded (logged by each worker); measure that too and start measuring only afterwards
        expected = self.workers or 2
        while time.monotonic() < began + self.start_timeout:
            if self.log_path and self.log_path.read_text(errors="replace").count(IN_MEMORY_READY) >= expected:
                self.details["restart_in_memory_s"] = round(time.monotonic() - began, 2)
                break
            time.sleep(0.2)
        return first


class OxigraphEngine(Engine):
    name = "oxigraph"
    label = "Oxigraph server"

    def _bin(self) -> str:
        return str(PEERS_VENV / "bin" / "oxigraph")

    def version(self) -> str:
        out = subprocess.run([self._bin(), "--version"], capture_output=True, text=True, timeout=30)
        return out.stdout.strip()

    def start(self, files_dir: Path, work: Path) -> float:
        location = work / "oxigraph-db"
        shutil.rmtree(location, ignore_errors=True)
        files = sorted(str(p) for p in files_dir.rglob("*") if p.is_file())
        began = time.monotonic()
        load = subprocess.run([self._bin(), "load", "--location", str(location), "--file", *files],
                              capture_output=True, text=True, timeout=self.start_timeout)
        if load.returncode != 0:
            raise RuntimeError(f"oxigraph load failed: {load.stderr[-2000:]}")
        self.details["load_s"] = round(time.monotonic() - began, 2)
        port = free_port()
        self.url = f"http://127.0.0.1:{port}/query"
        self.process = self._popen([self._bin(), "serve-read-only", "--location", str(location), "--bind",
                                    f"127.0.0.1:{port}", "--timeout-s", str(int(self.query_timeout))], work)
        self._watch(self.process.pid)
        wait_until_answers(self.url, began + self.start_timeout, self.process)
        return time.monotonic() - began


class VirtuosoEngine(Engine):
    name = "virtuoso"
    label = "Virtuoso 7"
    params: ClassVar[dict[str, str]] = {"default-graph-uri": VIRTUOSO_GRAPH}

    def version(self) -> str:
        out = subprocess.run(["virtuoso-t", "-?"], capture_output=True, text=True, timeout=30)
        lines = (out.stdout + out.stderr).splitlines()
        return "Virtuoso " + next((line.strip() for line in lines if line.startswith("Version")), "?")

    def start(self, files_dir: Path, work: Path) -> float:
        self.db = work / "virtuoso-db"
        shutil.rmtree(self.db, ignore_errors=True)
        port, http_port = free_port(), free_port()
        self.url = f"http://127.0.0.1:{http_port}/sparql"
        env = {**os.environ, "VIRTUOSO_START_TIMEOUT": str(int(self.start_timeout))}
        began = time.monotonic()
        self._started = True
        subprocess.run(["bash", str(VIRTUOSO_SH), "start", str(self.db), str(port), str(http_port)], check=True,
                       env=env, timeout=self.start_timeout + 30, capture_output=True)
        self._watch(int((self.db / "virtuoso.pid").read_text()))
        self.details["server_start_s"] = round(time.monotonic() - began, 2)
        load = subprocess.run(["bash", str(VIRTUOSO_SH), "load", str(self.db), str(files_dir), VIRTUOSO_GRAPH],
                              env=env, timeout=max(60.0, self.start_timeout), capture_output=True, text=True)
        if load.returncode != 0:
            # a file Virtuoso cannot load is reported (and shows up as wrong answers), not fatal
            self.details["load_errors"] = load.stderr.strip()[-2000:]
        return time.monotonic() - began

    def stop(self) -> None:
        if getattr(self, "_started", False):
            subprocess.run(["bash", str(VIRTUOSO_SH), "stop", str(self.db)], timeout=60, capture_output=True)
        if self.sampler:
            self.sampler.close()


class TreesRssSampler(RssSampler):
    """Like ``RssSampler`` for several process trees at once: ``peak`` is the maximum of their *sum*.

    ``pids`` may be extended while sampling (a server started after another one).
    """

    def __init__(self, pids: list[int], interval: float = 0.5) -> None:
        self.pids = list(pids)
        super().__init__(self.pids[0] if self.pids else 0, interval)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, sum(tree_rss(pid) for pid in list(self.pids)))
            self._stop.wait(self._interval)


class DigiregionVirtuosoEngine(Engine):
    """``digiregion serve --store <Virtuoso>``: Virtuoso started by ``scripts/virtuoso.sh`` (throw-away database,
    random dba password passed only through the environment), the data pushed with ``digiregion load --store``
    (validated, N-Triples chunks, atomic switch) and digiregion serving in front of it. Start-up = Virtuoso
    start + load + serve until ``ASK {}`` answers; the background dump fetch is awaited afterwards (reported as
    ``dumps_ready_s``) so it does not run during the measurement. RSS = Virtuoso's tree + digiregion's tree.
    """

    name = "digiregion-virtuoso"
    label = "digiregion → Virtuoso"

    def version(self) -> str:
        mine = DigiregionEngine.version(self)  # type: ignore[arg-type]
        return f"{mine} + {VirtuosoEngine.version(self)}"  # type: ignore[arg-type]

    def _env(self) -> dict[str, str]:
        return {"DIGIREGION_STORE_USER": "dba", "DIGIREGION_STORE_PASSWORD": self._password}

    def start(self, files_dir: Path, work: Path) -> float:
        import secrets

        self.db = work / "virtuoso-db"
        shutil.rmtree(self.db, ignore_errors=True)
        shutil.rmtree(work / "digiregion-store", ignore_errors=True)
        shutil.rmtree(work / "load-store", ignore_errors=True)
        self._password = "bench-" + secrets.token_hex(8)
        port, http_port = free_port(), free_port()
        self.store_url = f"http://127.0.0.1:{http_port}/sparql"
        env = {**os.environ, "VIRTUOSO_START_TIMEOUT": str(int(self.start_timeout)),
               "VIRTUOSO_DBA_PASSWORD": self._password}
        deadline = time.monotonic() + self.start_timeout
        began = time.monotonic()
        self._started = True
        subprocess.run(["bash", str(VIRTUOSO_SH), "start", str(self.db), str(port), str(http_port)], check=True,
                       env=env, timeout=self.start_timeout + 30, capture_output=True)
        self.sampler = TreesRssSampler([int((self.db / "virtuoso.pid").read_text())])
        self.details["server_start_s"] = round(time.monotonic() - began, 2)
        # `digiregion load` as a user runs it; its own (short-lived) RSS is not part of the servers' peak
        mark = time.monotonic()
        bin_dir = Path(sys.executable).parent
        load = subprocess.run([str(bin_dir / "digiregion"), "load", "--store", self.store_url, "--force",
                               "--store-dir", str(work / "load-store"), str(files_dir)],
                              env={**os.environ, **self._env(), "COLUMNS": "120"}, cwd=work,
                              timeout=max(60.0, deadline - time.monotonic()), capture_output=True, text=True)
        (work / "digiregion-load.log").write_text(load.stdout + load.stderr, encoding="utf-8")
        if load.returncode != 0:
            raise RuntimeError(f"digiregion load exited {load.returncode}: {(load.stderr or load.stdout)[-1500:]}")
        self.details["load_s"] = round(time.monotonic() - mark, 2)
        mark = time.monotonic()
        web_port = free_port()
        self.url = f"http://127.0.0.1:{web_port}/sparql"
        self.process = self._popen([str(bin_dir / "digiregion"), "serve", "--host", "127.0.0.1", "--port",
                                    str(web_port), "--store-dir", str(work / "digiregion-store"),
                                    "--query-timeout", str(self.query_timeout), "--store", self.store_url],
                                   work, env=self._env())
        self.pid = self.process.pid
        self.sampler.pids.append(self.process.pid)
        wait_until_answers(self.url, deadline, self.process)
        self.details["serve_start_s"] = round(time.monotonic() - mark, 2)
        total = time.monotonic() - began
        # dumps are fetched from the engine in the background: wait for them (bounded) before measuring
        dump = self.url.rsplit("/", 1)[0] + "/dumps/digiregion.nt.gz"
        mark = time.monotonic()
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(urllib.request.Request(dump, method="HEAD"), timeout=5) as response:
                    if response.status == 200:
                        self.details["dumps_ready_s"] = round(time.monotonic() - mark, 2)
                        break
            except (urllib.error.URLError, OSError, TimeoutError):
                pass
            time.sleep(0.5)
        return total

    def stop(self) -> None:
        try:
            stop_process(self.process)
        finally:
            if getattr(self, "_started", False):
                subprocess.run(["bash", str(VIRTUOSO_SH), "stop", str(self.db)], timeout=60, capture_output=True)
            if self.sampler:
                self.sampler.close()


class RdflibEndpointEngine(Engine):
    name = "rdflib-endpoint"
    label = "rdflib-endpoint"

    def version(self) -> str:
        out = subprocess.run([str(PEERS_VENV / "bin" / "python"), "-c",
                              "import importlib.metadata as m; print(m.version('rdflib-endpoint'), "
                              "m.version('rdflib'))"], capture_output=True, text=True, timeout=30)
        parts = out.stdout.split()
        return f"rdflib-endpoint {parts[0]} (rdflib {parts[1]})" if len(parts) == 2 else "?"

    def start(self, files_dir: Path, work: Path) -> float:
        port = free_port()
        self.url = f"http://127.0.0.1:{port}/"  # rdflib-endpoint serves SPARQL at the root
        files = sorted(str(p) for p in files_dir.rglob("*") if p.is_file())
        began = time.monotonic()
        self.process = self._popen([str(PEERS_VENV / "bin" / "rdflib-endpoint"), "serve", "--host", "127.0.0.1",
                                    "--port", str(port), *files], work)
        self._watch(self.process.pid)
        wait_until_answers(self.url, began + self.start_timeout, self.process)
        return time.monotonic() - began


ENGINES = {cls.name: cls for cls in (DigiregionEngine, OxigraphEngine, VirtuosoEngine, RdflibEndpointEngine,
                                     DigiregionVirtuosoEngine)}
