"""The intake's memory of reports: the latest status of each, read back from posko.report_status.

The topic is compacted and keyed by tracking number, and every record carries the report's
whole follow-up, so reading it from the beginning rebuilds the state after any restart (of
this service, or of another instance writing to the same topic). Records are read with
`read_committed`: a submission whose transaction did not commit never shows up. Another intake's
records arrive within milliseconds; `catch_up` waits until all committed so far are in, for the
decisions that must see every intake's (an Idempotency-Key retried after its intake died).
"""

from __future__ import annotations

import asyncio
import logging
import uuid

import msgspec
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from posko.errors import PoskoError
from posko.kafka.topics import create_topics
from posko.settings import Settings
from schemas.events import ReportStatusChange
from schemas.topics import REPORT_STATUS

log = logging.getLogger("posko.intake")

RETRY_S = 2.0
FETCH_WAIT_MS = 20
FETCH_MIN_BYTES = 1
ALONE_FETCH_WAIT_MS = 500
ALONE_FETCH_MIN_BYTES = 1024 * 1024
CATCH_UP_S = 5.0
VISIBLE_S = 2.0
VISIBLE_POLL_S = 0.002
_decoder = msgspec.json.Decoder(ReportStatusChange)


class LedgerBehind(PoskoError, RuntimeError):
    """The ledger could not read posko.report_status up to date in time."""


