"""The query mix: texts, cold variants, an HTTP client, and answer comparison between engines.

* ``load_mix()`` reads ``query_mix/NN-name.rq``; the file text as it is is the *repeated* query and
  the one whose answer is compared between engines.
* ``variant(query, n, params)`` is the *cold* form number ``n``: the query's parameter is changed (the
  AGS, a search word, a date bound, LIMIT/OFFSET) so that the answer changes but the work does not,
  and a trailing ``# cold n`` comment makes every text unique, so no result or plan cache keyed on the
  text can answer it (pools of AGS values are small on the Lippe data).
* ``canonical(...)`` turns a SPARQL JSON result or an RDF graph into a sorted list of rows of plain
  strings, normalising what engines legitimately write differently (numeric lexical forms,
  ``xsd:string`` vs. simple literals, case of language tags, blank-node labels).
* ``hand_checks(files)`` computes a few answers on the Lippe data by walking triples with rdflib (no
  SPARQL engine involved) so that the reference engine itself is cross-checked.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import re
import socket
import time
import urllib.parse
from collections import Counter
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path

MIX_DIR = Path(__file__).resolve().parent / "query_mix"
XSD = "http://www.w3.org/2001/XMLSchema#"
DR = "https://w3id.org/digiregion/ontology#"
BASE = "https://w3id.org/digiregion/lippe/"
INTEGERS = {XSD + t for t in ("integer", "int", "long", "short", "byte", "nonNegativeInteger", "positiveInteger",
                              "negativeInteger", "nonPositiveInteger", "unsignedLong", "unsignedInt",
                              "unsignedShort", "unsignedByte")}
SEARCH_WORDS = ("kreis", "stadt", "land", "bildung", "energie", "wirtschaft", "gesellschaft", "tourismus",
                "förderung", "digital", "smart", "schule", "main", "rhein", "wald", "neustadt")
SELECT_ACCEPT = "application/sparql-results+json"
GRAPH_ACCEPT = "text/turtle"


@dataclass(frozen=True)
class Query:
    key: str          # "01"
    name: str         # "point-lookup-ags"
    text: str
    form: str         # SELECT | CONSTRUCT

    @property
    def label(self) -> str:
        return f"{self.key} {self.name}"

    @property
    def accept(self) -> str:
        return GRAPH_ACCEPT if self.form == "CONSTRUCT" else SELECT_ACCEPT


def load_mix() -> list[Query]:
    queries = []
    for path in sorted(MIX_DIR.glob("*.rq")):
        key, _, name = path.stem.partition("-")
        text = path.read_text(encoding="utf-8")
        body = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith(("#", "PREFIX")))
        form = "CONSTRUCT" if re.match(r"\s*CONSTRUCT\b", body, re.I) else "SELECT"
        queries.append(Query(key, name, text, form))
    return queries


# -- cold variants ------------------------------------------------------------------------------------------

PARAMS_QUERY = """PREFIX dr: <https://w3id.org/digiregion/ontology#>
SELECT DISTINCT ?ags ?active WHERE {
  ?k a dr:Municipality ; dr:ags ?ags .
  OPTIONAL { ?p (dr:participant|dr:lead|dr:partner) ?k . BIND(true AS ?active) }
} ORDER BY ?ags"""


def params_from_rows(rows: list[tuple[str, ...]]) -> dict[str, list[str]]:
    """The AGS pools for the cold variants, from the reference engine's answer to ``PARAMS_QUERY``."""
    every = sorted({_lexical(row[0]) for row in rows})
    active = sorted({_lexical(row[0]) for row in rows if row[1] is not None})
    return {"ags": every or ["05766020"], "active_ags": active or every or ["05766020"]}


def _lexical(term: str) -> str:
    return term.split('"')[1] if term.startswith('"') else term


