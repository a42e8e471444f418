"""The stream's pure step: decode, validate, fill the region, route to events, alerts or DLQ."""

from __future__ import annotations

import hashlib
import logging
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import msgspec
import pytest
from aiokafka.errors import MessageSizeTooLargeError
from faust.serializers.registry import Registry

from schemas.events import (
    DEAD_LETTER_RAW_BYTES,
    Alert,
    CitizenReport,
    CitizenReportEvent,
    DeadLetter,
    DisasterAlert,
    DisasterAlertEvent,
    Event,
    Kind,
    Point,
    ReporterContact,
    SectorIndicator,
    SectorIndicatorEvent,
    Severity,
    new_event_id,
    utc_now,
)
from schemas.incidents import Hazard, Signal
from schemas.regions import Region
from schemas.topics import ALERTS, DLQ, SIGNALS, events_topic, raw_topic
from streams.app import CODEC, _route_batch
from streams.validate import Rejected, dead_letter, decode_raw, decode_record, refused, route

TOPIC = raw_topic(Kind.CITIZEN_REPORT)


def report(title: str, text: str, category: str = "infrastruktur", **envelope: object) -> bytes:
    event = CitizenReportEvent(
        id=new_event_id(), source="test",
        payload=CitizenReport(channel="whatsapp", category=category, title=title,  # type: ignore[arg-type]
                              text=text, reporter=ReporterContact(name="Siti", phone="081234567890")),
        **{"occurred_at": utc_now(), "received_at": utc_now(), **envelope},  # type: ignore[arg-type]
    )
    return msgspec.json.encode(event)


def run(raw: bytes, kind: Kind = Kind.CITIZEN_REPORT, topic: str = TOPIC):
    return route(kind, decode_raw(raw), topic, 2, 41, b"15.71", raw)


def test_valid_report_goes_to_its_events_topic_keyed_by_region() -> None:
    routed = run(report("Lampu jalan mati", "Lampu di Jl. Gatot Subroto mati", region="15.71"))
    out, signal = routed.out
    assert signal.topic == SIGNALS  # every report counts towards surges of complaints
    assert out.topic == events_topic(Kind.CITIZEN_REPORT) and out.key == b"15.71"
    assert routed.counted == "15.71|citizen_report"
    assert msgspec.json.decode(out.value, type=Event).region is Region.KOTA_JAMBI


def test_missing_region_is_filled_from_the_location() -> None:
    routed = run(report("Sampah menumpuk", "Sampah di pasar", location=Point(-2.0631, 101.395)))
    event = msgspec.json.decode(routed.out[0].value, type=Event)
    assert event.region is Region.KOTA_SUNGAI_PENUH and routed.out[0].key == b"15.72"


def test_report_outside_jambi_goes_to_dlq_with_reason() -> None:
    routed = run(report("Jalan rusak", "Jalan rusak", location=Point(-6.1754, 106.8272)))
    [out] = routed.out
    letter = msgspec.json.decode(out.value, type=DeadLetter)
    assert out.topic == DLQ and "outside Jambi" in letter.reason and routed.counted is None


def test_urgent_report_becomes_a_public_alert_without_contact() -> None:
    routed = run(report("Banjir setinggi dada", "Warga terjebak, ada korban hanyut",
                        region="15.04"))
    topics = [o.topic for o in routed.out]
    assert topics == [events_topic(Kind.CITIZEN_REPORT), ALERTS, SIGNALS]
    alert = msgspec.json.decode(routed.out[1].value, type=Alert)
    assert alert.severity is Severity.SEVERE and "banjir" in alert.reason
    signal = msgspec.json.decode(routed.out[2].value, type=Signal)
    assert signal.urgent and signal.victims and signal.hazard is Hazard.BANJIR
    assert b"081234567890" not in routed.out[1].value and b"081234567890" not in routed.out[2].value


