"""The sink's lanes hand out batches in order, bounded, and tell which partitions may be committed."""

from __future__ import annotations

from aiokafka import ConsumerRecord, TopicPartition

from schemas.events import Kind
from schemas.topics import INCIDENTS, events_topic
from sinks.clickhouse.lanes import Lane
from sinks.clickhouse.writer import ROOM_TOPICS, events_in

REPORTS = TopicPartition(events_topic(Kind.CITIZEN_REPORT), 0)
ALERTS = TopicPartition(events_topic(Kind.DISASTER_ALERT), 1)


def _records(tp: TopicPartition, offsets: range, lines: int = 1) -> list[ConsumerRecord[bytes, bytes]]:
    value = b"\n".join([b'{"id": 1}'] * lines)
    return [ConsumerRecord(tp.topic, tp.partition, offset, 0, 0, None, value, None, 0, len(value), [])
            for offset in offsets]


def test_a_batch_holds_at_most_the_limit_in_order_and_the_rest_waits() -> None:
    lane = Lane("events", events_in)
    lane.add(REPORTS, _records(REPORTS, range(0, 4), lines=3), now=1.0)  # 12 events
    lane.add(ALERTS, _records(ALERTS, range(10, 12)), now=1.1)
    assert lane.events == 14 and lane.since == 1.0
    first = lane.take(limit=7)  # a record's events are never split: 3 records, 9 events
    assert {tp: [r.offset for r in rs] for tp, rs in first.items()} == {REPORTS: [0, 1, 2]}
    assert lane.events == 5 and not lane.settled(REPORTS) and not lane.settled(ALERTS)
    lane.done(first)
    assert lane.written == {REPORTS: 3}
    second = lane.take(limit=7)
    assert {tp: [r.offset for r in rs] for tp, rs in second.items()} == {REPORTS: [3], ALERTS: [10, 11]}
    assert lane.since is None and not lane.pending
    assert not lane.settled(ALERTS)  # being written: its position may not be committed yet
    lane.done(second)
    assert lane.settled(REPORTS) and lane.settled(ALERTS)
    assert lane.written == {REPORTS: 4, ALERTS: 12}


def test_partitions_taken_away_are_forgotten() -> None:
    lane = Lane("events", events_in)
    lane.add(REPORTS, _records(REPORTS, range(0, 2)), now=1.0)
    lane.done(lane.take(limit=100))
    lane.add(REPORTS, _records(REPORTS, range(2, 5)), now=2.0)
    lane.add(ALERTS, _records(ALERTS, range(0, 1)), now=2.0)
    lane.drop([REPORTS])
    assert lane.events == 1 and REPORTS not in lane.pending and REPORTS not in lane.written
    assert list(lane.take(limit=100)) == [ALERTS]


def test_the_room_writes_apart_from_the_events() -> None:
    assert INCIDENTS in ROOM_TOPICS and events_topic(Kind.CITIZEN_REPORT) not in ROOM_TOPICS
