"""Writing raw events to Kafka, keyed by region, with acks from all replicas."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import msgspec
from aiokafka import AIOKafkaProducer

from posko.errors import PoskoError
from posko.kafka.delivery import deliver_all
from posko.settings import Settings
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

    async def publish(self, messages: Sequence[RawMessage]) -> int:
        """Send the messages and return once Kafka acknowledged every one (resends on failure).

        Raises MessageRefused, once all the others are on Kafka, for messages too large for it:
        sending them again can never succeed, and dropping them silently would lose them.
        """
        refused: list[RawMessage] = []

        async def send(message: RawMessage) -> asyncio.Future[Any]:
            return await self._producer.send(raw_topic(message.kind), message.value,
                                             key=message.key or None)

        def instead(message: RawMessage, error: Exception) -> list[RawMessage]:
            refused.append(message)
            return []

        resent = await deliver_all(send, messages, instead)
        if refused:
            largest = max(len(m.value) for m in refused)
            raise MessageRefused(
                f"{len(refused)} of {len(messages)} message(s) not sent: larger than Kafka takes on "
                f"{raw_topic(refused[0].kind)} (the largest is {largest:,} bytes); shorten or split "
                "them. The other messages were sent.")
        return resent


def raw_message(event: Envelope) -> RawMessage:
    """An event as a raw-topic record, keyed by its region (the province when it has none)."""
    key = (event.region or PROVINCE_CODE).encode()
    return RawMessage(kind_of(event), key, msgspec.json.encode(event), None)
