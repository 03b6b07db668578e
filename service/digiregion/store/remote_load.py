"""``digiregion load``: push a built dataset into a remote engine and switch it live in one step.

Why this shape: a load must never leave clients looking at half a dataset, and a failed or killed
load must leave the previous data served. So nothing the service reads is touched until the very
end:

1. Every graph of the dataset (the default graph → ``G``, each named graph, the side graph of
   ``remote_layout``) is uploaded into a fresh temporary graph ``urn:digiregion:loading:…``, in
   N-Triples chunks (Graph Store Protocol POST, or ``INSERT DATA`` where the engine has no Graph
   Store endpoint) or, with ``store_bulk_dir``, as files for Virtuoso's bulk loader (``virtuoso_bulk``).
   Blank nodes are only meaningful inside one request or file, so every blank-node-connected group of
   triples travels together (``ntriples_files``).
2. Each temporary graph's triple count is checked against the local count (this catches an engine
   that silently drops data: Virtuoso 7.2.5 stores nothing from Turtle with ``@prefix`` posted to
   its Graph Store endpoint, which is why only N-Triples is sent).
3. ONE SPARQL Update request switches: ``DROP SILENT GRAPH <g> ; MOVE SILENT GRAPH <tmp> TO GRAPH <g>``
   per graph, plus ``DROP`` of named graphs the new data no longer has. A SPARQL Update request is
   one transaction on Virtuoso (it answers ``Commit -- done``), Fuseki/TDB2 and Oxigraph, so readers
   see the old or the new dataset, never a mix. The running ``digiregion serve`` notices the new data
   version within ``store_refresh`` seconds. With the bulk loader a Virtuoso ``checkpoint`` follows, so
   the engine's next start does not replay the switch from its log; if it fails the load still succeeded
   (``LoadReport.warnings``).
4. On any failure before the switch, the temporary graphs are dropped (best effort) and the old
   graphs are untouched. A killed load (SIGKILL, power loss) cannot do that: its temporary graphs stay
   behind, invisible to the service (the dataset is pinned) but taking space. So every load first
   drops the temporary graphs that earlier loads into the same target graph left (their names carry
   the target: ``remote_layout.loading_prefix``); ``cleanup_all`` (``load --cleanup``) drops those of
   every target, including names from before the target was part of them. Two loads into the same
   graph at the same time are not supported: the later one drops the earlier one's temporary graphs,
   whose count check then fails, so the earlier load aborts and changes nothing.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sqlite3
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pyoxigraph as ox

from ..config import Settings
from .base import StoreError
from .credentials import Credentials, refuse_userinfo
from .engines import GENERIC, EngineProfile, detect, sibling_url
from .loader import UPLOAD_SCRATCH, BuiltStore, ensure_statistics, remove_stale_partials
from .ntriples_files import graph_files, triples_files
from .remote_layout import (
    EMPTY_GRAPH,
    FRAGMENT,
    LOADING_PREFIX,
    MANIFEST,
    VERSION,
    loading_prefix,
    meta_graph,
    sparql_iri,
)
from .sparql_client import Endpoint
from .streaming import EngineReader
from .virtuoso_bulk import FILE_TRIPLES, BulkFolder, bulk_upload, checkpoint

DEFAULT_CHUNK_TRIPLES = 20_000
REQUEST_TIMEOUT = 300.0
SWITCH_TIMEOUT = 6 * 3600.0
"""The switch copies every graph inside the engine (Virtuoso's MOVE: 20–25 s per 10^6 triples here, more than
300 s at 10^7): waiting less would report a failed load while the engine may still commit the switch."""

Progress = Callable[[int], None]


class LoadError(Exception):
    """The load failed; the previously loaded data is still what the engine serves."""


@dataclass(frozen=True)
class LoadTarget:
    """Where a load goes: the query endpoint (checks), update endpoint (switch), Graph Store (upload)."""

    query_url: str
    update_url: str
    graph_store_url: str | None
    graph: str
    credentials: Credentials = field(default_factory=Credentials)
    auth: str = "auto"
    profile: EngineProfile = GENERIC
    bulk: BulkFolder | None = None
    """Virtuoso only: upload with the engine's bulk loader through this folder (``virtuoso_bulk``)."""

    @classmethod
    def from_settings(cls, settings: Settings, credentials: Credentials, graph: str | None = None) -> LoadTarget:
        """Resolve the endpoints; a Virtuoso engine (by its Server header) gets its write endpoints derived."""
        refuse_userinfo(settings.store)
        for url in (settings.store_update_url, settings.store_graph_store_url):
            if url:
                refuse_userinfo(url)
        profile = detect(settings.store_engine, _server_header(settings.store))
        update = settings.store_update_url or (
            sibling_url(settings.store, profile.update_path) if profile.update_path else settings.store)
        graph_store = settings.store_graph_store_url or (
            sibling_url(settings.store, profile.graph_store_path) if profile.graph_store_path else None)
        bulk = None
        if settings.store_bulk_dir:
            if profile.name != "virtuoso":
                raise ValueError(f"Bulk-Loader nur für Virtuoso, nicht für {profile.name} / the bulk loader is only "
                                 f"supported for Virtuoso, not for {profile.name} (store_bulk_dir)")
            bulk = BulkFolder.from_settings(settings.store_bulk_dir, settings.store_bulk_engine_dir)
        return cls(settings.store, update, graph_store, graph or settings.store_graph or settings.base_iri,
                   credentials, settings.store_auth, profile, bulk)


