"""Writing raw events to Kafka, keyed by region, with acks from all replicas; several events of one
kind and region go as one batched record (schemas/batch.py)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

import msgspec
from aiokafka import AIOKafkaProducer
from aiokafka.errors import OutOfOrderSequenceNumber, UnknownProducerId

from posko.errors import PoskoError
from posko.kafka.delivery import deliver_all
from posko.settings import Settings
from schemas.batch import is_batch, join, packs
from schemas.events import Envelope, kind_of
from schemas.raw import RawMessage
from schemas.regions import PROVINCE_CODE
from schemas.topics import raw_topic

log = logging.getLogger("posko.publisher")

# Failures that resending through the same idempotent producer never gets past.
LOST_SEQUENCE = (OutOfOrderSequenceNumber, UnknownProducerId)
STOP_S = 10.0
PUBLISHER = "raw_publisher"  # key of the shared RawPublisher in an HTTP connector app's state


class MessageRefused(PoskoError):
    """Kafka refused messages for good (larger than a raw topic takes); the others were sent."""


class RawPublisher:
    """An idempotent producer for posko.raw.<kind> that never drops a message."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._producer = self._new_producer()

    def _new_producer(self) -> AIOKafkaProducer:
        return AIOKafkaProducer(
            bootstrap_servers=self._settings.bootstrap_servers,
            acks="all",
            enable_idempotence=True,
            linger_ms=5,
            max_batch_size=512 * 1024,
            request_timeout_ms=15_000,
        )

    async def _recover(self, errors: list[Exception]) -> None:
        """After a broker restart the idempotent producer's sequence numbers may be refused for
        good (OutOfOrderSequenceNumber on every resend): a new producer, with a new producer id,
        sends them again. A message the broker kept before is then a second copy of the same
        event, which ClickHouse keeps once (rows are keyed by event id)."""
        if not any(isinstance(e, LOST_SEQUENCE) for e in errors):
            return
        log.warning("Kafka refuses this producer's sequence (%r): starting a new producer", errors[0])
        try:
            await asyncio.wait_for(self._producer.stop(), STOP_S)
        except Exception as exc:  # stopping the old one is best effort
            log.warning("the old producer did not stop cleanly (%r)", exc)
        self._producer = self._new_producer()
        await self._producer.start()

    async def __aenter__(self) -> RawPublisher:
        await self._producer.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._producer.stop()

    async def publish(self, messages: Sequence[RawMessage], batched: bool = True) -> int:
        """Send the messages and return once Kafka acknowledged every one (resends on failure);
        in batched records unless `batched` is false (one a record, as outside senders write).

        Raises MessageRefused, once all the others are on Kafka, for messages too large for it:
        sending them again can never succeed, and dropping them silently would lose them.
        """
        refused: list[RawMessage] = []

        async def send(pack: list[RawMessage]) -> asyncio.Future[Any]:
            first = pack[0]
            value = first.value if len(pack) == 1 else join(m.value for m in pack)
            return await self._producer.send(raw_topic(first.kind), value, key=first.key or None)

        def instead(pack: list[RawMessage], error: Exception) -> list[list[RawMessage]]:
            if len(pack) > 1:  # which one is too large is not known: each goes alone
                return [[message] for message in pack]
            refused.append(pack[0])
            return []

        records = packed(messages) if batched else [[message] for message in messages]
        resent = await deliver_all(send, records, instead, self._recover)
        if refused:
            largest = max(len(m.value) for m in refused)
            raise MessageRefused(
                f"{len(refused)} of {len(messages)} message(s) not sent: larger than Kafka takes on "
                f"{raw_topic(refused[0].kind)} (the largest is {largest:,} bytes); shorten or split "
                "them. The other messages were sent.")
        return resent


def packed(messages: Sequence[RawMessage]) -> list[list[RawMessage]]:
    """The messages in the records to send: one record per batch of a kind and key (in their
    order). Alone: a deliberately malformed one (the simulator's), as an outside sender's would
    be, and one written over several lines (a replayed pretty-printed event), which is no line."""
    groups: dict[tuple[str, bytes], list[RawMessage]] = {}
    alone: list[list[RawMessage]] = []
    for message in messages:
        if message.flaw is not None or is_batch(message.value):
            alone.append([message])
        else:
            groups.setdefault((message.kind, message.key), []).append(message)
    return [list(run) for group in groups.values()
            for run in packs(group, lambda m: m.value)] + alone


def raw_message(event: Envelope) -> RawMessage:
    """An event as a raw-topic record, keyed by its region (the province when it has none)."""
    key = (event.region or PROVINCE_CODE).encode()
    return RawMessage(kind_of(event), key, msgspec.json.encode(event), None)
