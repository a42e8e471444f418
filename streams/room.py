"""The worker's correlation stage: posko.signals in, incidents and escalations out, kill-safe.

The incident table is a Faust table whose changelog is posko.incidents itself: the worker writes
each changed incident there (awaited, before the signals' offsets are committed) and Faust
rebuilds the table from it after a restart. Signals already in an incident are recognised when
they come again, so a crash between output and commit changes nothing. An escalation step is
written to posko.escalations before the incident that records it; at start the worker reads that
topic back, so a step that reached it is never fired again, and one that did not is fired.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Sequence
from typing import Any, cast

import faust
import msgspec
from faust.streams import Stream

from posko.settings import Settings
from schemas.events import utc_now
from schemas.incidents import Escalation, EscalationSubject, Incident, RoomInput
from schemas.topics import ESCALATIONS, INCIDENTS, SIGNALS
from streams.commits import RawCommits
from streams.correlate import Room, thresholds
from streams.escalation_log import FiredSteps
from streams.faust_workarounds import set_without_changelog, unacked_topic
from streams.publish import publish
from streams.validate import Outgoing, dead_letter

log = logging.getLogger("posko.stream")

_input = msgspec.json.Decoder(RoomInput)
_incident = msgspec.json.Decoder(Incident)
_encoder = msgspec.json.Encoder()
READ_BACK_S = 30.0


class Correlation:
    """The room's state in the worker, and the agent and timer that change it."""

    def __init__(self, app: faust.App, settings: Settings, commits: RawCommits) -> None:
        self.app, self.settings, self.commits = app, settings, commits
        self.room = Room(thresholds(settings))
        self.loaded = False
        self._lock = asyncio.Lock()
        self.table = app.Table(
            "incidents", partitions=1,
            changelog_topic=app.topic(INCIDENTS, partitions=1, compacting=True, deleting=False,
                                      key_serializer="raw", value_serializer="raw"),
            schema=faust.Schema(key_type=bytes, value_type=bytes, key_serializer="raw",
                                value_serializer="raw"),
        )
        topic = unacked_topic(app, SIGNALS, key_serializer="raw", value_serializer="raw", partitions=1)
        # Faust types an agent by StreamT, which lacks take_events (its Stream has it).
        app.agent(topic, name="correlate")(cast(Any, self.correlate))
        app.timer(settings.escalation_check_s)(self.escalate)

    async def correlate(self, stream: Stream[Any]) -> None:
        """Signals and acknowledgements into incidents, a batch at a time."""
        async for taken in stream.take_events(self.settings.stream_batch, within=0.05):
            batch, processed = await self.commits.in_order(taken)
            async with self._lock:
                await self._load()
                now = utc_now()
                changed: dict[uuid.UUID, Incident] = {}
                letters: list[Outgoing] = []
                for event in batch:
                    message = event.message
                    try:
                        value = _input.decode(message.value or b"")
                        for incident in self.room.take(value, now):
                            changed[incident.id] = incident
                    except Exception as exc:  # one bad record never stops correlation
                        letters.append(dead_letter(f"not a signal nor an incident acknowledgement: {exc}",
                                                   message.topic, message.partition, message.offset,
                                                   message.key, message.value))
                await self._write([], list(changed.values()), letters)
            self.commits.done(processed)

    async def escalate(self) -> None:
        """Fire the escalation steps whose time has come (each once); close what is over."""
        async with self._lock:
            if not self.loaded:
                # After a restart with no new signal, the timer is first: once Faust has rebuilt
                # the table (recovery done), the room is loaded from it here.
                # (TableManagerT does not declare the manager's `recovery`: faust/tables/manager.py.)
                if not cast(Any, self.app.tables).recovery.completed.is_set():
                    return
                await self._load()
            now = utc_now()
            due = self.room.due(now)
            latest = {incident.id: incident for _, incident in due}
            latest |= {incident.id: incident for incident in self.room.expired(now)}
            if latest:
                await self._write([e for e, _ in due], list(latest.values()), [])

    async def _write(self, escalations: Sequence[Escalation], incidents: Sequence[Incident],
                     letters: list[Outgoing]) -> None:
        if escalations:  # first: the record that they fired
            await publish(self.app, [Outgoing(ESCALATIONS, e.subject_id.encode(), _encoder.encode(e))
                                     for e in escalations])
        records = [Outgoing(INCIDENTS, str(i.id).encode(), _encoder.encode(i)) for i in incidents]
        if records or letters:
            await publish(self.app, records + letters)
        for record in records:
            set_without_changelog(self.table, record.key, record.value)

    async def _load(self) -> None:
        """Take the incident table (recovered by Faust) and the fired escalations into the room."""
        if self.loaded:
            return
        now = utc_now()
        for value in self.table.values():
            if value:
                self.room.restore(_incident.decode(value), now)
        steps = FiredSteps(self.settings, EscalationSubject.INCIDENT)
        await steps.start()
        try:
            await steps.catch_up(within_s=READ_BACK_S)
        finally:
            await steps.stop()
        for fired in steps.ids:
            self.room.fired(fired)
        self.loaded = True
        log.info("correlation: %d incidents restored", len(self.room.incidents))
