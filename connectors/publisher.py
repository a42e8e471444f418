"""Writing raw events to Kafka, keyed by region, with acks from all replicas."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import msgspec
from aiokafka import AIOKafkaProducer

from posko.kafka.delivery import deliver_all
from posko.settings import Settings
from schemas.events import Envelope, kind_of
from schemas.raw import RawMessage
from schemas.regions import PROVINCE_CODE
from schemas.topics import raw_topic

PUBLISHER = "raw_publisher"  # key of the shared RawPublisher in an HTTP connector app's state


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
        """Send the messages and return once Kafka acknowledged every one (resends on failure)."""

        async def send(message: RawMessage) -> asyncio.Future[Any]:
            return await self._producer.send(raw_topic(message.kind), message.value,
                                             key=message.key or None)

        return await deliver_all(send, messages)


def raw_message(event: Envelope) -> RawMessage:
    """An event as a raw-topic record, keyed by its region (the province when it has none)."""
    key = (event.region or PROVINCE_CODE).encode()
    return RawMessage(kind_of(event), key, msgspec.json.encode(event), None)
