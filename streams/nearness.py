"""Whether a signal is near an incident: near one of its latest signals (streams/correlate.py).

Two signals are near when they share a kecamatan; when one lies in an official alert's area (its
circle, or its kabupaten/kota); when both are areas (hotspot counts, alerts without a point) whose
kabupaten/kota touch, or a point lies in an area's kabupaten/kota; or when both have a point and
lie within `distance_km`.

An incident keeps up to RECENT_SIGNALS of them, and a room may hold a thousand open incidents, so
both are indexed; every answer is the same as comparing with every signal of every incident:
- `Nearby` tells which incidents a signal may be near: those holding an alert or area, those
  naming its kecamatan, and those with a point in the grid cells within `distance_km` of its
  point (an alert's: within its radius too); for an alert or area also those naming one of its
  kabupaten/kota.
- `Recent` compares a signal with an incident's signals: with the alerts and areas among them
  through their index (`Specials`), and
  with the ordinary ones through theirs (kecamatan, kabupaten/kota, and points in the grid cells
  within `distance_km`, or an alert's radius, of its point).
"""

from __future__ import annotations

import math
import uuid
from collections import Counter, defaultdict, deque
from collections.abc import Hashable, Iterable, Iterator
from functools import cache
from typing import TypeVar

import shapely

from schemas.events import Point
from schemas.incidents import Signal, SignalKind
from schemas.regions import EARTH_RADIUS_KM, Region, boundaries, haversine_km

RECENT_SIGNALS = 200  # signals per incident that a new one is compared with for nearness
K = TypeVar("K", bound=Hashable)
_SLACK = 1.001  # the grid's bounds are exact in arithmetic: this keeps rounding from losing an edge


class Nearby:
    """The latest signals of every incident, and the incidents a new signal may be near."""

    def __init__(self, distance_km: float) -> None:
        self.distance_km = distance_km
        self._cell = cell_for(distance_km)
        self._recent: dict[uuid.UUID, Recent] = {}
        # incidents by a kecamatan ("k", code), kabupaten/kota ("r", region) or grid cell (row,
        # column) their ordinary signals have had
        self._by: dict[Hashable, set[uuid.UUID]] = defaultdict(set)
        self._keys: dict[uuid.UUID, set[Hashable]] = defaultdict(set)
        self._wide: set[uuid.UUID] = set()  # incidents that have had an alert or an area

    def add(self, incident: uuid.UUID, signals: Iterable[Signal]) -> None:
        """The incident's latest signals, with these."""
        if (recent := self._recent.get(incident)) is None:  # (not built for every signal added)
            recent = self._recent[incident] = Recent(self._cell)
        keys = self._keys[incident]
        for signal in signals:
            recent.append(signal)
            if special(signal):
                self._wide.add(incident)
                continue
            for key in _keys_of(signal, self._cell):
                if key not in keys:
                    keys.add(key)
                    self._by[key].add(incident)

    def drop(self, incident: uuid.UUID) -> list[Signal]:
        """Forget the incident; its latest signals."""
        for key in self._keys.pop(incident, ()):
            self._by[key].discard(incident)
            if not self._by[key]:
                del self._by[key]
        self._wide.discard(incident)
        return list(self._recent.pop(incident, ()))

    def near(self, signal: Signal, incident: uuid.UUID) -> bool:
        """Whether `signal` is near one of the incident's latest signals."""
        recent = self._recent.get(incident)
        return recent is not None and recent.near(signal, self.distance_km)

    def candidates(self, signal: Signal) -> set[uuid.UUID] | None:
        """The incidents `signal` may be near (more, never fewer), or None: it may be near any."""
        found = set(self._wide)  # (an alert or area among their signals: compared with each)
        if signal.kecamatan:
            found.update(self._by.get(("k", signal.kecamatan), ()))
        reach = self.distance_km
        if special(signal):  # an ordinary signal in its area, or in its kabupaten/kota
            for region in regions_of(signal):
                found.update(self._by.get(("r", region), ()))
            if signal.kind is SignalKind.PERINGATAN:
                reach = max(reach, signal.radius_km)
        if (p := signal.location) is not None:
            cells = cells_near(p.lat, p.lon, reach, self._cell)
            if cells is None:
                return None
            for cell in cells:
                found.update(self._by.get(cell, ()))
        return found


