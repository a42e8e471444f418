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


async def adopt_offsets(settings: Settings, from_group: str, to_group: str, topics: list[str],
                        timeout_s: float = 60.0) -> dict[TopicPartition, int]:
    """Commit for `to_group` the offsets `from_group` committed on `topics`, on every partition
    `to_group` has none of: a group taking over topics another group read before goes on where
    that one stopped, not from the beginning. Returns the offsets adopted."""
    tps = [TopicPartition(t, p) for t in topics for p in range(partitions_of(settings, t))]
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.bootstrap_servers)
    deadline = asyncio.get_running_loop().time() + timeout_s
    await admin.start()
    try:
        while True:  # a new broker has no coordinator until its offsets topic is made
            try:
                theirs = await admin.list_consumer_group_offsets(from_group, partitions=tps)
                ours = await admin.list_consumer_group_offsets(to_group, partitions=tps)
                break
            except GroupCoordinatorNotAvailableError:
                if asyncio.get_running_loop().time() > deadline:
                    raise
                await asyncio.sleep(0.5)
    finally:
        await admin.close()
    wanted = {tp: meta.offset for tp, meta in theirs.items()
              if meta.offset >= 0 and (tp not in ours or ours[tp].offset < 0)}
    if wanted:  # the group has no member yet: the part that reads it starts after this
        await commit_as(settings, to_group, wanted)
    return wanted


async def commit_as(settings: Settings, group: str, offsets: dict[TopicPartition, int]) -> None:
    """Commit offsets for a group with no member, by a consumer that joins no generation."""
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.bootstrap_servers, group_id=group,
                                enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign(list(offsets))
        await consumer.commit(offsets)
    finally:
        await consumer.stop()
