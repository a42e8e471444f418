"""The sink's lanes: records one consumer fetched, waiting to be written, a lane per set of topics.

The room's state (a whole incident a record, a row per signal, versions replacing versions) takes
far longer to write than the events: in a lane of its own, an event's row never waits for it.
And the consumer goes on fetching while a lane writes, so a batch is gathered during the write
before it, not after it (produce → row p99 at 1,000 events/s: 3.1 s before, docs/benchmarks.md).
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Callable, Iterable

from aiokafka import ConsumerRebalanceListener, ConsumerRecord, TopicPartition

Batch = dict[TopicPartition, list[ConsumerRecord[bytes, bytes]]]


class Lane:
    """Fetched records of some topics not yet written, and how far each partition is written."""

    def __init__(self, name: str, size: Callable[[ConsumerRecord[bytes, bytes]], int]) -> None:
        self.name = name
        self._size = size  # the events a record carries
        self.pending: Batch = defaultdict(list)
        self.events = 0
        self.since: float | None = None  # when the oldest pending record came (the loop's clock)
        self.writing: set[TopicPartition] = set()  # the partitions of the batch being written
        self.written: dict[TopicPartition, int] = {}  # the offset after the last record written
        self.woken = asyncio.Event()  # records came, or the writer stops

    def add(self, tp: TopicPartition, records: list[ConsumerRecord[bytes, bytes]], now: float) -> None:
        """Records the consumer returned, in their order."""
        self.pending[tp].extend(records)
        self.events += sum(map(self._size, records))
        if self.since is None:
            self.since = now
        self.woken.set()

    def take(self, limit: int) -> Batch:
        """The next batch to write: the pending records in their order, up to `limit` events
        (a record's events are never split)."""
        batch: Batch = {}
        taken = 0
        for tp in list(self.pending):
            records = self.pending[tp]
            n = 0
            while n < len(records) and taken < limit:
                taken += self._size(records[n])
                n += 1
            if n:
                batch[tp], self.pending[tp] = records[:n], records[n:]
            if not self.pending[tp]:
                del self.pending[tp]
        self.events -= taken
        self.writing = set(batch)
        if not self.pending:
            self.since = None
        return batch

    def done(self, batch: Batch) -> None:
        """The batch is written: its partitions may be committed past it."""
        for tp, records in batch.items():
            self.written[tp] = records[-1].offset + 1
        self.writing = set()

    def settled(self, tp: TopicPartition) -> bool:
        """Every record of the partition the consumer returned is written."""
        return tp not in self.pending and tp not in self.writing

    def drop(self, partitions: Iterable[TopicPartition]) -> None:
        """Partitions taken away by a rebalance: their records will be fetched again by their owner."""
        for tp in partitions:
            self.events -= sum(map(self._size, self.pending.pop(tp, [])))
            self.written.pop(tp, None)


class Revoked(ConsumerRebalanceListener):
    """Forget the pending records of partitions a rebalance took away."""

    def __init__(self, lanes: Iterable[Lane], forget: Callable[[set[TopicPartition]], None]) -> None:
        self.lanes, self.forget = list(lanes), forget

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        for lane in self.lanes:
            lane.drop(revoked)
        self.forget(set(revoked))

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        pass
