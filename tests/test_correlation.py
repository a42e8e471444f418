"""Correlation: signals into incidents, their priority and escalation (pure part, then the scenarios)."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta

import msgspec
import pytest

from connectors.simulator.scenarios import load, plan
from posko.settings import SettingsError, load_settings
from schemas.events import Certainty, Kind, Point, ReportCategory, Severity, Urgency, kind_of
from schemas.incidents import (
    Hazard,
    Incident,
    IncidentAck,
    IncidentItem,
    IncidentStatus,
    Priority,
    Signal,
    SignalKind,
    escalation_id,
)
from schemas.kecamatan import kecamatan_at
from schemas.regions import Region
from schemas.topics import SIGNALS
from streams.correlate import Room, Thresholds, as_published, thresholds
from streams.priority import cap_priority
from streams.summary import MAX_ITEMS, bounded
from streams.validate import route

T0 = datetime(2026, 11, 30, 1, 0, tzinfo=UTC)
MUARA_BULIAN = Point(-1.7299, 103.2378)
PEMAYUNG = Point(-1.6637, 103.4031)  # Batang Hari, ~19 km from Muara Bulian
SUNGAI_PENUH = Point(-2.0631, 101.395)


def alert(hazard: Hazard = Hazard.BANJIR, at: timedelta = timedelta(), region: Region = Region.BATANG_HARI,
          urgency: Urgency = Urgency.IMMEDIATE, severity: Severity = Severity.EXTREME,
          certainty: Certainty = Certainty.OBSERVED, **changes: object) -> Signal:
    return Signal(id=uuid.uuid4(), kind=SignalKind.PERINGATAN, event_kind=Kind.DISASTER_ALERT,
                  hazard=hazard, occurred_at=T0 + at, region=region, regions=[region], urgency=urgency,
                  severity=severity, certainty=certainty, headline=f"Status Awas {hazard}",
                  **changes)  # type: ignore[arg-type]


def report(text: str, where: Point = MUARA_BULIAN, at: timedelta = timedelta(), urgent: bool = True,
           victims: bool = False, category: ReportCategory = ReportCategory.BENCANA,
           hazard: Hazard = Hazard.BANJIR, title: str = "Banjir di desa") -> Signal:
    found = kecamatan_at(where.lat, where.lon)
    assert found is not None
    return Signal(id=uuid.uuid4(), kind=SignalKind.LAPORAN, event_kind=Kind.CITIZEN_REPORT,
                  hazard=hazard, occurred_at=T0 + at, region=found.region, regions=[found.region],
                  kecamatan=found.code, location=where,
                  urgency=Urgency.IMMEDIATE if urgent else Urgency.UNKNOWN,
                  severity=Severity.MODERATE if urgent else Severity.MINOR, certainty=Certainty.POSSIBLE,
                  urgent=urgent, victims=victims, category=category, headline=title, text=text)


def feed(room: Room, *signals: Signal) -> list[Incident]:
    changed = []
    for n, signal in enumerate(signals):
        changed += room.take(signal, T0 + timedelta(seconds=n))
    return changed


def live(room: Room) -> list[Incident]:
    return [i for i in room.incidents.values() if i.merged_into is None]


def test_a_report_near_an_official_alert_joins_the_alerts_incident() -> None:
    room = Room()
    warning = alert()
    near = report("Air masuk rumah di Muara Bulian setinggi 1 meter")
    far = report("Gempa terasa kuat di Sungai Penuh", where=SUNGAI_PENUH, hazard=Hazard.GEMPA)
    feed(room, warning, near, far)
    [flood] = [i for i in live(room) if i.hazard is Hazard.BANJIR]
    assert {s for item in flood.items for s in item.signal_ids} == {warning.id, near.id}
    assert flood.official and flood.report_count == 1 and flood.regions == [Region.BATANG_HARI]
    assert len(live(room)) == 2  # the quake report is an incident of its own


def test_the_same_report_from_many_citizens_is_one_item_with_a_count() -> None:
    room = Room()
    text = "Air Sungai Batanghari masuk rumah warga di Desa Rengas Condong setinggi 80 cm, mohon perahu"
    first, *more = [report(text, at=timedelta(minutes=n)) for n in range(6)]
    other = report("Tanggul jebol di Desa Kilangan, jalan lintas tergenang dan warga mengungsi",
                   at=timedelta(minutes=7))
    feed(room, first, *more, other)
    [incident] = live(room)
    counts = sorted(item.count for item in incident.items)
    assert counts == [1, 6] and incident.signal_count == 7 and incident.report_count == 7
    [folded] = [item for item in incident.items if item.count == 6]
    assert folded.id == first.id and set(folded.signal_ids) == {first.id, *(m.id for m in more)}


def test_repeated_ordinary_complaints_become_one_surge_incident_with_a_count() -> None:
    room = Room()
    complaint = "Jalan berlubang besar di Jl. Lintas Muara Bulian depan pasar, sudah ada motor jatuh"
    signals = [report(complaint, at=timedelta(minutes=4 * n), urgent=False, hazard=Hazard.LAINNYA,
                      category=ReportCategory.INFRASTRUKTUR, title="Jalan berlubang") for n in range(12)]
    assert feed(room, *signals[:9]) == []  # nine in an hour are not a surge yet (at least 10)
    feed(room, *signals[9:])
    [surge] = live(room)
    assert surge.surge and surge.hazard is Hazard.LAINNYA and surge.signal_count == 12
    assert [item.count for item in surge.items] == [12] and "Lonjakan laporan" in surge.title


def test_ordinary_complaints_spread_over_a_day_are_no_surge() -> None:
    room = Room()
    signals = [report(f"Lampu jalan mati di gang {n}", at=timedelta(hours=3 * n), urgent=False,
                      hazard=Hazard.LAINNYA, category=ReportCategory.INFRASTRUKTUR, title="Lampu mati")
               for n in range(8)]
    assert feed(room, *signals) == [] and live(room) == []


def test_two_incidents_an_alert_bridges_are_merged_into_one() -> None:
    room = Room(Thresholds(distance_km=5.0))
    a = report("Banjir di Muara Bulian", where=MUARA_BULIAN)
    b = report("Banjir di Pemayung", where=PEMAYUNG, at=timedelta(minutes=10))
    feed(room, a, b)
    assert len(live(room)) == 2  # 19 km apart, over the distance
    feed(room, alert(at=timedelta(minutes=20)))
    [merged] = live(room)
    absorbed = [i for i in room.incidents.values() if i.merged_into == merged.id]
    assert len(absorbed) == 1 and absorbed[0].status is IncidentStatus.SELESAI
    assert merged.signal_count == 3


def test_signals_of_another_hazard_or_outside_the_window_stay_apart() -> None:
    room = Room()
    feed(room, alert(), report("Kebakaran rumah di Muara Bulian", hazard=Hazard.KEBAKARAN),
         report("Banjir lagi di Muara Bulian", at=timedelta(hours=13)))
    assert len(live(room)) == 3


@pytest.mark.parametrize(("cap", "expected"), [
    ((Urgency.IMMEDIATE, Severity.EXTREME, Certainty.OBSERVED), Priority.SEGERA),  # BPBD Awas
    ((Urgency.EXPECTED, Severity.SEVERE, Certainty.LIKELY), Priority.SEGERA),  # BPBD Siaga
    ((Urgency.FUTURE, Severity.MODERATE, Certainty.POSSIBLE), Priority.SEDANG),  # BPBD Waspada
    ((Urgency.PAST, Severity.SEVERE, Certainty.OBSERVED), Priority.TINGGI),  # a quake that happened
    ((Urgency.IMMEDIATE, Severity.MODERATE, Certainty.POSSIBLE), Priority.SEDANG),  # one urgent report
    ((Urgency.PAST, Severity.MINOR, Certainty.OBSERVED), Priority.RENDAH),
])
def test_cap_triples_map_to_priorities(cap: tuple[Urgency, Severity, Certainty], expected: Priority) -> None:
    assert cap_priority(*cap) is expected


def test_victims_and_many_independent_reports_raise_the_priority() -> None:
    room = Room()
    [one] = feed(room, report("Banjir di jalan desa"))
    assert one.priority is Priority.SEDANG and one.raised
    [hurt] = feed(room, report("Banjir, ada korban luka di Desa Teratai", victims=True))
    assert hurt.priority is Priority.TINGGI and hurt.raised and "korban" in hurt.why
    # Distinct reports (not near-identical ones) raise it once more.
    texts = ["Rumah terendam di RT 03", "Sekolah terendam, murid dipulangkan", "Jalan lintas putus air",
             "Pasar tergenang sebetis", "Perahu dibutuhkan di dusun hilir"]
    changed = feed(room, *(report(t, at=timedelta(minutes=n + 1)) for n, t in enumerate(texts)))
    # Five reports in all raise it to Segera: the wall flashes once then, not for the later ones.
    became = [c for c in changed if c.priority is Priority.SEGERA]
    assert became and became[0].raised and not any(c.raised for c in became[1:])
    assert "5 laporan warga terpisah" in became[0].why



def test_a_batch_publishes_raised_when_any_of_its_signals_raised_the_incident() -> None:
    """The worker publishes the last version of each incident a batch changed; the flash must not
    be lost when a later signal of the batch changed it again."""
    room = Room()
    changed = {i.id: i for i in feed(room, report("Banjir di jalan desa"), report("Air naik di RT 02"))}
    [new] = as_published(changed.values(), {})
    assert not changed[new.id].raised and new.raised  # new in this batch: the wall flashes
    published = dict(room.incidents)
    hurt = feed(room, report("Ada korban luka", victims=True), report("Air sepinggang di pasar"))
    [raised] = as_published({i.id: i for i in hurt}.values(), published)
    assert raised.priority is Priority.TINGGI and raised.raised and not hurt[-1].raised
    published = dict(room.incidents)
    [acked] = room.take(IncidentAck(incident_id=new.id, acked_by="Rina (piket)", role="officer",
                                    acked_at=T0 + timedelta(minutes=1)), T0 + timedelta(minutes=1))
    assert as_published([acked], published) == [acked] and not acked.raised
STEPS = ((10.0, "petugas piket"), (20.0, "supervisor"), (30.0, "kepala BPBD"))


def test_an_unacknowledged_segera_incident_escalates_once_per_step_at_its_times() -> None:
    room = Room(Thresholds(escalation_steps=STEPS))
    [incident] = room.take(alert(), T0)
    assert incident.priority is Priority.SEGERA and incident.urgent_since == T0
    assert room.due(T0 + timedelta(seconds=9)) == []
    [(first, _)] = room.due(T0 + timedelta(seconds=10))
    assert (first.level, first.role, first.due_at) == (1, "petugas piket", T0 + timedelta(seconds=10))
    assert room.due(T0 + timedelta(seconds=15)) == []  # fired once only
    late = room.due(T0 + timedelta(seconds=45))  # a worker that slept: both steps now, in order
    assert [(e.level, e.role) for e, _ in late] == [(2, "supervisor"), (3, "kepala BPBD")]
    assert [s.level for s in room.incidents[incident.id].escalations] == [1, 2, 3]
    assert room.due(T0 + timedelta(hours=1)) == []


def test_an_acknowledged_incident_does_not_escalate_and_tinggi_waits_longer() -> None:
    room = Room(Thresholds(escalation_steps=STEPS))
    [segera] = room.take(alert(), T0)
    [tinggi] = room.take(alert(Hazard.GEMPA, region=Region.KERINCI, urgency=Urgency.PAST,
                               severity=Severity.SEVERE), T0)
    assert tinggi.priority is Priority.TINGGI
    [acked] = room.take(IncidentAck(incident_id=segera.id, acked_by="Rina (piket)", role="officer",
                                    acked_at=T0 + timedelta(seconds=5)), T0 + timedelta(seconds=5))
    assert acked.status is IncidentStatus.DIPANTAU and acked.acked_by == "Rina (piket)"
    assert room.due(T0 + timedelta(seconds=15)) == []  # Tinggi: 2 × 10 s
    [(step, _)] = room.due(T0 + timedelta(seconds=20))
    assert step.subject_id == str(tinggi.id)


def test_a_restored_room_fires_no_step_twice_and_skips_signals_it_has() -> None:
    room = Room(Thresholds(escalation_steps=STEPS))
    warning = alert()
    [incident] = room.take(warning, T0)
    [(_, after)] = room.due(T0 + timedelta(seconds=10))
    again = Room(Thresholds(escalation_steps=STEPS))
    again.restore(incident, T0)  # the table lost the step (crash after the escalation was written)…
    again.fired(escalation_id(str(incident.id), 1))  # …but posko.escalations has it
    assert again.take(warning, T0) == []  # redelivered: already a member
    assert [e.level for e, _ in again.due(T0 + timedelta(seconds=25))] == [2]
    restored = Room(Thresholds(escalation_steps=STEPS))
    restored.restore(after, T0)
    assert [e.level for e, _ in restored.due(T0 + timedelta(seconds=25))] == [2]


def test_an_incident_of_thousands_of_signals_stays_a_record_kafka_takes() -> None:
    room = Room()
    texts = [f"Banjir di RT {n:04d} Desa {n % 97}, air {n % 13} jengkal, mohon perahu nomor {n}"
             for n in range(1_500)]
    feed(room, alert(), *(report(t, at=timedelta(seconds=n)) for n, t in enumerate(texts)))
    [flood] = live(room)
    assert flood.signal_count == 1_501 and len(flood.items) <= 100
    assert flood.items[-1].headline.endswith("sinyal lain") and flood.official
    assert len(msgspec.json.encode(flood)) < 512 * 1024  # Kafka's limit is 1 MB


def test_quiet_low_incidents_close_after_their_window_and_urgent_ones_wait_for_people() -> None:
    room = Room()
    [low] = room.take(report("Kebakaran rumah di Muara Bulian", hazard=Hazard.KEBAKARAN), T0)
    [urgent] = room.take(alert(Hazard.LONGSOR, region=Region.KERINCI), T0)
    assert room.expired(T0 + timedelta(hours=1)) == []  # a house fire's window is 2 h
    [closed] = room.expired(T0 + timedelta(hours=2, minutes=1))
    assert closed.id == low.id and closed.status is IncidentStatus.SELESAI and "otomatis" in closed.why
    assert room.expired(T0 + timedelta(days=3)) == []
    assert room.incidents[urgent.id].status is IncidentStatus.BARU


def test_bad_correlation_settings_say_which_and_how() -> None:
    with pytest.raises(SettingsError, match=r"POSKO_CORRELATE_WINDOWS.*banjir:12"):
        thresholds(load_settings({"POSKO_CORRELATE_WINDOWS": "tsunami:3"}))
    with pytest.raises(SettingsError, match=r"POSKO_ESCALATION_STEPS.*seconds:role"):
        thresholds(load_settings({"POSKO_ESCALATION_STEPS": "lima menit:piket"}))
    assert thresholds(load_settings({"POSKO_CORRELATE_WINDOWS": "banjir:24"})).window(
        Hazard.BANJIR) == timedelta(hours=24)


# --- The scenarios, through the stream's pure steps --------------------------------------------

_signal = msgspec.json.Decoder(Signal)


def correlate_scenario(name: str, seed: int = 5) -> tuple[Room, dict[str, str | None]]:
    """The room after a scenario's signals, and the happening of every event."""
    timeline = plan(load(name), seed, T0)
    room = Room()
    for timed in timeline:
        routed = route(kind_of(timed.event), timed.event, "posko.raw", 0, 0, None, b"",
                       now=T0 + timedelta(days=2))
        for record in routed.out:
            if record.topic == SIGNALS:
                room.take(_signal.decode(record.value), T0 + timed.at)
    return room, {t.truth.event_id: t.truth.happening for t in timeline}


