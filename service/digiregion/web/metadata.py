"""Open-data metadata routes: VoID, the DCAT catalogue and the dumps.

The graphs are built once at start-up (``Service.load_metadata``) from the dataset's counts and its
self-description; these routes only negotiate the format and apply the caching headers. Dumps are
files written after the store was built; they are served with their SHA-256 as a strong ETag. A large
store writes them in the background: until they exist ``/dumps/digiregion.*`` answers 503 with
Retry-After, and VoID/DCAT list them as soon as they are complete.

Such a store also computes its statistics in the background (first, within seconds of the start). VoID
states them, so it waits for them (``Service.wait_for_statistics``, bounded) and answers 503 with
Retry-After if they are still missing; it is never served, nor cached, with counts missing. The DCAT
catalogue and ``/dumps/`` carry no counts and do not wait.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, PlainTextResponse, Response

from ..dumps import DUMP_STEM
from .negotiation import DOCUMENT_OFFERS, HTML, NQUADS, TRIG, choose
from .service import MEDIA_TYPES, Service

router = APIRouter()
METADATA_OFFERS = (*DOCUMENT_OFFERS, TRIG, NQUADS)


async def _graph_response(request: Request, name: str, *, statistics: bool = False) -> Response:
    service: Service = request.app.state.service
    if statistics and not await service.wait_for_statistics():
        return service.statistics_pending_response()
    offer = choose(METADATA_OFFERS, request.headers.get("accept"), request.query_params.get("format"))
    lang = service.lang(request) if offer is HTML else ""
    headers = service.cache_headers(service.etag(name, offer.key, lang, str(len(service.dumps))))
    cached = service.not_modified(request, headers)
    if cached is not None:
        return cached
    if offer is HTML:
        return service.render(request, "catalog.html", dumps=service.dumps, info=service.store.info,
                              headers=headers)
    return Response(service.metadata_bytes(name, offer.key), media_type=MEDIA_TYPES[offer.key], headers=headers)


@router.api_route("/.well-known/void", methods=["GET", "HEAD"], include_in_schema=False)
async def void(request: Request) -> Response:
    return await _graph_response(request, "void", statistics=True)


@router.api_route("/catalog", methods=["GET", "HEAD"], include_in_schema=False)
async def catalog(request: Request) -> Response:
    return await _graph_response(request, "catalog")


@router.api_route("/dumps/", methods=["GET", "HEAD"], include_in_schema=False)
@router.api_route("/dumps", methods=["GET", "HEAD"], include_in_schema=False)
async def dumps(request: Request) -> Response:
    return await _graph_response(request, "catalog")


@router.api_route("/dumps/{name}", methods=["GET", "HEAD"], include_in_schema=False)
async def dump_file(request: Request, name: str) -> Response:
    service: Service = request.app.state.service
    dump = next((d for d in service.dumps if d.name == name), None)
    if dump is None and service.dumps_pending and name.startswith(DUMP_STEM + "."):
        failed = getattr(service.store, "dumps_error", None)
        if failed:  # not "retry shortly": nothing is being written until new data or a restart
            return PlainTextResponse(
                f"Für diesen Datenstand gibt es keine Dumps. / There are no dumps for this data version.\n{failed}\n",
                status_code=503, headers={"Cache-Control": "no-store"})
        return PlainTextResponse(
            "Die Dumps werden gerade geschrieben; bitte gleich erneut versuchen. / The dumps are being written; "
            "please retry shortly.\n", status_code=503, headers={"Retry-After": "10", "Cache-Control": "no-store"})
    if dump is None:
        return service.error_response(request, 404, f"Keine Datei {name!r}. / No file {name!r}.")
    headers = {"ETag": f'"{dump.sha256}"', "Cache-Control": "public, max-age=3600",
               "Digest": f"sha-256={dump.sha256}"}
    if request.headers.get("if-none-match") in (headers["ETag"], "*"):
        return Response(status_code=304, headers=headers)
    return FileResponse(dump.path, media_type="application/gzip", filename=name, headers=headers)
