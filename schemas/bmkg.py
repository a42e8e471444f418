"""BMKG earthquake feeds (autogempa, gempaterkini, gempadirasakan in JSON and XML; InaTEWS) as alerts."""

from __future__ import annotations

import enum
import re
from datetime import UTC, datetime

import msgspec
from lxml import etree

from posko.errors import PoskoError
from schemas.clock import wib_to_utc
from schemas.events import (
    AlertArea,
    AlertCategory,
    Certainty,
    DisasterAlert,
    Point,
    Severity,
    Urgency,
)
from schemas.regions import Region, distance_to_province_km, region_at


class BmkgFormatError(PoskoError, ValueError):
    """A document that is not a BMKG earthquake feed Posko can read; the message says why."""


class FeedFormat(enum.StrEnum):
    """The shapes BMKG publishes earthquakes in."""

    JSON = "BMKG JSON"
    XML = "BMKG XML"
    INATEWS = "InaTEWS JSON"


class Sighting(msgspec.Struct, frozen=True, kw_only=True):
    """One earthquake as one feed reports it, with typed values."""

    occurred_at: datetime
    location: Point
    magnitude: float
    depth_km: float
    wilayah: str
    potensi: str = ""
    dirasakan: str = ""
    # InaTEWS warnings carry their own text and the tsunami warning zones.
    headline: str = ""
    description: str = ""
    instruction: str = ""
    warning_zones: list[str] = []
    # Who reported it: BMKG (any of its feeds) or another agency (USGS), named as the issuer.
    agency: str = "BMKG"

    @property
    def tsunami(self) -> bool:
        """Whether BMKG says the quake may cause a tsunami."""
        text = self.potensi.lower()
        return "tsunami" in text and "tidak" not in text

    @property
    def mmi(self) -> int | None:
        """The highest MMI intensity in the felt reports (II-III Seluma → 3)."""
        found = [_ROMAN[m] for m in _ROMAN_RE.findall(self.dirasakan)]
        return max(found) if found else None


# --- Decoding --------------------------------------------------------------------------------


class _Gempa(msgspec.Struct, frozen=True, rename="pascal"):
    date_time: str = msgspec.field(name="DateTime")
    coordinates: str = ""
    lintang: str = ""
    bujur: str = ""
    magnitude: str = ""
    kedalaman: str = ""
    wilayah: str = ""
    potensi: str = ""
    dirasakan: str = ""


class _Infogempa(msgspec.Struct, frozen=True):
    gempa: _Gempa | list[_Gempa]


class _GempaFeed(msgspec.Struct, frozen=True):
    infogempa: _Infogempa = msgspec.field(name="Infogempa")


class _InaTewsPoint(msgspec.Struct, frozen=True):
    coordinates: str


class _WarningZone(msgspec.Struct, frozen=True):
    province: str = ""
    district: str = ""
    level: str = ""


class _InaTewsInfo(msgspec.Struct, frozen=True):
    date: str
    time: str
    point: _InaTewsPoint
    magnitude: str
    depth: str
    area: str = ""
    latitude: str = ""
    longitude: str = ""
    potential: str = ""
    headline: str = ""
    description: str = ""
    instruction: str = ""
    wzarea: list[_WarningZone] = []


class _InaTews(msgspec.Struct, frozen=True):
    identifier: str
    info: _InaTewsInfo


_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
_ROMAN = {"I": 1, "II": 2, "III": 3, "IV": 4, "V": 5, "VI": 6, "VII": 7, "VIII": 8, "IX": 9, "X": 10,
          "XI": 11, "XII": 12}
_ROMAN_RE = re.compile(r"\b(" + "|".join(sorted(_ROMAN, key=len, reverse=True)) + r")\b")


def _number(text: str, what: str) -> float:
    match = _NUMBER.search(text)
    if match is None:
        raise BmkgFormatError(f"{what} {text!r} has no number")
    return float(match.group())


