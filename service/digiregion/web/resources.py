"""Linked Data: every IRI under the served namespaces dereferences at the same path on this server.

``IriMap`` says which IRI a path stands for (dataset base → ``/``, ontology → ``/ontology``, shapes →
``/shapes``). The bare path negotiates (HTML for browsers, Turtle for ``*/*``, JSON-LD, N-Triples,
RDF/XML) and names the chosen document in ``Content-Location``; the suffixed paths (``.ttl``,
``.jsonld``, ``.nt``, ``.rdf``, ``.html``) are those documents and never negotiate. Resources answer
200 directly (no 303 hop: the page *is* the description, as with Trifid); the root answers 303 to
VoID for RDF clients. Every answer has ``Vary: Accept``, an ``ETag`` per data version and
representation and ``Last-Modified``, so revalidation gets 304. The home page shows the dataset's
counts and most used classes: on a large store's first start it waits for the statistics like VoID
(``Service.wait_for_statistics``; 503 with Retry-After if they take too long), and its ETag includes the
number of dumps, which it lists.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from .negotiation import DOCUMENT_OFFERS, HTML, SUFFIXES, choose
from .service import MEDIA_TYPES, Service
from .views import build_view, compact

router = APIRouter()


@router.api_route("/", methods=["GET", "HEAD"], include_in_schema=False)
async def home(request: Request) -> Response:
    service: Service = request.app.state.service
    offer = choose(DOCUMENT_OFFERS, request.headers.get("accept"), request.query_params.get("format"))
    if offer is not HTML:
        return RedirectResponse("/.well-known/void", status_code=303, headers={"Vary": "Accept"})
    if not await service.wait_for_statistics():  # the page shows the counts and the classes in use
        return service.statistics_pending_response()
    lang = service.lang(request)
    headers = service.cache_headers(service.etag("home", lang, str(len(service.dumps))), vary="Accept")
    cached = service.not_modified(request, headers)
    if cached is not None:
        return cached
    return service.render(request, "home.html", info=service.store.info, dumps=service.dumps,
                          examples=_examples(service), headers=headers)


@router.api_route("/{path:path}", methods=["GET", "HEAD"], include_in_schema=False)
async def resource(request: Request, path: str) -> Response:
    service: Service = request.app.state.service
    document = "/" + path
    forced = None
    for suffix, offer in SUFFIXES.items():
        if document.endswith(suffix):
            document, forced = document[: -len(suffix)], offer
            break
    iri = service.iri_map.iri_for(document)
    offer = forced or choose(DOCUMENT_OFFERS, request.headers.get("accept"), request.query_params.get("format"))
    if iri is None:
        return _not_found(request, service, document, None, offer is HTML)
    lang = service.lang(request) if offer is HTML else ""
    headers = service.cache_headers(service.etag("resource", iri, offer.key, lang),
                                    vary="Accept")
    cached = service.not_modified(request, headers)
    description = await service.store.describe(iri, incoming=offer is HTML)
    if not description.found:
        return _not_found(request, service, document, iri, offer is HTML)
    if cached is not None:
        return cached
    if forced is None:
        headers["Content-Location"] = document + (offer.suffix or "")
    headers["Link"] = ", ".join(f'<{document}{o.suffix}>; rel="alternate"; type="{o.media_type}"'
                                for o in DOCUMENT_OFFERS if o.suffix and o is not offer)
    if offer is HTML:
        view = build_view(description, lang, service.link)
        return service.render(request, "resource.html", view=view, document=document,
                              formats=service.alternates(document, DOCUMENT_OFFERS), headers=headers)
    body = service.serialise(description.triples + description.labels, offer.key)
    if request.method == "HEAD":
        headers["Content-Length"] = str(len(body))
        return Response(status_code=200, media_type=MEDIA_TYPES[offer.key], headers=headers)
    return Response(body, media_type=MEDIA_TYPES[offer.key], headers=headers)


def _not_found(request: Request, service: Service, document: str, iri: str | None, html: bool) -> Response:
    if html:
        return service.render(request, "not_found.html", status=404, iri=iri, document=document,
                              headers={"Vary": "Accept"})
    text = (f"Keine Beschreibung für {iri or document} in diesem Datensatz. / "
            f"No description of {iri or document} in this dataset.\n")
    return Response(text, status_code=404, media_type="text/plain; charset=utf-8", headers={"Vary": "Accept"})


def _examples(service: Service) -> list[tuple[str, str, int]]:
    """The most used classes (compact name, link to the class's page, number of instances)."""
    top = sorted(service.store.info.classes, key=lambda c: -c.count)[:12]
    return [(compact(c.iri), service.link(c.iri), c.count) for c in top]
