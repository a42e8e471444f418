"""The ClickHouse sink: clean events, alerts, the room's state, decision support's ranking and dead
letters from Kafka into tables, exactly once."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import msgspec
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.errors import KafkaError

from posko.settings import Settings
from schemas.batch import as_array, is_batch, lines
from schemas.commands import AuditEntry, DeskRecord
from schemas.decision import RankingRecord
from schemas.events import (
    Acknowledgement,
    Alert,
    CitizenReportEvent,
    DeadLetter,
    DisasterAlertEvent,
    Event,
    Kind,
    PermitFilingEvent,
    ReportStatusChange,
    SectorIndicatorEvent,
    new_dead_letter,
)
from schemas.incidents import Escalation, Incident
from schemas.topics import (
    ACKS,
    ALERTS,
    AUDIT,
    BATCHED,
    DESK,
    DLQ,
    ESCALATIONS,
    INCIDENTS,
    RANKING,
    REPORT_STATUS,
    events_topic,
)
from schemas.workdays import WorkingCalendar
from sinks.clickhouse.desk_rows import audit_row, desk_rows
from sinks.clickhouse.incident_rows import escalation_row, incident_rows
from sinks.clickhouse.lanes import Lane, Revoked
from sinks.clickhouse.migrations import KEYS, READ_FINAL, VERSIONED
from sinks.clickhouse.ranking_rows import ranking_rows
from sinks.clickhouse.store import Store
from sinks.clickhouse.tables import (
    ack_row,
    alert_row,
    citizen_report_rows,
    dead_letter_row,
    disaster_alert_row,
    permit_filing_row,
    report_status_row,
    sector_indicator_row,
)

log = logging.getLogger("posko.sink")

GROUP_ID = "posko-clickhouse"
Rows = list[tuple[str, msgspec.Struct]]

_event = msgspec.json.Decoder(Event)
_events = msgspec.json.Decoder(list[Event])
_alert = msgspec.json.Decoder(Alert)
_letter = msgspec.json.Decoder(DeadLetter)
_ack = msgspec.json.Decoder(Acknowledgement)
_status = msgspec.json.Decoder(ReportStatusChange)
_incident = msgspec.json.Decoder(Incident)
_escalation = msgspec.json.Decoder(Escalation)
_audit = msgspec.json.Decoder(AuditEntry)
_desk: msgspec.json.Decoder[DeskRecord] = msgspec.json.Decoder(DeskRecord)
_ranking: msgspec.json.Decoder[RankingRecord] = msgspec.json.Decoder(RankingRecord)
_NO_CUTI_BERSAMA = WorkingCalendar()


def _event_rows(data: bytes) -> Rows:
    return _rows_of_event(_event.decode(data))


def _rows_of_event(event: Event) -> Rows:
    if isinstance(event, CitizenReportEvent):
        return list(citizen_report_rows(event))
    if isinstance(event, DisasterAlertEvent):
        return [("disaster_alerts", disaster_alert_row(event))]
    if isinstance(event, SectorIndicatorEvent):
        return [("sector_indicators", sector_indicator_row(event))]
    assert isinstance(event, PermitFilingEvent)
    return [("permit_filings", permit_filing_row(event))]


ROW_MAKERS: dict[str, Callable[[bytes], Rows]] = {
    **{events_topic(kind): _event_rows for kind in Kind},
    ALERTS: lambda data: [("alerts", alert_row(_alert.decode(data)))],
    DLQ: lambda data: [("dead_letters", dead_letter_row(_letter.decode(data)))],
    ACKS: lambda data: [("acks", ack_row(_ack.decode(data)))],
    REPORT_STATUS: lambda data: _status_rows(data, _NO_CUTI_BERSAMA),
    INCIDENTS: lambda data: incident_rows(_incident.decode(data)),
    ESCALATIONS: lambda data: [("escalations", escalation_row(_escalation.decode(data)))],
    AUDIT: lambda data: [("audit_log", audit_row(_audit.decode(data)))],
    DESK: lambda data: desk_rows(_desk.decode(data)),
    RANKING: lambda data: ranking_rows(_ranking.decode(data)),
}
# Compacted topics whose tombstones remove a record from Kafka, not its rows from ClickHouse.
_COMPACTED = frozenset({INCIDENTS, DESK, RANKING})


def _status_rows(data: bytes, calendar: WorkingCalendar) -> Rows:
    return [("report_status_changes", report_status_row(_status.decode(data), calendar))]


def _batch_rows(record: ConsumerRecord[bytes, bytes]) -> Rows:
    """The rows of a batched events record (schemas/batch.py); a line that cannot be read becomes
    a dead letter row of its own, with its position."""
    found = lines(record.value or b"")
    try:  # the usual batch, as the worker wrote it: one decoder call
        events = _events.decode(as_array(line for _, line in found))
        return [row for event in events for row in _rows_of_event(event)]
    except (msgspec.DecodeError, AssertionError):
        pass
    rows: Rows = []
    for position, line in found:
        try:
            rows.extend(_event_rows(line))
        except (msgspec.DecodeError, AssertionError) as exc:
            letter = new_dead_letter(f"the ClickHouse sink could not read it: {exc}", record.topic,
                                     record.partition, record.offset, record.key, line,
                                     position=position)
            rows.append(("dead_letters", dead_letter_row(letter)))
    return rows


def events_in(record: ConsumerRecord[bytes, bytes]) -> int:
    """How many events a record carries: the lines of an events topic's batch, else one."""
    # Counting newlines costs little beside decoding (a stray trailing one counts one too many).
    if record.topic in BATCHED and record.value:
        return record.value.count(b"\n") + 1
    return 1


