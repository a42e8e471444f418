"""The CKAN Action API subset under /api/3/action/: its actions, its envelope and its error shape."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import msgspec

from posko.errors import PoskoError
from satudata.catalogue import FORMATS, Dataset
from satudata.datastore import InvalidParameter, boolean, datastore_search, integer
from satudata.packages import group_dict, organization_dict, package_dict, resource_dict
from satudata.portal import AccessDenied, NotAvailable, Portal
from satudata.search import MAX_ROWS, SearchQueryError, search
from satudata.warehouse import QueryFailed, WarehouseUnavailable

# CKAN's error types (clients such as ckanapi read `__type`) and the HTTP status CKAN gives each.
ERROR_STATUS = {"Not Found Error": 404, "Validation Error": 409, "Authorization Error": 403,
                "Search Query Error": 409, "Bad request": 400, "Internal Server Error": 500,
                "Service Unavailable": 503}


class CkanError(PoskoError):
    """An action's failure in CKAN's shape: its `__type`, message and, for validation, the field."""

    def __init__(self, kind: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.kind, self.message, self.field = kind, message, field

    @property
    def status(self) -> int:
        """The HTTP status CKAN answers this error with."""
        return ERROR_STATUS[self.kind]

    def error(self) -> dict[str, Any]:
        """The `error` member of the answer."""
        found: dict[str, Any] = {"__type": self.kind, "message": f"{self.kind}: {self.message}"}
        if self.field:
            found[self.field] = [self.message]
        return found


class Request(msgspec.Struct):
    """One action call: its parameters, the base URL of links, and the agency signed in (if any)."""

    params: dict[str, Any]
    base: str
    agency: str | None


Action = Callable[[Portal, Request], Awaitable[Any]]


async def _visible_packages(portal: Portal, request: Request) -> list[dict[str, Any]]:
    coverage = await portal.coverage()
    # Built once per coverage read, base URL and audience: searches only filter and sort them.
    key = (id(coverage), request.base, request.agency is not None)
    cache: dict[Any, list[dict[str, Any]]] = portal.package_cache
    if key not in cache:
        if len(cache) >= 8:  # older coverage reads
            cache.clear()
        cache[key] = [package_dict(portal.catalogue, request.base, d, coverage[d.name], portal.min_count)
                      for d in portal.visible(request.agency)]
    return cache[key]


def _dataset(portal: Portal, request: Request, key: str = "id") -> Dataset:
    wanted = request.params.get(key) or request.params.get("name")
    if not wanted:
        raise CkanError("Validation Error", "parameter wajib tidak ada (missing value)", key)
    dataset = portal.catalogue.find(str(wanted))
    if dataset is None:
        raise CkanError("Not Found Error", f"dataset {wanted!r} tidak ditemukan (not found)")
    portal.check_access(dataset, request.agency)
    return dataset


async def package_list(portal: Portal, request: Request) -> list[str]:
    """The names of the datasets the caller may see, sorted."""
    names = sorted(d.name for d in portal.visible(request.agency))
    offset = integer(request.params, "offset", 0)
    limit = integer(request.params, "limit", len(names))
    return names[offset:offset + limit]


async def package_search(portal: Portal, request: Request) -> dict[str, Any]:
    """Datasets matching q and fq, sorted, paged, with facets."""
    params = request.params
    rows = min(integer(params, "rows", 10), MAX_ROWS)
    start = integer(params, "start", 0)
    facets = params.get("facet.field") or []
    if isinstance(facets, str):
        try:
            facets = msgspec.json.decode(facets) if facets.startswith("[") else [facets]
        except msgspec.DecodeError as exc:
            raise CkanError("Validation Error", f"facet.field harus daftar JSON (must be a JSON list): {exc}",
                            "facet.field") from exc
    facet_limit = integer(params, "facet.limit", 50)
    sort = str(params.get("sort") or "score desc, metadata_modified desc")
    return search(await _visible_packages(portal, request), str(params.get("q") or ""),
                  str(params.get("fq") or ""), sort, rows, start, [str(f) for f in facets], facet_limit)


async def package_show(portal: Portal, request: Request) -> dict[str, Any]:
    """One dataset's metadata."""
    dataset = _dataset(portal, request)
    coverage = await portal.coverage_of(dataset)
    return package_dict(portal.catalogue, request.base, dataset, coverage, portal.min_count)