@dataclass
class LoadReport:
    graphs: dict[str, int]
    """Target graph → triples now in it."""
    seconds: float
    version: str
    removed: list[str] = field(default_factory=list)
    """Temporary graphs of earlier (killed) loads that this load dropped first."""
    phases: dict[str, float] = field(default_factory=dict)
    """Seconds per step (prepare, upload, check, switch, checkpoint): where a slow load spends its time."""
    warnings: list[str] = field(default_factory=list)
    """What went wrong after the switch without undoing the load (German / English)."""


def _server_header(url: str) -> str | None:
    try:
        response = httpx.get(url, params={"query": "ASK {}"}, headers={"Accept": "application/sparql-results+json"},
                             timeout=30)
    except httpx.HTTPError as exc:
        raise LoadError(f"Datenbank nicht erreichbar / engine unreachable: {url} ({type(exc).__name__})") from None
    return response.headers.get("server")


def load_dataset(built: BuiltStore, target: LoadTarget, *, chunk_triples: int = DEFAULT_CHUNK_TRIPLES,
                 progress: Progress | None = None, on_total: Callable[[int], None] | None = None,
                 cleanup_all: bool = False, on_phase: Callable[[str], None] | None = None) -> LoadReport:
    """Upload ``built`` into temporary graphs, verify, and switch ``target.graph`` (and friends) atomically.

    Temporary graphs that earlier, killed loads into ``target.graph`` left behind are dropped first
    (``cleanup_all``: those of loads into any graph). The upload goes through the Graph Store Protocol
    (or ``INSERT DATA``) in chunks, or with ``target.bulk`` through the engine's bulk loader.
    """
    started = time.monotonic()
    phases: dict[str, float] = {}
    warnings: list[str] = []
    clock = [started]

    def done(phase: str) -> None:
        now = time.monotonic()
        phases[phase] = round(now - clock[0], 2)
        clock[0] = now

    source = ox.Store.read_only(str(built.oxigraph_path))
    info = built.info
    token = f"{loading_prefix(target.graph)}{uuid.uuid4().hex[:12]}:"
    plan: list[tuple[str, str, Any]] = [(target.graph, token + "0", ox.DefaultGraph())]
    plan += [(g, f"{token}{n}", ox.NamedNode(g)) for n, g in enumerate(info.graphs, start=1)]
    meta = meta_graph(target.graph)
    meta_triples = _meta_triples(built, target.graph)
    total = sum(_count_local(source, g) for _, _, g in plan) + len(meta_triples)
    if on_total:
        on_total(total)
    with httpx.Client(auth=target.credentials.httpx_auth(target.auth),
                      timeout=httpx.Timeout(REQUEST_TIMEOUT, connect=15.0)) as client:
        writer = _Writer(client, target)
        removed = drop_leftovers(target, writer, LOADING_PREFIX if cleanup_all else loading_prefix(target.graph))
        previous = _previous_graphs(target, meta)
        temporary = [tmp for _, tmp, _ in plan] + [token + "meta"]
        done("prepare")
        try:
            size = FILE_TRIPLES if target.bulk is not None else chunk_triples
            files = _files(source, [(tmp, graph) for _, tmp, graph in plan], (token + "meta", meta_triples),
                           target.profile, size)
            expected = dict.fromkeys(temporary, 0)
            if target.bulk is not None:
                try:
                    sent = bulk_upload(writer.query, target.bulk, files, progress, on_phase)
                except OSError as exc:
                    raise LoadError(f"Bulk-Ordner nicht beschreibbar / bulk folder not writable: {exc}") from None
                expected.update(sent)
            else:
                # next to the built store, not in the system's temporary folder: the whole graph is written
                # there first (1.6 GB at 10^7 triples), on the disk the operator gave the store
                remove_stale_partials(built.path)
                scratch = built.path / f".{UPLOAD_SCRATCH}.{os.getpid()}"
                scratch.mkdir()
                try:
                    for tmp, path, count in files(scratch):
                        writer.append(tmp, path.read_bytes())
                        path.unlink()
                        expected[tmp] += count
                        if progress:
                            progress(count)
                finally:
                    shutil.rmtree(scratch, ignore_errors=True)
            done("upload")
            for tmp, count in expected.items():
                stored = _count_remote(target, tmp)
                if stored != count:
                    raise LoadError(
                        f"Die Datenbank hat {stored} statt {count} Tripel gespeichert; der Ladevorgang wird "
                        f"abgebrochen. / The engine stored {stored} instead of {count} triples; load aborted.")
            switch = [(tmp, name) for name, tmp, _ in plan] + [(token + "meta", meta)]
            stale = sorted(set(previous) - set(info.graphs))
            done("check")
            writer.update(switch_request(switch, stale), timeout=SWITCH_TIMEOUT)
            done("switch")
        except BaseException:
            writer.drop_quietly(temporary)
            raise
        if target.bulk is not None:  # the same privilege as the loader had; the new data is live either way
            try:
                checkpoint(writer.query)
            except Exception as exc:  # not a failed load: said, not raised
                warnings.append(f"Checkpoint nach dem Umschalten fehlgeschlagen (die neuen Daten sind live; der "
                                f"nächste Start der Datenbank dauert länger) / checkpoint after the switch failed "
                                f"(the new data is live; the engine's next start takes longer): {exc}")
            done("checkpoint")
    graphs = {name: expected[tmp] for name, tmp, _ in plan}
    return LoadReport(graphs, time.monotonic() - started, info.fingerprint, removed, phases, warnings)