class ReportLedger:
    """Tracking number → latest status change, and submissions by idempotency key."""

    def __init__(self, shared: bool = False) -> None:
        # Shared: other intakes write to the topic too, and a decision may need their latest.
        self.shared = shared
        self.reports: dict[str, ReportStatusChange] = {}
        self.submissions: dict[str, str] = {}
        self.loaded = asyncio.Event()
        self._consumer: AIOKafkaConsumer | None = None
        self._read = asyncio.Condition()  # notified after every read from the topic
        self._waiting: asyncio.Future[None] | None = None  # callers of catch_up not asked for yet
        self._asking: asyncio.Task[None] | None = None
        self._reaching: set[asyncio.Task[None]] = set()

    async def catch_up(self) -> None:
        """Return once every record committed before the call is applied (what other intakes wrote)."""
        if not self.shared:  # nobody else writes: what this intake wrote is applied already
            return
        if self._waiting is None:
            self._waiting = asyncio.get_running_loop().create_future()
            if self._asking is None or self._asking.done():
                self._asking = asyncio.create_task(self._ask_ends())
        await asyncio.shield(self._waiting)

    async def _ask_ends(self) -> None:
        # Callers waiting together share one ListOffsets request, asked after they all arrived
        # (so none misses a record committed before its call); one request is in flight at a time.
        while (waiting := self._waiting) is not None:
            self._waiting = None
            try:
                async with asyncio.timeout(CATCH_UP_S):
                    consumer = await self._reading()
                    ends = await consumer.end_offsets(list(consumer.assignment()))  # read_committed: LSO
            except Exception as exc:
                self._fail(waiting, exc)
                continue
            self._reaching.add(task := asyncio.create_task(self._reach(consumer, ends, waiting)))
            task.add_done_callback(self._reaching.discard)

    async def visible(self, written: dict[TopicPartition, int]) -> None:
        """Return once records up to these offsets are readable with read_committed (or after VISIBLE_S)."""
        # A commit is acknowledged before the broker has written its markers: until then
        # read_committed readers (another intake catching up for an Idempotency-Key) do not see
        # it. A 202 waits for them, usually a millisecond or two.
        consumer = self._consumer if self.shared else None
        deadline = asyncio.get_running_loop().time() + VISIBLE_S
        while consumer is not None and asyncio.get_running_loop().time() < deadline:
            try:
                ends = await consumer.end_offsets(list(written))
            except Exception as exc:
                log.warning("cannot tell whether committed reports are readable yet: %r", exc)
                return
            if all(ends[tp] > offset for tp, offset in written.items()):
                return
            await asyncio.sleep(VISIBLE_POLL_S)

    async def _reading(self) -> AIOKafkaConsumer:
        async with self._read:
            while self._consumer is None or not self.loaded.is_set():
                await self._read.wait()
            return self._consumer

    async def _reach(self, consumer: AIOKafkaConsumer, ends: dict[TopicPartition, int],
                     waiting: asyncio.Future[None]) -> None:
        try:
            async with asyncio.timeout(CATCH_UP_S), self._read:
                while not all([await consumer.position(tp) >= end for tp, end in ends.items()]):
                    await self._read.wait()
        except Exception as exc:
            self._fail(waiting, exc)
        else:
            waiting.set_result(None)

    @staticmethod
    def _fail(waiting: asyncio.Future[None], exc: Exception) -> None:
        waiting.set_exception(LedgerBehind(f"the report statuses could not be read up to date ({exc!r})"))
        waiting.exception()  # retrieved: no warning when every caller has gone

    def apply(self, change: ReportStatusChange) -> None:
        """Take a status change into account (a stale or repeated one changes nothing)."""
        if change.report is not None:  # the relay forwards it; the ledger needs only the status
            change = msgspec.structs.replace(change, report=None)
        current = self.reports.get(change.tracking)
        if current is None or len(change.history) >= len(current.history):
            self.reports[change.tracking] = change
        if change.idempotency:
            self.submissions[change.idempotency] = change.tracking

    async def follow(self, settings: Settings, stop: asyncio.Event) -> None:
        """Read the topic from the beginning, set `loaded` once caught up, then keep following."""
        while not stop.is_set():
            try:
                await self._follow(settings, stop)
            except Exception as exc:
                log.warning("cannot read %s (%s); retrying in %.0f s", REPORT_STATUS, exc, RETRY_S)
                await asyncio.sleep(RETRY_S)

    async def _follow(self, settings: Settings, stop: asyncio.Event) -> None:
        await create_topics(settings)
        consumer = AIOKafkaConsumer(
            bootstrap_servers=settings.bootstrap_servers, group_id=f"posko-intake-{uuid.uuid4().hex}",
            enable_auto_commit=False, auto_offset_reset="earliest", isolation_level="read_committed",
            # Alone, no catch-up waits for a fetch: fetch seldom, in large batches. Side by side
            # a new Idempotency-Key waits for one: it returns as soon as a committed record is
            # there (at 64 KiB each fetch waited its FETCH_WAIT_MS: two intakes passed 660-705
            # reports/s in bench intake instead of 970-1,000).
            fetch_max_wait_ms=FETCH_WAIT_MS if self.shared else ALONE_FETCH_WAIT_MS,
            fetch_min_bytes=FETCH_MIN_BYTES if self.shared else ALONE_FETCH_MIN_BYTES,
        )
        await consumer.start()
        try:
            tps = [TopicPartition(REPORT_STATUS, p) for p in await _partitions(settings)]
            consumer.assign(tps)
            await consumer.seek_to_beginning(*tps)
            ends = await consumer.end_offsets(tps)
            self._consumer = consumer
            while not stop.is_set():
                batch = await consumer.getmany(timeout_ms=FETCH_WAIT_MS)
                for records in batch.values():
                    for record in records:
                        try:
                            self.apply(_decoder.decode(record.value or b""))
                        except msgspec.DecodeError as exc:
                            log.warning("skipping unreadable status record at %s/%s: %s",
                                        record.partition, record.offset, exc)
                if not self.loaded.is_set() and all(
                    [await consumer.position(tp) >= end for tp, end in ends.items()]
                ):
                    log.info("report statuses loaded: %d reports", len(self.reports))
                    self.loaded.set()
                async with self._read:
                    self._read.notify_all()
        finally:
            self._consumer = None
            await consumer.stop()


async def _partitions(settings: Settings) -> list[int]:
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.bootstrap_servers)
    await admin.start()
    try:
        [described] = await admin.describe_topics([REPORT_STATUS])
    finally:
        await admin.close()
    partitions = sorted(p["partition"] for p in described["partitions"])
    if not partitions:
        raise RuntimeError(f"topic {REPORT_STATUS} has no partitions: run posko topics create")
    return partitions
