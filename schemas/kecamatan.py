"""Jambi's 144 kecamatan: Kemendagri codes, names, and a point → kecamatan lookup."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from importlib import resources

import msgspec
import shapely
from shapely.geometry import shape

from schemas.regions import FeatureCollection, Region, first_hits


class Kecamatan(msgspec.Struct, frozen=True):
    """One kecamatan: its code (15.04.01), name and kabupaten/kota."""

    code: str
    name: str
    region: Region
    centroid: tuple[float, float]  # lat, lon


class _Index(msgspec.Struct, frozen=True):
    kecamatan: tuple[Kecamatan, ...]
    polygons: tuple[shapely.Geometry, ...]
    tree: shapely.STRtree
    by_code: dict[str, Kecamatan]
    by_name: dict[tuple[Region, str], Kecamatan]


@cache
def _index() -> _Index:
    data = resources.files("schemas").joinpath("data/jambi_kecamatan_15.geojson").read_bytes()
    found, polygons = [], []
    for feature in msgspec.json.decode(data, type=FeatureCollection).features:
        p = feature.properties
        geometry = shape(msgspec.json.decode(feature.geometry))
        shapely.prepare(geometry)
        found.append(Kecamatan(p.kode, p.nama, Region(p.kode[:5]), (p.centroid_lat, p.centroid_lng)))
        polygons.append(geometry)
    return _Index(tuple(found), tuple(polygons), shapely.STRtree(polygons),
                  {k.code: k for k in found}, {(k.region, k.name.lower()): k for k in found})


def kecamatan_at(lat: float, lon: float) -> Kecamatan | None:
    """The kecamatan containing the point, or None outside Jambi."""
    index = _index()
    for i in index.tree.query(shapely.Point(lon, lat), predicate="intersects"):
        return index.kecamatan[int(i)]
    return None


def kecamatan_of_points(points: Sequence[tuple[float, float]]) -> list[Kecamatan | None]:
    """The kecamatan of each (lat, lon), as kecamatan_at gives it, in one query."""
    index = _index()
    return [None if i is None else index.kecamatan[i] for i in first_hits(index.tree, points)]


def kecamatan(code: str) -> Kecamatan | None:
    """A kecamatan by its Kemendagri code."""
    return _index().by_code.get(code)


def kecamatan_named(region: Region, name: str) -> Kecamatan | None:
    """A kecamatan of a kabupaten/kota by its name (case does not matter)."""
    return _index().by_name.get((region, name.lower()))


def kecamatan_shape(code: str) -> shapely.Geometry:
    """The kecamatan's polygon (lon/lat)."""
    index = _index()
    return index.polygons[index.kecamatan.index(index.by_code[code])]