def grouped(room: Room, truth: dict[str, str | None]) -> dict[str, set[uuid.UUID]]:
    """Happening: the incidents holding its signals."""
    found: dict[str, set[uuid.UUID]] = {}
    for incident in live(room):
        for item in incident.items:
            for signal in item.signal_ids:
                if happening := truth.get(str(signal)):
                    found.setdefault(happening, set()).add(incident.id)
    return found


def test_the_batanghari_flood_is_one_segera_incident_in_both_regencies() -> None:
    room, truth = correlate_scenario("banjir-batanghari")
    assert list(grouped(room, truth)) == ["banjir-batanghari"]
    [flood_id] = grouped(room, truth)["banjir-batanghari"]
    flood = room.incidents[flood_id]
    assert flood.priority is Priority.SEGERA and flood.hazard is Hazard.BANJIR and flood.victims
    assert {Region.BATANG_HARI, Region.MUARO_JAMBI} <= set(flood.regions) and flood.official
    members = {str(s) for item in flood.items for s in item.signal_ids}
    theirs = {e for e, h in truth.items() if h == "banjir-batanghari"}
    signalled = theirs & {str(s) for s in room.member}
    assert signalled <= members and len(signalled) >= 150  # every report, warning, high gauge
    assert len(live(room)) * 20 <= flood.signal_count  # the wall: a few items, not 160 alerts


