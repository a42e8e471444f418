"""Batched records (schemas/batch.py): decoded, validated, dead-lettered, packed and stored by line."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

import msgspec
from aiokafka import ConsumerRecord

from connectors.publisher import packed
from schemas.batch import batches, is_batch, join, lines
from schemas.events import DeadLetter, Event, Kind
from schemas.raw import Flaw, RawMessage
from schemas.topics import DLQ, SIGNALS, events_topic
from sinks.clickhouse.writer import rows_of
from streams.app import _route_batch
from streams.publish import _packed
from streams.validate import LETTERS_PER_RECORD, Outgoing, Rejected, decode_record
from tests.test_validate import TOPIC, nested, report


def good(title: str = "Jalan rusak") -> bytes:
    return report(title, "Jalan berlubang di depan pasar", region="15.71")


def delivered(value: bytes, offset: int = 7) -> Any:
    """A raw record as the agent gets it from Faust: the codec's lines and the message."""
    message = SimpleNamespace(topic=TOPIC, partition=0, offset=offset, key=b"15.71", value=value)
    return SimpleNamespace(value=decode_record(value), message=message)


def test_a_record_of_one_event_is_a_batch_of_one() -> None:
    one = good()
    [line] = decode_record(one)
    assert line.position is None and line.raw == one and not isinstance(line.value, Rejected)
    assert not is_batch(one) and not is_batch(one + b"\n")


def test_every_line_of_a_batch_is_an_event_with_its_line_number() -> None:
    values = [good(f"Laporan {n}") for n in range(3)]
    record = b"\n".join([values[0], b"", values[1], values[2]]) + b"\r\n"
    decoded = decode_record(record)
    assert [line.position for line in decoded] == [1, 3, 4]
    assert [line.raw for line in decoded] == [values[0], values[1], values[2] + b"\r"]
    assert [line.value.payload.title for line in decoded] == ["Laporan 0", "Laporan 1", "Laporan 2"]  # type: ignore[union-attr]


def test_a_bad_line_is_rejected_alone_whatever_it_holds() -> None:
    bad = [b'{"kind": "citizen_report", "id": ', b"\xff\xfe{}", nested(5000), b"[]", b"12"]
    record = join([good("awal"), *bad, good("akhir")])
    decoded = decode_record(record)
    assert [line.position for line in decoded] == list(range(1, 8))
    assert [isinstance(line.value, Rejected) for line in decoded] == [False, *[True] * 5, False]
    assert [line.raw for line in decoded[1:6]] == bad
    assert "nested too deeply" in decoded[3].value.reason  # type: ignore[union-attr]


def test_one_event_written_over_several_lines_is_one_event() -> None:
    pretty = json.dumps(json.loads(good()), indent=2).encode()
    [line] = decode_record(pretty)
    assert line.position is None and not isinstance(line.value, Rejected)
    # Pretty-printed and invalid: one event's reason, not one per line of its text.
    wrong = json.loads(good())
    wrong["payload"]["title"] = 12345
    [line] = decode_record(json.dumps(wrong, indent=2).encode())
    assert line.position is None and isinstance(line.value, Rejected)
    assert "Expected `str`, got `int`" in line.value.reason


def test_a_record_with_no_event_on_any_line_is_one_broken_message_kept_whole() -> None:
    broken = good().replace(b'"source":"', b'"source":"\r\n', 1)  # a raw line break in a string
    [line] = decode_record(broken)
    assert line.position is None and line.raw == broken and isinstance(line.value, Rejected)
    [letter] = _route_batch(Kind.CITIZEN_REPORT, [delivered(broken)])[0]
    assert msgspec.json.decode(letter.value, type=DeadLetter).raw == broken
    # Lines that are JSON but no valid event are each an event gone wrong: a reason each.
    wrong = [good().replace(b'"title":"', b'"title":1,"x":"', 1) for _ in range(2)]
    assert [line.position for line in decode_record(join(wrong))] == [1, 2]


def test_the_worker_dead_letters_exactly_the_bad_lines_with_their_positions() -> None:
    record = join([good("satu"), b"{broken", good("tiga"), report("x", "y", region="15.99")])
    records, tallies = _route_batch(Kind.CITIZEN_REPORT, [delivered(record)])
    letters = [msgspec.json.decode(r.value, type=DeadLetter) for r in records if r.topic == DLQ]
    assert [(x.position, x.raw, x.offset) for x in letters] == [(2, b"{broken", 7),
                                                                 (4, record.split(b"\n")[3], 7)]
    assert "not valid JSON" in letters[0].reason and "`$.region`" in letters[1].reason
    assert len({x.id for x in letters}) == 2  # one id per line: both are stored
    again, _ = _route_batch(Kind.CITIZEN_REPORT, [delivered(record)])
    assert [msgspec.json.decode(r.value, type=DeadLetter).id for r in again if r.topic == DLQ] == [
        x.id for x in letters]  # read again after a crash: the same letters, stored once
    assert sum(r.topic == events_topic(Kind.CITIZEN_REPORT) for r in records) == 2
    assert tallies[0][1] == {"15.71|citizen_report": 2}


def test_the_worker_packs_clean_events_one_record_per_key_and_batch() -> None:
    topic = events_topic(Kind.CITIZEN_REPORT)
    out = [Outgoing(topic, key, b'{"n":%d}' % n) for n, key in enumerate([b"15.71", b"15.01"] * 3)]
    packed_out = _packed(topic, out)
    assert [(key, value) for _, key, value in packed_out] == [
        (b"15.71", b'{"n":0}\n{"n":2}\n{"n":4}'), (b"15.01", b'{"n":1}\n{"n":3}\n{"n":5}')]
    assert [len(part) for part, _, _ in packed_out] == [3, 3]
    # Dead letters (and alerts) stay one a record.
    assert len(_packed(DLQ, [Outgoing(DLQ, b"t", b"{}")] * 3)) == 3