def _degrees(text: str) -> float | None:
    """'8.15 LS' → -8.15, '126.96 BT' → 126.96; None without a hemisphere."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(LU|LS|BT|BB)\s*", text.upper())
    if match is None:
        return None
    value = float(match.group(1))
    return -value if match.group(2) in ("LS", "BB") else value


def position(coordinates: str, lintang: str, bujur: str, lon_first: bool) -> Point:
    """The epicentre: from Lintang/Bujur when given (unambiguous), else `coordinates` in format order."""
    lat, lon = _degrees(lintang), _degrees(bujur)
    if lat is not None and lon is not None:
        return Point(lat, lon)
    parts = [part for part in re.split(r"[,\s]+", coordinates.strip()) if part]
    if len(parts) != 2:
        raise BmkgFormatError(f"coordinates {coordinates!r} are not two numbers")
    first, second = float(parts[0]), float(parts[1])
    lat, lon = (second, first) if lon_first else (first, second)
    if abs(lat) > 90:  # the other order after all
        lat, lon = lon, lat
    return Point(lat, lon)


def _gempa_sighting(gempa: _Gempa, lon_first: bool) -> Sighting:
    try:
        occurred_at = datetime.fromisoformat(gempa.date_time).astimezone(UTC)
    except ValueError as exc:
        raise BmkgFormatError(f"DateTime {gempa.date_time!r} is not an ISO 8601 time") from exc
    return Sighting(
        occurred_at=occurred_at,
        location=position(gempa.coordinates, gempa.lintang, gempa.bujur, lon_first),
        magnitude=_number(gempa.magnitude, "Magnitude"),
        depth_km=_number(gempa.kedalaman, "Kedalaman"),
        wilayah=gempa.wilayah.strip(), potensi=gempa.potensi.strip(),
        dirasakan=gempa.dirasakan.strip(),
    )


def _wib(day: str, clock: str) -> datetime:
    """InaTEWS 'DD-MM-YY' and 'HH:MM:SS WIB' as a UTC time."""
    found = wib_to_utc(f"{day} {clock.replace('WIB', '').strip()}", "%d-%m-%y %H:%M:%S")
    if found is None:
        raise BmkgFormatError(f"InaTEWS date/time {day!r} {clock!r} is not DD-MM-YY HH:MM:SS WIB")
    return found


def _inatews_sighting(doc: _InaTews) -> Sighting:
    info = doc.info
    zones = [f"{z.level} {z.province} {z.district}".strip() for z in info.wzarea]
    return Sighting(
        occurred_at=_wib(info.date, info.time),
        location=position(info.point.coordinates, info.latitude, info.longitude, lon_first=True),
        magnitude=_number(info.magnitude, "magnitude"), depth_km=_number(info.depth, "depth"),
        wilayah=info.area.strip(), potensi=info.potential.strip(), headline=info.headline.strip(),
        description=info.description.strip(), instruction=info.instruction.strip(),
        warning_zones=list(dict.fromkeys(zones)),
    )


def _xml_sightings(data: bytes) -> list[Sighting]:
    try:
        root = etree.fromstring(data, etree.XMLParser(resolve_entities=False, no_network=True))
    except etree.XMLSyntaxError as exc:
        raise BmkgFormatError(f"not well-formed XML: {exc}") from exc
    if root.tag != "Infogempa":
        raise BmkgFormatError(f"XML root is <{root.tag}>, a BMKG feed has <Infogempa>")
    sightings = []
    for element in root.iter("gempa"):
        fields = {child.tag: (child.text or "").strip() for child in element if isinstance(child.tag, str)}
        gempa = _Gempa(
            date_time=fields.get("DateTime", ""), coordinates=element.findtext("point/coordinates", ""),
            lintang=fields.get("Lintang", ""), bujur=fields.get("Bujur", ""),
            magnitude=fields.get("Magnitude", ""), kedalaman=fields.get("Kedalaman", ""),
            wilayah=fields.get("Wilayah", ""), potensi=fields.get("Potensi", ""),
            dirasakan=fields.get("Dirasakan", ""),
        )
        # BMKG's legacy XML put longitude first; Lintang/Bujur settle it when present.
        sightings.append(_gempa_sighting(gempa, lon_first=True))
    return sightings


def feed_format(data: bytes) -> FeedFormat | None:
    """Which BMKG format a document is in, or None when it is none of them."""
    head = data.lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"<"):
        return FeedFormat.XML if b"<Infogempa" in head[:500] else None
    if b'"Infogempa"' in head[:200]:
        return FeedFormat.JSON
    if b'"identifier"' in head and b"InaTEWS" in head[:2000]:
        return FeedFormat.INATEWS
    return None


def decode_bmkg(data: bytes) -> list[Sighting]:
    """The earthquakes of a BMKG document in any of its formats, in the document's order."""
    fmt = feed_format(data)
    try:
        if fmt is FeedFormat.XML:
            return _xml_sightings(data)
        if fmt is FeedFormat.JSON:
            gempa = msgspec.json.decode(data, type=_GempaFeed).infogempa.gempa
            quakes = gempa if isinstance(gempa, list) else [gempa]
            return [_gempa_sighting(g, lon_first=False) for g in quakes]
        if fmt is FeedFormat.INATEWS:
            return [_inatews_sighting(msgspec.json.decode(data, type=_InaTews))]
    except msgspec.DecodeError as exc:
        raise BmkgFormatError(f"{fmt} document does not have the expected fields: {exc}") from exc
    raise BmkgFormatError("not a BMKG earthquake feed: expected Infogempa JSON/XML or an InaTEWS warning")


