"""Scenarios: each shipped one loads, repeats for a seed, shows its signals, and is valid for the stream."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path

import msgspec
import pytest

from connectors.simulator.data_files import DataFileError
from connectors.simulator.run import play_scenario
from connectors.simulator.scenarios import Timed, Truth, load, names, parse, plan, write_truth
from schemas.events import (
    CitizenReportEvent,
    DisasterAlertEvent,
    SectorIndicatorEvent,
    Severity,
    kind_of,
)
from schemas.regions import Region
from schemas.sectors import INDICATORS
from schemas.topics import DLQ
from streams.validate import decode_raw, route
from tests.conftest import Stack, settle, wait_for
from tests.test_cli import posko

SHIPPED = ["banjir-batanghari", "banjir-dan-longsor", "gempa-kerinci", "hari-biasa", "karhutla"]
NOW = datetime(2026, 12, 1, 5, 0, tzinfo=UTC)
_ZERO = uuid.UUID(int=0)


def _timeline(name: str, seed: int = 7) -> list[Timed]:
    scenario = load(name)
    return plan(scenario, seed, NOW - timedelta(hours=scenario.hours))


def _of(timeline: list[Timed], happening: str) -> list[Timed]:
    return [t for t in timeline if t.truth.happening == happening]


def _shipped_text(name: str) -> str:
    folder = resources.files("connectors.simulator").joinpath("data", "scenarios")
    return folder.joinpath(f"{name}.toml").read_text()


def test_every_named_scenario_is_shipped_and_loads() -> None:
    assert names() == SHIPPED
    for name in SHIPPED:
        assert load(name).hours > 0


@pytest.mark.parametrize("name", SHIPPED)
def test_a_scenario_repeats_for_a_seed(name: str) -> None:
    def content(timeline: list[Timed]) -> list[tuple[timedelta, bytes, str | None]]:
        # Event ids are fresh UUIDv7s each run; everything else follows the seed.
        return [(t.at, msgspec.json.encode(msgspec.structs.replace(t.event, id=_ZERO)), t.truth.happening)
                for t in timeline]

    assert content(_timeline(name)) == content(_timeline(name))
    assert content(_timeline(name, 7)) != content(_timeline(name, 8))


@pytest.mark.parametrize("name", SHIPPED)
def test_every_event_is_valid_and_routed_without_a_dead_letter(name: str) -> None:
    for timed in _timeline(name):
        raw = msgspec.json.encode(timed.event)
        decoded = decode_raw(raw)
        kind = kind_of(timed.event)
        routed = route(kind, decoded, f"posko.raw.{kind}", 0, 1, b"15.71", raw, now=NOW)
        letters = [o for o in routed.out if o.topic == DLQ]
        assert not letters, f"{name}: {letters[0].value[:400]!r}"
        assert timed.event.occurred_at <= NOW + timedelta(minutes=15)


@pytest.mark.parametrize("name", SHIPPED)
def test_every_event_of_a_happening_is_in_the_truth_file(name: str, tmp_path: Path) -> None:
    timeline = _timeline(name)
    path = tmp_path / "truth.jsonl"
    write_truth(path, timeline)
    truth = {t.event_id: t for t in msgspec.json.Decoder(Truth).decode_lines(path.read_bytes())}
    happenings = {h.id: h.hazard for h in load(name).happenings}
    for timed in timeline:
        assert truth[str(timed.event.id)] == timed.truth
        if timed.truth.happening:
            assert happenings[timed.truth.happening] == timed.truth.hazard
    for happening in happenings:
        assert _of(timeline, happening), f"{happening} has no event"


def test_an_ordinary_day_has_no_happening_only_background() -> None:
    timeline = _timeline("hari-biasa")
    assert not load("hari-biasa").happenings
    assert len(timeline) > 100
    assert all(t.truth.happening is None and t.truth.hazard is None for t in timeline)


def test_a_batanghari_flood_rises_warns_in_order_and_reports_from_its_kecamatan() -> None:
    happening = load("banjir-batanghari").happenings[0]
    events = [t.event for t in _of(_timeline("banjir-batanghari"), happening.id)]
    alerts = [e for e in events if isinstance(e, DisasterAlertEvent)]
    for region in happening.regions:
        levels = [a.payload.headline.split()[1] for a in alerts if a.region is region]
        assert levels == ["Waspada", "Siaga", "Awas"]
        severities = [a.payload.severity for a in alerts if a.region is region]
        assert severities == [Severity.MODERATE, Severity.SEVERE, Severity.EXTREME]
    gauges = [e for e in events if isinstance(e, SectorIndicatorEvent)]
    normal = INDICATORS["tinggi_muka_air"].normal_high
    assert normal is not None
    first, last = gauges[0].payload.value, gauges[-1].payload.value
    assert first <= normal < last
    reports = [e for e in events if isinstance(e, CitizenReportEvent)]
    assert len(reports) == happening.reports
    for report in reports:
        assert report.region in happening.regions
        assert any(f"Kec. {k}" in report.payload.text for k in happening.kecamatan)
    assert any("korban" in r.payload.text for r in reports)
    # The other gauges keep reporting as background; the flooded ones only as the happening.
    background = [t.event for t in _timeline("banjir-batanghari") if t.truth.happening is None
                  and isinstance(t.event, SectorIndicatorEvent)
                  and t.event.payload.indicator == "tinggi_muka_air"]
    assert background and not {e.region for e in background} & set(happening.regions)


def test_karhutla_hotspots_climb_in_peat_districts_with_haze_and_ispu() -> None:
    happening = load("karhutla").happenings[0]
    events = [t.event for t in _of(_timeline("karhutla"), happening.id)]
    readings = [e for e in events if isinstance(e, SectorIndicatorEvent)]
    for region in happening.regions:
        hotspots = [r.payload.value for r in readings
                    if r.region is region and r.payload.indicator == "titik_panas"]
        assert hotspots[0] < hotspots[-1] and hotspots[-1] > (INDICATORS["titik_panas"].normal_high or 0)
        ispu = [r.payload.value for r in readings
                if r.region is region and r.payload.indicator == "ispu_pm25"]
        assert ispu[-1] > (INDICATORS["ispu_pm25"].normal_high or 0)
    assert {r.region for r in readings} <= {Region.MUARO_JAMBI, Region.TANJUNG_JABUNG_TIMUR,
                                            Region.TANJUNG_JABUNG_BARAT}
    haze = [e for e in events if isinstance(e, CitizenReportEvent)]
    assert len(haze) == happening.reports and all("Asap" in r.payload.title for r in haze)


def test_a_kerinci_quake_comes_first_then_felt_reports_then_landslides() -> None:
    happening = load("gempa-kerinci").happenings[0]
    timeline = _of(_timeline("gempa-kerinci"), happening.id)
    quake = timeline[0].event
    assert isinstance(quake, DisasterAlertEvent)
    assert quake.payload.issuer == "BMKG" and quake.payload.magnitude == happening.magnitude
    reports = [(t.at, t.event.payload.title) for t in timeline if isinstance(t.event, CitizenReportEvent)]
    assert all(at >= timeline[0].at for at, _ in reports)
    felt = [at for at, title in reports if title.startswith("Gempa")]
    slides = [at for at, title in reports if title.startswith("Longsor")]
    assert len(felt) == happening.reports and len(slides) == happening.landslide_reports
    assert max(felt) <= timeline[0].at + timedelta(hours=1)


def test_flood_and_landslide_run_at_once_in_neighbouring_regions() -> None:
    scenario = load("banjir-dan-longsor")
    timeline = _timeline("banjir-dan-longsor")
    banjir, longsor = scenario.happenings
    assert (banjir.hazard, longsor.hazard) == ("banjir", "longsor")
    spans = {h.id: (min(t.at for t in _of(timeline, h.id)), max(t.at for t in _of(timeline, h.id)))
             for h in scenario.happenings}
    (a0, a1), (b0, b1) = spans[banjir.id], spans[longsor.id]
    assert a0 < b1 and b0 < a1  # they overlap in time
    assert not set(banjir.regions) & set(longsor.regions)
    regions = {t.event.region for t in _of(timeline, longsor.id)}
    assert regions <= set(longsor.regions)


@pytest.mark.parametrize(("old", "new", "field"), [
    ('hazard = "banjir"', 'hazard = "tsunami"', "happenings[0].hazard"),
    ('regions = ["15.04", "15.05"]', 'regions = ["15.99"]', "happenings[0].regions[0]"),
    ("victims_share = 0.25", "victims_share = 2.0", "happenings[0].victims_share"),
    ('"Kumpeh Ulu"', '"Atlantis"', "happenings[0].kecamatan"),
    ("hours = 6.0\nbackground", "hourz = 6.0\nbackground", "hourz"),
])
def test_a_broken_scenario_is_refused_naming_the_file_and_field(old: str, new: str, field: str) -> None:
    text = _shipped_text("banjir-batanghari")
    assert old in text, f"{old!r} is not in the scenario any more: update the test"
    with pytest.raises(DataFileError) as refused:
        parse(text.replace(old, new, 1).encode(), "banjir-batanghari.toml")
    message = str(refused.value)
    assert "scenarios/banjir-batanghari.toml" in message and field in message, message


def test_an_unknown_scenario_names_the_shipped_ones() -> None:
    with pytest.raises(DataFileError, match="banjir-batanghari"):
        load("tsunami")


@pytest.mark.integration
def test_a_flood_played_fast_lands_in_clickhouse_without_dead_letters(stack: Stack, tmp_path: Path) -> None:
    truth = tmp_path / "truth.jsonl"
    # The whole six hours (about 400 to 500 events, by the time of day the agencies' readings keep
    # the clock's cadence): a first few hundred may hold none of the flood at some hours.
    stats = asyncio.run(play_scenario(stack.settings, "banjir-batanghari", speed=36_000, truth=truth,
                                      seed=3))
    records = msgspec.json.Decoder(Truth).decode_lines(truth.read_bytes())
    assert stats.sent == len(records) > 0
    ours = [r.event_id for r in records if r.happening == "banjir-batanghari"]
    assert ours
    ids = ", ".join(f"'{i}'" for i in ours)
    tables = ("citizen_reports", "disaster_alerts", "sector_indicators")
    stored = " + ".join(f"(SELECT count() FROM posko.{t} WHERE id IN ({ids}))" for t in tables)
    wait_for(lambda: stack.count(f"SELECT {stored}") >= len(ours), 120,
             lambda: f"the happening's {len(ours)} events in ClickHouse\n{stack.log_tail()}")
    settle(stack)
    letters = stack.count(
        "SELECT count() FROM posko.dead_letters WHERE raw_text LIKE '%\"source\":\"simulator\"%'")
    assert letters == 0


def test_the_command_refuses_a_broken_scenario_file_in_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "mine.toml"
    bad.write_text(_shipped_text("banjir-batanghari").replace('hazard = "banjir"', 'hazard = "tsunami"'))
    done = posko("simulate", "--scenario", str(bad), env={"POSKO_HOME": str(tmp_path)})
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert str(bad) in done.stderr and "happenings[0].hazard" in done.stderr, done.stderr


def test_the_command_plays_a_scenario_and_writes_its_truth_under_home(kafka_env: dict[str, str]) -> None:
    truth = Path(kafka_env["POSKO_HOME"]) / "scenarios" / "gempa-kerinci.truth.jsonl"
    decoder = msgspec.json.Decoder(Truth)
    done = posko("simulate", "--scenario", "gempa-kerinci", "--speed", "100000", "--count", "120",
                 "--seed", "2", env=kafka_env)
    assert done.returncode == 0 and "played 120 events" in done.stdout, done.stderr
    assert len(decoder.decode_lines(truth.read_bytes())) == 120
    # The whole scenario (six hours in a fifth of a second) names its happening. The first 120
    # events may all come before the quake an hour in: the agencies' readings keep the clock's
    # cadence, so how many fall in that hour depends on the time of day the test runs.
    done = posko("simulate", "--scenario", "gempa-kerinci", "--speed", "100000", "--seed", "2",
                 env=kafka_env)
    records = decoder.decode_lines(truth.read_bytes())
    assert done.returncode == 0 and f"played {len(records)} events" in done.stdout, done.stderr
    assert any(r.happening == "gempa-kerinci" for r in records)
