"""Scenarios: quiet background traffic plus happenings (floods, fires, quakes) with a ground truth.

A scenario is a data file (data/scenarios/<name>.toml) decoded into the Structs below, so a bad
file is refused with the file and the field. `plan()` turns it into a timeline of events, all
drawn from one seeded generator; each event of a happening is tagged in a `Truth` record that the
pipeline never reads (`posko simulate --truth FILE` writes them as JSON Lines).
"""

from __future__ import annotations

import random
import tomllib
from datetime import datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Annotated, Literal

import msgspec
import shapely
from msgspec import Meta

from connectors.simulator.data_files import DATA, DataFileError
from connectors.simulator.draws import SOURCE
from connectors.simulator.places import PLACES, point_pools
from connectors.simulator.stream import Simulator
from schemas.events import (
    AlertArea,
    AlertCategory,
    Certainty,
    Channel,
    Circle,
    CitizenReport,
    CitizenReportEvent,
    DisasterAlert,
    DisasterAlertEvent,
    Event,
    Point,
    ReportCategory,
    SectorIndicator,
    SectorIndicatorEvent,
    Severity,
    Urgency,
    new_event_id,
)
from schemas.kecamatan import kecamatan_named, kecamatan_shape
from schemas.regions import REGION_NAMES, Region, region_at
from schemas.sectors import INDICATORS
from streams.triage import triage_report

Hazard = Literal["banjir", "karhutla", "gempa", "longsor"]
WarningLevel = Literal["Waspada", "Siaga", "Awas"]
Hours = Annotated[float, Meta(ge=0)]
SCENARIOS = f"{DATA}/scenarios"