def variant(query: Query, n: int, params: dict[str, list[str]]) -> str:
    """The ``n``-th cold form of ``query`` (see the module docstring)."""
    text = query.text
    ags = params["ags"]
    active = params["active_ags"]
    if query.key == "01":
        text = text.replace('"05766020"', f'"{ags[(n * 7919) % len(ags)]}"')
    elif query.key == "02":
        text = text.replace("kommune/05766020", f"kommune/{ags[(n * 7919) % len(ags)]}")
    elif query.key == "03":
        text = text.replace('"05766020"', f'"{active[(n * 7919) % len(active)]}"')
    elif query.key == "04":
        text = text.replace("GROUP BY ?feld ?name", f"GROUP BY ?feld ?name HAVING (COUNT(DISTINCT ?projekt) >= {n % 3})")
    elif query.key == "06":
        text = text.replace('"kreis"', f'"{SEARCH_WORDS[n % len(SEARCH_WORDS)]}"')
    elif query.key == "07":
        text = text.replace("LIMIT 10", f"LIMIT {10 + n % 10}")
    elif query.key == "09":
        text = text.replace('"2019-01-01"', f'"2019-{1 + n % 12:02d}-01"')
    elif query.key in ("10", "11"):
        text = text.replace("OFFSET 5000", f"OFFSET {5000 + 100 * (n % 10)}")
    elif query.key == "05":
        text = text.replace("kreis/05766>", f"kreis/{ags[(n * 7919) % len(ags)][:5]}>")
    else:  # 08: same work, a different page
        text = text.rstrip() + f" OFFSET {n % 5}"
    return text + f"\n# cold {n}\n"


# -- HTTP ---------------------------------------------------------------------------------------------------

class Client:
    """One keep-alive HTTP connection to a SPARQL endpoint (one per concurrent client thread)."""

    def __init__(self, url: str, params: dict[str, str], timeout: float) -> None:
        parts = urllib.parse.urlsplit(url)
        self.host, self.port, self.path = parts.hostname, parts.port, parts.path or "/"
        assert self.host == "127.0.0.1", "benchmarks talk to 127.0.0.1 only"
        self.params = params
        self.timeout = timeout
        self.conn: http.client.HTTPConnection | None = None

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def query(self, text: str, accept: str, timeout: float | None = None) -> tuple[str, float, bytes]:
        """POST the query; returns (status, seconds, body); status is "200", another code, or "timeout"."""
        body = urllib.parse.urlencode({"query": text, **self.params}).encode()
        headers = {"Content-Type": "application/x-www-form-urlencoded", "Accept": accept}
        started = time.perf_counter()
        for attempt in (0, 1):  # one retry when a kept-alive connection was closed by the server
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=timeout or self.timeout)
            try:
                self.conn.request("POST", self.path, body, headers)
                _quick_ack(self.conn)
                response = self.conn.getresponse()
                data = _read_acking(self.conn, response)
                elapsed = time.perf_counter() - started
                if response.getheader("connection", "").lower() == "close":
                    self.close()
                return str(response.status), elapsed, data
            except TimeoutError:
                self.close()
                return "timeout", time.perf_counter() - started, b""
            except (ConnectionError, http.client.HTTPException, OSError):
                self.close()
                if attempt or time.perf_counter() - started > 1:
                    return "error", time.perf_counter() - started, b""
        return "error", time.perf_counter() - started, b""


def _quick_ack(conn: http.client.HTTPConnection) -> None:
    """Acknowledge the answer's first segment at once (Linux ``TCP_QUICKACK``; it resets, so per request).

    Virtuoso writes its answers without ``TCP_NODELAY``: over a kept-alive connection a reply of a few
    KB then waits ~40 ms for the client's delayed ACK (query 05: 52 ms instead of 11 ms). A client that
    opens a new connection per request never sees this, so without the flag the keep-alive benchmark
    would charge Virtuoso for a client-side artefact.
    """
    sock = conn.sock
    quick_ack = getattr(socket, "TCP_QUICKACK", None)
    if sock is not None and quick_ack is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, quick_ack, 1)


