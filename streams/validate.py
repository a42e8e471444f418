"""The stream's pure step: a raw message in, clean event, alert or dead letter out."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

import msgspec

from schemas.batch import as_array, is_batch, lines
from schemas.events import (
    ALERT_ONSET_AHEAD,
    EARLIEST_OCCURRED_AT,
    MAX_CLOCK_SKEW,
    Alert,
    CitizenReportEvent,
    DeadLetter,
    DisasterAlertEvent,
    Event,
    Kind,
    SectorIndicatorEvent,
    kind_of,
    new_dead_letter,
    occurred_at_problem,
    utc_now,
)
from schemas.regions import PROVINCE_CODE
from schemas.sectors import CADENCE_SPAN, INDICATORS, out_of_range
from schemas.topics import ALERTS, DLQ, SIGNALS, events_topic
from streams.places import NOWHERE, Places
from streams.signals import signal_of
from streams.triage import official_alert, report_alert, triage_report

_decoder = msgspec.json.Decoder(Event)
_batch_decoder = msgspec.json.Decoder(list[Event])
_letters = msgspec.json.Decoder(DeadLetter)
_encoder = msgspec.json.Encoder()
_KINDS = ", ".join(Kind)
# How far ahead a time that is not an event's own may lie: an alert in effect, or a permit's SLA
# deadline, is never more than a year away; 9999-12-31 is a placeholder, not a plan.
HORIZON = timedelta(days=366)
# Dead letters a batched record makes one by one; its further bad lines share one letter, so a
# hostile record of 300,000 bad lines is 1,001 letters, not 300,000 (about 90 MB on posko.dlq).
LETTERS_PER_RECORD = 1_000


class Rejected(msgspec.Struct, frozen=True):
    """A raw message that is not a valid event, and why."""

    reason: str


class Origin(msgspec.Struct, frozen=True, array_like=True):
    """The raw message (or line of a batched one) a record was made from."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    raw: bytes | None
    position: int | None = None


class Line(msgspec.Struct, frozen=True, array_like=True):
    """One event of a raw record, decoded: its line in a batch (None in a record of one), the
    event or why it is not one, and its bytes."""

    position: int | None
    value: Event | Rejected
    raw: bytes | None


class Outgoing(msgspec.Struct, frozen=True, array_like=True):
    """One record to produce, and the raw message it came from (to dead-letter it if Kafka refuses it)."""

    topic: str
    key: bytes
    value: bytes
    origin: Origin | None = None


class Routed(msgspec.Struct, frozen=True):
    """What one raw message becomes: records to produce and, if valid, what to count."""

    out: list[Outgoing]
    counted: str | None = None
    refused: str | None = None  # why, when `out` is the message's dead letter


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
    except RecursionError:  # msgspec's nesting limit is the interpreter's recursion limit
        return Rejected("not valid JSON: nested too deeply (an event envelope nests a few levels, "
                        "this message hundreds or more)")


def decode_record(data: bytes | None) -> list[Line]:
    """The events of a raw record: one, or one a line of a batch (schemas/batch.py), each decoded
    and validated; a bad line is rejected alone."""
    if not data or not is_batch(data):
        return [Line(None, decode_raw(data), data)]
    found = lines(data)
    try:  # the usual batch, all valid: one decoder call for all its lines
        events = _batch_decoder.decode(as_array(line for _, line in found))
        return [Line(n, event, line) for (n, line), event in zip(found, events, strict=True)]
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError):
        pass
    whole = decode_raw(data)
    if not isinstance(whole, Rejected) or _one_document(data):
        return [Line(None, whole, data)]  # one event written over several lines (pretty-printed)
    if not any(_one_document(line) for _, line in found):
        # No line is JSON at all: one broken message (a raw line break inside a string, as
        # hand-built JSON has), dead-lettered whole with its bytes, not cut into pieces.
        return [Line(None, whole, data)]
    return [Line(n, decode_raw(line), line) for n, line in found]


