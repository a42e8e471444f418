"""The intake's relay: accepted reports from posko.report_status onto posko.raw.citizen_report.

The intake answers 202 once a report's first status record (which carries the report) is
committed; this relay then publishes the report as a raw event and commits its offset after
Kafka acknowledged it. Redelivery after a crash sends a report again with the same event id,
which the ClickHouse sink stores once.
"""

from __future__ import annotations

import asyncio
import logging

import msgspec
from aiokafka import AIOKafkaConsumer

from connectors.publisher import RawPublisher
from posko.settings import Settings
from schemas.events import Kind, ReportStatus
from schemas.raw import RawMessage
from schemas.topics import REPORT_STATUS

log = logging.getLogger("posko.intake")

RELAY_GROUP = "posko-intake-relay"
RETRY_S = 2.0
# The relay is off the path of the 202: it reads larger batches, less often (a fetch a record
# costs the broker more than the record), a report reaching the raw topic at most this much later.
FETCH_WAIT_MS = 250
FETCH_MIN_BYTES = 1024 * 1024


class _Outbox(msgspec.Struct):
    """What the relay reads of a status record: the report it carries, as it was encoded."""

    status: ReportStatus
    region: str | None = None
    report: msgspec.Raw = msgspec.Raw()


_decoder = msgspec.json.Decoder(_Outbox)


def reports_in(values: list[bytes | None]) -> list[RawMessage]:
    """The raw report events carried by first status records."""
    messages = []
    for value in values:
        try:
            change = _decoder.decode(value or b"")
        except msgspec.DecodeError as exc:
            log.warning("relay: skipping an unreadable status record: %s", exc)
            continue
        if change.status is ReportStatus.DITERIMA and change.report and bytes(change.report) != b"null":
            # The report's bytes as the intake encoded them: the worker validates them.
            messages.append(RawMessage(Kind.CITIZEN_REPORT, (change.region or "").encode(),
                                       bytes(change.report), None))
    return messages


async def relay_reports(settings: Settings, stop: asyncio.Event) -> None:
    """Forward accepted reports until `stop` is set, starting again after any failure."""
    while not stop.is_set():
        try:
            await _relay(settings, stop)
        except Exception as exc:
            log.warning("relay stopped (%r); starting again in %.0f s", exc, RETRY_S)
            await asyncio.sleep(RETRY_S)


async def _relay(settings: Settings, stop: asyncio.Event) -> None:
    consumer = AIOKafkaConsumer(
        REPORT_STATUS, bootstrap_servers=settings.bootstrap_servers, group_id=RELAY_GROUP,
        enable_auto_commit=False, auto_offset_reset="earliest", isolation_level="read_committed",
        fetch_max_wait_ms=FETCH_WAIT_MS, fetch_min_bytes=FETCH_MIN_BYTES,
    )
    await consumer.start()
    try:
        async with RawPublisher(settings) as publisher:
            while not stop.is_set():
                batch = await consumer.getmany(timeout_ms=500)
                if not batch:
                    continue
                messages = reports_in([record.value for records in batch.values() for record in records])
                if messages:
                    await publisher.publish(messages)
                await consumer.commit({tp: records[-1].offset + 1 for tp, records in batch.items()})
    finally:
        await consumer.stop()
