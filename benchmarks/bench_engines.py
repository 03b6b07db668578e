"""The engines of the service benchmark: start on 127.0.0.1, load the same files, restart, stop, measure.

Each engine is a small class with ``start(files_dir, work) -> seconds`` (load + start-up until the
endpoint answers), ``restart(work) -> seconds`` (start again over what ``start`` built, without loading
anything: the benchmarks measure every engine in this second life, alone on the machine), ``stop()``
(always called, in ``finally``; a stopped engine can be restarted), ``peak_rss()`` (resident memory of the
whole server process tree, read from /proc and sampled over every life: ``peaks`` has it per phase) and the
request details of its SPARQL endpoint. ``wait_quiet`` waits (bounded) until an engine's process tree and the
machine are idle. Nothing here listens on anything but 127.0.0.1; every wait has a deadline.
"""

from __future__ import annotations

import contextlib
import os
import re
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
TICK = os.sysconf("SC_CLK_TCK")

#: ``wait_quiet``: idle = the engine's process tree below this many cores and the whole machine below
#: QUIET_MACHINE_CORES, in QUIET_SAMPLES consecutive one-second samples
QUIET_ENGINE_CORES = 0.05
QUIET_MACHINE_CORES = 0.5
QUIET_SAMPLES = 3


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


def _tree(pid: int) -> list[int]:
    """``pid`` and all its descendants (walks /proc/PID/task/*/children, not all of /proc: the samplers run
    in the benchmark's client process and must not steal noticeable time from the measured requests)."""
    found, stack, seen = [], [pid], set()
    while stack:
        current = stack.pop()
        if current in seen:
            continue
        seen.add(current)
        found.append(current)
        stack.extend(_children(current))
    return found


def tree_rss(pid: int) -> int:
    """Resident bytes of ``pid`` and all its descendants (from /proc; 0 when it is gone)."""
    total = 0
    for current in _tree(pid):
        try:
            with open(f"/proc/{current}/statm") as fh:
                total += int(fh.read().split()[1]) * PAGE
        except OSError:
            continue
    return total


def tree_pss(pid: int) -> int:
    """Proportional set size of ``pid``'s tree: shared pages (libraries, copy-on-write) counted once in total.

    The RSS sum counts a page shared by the web process and its workers once per process; PSS splits it.
    Read from /proc/PID/smaps_rollup, which walks the page tables, so it is only sampled at a new RSS peak.
    """
    total = 0
    for current in _tree(pid):
        try:
            with open(f"/proc/{current}/smaps_rollup") as fh:
                for line in fh:
                    if line.startswith("Pss:"):
                        total += int(line.split()[1]) * 1024
                        break
        except (OSError, ValueError, IndexError):
            continue
    return total