def test_two_happenings_in_neighbouring_regions_stay_two_incidents() -> None:
    room, truth = correlate_scenario("banjir-dan-longsor")
    groups = grouped(room, truth)
    assert set(groups) == {"banjir-batanghari", "longsor-merangin"}
    flood_ids, landslide_ids = groups["banjir-batanghari"], groups["longsor-merangin"]
    assert len(flood_ids) == 1 and not flood_ids & landslide_ids
    [flood] = groups["banjir-batanghari"]
    assert room.incidents[flood].priority is Priority.SEGERA


def test_a_quake_takes_its_felt_reports_and_the_landslides_after_it() -> None:
    room, truth = correlate_scenario("gempa-kerinci")
    [quake] = grouped(room, truth)["gempa-kerinci"]
    incident = room.incidents[quake]
    assert incident.hazard is Hazard.GEMPA and incident.official
    assert any(item.headline.startswith("Longsor") for item in incident.items)
    assert incident.priority in (Priority.SEGERA, Priority.TINGGI)


def test_karhutla_hotspots_haze_and_reports_are_one_incident() -> None:
    room, truth = correlate_scenario("karhutla")
    [fire] = grouped(room, truth)["karhutla-gambut"]
    incident = room.incidents[fire]
    assert incident.hazard is Hazard.KARHUTLA and {i.kind for i in incident.items} == {
        SignalKind.INDIKATOR, SignalKind.LAPORAN}