def _files(source: ox.Store, graphs: list[tuple[str, Any]], meta: tuple[str, list[ox.Triple]],
           profile: EngineProfile, size: int) -> Callable[[Path], Iterator[tuple[str, Path, int]]]:
    """What writes every temporary graph's triples as N-Triples files into a folder (``ntriples_files``)."""
    def write(folder: Path) -> Iterator[tuple[str, Path, int]]:
        encoded = list(profile.stored_datatypes)
        for n, (tmp, graph) in enumerate(graphs):
            for path, count in graph_files(source, graph, folder, f"g{n:04d}", size, profile.encode, encoded):
                yield tmp, path, count
        for path, count in triples_files(meta[1], folder, "meta", size, profile.encode):
            yield meta[0], path, count

    return write


def drop_leftovers(target: LoadTarget, writer: _Writer, prefix: str) -> list[str]:
    """Drop the temporary graphs whose names start with ``prefix`` (left by killed loads); returns them.

    One ``DROP`` per graph: a leftover may be large, and one transaction per graph keeps each small.
    """
    leftovers = temporary_graphs(target, prefix)
    for graph in leftovers:
        writer.update(f"DROP SILENT GRAPH {sparql_iri(graph)}")
    return leftovers


def temporary_graphs(target: LoadTarget, prefix: str = LOADING_PREFIX) -> list[str]:
    """Names of the temporary load graphs in the engine that start with ``prefix``.

    The query is not pinned to a dataset (it has to see graphs no dataset lists); it reads the graph
    names only, once per load.
    """
    # every graph name, filtered here: engines answer this from their graph index (Virtuoso: 0.1 s), while a
    # FILTER(STRSTARTS(…)) in the query made Virtuoso scan every quad (4–6 s with a few 10^6 triples loaded)
    rows = _select(target, "SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }", named=None)
    return sorted(row[0].value for row in rows if row[0] is not None and row[0].value.startswith(prefix))


def switch_request(pairs: list[tuple[str, str]], stale: list[str]) -> str:
    """One SPARQL Update request that replaces every target graph by its temporary graph."""
    operations = []
    for tmp, name in pairs:
        operations.append(f"DROP SILENT GRAPH {sparql_iri(name)}")
        operations.append(f"MOVE SILENT GRAPH {sparql_iri(tmp)} TO GRAPH {sparql_iri(name)}")
    operations += [f"DROP SILENT GRAPH {sparql_iri(name)}" for name in stale]
    return " ;\n".join(operations)


