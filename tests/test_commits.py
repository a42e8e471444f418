"""RawCommits against a real broker: offsets are committed only in order, holes are told from markers."""

from __future__ import annotations

import asyncio
import uuid
from types import SimpleNamespace
from typing import Any

import faust
from aiokafka import AIOKafkaProducer, TopicPartition

from posko.settings import Settings
from streams.commits import RawCommits
from tests.conftest import produce


def delivered(topic: str, offsets: list[int]) -> list[Any]:
    """Records as the agent sees them: only where they came from matters here."""
    return [SimpleNamespace(message=SimpleNamespace(topic=topic, partition=0, offset=o)) for o in offsets]


async def transactional_records(settings: Settings, topic: str, transactions: int) -> None:
    """One record per committed transaction: each commit marker takes an offset of its own."""
    producer = AIOKafkaProducer(bootstrap_servers=settings.bootstrap_servers,
                                transactional_id=f"test-{uuid.uuid4().hex}")
    await producer.start()
    try:
        for n in range(transactions):
            async with producer.transaction():
                await producer.send_and_wait(topic, b"%d" % n, partition=0)
    finally:
        await producer.stop()


def commits_for(settings: Settings) -> RawCommits:
    app = faust.App(f"test-{uuid.uuid4().hex}", broker=f"kafka://{settings.bootstrap_servers}")
    return RawCommits(app, settings, group=f"test-group-{uuid.uuid4().hex}")


def test_records_in_order_from_the_group_commit_are_all_kept(settings: Settings) -> None:
    topic = f"test-commits-{uuid.uuid4().hex[:8]}"
    asyncio.run(produce(settings, [(topic, b"", b"x")] * 5))
    commits = commits_for(settings)
    kept, ahead = asyncio.run(commits.in_order(delivered(topic, [0, 1, 2, 3, 4])))
    assert [e.message.offset for e in kept] == [0, 1, 2, 3, 4]
    assert commits.next == {TopicPartition(topic, 0): 0}  # nothing committable before `done`
    commits.done(ahead)
    assert commits.next == {TopicPartition(topic, 0): 5}


def test_offsets_left_by_transaction_markers_are_not_a_hole(settings: Settings) -> None:
    topic = f"test-commits-{uuid.uuid4().hex[:8]}"
    asyncio.run(transactional_records(settings, topic, 3))  # records at 0, 2, 4; markers at 1, 3, 5
    commits = commits_for(settings)
    kept, ahead = asyncio.run(commits.in_order(delivered(topic, [0, 2, 4])))
    assert [e.message.offset for e in kept] == [0, 2, 4]
    commits.done(ahead)
    assert commits.next == {TopicPartition(topic, 0): 5}


def test_records_skipped_by_the_consumer_are_a_hole(settings: Settings) -> None:
    topic = f"test-commits-{uuid.uuid4().hex[:8]}"
    asyncio.run(produce(settings, [(topic, b"", b"x")] * 6))
    commits = commits_for(settings)
    assert asyncio.run(commits._hole(TopicPartition(topic, 0), 2, 5))
    assert not asyncio.run(commits._hole(TopicPartition(topic, 0), 2, 2))