class HappeningData(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One happening of a scenario: a hazard unfolding in some regions over some hours."""

    id: Annotated[str, Meta(pattern=r"^[a-z0-9-]{1,64}$")]
    hazard: Hazard
    regions: Annotated[list[Region], Meta(min_length=1)]
    start_hour: Hours
    hours: Annotated[float, Meta(gt=0)]
    kecamatan: list[str] = []  # where the citizen reports come from (of places.toml)
    reports: Annotated[int, Meta(ge=0)] = 0
    victims_share: Annotated[float, Meta(ge=0, le=1)] = 0.0
    # banjir: the river gauges' peak (m) and the BPBD warning levels, in the order issued
    peak_level_m: Annotated[float, Meta(gt=0, le=30)] | None = None
    warnings: list[WarningLevel] = []
    # karhutla: the peak hotspot count per day and ISPU PM2.5
    peak_hotspots: Annotated[int, Meta(ge=0)] | None = None
    peak_ispu: Annotated[float, Meta(ge=0, le=500)] | None = None
    # gempa: the quake, and the landslides it sets off
    magnitude: Annotated[float, Meta(ge=0, le=10)] | None = None
    depth_km: Annotated[float, Meta(ge=0, le=1000)] | None = None
    landslide_reports: Annotated[int, Meta(ge=0)] = 0


class ScenarioFile(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """data/scenarios/<name>.toml."""

    title: str
    hours: Annotated[float, Meta(gt=0)]
    background_per_hour: Annotated[float, Meta(ge=0)]
    # Official alerts and urgent citizen reports come at a quiet day's real rates, apart from the
    # background's other events: BMKG's weather warnings for Jambi a few times a day, a handful of
    # reports of danger a day (the steady simulator, made for load, has far more of both).
    background_alerts_per_day: Annotated[float, Meta(ge=0)] = 4.0
    background_urgent_per_day: Annotated[float, Meta(ge=0)] = 6.0
    happenings: list[HappeningData] = []


class Truth(msgspec.Struct, frozen=True):
    """Which happening an event belongs to (None: background)."""

    event_id: str
    happening: str | None
    hazard: str | None


class Timed(msgspec.Struct, frozen=True):
    """An event at its scenario time, with its ground truth."""

    at: timedelta
    event: Event
    truth: Truth


def names() -> list[str]:
    """The scenarios shipped in the package."""
    folder = resources.files("connectors.simulator").joinpath("data", "scenarios")
    return sorted(p.name.removesuffix(".toml") for p in folder.iterdir() if p.name.endswith(".toml"))


def parse(data: bytes, name: str, where: str | None = None) -> ScenarioFile:
    """A scenario file, checked: each happening within the scenario, its kecamatan known."""
    where = where or f"{SCENARIOS}/{name}"
    try:
        found = msgspec.toml.decode(data, type=ScenarioFile)
    except msgspec.ValidationError as exc:
        # msgspec names `$.happenings[1].hazard`: say it as the file's field.
        raise DataFileError(f"{where}: {str(exc).replace('`$.', '`', 1)}") from exc
    except (msgspec.DecodeError, tomllib.TOMLDecodeError) as exc:
        raise DataFileError(f"{where}: {exc}") from exc
    seen: set[str] = set()
    for number, happening in enumerate(found.happenings):
        field = f"{where}: happenings[{number}]"
        if happening.id in seen:
            raise DataFileError(f"{field}.id: {happening.id!r} is used twice; give each its own id")
        seen.add(happening.id)
        if happening.start_hour + happening.hours > found.hours:
            raise DataFileError(f"{field}.hours: the happening ends after the scenario's "
                                f"{found.hours:g} hours")
        known = {k for region in happening.regions for k, _ in PLACES[region].kecamatan}
        for kecamatan in happening.kecamatan:
            if kecamatan not in known:
                raise DataFileError(f"{field}.kecamatan: {kecamatan!r} is not a kecamatan of "
                                    f"{', '.join(r.value for r in happening.regions)} in places.toml")
        if happening.hazard == "gempa" and happening.magnitude is None:
            raise DataFileError(f"{field}.magnitude: a gempa needs its magnitude")
    return found


def load(name: str) -> ScenarioFile:
    """A shipped scenario by name, or a path to a scenario file."""
    path = Path(name)
    if path.suffix == ".toml" and path.exists():
        return parse(path.read_bytes(), path.name, str(path))
    if name not in names():
        raise DataFileError(f"no scenario {name!r}: the scenarios are {', '.join(names())}")
    data = resources.files("connectors.simulator").joinpath("data", "scenarios", f"{name}.toml")
    return parse(data.read_bytes(), f"{name}.toml")


# --- Building the timeline ------------------------------------------------------------------

_LEVEL = {  # BPBD status → CAP urgency, severity, certainty
    "Waspada": (Urgency.FUTURE, Severity.MODERATE, Certainty.POSSIBLE),
    "Siaga": (Urgency.EXPECTED, Severity.SEVERE, Certainty.LIKELY),
    "Awas": (Urgency.IMMEDIATE, Severity.EXTREME, Certainty.OBSERVED),
}
_GAUGES: dict[Region, str] = {
    Region.TEBO: "Pos Duga Air Muara Tebo", Region.BATANG_HARI: "Pos Duga Air Muara Tembesi",
    Region.MUARO_JAMBI: "Pos Duga Air Sengeti", Region.KOTA_JAMBI: "Pos Duga Air Pasar Jambi",
    Region.TANJUNG_JABUNG_TIMUR: "Pos Duga Air Muara Sabak",
}
_REPORTS: dict[str, tuple[str, str]] = {
    "banjir": ("Banjir di {desa}, {kecamatan}",
               "Air Sungai Batanghari naik dan masuk rumah warga di {desa}, Kec. {kecamatan}, "
               "setinggi {depth} cm. Mohon bantuan perahu dan logistik."),
    "karhutla": ("Asap pekat di {kecamatan}",
                 "Asap kebakaran lahan gambut menyelimuti {desa}, Kec. {kecamatan}. Jarak pandang "
                 "pendek, anak-anak batuk dan sesak napas."),
    "gempa": ("Gempa terasa di {kecamatan}",
              "Gempa terasa kuat di {desa}, Kec. {kecamatan}, warga keluar rumah. Dinding rumah retak."),
    "longsor": ("Longsor di {kecamatan}",
                "Tebing longsor menutup jalan di {desa}, Kec. {kecamatan} setelah hujan deras. "
                "Kendaraan tidak bisa lewat."),
}
_VICTIMS = " Ada korban: {n} warga luka dan perlu evakuasi."


class _Builder:
    def __init__(self, rng: random.Random, start: datetime) -> None:
        self.rng = rng
        self.start = start
        self.pools = point_pools()
        self.out: list[Timed] = []
        self.driven: set[tuple[str, Region]] = set()  # the series a happening reports

    def add(self, at: timedelta, event: Event, happening: HappeningData | None) -> None:
        truth = Truth(str(event.id), happening.id if happening else None,
                      happening.hazard if happening else None)
        self.out.append(Timed(at, event, truth))

    def point(self, region: Region) -> Point:
        pool = self.pools[region]
        return pool[self.rng.randrange(len(pool))]

    def point_in(self, region: Region, name: str) -> Point:
        """A point in the named kecamatan (GPS-rounded), or in its kabupaten when it is not mapped."""
        found = kecamatan_named(region, name)
        if found is None:
            return self.point(region)
        shape = kecamatan_shape(found.code)
        min_lon, min_lat, max_lon, max_lat = shape.bounds
        for _ in range(200):
            lat = round(self.rng.uniform(min_lat, max_lat), 5)
            lon = round(self.rng.uniform(min_lon, max_lon), 5)
            if region_at(lat, lon) == region and shapely.intersects(shape, shapely.Point(lon, lat)):
                return Point(lat, lon)
        return self.point(region)

    def report(self, h: HappeningData, at: timedelta, hazard: str) -> None:
        rng = self.rng
        region = rng.choice(h.regions)
        places = dict(PLACES[region].kecamatan)
        chosen = [k for k in h.kecamatan if k in places] or list(places)
        kecamatan = rng.choice(chosen)
        desa = rng.choice(places[kecamatan]) if places[kecamatan] else kecamatan
        point = self.point_in(region, kecamatan)
        title, text = _REPORTS[hazard]
        fill = {"desa": desa, "kecamatan": kecamatan, "depth": str(rng.randrange(30, 180, 10))}
        body = text.format(**fill)
        if h.victims_share and rng.random() < h.victims_share:
            body += _VICTIMS.format(n=rng.randint(1, 6))
        when = self.start + at
        self.add(at, CitizenReportEvent(
            id=new_event_id(), source=SOURCE, occurred_at=when, received_at=when, region=region,
            location=point,
            payload=CitizenReport(channel=rng.choice(list(Channel)), category=ReportCategory.BENCANA,
                                  title=title.format(**fill), text=body)), h)

    def indicator(self, h: HappeningData, at: timedelta, region: Region, code: str, value: float,
                  period: timedelta, site: str | None = None) -> None:
        indicator = INDICATORS[code]
        self.driven.add((code, region))
        end = self.start + at
        self.add(at, SectorIndicatorEvent(
            id=new_event_id(), source=SOURCE, occurred_at=end, received_at=end, region=region,
            payload=SectorIndicator(sector=indicator.sector, indicator=code, value=round(value, 2),
                                    unit=indicator.unit, period_start=end - period, period_end=end,
                                    agency=f"{indicator.agency} {REGION_NAMES[region]}", site=site)), h)

    def alert(self, h: HappeningData, at: timedelta, region: Region, alert: DisasterAlert,
              location: Point | None = None) -> None:
        when = self.start + at
        alert = msgspec.structs.replace(alert, sent=when, effective=when,
                                        expires=when + timedelta(hours=12))
        self.add(at, DisasterAlertEvent(id=new_event_id(), source=SOURCE, occurred_at=when,
                                        received_at=when, region=region, location=location,
                                        payload=alert), h)

    def spread(self, h: HappeningData, count: int, hazard: str, ramp: float = 1.0,
               after: float = 0.0) -> None:
        """`count` reports over the happening, denser towards its end when `ramp` > 1."""
        begin = h.start_hour + after * h.hours
        span = h.hours * (1 - after)
        for _ in range(count):
            share = self.rng.random() ** (1 / ramp)
            self.report(h, timedelta(hours=begin + share * span), hazard)


def _banjir(b: _Builder, h: HappeningData) -> None:
    peak = h.peak_level_m or 14.0
    gauges = [r for r in h.regions if r in _GAUGES] or [h.regions[0]]
    for hour in range(1, int(h.hours) + 1):
        rise = min(1.0, hour / max(1.0, h.hours * 0.8))
        for region in gauges:
            metres = 9.0 + (peak - 9.0) * rise + b.rng.gauss(0, 0.05)
            b.indicator(h, timedelta(hours=h.start_hour + hour), region, "tinggi_muka_air",
                        metres, timedelta(hours=1), _GAUGES.get(region, "Pos Duga Air"))
    for number, level in enumerate(h.warnings):
        at = timedelta(hours=h.start_hour + h.hours * (number + 0.5) / (len(h.warnings) + 0.5))
        urgency, severity, certainty = _LEVEL[level]
        for region in h.regions:
            name = REGION_NAMES[region]
            kec = ", ".join(h.kecamatan) or name
            b.alert(h, at, region, DisasterAlert(
                event="Banjir", category=AlertCategory.MET, urgency=urgency, severity=severity,
                certainty=certainty, headline=f"Status {level} banjir Sungai Batanghari di {name}",
                issuer=f"BPBD {name}", description=f"Muka air Sungai Batanghari naik; status {level}.",
                instruction="Warga bantaran sungai bersiap mengungsi ke tempat yang lebih tinggi.",
                area=AlertArea(description=f"Kecamatan {kec}", regions=[region])))
    b.spread(h, h.reports, "banjir", ramp=2.0)


def _karhutla(b: _Builder, h: HappeningData) -> None:
    peak = h.peak_hotspots or 40
    ispu = h.peak_ispu or 250.0
    for step in range(1, int(h.hours // 3) + 1):
        rise = min(1.0, step * 3 / h.hours)
        at = timedelta(hours=h.start_hour + step * 3)
        for region in h.regions:
            hotspots = round(peak * rise * b.rng.uniform(0.85, 1.0))
            b.indicator(h, at, region, "titik_panas", hotspots, timedelta(days=1))
            b.indicator(h, at, region, "titik_panas_gambut", round(hotspots * 0.7), timedelta(days=1))
    for hour in range(1, int(h.hours) + 1):
        rise = min(1.0, hour / h.hours)
        for region in h.regions:
            b.indicator(h, timedelta(hours=h.start_hour + hour), region, "ispu_pm25",
                        round(40 + (ispu - 40) * rise * b.rng.uniform(0.9, 1.0)), timedelta(hours=1))
    b.spread(h, h.reports, "karhutla", ramp=1.5)


def _gempa(b: _Builder, h: HappeningData) -> None:
    region = h.regions[0]
    epicentre = b.point(region)
    at = timedelta(hours=h.start_hour)
    magnitude = h.magnitude or 5.0
    b.alert(h, at, region, DisasterAlert(
        event="Gempabumi", category=AlertCategory.GEO, urgency=Urgency.PAST, severity=Severity.SEVERE,
        certainty=Certainty.OBSERVED, headline=f"Gempa Mag:{magnitude:.1f} {REGION_NAMES[region]}",
        issuer="BMKG", description=f"Gempa magnitudo {magnitude:.1f}, kedalaman {h.depth_km or 10:g} km.",
        instruction="Hindari bangunan yang retak; waspadai longsor di lereng.",
        area=AlertArea(regions=list(h.regions), circles=[Circle(epicentre, 50.0)]),
        magnitude=magnitude, depth_km=h.depth_km or 10.0), epicentre)
    felt = msgspec.structs.replace(h, hours=min(1.0, h.hours))  # felt within the hour
    b.spread(felt, h.reports, "gempa", ramp=0.3)
    b.spread(h, h.landslide_reports, "longsor", after=0.3)


def _longsor(b: _Builder, h: HappeningData) -> None:
    b.spread(h, h.reports, "longsor", ramp=1.5)


_HAZARDS = {"banjir": _banjir, "karhutla": _karhutla, "gempa": _gempa, "longsor": _longsor}


def plan(scenario: ScenarioFile, seed: int | None, start: datetime) -> list[Timed]:
    """Every event of the scenario, background and happenings, in scenario time from `start`."""
    rng = random.Random(seed)
    builder = _Builder(random.Random(rng.getrandbits(64)), start)
    for happening in scenario.happenings:
        _HAZARDS[happening.hazard](builder, happening)
    background = Simulator(random.Random(rng.getrandbits(64)))
    total = timedelta(hours=scenario.hours)
    at = timedelta()
    if scenario.background_per_hour:
        while True:
            at += timedelta(hours=rng.expovariate(scenario.background_per_hour))
            if at > total:
                break
            event = background.event(start + at)
            if not _pressing(event):  # those come at their own rates, below
                builder.add(at, event, None)
    for per_day, wanted in ((scenario.background_alerts_per_day, DisasterAlertEvent),
                            (scenario.background_urgent_per_day, CitizenReportEvent)):
        at = timedelta()
        while per_day:
            at += timedelta(days=rng.expovariate(per_day))
            if at > total:
                break
            for _ in range(10_000):  # the simulator's own mix of hazards and places
                event = background.event(start + at)
                if isinstance(event, wanted) and _pressing(event):
                    builder.add(at, event, None)
                    break
        # The agencies' readings on their cadence, but for the series a happening drives.
        for reading in background.indicator_history(start, start + total):
            if (reading.payload.indicator, reading.region) not in builder.driven and reading.region:
                builder.add(reading.received_at - start, reading, None)
    return sorted(builder.out, key=lambda t: t.at)


def _pressing(event: Event) -> bool:
    """Whether the wall shows it: an official alert, or a citizen report the triage finds urgent."""
    if isinstance(event, DisasterAlertEvent):
        return True
    return isinstance(event, CitizenReportEvent) and triage_report(event) is not None


def write_truth(path: Path, timeline: list[Timed]) -> None:
    """The ground truth as JSON Lines, one record per event."""
    path.parent.mkdir(parents=True, exist_ok=True)
    encoder = msgspec.json.Encoder()
    with path.open("wb") as out:
        for timed in timeline:
            out.write(encoder.encode(timed.truth) + b"\n")
