"""datastore_search: a page of a dataset's rows, as CKAN's DataStore answers it."""

from __future__ import annotations

import asyncio
import csv
import io
from typing import Any
from urllib.parse import urlencode

import msgspec

from posko.errors import PoskoError
from satudata.catalogue import Column, Dataset
from satudata.packages import datastore_field
from satudata.portal import Portal
from satudata.queries import OUTPUT_SETTINGS, key_of, literal

MAX_LIMIT = 32_000
DEFAULT_LIMIT = 100
RECORDS_FORMATS = ("objects", "lists", "csv", "tsv")


class InvalidParameter(PoskoError, ValueError):
    """A datastore_search parameter the portal cannot use: `field` names it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def _json_or_text(value: Any, field: str) -> Any:
    if isinstance(value, str) and value.startswith(("[", "{")):
        try:
            return msgspec.json.decode(value)
        except msgspec.DecodeError as exc:
            raise InvalidParameter(field, f"{field}: JSON tidak sah (invalid JSON): {exc}") from exc
    return value


def integer(params: dict[str, Any], name: str, default: int, low: int = 0) -> int:
    """An integer parameter (given as a number or as text), at least `low`."""
    raw = params.get(name, default)
    try:
        value = int(raw)
    except (TypeError, ValueError):
        raise InvalidParameter(name, f"{name} harus bilangan bulat, bukan {raw!r} "
                                     "(must be an integer)") from None
    if value < low:
        raise InvalidParameter(name, f"{name} harus ≥ {low} (must be at least {low})")
    return value


def boolean(params: dict[str, Any], name: str, default: bool) -> bool:
    """A boolean parameter (true/false as JSON or as text)."""
    raw = params.get(name, default)
    if isinstance(raw, bool):
        return raw
    if str(raw).lower() in ("true", "1", "yes"):
        return True
    if str(raw).lower() in ("false", "0", "no"):
        return False
    raise InvalidParameter(name, f"{name} harus true atau false, bukan {raw!r} (must be true or false)")


def _column_names(columns: list[Column], names: list[str], field: str) -> list[str]:
    known = {c.name for c in columns}
    if unknown := [n for n in names if n not in known]:
        raise InvalidParameter(field, f"kolom tidak dikenal: {', '.join(unknown)} (unknown columns); "
                                      f"kolomnya: {', '.join(c.name for c in columns)}")
    return names


def _where(columns: list[Column], filters: Any, q: Any) -> str:
    conditions = []
    if filters:
        if not isinstance(filters, dict):
            raise InvalidParameter("filters", "filters harus objek JSON {kolom: nilai} (must be an object)")
        for name in _column_names(columns, list(filters), "filters"):
            values = filters[name] if isinstance(filters[name], list) else [filters[name]]
            listed = ", ".join(literal(str(v)) for v in values)
            conditions.append(f"toString({name}) IN ({listed})")
    if q:
        searched = q if isinstance(q, dict) else {"": q}
        for name, term in searched.items():
            targets = _column_names(columns, [name], "q") if name else \
                [c.name for c in columns if c.type == "string"]
            text = "concat(" + ", ' ', ".join(f"toString(ifNull({t}, ''))" for t in targets) + ")"
            for word in str(term).split():
                conditions.append(f"positionCaseInsensitiveUTF8({text}, {literal(word)}) > 0")
    return " AND ".join(conditions)


def _sort(columns: list[Column], dataset: Dataset, sort: Any) -> list[str]:
    parts = []
    for part in filter(None, (p.strip() for p in str(sort or "").split(","))):
        words = part.split()
        direction = words[1].lower() if len(words) > 1 else "asc"
        if len(words) > 2 or direction not in ("asc", "desc"):
            raise InvalidParameter("sort", f"urutan tidak sah: {part!r} (invalid sort): `kolom [asc|desc]`")
        _column_names(columns, [words[0].strip('"')], "sort")
        parts.append(f"{words[0].strip(chr(34))} {direction.upper()}")
    named = {p.split()[0] for p in parts}
    return parts + [f"{k} ASC" for k in key_of(dataset) if k not in named]  # stable pages


def _link(resource_id: str, params: dict[str, Any], offset: int | None) -> str:
    query = {k: (v if isinstance(v, str) else msgspec.json.encode(v).decode())
             for k, v in params.items() if k not in ("offset", "resource_id", "id")}
    if offset:
        query["offset"] = str(offset)
    query["resource_id"] = resource_id
    return "/api/3/action/datastore_search?" + urlencode(query)


async def datastore_search(portal: Portal, dataset: Dataset, resource_id: str,
                           params: dict[str, Any]) -> dict[str, Any]:
    """The page of rows the parameters ask for, with fields, total and `_links`."""
    columns = portal.catalogue.columns(dataset)
    limit = min(integer(params, "limit", DEFAULT_LIMIT), MAX_LIMIT)
    offset = integer(params, "offset", 0)
    include_total = boolean(params, "include_total", True)
    records_format = str(params.get("records_format", "objects"))
    if records_format not in RECORDS_FORMATS:
        raise InvalidParameter("records_format", f"records_format harus salah satu dari {RECORDS_FORMATS}")
    fields_param = _json_or_text(params.get("fields"), "fields")
    if isinstance(fields_param, str):
        fields_param = [f.strip() for f in fields_param.split(",") if f.strip()]
    chosen = _column_names(columns, list(fields_param or []), "fields") or [c.name for c in columns]
    where = _where(columns, _json_or_text(params.get("filters"), "filters"),
                   _json_or_text(params.get("q"), "q"))
    order = _sort(columns, dataset, params.get("sort"))
    base = portal.sql(dataset)
    clause = f" WHERE {where}" if where else ""
    page_sql = (f"SELECT {', '.join(chosen)} FROM ({base}){clause} ORDER BY {', '.join(order)} "
                f"LIMIT {limit} OFFSET {offset} {OUTPUT_SETTINGS}")
    page = portal.warehouse.lists(page_sql)
    total: int | None = None
    if include_total and not where:  # the whole dataset: its count is in the coverage read
        rows, total = await page, (await portal.coverage_of(dataset)).rows
    elif include_total:
        counted = portal.warehouse.lists(f"SELECT count() FROM ({base}){clause}")
        rows, totals = await asyncio.gather(page, counted)
        total = int(totals[0][0])
    else:
        rows = await page
    by_name = {c.name: c for c in columns}
    result: dict[str, Any] = {
        "include_total": include_total, "resource_id": resource_id, "records_format": records_format,
        "fields": [datastore_field(by_name[name]) for name in chosen],
        "records": _format(rows, chosen, records_format), "limit": limit, "offset": offset,
        "_links": {"start": _link(resource_id, params, None),
                   "next": _link(resource_id, params, offset + limit)},
        "sort": ", ".join(order),
    }
    if include_total:
        result |= {"total": total, "total_was_estimated": False}
    for name in ("filters", "q"):
        if params.get(name):
            result[name] = _json_or_text(params[name], name)
    return result


def _format(rows: list[list[Any]], names: list[str], records_format: str) -> Any:
    if records_format == "objects":
        return [dict(zip(names, row, strict=True)) for row in rows]
    if records_format == "lists":
        return rows
    out = io.StringIO()
    writer = csv.writer(out, delimiter="," if records_format == "csv" else "\t", lineterminator="\n")
    writer.writerows(rows)
    return out.getvalue()
