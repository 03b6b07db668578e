"""The remote store: any SPARQL 1.1 endpoint (Virtuoso, QLever, Fuseki, …) behind the same interface.

Every query, resource description, VoID count and dump is answered by the remote engine; this
module adds what the embedded store gives for free and a public endpoint needs:

* the same safety rules before anything is sent (``sparql_guard``: no update, no SERVICE that is not
  allow-listed) plus the engine's known wrong answers refused (``deviations``);
* the dataset pinned on every request (``remote_layout``): clients see exactly the loaded graphs,
  never the engine's system graphs or other datasets in the same engine;
* two deadlines: the engine's own timeout where it has one (it then stops working) and the client
  side one (the client gets a 504 even when the engine does not stop); a partial or truncated engine
  answer becomes an error, never a 200;
* the same ten result formats and size caps as the embedded store (``streaming``, in transfer threads),
  small results held back and cached per data version; JSON answers passed on as the engine wrote them
  are read on the event loop instead (``loop_transfer``: no thread hand-over on the commonest request);
* data-version polling (``refresh``): a ``digiregion load`` into the engine changes the version, so
  ETags, caches, VoID and dumps follow within ``store_refresh`` seconds;
* dumps per data version, fetched by a background process (``remote_dumper``) so that neither the
  start-up nor the web process's memory depends on the size of the data; ``dumps_ready`` tells the
  web layer when they exist (the embedded store's contract).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import hashlib
import json
import logging
import os
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pyoxigraph as ox

from ..config import Settings
from ..dataset import DatasetInfo, Partition, utc_now
from ..dumps import MANIFEST as DUMPS_MANIFEST
from ..dumps import PREFIXES
from .base import Description, QueryRequest, QueryResult, QueryTimeout, ResultTooLarge, Store, StoreBusy, StoreError
from .credentials import Credentials, refuse_userinfo
from .deviations import empty_unknown_graphs, refuse_known_deviation
from .engines import GENERIC, EngineProfile, detect
from .loop_transfer import LoopTransfer
from .loop_transport import EngineConnections, request_bytes
from .remote_dumper import COMMAND as DUMPER_COMMAND
from .remote_dumper import DumpJob, remove_stale
from .remote_dumper import run as run_dump_job
from .remote_dumps import work_folder
from .remote_layout import EMPTY_GRAPH, FRAGMENT, MANIFEST, VERSION, meta_graph, sparql_iri
from .result_cache import ResultCache
from .sparql_client import RESULTS_ACCEPT, Endpoint
from .sparql_guard import check_request
from .streaming import (
    RDF_FORMATS,
    RESULTS_FORMATS,
    Cancelled,
    EngineReader,
    Pipe,
    ResultLimit,
    Sink,
    capped,
    forward,
    media_type,
    parse_graph,
)
from .transfer_threads import TransferThreads
from .worker import LABEL_PREDICATES

log = logging.getLogger("digiregion.store.remote")

HOLD_BYTES = 1024 * 1024
CACHE_ENTRY_BYTES = 1024 * 1024
CACHE_TOTAL_BYTES = 64 * 1024 * 1024
MAINTENANCE_TIMEOUT = 600.0
"""Counts at start-up or after a load may take long on big data; they run without the engine's anytime
timeout (a partial count would be wrong) but still under a client deadline."""
MAX_INCOMING = 500
BNODE_DEPTH = 4

MEDIA_TYPES = {
    "json": "application/sparql-results+json", "xml": "application/sparql-results+xml",
    "csv": "text/csv; charset=utf-8", "tsv": "text/tab-separated-values; charset=utf-8",
    "turtle": "text/turtle; charset=utf-8", "n-triples": "application/n-triples",
    "json-ld": "application/ld+json", "rdf-xml": "application/rdf+xml",
    "trig": "application/trig", "n-quads": "application/n-quads",
}


@dataclass(frozen=True)
class DumpFolder:
    """Where this data version's dumps were written (the shape ``Service`` looks for as ``store.built``)."""

    path: Path

    @property
    def dumps_path(self) -> Path:
        return self.path / "dumps"