def _read_acking(conn: http.client.HTTPConnection, response: http.client.HTTPResponse) -> bytes:
    """The whole body, with ``TCP_QUICKACK`` before every read: the flag resets after a while, and a large
    answer written in pieces without ``TCP_NODELAY`` (Virtuoso) would otherwise stall again mid-body
    (digiregion's own engine client does the same, ``store/keepalive.PooledResponse``)."""
    parts = []
    while True:
        _quick_ack(conn)
        part = response.read(256 * 1024)
        if not part:
            return b"".join(parts)
        parts.append(part)


# -- answers ------------------------------------------------------------------------------------------------

def _literal(value: str, datatype: str | None, lang: str | None) -> str:
    if lang:
        return f'"{value}"@{lang.lower()}'
    if datatype in (None, XSD + "string"):
        return f'"{value}"'
    if datatype in INTEGERS or datatype == XSD + "decimal":
        try:
            number = Decimal(value.strip())
            text = format(number.normalize(), "f")
            return f'"{text}"^^num'
        except InvalidOperation:
            pass
    if datatype in (XSD + "double", XSD + "float"):
        try:
            return f'"{float(value)!r}"^^{datatype}'
        except ValueError:
            pass
    return f'"{value}"^^{datatype}'


def _json_term(term: dict | None) -> str | None:
    if term is None:
        return None
    kind = term.get("type")
    if kind == "uri":
        return f"<{term['value']}>"
    if kind == "bnode":
        return "_:b"
    return _literal(term["value"], term.get("datatype"), term.get("xml:lang"))


def canonical_select(body: bytes) -> tuple[list[str], list[tuple]]:
    """(variables, rows in answer order) of a SPARQL JSON result; rows use ``_json_term`` strings."""
    data = json.loads(body)
    if "boolean" in data:
        return ["?boolean"], [(str(data["boolean"]).lower(),)]
    variables = list(data["head"]["vars"])
    rows = [tuple(_json_term(b.get(v)) for v in variables) for b in data["results"]["bindings"]]
    return variables, rows


def canonical_graph(body: bytes, content_type: str = "text/turtle") -> list[tuple]:
    import rdflib

    graph = rdflib.Graph()
    graph.parse(data=body, format="turtle" if "turtle" in content_type or not content_type else content_type)
    rows = []
    for triple in graph:
        rows.append(tuple(_rdflib_term(t) for t in triple))
    return rows


def _rdflib_term(term) -> str:
    import rdflib

    if isinstance(term, rdflib.URIRef):
        return f"<{term}>"
    if isinstance(term, rdflib.BNode):
        return "_:b"
    return _literal(str(term), str(term.datatype) if term.datatype else None, term.language)


@dataclass
class Answer:
    status: str
    seconds: float
    variables: list[str]
    rows: list[tuple]
    error: str = ""


def parse_answer(query: Query, status: str, seconds: float, body: bytes) -> Answer:
    if status != "200":
        return Answer(status, seconds, [], [], body[:300].decode("utf-8", "replace"))
    try:
        if query.form == "CONSTRUCT":
            return Answer(status, seconds, ["s", "p", "o"], canonical_graph(body))
        variables, rows = canonical_select(body)
        return Answer(status, seconds, variables, rows)
    except Exception as exc:
        return Answer("unparsable", seconds, [], [], f"{type(exc).__name__}: {exc}"[:300])


def compare(reference: Answer, other: Answer, ordered: bool) -> dict[str, object]:
    """Row multiset equality (and order, for ORDER BY queries); a short description of the difference."""
    if other.status != "200":
        return {"equal": False, "why": f"no answer ({other.status}) {other.error[:120]}".strip()}
    if reference.variables and other.variables and [v.lower() for v in reference.variables] != [
            v.lower() for v in other.variables]:
        return {"equal": False, "why": f"variables {other.variables} instead of {reference.variables}"}
    ref, got = Counter(reference.rows), Counter(other.rows)
    if ref != got:
        missing, extra = ref - got, got - ref
        return {"equal": False, "why": f"{len(other.rows)} rows instead of {len(reference.rows)}: "
                                      f"{sum(missing.values())} missing, {sum(extra.values())} extra",
                "missing_example": [list(r) for r in list(missing)[:3]],
                "extra_example": [list(r) for r in list(extra)[:3]]}
    if ordered and reference.rows != other.rows:
        return {"equal": False, "why": "same rows, different order"}
    return {"equal": True, "why": ""}


