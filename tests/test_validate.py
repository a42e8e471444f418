"""The stream's pure step: decode, validate, fill the region, route to events, alerts or DLQ."""

from __future__ import annotations

import msgspec

from schemas.events import (
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
    Severity,
    new_event_id,
    utc_now,
)
from schemas.regions import Region
from schemas.topics import ALERTS, DLQ, events_topic, raw_topic
from streams.validate import Rejected, decode_raw, route

TOPIC = raw_topic(Kind.CITIZEN_REPORT)


def report(title: str, text: str, category: str = "infrastruktur", **envelope: object) -> bytes:
    event = CitizenReportEvent(
        id=new_event_id(), source="test", occurred_at=utc_now(), received_at=utc_now(),
        payload=CitizenReport(channel="whatsapp", category=category, title=title,  # type: ignore[arg-type]
                              text=text, reporter=ReporterContact(name="Siti", phone="081234567890")),
        **envelope,  # type: ignore[arg-type]
    )
    return msgspec.json.encode(event)


def run(raw: bytes, kind: Kind = Kind.CITIZEN_REPORT, topic: str = TOPIC):
    return route(kind, decode_raw(raw), topic, 2, 41, b"15.71", raw)


def test_valid_report_goes_to_its_events_topic_keyed_by_region() -> None:
    routed = run(report("Lampu jalan mati", "Lampu di Jl. Gatot Subroto mati", region="15.71"))
    [out] = routed.out
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
    assert topics == [events_topic(Kind.CITIZEN_REPORT), ALERTS]
    alert = msgspec.json.decode(routed.out[1].value, type=Alert)
    assert alert.severity is Severity.SEVERE and "banjir" in alert.reason
    assert b"081234567890" not in routed.out[1].value


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
