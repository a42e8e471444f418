"""The worker's own offset bookkeeping for the raw topics: it commits only what it processed, in order.

Faust (0.15.3) can lose raw records around a rebalance or a broker restart when it commits
them (why: streams/faust_workarounds.py, `unacked_topic`). So the raw topics are declared
with acks off, Faust commits nothing for them, and `RawCommits` follows every partition from
the group's committed offset: a record is committed once it and every record before it went
through the agent. When a record arrives beyond the next one
expected and the broker still holds the ones in between, the partition is rewound to them;
records past the hole are held back until the rewind delivers them again. A hole at the tail
(the last records of a burst dropped, nothing after them to reveal it) is found by the commit
timer: the consumer has fetched past the last record processed, and nothing moved for a while.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable, Sequence
from typing import Any

import faust
from aiokafka import TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError
from faust.types import TP, EventT

from posko.kafka.offsets import reader
from posko.settings import Settings
from streams.faust_workarounds import commit_offsets, rewind

log = logging.getLogger("posko.stream")

REWIND_AGAIN_S = 0.5
# A partition whose records were fetched but none processed for this long is checked for a
# tail hole. A batch takes well under a second even on a loaded machine; a rewind that was not
# needed costs only records processed twice (the sinks are idempotent).
TAIL_STILL_S = 5.0
# How long a probe reads before it gives up telling a hole from transaction markers.
PROBE_S = 5.0


class RawCommits:
    """Which raw records may be processed now, and the offsets to commit once they were."""

    def __init__(self, app: faust.App, settings: Settings, group: str, topics: Iterable[str]) -> None:
        self.app, self.settings, self.group = app, settings, group
        # The topics it commits: the consumer is also assigned others (the tables' changelogs)
        # that it must never rewind nor commit.
        self.topics = frozenset(topics)
        self.next: dict[TopicPartition, int] = {}
        self.rewinding: dict[TopicPartition, float] = {}  # partition: when it was last sought
        self._sent: dict[TopicPartition, int] = {}
        # partition: (next offset, since when it has not moved), for the tail-hole check
        self._still: dict[TopicPartition, tuple[int, float]] = {}
        self._lock = asyncio.Lock()
        app.on_partitions_revoked.connect(self._on_revoked)

    async def in_order(
        self, batch: Sequence[EventT[Any]]
    ) -> tuple[list[EventT[Any]], dict[TopicPartition, int]]:
        """The events of `batch` that continue their partitions, and the offsets to commit once
        their output is on Kafka (pass them to `done`); rewinds partitions with a hole."""
        async with self._lock:
            kept = []
            ahead: dict[TopicPartition, int] = {}
            for event in batch:
                tp = _tp(event)
                offset = event.message.offset
                if tp not in self.next:
                    self.next[tp] = await self._committed(tp)
                expected = ahead.get(tp, self.next[tp])
                if offset < expected:  # a record processed before, delivered again: harmless
                    kept.append(event)
                elif offset == expected or not await self._hole(tp, expected, offset):
                    ahead[tp] = offset + 1
                    self.rewinding.pop(tp, None)
                    kept.append(event)
                else:
                    await self._rewind(tp, expected, offset)
            return kept, ahead

    def done(self, ahead: dict[TopicPartition, int]) -> None:
        """Mark records as processed: their output is durable, their offsets may be committed."""
        for tp, offset in ahead.items():
            if offset > self.next.get(tp, -1):
                self.next[tp] = offset

    async def _rewind(self, tp: TopicPartition, expected: int, offset: int) -> None:
        if tp not in self.rewinding:
            log.warning("records %s/%d from offset %d were not delivered by the consumer (it is at "
                        "%d); reading them again", tp.topic, tp.partition, expected, offset)
            self.rewinding[tp] = 0.0
        await self._seek(tp)

    async def _seek(self, tp: TopicPartition) -> None:
        # Records Faust fetched before a seek still arrive after it and move its read offset past
        # the rewound ones again, so the seek is repeated (here and from the commit timer) until
        # they come.
        now = time.monotonic()
        if now - self.rewinding[tp] >= REWIND_AGAIN_S:
            self.rewinding[tp] = now
            try:
                await rewind(self.app, {_faust_tp(tp): self.next[tp]})
            except Exception as exc:  # tried again from the commit timer
                log.warning("could not rewind %s/%d to %d: %r", tp.topic, tp.partition,
                            self.next[tp], exc)

    async def commit(self) -> None:
        """Commit, for every partition, the offset after the last record processed in order."""
        async with self._lock:
            await self._find_tail_holes()
            for tp in list(self.rewinding):
                await self._seek(tp)
        moved = {tp: offset for tp, offset in self.next.items() if self._sent.get(tp) != offset}
        if not moved:
            return
        offsets = {_faust_tp(tp): offset for tp, offset in moved.items()}
        if await commit_offsets(self.app, offsets):
            self._sent.update(moved)

    async def _find_tail_holes(self) -> None:
        """Rewind partitions whose consumer fetched past the last record processed, when no
        record has come through for TAIL_STILL_S and the broker holds records there."""
        now = time.monotonic()
        for assigned in self.app.consumer.assignment():
            if assigned.topic not in self.topics:
                continue
            tp = TopicPartition(assigned.topic, assigned.partition)
            fetched_to = self.app.consumer.highwater(assigned)
            if tp in self.rewinding or fetched_to is None:
                continue
            if tp not in self.next:  # records fetched, none of them delivered yet
                self.next[tp] = await self._committed(tp)
            expected = self.next[tp]
            if fetched_to <= expected:
                self._still.pop(tp, None)
                continue
            offset, since = self._still.get(tp, (-1, now))
            if offset != expected:
                self._still[tp] = (expected, now)
            elif now - since >= TAIL_STILL_S:
                self._still[tp] = (expected, float("inf"))  # looked at once for this offset
                if await self._hole(tp, expected, fetched_to):
                    await self._rewind(tp, expected, fetched_to)

    async def _hole(self, tp: TopicPartition, expected: int, offset: int) -> bool:
        """Whether the broker holds records of `tp` from `expected` up to `offset` (a real hole,
        not offsets left unused by transaction markers)."""
        if tp in self.rewinding:
            return True
        probe = reader(self.settings, auto_offset_reset="earliest")
        try:
            await probe.start()
            probe.assign([tp])
            probe.seek(tp, expected)
            deadline = time.monotonic() + PROBE_S
            while time.monotonic() < deadline:
                records = await probe.getmany(tp, timeout_ms=500, max_records=1)
                if records.get(tp):
                    return records[tp][0].offset < offset
                if await probe.position(tp) >= offset:  # only transaction markers in between
                    return False
        except KafkaError as exc:  # cannot tell: reading the records again is always safe
            log.warning("cannot look for records of %s/%d at %d: %r", tp.topic, tp.partition,
                        expected, exc)
        finally:
            await probe.stop()
        return True  # nothing read in time: rewind, to be safe

    async def _committed(self, tp: TopicPartition) -> int:
        # The group coordinator can be loading (right after a broker start): ask until it answers.
        for attempt in range(30):
            admin = AIOKafkaAdminClient(bootstrap_servers=self.settings.bootstrap_servers)
            try:
                await admin.start()
                committed = await admin.list_consumer_group_offsets(self.group, partitions=[tp])
            except KafkaError as exc:
                log.warning("cannot read the committed offset of %s/%d yet: %r", tp.topic,
                            tp.partition, exc)
                await asyncio.sleep(min(0.2 * 2**attempt, 2.0))
                continue
            finally:
                await admin.close()
            found = committed.get(tp)
            return max(found.offset, 0) if found is not None else 0
        raise RuntimeError(f"no committed offset for {tp.topic}/{tp.partition}: is the broker up?")

    async def _on_revoked(self, sender: Any, /, *args: Any, signal: Any, **kwargs: Any) -> None:
        # Another member may move these partitions on; read their commit again if they return.
        revoked: set[TP] = args[0]
        for tp in revoked:
            gone = TopicPartition(tp.topic, tp.partition)
            self.next.pop(gone, None)
            self._sent.pop(gone, None)
            self.rewinding.pop(gone, None)
            self._still.pop(gone, None)


def _tp(event: EventT[Any]) -> TopicPartition:
    return TopicPartition(event.message.topic, event.message.partition)


def _faust_tp(tp: TopicPartition) -> TP:
    return TP(tp.topic, tp.partition)