def rows_of(record: ConsumerRecord[bytes, bytes], calendar: WorkingCalendar | None = None) -> Rows:
    """The table rows a record becomes; one that cannot be read becomes a dead letter row.
    Report SLA deadlines count working days of `calendar` (default: without cuti bersama)."""
    if record.value is None and record.topic in _COMPACTED:
        return []  # a tombstone: compaction removes the record, its rows stay as they were
    if record.topic in BATCHED and record.value and is_batch(record.value):
        return _batch_rows(record)
    try:
        if record.topic == REPORT_STATUS and calendar is not None:
            return _status_rows(record.value or b"", calendar)
        return ROW_MAKERS[record.topic](record.value or b"")
    except (msgspec.DecodeError, KeyError, AssertionError) as exc:
        letter = new_dead_letter(f"the ClickHouse sink could not read it: {exc}", record.topic,
                                 record.partition, record.offset, record.key, record.value)
        return [("dead_letters", dead_letter_row(letter))]


class _Versioned(msgspec.Struct):
    version: int


_version = msgspec.json.Decoder(_Versioned)


def latest_incidents(records: list[ConsumerRecord[bytes, bytes]]) -> list[ConsumerRecord[bytes, bytes]]:
    """The records of one partition, of posko.incidents only the newest version of each incident.

    An incident record is the whole incident, and its rows (`incidents`, a row per signal in
    `incident_signals`) keep only the newest version per id: the older versions in a batch would
    be written only to be replaced (thousands of rows for a big incident). The newest by its
    `version`, not by offset: an older version redelivered after a crash may come after it. A
    record whose version cannot be read is kept, for rows_of to tell what is wrong with it."""
    if not records or records[0].topic != INCIDENTS:
        return records
    newest: dict[bytes | None, tuple[int, int]] = {}  # key: (version, position)
    kept = []
    for n, record in enumerate(records):
        try:
            version = _version.decode(record.value or b"").version
        except msgspec.DecodeError:
            kept.append(n)
            continue
        if record.key not in newest or version >= newest[record.key][0]:
            newest[record.key] = (version, n)
    kept += [n for _, n in newest.values()]
    return [records[n] for n in sorted(kept)]


# The room's topics, written in a lane of their own (sinks/clickhouse/lanes.py).
ROOM_TOPICS = frozenset({INCIDENTS, ESCALATIONS, AUDIT, DESK, RANKING})
# A lane this many batches behind fetches nothing more until it has written one.
BEHIND = 2