def test_disaster_alert_is_always_an_alert_even_outside_jambi() -> None:
    event = DisasterAlertEvent(
        id=new_event_id(), source="bmkg", occurred_at=utc_now(), received_at=utc_now(),
        location=Point(-8.15, 118.1),
        payload=DisasterAlert(event="Gempabumi", category="Geo", urgency="Past",  # type: ignore[arg-type]
                              severity="Minor", certainty="Observed",  # type: ignore[arg-type]
                              headline="Gempa M4.5 Dompu", issuer="BMKG", magnitude=4.5),
    )
    raw = msgspec.json.encode(event)
    routed = run(raw, Kind.DISASTER_ALERT, raw_topic(Kind.DISASTER_ALERT))
    assert [o.topic for o in routed.out] == [events_topic(Kind.DISASTER_ALERT), ALERTS]
    assert routed.out[0].key == b"15" and routed.counted == "15|disaster_alert"


def test_malformed_inputs_go_to_dlq_with_readable_reasons() -> None:
    good = report("Jalan rusak", "Jalan berlubang", region="15.71")
    cases = {
        b'{"kind": "citizen_report", "id": ': "not valid JSON",
        good.replace(b'"whatsapp"', b"42"): "Expected `str`, got `int` - at `$.payload.channel`",
        good.replace(b'"15.71"', b'"15.99"'): "`$.region`",
        good.replace(b"Jalan berlubang", b"x" * 6000): "length <= 5000",
        good.replace(b'"citizen_report"', b'"laporan_hoaks"'): "unknown kind",
        b"": "empty message",
        good.replace(b"Jalan berlubang", "Jalan rusak caf\u00e9".encode("latin-1")): "UTF-8",
    }
    for raw, reason in cases.items():
        [out] = run(raw).out
        letter = msgspec.json.decode(out.value, type=DeadLetter)
        assert out.topic == DLQ and reason in letter.reason, (reason, letter.reason)
        assert letter.raw == raw and (letter.topic, letter.partition, letter.offset) == (TOPIC, 2, 41)


def test_event_on_the_wrong_raw_topic_goes_to_dlq() -> None:
    raw = report("Jalan rusak", "Jalan berlubang", region="15.71")
    [out] = run(raw, Kind.PERMIT_FILING, raw_topic(Kind.PERMIT_FILING)).out
    assert "send it to posko.raw.citizen_report" in msgspec.json.decode(out.value, type=DeadLetter).reason


def test_same_source_message_gives_the_same_dead_letter_id() -> None:
    first = decode_raw(b"nope")
    assert isinstance(first, Rejected)
    a = msgspec.json.decode(run(b"nope").out[0].value, type=DeadLetter)
    b = msgspec.json.decode(run(b"nope").out[0].value, type=DeadLetter)
    assert a.id == b.id


def nested(depth: int) -> bytes:
    """A citizen report of `depth` nested empty arrays in an unknown field, as found on main."""
    return b'{"kind":"citizen_report","x":' + b"[" * depth + b"]" * depth + b"}"


def test_deeply_nested_json_is_rejected_with_a_reason_never_raised() -> None:
    assert "missing required field `id`" in decode_raw(nested(100)).reason  # type: ignore[union-attr]
    for depth in (999, 1000, 5000, 100_000):
        rejected = decode_raw(nested(depth))
        assert isinstance(rejected, Rejected) and "nested too deeply" in rejected.reason, depth
        [out] = run(nested(depth)).out
        letter = msgspec.json.decode(out.value, type=DeadLetter)
        assert out.topic == DLQ and letter.raw == nested(depth) and "nested too deeply" in letter.reason


def test_the_worker_codec_turns_any_bytes_into_a_value_through_faust() -> None:
    # Faust's own registry, as the agent's topic uses it: an exception here would end the agent.
    registry = Registry(key_serializer="raw", value_serializer=CODEC)
    for raw in (nested(100_000), b"\xff\xfe", b"[" * 10, b""):
        [line] = registry.loads_value(None, raw, serializer=CODEC)
        assert isinstance(line.value, Rejected) and line.raw == raw, raw[:10]
    # A tombstone never reaches the codec: the agent sees None (see streams/app.py).
    assert registry.loads_value(None, None, serializer=CODEC) is None