class Recent:
    """An incident's latest signals (oldest first, at most RECENT_SIGNALS) and their index."""

    __slots__ = ("_cell", "_kecamatan", "_placed_regions", "_points", "_region", "_special",
                 "_unplaced_regions", "signals")

    def __init__(self, cell: float, signals: Iterable[Signal] = ()) -> None:
        self.signals: deque[Signal] = deque(maxlen=RECENT_SIGNALS)
        self._cell = cell
        self._kecamatan: Counter[str] = Counter()
        self._special = Specials()  # alerts and areas
        # The ordinary ones (for an alert or area): with a point, by cell; their kabupaten/kota
        # (regions_of) with a point and without one; and their own kabupaten/kota (`region`).
        self._points: dict[tuple[int, int], list[Signal]] = {}
        self._placed_regions: Counter[Region] = Counter()
        self._unplaced_regions: Counter[Region] = Counter()
        self._region: Counter[Region] = Counter()
        self.extend(signals)

    def __iter__(self) -> Iterator[Signal]:
        return iter(self.signals)

    def __len__(self) -> int:
        return len(self.signals)

    def extend(self, signals: Iterable[Signal]) -> None:
        for signal in signals:
            self.append(signal)

    def append(self, signal: Signal) -> None:
        if len(self.signals) == RECENT_SIGNALS:
            self._forget(self.signals[0])
        self.signals.append(signal)
        if signal.kecamatan:
            self._kecamatan[signal.kecamatan] += 1
        if special(signal):
            self._special.add(signal)
            return
        self._ordinary(signal, 1)
        if (p := signal.location) is not None:
            self._points.setdefault(_cell_of(p, self._cell), []).append(signal)

    def _forget(self, signal: Signal) -> None:
        # (each list holds its signals oldest first, so remove() takes the one leaving)
        if signal.kecamatan:
            _count(self._kecamatan, [signal.kecamatan], -1)
        if special(signal):
            self._special.add(signal, -1)
            return
        self._ordinary(signal, -1)
        if (p := signal.location) is not None:
            cell = _cell_of(p, self._cell)
            self._points[cell].remove(signal)
            if not self._points[cell]:
                del self._points[cell]

    def _ordinary(self, signal: Signal, sign: int) -> None:
        """Count an ordinary signal's kabupaten/kota in (or out, with sign -1)."""
        _count(self._unplaced_regions if signal.location is None else self._placed_regions,
               regions_of(signal), sign)
        if signal.region is not None:
            _count(self._region, [signal.region], sign)

    def near(self, signal: Signal, distance_km: float) -> bool:
        """Whether `signal` is near one of these signals."""
        if signal.kecamatan and signal.kecamatan in self._kecamatan:
            return True
        if special(signal):  # an alert or area: with each alert and area, through the others' index
            return self._special.near_special(signal, distance_km) or self._ordinary_near(signal, distance_km)
        if self._special.near(signal, distance_km):
            return True
        # Between two ordinary signals only the kecamatan (above) and the distance count.
        return self._point_near(signal, distance_km, 0.0)

    def _ordinary_near(self, signal: Signal, distance_km: float) -> bool:
        """Whether an alert or area is near one of the ordinary signals (`near`'s rules with the
        ordinary one as the other side: neither an alert nor an area), the kecamatan aside."""
        radius = 0.0
        if signal.kind is SignalKind.PERINGATAN:  # one of them inside the alert's area
            if signal.radius_km and signal.location:  # its circle, for those with a point
                radius = signal.radius_km
            elif any(r in self._placed_regions for r in signal.regions):
                return True
            if any(r in self._unplaced_regions for r in signal.regions):
                return True
        if is_area(signal) and any(r in self._region for r in regions_of(signal)):
            return True
        return self._point_near(signal, distance_km, radius)

    def _point_near(self, signal: Signal, distance_km: float, radius: float) -> bool:
        """Whether an ordinary signal's point is within distance_km (or `radius`) of this one's."""
        if (p := signal.location) is None or not self._points:
            return False
        cells = cells_near(p.lat, p.lon, max(distance_km, radius), self._cell)
        groups = (self._points.values() if cells is None or len(cells) > len(self._points)
                  else (self._points.get(c, ()) for c in cells))
        for group in groups:
            for other in group:
                assert other.location is not None
                km = haversine_km(p.lat, p.lon, other.location.lat, other.location.lon)
                if km <= distance_km or km <= radius:
                    return True
        return False