class ClickHouseWriter:
    """Consumes the clean topics and writes batches; offsets are committed after the write."""

    def __init__(self, settings: Settings, store: Store, executor: ThreadPoolExecutor) -> None:
        self.settings = settings
        self.store = store
        self.executor = executor
        self.topics = list(ROW_MAKERS)
        self.rows_written = 0
        self.calendar = WorkingCalendar(settings.cuti_bersama_dates)  # the stream's SLA calendar
        self._committed: dict[TopicPartition, int] = {}
        self._consumer: AIOKafkaConsumer | None = None
        self.lanes = {name: Lane(name, events_in) for name in ("events", "room")}

    def assignment(self) -> set[TopicPartition]:
        """The partitions this writer's consumer holds now."""
        return set(self._consumer.assignment()) if self._consumer else set()

    def lane_of(self, topic: str) -> Lane:
        return self.lanes["room" if topic in ROOM_TOPICS else "events"]

    async def run(self, stop: asyncio.Event, ready: asyncio.Event | None = None) -> None:
        """Write until `stop` is set; the records fetched by then are written first."""
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.settings.bootstrap_servers,
            group_id=GROUP_ID,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_partition_fetch_bytes=8 * 1024 * 1024,
            fetch_max_bytes=64 * 1024 * 1024,
            # The intake writes report statuses in transactions: only committed ones are stored.
            isolation_level="read_committed",
        )
        consumer.subscribe(self.topics, listener=Revoked(self.lanes.values(), self._forget))
        await consumer.start()
        self._consumer = consumer
        if ready is not None:
            ready.set()
        try:
            # Each lane's chdb calls queue in the one executor thread, a statement at a time.
            async with asyncio.TaskGroup() as tasks:
                for lane in self.lanes.values():
                    tasks.create_task(self._write_lane(consumer, lane, stop))
                await self._fetch(consumer, stop)
        except ExceptionGroup as failed:  # a lane's failure is the writer's (a StoreError says why)
            raise failed.exceptions[0] from None
        finally:
            # Not committed on an exception: a batch that failed to insert must be read again.
            await consumer.stop()

    async def _fetch(self, consumer: AIOKafkaConsumer, stop: asyncio.Event) -> None:
        """Hand what the consumer returns to the lanes, until `stop`; pause a lane far behind."""
        loop = asyncio.get_running_loop()
        limit = self.settings.sink_batch_rows
        while not stop.is_set():
            polled = await consumer.getmany(timeout_ms=100, max_records=limit)
            now = loop.time()
            for tp, records in polled.items():
                self.lane_of(tp.topic).add(tp, records, now)
            for lane in self.lanes.values():
                mine = [tp for tp in consumer.assignment() if self.lane_of(tp.topic) is lane]
                if lane.events >= BEHIND * limit:
                    consumer.pause(*mine)
                else:
                    consumer.resume(*mine)
        for lane in self.lanes.values():
            lane.woken.set()

    async def _write_lane(self, consumer: AIOKafkaConsumer, lane: Lane, stop: asyncio.Event) -> None:
        """Write the lane's batches: sink_batch_rows events, or what came within sink_flush_ms
        (the room's: sink_room_flush_ms) of the first; commit after each, and at least that often
        (past commit markers)."""
        loop = asyncio.get_running_loop()
        settings = self.settings
        flush_s = (settings.sink_room_flush_ms if lane.name == "room" else settings.sink_flush_ms) / 1000
        while True:
            due = lane.since is not None and (lane.events >= self.settings.sink_batch_rows
                                              or loop.time() - lane.since >= flush_s)
            if due or (stop.is_set() and lane.pending):
                batch = lane.take(self.settings.sink_batch_rows)
                await self.write(batch)
                lane.done(batch)
            elif stop.is_set():
                break
            else:
                lane.woken.clear()
                wait = flush_s if lane.since is None else lane.since + flush_s - loop.time()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(lane.woken.wait(), max(wait, 0.001))
            await self._commit(consumer, lane)
        await self._commit(consumer, lane)

    async def write(self, batch: dict[TopicPartition, list[ConsumerRecord[bytes, bytes]]]) -> None:
        """Insert a polled batch, table by table, deduplicated by event id."""
        tables: dict[str, list[msgspec.Struct]] = defaultdict(list)
        for records in batch.values():
            for record in latest_incidents(records):
                for table, row in rows_of(record, self.calendar):
                    tables[table].append(row)
        loop = asyncio.get_running_loop()
        for table, rows in tables.items():
            if table in VERSIONED:
                await loop.run_in_executor(self.executor, self.store.insert_newer, table, rows,
                                           KEYS.get(table, "id"), table not in READ_FINAL)
            else:
                await loop.run_in_executor(self.executor, self.store.insert_new, table, rows)
            self.rows_written += len(rows)

    async def _commit(self, consumer: AIOKafkaConsumer, lane: Lane) -> None:
        """Commit how far the lane's partitions are written."""
        offsets = {}
        try:
            for tp in consumer.assignment():
                if self.lane_of(tp.topic) is not lane:
                    continue
                at = lane.written.get(tp)
                if lane.settled(tp):
                    # All it returned is written: its position, which also steps over the commit
                    # markers that end transactional topics (posko.report_status), no record after.
                    position = await asyncio.wait_for(consumer.position(tp), 5.0)
                    if lane.settled(tp):  # (nothing came for it meanwhile)
                        at = position
                if at is not None and at != self._committed.get(tp):
                    offsets[tp] = at
            if offsets:
                await consumer.commit(offsets)
                self._committed.update(offsets)
        except (KafkaError, TimeoutError) as exc:
            log.warning("commit failed (%r); will retry", exc)

    def _forget(self, revoked: set[TopicPartition]) -> None:
        for tp in revoked:
            self._committed.pop(tp, None)