# --- The alert -------------------------------------------------------------------------------


def severity(sighting: Sighting) -> Severity:
    """Extreme with tsunami potential or M ≥ 7; Severe at M ≥ 6 or felt at MMI VI+; then by magnitude."""
    mmi = sighting.mmi or 0
    if sighting.tsunami or sighting.magnitude >= 7:
        return Severity.EXTREME
    if sighting.magnitude >= 6 or mmi >= 6:
        return Severity.SEVERE
    if sighting.magnitude >= 5 or mmi >= 5:
        return Severity.MODERATE
    return Severity.MINOR


def quake_alert(sighting: Sighting, sent: datetime) -> tuple[Region | None, DisasterAlert]:
    """The quake's region (None outside Jambi) and its CAP-shaped alert, as issued at `sent`."""
    lat, lon = sighting.location.lat, sighting.location.lon
    region = region_at(lat, lon)
    distance = None if region else round(distance_to_province_km(lat, lon), 1)
    tsunami = sighting.tsunami
    lines = [sighting.description or f"{sighting.wilayah}. Kedalaman {sighting.depth_km:g} km."]
    if sighting.potensi and not sighting.description:
        lines.append(sighting.potensi.rstrip(".") + ".")
    if sighting.dirasakan:
        lines.append(f"Dirasakan (skala MMI): {sighting.dirasakan}.")
    if sighting.warning_zones:
        lines.append("Zona peringatan tsunami: " + "; ".join(sighting.warning_zones) + ".")
    if distance is not None:
        lines.append(f"Pusat gempa {distance:g} km dari batas Provinsi Jambi.")
    area = sighting.wilayah
    if sighting.warning_zones:
        area = f"{area}; {'; '.join(sighting.warning_zones)}"
    alert = DisasterAlert(
        event="Gempabumi",
        category=AlertCategory.GEO,
        urgency=Urgency.IMMEDIATE if tsunami else Urgency.PAST,
        severity=severity(sighting),
        certainty=Certainty.OBSERVED,
        headline=(sighting.headline or f"Gempa M{sighting.magnitude:.1f} {sighting.wilayah}")[:200],
        issuer=sighting.agency,
        description=" ".join(lines)[:5000],
        instruction=sighting.instruction[:5000],
        area=AlertArea(description=area[:5000], regions=[region] if region else []),
        effective=sighting.occurred_at,
        magnitude=sighting.magnitude,
        depth_km=sighting.depth_km,
        sent=sent,
        distance_km=distance,
    )
    return region, alert
