"""USGS earthquake GeoJSON feeds (the summary feeds and the FDSN event query) as earthquake reports.

The format is documented at earthquake.usgs.gov/earthquakes/feed/v1.0/geojson.php: a
FeatureCollection whose features carry `[lon, lat, depth_km]` and properties with `time` in
epoch milliseconds (UTC), `mag` with its `magType` (mww, mb, ml, …), `place` in English, and the
PAGER `alert` level. The summary feeds are worldwide; `Area` keeps the part Posko watches.
"""

from __future__ import annotations

from datetime import UTC, datetime

import msgspec

from posko.errors import PoskoError
from schemas.bmkg import Sighting
from schemas.events import Point

AGENCY = "USGS"


class UsgsFormatError(PoskoError, ValueError):
    """A document that is not a USGS earthquake GeoJSON feed Posko can read; the message says why."""


class _Properties(msgspec.Struct, frozen=True, rename="camel"):
    time: int
    mag: float | None = None
    mag_type: str = ""
    place: str | None = None
    title: str = ""
    alert: str | None = None
    type: str = "earthquake"
    status: str = ""


class _Geometry(msgspec.Struct, frozen=True):
    coordinates: list[float]


class _Feature(msgspec.Struct, frozen=True):
    properties: _Properties
    geometry: _Geometry | None = None
    id: str = ""


class _FeatureCollection(msgspec.Struct, frozen=True):
    type: str
    features: list[_Feature]


class Area(msgspec.Struct, frozen=True):
    """A longitude/latitude box; quakes outside it are skipped (POSKO_USGS_AREA)."""

    min_lon: float
    min_lat: float
    max_lon: float
    max_lat: float

    def contains(self, point: Point) -> bool:
        """Whether the point is inside the box (edges included)."""
        return self.min_lon <= point.lon <= self.max_lon and self.min_lat <= point.lat <= self.max_lat

    def __str__(self) -> str:
        return f"{self.min_lon:g},{self.min_lat:g},{self.max_lon:g},{self.max_lat:g}"


def parse_area(text: str) -> Area:
    """`min_lon,min_lat,max_lon,max_lat` as an Area; ValueError saying what to write."""
    try:
        min_lon, min_lat, max_lon, max_lat = (float(part) for part in text.split(","))
    except ValueError as exc:
        raise ValueError(f"{text!r} is not four numbers min_lon,min_lat,max_lon,max_lat "
                         "(e.g. 90,-15,145,10)") from exc
    if not (-180 <= min_lon < max_lon <= 180 and -90 <= min_lat < max_lat <= 90):
        raise ValueError(f"{text!r} is not a box: write min_lon,min_lat,max_lon,max_lat, each min "
                         "below its max, longitudes within ±180 and latitudes within ±90")
    return Area(min_lon, min_lat, max_lon, max_lat)


class UsgsFeed(msgspec.Struct, kw_only=True):
    """A feed's earthquakes in Posko's terms, and how many features were skipped and why."""

    sightings: list[Sighting] = []
    outside: int = 0  # outside the area
    not_quakes: int = 0  # quarry blasts, explosions, features without magnitude or position


def is_usgs(data: bytes) -> bool:
    """Whether a document looks like a USGS GeoJSON feed (read from its content, not its name)."""
    head = data.lstrip(b"\xef\xbb\xbf \t\r\n")[:4000]
    return head.startswith(b"{") and b'"FeatureCollection"' in head and (
        b"earthquake.usgs.gov" in head or b'"magType"' in head)


def _sighting(feature: _Feature) -> Sighting | None:
    props, geometry = feature.properties, feature.geometry
    if props.type != "earthquake" or props.mag is None or geometry is None \
            or len(geometry.coordinates) < 2:
        return None
    lon, lat = geometry.coordinates[0], geometry.coordinates[1]
    depth = geometry.coordinates[2] if len(geometry.coordinates) > 2 else 0.0
    place = (props.place or props.title or feature.id).strip()
    kind = f" ({props.mag_type})" if props.mag_type else ""
    pager = f" Tingkat PAGER USGS: {props.alert}." if props.alert else ""
    return Sighting(
        occurred_at=datetime.fromtimestamp(props.time / 1000, UTC),
        location=Point(round(lat, 4), round(lon, 4)),
        magnitude=round(props.mag, 1), depth_km=round(max(depth, 0.0), 1), wilayah=place,
        description=f"{place}. Kedalaman {max(depth, 0.0):.0f} km. Magnitudo {props.mag:g}{kind} "
                    f"menurut USGS.{pager}",
        agency=AGENCY,
    )


def decode_usgs(data: bytes, area: Area | None = None) -> UsgsFeed:
    """The earthquakes of a USGS GeoJSON document inside `area` (all when None), newest first."""
    try:
        collection = msgspec.json.decode(data, type=_FeatureCollection)
    except msgspec.DecodeError as exc:
        raise UsgsFormatError(f"not a USGS earthquake GeoJSON feed: {exc}") from exc
    if collection.type != "FeatureCollection":
        raise UsgsFormatError(f"GeoJSON type {collection.type!r}: a USGS feed is a FeatureCollection")
    feed = UsgsFeed()
    for feature in collection.features:
        sighting = _sighting(feature)
        if sighting is None:
            feed.not_quakes += 1
        elif area is not None and not area.contains(sighting.location):
            feed.outside += 1
        else:
            feed.sightings.append(sighting)
    feed.sightings.sort(key=lambda s: s.occurred_at, reverse=True)
    return feed
