"""The simulator: valid events the schema accepts, bad ones it rejects, and a believable Jambi."""

from __future__ import annotations

import random
import re
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from itertools import pairwise

import msgspec
import pytest

from connectors.simulator.stream import Simulator
from schemas.events import (
    FINAL_STATUSES,
    AlertCategory,
    CitizenReportEvent,
    DisasterAlertEvent,
    Event,
    Kind,
    PermitFilingEvent,
    PermitStatus,
    ReportCategory,
    Severity,
    kind_of,
)
from schemas.raw import Flaw, RawMessage
from schemas.regions import Region, region_at

OFFICE = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)  # Wednesday 10:00 WIB
NIGHT = datetime(2026, 11, 24, 18, 30, tzinfo=UTC)  # Wednesday 01:30 WIB
DRY_SEASON = datetime(2026, 8, 12, 4, 0, tzinfo=UTC)  # Wednesday 11:00 WIB, karhutla season
SAMPLE = 6_000

_S = PermitStatus
# Status moves the OSS-RBA flow allows (Lampiran 10), plus fiktif positif from a running SLA.
ALLOWED = {
    _S.DOKUMEN_LENGKAP: {_S.VALIDASI, _S.KONFIRMASI_PERSYARATAN},
    _S.VALIDASI: {_S.DISETUJUI, _S.DITOLAK, _S.KONFIRMASI_PERSYARATAN},
    _S.KONFIRMASI_PERSYARATAN: {_S.DATA_KONFIRMASI_PERSYARATAN, _S.DITOLAK},
    _S.DATA_KONFIRMASI_PERSYARATAN: {_S.VALIDASI, _S.DISETUJUI, _S.RE_KONFIRMASI_PERSYARATAN},
    _S.RE_KONFIRMASI_PERSYARATAN: {_S.DATA_RE_KONFIRMASI_PERSYARATAN, _S.DITOLAK},
    _S.DATA_RE_KONFIRMASI_PERSYARATAN: {_S.VALIDASI, _S.DISETUJUI, _S.DITOLAK},
}
SLA_RUNNING = {_S.DOKUMEN_LENGKAP, _S.VALIDASI, _S.DATA_KONFIRMASI_PERSYARATAN,
               _S.DATA_RE_KONFIRMASI_PERSYARATAN}


def _raw(now: datetime, seed: int = 20261125, count: int = SAMPLE) -> list[RawMessage]:
    simulator = Simulator(random.Random(seed))
    return [simulator.raw(now) for _ in range(count)]


def _events(now: datetime, seed: int = 20261125, count: int = SAMPLE) -> list[Event]:
    simulator = Simulator(random.Random(seed))
    return [simulator.event(now) for _ in range(count)]


@pytest.fixture(scope="module")
def office_raw() -> list[RawMessage]:
    """Raw messages received during WIB office hours on a weekday."""
    return _raw(OFFICE)


@pytest.fixture(scope="module")
def office() -> list[Event]:
    """Events received during WIB office hours on a weekday."""
    return _events(OFFICE)


@pytest.fixture(scope="module")
def night() -> list[Event]:
    """Events received at 01:30 WIB."""
    return _events(NIGHT)


def _share(events: list[Event], kind: Kind) -> float:
    return sum(1 for e in events if kind_of(e) is kind) / len(events)


def test_every_valid_event_decodes_and_keys_by_region(office_raw: list[RawMessage]) -> None:
    for message in office_raw + _raw(NIGHT, count=2_000):
        assert message.flaw is None
        event = msgspec.json.decode(message.value, type=Event)
        assert msgspec.json.encode(event) == message.value
        assert kind_of(event) is message.kind
        if event.region is not None:
            assert message.key == event.region.encode()
        else:
            assert event.location is not None, "an event must carry a region or a location"
            assert message.key == str(region_at(event.location.lat, event.location.lon)).encode()


