"""The stream's pure step: a raw message in, clean event, alert or dead letter out."""

from __future__ import annotations

import msgspec

from schemas.events import (
    Alert,
    CitizenReportEvent,
    DeadLetter,
    DisasterAlertEvent,
    Event,
    Kind,
    SectorIndicatorEvent,
    dead_letter_id,
    kind_of,
    utc_now,
)
from schemas.regions import PROVINCE_CODE, region_at
from schemas.sectors import INDICATORS, out_of_range
from schemas.topics import ALERTS, DLQ, events_topic
from streams.triage import official_alert, report_alert, triage_report

_decoder = msgspec.json.Decoder(Event)
_encoder = msgspec.json.Encoder()
_KINDS = ", ".join(Kind)


class Rejected(msgspec.Struct, frozen=True):
    """A raw message that is not a valid event, and why."""

    reason: str


class Outgoing(msgspec.Struct, frozen=True, array_like=True):
    """One record to produce."""

    topic: str
    key: bytes
    value: bytes


class Routed(msgspec.Struct, frozen=True):
    """What one raw message becomes: records to produce and, if valid, what to count."""

    out: list[Outgoing]
    counted: str | None = None


def decode_raw(data: bytes | None) -> Event | Rejected:
    """Decode and validate a raw event in one step; a failure becomes a readable reason."""
    if not data:
        return Rejected("empty message: expected a JSON event envelope")
    try:
        return _decoder.decode(data)
    except msgspec.DecodeError as exc:
        message = str(exc)
        if message.startswith("Invalid value") and "`$.kind`" in message:
            return Rejected(f"unknown kind ({message}); known kinds: {_KINDS}")
        if isinstance(exc, msgspec.ValidationError):
            return Rejected(f"invalid event: {message}")
        return Rejected(f"not valid JSON: {message}")
    except UnicodeDecodeError as exc:  # msgspec raises it for bad UTF-8 inside a string
        return Rejected(f"not valid UTF-8 JSON: {exc}")


def dead_letter(
    reason: str, topic: str, partition: int, offset: int, key: bytes | None, raw: bytes | None
) -> Outgoing:
    """The DLQ record for a failed message, keyed by its source topic."""
    letter = DeadLetter(
        id=dead_letter_id(topic, partition, offset), reason=reason, topic=topic,
        partition=partition, offset=offset, key=key, raw=raw or b"", failed_at=utc_now(),
    )
    return Outgoing(DLQ, topic.encode(), _encoder.encode(letter))


def _with_region(event: Event) -> Event:
    if event.region is not None or event.location is None:
        return event
    region = region_at(event.location.lat, event.location.lon)
    return msgspec.structs.replace(event, region=region) if region else event


def indicator_problem(event: SectorIndicatorEvent) -> str | None:
    """Why a reading does not fit the indicator catalogue, or None when it does."""
    reading = event.payload
    indicator = INDICATORS.get(reading.indicator)
    if indicator is None:
        return (f"unknown indicator {reading.indicator}: use a code from the catalogue "
                f"(schemas/sectors.py), e.g. {', '.join(list(INDICATORS)[:4])}")
    if reading.sector is not indicator.sector:
        return (f"indicator {indicator.code} belongs to sector {indicator.sector}, "
                f"not {reading.sector}")
    if reading.unit != indicator.unit:
        return (f"indicator {indicator.code} is reported in {indicator.unit}, not {reading.unit}: "
                "convert the value first")
    if reading.period_end <= reading.period_start:
        return (f"period_end {reading.period_end.isoformat()} is not after period_start "
                f"{reading.period_start.isoformat()}")
    return out_of_range(indicator, reading.value)


def route(
    kind: Kind, value: Event | Rejected, topic: str, partition: int, offset: int,
    key: bytes | None, raw: bytes | None,
) -> Routed:
    """Validate, enrich and route one decoded raw message."""
    if isinstance(value, Rejected):
        return Routed([dead_letter(value.reason, topic, partition, offset, key, raw)])
    actual = kind_of(value)
    if actual is not kind:
        reason = f"a {actual} event on {topic}: send it to posko.raw.{actual}"
        return Routed([dead_letter(reason, topic, partition, offset, key, raw)])
    event = _with_region(value)
    alert: Alert | None = None
    if isinstance(event, DisasterAlertEvent):
        alert = official_alert(event)
    elif event.region is None:
        where = (
            f"location {event.location.lat}, {event.location.lon} is outside Jambi"
            if event.location else "no region and no location"
        )
        reason = f"cannot place the {kind} in a kabupaten/kota of Jambi: {where}"
        return Routed([dead_letter(reason, topic, partition, offset, key, raw)])
    elif isinstance(event, SectorIndicatorEvent) and (problem := indicator_problem(event)):
        return Routed([dead_letter(f"invalid sector indicator: {problem}", topic, partition, offset,
                                   key, raw)])
    elif isinstance(event, CitizenReportEvent) and (urgent := triage_report(event)):
        alert = report_alert(event, urgent)
    region_key = (event.region or PROVINCE_CODE).encode()
    out = [Outgoing(events_topic(kind), region_key, _encoder.encode(event))]
    if alert is not None:
        out.append(Outgoing(ALERTS, region_key, _encoder.encode(alert)))
    return Routed(out, f"{event.region or PROVINCE_CODE}|{kind}")