def test_the_worker_packs_signals_in_their_order_whatever_their_regions() -> None:
    """Correlation reads posko.signals in one order: a batch is consecutive signals, keyed by their
    region when they share one, else by the province's code."""
    mixed = [Outgoing(SIGNALS, key, b'{"n":%d}' % n) for n, key in enumerate([b"15.71", b"15.01"] * 2)]
    assert [(key, value) for _, key, value in _packed(SIGNALS, mixed)] == [
        (b"15", b'{"n":0}\n{"n":1}\n{"n":2}\n{"n":3}')]
    alone = [Outgoing(SIGNALS, b"15.04", b'{"n":%d}' % n) for n in range(2)]
    assert [key for _, key, _ in _packed(SIGNALS, alone)] == [b"15.04"]


def test_batches_keep_order_and_size() -> None:
    values = [b"x" * 100] * 25
    assert [len(b) for b in batches(values, limit=1010)] == [10, 10, 5]
    assert [len(b) for b in batches(values, most=7)] == [7, 7, 7, 4]
    assert [len(b) for b in batches([b"y" * 5000, b"z"], limit=1000)] == [1, 1]
    assert lines(join(values[:3])) == [(1, values[0]), (2, values[1]), (3, values[2])]


def test_the_publisher_batches_per_kind_and_key_and_sends_flawed_and_multiline_alone() -> None:
    def message(kind: Kind, key: bytes, value: bytes, flaw: Flaw | None = None) -> RawMessage:
        return RawMessage(kind, key, value, flaw)

    messages = [message(Kind.CITIZEN_REPORT, b"15.71", b"{1}"), message(Kind.PERMIT_FILING, b"15.71", b"{2}"),
                message(Kind.CITIZEN_REPORT, b"15.71", b"{3}"),
                message(Kind.CITIZEN_REPORT, b"15.71", b"{4", Flaw.BROKEN_JSON),
                message(Kind.CITIZEN_REPORT, b"15.71", b"{\n 5\n}")]
    assert [[m.value for m in pack] for pack in packed(messages)] == [
        [b"{1}", b"{3}"], [b"{2}"], [b"{4"], [b"{\n 5\n}"]]


def test_the_sink_stores_every_line_and_dead_letters_an_unreadable_one_with_its_position() -> None:
    topic = events_topic(Kind.CITIZEN_REPORT)
    events = [msgspec.json.decode(good(f"Laporan {n}"), type=Event) for n in range(2)]
    value = join([msgspec.json.encode(events[0]), b"{not json", msgspec.json.encode(events[1])])
    record = ConsumerRecord(topic, 0, 9, 0, 0, b"15.71", value, None, 0, len(value), [])
    rows = rows_of(record)
    assert [getattr(row, "id", None) for table, row in rows if table == "citizen_reports"] == [
        e.id for e in events]
    [(_, letter)] = [(t, r) for t, r in rows if t == "dead_letters"]
    assert (letter.position, letter.offset, letter.raw_text) == (2, 9, "{not json")  # type: ignore[attr-defined]


def test_a_record_of_many_bad_lines_makes_a_letter_each_for_the_first_thousand_then_one() -> None:
    bad = [b'{"n": %d}' % n for n in range(LETTERS_PER_RECORD + 500)]
    record = join([*bad[:700], good("di tengah"), *bad[700:]])
    records, tallies = _route_batch(Kind.CITIZEN_REPORT, [delivered(record)])
    letters = [msgspec.json.decode(r.value, type=DeadLetter) for r in records if r.topic == DLQ]
    assert len(letters) == LETTERS_PER_RECORD + 1 and len({x.id for x in letters}) == len(letters)
    assert [x.position for x in letters[:3]] == [1, 2, 3] and letters[699].position == 700
    assert letters[LETTERS_PER_RECORD - 1].position == LETTERS_PER_RECORD + 1  # line 701 is the report
    rest = letters[-1]
    assert rest.position == LETTERS_PER_RECORD + 2
    assert rest.reason.startswith(f"500 more bad lines of this batch, lines {LETTERS_PER_RECORD + 2} to "
                                  f"{LETTERS_PER_RECORD + 501}"), rest.reason
    assert rest.raw == join(bad[LETTERS_PER_RECORD:]) and rest.raw_size == len(join(bad[LETTERS_PER_RECORD:]))
    assert tallies[0][1] == {"15.71|citizen_report": 1}  # the good line among them is an event


def test_the_bound_holds_for_lines_refused_after_decoding_too() -> None:
    # Valid events, each refused by the route (a citizen report taken as a disaster alert).
    record = join([good(f"Laporan {n}") for n in range(LETTERS_PER_RECORD + 200)])
    records, _ = _route_batch(Kind.DISASTER_ALERT, [delivered(record)])
    letters = [msgspec.json.decode(r.value, type=DeadLetter) for r in records if r.topic == DLQ]
    assert len(records) == len(letters) == LETTERS_PER_RECORD + 1
    first, last = LETTERS_PER_RECORD + 1, LETTERS_PER_RECORD + 200
    assert letters[-1].reason.startswith(f"200 more bad lines of this batch, lines {first} to {last}"), \
        letters[-1].reason
    assert "a citizen_report event on" in letters[-1].reason
    assert letters[-1].raw_size == len(join(record.split(b"\n")[LETTERS_PER_RECORD:]))