def test_dead_letter_of_any_message_fits_on_the_dlq() -> None:
    # The largest record a raw topic takes is 1 MB by default, more where a cluster allows it; the
    # worker's producer sends at most 1,000,000 bytes (Faust's producer_max_request_size).
    for size in (DEAD_LETTER_RAW_BYTES, 1_048_588, 10_000_000):
        raw = bytes(range(256)) * (size // 256) + b"x" * (size % 256)
        out = dead_letter("r" * 100_000, TOPIC, 0, 7, b"k" * 1_000_000, raw)
        assert len(out.value) < 400_000, (size, len(out.value))
        letter = msgspec.json.decode(out.value, type=DeadLetter)
        assert letter.raw == raw[:DEAD_LETTER_RAW_BYTES] and letter.raw_size == size
        assert letter.raw_sha256 == hashlib.sha256(raw).hexdigest()
        assert letter.complete is (size <= DEAD_LETTER_RAW_BYTES)


def test_dead_letter_keeps_a_normal_message_whole_for_replay() -> None:
    raw = report("Jalan rusak", "x" * 5000, region="15.99")
    letter = msgspec.json.decode(run(raw).out[0].value, type=DeadLetter)
    assert letter.complete and letter.raw == raw and letter.raw_size == len(raw)


def test_record_kafka_refuses_for_good_becomes_a_dead_letter_then_a_reduced_one() -> None:
    raw = report("Lampu jalan mati", "Lampu di Jl. Gatot Subroto mati", region="15.71")
    event, _ = run(raw).out
    error = MessageSizeTooLargeError()
    letter_record = refused(event, error)
    assert letter_record is not None and letter_record.topic == DLQ
    letter = msgspec.json.decode(letter_record.value, type=DeadLetter)
    assert "Kafka refused the posko.events.citizen_report record" in letter.reason and letter.raw == raw
    reduced = refused(letter_record, error)
    assert reduced is not None and reduced.topic == DLQ and reduced.key == TOPIC.encode()
    small = msgspec.json.decode(reduced.value, type=DeadLetter)
    assert small.raw == b"" and small.raw_size == len(raw) and not small.complete
    assert small.raw_sha256 == hashlib.sha256(raw).hexdigest() and small.id == letter.id
    assert small.reason.startswith(letter.reason) and "original bytes were dropped" in small.reason
    assert refused(reduced, error) is None  # nothing smaller is left to send


def alert_event(**changes: object) -> bytes:
    payload = DisasterAlert(event="Banjir", category="Met", urgency="Immediate",  # type: ignore[arg-type]
                            severity="Severe", certainty="Observed",  # type: ignore[arg-type]
                            headline="Banjir Batanghari", issuer="BPBD Jambi", sent=utc_now())
    payload_changes = {k[8:]: v for k, v in changes.items() if k.startswith("payload_")}
    envelope = {k: v for k, v in changes.items() if not k.startswith("payload_")}
    event = DisasterAlertEvent(
        id=new_event_id(), source="test", region=Region.KOTA_JAMBI,
        payload=msgspec.structs.replace(payload, **payload_changes),
        **{"occurred_at": utc_now(), "received_at": utc_now(), **envelope},  # type: ignore[arg-type]
    )
    return msgspec.json.encode(event)


def indicator_event(start: datetime, end: datetime) -> bytes:
    event = SectorIndicatorEvent(
        id=new_event_id(), source="test", occurred_at=utc_now(), received_at=utc_now(),
        region=Region.KOTA_JAMBI, payload=SectorIndicator(sector="industri_perdagangan",  # type: ignore[arg-type]
                                indicator="harga_beras_medium", value=13_500.0, unit="Rp/kg",
                                period_start=start, period_end=end, agency="Disperindag"),
    )
    return msgspec.json.encode(event)


def test_implausible_times_go_to_dlq_with_reason() -> None:
    now = utc_now()
    far, old = datetime(9999, 12, 31, tzinfo=UTC), datetime(1900, 1, 1, tzinfo=UTC)
    day = now.replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=1)
    cases: list[tuple[bytes, Kind, str]] = [
        (report("Jalan rusak", "Jalan berlubang", region="15.71", occurred_at=far), Kind.CITIZEN_REPORT,
         "occurred_at 9999-12-31T00:00:00+00:00 is in the future"),
        (report("Jalan rusak", "Jalan berlubang", region="15.71", occurred_at=old), Kind.CITIZEN_REPORT,
         "occurred_at 1900-01-01T00:00:00+00:00 is before 2000-01-01"),
        (report("Jalan rusak", "Jalan berlubang", region="15.71", occurred_at=now + timedelta(hours=1)),
         Kind.CITIZEN_REPORT, "is in the future (more than 15 minutes after now"),
        (report("Jalan rusak", "Jalan berlubang", region="15.71", received_at=far), Kind.CITIZEN_REPORT,
         "received_at 9999-12-31T00:00:00+00:00 is more than 15 minutes after now"),
        (alert_event(occurred_at=far), Kind.DISASTER_ALERT, "occurred_at 9999-12-31"),
        (alert_event(occurred_at=now + timedelta(days=8)), Kind.DISASTER_ALERT,
         "is in the future (more than 7 days after now"),
        (alert_event(payload_sent=far), Kind.DISASTER_ALERT, "payload.sent 9999-12-31"),
        (alert_event(payload_expires=far), Kind.DISASTER_ALERT,
         "payload.expires 9999-12-31T00:00:00+00:00 is more than 366 days after now"),
        (alert_event(payload_effective=old), Kind.DISASTER_ALERT, "payload.effective 1900-01-01"),
        (indicator_event(now + timedelta(days=2), now + timedelta(days=3)), Kind.SECTOR_INDICATOR,
         "payload.period_start"),
        (indicator_event(day - timedelta(days=300), day), Kind.SECTOR_INDICATOR,
         "is longer than one reading of harga_beras_medium covers (per hari: at most 1 day)"),
    ]
    for raw, kind, reason in cases:
        [out] = run(raw, kind, raw_topic(kind)).out
        letter = msgspec.json.decode(out.value, type=DeadLetter)
        assert out.topic == DLQ and reason in letter.reason, (reason, letter.reason)
        assert letter.reason.startswith("implausible time: ") or kind is Kind.SECTOR_INDICATOR
    # Minutes of clock skew, a warning of a flood expected in two days (its onset), a warning in
    # effect for a week, yesterday's reading: all fine.
    skewed = now + timedelta(minutes=10)
    fine = [(report("Jalan rusak", "Jalan rusak", region="15.71", occurred_at=skewed), Kind.CITIZEN_REPORT),
            (alert_event(occurred_at=now + timedelta(days=2)), Kind.DISASTER_ALERT),
            (alert_event(payload_expires=now + timedelta(days=7)), Kind.DISASTER_ALERT),
            (indicator_event(day, day + timedelta(days=1)), Kind.SECTOR_INDICATOR)]
    for raw, kind in fine:
        assert run(raw, kind, raw_topic(kind)).out[0].topic == events_topic(kind)


