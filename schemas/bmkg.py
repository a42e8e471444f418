"""BMKG earthquake feeds (autogempa, gempaterkini, gempadirasakan JSON) as disaster alerts."""

from __future__ import annotations

import re
from datetime import datetime

import msgspec

from schemas.events import (
    AlertArea,
    AlertCategory,
    Certainty,
    DisasterAlert,
    Point,
    Severity,
    Urgency,
)
from schemas.regions import Region, region_at


class Gempa(msgspec.Struct, frozen=True, rename="pascal"):
    """One earthquake as BMKG's JSON feeds give it: every value a string."""

    date_time: str = msgspec.field(name="DateTime")
    coordinates: str
    magnitude: str
    kedalaman: str
    wilayah: str
    tanggal: str = ""
    jam: str = ""
    potensi: str = ""
    dirasakan: str = ""


class _InfogempaOne(msgspec.Struct, frozen=True):
    gempa: Gempa | list[Gempa]


class GempaFeed(msgspec.Struct, frozen=True):
    """A BMKG feed document: one `gempa` (autogempa) or a list (gempaterkini, gempadirasakan)."""

    infogempa: _InfogempaOne = msgspec.field(name="Infogempa")

    @property
    def quakes(self) -> list[Gempa]:
        """The feed's earthquakes, as a list whatever the feed."""
        gempa = self.infogempa.gempa
        return gempa if isinstance(gempa, list) else [gempa]


def decode_feed(data: bytes) -> list[Gempa]:
    """The earthquakes of a BMKG JSON feed document."""
    return msgspec.json.decode(data, type=GempaFeed).quakes


class Quake(msgspec.Struct, frozen=True):
    """An earthquake with typed values."""

    occurred_at: datetime
    location: Point
    magnitude: float
    depth_km: float
    region: Region | None
    alert: DisasterAlert


_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


def _severity(magnitude: float, tsunami: bool) -> Severity:
    if tsunami or magnitude >= 7:
        return Severity.EXTREME
    if magnitude >= 6:
        return Severity.SEVERE
    if magnitude >= 5:
        return Severity.MODERATE
    return Severity.MINOR


def to_quake(gempa: Gempa) -> Quake:
    """Typed values and a CAP-shaped alert for one feed entry (coordinates are "lat,lon")."""
    occurred_at = datetime.fromisoformat(gempa.date_time)
    lat, lon = (float(part) for part in gempa.coordinates.split(","))
    magnitude = float(gempa.magnitude)
    depth_match = _NUMBER.search(gempa.kedalaman)
    depth = float(depth_match.group()) if depth_match else 0.0
    tsunami = "potensi tsunami" in gempa.potensi.lower() and "tidak" not in gempa.potensi.lower()
    region = region_at(lat, lon)
    felt = f" Dirasakan (MMI): {gempa.dirasakan}." if gempa.dirasakan else ""
    alert = DisasterAlert(
        event="Gempabumi",
        category=AlertCategory.GEO,
        urgency=Urgency.IMMEDIATE if tsunami else Urgency.PAST,
        severity=_severity(magnitude, tsunami),
        certainty=Certainty.OBSERVED,
        headline=f"Gempa M{magnitude:.1f} {gempa.wilayah}"[:200],
        issuer="BMKG",
        description=f"{gempa.wilayah}. Kedalaman {depth:.0f} km. {gempa.potensi}.{felt}".strip(),
        area=AlertArea(description=gempa.wilayah, regions=[region] if region else []),
        effective=occurred_at,
        magnitude=magnitude,
        depth_km=depth,
    )
    return Quake(occurred_at, Point(lat, lon), magnitude, depth, region, alert)
