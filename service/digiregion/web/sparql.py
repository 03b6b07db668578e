"""SPARQL 1.1 Protocol at ``/sparql``: query via GET, POST form and POST direct; no update, ever.

Request handling follows the protocol's rules (one ``query``, ``default-graph-uri`` and
``named-graph-uri`` from the URL or the form, UTF-8 only, the right Content-Type or 415) and then
hands the query to the store. SPARQL Update is refused with 403 on every route (``update=`` in URL or
form, ``application/sparql-update``, update keywords in a query). GET without a query answers the
Service Description for RDF clients and a query form for browsers.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse

from ..store.base import QueryRequest
from ..store.sparql_guard import check_query
from .negotiation import DOCUMENT_OFFERS, GRAPH_OFFERS, HTML, SELECT_OFFERS, choose
from .service import MEDIA_TYPES, Service

router = APIRouter()

READ_ONLY = ("Dieser Endpunkt ist schreibgeschützt: SPARQL Update wird nicht ausgeführt, die Daten bleiben "
             "unverändert. / This endpoint is read-only: SPARQL Update is not executed, the data is unchanged.")
EXAMPLES = (
    ("Kommunen und ihre Kreise / municipalities and their districts",
     "PREFIX dr: <https://w3id.org/digiregion/ontology#>\nPREFIX skos: <http://www.w3.org/2004/02/skos/core#>\n"
     "SELECT ?kommune ?name ?kreis WHERE {\n  ?kommune a dr:Municipality ; skos:prefLabel ?name ; "
     "dr:district ?kreis .\n  FILTER(lang(?name) = \"de\")\n} ORDER BY ?name LIMIT 100"),
    ("Klassen und Anzahl / classes and counts",
     "SELECT ?klasse (COUNT(?s) AS ?anzahl) WHERE { ?s a ?klasse } GROUP BY ?klasse ORDER BY DESC(?anzahl)"),
)


class ProtocolError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


async def sparql_get(request: Request) -> Response:
    service: Service = request.app.state.service
    params = list(request.query_params.multi_items())
    try:
        if any(name in ("update", "using-graph-uri", "using-named-graph-uri") for name, _ in params):
            raise ProtocolError(403, READ_ONLY)
        queries = [value for name, value in params if name == "query"]
        if not queries:
            return _description(request, service)
        return await _run(request, service, queries, params, too_long_status=414)
    except ProtocolError as exc:
        return service.error_response(request, exc.status, exc.message)


async def sparql_post(request: Request) -> Response:
    service: Service = request.app.state.service
    content_type = request.headers.get("content-type", "")
    media_type, _, parameters = content_type.partition(";")
    media_type = media_type.strip().lower()
    url_params = list(request.query_params.multi_items())
    try:
        if media_type == "application/sparql-update" or any(
                name in ("update", "using-graph-uri", "using-named-graph-uri") for name, _ in url_params):
            raise ProtocolError(403, READ_ONLY)
        body = await request.body()
        if media_type == "application/x-www-form-urlencoded":
            text = _decode(body, parameters)
            form = parse_qsl(text, keep_blank_values=True)
            if any(name in ("update", "using-graph-uri", "using-named-graph-uri") for name, _ in form):
                raise ProtocolError(403, READ_ONLY)
            queries = [value for name, value in form if name == "query"]
            if not queries:
                raise ProtocolError(400, "Parameter 'query' fehlt. / Parameter 'query' is missing.")
            return await _run(request, service, queries, url_params + form, too_long_status=413)
        if media_type == "application/sparql-query":
            return await _run(request, service, [_decode(body, parameters)], url_params, too_long_status=413)
        raise ProtocolError(
            415, "POST braucht Content-Type application/sparql-query oder application/x-www-form-urlencoded. / "
                 "POST needs Content-Type application/sparql-query or application/x-www-form-urlencoded.")
    except ProtocolError as exc:
        return service.error_response(request, exc.status, exc.message)


for _path in ("/sparql", "/sparql/"):
    # Starlette routes, not FastAPI's: the handlers take the bare Request, so FastAPI's dependency
    # resolution would only add ~0.2 ms to every query (a third of a point lookup's time in the service)
    router.add_route(_path, sparql_get, methods=["GET", "HEAD"], include_in_schema=False)
    router.add_route(_path, sparql_post, methods=["POST"], include_in_schema=False)


def _decode(body: bytes, parameters: str) -> str:
    charset = "utf-8"
    for parameter in parameters.split(";"):
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "charset":
            charset = value.strip().strip('"').lower()
    if charset not in ("utf-8", "utf8"):
        raise ProtocolError(415, f"Nur UTF-8 wird angenommen (charset={charset}). / Only UTF-8 is accepted "
                                 f"(charset={charset}).")
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ProtocolError(400, "Anfrage ist kein gültiges UTF-8. / Request is not valid UTF-8.") from exc


async def _run(request: Request, service: Service, queries: list[str], params: list[tuple[str, str]],
               too_long_status: int) -> Response:
    settings = service.settings
    if len(queries) > 1:
        raise ProtocolError(400, "Genau ein Parameter 'query' erwartet. / Exactly one 'query' parameter expected.")
    text = queries[0]
    if len(text) > settings.max_query_length:
        raise ProtocolError(too_long_status, f"Abfrage zu lang ({len(text)} Zeichen, erlaubt "
                                             f"{settings.max_query_length}). / Query too long ({len(text)} "
                                             f"characters, limit {settings.max_query_length}).")
    default_graphs = [v for n, v in params if n == "default-graph-uri"]
    named_graphs = [v for n, v in params if n == "named-graph-uri"]
    info = check_query(text, base_iri=settings.base_iri, known_graphs=service.store.info.graphs,
                       allowed_services=settings.allowed_service_endpoints, max_length=settings.max_query_length,
                       default_graph_uris=default_graphs, named_graph_uris=named_graphs)
    offers = GRAPH_OFFERS if info.form in ("CONSTRUCT", "DESCRIBE") else SELECT_OFFERS
    format_name = next((v for n, v in params if n in ("format", "output") and v), None)
    offer = choose(offers, request.headers.get("accept"), format_name)
    headers = service.cache_headers(service.etag("sparql", text, offer.key, *default_graphs, "|", *named_graphs))
    if request.method == "GET":
        cached = service.not_modified(request, headers)
        if cached is not None:
            return cached
    else:
        headers["Cache-Control"] = "no-store"
    result = await service.store.query(QueryRequest(text, offer.key, default_graphs, named_graphs))
    media_type = result.media_type
    if request.method == "HEAD":
        return Response(status_code=200, media_type=media_type, headers=headers)
    if result.complete is not None:
        return Response(result.complete, media_type=media_type, headers=headers)
    return StreamingResponse(result.chunks, media_type=media_type, headers=headers)


def _description(request: Request, service: Service) -> Response:
    offer = choose(DOCUMENT_OFFERS, request.headers.get("accept"), request.query_params.get("format"))
    if offer is HTML:
        return service.render(request, "sparql.html", examples=EXAMPLES, headers={"Vary": "Accept"})
    headers = service.cache_headers(service.etag("service-description", offer.key))
    cached = service.not_modified(request, headers)
    if cached is not None:
        return cached
    return Response(service.metadata_bytes("service", offer.key), media_type=MEDIA_TYPES[offer.key],
                    headers=headers)

