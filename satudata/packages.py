"""Datasets, resources, organizations and groups as CKAN's Action API shows them."""

from __future__ import annotations

from typing import Any

from satudata.catalogue import (
    FORMATS,
    LICENCES,
    Catalogue,
    Classification,
    Column,
    Dataset,
    group_name,
    group_title,
)
from satudata.portal import Coverage
from schemas.regions import REGION_NAMES, Region
from schemas.sectors import Sector

CREATED = "2026-01-01T00:00:00.000000"
MEDIA_TYPES = {"CSV": "text/csv", "JSON": "application/json", "GeoJSON": "application/geo+json",
               "Parquet": "application/vnd.apache.parquet"}
EXTENSIONS = {"CSV": "csv", "JSON": "json", "GeoJSON": "geojson", "Parquet": "parquet"}
# CKAN datastore field types of the dictionary's types; suppressed counts are text (`<5`).
DATASTORE_TYPES = {"string": "text", "integer": "int", "number": "numeric", "date": "date",
                   "datetime": "timestamp"}
FREQUENCY_EN = {"real-time": "real time", "harian": "daily", "mingguan": "weekly", "bulanan": "monthly"}


def download_url(base: str, dataset: Dataset, fmt: str) -> str:
    """Where the dataset's file in `fmt` is downloaded."""
    return f"{base}/dataset/{dataset.name}/download/{dataset.name}.{EXTENSIONS[fmt]}"


def region_name(code: str) -> str:
    """A Kemendagri code's name (15: the province)."""
    try:
        return REGION_NAMES[Region(code)]
    except ValueError:
        return "Provinsi Jambi"


def datastore_field(column: Column) -> dict[str, Any]:
    """A dictionary column as a CKAN datastore field, with its data dictionary `info`."""
    kind = "text" if column.suppress else DATASTORE_TYPES[column.type]
    return {"id": column.name, "type": kind,
            "info": {"label": column.title, "notes": column.description, "unit": column.unit,
                     "type_override": kind}}


def organization_dict(found: Catalogue, name: str, count: int | None = None) -> dict[str, Any]:
    """A producing agency as a CKAN organization."""
    org = next(o for o in found.organization if o.name == name)
    result: dict[str, Any] = {"id": org.id, "name": org.name, "title": org.title, "display_name": org.title,
                              "type": "organization", "is_organization": True, "state": "active",
                              "approval_status": "approved", "description": "", "image_url": "",
                              "created": CREATED}
    if count is not None:
        result["package_count"] = count
    return result


def group_dict(sector: Sector, count: int | None = None) -> dict[str, Any]:
    """A sector as a CKAN group."""
    name = group_name(sector)
    result: dict[str, Any] = {"id": name, "name": name, "title": group_title(sector),
                              "display_name": group_title(sector), "type": "group", "state": "active",
                              "is_organization": False, "approval_status": "approved", "description": "",
                              "image_url": "", "created": CREATED}
    if count is not None:
        result["package_count"] = count
    return result


def resource_dict(base: str, dataset: Dataset, fmt: str, coverage: Coverage) -> dict[str, Any]:
    """One download of a dataset as a CKAN resource (the CSV one carries the datastore)."""
    return {
        "id": dataset.resource_id(fmt), "package_id": dataset.id, "name": f"{dataset.title} ({fmt})",
        "description": f"{dataset.notes}", "format": fmt, "mimetype": MEDIA_TYPES[fmt],
        "url": download_url(base, dataset, fmt), "url_type": "datastore" if fmt == "CSV" else "",
        "datastore_active": fmt == "CSV" and coverage.available, "position": FORMATS.index(fmt),
        "state": "active", "created": CREATED, "last_modified": coverage.modified or CREATED,
        "metadata_modified": coverage.modified or CREATED, "size": None, "hash": "",
        "resource_type": "file",
    }


def package_dict(found: Catalogue, base: str, dataset: Dataset, coverage: Coverage,
                 min_count: int) -> dict[str, Any]:
    """A dataset as CKAN's package_show gives it, with the Satu Data metadata as fields and extras."""
    org = found.organization_of(dataset)
    licence = found.licence_of(dataset)
    licence_title, licence_url = LICENCES[licence]
    regions = coverage.regions or [str(code) for code in REGION_NAMES]
    fields = {
        "klasifikasi": dataset.classification.value,
        "frekuensi": dataset.frequency,
        "produsen_data": org.title,
        "walidata": found.walidata,
        "periode_awal": coverage.start,
        "periode_akhir": coverage.end,
        "kode_wilayah": ",".join(regions),
        "satuan": ", ".join(dataset.units),
        "status_data": coverage.status,
        "jumlah_baris": str(coverage.rows),
        "ambang_sensor": str(min_count),
    }
    return {
        "id": dataset.id, "name": dataset.name, "title": dataset.title, "notes": dataset.notes,
        "title_en": dataset.title_en, "notes_en": dataset.notes_en, "type": "dataset", "state": "active",
        "private": dataset.classification is Classification.TERBATAS, "version": None,
        "url": f"{base}/dataset/{dataset.name}", "license_id": licence, "license_title": licence_title,
        "license_url": licence_url, "isopen": dataset.classification is Classification.PUBLIK,
        "author": org.title, "author_email": None, "maintainer": found.walidata,
        "maintainer_email": found.walidata_email, "owner_org": org.id,
        "organization": organization_dict(found, org.name), "groups": [group_dict(dataset.sector)],
        "tags": [{"id": tag, "name": tag, "display_name": tag, "state": "active", "vocabulary_id": None}
                 for tag in dataset.tags],
        "num_tags": len(dataset.tags),
        "resources": [resource_dict(base, dataset, fmt, coverage) for fmt in FORMATS],
        "num_resources": len(FORMATS), "metadata_created": CREATED,
        "metadata_modified": coverage.modified or CREATED,
        **fields,
        "kode_wilayah_list": regions, "frekuensi_en": FREQUENCY_EN[dataset.frequency],
        "data_dictionary": [datastore_field(c) for c in found.columns(dataset)],
        "datapackage_url": f"{base}/dataset/{dataset.name}/datapackage.json",
        "extras": [{"key": key, "value": value} for key, value in fields.items()],
        "relationships_as_object": [], "relationships_as_subject": [],
    }