def tree_cpu_seconds(pid: int) -> float:
    """CPU seconds used so far by ``pid`` and its descendants (utime + stime, plus the reaped children's)."""
    ticks = 0
    for current in _tree(pid):
        try:
            with open(f"/proc/{current}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        ticks += sum(int(f) for f in fields[11:15])  # utime stime cutime cstime (fields 14-17 of stat)
    return ticks / TICK


def machine_busy_seconds() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot, from the first line of /proc/stat."""
    with open("/proc/stat") as fh:
        values = [int(v) for v in fh.readline().split()[1:]]
    idle = values[3] + (values[4] if len(values) > 4 else 0)  # idle + iowait
    total = sum(values[:8])  # guest time is already part of user
    return (total - idle) / TICK, total / TICK


def loadavg() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def wait_quiet(pids: list[int], max_wait: float, log=None) -> dict[str, object]:
    """Wait until the process trees of ``pids`` (the engine; may be empty) use < QUIET_ENGINE_CORES and the
    whole machine < QUIET_MACHINE_CORES, in QUIET_SAMPLES consecutive one-second samples — at most
    ``max_wait`` seconds (0 = do not wait, sample once). Returns what was seen, the 1/5/15-min load average
    at the end included (the moment the measurement starts)."""
    began = time.monotonic()
    calm, engine_cores, machine_cores = 0, 0.0, 0.0
    cpu = sum(tree_cpu_seconds(p) for p in pids)
    busy, total = machine_busy_seconds()
    last = next_log = time.monotonic()
    while True:
        time.sleep(1.0)
        now = time.monotonic()
        cpu_now = sum(tree_cpu_seconds(p) for p in pids)
        busy_now, total_now = machine_busy_seconds()
        engine_cores = max(0.0, cpu_now - cpu) / (now - last)
        # /proc/stat counts all cores: (busy share) x cores = cores in use
        machine_cores = (busy_now - busy) / max(total_now - total, 1e-9) * (os.cpu_count() or 1)
        cpu, busy, total, last = cpu_now, busy_now, total_now, now
        calm = calm + 1 if engine_cores < QUIET_ENGINE_CORES and machine_cores < QUIET_MACHINE_CORES else 0
        quiet = calm >= QUIET_SAMPLES
        if quiet or now - began >= max_wait:
            break
        if log and now >= next_log + 30:
            next_log = now
            log(f"  waiting for quiet: engine {engine_cores:.2f} cores, machine {machine_cores:.2f} cores, "
                f"load {loadavg()}")
    return {"quiet": quiet, "waited_s": round(time.monotonic() - began, 1),
            "engine_cores": round(engine_cores, 3), "machine_cores": round(machine_cores, 3),
            "loadavg": loadavg()}


class RssSampler:
    """Samples the summed RSS of the process trees of ``pids`` every ``interval`` seconds; ``peak`` is the
    maximum seen. ``pids`` may be extended while sampling (a server started after another one)."""

    def __init__(self, pids: list[int], interval: float = 0.5) -> None:
        self.pids = list(pids)
        self.peak = 0
        self.pss_at_peak = 0
        """PSS of the same trees at the moment of the RSS peak (shared pages counted once)."""
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._interval = interval
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            total = sum(tree_rss(pid) for pid in list(self.pids))
            if total > self.peak:
                self.peak = total
                self.pss_at_peak = sum(tree_pss(pid) for pid in list(self.pids))
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


def wait_for_dumps(sparql_url: str, deadline: float) -> float | None:
    """Seconds until digiregion's ``/dumps/digiregion.nt.gz`` exists (written in the background after
    start-up), None when the deadline passed first."""
    dump = sparql_url.rsplit("/", 1)[0] + "/dumps/digiregion.nt.gz"
    began = time.monotonic()
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(urllib.request.Request(dump, method="HEAD"), timeout=5) as response:
                if response.status == 200:
                    return round(time.monotonic() - began, 2)
        except (urllib.error.URLError, OSError, TimeoutError):
            pass
        time.sleep(0.5)
    return None


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


def _virtuoso(command: str, *args: str, env: dict[str, str] | None = None, timeout: float = 60,
              check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", str(VIRTUOSO_SH), command, *args], env=env, timeout=timeout, check=check,
                          capture_output=True, text=True)


def _virtuoso_env(start_timeout: float, password: str | None = None) -> dict[str, str]:
    """The environment for scripts/virtuoso.sh; a dba password is set only on the first start (it is then
    stored in the database: a restart must not try to set it again)."""
    env = {k: v for k, v in os.environ.items() if k != "VIRTUOSO_DBA_PASSWORD"}
    env["VIRTUOSO_START_TIMEOUT"] = str(int(start_timeout))
    if password:
        env["VIRTUOSO_DBA_PASSWORD"] = password
    return env


class Engine:
    """One SPARQL engine under test."""

    name = "engine"
    label = "engine"
    #: extra protocol parameters sent with every query (Virtuoso: the graph that holds the data)
    params: ClassVar[dict[str, str]] = {}
    #: whether ``restart`` can start the engine again over what ``start`` built (without loading again)
    restartable = True
    #: (url, params) of the engine behind this one, for the same-instance overhead measurement; None: none
    direct: tuple[str, dict[str, str]] | None = None

    def __init__(self, start_timeout: float, query_timeout: float) -> None:
        self.start_timeout = start_timeout
        self.query_timeout = query_timeout
        self.url = ""
        self.process: subprocess.Popen | None = None
        self.sampler: RssSampler | None = None
        self.phase = "start"
        #: peak RSS bytes per phase ("start": load/build + answers, "restart": the measured life)
        self.peaks: dict[str, int] = {}
        #: PSS bytes at each phase's RSS peak
        self.pss_at_peaks: dict[str, int] = {}
        self.details: dict[str, object] = {}
        self.log_path: Path | None = None

    def version(self) -> str:
        return "?"

    def start(self, files_dir: Path, work: Path) -> float:
        raise NotImplementedError

    def restart(self, work: Path) -> float:
        raise NotImplementedError

    def _popen(self, argv: list[str], work: Path, env: dict[str, str] | None = None) -> subprocess.Popen:
        self.log_path = work / f"{self.name}.log"
        log = open(self.log_path, "wb")  # noqa: SIM115 - closed with the process
        return subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True, cwd=work, env={**os.environ, **(env or {})})

    def _watch(self, pid: int, phase: str) -> None:
        """Start sampling the RSS of ``pid``'s tree as ``phase`` (closing the previous phase's sampler)."""
        self._close_sampler()
        self.phase = phase
        self.sampler = RssSampler([pid])

    def _close_sampler(self) -> None:
        if self.sampler is not None:
            peak = self.sampler.close()
            if peak >= self.peaks.get(self.phase, 0):
                self.peaks[self.phase] = peak
                self.pss_at_peaks[self.phase] = self.sampler.pss_at_peak
            self.sampler = None

    def pids(self) -> list[int]:
        """Root pids of the running server process trees (for the CPU samples of ``wait_quiet``)."""
        return list(self.sampler.pids) if self.sampler else []

    def peak_rss(self) -> int:
        return max([*self.peaks.values(), self.sampler.peak if self.sampler else 0])

    def stop(self) -> None:
        try:
            stop_process(self.process)
        finally:
            self._close_sampler()


IN_MEMORY_READY = "Kopie im Speicher bereit"
"""Logged once by the web process when the fork server holds the in-memory copy the workers are forked from."""


class DigiregionEngine(Engine):
    """``digiregion serve`` over the benchmark files. ``start`` = the first start (build of the persisted
    store until ``ASK {}`` answers), then it waits (bounded) for the background snapshot + dumps
    (``dumps_ready_s``), so they neither run during a measurement nor are missing for the restart.
    ``restart`` = start over the persisted store (``restart_s``, the normal case in production), then it waits
    until the in-memory copy the workers are forked from is ready (``restart_in_memory_s``)."""

    name = "digiregion"
    label = "digiregion embedded"

    def __init__(self, start_timeout: float, query_timeout: float, workers: int | None = None) -> None:
        super().__init__(start_timeout, query_timeout)
        self.workers = workers

    def version(self) -> str:
        import pyoxigraph

        from digiregion import __version__
        return f"digiregion {__version__} (pyoxigraph {pyoxigraph.__version__})"

    def _argv(self, work: Path, port: int) -> list[str]:
        argv = [str(Path(sys.executable).parent / "digiregion"), "serve", "--host", "127.0.0.1", "--port",
                str(port), "--store-dir", str(work / "digiregion-store"),
                "--query-timeout", str(self.query_timeout)]
        if self.workers:
            argv += ["--workers", str(self.workers)]
        return [*argv, "--data", str(self.files_dir)]

    def _launch(self, work: Path, phase: str) -> float:
        port = free_port()
        self.url = f"http://127.0.0.1:{port}/sparql"
        began = time.monotonic()
        self.process = self._popen(self._argv(work, port), work)
        self._watch(self.process.pid, phase)
        wait_until_answers(self.url, began + self.start_timeout, self.process)
        return began

    def start(self, files_dir: Path, work: Path) -> float:
        shutil.rmtree(work / "digiregion-store", ignore_errors=True)
        self.files_dir = files_dir
        began = self._launch(work, "start")
        first = time.monotonic() - began
        self.details["dumps_ready_s"] = wait_for_dumps(self.url, began + self.start_timeout)
        return first

    def restart(self, work: Path) -> float:
        began = self._launch(work, "restart")
        seconds = time.monotonic() - began
        self.details["restart_s"] = round(seconds, 2)
        # the workers answer from the on-disk store at once and are replaced by workers forked from the
        # in-memory copy once it is loaded (logged once): measure that too, the measurement starts only afterwards
        while time.monotonic() < began + self.start_timeout:
            if self.log_path and IN_MEMORY_READY in self.log_path.read_text(errors="replace"):
                self.details["restart_in_memory_s"] = round(time.monotonic() - began, 2)
                break
            time.sleep(0.2)
        return seconds


class OxigraphEngine(Engine):
    """``oxigraph load`` into a fresh RocksDB folder, then ``serve-read-only`` on it (restart: serve again)."""

    name = "oxigraph"
    label = "Oxigraph server"

    def _bin(self) -> str:
        return str(PEERS_VENV / "bin" / "oxigraph")

    def version(self) -> str:
        out = subprocess.run([self._bin(), "--version"], capture_output=True, text=True, timeout=30)
        return out.stdout.strip()

    def start(self, files_dir: Path, work: Path) -> float:
        self.location = work / "oxigraph-db"
        shutil.rmtree(self.location, ignore_errors=True)
        files = sorted(str(p) for p in files_dir.rglob("*") if p.is_file())
        began = time.monotonic()
        load = subprocess.run([self._bin(), "load", "--location", str(self.location), "--file", *files],
                              capture_output=True, text=True, timeout=self.start_timeout)
        if load.returncode != 0:
            raise RuntimeError(f"oxigraph load failed: {load.stderr[-2000:]}")
        self.details["load_s"] = round(time.monotonic() - began, 2)
        self._serve(work, began, "start")
        return time.monotonic() - began

    def _serve(self, work: Path, began: float, phase: str) -> None:
        port = free_port()
        self.url = f"http://127.0.0.1:{port}/query"
        self.process = self._popen([self._bin(), "serve-read-only", "--location", str(self.location), "--bind",
                                    f"127.0.0.1:{port}", "--timeout-s", str(int(self.query_timeout))], work)
        self._watch(self.process.pid, phase)
        wait_until_answers(self.url, began + self.start_timeout, self.process)

    def restart(self, work: Path) -> float:
        began = time.monotonic()
        self._serve(work, began, "restart")
        self.details["restart_s"] = round(time.monotonic() - began, 2)
        return time.monotonic() - began


class VirtuosoEngine(Engine):
    """Virtuoso 7 via scripts/virtuoso.sh: fresh database, ``load`` (bulk loader + checkpoint) into one graph;
    restart = ``start`` again over that database."""

    name = "virtuoso"
    label = "Virtuoso 7"
    params: ClassVar[dict[str, str]] = {"default-graph-uri": VIRTUOSO_GRAPH}

    def version(self) -> str:
        out = subprocess.run(["virtuoso-t", "-?"], capture_output=True, text=True, timeout=30)
        lines = (out.stdout + out.stderr).splitlines()
        return "Virtuoso " + next((line.strip() for line in lines if line.startswith("Version")), "?")

    def _start_server(self, phase: str, password: str | None = None) -> None:
        port, http_port = free_port(), free_port()
        self.url = f"http://127.0.0.1:{http_port}/sparql"
        self._started = True
        _virtuoso("start", str(self.db), str(port), str(http_port), env=_virtuoso_env(self.start_timeout, password),
                  timeout=self.start_timeout + 30)
        self._watch(int((self.db / "virtuoso.pid").read_text()), phase)

    def start(self, files_dir: Path, work: Path) -> float:
        self.db = work / "virtuoso-db"
        shutil.rmtree(self.db, ignore_errors=True)
        began = time.monotonic()
        self._start_server("start")
        self.details["server_start_s"] = round(time.monotonic() - began, 2)
        load = _virtuoso("load", str(self.db), str(files_dir), VIRTUOSO_GRAPH,
                         env=_virtuoso_env(self.start_timeout), timeout=max(60.0, self.start_timeout), check=False)
        if load.returncode != 0:
            # a file Virtuoso cannot load is reported (and shows up as wrong answers), not fatal
            self.details["load_errors"] = load.stderr.strip()[-2000:]
        return time.monotonic() - began

    def restart(self, work: Path) -> float:
        began = time.monotonic()
        self._start_server("restart")
        self.details["restart_s"] = round(time.monotonic() - began, 2)
        return time.monotonic() - began

    def stop(self) -> None:
        try:
            if getattr(self, "_started", False):
                _virtuoso("stop", str(self.db), check=False)
        finally:
            self._close_sampler()


class DigiregionVirtuosoEngine(Engine):
    """``digiregion serve --store <Virtuoso>``: Virtuoso started by ``scripts/virtuoso.sh`` (throw-away database,
    random dba password passed only through the environment), the data pushed with ``digiregion load --store``
    (validated, uploaded through Virtuoso's bulk loader with ``--bulk-dir``, atomic switch) and digiregion serving in front of it. Start-up = Virtuoso
    start + load + serve until ``ASK {}`` answers; the background dump fetch is awaited afterwards (reported as
    ``dumps_ready_s``) so it does not run during a measurement. Restart = Virtuoso over its database + serve
    over its store folder. RSS = Virtuoso's tree + digiregion's tree.
    """

    name = "digiregion-virtuoso"
    label = "digiregion → Virtuoso"
    #: the named graph ``digiregion load`` fills and ``serve`` answers from (explicit, so that the same data
    #: can be asked of Virtuoso directly for the same-instance overhead measurement)
    graph = "urn:digiregion:bench-served"

    def version(self) -> str:
        mine = DigiregionEngine.version(self)  # type: ignore[arg-type]
        return f"{mine} + {VirtuosoEngine.version(self)}"  # type: ignore[arg-type]

    def _env(self) -> dict[str, str]:
        return {"DIGIREGION_STORE_USER": "dba", "DIGIREGION_STORE_PASSWORD": self._password,
                "DIGIREGION_STORE_GRAPH": self.graph}

    @property
    def direct(self) -> tuple[str, dict[str, str]] | None:  # type: ignore[override]
        """Virtuoso's own endpoint over the graph digiregion serves (same instance, same data)."""
        return (self.store_url, {"default-graph-uri": self.graph}) if getattr(self, "store_url", "") else None

    def _start_virtuoso(self, phase: str, password: str | None = None) -> None:
        port, http_port = free_port(), free_port()
        self.store_url = f"http://127.0.0.1:{http_port}/sparql"
        self._started = True
        _virtuoso("start", str(self.db), str(port), str(http_port), env=_virtuoso_env(self.start_timeout, password),
                  timeout=self.start_timeout + 30)
        self._watch(int((self.db / "virtuoso.pid").read_text()), phase)

    def _serve(self, work: Path, deadline: float) -> None:
        web_port = free_port()
        self.url = f"http://127.0.0.1:{web_port}/sparql"
        self.process = self._popen([str(Path(sys.executable).parent / "digiregion"), "serve", "--host",
                                    "127.0.0.1", "--port", str(web_port), "--store-dir",
                                    str(work / "digiregion-store"), "--query-timeout", str(self.query_timeout),
                                    "--store", self.store_url], work, env=self._env())
        self.sampler.pids.append(self.process.pid)
        wait_until_answers(self.url, deadline, self.process)

    def start(self, files_dir: Path, work: Path) -> float:
        import secrets

        self.db = work / "virtuoso-db"
        shutil.rmtree(self.db, ignore_errors=True)
        shutil.rmtree(work / "digiregion-store", ignore_errors=True)
        shutil.rmtree(work / "load-store", ignore_errors=True)
        self._password = "bench-" + secrets.token_hex(8)
        deadline = time.monotonic() + self.start_timeout
        began = time.monotonic()
        self._start_virtuoso("start", self._password)
        self.details["server_start_s"] = round(time.monotonic() - began, 2)
        # `digiregion load` as a user runs it; its own (short-lived) RSS is not part of the servers' peak
        mark = time.monotonic()
        # through Virtuoso's bulk loader (``--bulk-dir``: the engine runs on this machine and reads the folder)
        load = subprocess.run([str(Path(sys.executable).parent / "digiregion"), "load", "--store", self.store_url,
                               "--force", "--graph", self.graph, "--store-dir", str(work / "load-store"),
                               "--bulk-dir", str(self.db / "bulk"), str(files_dir)],
                              env={**os.environ, **self._env(), "COLUMNS": "120"}, cwd=work,
                              timeout=max(60.0, deadline - time.monotonic()), capture_output=True, text=True)
        (work / "digiregion-load.log").write_text(load.stdout + load.stderr, encoding="utf-8")
        if load.returncode != 0:
            raise RuntimeError(f"digiregion load exited {load.returncode}: {(load.stderr or load.stdout)[-1500:]}")
        self.details["load_s"] = round(time.monotonic() - mark, 2)
        steps = re.search(r"\((prepare [^)]*)\)", " ".join((load.stdout + load.stderr).split()))
        self.details["load_steps"] = steps.group(1) if steps else None  # the load's own timing per step
        mark = time.monotonic()
        self._serve(work, deadline)
        self.details["serve_start_s"] = round(time.monotonic() - mark, 2)
        total = time.monotonic() - began
        # dumps are fetched from the engine in the background: wait for them (bounded) before going on
        self.details["dumps_ready_s"] = wait_for_dumps(self.url, deadline)
        return total

    def restart(self, work: Path) -> float:
        deadline = time.monotonic() + self.start_timeout
        began = time.monotonic()
        self._start_virtuoso("restart")
        self._serve(work, deadline)
        seconds = time.monotonic() - began
        self.details["restart_s"] = round(seconds, 2)
        self.details["restart_dumps_ready_s"] = wait_for_dumps(self.url, deadline)
        return seconds

    def stop(self) -> None:
        try:
            stop_process(self.process)
        finally:
            try:
                if getattr(self, "_started", False):
                    _virtuoso("stop", str(self.db), check=False)
            finally:
                self._close_sampler()


class RdflibEndpointEngine(Engine):
    """rdflib-endpoint over the files (in memory: no persisted state, so no restart; it runs alone, once)."""

    name = "rdflib-endpoint"
    label = "rdflib-endpoint"
    restartable = False

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
        self._watch(self.process.pid, "start")
        wait_until_answers(self.url, began + self.start_timeout, self.process)
        return time.monotonic() - began


ENGINES = {cls.name: cls for cls in (DigiregionEngine, OxigraphEngine, VirtuosoEngine, RdflibEndpointEngine,
                                     DigiregionVirtuosoEngine)}
