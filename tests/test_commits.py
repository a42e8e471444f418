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


def commits_for(settings: Settings, topic: str) -> RawCommits:
    app = faust.App(f"test-{uuid.uuid4().hex}", broker=f"kafka://{settings.bootstrap_servers}")
    return RawCommits(app, settings, f"test-group-{uuid.uuid4().hex}", [topic])


def test_records_in_order_from_the_group_commit_are_all_kept(settings: Settings) -> None:
    topic = f"test-commits-{uuid.uuid4().hex[:8]}"
    asyncio.run(produce(settings, [(topic, b"", b"x")] * 5))
    commits = commits_for(settings, topic)
    kept, ahead = asyncio.run(commits.in_order(delivered(topic, [0, 1, 2, 3, 4])))
    assert [e.message.offset for e in kept] == [0, 1, 2, 3, 4]
    assert commits.next == {TopicPartition(topic, 0): 0}  # nothing committable before `done`
    commits.done(ahead)
    assert commits.next == {TopicPartition(topic, 0): 5}


def test_offsets_left_by_transaction_markers_are_not_a_hole(settings: Settings) -> None:
    topic = f"test-commits-{uuid.uuid4().hex[:8]}"
    asyncio.run(transactional_records(settings, topic, 3))  # records at 0, 2, 4; markers at 1, 3, 5
    commits = commits_for(settings, topic)
    kept, ahead = asyncio.run(commits.in_order(delivered(topic, [0, 2, 4])))
    assert [e.message.offset for e in kept] == [0, 2, 4]
    commits.done(ahead)
    assert commits.next == {TopicPartition(topic, 0): 5}


def test_records_skipped_by_the_consumer_are_a_hole(settings: Settings) -> None:
    topic = f"test-commits-{uuid.uuid4().hex[:8]}"
    asyncio.run(produce(settings, [(topic, b"", b"x")] * 6))
    commits = commits_for(settings, topic)
    assert asyncio.run(commits._hole(TopicPartition(topic, 0), 2, 5))
    assert not asyncio.run(commits._hole(TopicPartition(topic, 0), 2, 2))


class FetchedPastConsumer:
    """Stands in for Faust's consumer in the state its fetch loop leaves when it drops the last
    records of a burst (not reproducible on demand): fetched up to `highwater`, none delivered."""

    def __init__(self, topic: str, highwater: int) -> None:
        self.tp, self.fetched_to = faust.types.TP(topic, 0), highwater
        self.sought: list[dict[Any, int]] = []

    def assignment(self) -> set[Any]:
        return {self.tp}

    def highwater(self, tp: Any) -> int:
        return self.fetched_to

    async def seek_wait(self, offsets: dict[Any, int]) -> None:
        self.sought.append(offsets)

    async def _commit(self, offsets: dict[Any, int]) -> bool:
        return True


def tail_commits(settings: Settings, topic: str, highwater: int,
                 committed: str | None = None) -> tuple[RawCommits, FetchedPastConsumer]:
    consumer = FetchedPastConsumer(topic, highwater)
    commits = RawCommits(faust.App(f"test-{uuid.uuid4().hex}"), settings, f"test-group-{uuid.uuid4().hex}",
                         [committed or topic])
    commits.app = SimpleNamespace(consumer=consumer)  # type: ignore[assignment]
    return commits, consumer


def test_records_dropped_at_the_tail_are_read_again_once_nothing_moves(
        settings: Settings, monkeypatch: Any) -> None:
    topic = f"test-commits-{uuid.uuid4().hex[:8]}"
    asyncio.run(produce(settings, [(topic, b"", b"x")] * 6))
    commits, consumer = tail_commits(settings, topic, highwater=6)
    kept, ahead = asyncio.run(commits.in_order(delivered(topic, [0, 1, 2])))  # 3, 4, 5 dropped
    commits.done(ahead)
    monkeypatch.setattr("streams.commits.TAIL_STILL_S", 0.0)
    asyncio.run(commits.commit())  # notes where the partition stands
    assert consumer.sought == []
    asyncio.run(commits.commit())  # still there: the broker holds 3..5, so rewind to 3
    assert consumer.sought == [{consumer.tp: 3}]
    # The rewind delivers them: the partition moves on and is committed to the end.
    kept, ahead = asyncio.run(commits.in_order(delivered(topic, [3, 4, 5])))
    commits.done(ahead)
    assert [e.message.offset for e in kept] == [3, 4, 5] and not commits.rewinding
    assert commits.next == {TopicPartition(topic, 0): 6}


def test_a_tail_of_transaction_markers_is_not_read_again(settings: Settings, monkeypatch: Any) -> None:
    topic = f"test-commits-{uuid.uuid4().hex[:8]}"
    asyncio.run(transactional_records(settings, topic, 3))  # records at 0, 2, 4; markers at 1, 3, 5
    commits, consumer = tail_commits(settings, topic, highwater=6)
    _, ahead = asyncio.run(commits.in_order(delivered(topic, [0, 2, 4])))
    commits.done(ahead)
    monkeypatch.setattr("streams.commits.TAIL_STILL_S", 0.0)
    asyncio.run(commits.commit())
    asyncio.run(commits.commit())
    assert consumer.sought == [] and not commits.rewinding


def test_partitions_of_topics_it_does_not_commit_are_never_rewound(
        settings: Settings, monkeypatch: Any) -> None:
    # The worker's consumer is also assigned the tables' changelogs: never RawCommits' to move.
    changelog = f"test-changelog-{uuid.uuid4().hex[:8]}"
    asyncio.run(produce(settings, [(changelog, b"", b"1")] * 4))
    commits, consumer = tail_commits(settings, changelog, highwater=4, committed="posko.raw.citizen_report")
    monkeypatch.setattr("streams.commits.TAIL_STILL_S", 0.0)
    asyncio.run(commits.commit())
    asyncio.run(commits.commit())
    assert consumer.sought == [] and commits.next == {} and not commits.rewinding