class Specials:
    """An incident's alerts and areas, indexed so that an ordinary signal (neither) is told
    whether it is near one of them, as `near` with each would tell, in a few lookups: an
    incident of hotspot counts and river readings holds hundreds of areas."""

    __slots__ = ("_alert_regions", "_area_regions", "_circle_regions", "_kecamatan", "_located",
                 "_located_own", "_located_regions", "signals")

    def __init__(self) -> None:
        self.signals: list[Signal] = []  # oldest first
        self._kecamatan: Counter[str] = Counter()
        self._area_regions: Counter[Region] = Counter()  # a point there is near the area
        self._alert_regions: Counter[Region] = Counter()  # of alerts without a circle
        self._circle_regions: Counter[Region] = Counter()  # of alerts with one (for no point)
        self._located: list[Signal] = []  # those with a point (alerts only: an area has none)
        # Of those with a point: their kabupaten/kota (regions_of) and their own (`region`).
        self._located_regions: Counter[Region] = Counter()
        self._located_own: Counter[Region] = Counter()

    def add(self, signal: Signal, sign: int = 1) -> None:
        """Count an alert or area in (or out, with sign -1: the oldest of them)."""
        if sign > 0:
            self.signals.append(signal)
        else:
            self.signals.remove(signal)
        if signal.kecamatan:
            _count(self._kecamatan, [signal.kecamatan], sign)
        if is_area(signal):
            _count(self._area_regions, regions_of(signal), sign)
        if signal.kind is SignalKind.PERINGATAN:
            circle = bool(signal.radius_km and signal.location)
            _count(self._circle_regions if circle else self._alert_regions, signal.regions, sign)
        if signal.location is not None:
            if sign > 0:
                self._located.append(signal)
            else:
                self._located.remove(signal)
            _count(self._located_regions, regions_of(signal), sign)
            if signal.region is not None:
                _count(self._located_own, [signal.region], sign)

    def near_special(self, signal: Signal, distance_km: float) -> bool:
        """Whether an alert or area is near one of them (`near`'s rules, with an alert or area on
        both sides; every one of them is an area or an alert with a point)."""
        if signal.kecamatan and signal.kecamatan in self._kecamatan:
            return True
        circle = bool(signal.kind is SignalKind.PERINGATAN and signal.radius_km and signal.location)
        if signal.kind is SignalKind.PERINGATAN:  # one of them in its area: an area by its regions,
            # an alert with a point by them too when this alert has no circle (else by distance)
            if any(r in self._area_regions for r in signal.regions):
                return True
            if not circle and any(r in self._located_regions for r in signal.regions):
                return True
        where = regions_of(signal)  # it in one of their alerts' areas, by the regions
        if any(r in self._alert_regions for r in where):
            return True
        if signal.location is None and any(r in self._circle_regions for r in where):
            return True
        if is_area(signal):  # two areas touch; an alert with a point in its kabupaten/kota
            if any(r in self._area_regions for x in where for r in (x, *_neighbours(x))):
                return True
            return any(r in self._located_own for r in where)
        if signal.region is not None and signal.region in self._area_regions:  # it in an area
            return True
        p = signal.location
        assert p is not None  # (not an area)
        for other in self._located:  # by distance, or within its circle, or within theirs
            assert other.location is not None
            km = haversine_km(p.lat, p.lon, other.location.lat, other.location.lon)
            if km <= distance_km or (circle and km <= signal.radius_km) or (
                    other.kind is SignalKind.PERINGATAN and other.radius_km and km <= other.radius_km):
                return True
        return False

    def near(self, signal: Signal, distance_km: float) -> bool:
        """Whether an ordinary signal is near one of them (`near`'s rules, with the ordinary
        signal as one side: neither an alert nor an area)."""
        if signal.kecamatan and signal.kecamatan in self._kecamatan:
            return True
        if signal.region is not None and signal.region in self._area_regions:
            return True
        where = regions_of(signal)
        if any(r in self._alert_regions for r in where):
            return True
        p = signal.location
        if p is None:  # an alert's circle needs a point: its kabupaten/kota count instead
            return any(r in self._circle_regions for r in where)
        for other in self._located:
            assert other.location is not None
            km = haversine_km(p.lat, p.lon, other.location.lat, other.location.lon)
            if km <= distance_km or (other.kind is SignalKind.PERINGATAN and other.radius_km
                                     and km <= other.radius_km):
                return True
        return False


