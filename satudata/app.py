"""`posko satudata serve`: the Satu Data Jambi portal (Litestar on uvicorn) over Posko's ClickHouse."""

from __future__ import annotations

import logging
from importlib import resources
from typing import Any

import msgspec
from litestar import HttpMethod, Litestar, Request, Response, get, route
from litestar.response import Stream

from posko.settings import Settings
from satudata import ckan
from satudata.catalogue import Classification, Dataset
from satudata.datapackage import data_package
from satudata.datastore import datastore_search
from satudata.dcat import catalogue_graph
from satudata.downloads import STREAMS
from satudata.packages import EXTENSIONS, MEDIA_TYPES, package_dict
from satudata.pages.chart import chart_series, chart_svg
from satudata.pages.render import (
    FACETS,
    PAGE_ROWS,
    api_page,
    dataset_page,
    layout,
    link,
    message_page,
    search_page,
)
from satudata.pages.text import words
from satudata.portal import AccessDenied, NotAvailable, Portal
from satudata.search import search
from satudata.warehouse import QueryFailed, WarehouseUnavailable

log = logging.getLogger("posko.satudata")
JSON = "application/json"
FORMAT_OF_EXTENSION = {ext: fmt for fmt, ext in EXTENSIONS.items()}
HTML = "text/html; charset=utf-8"


def _portal(request: Request[Any, Any, Any]) -> Portal:
    portal: Portal = request.app.state.portal
    return portal


def _base(request: Request[Any, Any, Any]) -> str:
    configured = _portal(request).settings.satudata_url
    return configured.rstrip("/") if configured else str(request.base_url).rstrip("/")


def _agency(request: Request[Any, Any, Any]) -> str | None:
    token = request.headers.get("authorization") or request.headers.get("x-ckan-api-key")
    if token and token.lower().startswith("bearer "):
        token = token[7:]
    return _portal(request).agency(token)


def _lang(request: Request[Any, Any, Any]) -> str:
    return "en" if request.query_params.get("lang") == "en" else "id"


def _json(status: int, body: Any, headers: dict[str, str] | None = None) -> Response[bytes]:
    return Response(msgspec.json.encode(body), status_code=status, media_type=JSON, headers=headers)


def _error(status: int, kind: str, message: str) -> Response[bytes]:
    return _json(status, {"success": False, "error": {"__type": kind, "message": f"{kind}: {message}"}})


async def _params(request: Request[Any, Any, Any]) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for key, values in request.query_params.dict().items():
        params[key] = values[0] if len(values) == 1 else values
    if request.method == "POST":
        body = await request.body()
        if body.strip():
            content_type = request.headers.get("content-type", "")
            if "form" in content_type:
                form = await request.form()
                params.update({k: v for k, v in form.items()})
            else:
                decoded = msgspec.json.decode(body)
                if not isinstance(decoded, dict):
                    raise ckan.CkanError("Bad request", "isi permintaan harus objek JSON "
                                                        "(body must be a JSON object)")
                params.update(decoded)
    return params


@route(["/api/3/action/{name:str}", "/api/action/{name:str}"], http_method=[HttpMethod.GET, HttpMethod.POST])
async def action(request: Request[Any, Any, Any], name: str) -> Response[bytes]:
    """One CKAN action, in CKAN's envelope."""
    try:
        params = await _params(request)
    except (msgspec.DecodeError, ckan.CkanError) as exc:
        message = exc.message if isinstance(exc, ckan.CkanError) else f"JSON tidak sah (invalid JSON): {exc}"
        return _error(400, "Bad request", message)
    call = ckan.Request(params, _base(request), _agency(request))
    status, body = await ckan.call(_portal(request), name, call)
    return _json(status, body)


async def _served(request: Request[Any, Any, Any], name: str) -> Dataset | Response[bytes]:
    portal = _portal(request)
    dataset = portal.catalogue.find(name)
    if dataset is None:
        return _error(404, "Not Found Error", f"dataset {name!r} tidak ditemukan (not found)")
    try:
        portal.check_access(dataset, _agency(request))
    except AccessDenied as exc:
        return _error(403, "Authorization Error", str(exc))
    return dataset


