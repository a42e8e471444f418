"""Writing raw events to Kafka, keyed by region, with acks from all replicas; several events of one
kind and region go as one batched record (schemas/batch.py)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import msgspec
from aiokafka import AIOKafkaProducer

from posko.errors import PoskoError
from posko.kafka.delivery import deliver_all
from posko.settings import Settings
from schemas.batch import is_batch, join, packs
from schemas.events import Envelope, kind_of
from schemas.raw import RawMessage
from schemas.regions import PROVINCE_CODE
from schemas.topics import raw_topic

PUBLISHER = "raw_publisher"  # key of the shared RawPublisher in an HTTP connector app's state


class MessageRefused(PoskoError):
    """Kafka refused messages for good (larger than a raw topic takes); the others were sent."""


class RawPublisher:
    """An idempotent producer for posko.raw.<kind> that never drops a message."""

    def __init__(self, settings: Settings) -> None:
        self._producer = AIOKafkaProducer(
            bootstrap_servers=settings.bootstrap_servers,
            acks="all",
            enable_idempotence=True,
            linger_ms=5,
            max_batch_size=512 * 1024,
            request_timeout_ms=15_000,
        )

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
        resent = await deliver_all(send, records, instead)
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
