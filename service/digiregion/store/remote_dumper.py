"""Fetch a remote dataset's dumps in a background process: ``python -m digiregion.store.remote_dumper``.

The remote counterpart of ``dumper.py``. Fetching and writing the dumps of 10^6 triples takes about
a minute; done in the web process it delayed the start-up by that much and held the whole graph in
memory several times over. The child runs at a lower CPU priority, streams the pages into a temporary
on-disk store (``remote_dumps``) and can be killed at any moment: when a newer data version supersedes
its job, or when the service stops.

What the child needs comes as a JSON job on stdin (endpoint, graph, counts, folders — nothing
secret); the engine's credentials travel only in its environment (``DIGIREGION_STORE_USER`` /
``DIGIREGION_STORE_PASSWORD``, as the CLI reads them), never on a command line (visible to every
user in ``ps``) and never in a log. A failing child prints one bilingual line on stderr, which the
service logs.

Leftovers: the service removes the job's temporary folder when the child ends, however it ended.
A folder left behind by a killed service is recognised on the next start by its owner file (the pid
of a process that no longer runs) and removed; a child whose service went away stops by itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from .base import StoreError
from .credentials import PASSWORD_VARIABLE, USER_VARIABLE, Credentials
from .loader import DUMPS_DIR, process_alive
from .remote_dumps import PAGE, WORK_PREFIX, write_remote_dumps

COMMAND: tuple[str, ...] = (sys.executable, "-m", "digiregion.store.remote_dumper")
OWNER = "owner"
"""File in the temporary folder with the pid of the child writing there (stale when that pid is gone)."""
PARENT_CHECK = 2.0
MESSAGE_CHARS = 1000


@dataclass(frozen=True)
class DumpJob:
    """One data version's dumps: where to fetch them from and where to put them (no credentials)."""

    endpoint: str
    auth: str
    engine: str
    """Name of the engine profile (``engines.PROFILES``), as detected by the service."""
    graph: str
    info: str
    """``DatasetInfo`` as JSON: the engine's counts to check against, the named graphs, the provenance."""
    folder: str
    work: str
    page: int = PAGE

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> DumpJob:
        return cls(**json.loads(text))


def child_environment(credentials: Credentials) -> dict[str, str]:
    """The service's environment with exactly the given credentials (they may not come from it in tests)."""
    env = {k: v for k, v in os.environ.items() if k not in (USER_VARIABLE, PASSWORD_VARIABLE)}
    if credentials:
        env[USER_VARIABLE] = credentials.user
        env[PASSWORD_VARIABLE] = credentials.password
    return env


async def run(job: DumpJob, credentials: Credentials, command: Sequence[str] = COMMAND) -> str | None:
    """Run ``job`` in a child process: ``None`` when the dumps are in place, else why not (German / English).

    Cancelling this coroutine kills the child. The job's temporary folder is removed in any case.
    """
    work = Path(job.work)
    process = await asyncio.create_subprocess_exec(
        *command, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE, env=child_environment(credentials))
    try:
        work.mkdir(parents=True, exist_ok=True)
        (work / OWNER).write_text(str(process.pid), encoding="utf-8")  # before the child gets its job
        _, errors = await process.communicate(job.to_json().encode())
    except BaseException:  # cancelled (newer data, shutdown) or failed: the child must not outlive its job
        if process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
        await process.wait()
        raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return None if process.returncode == 0 else _failure(process.returncode, errors)


def _failure(code: int, errors: bytes) -> str:
    if code < 0:
        return (f"Dump-Prozess durch Signal {-code} beendet (z. B. Speichermangel) / dump process killed by "
                f"signal {-code} (e.g. out of memory)")
    lines = [line.strip() for line in errors.decode("utf-8", "replace").splitlines() if line.strip()]
    if not lines:
        return f"Dump-Prozess mit Code {code} beendet / dump process exited with code {code}"
    return lines[-1][:MESSAGE_CHARS]


def remove_stale(root: Path) -> None:
    """Remove the temporary folders (``<version>/.dumps.*``) of dump jobs whose process no longer runs."""
    if not root.is_dir():
        return
    for work in root.glob(f"*/{WORK_PREFIX}{DUMPS_DIR}.*"):
        if work.is_dir() and not process_alive(_owner(work)):
            shutil.rmtree(work, ignore_errors=True)


def _owner(work: Path) -> int | None:
    try:
        return int((work / OWNER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def main() -> int:
    from ..dataset import DatasetInfo
    from .engines import detect
    from .sparql_client import Endpoint

    with contextlib.suppress(OSError):
        os.nice(10)
    job = DumpJob.from_json(sys.stdin.read())
    _stop_with_parent(Path(job.work))
    endpoint = Endpoint(job.endpoint, Credentials.from_environment(os.environ), job.auth, detect(job.engine, None))
    try:
        write_remote_dumps(endpoint, job.graph, DatasetInfo.from_json(job.info), Path(job.folder), page=job.page,
                           work=Path(job.work))
    except StoreError as exc:
        print(exc.message, file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"Dumps nicht schreibbar / cannot write the dumps: {exc}", file=sys.stderr)
        return 1
    return 0


def _stop_with_parent(work: Path) -> None:
    """Stop (and clean up) when the service that started us is gone: nobody would serve the dumps."""
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_CHECK)
        shutil.rmtree(work, ignore_errors=True)
        os._exit(3)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


if __name__ == "__main__":
    sys.exit(main())
