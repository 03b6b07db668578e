"""The one small interface every store backend implements, and the errors it may raise.

The web layer talks only to ``Store``: the embedded pyoxigraph backend today, a remote SPARQL 1.1
endpoint (issue 4) tomorrow. Results come back already serialised, as an async stream of byte
chunks plus their media type, so that neither side builds a large result in memory and the HTTP
layer never needs to know which engine produced the bytes.

Errors carry an HTTP status and a bilingual message (German first, then English) because they are
shown to people as they are; the web layer only copies them into a response.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field

from ..dataset import DatasetInfo


class StoreError(Exception):
    """A query could not be answered; ``status`` is the HTTP status the client should get."""

    status = 500
    code = "store-error"

    def __init__(self, message: str, detail: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail


class QuerySyntaxError(StoreError):
    """The query does not parse; the message has the parser's line and column."""

    status = 400
    code = "syntax-error"


class QueryRefused(StoreError):
    """The query asks for something this read-only public endpoint does not do (update, SERVICE, …)."""

    status = 403
    code = "refused"


class UnknownGraph(StoreError):
    """FROM / default-graph-uri / named-graph-uri name a graph that is not in the dataset."""

    status = 400
    code = "unknown-graph"


class QueryTimeout(StoreError):
    """The query ran into its deadline; its worker was stopped (504: the worker did not answer in time)."""

    status = 504
    code = "timeout"


class ResultTooLarge(StoreError):
    """The result exceeds the configured size cap; answered instead of a silently truncated 200."""

    status = 422
    code = "result-too-large"


class StoreBusy(StoreError):
    """No worker became free in time: the service is overloaded, try again."""

    status = 503
    code = "busy"


@dataclass(frozen=True)
class QueryRequest:
    """One SPARQL query with its protocol dataset and the wanted result format."""

    text: str
    result_format: str
    """Key of a format in ``store.formats`` (``json``, ``xml``, ``csv``, ``tsv``, ``turtle``, …)."""
    default_graph_uris: Sequence[str] = ()
    named_graph_uris: Sequence[str] = ()
    timeout: float | None = None


@dataclass
class QueryResult:
    """A query answer that is already serialised: ``chunks`` yields bytes until the result is complete.

    ``form`` is SELECT, ASK, CONSTRUCT or DESCRIBE. If the stream fails after the first chunk was
    sent (deadline or size cap hit mid-stream), ``chunks`` raises a ``StoreError``; the HTTP layer then
    aborts the connection so the client sees a broken transfer, never a short but "complete" body.
    """

    form: str
    media_type: str
    chunks: AsyncIterator[bytes]
    complete: bytes | None = None
    """The whole body when it was small enough to be held back (then a proper status is still possible)."""


@dataclass
class Description:
    """What a resource page shows: its own triples, labels of neighbours and (for HTML) incoming links.

    Every part is N-Triples text, the simplest exact exchange format between processes.
    """

    iri: str
    triples: str
    labels: str = ""
    incoming: str = ""
    incoming_truncated: bool = False
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def found(self) -> bool:
        return bool(self.triples.strip())


class Store(ABC):
    """A read-only SPARQL store as the web layer sees it.

    Optional attributes the web layer reads with ``getattr`` (not declared here: a wrapping store such as
    ``FederatingStore`` forwards unknown attributes to its backend, and a class attribute would hide them):
    ``statistics_ready`` — an ``asyncio.Event``, set once ``info`` carries the VoID statistics (a large
    embedded store computes them in the background after the start); ``dumps_ready`` — set once the dumps
    exist. A store without them has both from the start.
    """

    @property
    @abstractmethod
    def info(self) -> DatasetInfo:
        """Counts and provenance for VoID/DCAT (``stats``) and the data version for ETags."""

    @property
    def data_version(self) -> str:
        """Changes whenever the published data changes; ETags and result caches key on it."""
        return self.info.version

    def stats(self) -> DatasetInfo:
        return self.info

    @abstractmethod
    async def query(self, request: QueryRequest) -> QueryResult:
        """Run one query (already checked by ``sparql_guard``) and stream its serialised result."""

    @abstractmethod
    async def describe(self, iri: str, *, incoming: bool = False) -> Description:
        """Triples with ``iri`` (and its hash IRIs ``iri#…``) as subject, blank-node closure, labels."""

    @abstractmethod
    async def start(self) -> None:
        """Start workers or connections; called once by the app's lifespan."""

    @abstractmethod
    async def close(self) -> None:
        """Stop workers or connections."""