@get("/dataset/{name:str}/download/{filename:str}")
async def download(request: Request[Any, Any, Any], name: str, filename: str) -> Response[Any]:
    """The dataset as a file, streamed from ClickHouse a chunk at a time."""
    found = await _served(request, name)
    if isinstance(found, Response):
        return found
    stem, _, ext = filename.rpartition(".")
    if stem != found.name or ext not in STREAMS:
        return _error(404, "Not Found Error", f"unduhan {filename!r} tidak ada; gunakan {found.name}."
                                              f"{'|'.join(STREAMS)} (no such download)")
    portal = _portal(request)
    try:
        await portal.require_available(found)
    except NotAvailable as exc:
        return _error(404, "Not Found Error", str(exc))
    except WarehouseUnavailable as exc:
        return _error(503, "Service Unavailable", str(exc))
    fmt = FORMAT_OF_EXTENSION[ext]
    media_type = MEDIA_TYPES[fmt] + ("" if ext == "parquet" else "; charset=utf-8")
    return Stream(STREAMS[ext](portal, found), media_type=media_type,
                  headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@get("/dataset/{name:str}/datapackage.json")
async def datapackage(request: Request[Any, Any, Any], name: str) -> Response[bytes]:
    """The dataset's Frictionless Data Package."""
    found = await _served(request, name)
    if isinstance(found, Response):
        return found
    portal = _portal(request)
    return _json(200, data_package(portal.catalogue, _base(request), found, portal.min_count))


async def _graph_text(request: Request[Any, Any, Any], fmt: str) -> str:
    portal = _portal(request)
    coverage = await portal.coverage()
    return catalogue_graph(portal.catalogue, _base(request), coverage).serialize(format=fmt)


@get("/catalog.jsonld")
async def catalog_jsonld(request: Request[Any, Any, Any]) -> Response[str]:
    """The DCAT catalogue as JSON-LD."""
    return Response(await _graph_text(request, "json-ld"), media_type="application/ld+json")


@get("/catalog.ttl")
async def catalog_ttl(request: Request[Any, Any, Any]) -> Response[str]:
    """The DCAT catalogue as Turtle."""
    return Response(await _graph_text(request, "turtle"), media_type="text/turtle; charset=utf-8")


def _page(request: Request[Any, Any, Any], title: str, body: str, status: int = 200) -> Response[str]:
    lang = _lang(request)
    query = {k: v for k, v in request.query_params.dict().items() if k != "lang"}
    switch = link(request.url.path, "id" if lang == "en" else "en", **query)
    return Response(layout(lang, title, body, switch), status_code=status, media_type=HTML)


def _unavailable(request: Request[Any, Any, Any], lang: str) -> Response[str]:
    w = words(lang)
    return _page(request, w["unavailable"], message_page(lang, w["unavailable"], w["unavailable_text"]), 503)


@get("/")
async def home(request: Request[Any, Any, Any]) -> Response[str]:
    """The search page with its facets."""
    lang = _lang(request)
    portal = _portal(request)
    query = request.query_params
    chosen = {field: query.getall(field, []) for field in FACETS}
    fq = " ".join(f'{field}:"{value}"' for field, values in chosen.items() for value in values)
    try:
        page = max(1, int(query.get("page") or 1))
    except ValueError:
        page = 1
    try:
        coverage = await portal.coverage()
    except WarehouseUnavailable:
        return _unavailable(request, lang)
    packages = [package_dict(portal.catalogue, _base(request), d, coverage[d.name], portal.min_count)
                for d in portal.visible(None)]
    q = query.get("q") or ""
    sort = "score desc, name asc" if q else "title_string asc"
    result = search(packages, q.replace(":", " "), fq, sort, PAGE_ROWS, (page - 1) * PAGE_ROWS,
                    list(FACETS))
    return _page(request, words(lang)["search"], search_page(lang, result, q, chosen, page))


@get("/dataset/{name:str}")
async def dataset_view(request: Request[Any, Any, Any], name: str) -> Response[str]:
    """A dataset's page (publik datasets only: the pages have no sign-in)."""
    lang = _lang(request)
    w = words(lang)
    portal = _portal(request)
    dataset = portal.catalogue.find(name)
    if dataset is None or dataset.classification is not Classification.PUBLIK:
        return _page(request, w["not_found"], message_page(lang, w["not_found"], w["not_found_text"]), 404)
    try:
        coverage = await portal.coverage_of(dataset)
        package = package_dict(portal.catalogue, _base(request), dataset, coverage, portal.min_count)
        preview, chart = None, ""
        if coverage.available:
            preview = await datastore_search(portal, dataset, dataset.resource_id("CSV"), {"limit": 10})
            label, points = await chart_series(portal, dataset)
            chart = chart_svg(label, points, w["chart_empty"])
    except (WarehouseUnavailable, QueryFailed):
        return _unavailable(request, lang)
    suppresses = any(c.suppress for c in portal.catalogue.columns(dataset))
    title = dataset.title_en if lang == "en" else dataset.title
    return _page(request, title, dataset_page(lang, package, preview, chart, suppresses))


@get("/api")
async def api_view(request: Request[Any, Any, Any]) -> Response[str]:
    """The API page."""
    lang = _lang(request)
    example = _portal(request).visible(None)[0].name
    return _page(request, words(lang)["api_title"], api_page(lang, _base(request), example))


@get("/static/satudata.css")
async def stylesheet() -> Response[bytes]:
    """The pages' stylesheet."""
    css = resources.files("satudata.pages").joinpath("satudata.css").read_bytes()
    return Response(css, media_type="text/css", headers={"Cache-Control": "max-age=3600"})


@get("/healthz")
async def healthz(request: Request[Any, Any, Any]) -> Response[bytes]:
    """200 once ClickHouse answers, 503 while it does not."""
    try:
        await _portal(request).warehouse.query("SELECT 1")
    except WarehouseUnavailable as exc:
        return _json(503, {"status": "unavailable", "reason": str(exc)})
    return _json(200, {"status": "ok"})


def create_app(settings: Settings, portal: Portal | None = None) -> Litestar:
    """The portal's ASGI app."""
    found = portal or Portal(settings)

    def close() -> None:
        found.warehouse.close()

    app = Litestar(route_handlers=[action, download, datapackage, catalog_jsonld, catalog_ttl, home,
                                   dataset_view, api_view, stylesheet, healthz],
                   on_shutdown=[close], openapi_config=None)
    app.state.portal = found
    return app


def serve(settings: Settings, loglevel: str = "warning") -> None:
    """Run the portal until SIGINT or SIGTERM."""
    import uvicorn

    log.info("Satu Data portal on http://%s:%d", settings.satudata_host, settings.satudata_port)
    uvicorn.run(create_app(settings), host=settings.satudata_host, port=settings.satudata_port,
                log_level=loglevel, access_log=False)
