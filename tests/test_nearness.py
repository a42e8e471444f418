"""The nearness indexes (streams/nearness.py) answer as comparing every signal with every other
does, over the signals of every scenario and of the simulator's random stream."""

from __future__ import annotations

import random
import uuid
from datetime import timedelta

import msgspec
import pytest

from connectors.simulator.scenarios import load, names, plan
from connectors.simulator.stream import Simulator
from schemas.events import Event, Kind, Point, kind_of
from schemas.incidents import Hazard, Incident, Signal, SignalKind
from schemas.regions import Region, haversine_km
from schemas.topics import SIGNALS
from streams.correlate import Room
from streams.nearness import Nearby, Recent, cell_for, near
from streams.summary import summarise
from streams.validate import route
from tests.test_correlation import T0

_signal = msgspec.json.Decoder(Signal)


def signals_of(events: list[tuple[timedelta, Event]]) -> list[tuple[timedelta, Signal]]:
    found = []
    for at, event in events:
        routed = route(kind_of(event), event, "posko.raw", 0, 0, None, b"", now=T0 + timedelta(days=2))
        found += [(at, _signal.decode(r.value)) for r in routed.out if r.topic == SIGNALS]
    return found


def scenario_signals(name: str) -> list[tuple[timedelta, Signal]]:
    return signals_of([(t.at, t.event) for t in plan(load(name), 5, T0)])


def random_signals(n: int, seed: int) -> list[tuple[timedelta, Signal]]:
    simulator, rng = Simulator(random.Random(seed)), random.Random(seed)
    events = [simulator.event(T0 + timedelta(minutes=rng.uniform(0, 180))) for _ in range(n)]
    return signals_of([(e.occurred_at - T0, e) for e in events])


ALL = {name: scenario_signals(name) for name in names()} | {"simulator": random_signals(3_000, 7)}


@pytest.mark.parametrize("name", sorted(ALL))
def test_an_incidents_recent_signals_answer_as_each_compared(name: str) -> None:
    signals = [s for _, s in ALL[name]]
    rng = random.Random(3)
    for _ in range(60):
        members = rng.sample(signals, min(len(signals), rng.choice([1, 5, 40, 250])))
        recent = Recent(cell_for(15.0), members)
        kept = list(recent)  # at most RECENT_SIGNALS, the latest
        for signal in rng.sample(signals, min(len(signals), 40)):
            for distance in (0.0, 3.0, 15.0, 80.0):
                assert recent.near(signal, distance) == any(near(signal, m, distance) for m in kept), (
                    signal, distance)


def odd_signals(n: int, seed: int) -> list[Signal]:
    """Signals of every shape, also those the worker never makes (an alert whose regions leave out
    its own, an area named by its own region only, kecamatan shared across kinds)."""
    rng = random.Random(seed)
    regions = list(Region)
    made = []
    for _ in range(n):
        kind = rng.choice(list(SignalKind))
        located = rng.random() < 0.6
        made.append(Signal(
            id=uuid.uuid4(), kind=kind, event_kind=Kind.DISASTER_ALERT, hazard=Hazard.BANJIR, occurred_at=T0,
            region=rng.choice([None, *regions]), regions=rng.sample(regions, rng.choice([0, 0, 1, 2])),
            kecamatan=rng.choice([None, None, "15.04.03", "15.05.01"]),
            location=Point(rng.uniform(-2.6, -1.0), rng.uniform(101.2, 104.4)) if located else None,
            radius_km=rng.choice([0.0, 0.0, 20.0, 120.0]) if kind is SignalKind.PERINGATAN else 0.0))
    return made


def test_an_incidents_recent_signals_answer_as_each_compared_for_signals_of_every_shape() -> None:
    signals, rng = odd_signals(600, 11), random.Random(12)
    for _ in range(150):
        members = rng.sample(signals, rng.choice([1, 3, 12, 60]))
        recent = Recent(cell_for(15.0), members)
        for signal in rng.sample(signals, 30):
            for distance in (0.0, 15.0, 80.0):
                assert recent.near(signal, distance) == any(near(signal, m, distance) for m in members), (
                    signal, members, distance)


