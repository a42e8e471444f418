"""The SLA clocks of citizen reports: a report past its LAPOR! deadline escalates, once per step.

Runs in every stream worker, as a task of the Faust app. It does not use Faust's consumer:
- posko.report_status is written in Kafka transactions, and the intake aborts one that Kafka did
  not take in time (the citizen was told 503). Faust's consumer reads uncommitted records
  (faust/transport/drivers/aiokafka.py:571, read_committed only under exactly_once), so it
  would start clocks for reports that were never accepted. This consumer reads committed ones.
- Its state needs no changelog and its offsets no commit: the topic is compacted by tracking
  number and every record carries the report's whole history, so the latest record of every
  report *is* the state. On every assignment the partitions are read from their beginning (the
  group never commits, so it starts there), and a report's clock fires only once its partition
  was read up to the end it had at assignment. Faust's record-dropping bugs (streams/
  faust_workarounds.py) do not reach it: aiokafka's own consumer delivers every record.
- What fired is what is on posko.escalations (streams/escalation_log.py): it is read to its end
  before any clock fires, and a step is remembered only once Kafka acknowledged it. Killed at any
  moment, the worker after its restart fires a step that was not acknowledged and never one that
  was; the step's id is derived from (tracking, stage, level), so a duplicate is recognisable.

The consumer group (posko-stream-sla) shares the report partitions out among the workers; a
revoked partition's reports are forgotten only after the step being sent is acknowledged, so the
next owner reads it back.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime, timedelta

import faust
import msgspec
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition

from posko.settings import Settings
from schemas.events import ReportStatusChange, utc_now
from schemas.incidents import EscalationSubject
from schemas.report_sla import SlaClock, escalation, open_clock
from schemas.topics import DAY_MS, ESCALATIONS, REPORT_STATUS, catalogue
from schemas.workdays import WorkingCalendar
from streams.escalation_log import FiredSteps

log = logging.getLogger("posko.stream")

GROUP = "posko-stream-sla"
TICK_S = 1.0
RETRY_S = 2.0
# A step due longer ago than posko.escalations keeps its records is not fired: its record may
# have been deleted, and a step that late was fired long ago (or the worker was down for months).
_RETENTION_MS = next(t.retention_ms for t in catalogue() if t.name == ESCALATIONS)
STALE_AFTER = timedelta(milliseconds=_RETENTION_MS - DAY_MS)

_decoder = msgspec.json.Decoder(ReportStatusChange)
_encoder = msgspec.json.Encoder()


class OpenReport(msgspec.Struct, frozen=True):
    """A report with a clock running, and the partition it came from."""

    partition: int
    change: ReportStatusChange
    clock: SlaClock


class SlaClocks:
    """Follows posko.report_status and fires the escalations of reports past their deadline."""

    def __init__(self, settings: Settings, clock: Callable[[], datetime] | None = None) -> None:
        self.settings = settings
        self.calendar = WorkingCalendar(settings.cuti_bersama_dates)
        offset = timedelta(seconds=settings.clock_offset_s)
        self.now = clock or (lambda: utc_now() + offset)
        self.reports: dict[str, OpenReport] = {}
        self.fired: FiredSteps | None = None
        self.catching_up: dict[int, int] = {}  # partition: the end offset it must be read to
        self.ready: set[int] = set()  # partitions read to that end: their clocks may fire
        self._lock = asyncio.Lock()
        self._consumer: AIOKafkaConsumer | None = None

    async def run(self) -> None:
        """Run until cancelled, starting again (from the log) after any failure."""
        while True:
            try:
                await self._run()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("the SLA clocks stopped (%r); starting again in %.0f s", exc, RETRY_S)
                await asyncio.sleep(RETRY_S)

    async def _run(self) -> None:
        self.reports.clear()
        self.catching_up.clear()
        self.ready.clear()
        self.fired = FiredSteps(self.settings, EscalationSubject.REPORT_SLA)
        instance = self.settings.worker_instance
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.settings.bootstrap_servers, group_id=GROUP,
            group_instance_id=f"{instance}-sla" if instance else None,
            enable_auto_commit=False, auto_offset_reset="earliest", isolation_level="read_committed",
            session_timeout_ms=10_000, heartbeat_interval_ms=2_000, fetch_max_wait_ms=100)
        producer = AIOKafkaProducer(bootstrap_servers=self.settings.bootstrap_servers, acks="all",
                                    enable_idempotence=True)
        self._consumer = consumer
        try:
            await self.fired.start()
            await self.fired.catch_up()
            await producer.start()
            await consumer.start()
            consumer.subscribe([REPORT_STATUS], listener=_Rebalance(self))
            next_tick = 0.0
            loop = asyncio.get_running_loop()
            while True:
                batch = await consumer.getmany(timeout_ms=int(TICK_S * 500))
                async with self._lock:
                    for tp, records in batch.items():
                        for record in records:
                            self._apply(tp.partition, record.key, record.value)
                    await self._mark_ready(consumer)
                    if loop.time() >= next_tick:
                        next_tick = loop.time() + TICK_S
                        await self._fire(producer)
        finally:
            self._consumer = None
            await consumer.stop()
            await producer.stop()
            await self.fired.stop()

    def _apply(self, partition: int, key: bytes | None, value: bytes | None) -> None:
        if value is None:  # a tombstone: the report is gone
            self.reports.pop((key or b"").decode(errors="replace"), None)
            return
        try:
            change = _decoder.decode(value)
        except msgspec.DecodeError as exc:
            log.warning("an unreadable record on %s/%d is skipped: %s", REPORT_STATUS, partition, exc)
            return
        known = self.reports.get(change.tracking)
        if known is not None and len(change.history) < len(known.change.history):
            return  # an older record read again: the history only grows
        clock = open_clock(change, self.calendar)
        if clock is None:
            self.reports.pop(change.tracking, None)
        else:
            self.reports[change.tracking] = OpenReport(partition, change, clock)

    async def _mark_ready(self, consumer: AIOKafkaConsumer) -> None:
        assigned = consumer.assignment()
        for partition, end in list(self.catching_up.items()):
            tp = TopicPartition(REPORT_STATUS, partition)
            if tp in assigned and await consumer.position(tp) >= end:
                del self.catching_up[partition]
                self.ready.add(partition)

    async def _fire(self, producer: AIOKafkaProducer) -> None:
        """Send the escalation of every report past its deadline whose step has not fired."""
        assert self.fired is not None
        now = self.now()
        due = []
        for report in self.reports.values():
            clock = report.clock
            if report.partition not in self.ready or clock.due_at > now:
                continue
            step = escalation(report.change, clock, now)
            if step.id in self.fired.ids:
                continue
            if clock.due_at < now - STALE_AFTER:
                log.warning("report %s was due %s, before posko.escalations keeps records: not "
                            "escalated again", report.change.tracking, clock.due_at.isoformat())
                self.fired.ids.add(step.id)
                continue
            due.append(step)
        if not due:
            return
        sent = [await producer.send(ESCALATIONS, _encoder.encode(step), key=step.subject_id.encode())
                for step in due]
        await asyncio.gather(*sent)  # a failure ends the run: started again, it reads back what was sent
        for step in due:
            self.fired.ids.add(step.id)
            log.info("report %s past its %s deadline (%s): escalated to %s", step.subject_id,
                     step.stage, step.due_at.isoformat(), step.role)

    async def assigned(self, partitions: set[TopicPartition]) -> None:
        """New partitions: read them from the beginning, and what fired to its end, before firing."""
        consumer = self._consumer
        if consumer is None or not partitions:
            return
        async with self._lock:
            await consumer.seek_to_beginning(*partitions)
            ends = await consumer.end_offsets(list(partitions))
            for tp in partitions:
                self.catching_up[tp.partition] = ends[tp]
            assert self.fired is not None
            await self.fired.catch_up()  # what the partitions' earlier owner fired

    async def revoked(self, partitions: set[TopicPartition]) -> None:
        """Partitions gone (after the step being sent is acknowledged): forget their reports."""
        async with self._lock:
            gone = {tp.partition for tp in partitions}
            for tracking in [t for t, r in self.reports.items() if r.partition in gone]:
                del self.reports[tracking]
            for partition in gone:
                self.catching_up.pop(partition, None)
                self.ready.discard(partition)


class _Rebalance(ConsumerRebalanceListener):
    def __init__(self, clocks: SlaClocks) -> None:
        self.clocks = clocks

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        await self.clocks.revoked(set(revoked))

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        await self.clocks.assigned(set(assigned))


def register_sla_clocks(app: faust.App, settings: Settings) -> SlaClocks:
    """Run the report SLA clocks in the app's workers."""
    clocks = SlaClocks(settings)

    async def report_sla_clocks() -> None:
        await clocks.run()

    app.task(report_sla_clocks)
    return clocks