async def resource_show(portal: Portal, request: Request) -> dict[str, Any]:
    """One resource (a download of a dataset)."""
    wanted = str(request.params.get("id") or "")
    found = portal.catalogue.find_resource(wanted)
    if found is None:
        raise CkanError("Not Found Error", f"resource {wanted!r} tidak ditemukan (not found)")
    dataset, fmt = found
    portal.check_access(dataset, request.agency)
    return resource_dict(request.base, dataset, fmt, await portal.coverage_of(dataset))


async def organization_list(portal: Portal, request: Request) -> list[Any]:
    """The producing agencies (names, or dicts with all_fields)."""
    visible = portal.visible(request.agency)
    used = sorted({d.organization for d in visible})
    if boolean(request.params, "all_fields", False):
        return [organization_dict(portal.catalogue, name, sum(d.organization == name for d in visible))
                for name in used]
    return used


async def group_list(portal: Portal, request: Request) -> list[Any]:
    """The sectors (names, or dicts with all_fields)."""
    visible = portal.visible(request.agency)
    sectors = sorted({d.sector for d in visible}, key=lambda s: s.value)
    if boolean(request.params, "all_fields", False):
        return [group_dict(s, sum(d.sector is s for d in visible)) for s in sectors]
    return [group_dict(s)["name"] for s in sectors]


async def datastore_search_action(portal: Portal, request: Request) -> dict[str, Any]:
    """A page of a resource's rows."""
    resource_id = str(request.params.get("resource_id") or request.params.get("id") or "")
    if not resource_id:
        raise CkanError("Validation Error", "resource_id wajib diisi (missing value)", "resource_id")
    found = portal.catalogue.find_resource(resource_id)
    if found is None or found[1] != "CSV":
        raise CkanError("Not Found Error", f"resource {resource_id!r} tidak ada di datastore (not found)")
    dataset = found[0]
    portal.check_access(dataset, request.agency)
    await portal.require_available(dataset)
    return await datastore_search(portal, dataset, resource_id, request.params)


async def status_show(portal: Portal, request: Request) -> dict[str, Any]:
    """What the portal is (ckanapi and harvesters ask this first)."""
    return {"ckan_version": "2.10.0", "site_title": "Satu Data Provinsi Jambi", "site_url": request.base,
            "site_description": "Portal data terbuka Provinsi Jambi (Posko)", "locale_default": "id",
            "extensions": ["datastore", "dcat"], "formats": list(FORMATS)}


ACTIONS: dict[str, Action] = {
    "package_list": package_list, "package_search": package_search, "package_show": package_show,
    "organization_list": organization_list, "group_list": group_list, "resource_show": resource_show,
    "datastore_search": datastore_search_action, "status_show": status_show,
}


async def call(portal: Portal, name: str, request: Request) -> tuple[int, dict[str, Any]]:
    """The HTTP status and CKAN envelope of one action call."""
    help_url = f"{request.base}/api/3/action/help_show?name={name}"
    try:
        action = ACTIONS.get(name)
        if action is None:
            raise CkanError("Bad request", f"aksi {name!r} tidak dikenal (unknown action); aksi yang ada: "
                                           f"{', '.join(sorted(ACTIONS))}")
        try:
            result = await action(portal, request)
        except InvalidParameter as exc:
            raise CkanError("Validation Error", str(exc), exc.field) from exc
        except SearchQueryError as exc:
            raise CkanError("Search Query Error", str(exc)) from exc
        except AccessDenied as exc:
            raise CkanError("Authorization Error", str(exc)) from exc
        except NotAvailable as exc:
            raise CkanError("Not Found Error", str(exc)) from exc
        except WarehouseUnavailable as exc:
            raise CkanError("Service Unavailable", str(exc)) from exc
        except QueryFailed as exc:
            raise CkanError("Internal Server Error", f"kueri ClickHouse gagal (query failed): {exc}") from exc
    except CkanError as exc:
        return exc.status, {"help": help_url, "success": False, "error": exc.error()}
    return 200, {"help": help_url, "success": True, "result": result}
