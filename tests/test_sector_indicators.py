"""Sector indicators: the catalogue, the simulated feed, and readings through the real pipeline."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import pytest

from connectors.simulator.sectors import REPORT_DELAY, SectorFeed, period_of
from connectors.simulator.stream import Simulator
from schemas.clock import WIB
from schemas.events import Kind, SectorIndicatorEvent
from schemas.regions import Region
from schemas.sectors import CATALOGUE, INDICATORS, SECTOR_NAMES, Cadence, Sector
from schemas.topics import raw_topic
from streams.validate import decode_raw, route
from tests.conftest import Stack, produce, running_stack, settle, wait_for

NOW = datetime(2026, 8, 12, 4, 0, tzinfo=UTC)  # Wednesday 11:00 WIB, karhutla season
TOPIC = raw_topic(Kind.SECTOR_INDICATOR)


def _history(days: int = 40, seed: int = 4) -> list[SectorIndicatorEvent]:
    return SectorFeed(random.Random(seed)).between(NOW - timedelta(days=days), NOW)


def test_catalogue_covers_the_eleven_sectors_with_indonesian_names() -> None:
    assert len(SECTOR_NAMES) == 11
    fed = {indicator.sector for indicator in CATALOGUE}
    # Pelaporan dan Sapa Warga is fed by citizen reports only; every other sector has indicators.
    assert fed == set(Sector) - {Sector.PELAPORAN}
    assert len(INDICATORS) == len(CATALOGUE), "indicator codes are unique"
    for indicator in CATALOGUE:
        if indicator.normal_low is not None and indicator.normal_high is not None:
            assert indicator.normal_low < indicator.normal_high, indicator.code


def test_feed_reports_every_indicator_for_all_eleven_regions() -> None:
    readings = _history()
    assert {r.payload.indicator for r in readings} == set(INDICATORS)
    assert {r.region for r in readings} == set(Region)
    for reading in readings:
        indicator = INDICATORS[reading.payload.indicator]
        assert reading.payload.unit == indicator.unit
        assert reading.payload.sector is indicator.sector
        assert indicator.valid_low <= reading.payload.value <= (indicator.valid_high or float("inf"))
        start, end = period_of(indicator.cadence, reading.payload.period_start)
        assert (start, end) == (reading.payload.period_start, reading.payload.period_end)
        assert reading.received_at >= end + REPORT_DELAY[indicator.cadence]


def test_feed_follows_the_cadence_and_the_dry_season() -> None:
    readings = _history(days=7)
    gauges = [r for r in readings if r.payload.indicator == "tinggi_muka_air"]
    per_site = Counter(r.payload.site for r in gauges)
    assert all(160 <= n <= 170 for n in per_site.values()), per_site  # hourly for a week
    attendance = [r for r in readings if r.payload.indicator == "kehadiran_siswa"]
    assert all(r.payload.period_start.astimezone(WIB).weekday() < 5 for r in attendance)
    haze = [r.payload.value for r in readings if r.payload.indicator == "ispu_pm25"
            and r.region is Region.TANJUNG_JABUNG_TIMUR]
    assert sum(haze) / len(haze) > 100, "August haze over the peat of Tanjung Jabung Timur"


def test_a_live_feed_hands_out_each_reading_once() -> None:
    feed = SectorFeed(random.Random(9))
    first = feed.due(NOW)
    assert len(first) == len(feed.series), "a new feed reports each series' latest reading"
    assert feed.due(NOW) == []
    later = feed.due(NOW + timedelta(hours=1))
    assert {r.payload.indicator for r in later} == {i.code for i in CATALOGUE if i.cadence is Cadence.HOURLY}


def test_raw_stream_carries_indicators_beside_events() -> None:
    simulator = Simulator(random.Random(3))
    messages = [simulator.raw(NOW) for _ in range(2_000)]
    readings = [m for m in messages if m.kind is Kind.SECTOR_INDICATOR]
    assert len(readings) == len(SectorFeed(random.Random(0)).series)
    for message in readings:
        event = msgspec.json.decode(message.value, type=SectorIndicatorEvent)
        assert message.key == str(event.region).encode()


def _bad_readings(good: SectorIndicatorEvent) -> dict[str, tuple[bytes, str]]:
    """Each way a reading can be wrong: (bytes, a fragment of the DLQ reason)."""
    doc: dict[str, Any] = msgspec.to_builtins(good)

    def variant(**payload: object) -> bytes:
        return msgspec.json.encode({**doc, "payload": {**doc["payload"], **payload}})

    return {
        "unknown_indicator": (variant(indicator="harga_durian"), "unknown indicator harga_durian"),
        "wrong_sector": (variant(sector="pariwisata"), "belongs to sector industri_perdagangan"),
        "wrong_unit": (variant(unit="Rp/ons"), "reported in Rp/kg, not Rp/ons"),
        "impossible_value": (variant(value=-13_500), "impossible for harga_beras_medium"),
        "reversed_period": (variant(period_end=doc["payload"]["period_start"]), "is not after period_start"),
        "text_value": (variant(value="13.500"), "Expected `float`, got `str`"),
        "unknown_sector": (variant(sector="olahraga"), "`$.payload.sector`"),
        "no_region": (msgspec.json.encode({**doc, "region": None}), "no region and no location"),
    }


def _rice_price() -> SectorIndicatorEvent:
    return next(r for r in _history(days=3) if r.payload.indicator == "harga_beras_medium")


def test_stream_step_rejects_each_bad_reading_with_its_reason() -> None:
    for name, (raw, reason) in _bad_readings(_rice_price()).items():
        routed = route(Kind.SECTOR_INDICATOR, decode_raw(raw), TOPIC, 0, 7, b"15.71", raw)
        [letter] = routed.out
        assert letter.topic == "posko.dlq", name
        assert reason in msgspec.json.decode(letter.value)["reason"], name


class Landed(msgspec.Struct):
    """What the module's one run sent through the real stack."""

    stack: Stack
    readings: list[SectorIndicatorEvent]
    bad: dict[str, tuple[tuple[str, int, int], str]]