def _one_document(data: bytes) -> bool:
    try:
        msgspec.json.decode(data)
    except Exception:  # not JSON as a whole (whatever msgspec or the interpreter raises)
        return False
    return True


def dead_letter(
    reason: str, topic: str, partition: int, offset: int, key: bytes | None, raw: bytes | None,
    position: int | None = None,
) -> Outgoing:
    """The DLQ record for a failed message (or line `position` of a batch), keyed by its source topic."""
    letter = new_dead_letter(reason, topic, partition, offset, key, raw, position=position)
    return Outgoing(DLQ, topic.encode(), _encoder.encode(letter),
                    Origin(topic, partition, offset, key, raw, position))


def letter_for_the_rest(
    rest: Sequence[tuple[int, bytes | None, str]], topic: str, partition: int, offset: int, key: bytes | None,
) -> Outgoing:
    """One dead letter for a batched record's bad lines past LETTERS_PER_RECORD, given as (line,
    bytes, reason): at the first one's position, their bytes one a line, counted in the reason."""
    first, _, reason = rest[0]
    summary = (f"{len(rest):,} more bad lines of this batch, lines {first} to {rest[-1][0]}, in this "
               f"one letter (one a line) after a letter each for the first {LETTERS_PER_RECORD:,}; "
               f"line {first}: {reason}")
    return dead_letter(summary, topic, partition, offset, key, b"\n".join(raw or b"" for _, raw, _ in rest),
                       first)


def letters_for(
    bad: Sequence[tuple[int | None, bytes | None, str]], topic: str, partition: int, offset: int,
    key: bytes | None,
) -> list[Outgoing]:
    """The dead letters of a record's bad lines, given as (line, bytes, reason): one each for the
    first LETTERS_PER_RECORD, one for the rest (letter_for_the_rest)."""
    letters = [dead_letter(reason, topic, partition, offset, key, raw, position)
               for position, raw, reason in bad[:LETTERS_PER_RECORD]]
    if rest := bad[LETTERS_PER_RECORD:]:  # only a batch has that many lines, each numbered
        letters.append(letter_for_the_rest([(position or 0, raw, reason) for position, raw, reason in rest],
                                           topic, partition, offset, key))
    return letters


def refused(record: Outgoing, error: Exception) -> Outgoing | None:
    """What to send instead of a record Kafka refused for good: its source message dead-lettered,
    without the original bytes when it was the dead letter that was refused; None without a source."""
    origin = record.origin
    if origin is None:
        return None
    if record.topic != DLQ:
        reason = f"Kafka refused the {record.topic} record made from it ({error!r})"
        return dead_letter(reason, origin.topic, origin.partition, origin.offset, origin.key,
                           origin.raw, origin.position)
    reason = (f"{_letters.decode(record.value).reason}; the original bytes were dropped: "
              f"posko.dlq refused the letter with them ({error!r})")
    letter = new_dead_letter(reason, origin.topic, origin.partition, origin.offset, origin.key,
                             origin.raw, keep=0, position=origin.position)
    return Outgoing(DLQ, record.key, _encoder.encode(letter))


def _with_region(event: Event, places: Places) -> Event:
    if event.region is not None or event.location is None:
        return event
    region = places.region(event.location.lat, event.location.lon)
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
    # Dashboards look this far back for the reading in effect: a longer period is a wrong date.
    if reading.period_end - reading.period_start > (span := CADENCE_SPAN[indicator.cadence]):
        return (f"the period {reading.period_start.isoformat()} to {reading.period_end.isoformat()} "
                f"is longer than one reading of {indicator.code} covers (per {indicator.cadence}: at "
                f"most {_duration(span)}): send one reading per period")
    return out_of_range(indicator, reading.value)