@pytest.mark.parametrize("flaw", list(Flaw))
def test_each_flaw_is_rejected_by_the_schema(flaw: Flaw) -> None:
    simulator = Simulator(random.Random(f"flaw-{flaw}"))
    for _ in range(300):
        message = simulator.malformed(OFFICE, flaw)
        assert message.flaw is flaw
        assert message.kind in Kind  # it still goes to a real raw topic
        with pytest.raises(msgspec.DecodeError):
            msgspec.json.decode(message.value, type=Event)
        if flaw is Flaw.OVERSIZED_TEXT:
            assert len(message.value) > 6_000
        if flaw in (Flaw.WRONG_TYPES, Flaw.UNKNOWN_REGION, Flaw.OVERSIZED_TEXT, Flaw.UNKNOWN_KIND):
            document = msgspec.json.decode(message.value)  # still JSON, just not a valid event
            assert (document["kind"] in set(Kind)) is (flaw is not Flaw.UNKNOWN_KIND)
        if flaw is Flaw.UNKNOWN_REGION:
            assert message.key not in {r.encode() for r in Region}


def test_raw_mixes_in_malformed_messages_at_the_requested_ratio() -> None:
    simulator = Simulator(random.Random(7), malformed_ratio=0.1)
    messages = [simulator.raw(OFFICE) for _ in range(5_000)]
    flawed = [m for m in messages if m.flaw is not None]
    assert 0.08 < len(flawed) / len(messages) < 0.12
    assert {m.flaw for m in flawed} == set(Flaw)
    assert all(m.flaw is None for m in _raw(OFFICE, count=2_000))


def test_all_eleven_regions_and_three_kinds_appear(office_raw: list[RawMessage]) -> None:
    assert {m.key for m in office_raw} == {r.encode() for r in Region}
    assert {m.kind for m in office_raw} == set(Kind)


def test_locations_fall_inside_their_region(office: list[Event]) -> None:
    placed = [e for e in office if e.location is not None]
    assert len(placed) > len(office) / 2
    for event in placed:
        assert event.location is not None
        found = region_at(event.location.lat, event.location.lon)
        assert found is not None, "every location lies inside Jambi"
        if event.region is not None:
            assert found is event.region


def test_about_a_fifth_carry_a_location_but_no_region(office: list[Event]) -> None:
    unplaced = [e for e in office if e.region is None]
    assert all(e.location is not None for e in unplaced)
    assert 0.14 < len(unplaced) / len(office) < 0.26
    reports = [e for e in office if isinstance(e, CitizenReportEvent)]
    assert any(e.region is None for e in reports), "the stream must fill some from the location"


def test_office_hours_mix_is_mostly_reports_then_permits_then_alerts(office: list[Event]) -> None:
    assert 0.65 < _share(office, Kind.CITIZEN_REPORT) < 0.75
    assert 0.18 < _share(office, Kind.PERMIT_FILING) < 0.26
    assert 0.05 < _share(office, Kind.DISASTER_ALERT) < 0.11


def test_permits_slow_to_a_trickle_outside_office_hours(night: list[Event]) -> None:
    permits = [e for e in night if isinstance(e, PermitFilingEvent)]
    assert 0 < len(permits) / len(night) < 0.1
    # Nobody at DPMPTSP works at 01:30: only applicants and OSS itself move applications.
    assert {e.payload.status for e in permits} <= {
        _S.DOKUMEN_LENGKAP, _S.DATA_KONFIRMASI_PERSYARATAN, _S.DATA_RE_KONFIRMASI_PERSYARATAN,
        _S.DISETUJUI_OTOMATIS,
    }


def test_night_reports_lean_to_security_and_away_from_schools(
    office: list[Event], night: list[Event]
) -> None:
    def share(events: list[Event], category: ReportCategory) -> float:
        reports = [e for e in events if isinstance(e, CitizenReportEvent)]
        return sum(1 for e in reports if e.payload.category is category) / len(reports)

    assert share(night, ReportCategory.KEAMANAN) > 1.5 * share(office, ReportCategory.KEAMANAN)
    assert share(night, ReportCategory.PENDIDIKAN) < 0.5 * share(office, ReportCategory.PENDIDIKAN)


