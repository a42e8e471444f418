"""package_search over the catalogue: CKAN's q, fq, sort, paging and facets on a few dozen datasets.

The catalogue is small (tens of datasets), so search runs over the package dicts in memory:
a subset of Solr's syntax as CKAN passes it on (terms, `field:value`, `field:"a b"`,
`field:(a OR b)`, `-field:value`, `*:*`), every term required.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

from posko.errors import PoskoError
from satudata.packages import region_name

MAX_ROWS = 1000
FACET_FIELDS = ("organization", "groups", "tags", "res_format", "license_id", "kode_wilayah",
                "klasifikasi", "frekuensi")
SEARCH_FIELDS = (*FACET_FIELDS, "id", "name", "title", "owner_org", "status_data", "type", "state", "text")
SORT_FIELDS = ("score", "metadata_modified", "metadata_created", "name", "title", "title_string")
_TOKEN = re.compile(r'([+-]?)(?:([\w.]+):)?("(?:[^"\\]|\\.)*"|\([^)]*\)|\S+)')


class SearchQueryError(PoskoError, ValueError):
    """A q, fq or sort the portal cannot read; the message says what was wrong."""


def field_values(package: dict[str, Any], field: str) -> list[str]:
    """The values a package has for a search or facet field."""
    if field == "organization":
        return [package["organization"]["name"]]
    if field == "groups":
        return [g["name"] for g in package["groups"]]
    if field == "tags":
        return [t["name"] for t in package["tags"]]
    if field == "res_format":
        return [r["format"] for r in package["resources"]]
    if field == "kode_wilayah":
        return list(package["kode_wilayah_list"])
    if field in ("id", "name", "title", "license_id", "klasifikasi", "frekuensi", "owner_org",
                 "status_data", "type", "state"):
        return [str(package.get(field) or "")]
    if field == "text":
        return [text_of(package)]
    raise SearchQueryError(f"bidang pencarian tidak dikenal: {field!r} (unknown search field)")


def text_of(package: dict[str, Any]) -> str:
    """Everything free-text search looks at, lower case."""
    parts = [package["name"], package["title"], package["title_en"], package["notes"], package["notes_en"],
             package["organization"]["title"], *(g["title"] for g in package["groups"]),
             *(t["name"] for t in package["tags"])]
    return " ".join(parts).lower()


class Clause:
    """One term of a query: a field (or free text) and the values any of which must match."""

    def __init__(self, field: str | None, values: list[str], negated: bool) -> None:
        self.field, self.values, self.negated = field, values, negated

    def matches(self, package: dict[str, Any]) -> bool:
        """Whether the package satisfies the clause."""
        if self.field is None or self.field == "text":
            text = text_of(package)
            hit = any(value.lower() in text for value in self.values)
        else:
            have = {v.lower() for v in field_values(package, self.field)}
            hit = any(value.lower() in have for value in self.values) or "*" in self.values
        return hit != self.negated

    def score(self, package: dict[str, Any]) -> float:
        """How well a free-text clause matches (title counts most)."""
        if self.field is not None or self.negated:
            return 0.0
        title = package["title"].lower() + " " + package["title_en"].lower()
        tags = " ".join(t["name"] for t in package["tags"]).lower()
        return sum(3 * title.count(v.lower()) + 2 * tags.count(v.lower()) + text_of(package).count(v.lower())
                   for v in self.values)


def parse(query: str) -> list[Clause]:
    """The clauses of a q or fq string."""
    query = query.strip()
    if query in ("", "*:*", "*"):
        return []
    clauses = []
    for sign, field, raw in _TOKEN.findall(query):
        if raw.upper() in ("AND", "&&") and not field:
            continue
        if raw.startswith("("):
            values = [v.strip('"') for v in re.split(r"\s+OR\s+|\s+", raw[1:-1].strip()) if v and v != "OR"]
        else:
            values = [raw[1:-1].replace('\\"', '"') if raw.startswith('"') else raw]
        if field and field not in SEARCH_FIELDS:
            raise SearchQueryError(f"bidang pencarian tidak dikenal: {field!r} (unknown search field); "
                                   f"gunakan salah satu: {', '.join(SEARCH_FIELDS)}")
        clauses.append(Clause(field or None, values, sign == "-"))
    return clauses


def sort_key(sort: str) -> list[tuple[str, bool]]:
    """(field, descending) pairs of a CKAN sort string such as `score desc, name asc`."""
    pairs = []
    for part in filter(None, (p.strip() for p in sort.split(","))):
        words = part.split()
        direction = words[1].lower() if len(words) > 1 else "asc"
        if words[0] not in SORT_FIELDS or direction not in ("asc", "desc") or len(words) > 2:
            raise SearchQueryError(
                f"urutan tidak dikenal: {part!r} (unknown sort); gunakan bidang "
                f"{', '.join(SORT_FIELDS)} dengan asc atau desc")
        pairs.append((words[0], direction == "desc"))
    return pairs


def search(packages: list[dict[str, Any]], q: str, fq: str, sort: str, rows: int, start: int,
           facet_fields: list[str], facet_limit: int = 50) -> dict[str, Any]:
    """package_search's result over `packages`."""
    clauses = parse(q) + parse(fq)
    for field in facet_fields:
        if field not in FACET_FIELDS:
            raise SearchQueryError(f"facet.field tidak dikenal: {field!r} (unknown facet field); "
                                   f"gunakan: {', '.join(FACET_FIELDS)}")
    matched = [p for p in packages if all(c.matches(p) for c in clauses)]
    scores = {p["name"]: sum(c.score(p) for c in clauses) for p in matched}
    ordered = sorted(matched, key=lambda p: p["name"])  # the last tiebreak: stable pages
    for field, descending in reversed(sort_key(sort)):
        def value(p: dict[str, Any], field: str = field) -> Any:
            if field == "score":
                return scores[p["name"]]
            return str(p["title" if field == "title_string" else field]).lower()
        ordered.sort(key=value, reverse=descending)
    facets: dict[str, dict[str, int]] = {}
    search_facets: dict[str, Any] = {}
    for field in facet_fields:
        counts = Counter(v for p in matched for v in set(field_values(p, field)))
        top = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:facet_limit]
        facets[field] = dict(top)
        search_facets[field] = {"title": field, "items": [
            {"name": name, "display_name": display_name(matched, field, name), "count": count}
            for name, count in top]}
    return {"count": len(matched), "results": ordered[start:start + rows], "sort": sort,
            "facets": facets, "search_facets": search_facets}


def display_name(packages: list[dict[str, Any]], field: str, name: str) -> str:
    """A facet value's human name: an agency's or a sector's title, a region's name."""
    for p in packages:
        if field == "organization" and p["organization"]["name"] == name:
            return str(p["organization"]["title"])
        if field == "groups":
            for g in p["groups"]:
                if g["name"] == name:
                    return str(g["title"])
    if field == "kode_wilayah":
        return f"{name} {region_name(name)}"
    return name
