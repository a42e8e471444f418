"""Where a consumer group stands on its topics, read from the broker (not from the group's members)."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import msgspec
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import GroupCoordinatorNotAvailableError

from posko.settings import Settings
from schemas.topics import catalogue


class Position(msgspec.Struct, frozen=True):
    """A partition's last committed offset (0 when none) and its end offset."""

    committed: int
    end: int

    @property
    def lag(self) -> int:
        """Messages on the partition the group has not committed yet."""
        return max(self.end - self.committed, 0)


def partitions_of(settings: Settings, topic: str) -> int:
    """How many partitions a topic of the catalogue has (the setting's count for any other)."""
    for spec in catalogue(settings.partitions):
        if spec.name == topic:
            return spec.partitions
    return settings.partitions


def reader(settings: Settings, **options: Any) -> AIOKafkaConsumer:
    """A consumer for assigned partitions that joins no group and commits nothing."""
    # A group id of its own, never joined: aiokafka's consumer without any can raise
    # CancelledError from stop() (aio-libs/aiokafka#647).
    return AIOKafkaConsumer(bootstrap_servers=settings.bootstrap_servers, enable_auto_commit=False,
                            group_id=f"posko-reader-{uuid.uuid4().hex}", **options)


async def group_positions(
    settings: Settings, groups: dict[str, list[str]], timeout_s: float = 10.0
) -> dict[str, dict[TopicPartition, Position]]:
    """Committed and end offsets of every partition of each group's topics."""
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.bootstrap_servers,
                                request_timeout_ms=int(timeout_s * 1000))
    consumer = reader(settings, request_timeout_ms=int(timeout_s * 1000))
    try:
        async with asyncio.timeout(timeout_s):
            await admin.start()
            await consumer.start()
            positions = {}
            for group, topics in groups.items():
                tps = [TopicPartition(t, p) for t in topics for p in range(partitions_of(settings, t))]
                ends = await consumer.end_offsets(tps)
                committed = await admin.list_consumer_group_offsets(group)
                positions[group] = {
                    tp: Position(max(committed[tp].offset, 0) if tp in committed else 0, end)
                    for tp, end in ends.items()
                }
            return positions
    finally:
        await consumer.stop()
        await admin.close()


async def group_state(settings: Settings, group: str) -> tuple[str, int]:
    """A consumer group's state on the broker and its number of members."""
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.bootstrap_servers)
    await admin.start()
    try:
        [response] = await admin.describe_consumer_groups([group])
        [found] = response.to_object()["groups"]
        return found["state"], len(found["members"])
    except GroupCoordinatorNotAvailableError:  # a new broker: no group has ever existed
        return "Dead", 0
    finally:
        await admin.close()
