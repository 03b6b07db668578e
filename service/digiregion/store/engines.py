"""What digiregion knows about particular SPARQL engines: timeouts, write endpoints, tell-tale headers.

The remote store speaks plain SPARQL 1.1 to any engine. A profile adds only what makes an engine
*safe* to put behind the public service: its own query timeout (so a runaway query stops in the
engine, not just in our client), how it signals a partial or truncated answer (which must become an
error, never a 200), where its write endpoints are, and which of its known wrong answers to refuse
(``deviations``). Unknown engines get the ``generic`` profile: client-side timeout only.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pyoxigraph as ox

from .base import QueryTimeout, ResultTooLarge, StoreError
from .deviations import Deviation, virtuoso_deviations


@dataclass(frozen=True)
class EngineProfile:
    """Engine-specific behaviour; every field has a safe generic default."""

    name: str
    timeout_parameter: Callable[[float], tuple[str, str]] | None = None
    """Request parameter that makes the engine stop a query itself, from the timeout in seconds."""
    update_path: str | None = None
    graph_store_path: str | None = None
    """Paths of the authenticated write endpoints, relative to the query endpoint's folder."""
    deviations: Callable[[str], Deviation | None] = field(default=lambda text: None)
    stored_datatypes: Mapping[str, str] = field(default_factory=dict)
    """Datatypes the engine would alter on load, stored under a private IRI instead and mapped back on
    every answer (byte-exact: the private IRIs occur nowhere else)."""
    results_json_fixes: tuple[tuple[bytes, bytes], ...] | None = None
    """Set for an engine whose SPARQL JSON results are known to be well-formed and to carry the terms the
    parser would read from them: its JSON answers then go to clients that asked for JSON as they came,
    after these byte replacements (plus ``answer_replacements``), instead of being parsed and written
    again. Why: re-serialising costs ~20–35 ms per MB of results (pyoxigraph, this machine), most of what
    the service added to large answers. ``None`` (the default, every unknown engine): always re-serialise,
    which also checks the answer. A replacement must match only JSON structure, never text inside a
    string value (where every quote is escaped, so a pattern that includes quotes cannot match)."""

    def encode(self, triple: Any) -> Any:
        """A triple as it is stored in this engine (``load``)."""
        obj = triple.object
        if self.stored_datatypes and isinstance(obj, ox.Literal) and obj.datatype.value in self.stored_datatypes:
            stored = ox.Literal(obj.value, datatype=ox.NamedNode(self.stored_datatypes[obj.datatype.value]))
            return ox.Triple(triple.subject, triple.predicate, stored)
        return triple

    @property
    def answer_replacements(self) -> list[tuple[bytes, bytes]]:
        """Byte replacements that turn the engine's answers back into the loaded terms."""
        return [(stored.encode(), real.encode()) for real, stored in self.stored_datatypes.items()]

    @property
    def verbatim_json_replacements(self) -> list[tuple[bytes, bytes]] | None:
        """What turns the engine's SPARQL JSON into the answer for clients, or None: parse and re-serialise."""
        if self.results_json_fixes is None:
            return None
        return [*self.answer_replacements, *self.results_json_fixes]

    def check_headers(self, headers: Mapping[str, str], timeout: float) -> None:
        """Raise when the engine says its 200 answer is incomplete (timeout) or truncated (row cap)."""
        state = (headers.get("x-sql-state") or "").upper()
        if state == "S1TAT":  # Virtuoso "anytime query": a partial result after the timeout
            raise QueryTimeout(
                f"Abfrage nach {timeout:g} s abgebrochen (Zeitlimit der Datenbank; das Teilergebnis wird nicht "
                f"ausgeliefert). / Query cancelled after {timeout:g} s (engine time limit; the partial result "
                "is not served).")
        if headers.get("x-sparql-maxrows"):
            raise ResultTooLarge(
                f"Die Datenbank hat das Ergebnis bei {headers['x-sparql-maxrows']} Zeilen abgeschnitten; ein "
                "unvollständiges Ergebnis wird nicht ausgeliefert. Bitte LIMIT verwenden oder die Dumps unter "
                f"/dumps/ laden. / The engine truncated the result at {headers['x-sparql-maxrows']} rows; an "
                "incomplete result is not served. Use LIMIT or download the dumps at /dumps/.")
        if state and state[:2] not in ("00", "01"):
            message = headers.get("x-sql-message", "")
            raise StoreError(f"Fehler der Datenbank / engine error: {state} {message}".strip())


GEO_WKT = "http://www.opengis.net/ont/geosparql#wktLiteral"

GENERIC = EngineProfile("generic")

VIRTUOSO = EngineProfile(
    "virtuoso",
    timeout_parameter=lambda seconds: ("timeout", str(max(1, int(seconds * 1000)))),
    update_path="sparql-auth",
    graph_store_path="sparql-graph-crud-auth",
    deviations=virtuoso_deviations,
    # Virtuoso 7.2.5 turns geo:wktLiteral into its own geometry type: the datatype becomes
    # virtrdf:Geometry, coordinates lose precision, and WKT with a CRS IRI is rejected outright.
    stored_datatypes={GEO_WKT: "urn:digiregion:virtuoso:wktLiteral"},
    # Virtuoso 7.2.5 writes well-formed JSON (non-ASCII and control characters escaped, surrogate pairs for
    # astral characters) but types literals with a datatype "typed-literal", the 2007 draft's spelling that
    # SPARQL 1.1 replaced by "literal" + "datatype". Its blank-node labels ("nodeID://b10003") are not
    # labels a strict client accepts (pyoxigraph refuses them): the reader relabels them on every path.
    # Checked by tests/remote/test_verbatim_json.py against the re-serialised answer.
    results_json_fixes=((b'"type": "typed-literal"', b'"type": "literal"'),
                        (b'"type":"typed-literal"', b'"type":"literal"')),
)

PROFILES = {p.name: p for p in (GENERIC, VIRTUOSO)}


def detect(name: str, server_header: str | None) -> EngineProfile:
    """The profile for a configured name, or (``auto``) the one the Server header announces."""
    if name != "auto":
        try:
            return PROFILES[name]
        except KeyError:
            raise ValueError(f"Unbekannte Datenbank / unknown engine: {name!r} "
                             f"(auto, {', '.join(PROFILES)})") from None
    if server_header and "virtuoso" in server_header.lower():
        return VIRTUOSO
    return GENERIC


def sibling_url(query_url: str, path: str) -> str:
    """``http://h/sparql`` + ``sparql-auth`` → ``http://h/sparql-auth`` (same folder as the query endpoint)."""
    base = query_url.split("?", 1)[0]
    return base.rsplit("/", 1)[0] + "/" + path