def test_an_ordinary_day_has_only_small_incidents() -> None:
    room, _ = correlate_scenario("hari-biasa")
    assert all(i.signal_count <= 3 for i in live(room))


def _ranked_by_sorting(incident_id: uuid.UUID, items: list[IncidentItem]) -> list[uuid.UUID]:
    """What bounded keeps, by its rule written plainly: alerts first, then the latest, ties in
    the order the lines came; the incident's own "sinyal lain" line always counted in."""
    rest = uuid.uuid5(incident_id, "lainnya")
    lines = sorted((i for i in items if i.id != rest), key=lambda i: (i.kind is SignalKind.PERINGATAN,
                                                                       i.last_at), reverse=True)
    return [i.id for i in lines[:MAX_ITEMS - 1]]


def test_a_full_incident_taking_signals_keeps_the_lines_its_rule_says() -> None:
    # A full incident's next line is inserted where the sort would put it (summary._one_more);
    # folds that move a line out of order, same times, alerts among reports: always the rule.
    rng = random.Random(14)
    incident_id, start = uuid.uuid4(), datetime(2026, 12, 3, tzinfo=UTC)
    items: list[IncidentItem] = []
    for n in range(400):
        if items and rng.random() < 0.2:  # a report folded into a line: its time moves on
            at = rng.randrange(len(items))
            items[at] = msgspec.structs.replace(items[at], last_at=items[at].last_at + timedelta(
                minutes=rng.randint(0, 30)), count=items[at].count + 1)
        else:
            item = IncidentItem(
                id=uuid.uuid4(), kind=SignalKind.PERINGATAN if rng.random() < 0.1 else SignalKind.LAPORAN,
                event_kind=Kind.CITIZEN_REPORT, headline=f"sinyal {n}", region=None,
                first_at=start, last_at=start + timedelta(minutes=rng.randint(0, 60)), signal_ids=[])
            items.append(item)
        expected, total, lines = _ranked_by_sorting(incident_id, items), sum(i.count for i in items), len(
            items)
        items = bounded(incident_id, items)
        if lines > MAX_ITEMS:
            assert [i.id for i in items[:-1]] == expected, f"after line {n}"
        assert sum(i.count for i in items) == total  # nothing is lost from the count
    assert len(items) == MAX_ITEMS and items[-1].headline.endswith("sinyal lain")


def test_a_text_names_the_first_hazard_in_order_whatever_its_spacing_and_case() -> None:
    from streams.signals import hazard_of

    assert hazard_of("Banjir", "lalu LONGSOR menutup jalan") is Hazard.LONGSOR  # longsor comes first
    assert hazard_of("Asap kebakaran lahan") is Hazard.KARHUTLA  # not a house fire
    assert hazard_of("kabut\n\tasap tebal") is Hazard.KARHUTLA
    assert hazard_of("Muka\n air sungai naik") is Hazard.BANJIR  # a phrase across a line break
    assert hazard_of("rumah terbakar") is Hazard.KEBAKARAN
    assert hazard_of("lampu jalan mati", "") is Hazard.LAINNYA