class RemoteStore(Store):
    """A read-only view of one dataset in a remote SPARQL 1.1 engine."""

    def __init__(self, settings: Settings, credentials: Credentials | None = None) -> None:
        refuse_userinfo(settings.store)
        self.settings = settings
        self.graph = settings.store_graph or settings.base_iri
        self.credentials = credentials or Credentials()
        self.endpoint = Endpoint(settings.store, self.credentials, settings.store_auth, None)
        self.profile: EngineProfile = GENERIC
        self.refresh_interval = settings.store_refresh
        concurrency = settings.store_connections if settings.store_connections > 0 else max(4, 2 * (os.cpu_count() or 2))
        self._executor = concurrent.futures.ThreadPoolExecutor(concurrency, thread_name_prefix="sparql-remote")
        self._transfers = TransferThreads(concurrency, "sparql-transfer")
        self._connections: EngineConnections | None = None
        self._slots = asyncio.Semaphore(concurrency)
        self._cache = ResultCache(CACHE_ENTRY_BYTES, CACHE_TOTAL_BYTES)
        self._info: DatasetInfo | None = None
        self._fingerprint: str | None = None
        self._next_check = 0.0
        self.built: DumpFolder | None = None
        self.dumps_ready: asyncio.Event | None = None
        """Set while the current data version's dumps exist (None until ``start``; one event for the store's
        life: cleared when a reload starts a new dump job, set when it finished)."""
        self.dumps_error: str | None = None
        """Why the current data version has no dumps (German / English), once its dump job failed."""
        self.statistics_ready: asyncio.Event | None = None
        """Set once ``start`` has read the counts from the engine (``_collect_info``): the embedded store's
        contract, so the web layer treats both alike; the remote store never has partial statistics."""
        self.dumper_command: Sequence[str] = DUMPER_COMMAND
        self._dump_task: asyncio.Task | None = None
        self._dumps_news = False

    # -- lifecycle -------------------------------------------------------------------------------------------
    @property
    def info(self) -> DatasetInfo:
        if self._info is None:
            raise StoreError("Store noch nicht gestartet / store not started")
        return self._info

    async def start(self) -> None:
        probe = await self._blocking(self._probe, 30.0)
        self.profile = detect(self.settings.store_engine, probe)
        self.endpoint = replace(self.endpoint, profile=self.profile)
        self._connections = self._loop_connections()
        log.info("Entfernte Datenbank / remote engine: %s (%s), Graph <%s>", self.settings.store,
                 self.profile.name, self.graph)
        self.dumps_ready = asyncio.Event()
        self.statistics_ready = asyncio.Event()
        await self._reload()
        self.statistics_ready.set()

    async def close(self) -> None:
        await self._stop_dumps()
        self._executor.shutdown(wait=False, cancel_futures=True)
        self._transfers.shutdown()
        if self._connections is not None:
            self._connections.close()

    def _loop_connections(self) -> EngineConnections | None:
        """Connections for the short way (``loop_transfer``), where it applies: an engine whose JSON is passed
        on verbatim, reached over plain http. Credentials that wait for a challenge (``auto``, ``digest``)
        do not rule it out: an engine that never challenges (Virtuoso's ``/sparql``) never needs them, and
        the first challenge sends the store to the thread path for good (``EngineConnections.challenged``)."""
        if self.profile.verbatim_json_replacements is None or urlsplit(self.settings.store).scheme != "http":
            return None
        return EngineConnections(self.settings.store)

    async def refresh(self) -> bool:
        """True when a load changed the data since the last check (then info, cache and dumps are new), or
        when the current data's dumps became ready in the background (then VoID/DCAT should list them)."""
        if self._dumps_news:
            self._dumps_news = False
            return True
        if time.monotonic() < self._next_check:
            return False
        self._next_check = time.monotonic() + max(1.0, self.refresh_interval or 0)
        fingerprint, _ = await self._read_meta()
        if fingerprint == self._fingerprint:
            return False
        await self._reload()
        return True

    async def _reload(self) -> None:
        fingerprint, manifest = await self._read_meta()
        info = await self._collect_info(fingerprint, manifest)
        folder = self._dump_folder(info)
        await self._stop_dumps()  # an older version's job, if still running: its dumps would never be served
        self._info, self._fingerprint, self.built = info, fingerprint, folder
        self._cache.clear()
        self._start_dumps(info, folder)

    # -- dumps (written by a background process) -------------------------------------------------------------
    def _start_dumps(self, info: DatasetInfo, folder: DumpFolder) -> None:
        """Start the dump job of this data version unless its dumps exist; never waits for it."""
        if self.dumps_ready is None:
            self.dumps_ready = asyncio.Event()
        self.dumps_error = None
        if (folder.dumps_path / DUMPS_MANIFEST).is_file():
            self.dumps_ready.set()
            return
        self.dumps_ready.clear()
        remove_stale(folder.path.parent)  # temporary folders of killed jobs (of any version of this dataset)
        job = DumpJob(endpoint=self.settings.store, auth=self.settings.store_auth, engine=self.profile.name,
                      graph=self.graph, info=info.to_json(), folder=str(folder.dumps_path),
                      work=str(work_folder(folder.dumps_path)))
        self._dump_task = asyncio.get_running_loop().create_task(self._write_dumps(job, folder))

    async def _write_dumps(self, job: DumpJob, folder: DumpFolder) -> None:
        assert self.dumps_ready is not None
        began = time.monotonic()
        log.info("Dumps werden im Hintergrund geschrieben / writing the dumps in the background: %s", job.folder)
        try:
            error = await run_dump_job(job, self.credentials, self.dumper_command)
        except Exception as exc:  # could not even start the child: logged, the service keeps serving
            error = f"Dump-Prozess nicht startbar / could not start the dump process: {exc}"
        if self.built != folder:  # superseded by a newer version meanwhile
            return
        if error is None and (folder.dumps_path / DUMPS_MANIFEST).is_file():
            log.info("Dumps bereit / dumps ready after %.1f s", time.monotonic() - began)
            self.dumps_ready.set()
            self._dumps_news = True
            return
        self.dumps_error = error or "Manifest fehlt / manifest missing"
        log.warning("Keine Dumps für diesen Datenstand; /dumps/ antwortet 503, bis neue Daten geladen werden oder "
                    "der Dienst neu startet. / No dumps for this data version; /dumps/ answers 503 until new data "
                    "is loaded or the service restarts. Grund / reason: %s", self.dumps_error)

    async def _stop_dumps(self) -> None:
        """Cancel a running dump job (its child is killed, its temporary folder removed)."""
        task, self._dump_task = self._dump_task, None
        if task is not None and not task.done():
            task.cancel()
            await asyncio.wait([task])

    def _dump_folder(self, info: DatasetInfo) -> DumpFolder:
        from .loader import default_store_root

        # Keyed by the graph and the data version, not by the engine's URL: a version written by ``digiregion
        # load`` is the fingerprint of the loaded files, so the same dumps stay valid when the engine moves to
        # another port or host name (a restarted Virtuoso behind a new port re-fetched 10^7 triples for 19 min).
        # Data loaded by other tools has a version derived from the URL and the counts (``_collect_info``).
        root = Path(self.settings.store_dir) if self.settings.store_dir else default_store_root()
        where = hashlib.sha256(self.graph.encode()).hexdigest()[:16]
        return DumpFolder(root / "remote" / where / info.version)

    def _probe(self) -> str | None:
        response = self.endpoint.open("ASK {}", "ASK", default_graphs=[EMPTY_GRAPH], timeout=30.0,
                                      engine_timeout=False)
        try:
            return response.headers.get("Server")
        finally:
            response.close()

    # -- queries ---------------------------------------------------------------------------------------------
    async def query(self, request: QueryRequest) -> QueryResult:
        settings = self.settings
        found = check_request(request, self.settings, self.info.graphs)
        refuse_known_deviation(self.profile.deviations, request.text)
        form = found.form or "SELECT"
        media_type = MEDIA_TYPES[request.result_format]
        key = (self.info.version, request.text, request.result_format, tuple(request.default_graph_uris),
               tuple(request.named_graph_uris))
        cached = self._cache.get(key)
        if cached is not None:
            return QueryResult(cached[0], media_type, _once(cached[1]), complete=cached[1])
        if found.from_graphs or found.from_named_graphs:
            default_graphs: list[str] = []
            named_graphs: list[str] = []  # the query's own FROM / FROM NAMED (checked by the guard) apply
        elif request.default_graph_uris or request.named_graph_uris:
            default_graphs = list(request.default_graph_uris) or [EMPTY_GRAPH]
            named_graphs = list(request.named_graph_uris) or [EMPTY_GRAPH]
        else:
            default_graphs, named_graphs = self._dataset()
        timeout = request.timeout or settings.query_timeout
        deadline = time.monotonic() + timeout
        text = request.text
        visible = set(named_graphs or found.from_named_graphs) - {EMPTY_GRAPH}
        text = empty_unknown_graphs(text, settings.base_iri, visible)  # exact; fixes Virtuoso's ASK
        # the service's base for relative IRIs; first in the text, it also leaves no place for Virtuoso's
        # DEFINE pragmas (fetching URLs, widening the dataset), which must open a query: they become syntax errors
        text = f"BASE {sparql_iri(settings.base_iri)} {text}"
        on_loop = None
        connections = self._connections
        if connections is not None and not connections.challenged and form in ("SELECT", "ASK") \
                and request.result_format == "json":
            on_loop = request_bytes(self.endpoint.request(text, form, default_graphs=default_graphs,
                                                          named_graphs=named_graphs, timeout=timeout),
                                    connections.host_header)
        pipe = await self._start_transfer(
            deadline, lambda p: self._transfer(p, text, form, request.result_format, default_graphs, named_graphs,
                                               timeout), on_loop, timeout)
        held: list[bytes] = []  # joined once at the end (a single piece is not copied at all)
        size = 0
        while True:
            tag, payload = await self._next(pipe, deadline, timeout)
            if tag == "E":
                raise payload
            if payload:
                held.append(payload)
                size += len(payload)
            if tag == "Z":
                body = b"".join(held)
                self._cache.put(key, form, body)
                return QueryResult(form, media_type, _once(body), complete=body)
            if size >= HOLD_BYTES:
                return QueryResult(form, media_type, self._stream(pipe, b"".join(held), deadline, timeout))

    def _dataset(self) -> tuple[list[str], list[str]]:
        return [self.graph], list(self.info.graphs) or [EMPTY_GRAPH]

    async def _start_transfer(self, deadline: float, work: Callable[[Pipe], None], on_loop: bytes | None = None,
                              timeout: float = 0.0) -> Pipe | LoopTransfer:
        """Take an engine slot, then start the transfer: ``on_loop`` (the request's bytes) on the event loop,
        else ``work`` in a transfer thread. Both give the answer through ``get`` and stop on ``cancel``."""
        try:
            if self._slots.locked():  # wait_for costs a task: only when there is something to wait for
                await asyncio.wait_for(self._slots.acquire(), max(0.01, deadline - time.monotonic()))
            else:
                await self._slots.acquire()
        except TimeoutError as exc:
            raise StoreBusy("Alle Verbindungen zur Datenbank sind belegt; bitte später erneut versuchen. / "
                            "All engine connections are busy; please retry later.") from exc

        def on_thread() -> Pipe:
            pipe = Pipe(asyncio.get_running_loop())
            self._transfers.submit(work, pipe, self._slots.release)
            return pipe

        if on_loop is None or self._connections is None:
            return on_thread()
        return LoopTransfer(self._connections, on_loop, self.endpoint, self.profile, timeout=timeout,
                            max_bytes=self.settings.max_result_bytes, too_large=self._too_large,
                            release=self._slots.release, fallback=on_thread)

    async def _next(self, pipe: Pipe | LoopTransfer, deadline: float, timeout: float) -> tuple[str, Any]:
        remaining = deadline - time.monotonic()
        try:
            if remaining <= 0:
                raise TimeoutError
            async with asyncio.timeout(remaining):  # unlike wait_for (3.11), no extra task per chunk
                return await pipe.get()
        except TimeoutError as exc:
            pipe.cancel()
            raise QueryTimeout(
                f"Abfrage nach {timeout:g} s abgebrochen (Zeitlimit). Bitte die Abfrage einschränken "
                f"(LIMIT, spezifischere Muster). / Query cancelled after {timeout:g} s (time limit). "
                "Please narrow the query (LIMIT, more specific patterns).") from exc

    async def _stream(self, pipe: Pipe | LoopTransfer, first: bytes, deadline: float, timeout: float) -> AsyncIterator[bytes]:
        finished = False
        try:
            yield first
            while True:
                tag, payload = await self._next(pipe, deadline, timeout)
                if tag == "D":
                    yield payload
                elif tag == "Z":
                    finished = True
                    if payload:
                        yield payload
                    return
                elif tag == "E":
                    finished = True
                    raise payload
        finally:
            if not finished:
                pipe.cancel()  # deadline or client gone: stop reading from the engine

    def _transfer(self, pipe: Pipe, text: str, form: str, fmt: str, default_graphs: Sequence[str],
                  named_graphs: Sequence[str], timeout: float) -> None:
        """Thread: engine → pyoxigraph → negotiated format → pipe (``D`` chunks, then ``Z`` or ``E``)."""
        settings = self.settings
        sink = Sink(pipe, settings.max_result_bytes)
        try:
            response = self.endpoint.open(text, form, default_graphs=default_graphs, named_graphs=named_graphs,
                                          timeout=timeout)
            pipe.response = response
            try:
                verbatim = self.profile.verbatim_json_replacements
                if form in ("SELECT", "ASK") and fmt == "json" and verbatim is not None \
                        and media_type(response.headers.get("Content-Type")) == RESULTS_ACCEPT:
                    forward(EngineReader(response, pipe.cancelled, rewrite_bnodes=True, replacements=verbatim), sink)
                elif form in ("SELECT", "ASK"):
                    reader = EngineReader(response, pipe.cancelled, rewrite_bnodes=True,
                                          replacements=self.profile.answer_replacements)
                    results = ox.parse_query_results(reader, format=ox.QueryResultsFormat.JSON)
                    results.serialize(sink, RESULTS_FORMATS[fmt])
                else:
                    reader = EngineReader(response, pipe.cancelled, replacements=self.profile.answer_replacements)
                    triples = capped(parse_graph(reader, response.headers.get("Content-Type")),
                                     settings.max_result_rows)
                    rdf = RDF_FORMATS[fmt]
                    prefixes = PREFIXES if rdf in (ox.RdfFormat.TURTLE, ox.RdfFormat.TRIG) else None
                    ox.serialize(triples, sink, rdf, prefixes=prefixes)
                pipe.put("Z", sink.take())  # the answer first: the loop goes on while the connection is put back
            finally:
                response.close()
        except Cancelled:
            return
        except StoreError as exc:
            self._fail(pipe, exc)
        except ResultLimit:
            self._fail(pipe, self._too_large())
        except (SyntaxError, OSError, ValueError, RuntimeError) as exc:
            if pipe.cancelled.is_set():
                return
            if sink.exceeded or isinstance(exc.__cause__ or exc.__context__, ResultLimit):
                self._fail(pipe, self._too_large())
            elif isinstance(exc, TimeoutError):
                self._fail(pipe, QueryTimeout(f"Zeitlimit beim Lesen der Antwort / time limit while reading: {exc}"))
            else:
                self._fail(pipe, StoreError(f"Antwort der Datenbank nicht lesbar / unreadable engine answer: {exc}"))

    @staticmethod
    def _fail(pipe: Pipe, error: StoreError) -> None:
        with contextlib.suppress(Cancelled):
            pipe.put("E", error)

    def _too_large(self) -> ResultTooLarge:
        settings = self.settings
        mib = settings.max_result_bytes / (1024 * 1024)
        return ResultTooLarge(
            f"Ergebnis größer als erlaubt ({mib:g} MiB bzw. {settings.max_result_rows} Tripel). Bitte LIMIT "
            f"verwenden oder die Dumps unter /dumps/ laden. / Result exceeds the limit ({mib:g} MiB or "
            f"{settings.max_result_rows} triples). Use LIMIT or download the dumps at /dumps/.")


    # -- blocking helpers (run in the executor) --------------------------------------------------------------
    async def _blocking(self, work, timeout: float):
        loop = asyncio.get_running_loop()
        try:
            return await asyncio.wait_for(loop.run_in_executor(self._executor, work), timeout)
        except TimeoutError as exc:
            raise QueryTimeout(f"Datenbank antwortet nicht in {timeout:g} s / engine did not answer within "
                               f"{timeout:g} s") from exc

    def construct(self, text: str, *, default_graphs: Sequence[str], named_graphs: Sequence[str] = (),
                  timeout: float, limit: int | None = None) -> list[ox.Triple]:
        """Blocking: all triples of a CONSTRUCT (at most ``limit + 1``, so a caller can see truncation)."""
        response = self.endpoint.open(text, "CONSTRUCT", default_graphs=default_graphs,
                                      named_graphs=named_graphs or [EMPTY_GRAPH], timeout=timeout,
                                      engine_timeout=False)
        try:
            triples = []
            for triple in parse_graph(EngineReader(response, replacements=self.profile.answer_replacements),
                                      response.headers.get("Content-Type")):
                triples.append(triple)
                if limit is not None and len(triples) > limit:
                    break
            return triples
        finally:
            response.close()

    def select(self, text: str, *, default_graphs: Sequence[str], named_graphs: Sequence[str] = (),
               timeout: float) -> list[dict[str, Any]]:
        """Blocking: the rows of a small SELECT as ``{variable: term}``."""
        response = self.endpoint.open(text, "SELECT", default_graphs=default_graphs,
                                      named_graphs=named_graphs or [EMPTY_GRAPH], timeout=timeout,
                                      engine_timeout=False)
        try:
            reader = EngineReader(response, rewrite_bnodes=True, replacements=self.profile.answer_replacements)
            results = ox.parse_query_results(reader,
                                             format=ox.QueryResultsFormat.JSON)
            names = [v.value for v in results.variables]
            return [{name: row[name] for name in names if row[name] is not None} for row in results]
        finally:
            response.close()

    # -- Linked Data -----------------------------------------------------------------------------------------
    async def describe(self, iri: str, *, incoming: bool = False) -> Description:
        timeout = self.settings.query_timeout
        limit = self.settings.max_result_rows
        default_graphs, _ = self._dataset()
        subject = sparql_iri(iri)
        main = await self._blocking(lambda: self.construct(
            _describe_query(subject, sparql_iri(meta_graph(self.graph))), default_graphs=default_graphs,
            named_graphs=[meta_graph(self.graph)], timeout=timeout, limit=limit), timeout + 1)
        subjects = {ox.NamedNode(iri)} | {t.subject for t in main if isinstance(t.subject, ox.NamedNode)}
        incoming_triples: list[ox.Triple] = []
        if incoming:
            found = await self._blocking(lambda: self.construct(
                f"CONSTRUCT {{ ?s ?p {subject} }} WHERE {{ ?s ?p {subject} }} LIMIT {MAX_INCOMING + 1}",
                default_graphs=default_graphs, timeout=timeout), timeout + 1)
            incoming_triples = [t for t in found if t.subject not in subjects]
        truncated = len(incoming_triples) > MAX_INCOMING
        incoming_triples = incoming_triples[:MAX_INCOMING]
        neighbours = {t.object for t in main if isinstance(t.object, ox.NamedNode)}
        neighbours |= {t.predicate for t in main} | {t.subject for t in incoming_triples}
        neighbours |= {t.predicate for t in incoming_triples}
        neighbours = {n for n in neighbours if isinstance(n, ox.NamedNode)} - subjects
        labels = await self._blocking(lambda: self._labels(sorted(neighbours, key=str), default_graphs, timeout),
                                      timeout + 1)
        if len(main) > limit and len(_ntriples(main)) > self.settings.max_result_bytes:
            raise ResultTooLarge("Beschreibung zu groß / description too large")
        return Description(iri, _ntriples(main), _ntriples(labels), _ntriples(incoming_triples),
                           truncated or len(main) > limit)

    def _labels(self, terms: list[ox.NamedNode], default_graphs: list[str], timeout: float) -> list[ox.Triple]:
        """Blocking: per term, the labels of the first label predicate it has (the worker's rule)."""
        found: list[ox.Triple] = []
        predicates = " ".join(sparql_iri(p) for p in LABEL_PREDICATES)
        for start in range(0, len(terms), 200):
            batch = terms[start:start + 200]
            values = " ".join(str(t) for t in batch)
            triples = self.construct(
                f"CONSTRUCT {{ ?t ?p ?l }} WHERE {{ VALUES ?t {{ {values} }} VALUES ?p {{ {predicates} }} ?t ?p ?l }}",
                default_graphs=default_graphs, timeout=timeout)
            by_term: dict[Any, list[ox.Triple]] = {}
            for triple in triples:
                by_term.setdefault(triple.subject, []).append(triple)
            for _term, hits in by_term.items():
                for predicate in LABEL_PREDICATES:
                    chosen = [t for t in hits if t.predicate.value == predicate]
                    if chosen:
                        found.extend(chosen)
                        break
        return found

    # -- dataset facts ---------------------------------------------------------------------------------------
    async def _read_meta(self) -> tuple[str | None, dict[str, Any] | None]:
        meta = meta_graph(self.graph)
        rows = await self._blocking(lambda: self.select(
            f"SELECT ?v ?m WHERE {{ GRAPH {sparql_iri(meta)} {{ {sparql_iri(self.graph)} <{VERSION}> ?v "
            f"OPTIONAL {{ {sparql_iri(self.graph)} <{MANIFEST}> ?m }} }} }}",
            default_graphs=[EMPTY_GRAPH], named_graphs=[meta], timeout=30.0), 31.0)
        if not rows:
            return None, None
        manifest = json.loads(rows[0]["m"].value) if "m" in rows[0] else None
        return rows[0]["v"].value, manifest

    async def _collect_info(self, fingerprint: str | None, manifest: dict[str, Any] | None) -> DatasetInfo:
        """VoID counts from the engine itself; provenance (files, load time) from the load manifest."""
        graphs = sorted(manifest.get("graphs", [])) if manifest else []
        dataset = ([self.graph], graphs or [EMPTY_GRAPH])

        def count(query: str) -> int:
            rows = self.select(query, default_graphs=dataset[0], named_graphs=dataset[1],
                               timeout=MAINTENANCE_TIMEOUT)
            return int(rows[0]["n"].value) if rows and "n" in rows[0] else 0

        def collect() -> DatasetInfo:
            if manifest:
                info = DatasetInfo.from_json(json.dumps(manifest))
            else:  # data loaded by other tools: no files to cite, version from the counts below
                info = DatasetInfo(fingerprint="", files=[], loaded_at=utc_now())
            info.graphs = graphs
            info.default_graph_triples = count("SELECT (COUNT(*) AS ?n) { ?s ?p ?o }")
            named = count("SELECT (COUNT(*) AS ?n) { GRAPH ?g { ?s ?p ?o } }") if graphs else 0
            info.triples = info.default_graph_triples + named
            info.distinct_subjects = count("SELECT (COUNT(DISTINCT ?s) AS ?n) { ?s ?p ?o }")
            info.distinct_objects = count("SELECT (COUNT(DISTINCT ?o) AS ?n) { ?s ?p ?o }")
            info.entities = count("SELECT (COUNT(DISTINCT ?s) AS ?n) { ?s ?p ?o FILTER(isIRI(?s)) }")
            info.classes = [Partition(r["c"].value, int(r["n"].value)) for r in self.select(
                "SELECT ?c (COUNT(DISTINCT ?s) AS ?n) { ?s a ?c FILTER(isIRI(?c)) } GROUP BY ?c ORDER BY ?c",
                default_graphs=dataset[0], named_graphs=dataset[1], timeout=MAINTENANCE_TIMEOUT)]
            info.properties = [Partition(r["p"].value, int(r["n"].value)) for r in self.select(
                "SELECT ?p (COUNT(*) AS ?n) { ?s ?p ?o } GROUP BY ?p ORDER BY ?p",
                default_graphs=dataset[0], named_graphs=dataset[1], timeout=MAINTENANCE_TIMEOUT)]
            if not info.fingerprint:
                info.fingerprint = fingerprint or hashlib.sha256(
                    f"{self.settings.store}\n{self.graph}\n{info.triples}\n{info.distinct_subjects}".encode()
                ).hexdigest()
            return info

        return await self._blocking(collect, MAINTENANCE_TIMEOUT)


def _describe_query(subject: str, meta: str) -> str:
    """Triples of the resource and its hash IRIs (from the load's index), with blank nodes to depth 4."""
    closure = ""
    for depth in range(BNODE_DEPTH, 0, -1):
        above = "?o" if depth == 1 else f"?o{depth - 1}"
        closure = (f"OPTIONAL {{ FILTER(isBlank({above})) {above} ?p{depth} ?o{depth} . {closure} }}")
    template = " ".join(f"{'?o' if d == 1 else f'?o{d - 1}'} ?p{d} ?o{d} ." for d in range(1, BNODE_DEPTH + 1))
    return (f"CONSTRUCT {{ ?s ?p ?o . {template} }} WHERE {{ "
            f"{{ BIND({subject} AS ?s) }} UNION {{ GRAPH {meta} {{ {subject} <{FRAGMENT}> ?s }} }} "
            f"?s ?p ?o . {closure} }}")


def _ntriples(triples: Sequence[ox.Triple]) -> str:
    unique = list(dict.fromkeys(triples))
    return ox.serialize(unique, format=ox.RdfFormat.N_TRIPLES).decode("utf-8") if unique else ""


async def _once(body: bytes) -> AsyncIterator[bytes]:
    yield body
