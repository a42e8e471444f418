"""The intake's memory of reports: the latest status of each, read back from posko.report_status.

The topic is compacted and keyed by tracking number, and every record carries the report's
whole follow-up, so reading it from the beginning rebuilds the state after any restart (of
this service, or of another instance writing to the same topic). Records are read with
`read_committed`: a submission whose transaction did not commit never shows up.
"""

from __future__ import annotations

import asyncio
import logging
import uuid

import msgspec
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from posko.kafka.topics import create_topics
from posko.settings import Settings
from schemas.events import ReportStatusChange
from schemas.topics import REPORT_STATUS

log = logging.getLogger("posko.intake")

RETRY_S = 2.0
_decoder = msgspec.json.Decoder(ReportStatusChange)


class ReportLedger:
    """Tracking number → latest status change, and submissions by idempotency key."""

    def __init__(self) -> None:
        self.reports: dict[str, ReportStatusChange] = {}
        self.submissions: dict[str, str] = {}
        self.loaded = asyncio.Event()

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
        )
        await consumer.start()
        try:
            tps = [TopicPartition(REPORT_STATUS, p) for p in await _partitions(settings)]
            consumer.assign(tps)
            await consumer.seek_to_beginning(*tps)
            ends = await consumer.end_offsets(tps)
            while not stop.is_set():
                batch = await consumer.getmany(timeout_ms=500)
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
        finally:
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