def _count(counter: Counter[K], keys: Iterable[K], sign: int) -> None:
    for key in keys:
        counter[key] += sign
        if not counter[key]:
            del counter[key]


def cell_for(distance_km: float) -> float:
    """The side, in degrees, of the grid cells that index points for nearness within distance_km."""
    return math.degrees(_reach(distance_km))


def _reach(distance_km: float) -> float:
    return max(distance_km, 1e-6) * _SLACK / EARTH_RADIUS_KM  # radians


def _cell_of(p: Point, cell: float) -> tuple[int, int]:
    return math.floor(p.lat / cell), math.floor(p.lon / cell)


def _keys_of(signal: Signal, cell: float) -> Iterator[Hashable]:
    if signal.kecamatan:
        yield ("k", signal.kecamatan)
    for region in {*regions_of(signal), signal.region} - {None}:
        yield ("r", region)
    if (p := signal.location) is not None:
        yield _cell_of(p, cell)


def cells_near(lat: float, lon: float, distance_km: float, cell: float) -> list[tuple[int, int]] | None:
    """The grid cells (`cell` degrees a side) holding every point within distance_km of (lat, lon);
    None near a pole or the antimeridian, where the grid is no help. From the haversine: the
    distance is at least R·|Δlat|, and at least 2R·asin(cos(φ)·sin(|Δlon|/2)) with φ the larger
    |latitude| of the two points, at most |lat| + the reach."""
    reach = _reach(distance_km)
    phi = abs(lat) + math.degrees(reach)
    if phi >= 89.0:
        return None
    ratio = math.sin(reach / 2) / math.cos(math.radians(phi))
    if ratio >= 1.0:
        return None
    dlon = math.degrees(2 * math.asin(ratio))
    if abs(lon) + dlon >= 180.0:
        return None
    row, column = math.floor(lat / cell), math.floor(lon / cell)
    high, wide = math.ceil(math.degrees(reach) / cell), math.ceil(dlon / cell)
    return [(row + dr, column + dc) for dr in range(-high, high + 1) for dc in range(-wide, wide + 1)]


def special(signal: Signal) -> bool:
    """An official alert, or an area: one whose nearness is more than kecamatan and distance."""
    return signal.kind is SignalKind.PERINGATAN or is_area(signal)


def near(a: Signal, b: Signal, distance_km: float) -> bool:
    """Whether two signals are near (see the module's docstring)."""
    if a.kecamatan and a.kecamatan == b.kecamatan:
        return True
    for one, other in ((a, b), (b, a)):
        if one.kind is SignalKind.PERINGATAN and _inside_alert(other, one):
            return True
    if is_area(a) and is_area(b):
        return _regions_touch(regions_of(a), regions_of(b))
    for area, other in ((a, b), (b, a)):  # a haze report where the hotspots are counted
        if is_area(area) and other.region in regions_of(area):
            return True
    if a.location and b.location:
        return haversine_km(a.location.lat, a.location.lon, b.location.lat, b.location.lon) <= distance_km
    return False


def is_area(signal: Signal) -> bool:
    return signal.kind is not SignalKind.LAPORAN and signal.location is None


def regions_of(signal: Signal) -> list[Region]:
    return signal.regions or ([signal.region] if signal.region else [])


def _inside_alert(signal: Signal, alert: Signal) -> bool:
    """Whether a signal lies in an official alert's area: its circle, or its kabupaten/kota."""
    if alert.radius_km and alert.location and signal.location:
        return haversine_km(signal.location.lat, signal.location.lon, alert.location.lat,
                            alert.location.lon) <= alert.radius_km
    where = regions_of(signal)
    return bool(where) and any(r in alert.regions for r in where)


def _regions_touch(a: list[Region], b: list[Region]) -> bool:
    return any(x == y or y in _neighbours(x) for x in a for y in b)


@cache
def _neighbours(region: Region) -> frozenset[Region]:
    """The kabupaten/kota sharing a border with `region` (the boundaries are simplified: 1 km slack)."""
    found = boundaries()
    mine = found.polygons[found.regions.index(region)]
    slack = shapely.buffer(mine, 0.01)
    return frozenset(r for r, p in zip(found.regions, found.polygons, strict=True)
                     if r is not region and shapely.intersects(slack, p))