# -- hand-countable checks on the Lippe data (no SPARQL engine involved) ----------------------------------------

def hand_checks(files_dir: Path) -> dict[str, object]:
    """Expected answers for a few queries, computed by walking the triples with rdflib."""
    import rdflib
    from rdflib.namespace import RDF, SKOS

    graph = rdflib.Graph()
    for path in sorted(files_dir.rglob("*.ttl")):
        graph.parse(path, format="turtle")
    dr = rdflib.Namespace(DR)
    schema = rdflib.Namespace("https://schema.org/")
    detmold = rdflib.URIRef(BASE + "kommune/05766020")
    municipalities = set(graph.subjects(RDF.type, dr.Municipality))
    fields = set(graph.subjects(RDF.type, dr.StrategyField))
    projects = set(graph.subjects(RDF.type, dr.Project))
    links = (dr.participant, dr.lead, dr.partner)
    expected: dict[str, object] = {}
    names = [o for o in graph.objects(detmold, SKOS.prefLabel) if getattr(o, "language", None) == "de"]
    expected["01"] = sorted((f"<{detmold}>", f'"{n}"@de') for n in names)
    expected["03"] = len({(p, t) for p in projects for link in links if (p, link, detmold) in graph
                          for t in graph.objects(p, SKOS.prefLabel)})
    per_field = {f: len({p for p in projects if (p, dr.strategyField, f) in graph}) for f in fields}
    expected["04"] = sorted(((f"<{f}>", n) for f, n in per_field.items() if n), key=lambda x: x[0])
    covered = {(k, f) for p in graph.subjects(dr.strategyField, None) for f in graph.objects(p, dr.strategyField)
               for link in (*links, dr.spatialCoverage) for k in graph.objects(p, link)}
    expected["05"] = sum(1 for k in municipalities for _ in graph.objects(k, dr.district) for f in fields
                         if (k, f) not in covered)
    best = max((int(v), k) for k in municipalities for fig in graph.objects(k, dr.population)
               for v in graph.objects(fig, schema.value))
    expected["07"] = (f"<{best[1]}>", str(best[0]))
    expected["09"] = sum(1 for _, fig in graph.subject_objects(dr.population)
                         for d in graph.objects(fig, dr.referenceDate)
                         for _v in graph.objects(fig, schema.value)
                         if "2019-01-01" <= str(d) <= "2023-12-31")
    return {"municipalities": len(municipalities), "fields": len(fields), "expected": expected}


def check_reference(answers: dict[str, Answer], hand: dict[str, object]) -> list[str]:
    """Compare the reference engine's Lippe answers with the hand-computed ones; returns failures."""
    expected = hand["expected"]
    failures = []

    def fail(key: str, what: str) -> None:
        failures.append(f"{key}: {what}")

    a = answers
    if "01" in a and sorted(a["01"].rows) != expected["01"]:
        fail("01", f"{a['01'].rows} != {expected['01']}")
    if "03" in a and len(a["03"].rows) != expected["03"]:
        fail("03", f"{len(a['03'].rows)} rows != {expected['03']}")
    if "04" in a:
        got = sorted((row[0], row[2].split('"')[1]) for row in a["04"].rows)
        want = [(f, str(n)) for f, n in expected["04"]]
        if got != want:
            fail("04", f"{got} != {want}")
    if "05" in a and a["05"].status == "200" and len(a["05"].rows) != expected["05"]:
        fail("05", f"{len(a['05'].rows)} rows != {expected['05']}")
    if "07" in a and (not a["07"].rows or (a["07"].rows[0][0], a["07"].rows[0][2].split('"')[1]) != expected["07"]):
        fail("07", f"first row {a['07'].rows[:1]} != {expected['07']}")
    if "09" in a and len(a["09"].rows) != expected["09"]:
        fail("09", f"{len(a['09'].rows)} rows != {expected['09']}")
    return failures
