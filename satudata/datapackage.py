"""A Frictionless Data Package (datapackage.json) for each dataset: its CSV and its table schema."""

from __future__ import annotations

from typing import Any

from satudata.catalogue import LICENCES, Catalogue, Dataset
from satudata.packages import CREATED, download_url
from satudata.queries import key_of


def data_package(found: Catalogue, base: str, dataset: Dataset, min_count: int) -> dict[str, Any]:
    """The dataset's Data Package descriptor (Frictionless v1 tabular-data-package)."""
    licence = found.licence_of(dataset)
    title, path = LICENCES[licence]
    org = found.organization_of(dataset)
    fields = [{"name": c.name, "type": c.type, "title": c.title, "description": c.description,
               **({"unit": c.unit} if c.unit else {})} for c in found.columns(dataset)]
    return {
        "profile": "tabular-data-package",
        "name": dataset.name, "id": dataset.id, "title": dataset.title, "description": dataset.notes,
        "homepage": f"{base}/dataset/{dataset.name}", "created": CREATED[:19] + "Z",
        "keywords": dataset.tags, "licenses": [{"name": licence, "title": title, "path": path}],
        "contributors": [{"title": org.title, "role": "author"},
                         {"title": found.walidata, "role": "publisher", "email": found.walidata_email}],
        "sources": [{"title": org.title}],
        "resources": [{
            "name": dataset.name, "profile": "tabular-data-resource",
            "path": download_url(base, dataset, "CSV"), "format": "csv", "mediatype": "text/csv",
            "encoding": "utf-8", "title": dataset.title,
            "schema": {"fields": fields, "primaryKey": key_of(dataset),
                       # Empty cells are NULL; `<N` is a suppressed small count.
                       "missingValues": ["", f"<{min_count}"]},
        }],
    }
