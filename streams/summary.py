"""An incident made from its items: an item per signal (or near-identical reports folded into
one), at most MAX_ITEMS shown, and the summary the wall reads (places, times, counts, title).
The correlator (streams/correlate.py) chooses the incident; this makes what it looks like."""

from __future__ import annotations

import bisect
import math
import operator
import uuid
from datetime import datetime

import msgspec

from schemas.events import Point
from schemas.incidents import Hazard, Incident, IncidentItem, Signal, SignalKind
from schemas.kecamatan import kecamatan
from schemas.regions import EARTH_RADIUS_KM, REGION_NAMES, Region, boundaries

HAZARD_NAMES: dict[Hazard, str] = {
    Hazard.BANJIR: "Banjir", Hazard.LONGSOR: "Tanah longsor", Hazard.GEMPA: "Gempa bumi",
    Hazard.KARHUTLA: "Kebakaran hutan dan lahan", Hazard.CUACA: "Cuaca ekstrem",
    Hazard.KEBAKARAN: "Kebakaran", Hazard.LAINNYA: "Laporan warga",
}
# Bounds, so that a happening of thousands of signals (or a load test's) stays a record Kafka takes
# (well under its 1 MB) and a signal costs the same whatever the size of its incident.
MAX_ITEMS = 100  # lines an incident shows; the rest are counted in one "… sinyal lain"
MAX_IDS_PER_ITEM = 50  # signal ids an item keeps (its count goes on)
_LAST_AT = operator.attrgetter("last_at")
_KIND = operator.attrgetter("kind")
_ID_INT = operator.attrgetter("id.int")


def drafted(incident: Incident, items: list[IncidentItem], changed: IncidentItem, added: int) -> Incident:
    """The incident with `items` (`changed` new or folded, `added` signals more), at most
    MAX_ITEMS of them, and the times and count that choosing an incident for the next signal
    reads; the rest of its summary is made when it is stored (_summarise)."""
    return msgspec.structs.replace(
        incident, items=bounded(incident.id, items), first_at=min(incident.first_at, changed.first_at),
        last_at=max(incident.last_at, changed.last_at), signal_count=incident.signal_count + added)


def fold(item: IncidentItem, signal: Signal) -> IncidentItem:
    """The item with one more signal: counted always, its id kept while the item has room."""
    ids = item.signal_ids if len(item.signal_ids) >= MAX_IDS_PER_ITEM else [*item.signal_ids, signal.id]
    return msgspec.structs.replace(
        item, count=item.count + 1, signal_ids=ids, first_at=min(item.first_at, signal.occurred_at),
        last_at=max(item.last_at, signal.occurred_at), victims=item.victims or signal.victims)


def bounded(incident_id: uuid.UUID, items: list[IncidentItem]) -> list[IncidentItem]:
    """At most MAX_ITEMS lines: official alerts and the latest kept, the rest counted in one."""
    if len(items) <= MAX_ITEMS:
        return items
    rest_id = uuid.uuid5(incident_id, "lainnya")
    rest_int = rest_id.int  # (UUID's == is Python code; comparing ints is not)
    ranked = _one_more(items, rest_int)
    if ranked is not None:
        kept, folded = ranked[:MAX_ITEMS - 1], [ranked[MAX_ITEMS - 1], items[MAX_ITEMS - 1]]
    else:
        # Official alerts first, then the latest: a stable sort by time, then a stable split.
        rests = [i.id.int == rest_int for i in items]
        latest = sorted([i for i, rest in zip(items, rests, strict=True) if not rest], key=_LAST_AT,
                        reverse=True)
        ranked = [i for i in latest if i.kind is SignalKind.PERINGATAN] + [
            i for i in latest if i.kind is not SignalKind.PERINGATAN]
        kept, folded = ranked[:MAX_ITEMS - 1], ranked[MAX_ITEMS - 1:]
        folded += [i for i, rest in zip(items, rests, strict=True) if rest]
    count = sum(i.count for i in folded)
    ids = [s for i in folded for s in i.signal_ids][:MAX_IDS_PER_ITEM]
    rest = IncidentItem(
        id=rest_id, kind=SignalKind.LAPORAN, event_kind=folded[0].event_kind,
        headline=f"{count} sinyal lain", region=None, first_at=min(i.first_at for i in folded),
        last_at=max(i.last_at for i in folded), count=count, signal_ids=ids,
        victims=any(i.victims for i in folded))
    return [*kept, rest]


