"""Ends a consumer process whose partitions have events waiting while its group's commits stand still."""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
from collections.abc import Callable

from aiokafka import TopicPartition

from posko.kafka.offsets import Position, group_positions
from posko.settings import Settings

log = logging.getLogger("posko.watchdog")

CHECK_EVERY_S = 10.0
EXIT_STALLED = 75  # EX_TEMPFAIL: try again


class CommitWatchdog:
    """Exits the process when a partition it holds has had events waiting and no commit for a while.

    Seen after broker restarts: Faust's consumer (and, reported upstream, aiokafka's) sometimes
    stops fetching or committing for good while the process looks healthy, and its own view
    of the offsets is stale too (faust-streaming/faust#523, aio-libs/aiokafka#1037). So the
    watchdog runs on a thread and an event loop of its own and reads the group's committed and
    end offsets from the broker with clients of its own. Processing is idempotent downstream,
    so the safe recovery is a restart from the last commit: the process exits with
    EXIT_STALLED and its supervisor (`posko demo`, systemd, compose) starts it again.
    """

    def __init__(self, settings: Settings, group: str, topics: list[str],
                 assigned: Callable[[], set[TopicPartition]]) -> None:
        self.settings, self.group, self.topics, self.assigned = settings, group, topics, assigned
        self.last: dict[TopicPartition, Position] = {}
        self.stalled_since: dict[TopicPartition, float] = {}

    def start(self) -> None:
        """Watch from a daemon thread until the process ends."""
        threading.Thread(target=self._run, name=f"watchdog-{self.group}", daemon=True).start()

    def _run(self) -> None:
        while True:
            time.sleep(CHECK_EVERY_S)
            try:
                positions = asyncio.run(self._positions())
            except (Exception, asyncio.CancelledError) as exc:  # broker unreachable: keep waiting
                log.warning("watchdog: cannot read the offsets of %s: %r", self.group, exc)
                self.stalled_since.clear()
                continue
            stalled = self.observe(positions, time.monotonic())
            if stalled:
                self._exit(stalled, positions)

    async def _positions(self) -> dict[TopicPartition, Position]:
        return (await group_positions(self.settings, {self.group: self.topics}))[self.group]

    def observe(self, positions: dict[TopicPartition, Position], now: float) -> list[TopicPartition]:
        """Record one reading; return the partitions stalled for longer than stall_s."""
        # Partitions held by a healthy process beside this one are its own watchdog's business;
        # a process left with no partitions at all (lost membership) watches the whole group.
        try:
            assigned = {TopicPartition(tp.topic, tp.partition) for tp in self.assigned()}
        except Exception:  # no consumer yet, or its set changed while read: watch them all
            assigned = set()
        watched = {tp: p for tp, p in positions.items() if tp in assigned} if assigned else positions
        for tp, position in watched.items():
            before = self.last.get(tp)
            if position.lag and before is not None and before.committed == position.committed:
                self.stalled_since.setdefault(tp, now)
            else:
                self.stalled_since.pop(tp, None)
        self.last = positions
        return [tp for tp, since in self.stalled_since.items()
                if tp in watched and now - since >= self.settings.stall_s]

    def _exit(self, stalled: list[TopicPartition], positions: dict[TopicPartition, Position]) -> None:
        first = stalled[0]
        log.critical("%d partition(s) of %s have events waiting, e.g. %s/%d at lag %d, and no commit "
                     "for %.0f s; exiting so that a restart resumes from the last commit",
                     len(stalled), self.group, first.topic, first.partition, positions[first].lag,
                     self.settings.stall_s)
        logging.shutdown()
        os._exit(EXIT_STALLED)