def test_busiest_regions_follow_population(office_raw: list[RawMessage]) -> None:
    per_region = Counter(m.key.decode() for m in office_raw)
    ranked = [code for code, _ in per_region.most_common()]
    assert ranked[:2] == [Region.KOTA_JAMBI, Region.MUARO_JAMBI]
    assert ranked[-1] == Region.KOTA_SUNGAI_PENUH
    assert Region.TANJUNG_JABUNG_TIMUR in ranked[-3:]


def test_same_seed_gives_the_same_stream_apart_from_ids() -> None:
    def content(seed: int) -> list[dict[str, object]]:
        simulator = Simulator(random.Random(seed), malformed_ratio=0.05)
        out = []
        for _ in range(500):
            message = simulator.raw(OFFICE)
            if message.flaw is None:
                document = msgspec.json.decode(message.value)
                document.pop("id")
                out.append(document)
            else:
                out.append({"flaw": message.flaw, "key": message.key})
        return out

    assert content(42) == content(42)
    assert content(42) != content(43)


def test_times_are_just_before_now_and_received_now(office: list[Event]) -> None:
    for event in office:
        assert event.received_at == OFFICE
        if isinstance(event, DisasterAlertEvent):
            assert event.occurred_at == OFFICE == event.payload.effective
            assert event.payload.expires is not None and event.payload.expires > OFFICE
            assert event.payload.expires - OFFICE <= timedelta(hours=24)
        else:
            assert timedelta(0) <= OFFICE - event.occurred_at < timedelta(minutes=15)
        assert event.source == "simulator"
    assert len({e.id for e in office}) == len(office)


def test_naive_now_is_read_as_utc() -> None:
    event = Simulator(random.Random(1)).event(OFFICE.replace(tzinfo=None))
    assert event.received_at == OFFICE


def test_alerts_look_like_bmkg_and_bpbd_warnings() -> None:
    events = _events(OFFICE, count=20_000) + _events(DRY_SEASON, count=10_000)
    alerts = [e for e in events if isinstance(e, DisasterAlertEvent)]
    severities = Counter(a.payload.severity for a in alerts)
    mild = severities[Severity.MINOR] + severities[Severity.MODERATE]
    assert mild / len(alerts) > 0.75
    assert 0 < severities[Severity.EXTREME] / len(alerts) < 0.05
    quakes = [a for a in alerts if a.payload.event == "Gempabumi"]
    assert quakes
    for alert in alerts:
        assert alert.region is not None and alert.region in alert.payload.area.regions
    for quake in quakes:
        p = quake.payload
        assert p.issuer == "BMKG" and p.category is AlertCategory.GEO
        assert p.magnitude is not None and 2.5 <= p.magnitude <= 5.5
        assert p.depth_km is not None and p.depth_km > 0
        assert quake.region in {Region.KERINCI, Region.MERANGIN, Region.KOTA_SUNGAI_PENUH,
                                Region.SAROLANGUN}
        assert p.headline.startswith(f"Gempa Mag:{p.magnitude:.1f}")
    floods = [a.payload for a in alerts if a.payload.event == "Banjir"]
    assert floods and all(p.issuer.startswith("BPBD ") for p in floods)
    fires = [a for a in alerts if a.payload.category is AlertCategory.FIRE]
    assert fires and all(a.location is not None for a in fires)
    weather = [a.payload for a in alerts if a.payload.issuer == "BMKG" and a.payload.category
               is AlertCategory.MET]
    assert weather and all("waspada" in p.instruction for p in weather)
    # Karhutla belongs to the dry season, floods to the wet one.
    dry = [a for a in _events(DRY_SEASON) if isinstance(a, DisasterAlertEvent)]
    wet = [a for a in _events(OFFICE) if isinstance(a, DisasterAlertEvent)]
    fire_share = [sum(a.payload.category is AlertCategory.FIRE for a in group) / len(group)
                  for group in (dry, wet)]
    assert fire_share[0] > 3 * fire_share[1]


