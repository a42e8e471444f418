"""One connected wall, officer or responder: its credential's scope and its bounded queue.

A client is written to at once while it keeps up; otherwise messages wait in its queue, and a
client whose queue fills is skipped forward (its journal messages dropped, a resync asked for)
and closed if it falls behind again before it caught up.
"""

from __future__ import annotations

import asyncio
from collections import Counter, deque
from typing import NamedTuple

from websockets.asyncio.server import ServerConnection

from schemas.events import Acknowledgement, Alert, utc_now
from schemas.identity import Principal
from schemas.incidents import Escalation
from sinks.push.desk import DeskItem, sees_desk_item
from sinks.push.incidents import IncidentScope, ScopedAck, sees_escalation, sees_scope
from sinks.push.journal import Entry
from sinks.push.ranking import RankingItem, sees_ranking
from sinks.push.rate import TokenBucket

# A client whose transport holds less than this is written to at once (the broadcast fast path).
DIRECT_WRITE_BYTES = 64 * 1024
POLICY_VIOLATION = 1008
TRY_AGAIN_LATER = 1013
EXPIRED = "kredensial kedaluwarsa / credential expired"


class QueuedMessage(NamedTuple):
    """A message waiting in a client's queue; journal messages may be dropped after a resync."""

    seq: int
    data: bytes
    journal: bool


class Client:
    """One authenticated connection, who holds its credential, and its bounded queue."""

    def __init__(self, ws: ServerConnection, principal: Principal, limit: int, tally: Counter[str],
                 bucket: TokenBucket) -> None:
        self.ws = ws
        self.tally = tally
        self.principal = principal
        self.limit = limit
        self.bucket = bucket  # what the client may send
        self.queue: deque[QueuedMessage] = deque()
        self.wake = asyncio.Event()
        self.resync = False
        self.missed = 0
        self.closing = False
        self.sending = False  # the pump is inside a send: new messages must queue behind it

    def wants(self, entry: Entry) -> bool:
        """True when the entry is in this client's scope (checked for every message)."""
        item = entry.item
        if item is None:
            return self.principal.sees_everything
        if isinstance(item, Alert | Acknowledgement):
            return self.principal.covers(item.region, item.event_kind, item.severity)
        if isinstance(item, IncidentScope):
            return sees_scope(self.principal, item)
        if isinstance(item, Escalation):
            return sees_escalation(self.principal, item, entry.kinds)
        if isinstance(item, DeskItem):
            return sees_desk_item(self.principal, item)
        if isinstance(item, RankingItem):
            return sees_ranking(self.principal)
        assert isinstance(item, ScopedAck)
        return self.principal.covers_area(item.regions, kinds=item.kinds)

    def offer(self, entry: Entry) -> bool:
        """Take a journal entry if in scope: True when it may be written to the connection at
        once (nothing queued or being sent, little buffered), else it is queued; a client that
        is behind is skipped forward or dropped."""
        if self.closing:
            return False
        if self.principal.expires_at is not None and self.principal.expired(utc_now()):
            self.close(POLICY_VIOLATION, EXPIRED)
            return False
        if not self.wants(entry):
            return False
        if (not self.queue and not self.resync and not self.sending
                and self.ws.transport.get_write_buffer_size() < DIRECT_WRITE_BYTES):
            return True
        if len(self.queue) >= self.limit:
            if self.resync:  # behind again before it caught up with the last skip
                self.tally["dropped"] += 1
                self.close(TRY_AGAIN_LATER, "terlalu lambat / too slow to keep up; reconnect")
                return False
            self.missed += sum(1 for item in self.queue if item.journal) + 1
            self.queue = deque(item for item in self.queue if not item.journal)
            self.resync = True
            self.tally["skipped"] += 1
            self.wake.set()
            return False
        self.queue.append(QueuedMessage(entry.seq, entry.data, True))
        self.wake.set()
        return False

    def send(self, seq: int, data: bytes) -> None:
        """Queue a message that is not in the journal (welcome, ping, receipt, error)."""
        if not self.closing:
            self.queue.append(QueuedMessage(seq, data, False))
            self.wake.set()

    def close(self, code: int, reason: str) -> None:
        """Close the connection with a code and a reason (at most 123 bytes)."""
        if self.closing:
            return
        self.closing = True
        self.queue.clear()
        self.wake.set()
        short = reason.encode()[:123].decode(errors="ignore")
        asyncio.get_running_loop().create_task(self.ws.close(code, short))