def _time_problem(name: str, value: datetime | None, now: datetime, ahead: timedelta) -> str | None:
    if value is None:
        return None
    if value > now + ahead:
        return (f"{name} {value.isoformat()} is more than {_duration(ahead)} after now "
                f"({now.isoformat(timespec='seconds')}): check the sender's clock and time zone")
    if value < EARLIEST_OCCURRED_AT:
        return (f"{name} {value.isoformat()} is before {EARLIEST_OCCURRED_AT.date().isoformat()}: "
                "send the real time")
    return None


def _duration(span: timedelta) -> str:
    if span.days:
        return f"{span.days} day{'s' if span.days > 1 else ''}"
    return f"{span.seconds // 60} minutes"


def time_problem(event: Event, now: datetime | None = None) -> str | None:
    """Why a time the event carries cannot be right (in the far future or the distant past), or None."""
    now = now or utc_now()
    ahead = ALERT_ONSET_AHEAD if isinstance(event, DisasterAlertEvent) else MAX_CLOCK_SKEW
    problem = (occurred_at_problem(event.occurred_at, now, ahead)
               or _time_problem("received_at", event.received_at, now, MAX_CLOCK_SKEW))
    if problem or isinstance(event, CitizenReportEvent):
        return problem
    if isinstance(event, DisasterAlertEvent):
        # `sent` is the alert's version: one from the future would never be replaced by an update.
        alert = event.payload
        return (_time_problem("payload.sent", alert.sent, now, MAX_CLOCK_SKEW)
                or _time_problem("payload.effective", alert.effective, now, HORIZON)
                or _time_problem("payload.expires", alert.expires, now, HORIZON))
    if isinstance(event, SectorIndicatorEvent):
        # A reading is about a period that has begun; its length is checked against the catalogue.
        return _time_problem("payload.period_start", event.payload.period_start, now, MAX_CLOCK_SKEW)
    return _time_problem("payload.sla_deadline", event.payload.sla_deadline, now, HORIZON)


def route(
    kind: Kind, value: Event | Rejected, topic: str, partition: int, offset: int,
    key: bytes | None, raw: bytes | None, now: datetime | None = None, position: int | None = None,
    places: Places = NOWHERE,
) -> Routed:
    """Validate, enrich and route one decoded raw event (line `position` of a batched record, or
    the whole record), its times checked against `now`, its points found in `places`."""

    def rejected(reason: str) -> Routed:
        return Routed([dead_letter(reason, topic, partition, offset, key, raw, position)], refused=reason)

    if isinstance(value, Rejected):
        return rejected(value.reason)
    actual = kind_of(value)
    if actual is not kind:
        return rejected(f"a {actual} event on {topic}: send it to posko.raw.{actual}")
    if problem := time_problem(value, now):
        return rejected(f"implausible time: {problem}")
    event = _with_region(value, places)
    alert: Alert | None = None
    urgent = None
    if isinstance(event, DisasterAlertEvent):
        alert = official_alert(event)
    elif event.region is None:
        where = (
            f"location {event.location.lat}, {event.location.lon} is outside Jambi"
            if event.location else "no region and no location"
        )
        return rejected(f"cannot place the {kind} in a kabupaten/kota of Jambi: {where}")
    elif isinstance(event, SectorIndicatorEvent) and (problem := indicator_problem(event)):
        return rejected(f"invalid sector indicator: {problem}")
    elif isinstance(event, CitizenReportEvent) and (urgent := triage_report(event)):
        alert = report_alert(event, urgent)
    region_key = (event.region or PROVINCE_CODE).encode()
    origin = Origin(topic, partition, offset, key, raw, position)
    out = [Outgoing(events_topic(kind), region_key, _encoder.encode(event), origin)]
    if alert is not None:
        out.append(Outgoing(ALERTS, region_key, _encoder.encode(alert), origin))
    if (signal := signal_of(event, urgent, places)) is not None:
        out.append(Outgoing(SIGNALS, region_key, _encoder.encode(signal), origin))
    return Routed(out, f"{event.region or PROVINCE_CODE}|{kind}")