MARKER = "test-indicators"


@pytest.fixture(scope="module")
def landed(kafka_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Landed]:
    """A day of readings of every indicator plus each kind of bad reading, through worker and sink."""
    now = datetime.now(UTC)
    readings = [msgspec.structs.replace(r, source=MARKER)
                for r in SectorFeed(random.Random(5)).between(now - timedelta(days=40), now)]
    per_code: dict[str, int] = {}
    chosen = []
    for reading in readings:  # every indicator and region, without the thousands of hourly ones
        key = f"{reading.payload.indicator}|{reading.region}"
        if per_code.get(key, 0) < 2:
            per_code[key] = per_code.get(key, 0) + 1
            chosen.append(reading)
    bad = _bad_readings(msgspec.structs.replace(_rice_price(), source=MARKER))
    with running_stack(kafka_env, tmp_path_factory.mktemp("indicators")) as stack:
        asyncio.run(produce(stack.settings, [(TOPIC, str(r.region).encode(), msgspec.json.encode(r))
                                             for r in chosen]))
        offsets = asyncio.run(produce(stack.settings, [(TOPIC, b"15.71", raw) for raw, _ in bad.values()]))
        wait_for(lambda: stack.count(
            f"SELECT count() FROM posko.sector_indicators WHERE source = '{MARKER}'") >= len(chosen),
            120, "every reading in ClickHouse")
        wait_for(lambda: stack.count(f"SELECT count() FROM posko.dead_letters WHERE topic = '{TOPIC}'")
                 >= len(bad), 60, "the bad readings in the DLQ")
        settle(stack)
        yield Landed(stack, chosen, {name: (where, reason) for (name, (_, reason)), where
                                     in zip(bad.items(), offsets, strict=True)})


def test_readings_land_once_with_the_catalogue_fields(landed: Landed) -> None:
    stack = landed.stack
    mine = f"FROM posko.sector_indicators WHERE source = '{MARKER}'"
    sent = len(landed.readings)
    assert stack.sql(f"SELECT count(), uniqExact(id) {mine}") == f"{sent}\t{sent}"
    assert stack.count(f"SELECT uniqExact(region) {mine}") == 11
    assert stack.count(f"SELECT uniqExact(sector) {mine}") == 10
    sample = next(r for r in landed.readings if r.payload.indicator == "tinggi_muka_air")
    row = stack.sql(
        "SELECT sector_name, indicator_name, value, unit, aggregation, normal_high, site, "
        "formatDateTime(period_start, '%F %T', 'Asia/Jakarta') "
        f"FROM posko.sector_indicators WHERE id = '{sample.id}'")
    wib = sample.payload.period_start.astimezone(WIB)
    assert row.split("\t") == [
        "Kebencanaan", "Tinggi muka air Sungai Batanghari", f"{sample.payload.value:g}", "m", "max", "12",
        str(sample.payload.site), wib.strftime("%Y-%m-%d %H:%M:%S")]


def test_bad_readings_reach_the_dlq_once_with_reason(landed: Landed) -> None:
    for name, ((topic, partition, offset), reason) in landed.bad.items():
        rows = landed.stack.sql(
            f"SELECT reason FROM posko.dead_letters WHERE topic = '{topic}' "
            f"AND partition = {partition} AND offset = {offset}").splitlines()
        assert len(rows) == 1, (name, rows)
        assert reason in rows[0], (name, rows[0])
