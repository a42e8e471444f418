"""Jambi province's 11 kabupaten/kota: Kemendagri codes, names and a point → region lookup."""

from __future__ import annotations

import enum
import math
from collections.abc import Sequence
from functools import cache
from importlib import resources

import msgspec
import shapely
import shapely.ops
from shapely.geometry import shape

PROVINCE_CODE = "15"
PROVINCE_NAME = "Jambi"


class Region(enum.StrEnum):
    """A kabupaten/kota of Jambi by its Kemendagri code."""

    KERINCI = "15.01"
    MERANGIN = "15.02"
    SAROLANGUN = "15.03"
    BATANG_HARI = "15.04"
    MUARO_JAMBI = "15.05"
    TANJUNG_JABUNG_BARAT = "15.06"
    TANJUNG_JABUNG_TIMUR = "15.07"
    BUNGO = "15.08"
    TEBO = "15.09"
    KOTA_JAMBI = "15.71"
    KOTA_SUNGAI_PENUH = "15.72"


REGION_NAMES: dict[Region, str] = {
    Region.KERINCI: "Kabupaten Kerinci",
    Region.MERANGIN: "Kabupaten Merangin",
    Region.SAROLANGUN: "Kabupaten Sarolangun",
    Region.BATANG_HARI: "Kabupaten Batang Hari",
    Region.MUARO_JAMBI: "Kabupaten Muaro Jambi",
    Region.TANJUNG_JABUNG_BARAT: "Kabupaten Tanjung Jabung Barat",
    Region.TANJUNG_JABUNG_TIMUR: "Kabupaten Tanjung Jabung Timur",
    Region.BUNGO: "Kabupaten Bungo",
    Region.TEBO: "Kabupaten Tebo",
    Region.KOTA_JAMBI: "Kota Jambi",
    Region.KOTA_SUNGAI_PENUH: "Kota Sungai Penuh",
}


class FeatureProperties(msgspec.Struct):
    """What the shared boundary files say of each area (kabupaten/kota or kecamatan)."""

    kode: str
    nama: str
    centroid_lat: float
    centroid_lng: float


class Feature(msgspec.Struct):
    """One area of a boundary file."""

    properties: FeatureProperties
    geometry: msgspec.Raw


class FeatureCollection(msgspec.Struct):
    """A boundary file (GeoJSON)."""

    features: list[Feature]


class Boundaries(msgspec.Struct, frozen=True):
    """The kabupaten/kota polygons, indexed for point lookups."""

    regions: tuple[Region, ...]
    polygons: tuple[shapely.Geometry, ...]
    centroids: dict[Region, tuple[float, float]]
    tree: shapely.STRtree


def decode_boundaries(geojson: bytes) -> Boundaries:
    """Boundaries from a GeoJSON FeatureCollection whose features carry `kode` and `nama`."""
    collection = msgspec.json.decode(geojson, type=FeatureCollection)
    regions, polygons, centroids = [], [], {}
    for feature in collection.features:
        region = Region(feature.properties.kode)
        geometry = shape(msgspec.json.decode(feature.geometry))
        shapely.prepare(geometry)
        regions.append(region)
        polygons.append(geometry)
        centroids[region] = (feature.properties.centroid_lat, feature.properties.centroid_lng)
    return Boundaries(tuple(regions), tuple(polygons), centroids, shapely.STRtree(polygons))


@cache
def boundaries() -> Boundaries:
    """The bundled boundaries of Jambi's 11 kabupaten/kota."""
    data = resources.files("schemas").joinpath("data/jambi_kabkota_15.geojson").read_bytes()
    return decode_boundaries(data)


def region_at(lat: float, lon: float) -> Region | None:
    """The kabupaten/kota containing the point, or None when it is outside Jambi."""
    found = boundaries()
    point = shapely.Point(lon, lat)
    for index in found.tree.query(point, predicate="intersects"):
        return found.regions[int(index)]
    return None


def first_hits(tree: shapely.STRtree, points: Sequence[tuple[float, float]]) -> list[int | None]:
    """For each (lat, lon), the first geometry of `tree` it falls in (as `query` orders them), in
    one vectorised query: a batch of points costs about what one point does."""
    hits: list[int | None] = [None] * len(points)
    if not points:
        return hits
    lats, lons = zip(*points, strict=True)
    inputs, found = tree.query(shapely.points(lons, lats), predicate="intersects")
    for i, j in zip(inputs.tolist()[::-1], found.tolist()[::-1], strict=True):
        hits[i] = j  # written last for the lowest index: the one region_at returns
    return hits


def regions_at(points: Sequence[tuple[float, float]]) -> list[Region | None]:
    """The kabupaten/kota of each (lat, lon), as region_at gives it, in one query."""
    found = boundaries()
    return [None if j is None else found.regions[j] for j in first_hits(found.tree, points)]


def parse_regions(text: str) -> list[Region]:
    """Kemendagri codes, comma-separated: `15` is every kabupaten/kota of the province."""
    chosen: list[Region] = []
    for code in (part.strip() for part in text.split(",")):
        if not code:
            continue
        if code == PROVINCE_CODE:
            chosen += list(Region)
        elif code in Region._value2member_map_:
            chosen.append(Region(code))
        else:
            raise ValueError(f"{code!r} is not a Kemendagri code of Jambi: write {PROVINCE_CODE} for "
                             "the whole province, or kabupaten/kota codes 15.01 … 15.09, 15.71, 15.72")
    return list(dict.fromkeys(chosen))


def regions_shape(regions: list[Region]) -> shapely.Geometry:
    """The union of the kabupaten/kota (lon/lat), prepared for intersection tests."""
    found = boundaries()
    shape = shapely.union_all([found.polygons[found.regions.index(r)] for r in regions])
    shapely.prepare(shape)
    return shape


@cache
def _province() -> shapely.Geometry:
    province = shapely.union_all(boundaries().polygons)
    shapely.prepare(province)
    return province


EARTH_RADIUS_KM = 6371.0088


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """The great-circle distance between two points, in kilometres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(min(1.0, h)))


def distance_to_province_km(lat: float, lon: float) -> float:
    """How far a point is from Jambi province's border (0 inside), in kilometres."""
    province = _province()
    point = shapely.Point(lon, lat)
    if province.intersects(point):
        return 0.0
    nearest = shapely.ops.nearest_points(province, point)[0]
    return haversine_km(lat, lon, nearest.y, nearest.x)