def test_hazards_are_reported_where_they_happen_in_jambi() -> None:
    reports = [e for e in _events(OFFICE, count=20_000) + _events(DRY_SEASON, count=20_000)
               if isinstance(e, CitizenReportEvent) and e.payload.category is ReportCategory.BENCANA]
    highland = {Region.KERINCI, Region.MERANGIN, Region.KOTA_SUNGAI_PENUH}
    peat = {Region.MUARO_JAMBI, Region.TANJUNG_JABUNG_TIMUR, Region.TANJUNG_JABUNG_BARAT,
            Region.BATANG_HARI, Region.SAROLANGUN}

    def where(event: CitizenReportEvent) -> Region | None:
        if event.region is not None:
            return event.region
        assert event.location is not None
        return region_at(event.location.lat, event.location.lon)

    landslides = [where(e) for e in reports if e.payload.title.startswith("Longsor")]
    fires = [where(e) for e in reports if "gambut" in e.payload.title]
    assert landslides and set(landslides) <= highland
    assert fires and set(fires) <= peat


def test_permit_filings_follow_the_oss_flow() -> None:
    simulator = Simulator(random.Random(99))
    now = OFFICE
    history: dict[str, list[PermitFilingEvent]] = defaultdict(list)
    for _ in range(40_000):
        event = simulator.event(now)
        if isinstance(event, PermitFilingEvent):
            history[event.payload.permit_id].append(event)
        now += timedelta(seconds=2)  # about 22 hours, across the end of office hours
    statuses = Counter(e.payload.status for events in history.values() for e in events)
    assert {_S.DOKUMEN_LENGKAP, _S.VALIDASI, _S.DISETUJUI, _S.DITOLAK,
            _S.KONFIRMASI_PERSYARATAN, _S.DATA_KONFIRMASI_PERSYARATAN,
            _S.DISETUJUI_OTOMATIS} <= set(statuses)
    for permit_id, events in history.items():
        first = events[0].payload
        assert re.fullmatch(r"I-\d{15}", permit_id)
        assert re.fullmatch(r"\d{13}", first.nib) and re.fullmatch(r"\d{5}", first.kbli)
        for before, after in pairwise(events):
            a, b = before.payload.status, after.payload.status
            assert a not in FINAL_STATUSES, f"{permit_id} moved on after a decision"
            assert b in ALLOWED[a] or (b is _S.DISETUJUI_OTOMATIS and a in SLA_RUNNING), (a, b)
            assert after.occurred_at >= before.occurred_at
            assert after.payload.nib == first.nib and after.payload.kbli == first.kbli
        for event in events:
            deadline = event.payload.sla_deadline
            assert deadline is not None
            if event.payload.status is _S.DOKUMEN_LENGKAP:
                assert timedelta(days=5) <= deadline - event.occurred_at <= timedelta(days=9)
            if event.payload.status is _S.DISETUJUI_OTOMATIS:
                assert deadline < event.occurred_at, "fiktif positif only once the SLA ran out"


def test_reporter_contact_stays_out_of_the_report_text(office: list[Event]) -> None:
    reports = [e for e in office if isinstance(e, CitizenReportEvent)]
    with_phone = [e for e in reports if e.payload.reporter and e.payload.reporter.phone]
    assert 0.3 < len(with_phone) / len(reports) < 0.9
    for event in with_phone:
        assert event.payload.reporter is not None and event.payload.reporter.phone is not None
        phone = event.payload.reporter.phone
        assert re.fullmatch(r"(08|\+628)\d{9,11}", phone)
        assert phone not in event.payload.text and phone not in event.payload.title