class _Writer:
    """HTTP writes to the engine: upload chunks, run the switch, drop temporary graphs."""

    def __init__(self, client: httpx.Client, target: LoadTarget) -> None:
        self.client = client
        self.target = target

    def append(self, graph: str, body: bytes) -> None:
        """Add N-Triples (already as the engine stores them) to ``graph``."""
        if not body:
            return
        if self.target.graph_store_url:
            self._send("POST", self.target.graph_store_url, params={"graph": graph}, content=body,
                       headers={"Content-Type": "application/n-triples"})
        else:
            self.update(f"INSERT DATA {{ GRAPH {sparql_iri(graph)} {{\n{body.decode('utf-8')}\n}} }}")

    def update(self, text: str, timeout: float | None = None) -> None:
        self._send("POST", self.target.update_url, data={"update": text},
                   headers={"Accept": "application/sparql-results+json, */*;q=0.5"},
                   **({"timeout": timeout} if timeout else {}))

    def query(self, text: str, timeout: float) -> None:
        """A query on the authenticated endpoint, for its effect (Virtuoso: SQL procedures called from SPARQL)."""
        self._send("POST", self.target.update_url, data={"query": text}, timeout=timeout,
                   headers={"Accept": "application/sparql-results+json"})

    def drop_quietly(self, graphs: list[str]) -> None:
        with contextlib.suppress(LoadError, httpx.HTTPError):
            self.update(" ;\n".join(f"DROP SILENT GRAPH {sparql_iri(g)}" for g in graphs))

    def _send(self, method: str, url: str, **kwargs: Any) -> None:
        try:
            response = self.client.request(method, url, **kwargs)
        except httpx.HTTPError as exc:
            raise LoadError(f"Datenbank nicht erreichbar / engine unreachable: {url} ({type(exc).__name__})") \
                from None
        if response.status_code == 401:
            raise LoadError("Die Datenbank verweigert das Schreiben (DIGIREGION_STORE_USER / "
                            "DIGIREGION_STORE_PASSWORD prüfen). / The engine refused the write (check "
                            "DIGIREGION_STORE_USER / DIGIREGION_STORE_PASSWORD).")
        if response.status_code >= 300:
            raise LoadError(f"Datenbank antwortet mit HTTP {response.status_code} / engine answered HTTP "
                            f"{response.status_code} ({url}): {response.text[:500]}")


def _meta_triples(built: BuiltStore, graph: str) -> list[ox.Triple]:
    """The side graph: data version, manifest (provenance for VoID/DCAT) and the hash-IRI index.

    Both come from the complete statistics: a large store that no service has completed in the
    background yet gets them here, before anything is sent (``ensure_statistics``).
    """
    built = ensure_statistics(built)
    subject = ox.NamedNode(graph)
    manifest = json.loads(built.info.to_json())
    triples = [ox.Triple(subject, ox.NamedNode(VERSION), ox.Literal(built.info.fingerprint)),
               ox.Triple(subject, ox.NamedNode(MANIFEST), ox.Literal(json.dumps(manifest, ensure_ascii=False)))]
    if built.fragments_path.is_file():
        connection = sqlite3.connect(f"file:{built.fragments_path}?mode=ro", uri=True)
        try:
            for doc, iri in connection.execute("SELECT doc, iri FROM fragments"):
                triples.append(ox.Triple(ox.NamedNode(doc), ox.NamedNode(FRAGMENT), ox.NamedNode(iri)))
        finally:
            connection.close()
    return triples


def _count_local(store: ox.Store, graph: Any) -> int:
    if isinstance(graph, ox.DefaultGraph):
        rows = store.query("SELECT (COUNT(*) AS ?n) { ?s ?p ?o }")
    else:
        rows = store.query(f"SELECT (COUNT(*) AS ?n) {{ GRAPH {graph} {{ ?s ?p ?o }} }}")
    return int(next(iter(rows))[0].value)


def _select(target: LoadTarget, text: str, named: list[str] | None) -> list[Any]:
    """Rows of a SELECT on the query endpoint; ``named=None``: not pinned to any dataset (all graphs)."""
    endpoint = Endpoint(target.query_url, target.credentials, target.auth, target.profile)
    try:
        response = endpoint.open(text, "SELECT", default_graphs=[EMPTY_GRAPH] if named is not None else [],
                                 named_graphs=named or [], timeout=REQUEST_TIMEOUT, engine_timeout=False)
    except StoreError as exc:
        raise LoadError(exc.message) from None
    try:
        return list(ox.parse_query_results(EngineReader(response, rewrite_bnodes=True),
                                           format=ox.QueryResultsFormat.JSON))
    finally:
        response.close()


def _count_remote(target: LoadTarget, graph: str) -> int:
    rows = _select(target, f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH {sparql_iri(graph)} {{ ?s ?p ?o }} }}", [graph])
    return int(rows[0][0].value) if rows else 0


def _previous_graphs(target: LoadTarget, meta: str) -> list[str]:
    """Named graphs of the previous load (so graphs the new data no longer has are dropped too)."""
    rows = _select(target, f"SELECT ?m WHERE {{ GRAPH {sparql_iri(meta)} {{ {sparql_iri(target.graph)} "
                           f"<{MANIFEST}> ?m }} }}", [meta])
    if not rows:
        return []
    try:
        return list(json.loads(rows[0][0].value).get("graphs", []))
    except (ValueError, AttributeError):
        return []