def as_delivered(value: object, raw: bytes | None, offset: int) -> Any:
    """A record as the agent gets it from Faust: the decoded value and the message it came in."""
    message = SimpleNamespace(topic=TOPIC, partition=0, offset=offset, key=b"15.71", value=raw)
    return SimpleNamespace(value=value, message=message)


def test_a_message_that_fails_processing_is_dead_lettered_with_one_warning_line(
    caplog: pytest.LogCaptureFixture,
) -> None:
    good = report("Jalan rusak", "Jalan berlubang", region="15.71")
    batch = [as_delivered(42, b"42", 1),  # no codec makes this: route fails on it
             as_delivered(None, None, 2),  # a tombstone: Faust gives None without the codec
             as_delivered(decode_record(good), good, 3)]
    with caplog.at_level(logging.WARNING, logger="posko.stream"):
        records, tallies = _route_batch(Kind.CITIZEN_REPORT, batch)
    failed, tombstone = (msgspec.json.decode(r.value, type=DeadLetter) for r in records[:2])
    assert failed.offset == 1 and failed.reason.startswith("processing failed: AttributeError")
    assert tombstone.offset == 2 and tombstone.reason.startswith("empty message")
    assert records[2].topic == events_topic(Kind.CITIZEN_REPORT)
    assert tallies[0][1] == {"15.71|citizen_report": 1}
    [line] = caplog.records
    assert line.exc_info is None
    assert "posko.raw.citizen_report/0/1 could not be processed" in line.getMessage()
