"""The gateway's journal: every pushed message with its seq, the latest kept for resuming clients."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Iterator
from typing import NamedTuple

from schemas.events import Acknowledgement, Alert, Kind
from schemas.incidents import Escalation
from sinks.push.desk import DeskItem
from sinks.push.incidents import IncidentScope, ScopedAck
from sinks.push.ranking import RankingItem

# What a journal entry is about: who may see it follows from it.
JournalItem = Alert | Acknowledgement | IncidentScope | Escalation | ScopedAck | DeskItem | RankingItem | None


class Entry(NamedTuple):
    """One journal message: its seq, what it is about, and its encoded bytes (shared by all clients)."""

    seq: int
    item: JournalItem  # None: a counters update
    data: bytes
    # The kinds of the incident an escalation is about (its scope), when the gateway knew them.
    kinds: tuple[Kind, ...] = ()


class Journal:
    """Sequence numbers and a ring buffer of the latest entries: at most `size` of them, and at
    most `max_bytes` of their encoded messages (an incident's version can be ~50 kB).

    Seqs start at the gateway's start time in microseconds, so a restarted gateway continues
    above any seq a client may hold from before, and such a client gets a snapshot, not a replay.
    """

    def __init__(self, size: int, max_bytes: int) -> None:
        self.entries: deque[Entry] = deque()
        self.size = size
        self.max_bytes = max_bytes
        self.bytes = 0  # of the kept entries' data
        self.last_seq = time.time_ns() // 1000
        self.first_seq = self.last_seq + 1

    def next_seq(self) -> int:
        """Take the next seq."""
        self.last_seq += 1
        return self.last_seq

    def append(self, entry: Entry) -> None:
        """Keep an entry (its seq from next_seq), forgetting the oldest past the bounds."""
        self.entries.append(entry)
        self.bytes += len(entry.data)
        while len(self.entries) > 1 and (len(self.entries) > self.size or self.bytes > self.max_bytes):
            self.bytes -= len(self.entries.popleft().data)

    @property
    def oldest_seq(self) -> int:
        """The seq of the oldest entry still kept (last_seq + 1 when empty)."""
        return self.entries[0].seq if self.entries else self.last_seq + 1

    def can_resume(self, after: int) -> bool:
        """True when every entry after `after` is still kept (or `after` is the latest)."""
        return self.oldest_seq - 1 <= after <= self.last_seq and after >= self.first_seq - 1

    def since(self, after: int) -> Iterator[Entry]:
        """The entries with seq > after, oldest first."""
        if not self.entries or after >= self.last_seq:
            return iter(())
        start = max(0, after - self.entries[0].seq + 1)  # seqs of kept entries are consecutive
        return (self.entries[i] for i in range(start, len(self.entries)))

    def missed_since(self, after: int) -> int | None:
        """How many entries came after `after`, when that seq is from this gateway's run."""
        if self.first_seq - 1 <= after <= self.last_seq:
            return self.last_seq - after
        return None
