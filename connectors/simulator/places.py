"""Jambi's kabupaten/kota as the simulator names them (data/places.toml), and points inside each."""

from __future__ import annotations

import random
from functools import cache

import msgspec

from connectors.simulator import data_files
from connectors.simulator.draws import Table
from schemas.events import Event, Point
from schemas.regions import Region, boundaries, region_at


class Place(msgspec.Struct, frozen=True):
    """A kabupaten/kota's names, in the shapes the simulator draws from."""

    short: str  # how people name the kabupaten/kota in speech ("Muaro Jambi", "Kota Jambi")
    kecamatan: tuple[tuple[str, tuple[str, ...]], ...]  # kecamatan → some of its desa/kelurahan
    streets: tuple[str, ...]
    landmarks: tuple[str, ...]
    rivers: tuple[str, ...]
    hospital: str
    school_code: str  # the Roman suffix of Jambi's SD numbering ("SD Negeri 47/IV")
    pdam: str
    steep_roads: tuple[str, ...]  # roads that landslides close after heavy rain (may be none)


def _place(data: data_files.PlaceData) -> Place:
    return Place(
        short=data.short, kecamatan=tuple((name, tuple(desa)) for name, desa in data.kecamatan.items()),
        streets=tuple(data.streets), landmarks=tuple(data.landmarks), rivers=tuple(data.rivers),
        hospital=data.hospital, school_code=data.school_code, pdam=data.pdam,
        steep_roads=tuple(data.steep_roads),
    )


REGIONS = tuple(Region)  # hot-path tables are indexed by position: enum hashing is slow
PLACES: dict[Region, Place] = {region: _place(data) for region, data in data_files.places().regions.items()}
GROUPS: dict[str, frozenset[Region]] = {
    name: frozenset(codes) for name, codes in data_files.places().groups.items()}


def group(name: str) -> frozenset[Region]:
    """A group of kabupaten/kota of data/places.toml that the code relies on."""
    if name not in GROUPS:
        raise data_files.DataFileError(f"{data_files.DATA}/places.toml: groups: the simulator needs "
                                       f"a group {name!r}; the file has {', '.join(GROUPS)}")
    return GROUPS[name]


# Census population in thousands, the base of every regional weight.
POPULATION: dict[Region, float] = {
    region: data_files.places().regions[region].population_thousands for region in REGIONS}
# A kabupaten/kota drawn as likely as its population (where a permit or a storm lands).
BY_POPULATION = Table(list(POPULATION.items()))
# City people file far more online complaints per head than villages with weak signal.
REPORT_REGION_WEIGHTS = {r: p * (1.6 if r is Region.KOTA_JAMBI else 1.0) for r, p in POPULATION.items()}


# --- Points inside each region -----------------------------------------------------------

_POOL_SIZE = 512
_POOL_SEED = 1571  # the pool is fixed for every simulator so construction stays cheap


# Where each simulated location lies, as `region_at` said when it was accepted: keying a
# region-less event is then a dict lookup instead of a polygon query in the hot path.
_PLACED: dict[tuple[float, float], Region] = {}


@cache
def point_pools() -> dict[Region, tuple[Point, ...]]:
    """GPS-rounded points near each centroid that `region_at` places in that region."""
    found = boundaries()
    rng = random.Random(_POOL_SEED)
    pools: dict[Region, tuple[Point, ...]] = {}
    for region, polygon in zip(found.regions, found.polygons, strict=True):
        lat0, lon0 = found.centroids[region]
        min_lon, min_lat, max_lon, max_lat = polygon.bounds
        sigma_lat, sigma_lon = (max_lat - min_lat) / 4, (max_lon - min_lon) / 4
        points: list[Point] = []
        for _ in range(_POOL_SIZE * 8):
            lat = round(rng.gauss(lat0, sigma_lat), 5)
            lon = round(rng.gauss(lon0, sigma_lon), 5)
            if region_at(lat, lon) == region:
                points.append(Point(lat, lon))
                _PLACED[lat, lon] = region
                if len(points) == _POOL_SIZE:
                    break
        if not points:  # a sliver region: the centroid is the best we can say
            points.append(Point(round(lat0, 5), round(lon0, 5)))
            _PLACED[points[0].lat, points[0].lon] = region
        pools[region] = tuple(points)
    return pools


def near(region: Region, target: tuple[float, float]) -> Point:
    """The target, or the first point inside the region on the way to its centroid.

    Gunung Kerinci's summit sits on the Jambi–Sumatera Barat border, just outside the polygon.
    """
    lat0, lon0 = boundaries().centroids[region]
    for step in range(51):
        t = step / 50
        lat = round(target[0] + t * (lat0 - target[0]), 5)
        lon = round(target[1] + t * (lon0 - target[1]), 5)
        if region_at(lat, lon) is region:
            _PLACED[lat, lon] = region
            return Point(lat, lon)
    return point_pools()[region][0]


def region_key(event: Event) -> bytes:
    """The record key: the region code, or the region of the location when the source sent none."""
    if event.region is not None:
        return event.region.encode()
    if event.location is not None:
        location = event.location
        found = _PLACED.get((location.lat, location.lon)) or region_at(location.lat, location.lon)
        return found.encode() if found else b""
    return b""