@pytest.mark.parametrize("name", sorted(ALL))
def test_the_candidates_hold_every_incident_a_signal_is_near(name: str) -> None:
    signals = [s for _, s in ALL[name]]
    rng = random.Random(4)
    for distance in (0.5, 15.0, 120.0):
        nearby = Nearby(distance)
        groups = {uuid.uuid4(): rng.sample(signals, min(len(signals), rng.randint(1, 30))) for _ in range(40)}
        for incident, members in groups.items():
            nearby.add(incident, members)
        dropped = next(iter(groups))
        nearby.drop(dropped)
        for signal in signals[:400]:
            candidates = nearby.candidates(signal)
            truly = {i for i, members in groups.items() if i != dropped and any(
                near(signal, m, distance) for m in members[-200:])}
            assert candidates is None or truly <= candidates, signal
            assert not nearby.near(signal, dropped)


def test_an_alerts_circle_reaches_reports_beyond_the_grid_of_the_distance() -> None:
    """A quake felt 100 km around, and a report 60 km away in another kabupaten: the incident of
    the report is a candidate for the quake and near it, through the circle alone."""
    quake = Signal(id=uuid.uuid4(), kind=SignalKind.PERINGATAN, event_kind=Kind.DISASTER_ALERT,
                   hazard=Hazard.GEMPA, occurred_at=T0, region=Region.KERINCI, regions=[Region.KERINCI],
                   location=Point(-2.0, 101.5), radius_km=100.0)
    report = Signal(id=uuid.uuid4(), kind=SignalKind.LAPORAN, event_kind=Kind.CITIZEN_REPORT,
                    hazard=Hazard.LONGSOR, occurred_at=T0, region=Region.MERANGIN, kecamatan="15.02.01",
                    location=Point(-2.1, 102.05))
    assert 50 < haversine_km(-2.0, 101.5, -2.1, 102.05) < 100 and near(quake, report, 15.0)
    nearby, incident = Nearby(15.0), uuid.uuid4()
    nearby.add(incident, [report])
    assert incident in (nearby.candidates(quake) or ())
    assert nearby.near(quake, incident)


def everything(room: Room) -> list[Incident]:
    return sorted(room.incidents.values(), key=lambda i: str(i.id))


@pytest.mark.parametrize("name", sorted(ALL))
def test_a_room_with_the_index_makes_the_incidents_of_one_without(name: str) -> None:
    indexed, plain = Room(), Room()
    plain._nearby.candidates = lambda signal: None  # type: ignore[method-assign]  # every incident
    for at, signal in ALL[name]:
        assert indexed.take(signal, T0 + at) == plain.take(signal, T0 + at)
    assert everything(indexed) == everything(plain)
    assert len(indexed.incidents) > (1 if name != "hari-biasa" else 0)


def without_versions(room: Room) -> list[Incident]:
    return [msgspec.structs.replace(i, version=0, raised=False) for i in everything(room)]


@pytest.mark.parametrize("name", sorted(ALL))
def test_a_batch_settled_at_once_makes_the_incidents_of_signals_taken_one_by_one(name: str) -> None:
    """The worker takes a batch of signals and summarises each changed incident once (defer …
    settle); every incident ends as taking the signals one at a time makes it."""
    one, batched = Room(), Room()
    signals = [s for _, s in ALL[name]]
    for start in range(0, len(signals), 500):
        batched.defer()
        for signal in signals[start:start + 500]:
            one.take(signal, T0)
            for draft in batched.take(signal, T0):  # what choosing the next one's incident reads
                made = summarise(draft)
                assert (draft.first_at, draft.last_at, draft.signal_count, draft.items) == (
                    made.first_at, made.last_at, made.signal_count, made.items)
        settled = batched.settle(T0)
        assert len({i.id for i in settled}) == len(settled)
    assert without_versions(batched) == without_versions(one)
    assert all(b.version <= o.version for b, o in zip(everything(batched), everything(one), strict=True))