def _one_more(items: list[IncidentItem], rest_int: int) -> list[IncidentItem] | None:
    """The lines of `items` ranked as bounded's sort ranks them, when `items` are lines bounded
    before, still in their order, and one line more (a full incident taking a signal, the case
    of every signal once an incident is full): that line put where the stable sort would put it,
    after those of its class at least as recent, without sorting the others again (C-level checks
    and a bisection: 30-33 µs a call instead of 58-70, docs/benchmarks.md). None otherwise."""
    if len(items) != MAX_ITEMS + 1:
        return None
    ids = list(map(_ID_INT, items))
    if ids[MAX_ITEMS - 1] != rest_int or ids.count(rest_int) != 1:
        return None
    kept, new = items[:MAX_ITEMS - 1], items[MAX_ITEMS]
    kinds = list(map(_KIND, kept))
    alerts = kinds.count(SignalKind.PERINGATAN)
    times = list(map(_LAST_AT, kept))
    if SignalKind.PERINGATAN in kinds[alerts:] or not (_latest_first(times[:alerts])
                                                        and _latest_first(times[alerts:])):
        return None  # not in bounded's order (a line folded since, or lines from a merge)
    low, high = (0, alerts) if new.kind is SignalKind.PERINGATAN else (alerts, len(kept))
    at = low + bisect.bisect_left(range(low, high), True, key=lambda n: times[n] < new.last_at)
    return [*kept[:at], new, *kept[at:]]


def _latest_first(times: list[datetime]) -> bool:
    return all(map(operator.ge, times, times[1:]))


def item_of(signal: Signal) -> IncidentItem:
    return IncidentItem(
        id=signal.id, kind=signal.kind, event_kind=signal.event_kind, headline=signal.headline,
        region=signal.region or (signal.regions[0] if signal.regions else None),
        kecamatan=signal.kecamatan, location=signal.location, first_at=signal.occurred_at,
        last_at=signal.occurred_at, signal_ids=[signal.id], urgency=signal.urgency,
        severity=signal.severity, certainty=signal.certainty, victims=signal.victims,
        indicator=signal.indicator, value=signal.value)


def item_signal(item: IncidentItem, hazard: Hazard) -> Signal:
    """An item as a signal, to tell what is near a restored incident."""
    return Signal(id=item.id, kind=item.kind, event_kind=item.event_kind, hazard=hazard,
                  occurred_at=item.last_at, region=item.region,
                  regions=[item.region] if item.region else [], kecamatan=item.kecamatan,
                  location=item.location, headline=item.headline)


def summarise(incident: Incident) -> Incident:
    """The incident's places, times, counts and title from its items (at most MAX_ITEMS)."""
    items = bounded(incident.id, incident.items)
    regions: dict[Region, None] = {}
    codes: dict[str, None] = {}
    points: list[Point] = []
    official = victims = False
    reports = signals = 0
    first_at = min(i.first_at for i in items)  # (no items: ValueError, as ever)
    last_at = items[0].last_at
    for i in items:  # one pass: this runs for every signal an incident takes
        if i.region:
            regions[i.region] = None
        if i.kecamatan:
            codes[i.kecamatan] = None
        if i.location:
            points.append(i.location)
        if i.kind is SignalKind.PERINGATAN:
            official = True
        elif i.kind is SignalKind.LAPORAN:
            reports += i.count
        signals += i.count
        victims = victims or i.victims
        if i.last_at > last_at:
            last_at = i.last_at
    points = points or [Point(*boundaries().centroids[r]) for r in regions]
    centre = Point(sum(p.lat for p in points) / len(points),
                   sum(p.lon for p in points) / len(points)) if points else None
    return msgspec.structs.replace(
        incident, items=items, regions=list(regions), kecamatan=list(codes), centre=centre,
        radius_km=round(_farthest_km(centre, points), 1) if centre else 0.0, first_at=first_at,
        last_at=last_at, signal_count=signals, report_count=reports, official=official,
        victims=victims, title=_title(incident.hazard, list(regions), list(codes), incident.surge))


def _farthest_km(centre: Point, points: list[Point]) -> float:
    """max(haversine_km(centre, p) for p in points), its formula inlined (the haversine grows with
    h, so the largest h gives the largest distance)."""
    p1, radians, sin, cos = math.radians(centre.lat), math.radians, math.sin, math.cos
    cos1, largest = cos(p1), 0.0
    for p in points:
        p2 = radians(p.lat)
        h = sin((p2 - p1) / 2) ** 2 + cos1 * cos(p2) * sin(radians(p.lon - centre.lon) / 2) ** 2
        if h > largest:
            largest = h
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(min(1.0, largest)))


def _title(hazard: Hazard, regions: list[Region], codes: list[str], surge: bool) -> str:
    names = [k.name for k in (kecamatan(c) for c in codes[:3]) if k]
    where = ", ".join(REGION_NAMES[r].replace("Kabupaten ", "Kab. ") for r in regions[:3])
    if len(regions) > 3:
        where += f" +{len(regions) - 3}"
    kec = f" (Kec. {', '.join(names)}{' …' if len(codes) > 3 else ''})" if names else ""
    what = f"Lonjakan laporan: {HAZARD_NAMES[hazard].lower()}" if surge else HAZARD_NAMES[hazard]
    return f"{what} di {where}{kec}"
