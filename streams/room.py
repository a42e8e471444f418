"""The worker's correlation stage and desk: posko.signals and posko.commands in, incidents, the
desk's state, audit entries and escalations out, kill-safe.

The incident table is a Faust table whose changelog is posko.incidents itself: the worker writes
each changed incident there (awaited, before the signals' offsets are committed) and Faust
rebuilds the table from it after a restart. Signals already in an incident are recognised when
they come again, so a crash between output and commit changes nothing. An escalation step is
written to posko.escalations before the incident that records it; at start the worker reads that
topic back, so a step that reached it is never fired again, and one that did not is fired.

Commands (streams/desk.py) are decided under the same lock as signals. The desk's table has
posko.desk as its changelog, written the same way; the changed state is written before the
audit entries and every changed record names the commands it took, so a command read again after
a crash (its offset not yet committed) is answered as it was and applied once.

Decision support (decision/board.py) recomputes the regions that incidents or the desk touched and
the changed scores and recommendations go to posko.ranking: after a command at once, with the rest
of its state; after signals at most once every RANK_EVERY_S (a re-rank cost 14-70 ms, a fifth of
correlation's time when it ran after every take), from the escalation timer when no signal comes.
posko.ranking is the changelog of a third table, so dismissals are rebuilt after a restart, and
every region is ranked again then (regions left unranked by a crash included).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, cast

import faust
import msgspec
from faust.streams import Stream

from decision.board import Board, ranking_key
from decision.playbooks import load_playbooks
from decision.ranking import parse_weights
from decision.reference import load_reference
from posko.settings import Settings
from schemas.batch import record_lines
from schemas.commands import AuditEntry, Command, DeskRecord, IncidentNote, RegionEmergency, Task, desk_key
from schemas.decision import RankingRecord
from schemas.events import utc_now
from schemas.incidents import Escalation, EscalationSubject, Incident, IncidentAck, RoomInput
from schemas.regions import Region
from schemas.topics import AUDIT, COMMANDS, DESK, ESCALATIONS, INCIDENTS, RANKING, SIGNALS
from streams.commits import RawCommits
from streams.correlate import Room, as_published, thresholds
from streams.desk import Desk, acknowledgement_entry
from streams.escalation_log import FiredSteps
from streams.faust_workarounds import set_without_changelog, take_weighed, unacked_topic
from streams.publish import publish
from streams.validate import Outgoing, dead_letter, letters_for

log = logging.getLogger("posko.stream")

_input = msgspec.json.Decoder(RoomInput)
_incident = msgspec.json.Decoder(Incident)
_command = msgspec.json.Decoder(Command)
_desk_record = msgspec.json.Decoder(DeskRecord)
_ranking_record = msgspec.json.Decoder(RankingRecord)
_encoder = msgspec.json.Encoder()
READ_BACK_S = 30.0
# Signals correlated between two yields to the event loop (a few tens of milliseconds of work):
# a take of thousands would otherwise hold up every other agent of the worker until it is done.
YIELD_EVERY = 200
RANK_EVERY_S = 1.0  # signals re-rank the regions they touched at most this often
# Signals are taken for up to this long (or stream_batch of them): each take publishes every
# incident it changed once, whole (up to 100 items, 50 signal ids each, and the sink writes a row
# per signal), so takes of 50 ms made a big incident twenty versions a second under load.
TAKE_S = 0.5


class Correlation:
    """The room's state in the worker, and the agent and timer that change it."""

    def __init__(self, app: faust.App, settings: Settings, commits: RawCommits) -> None:
        self.app, self.settings, self.commits = app, settings, commits
        self.room = Room(thresholds(settings))
        self.desk = Desk(self.room)
        # Decision support (decision/): the operator's reference data and playbooks, read at start.
        self.board = Board(load_reference(settings.home), load_playbooks(settings.home),
                           parse_weights(settings.dss_weights))
        self.desk.recommendations = self.board.recommendations
        self._rank_all = True  # after a restart: every region once
        self._unranked: set[Region] = set()  # touched since the last ranking
        self._ranked_at = 0.0  # the event loop's clock
        self.loaded = False
        self._lock = asyncio.Lock()
        self.table = _changelogged(app, "incidents", INCIDENTS)
        self.desk_table = _changelogged(app, "desk", DESK)
        self.ranking_table = _changelogged(app, "ranking", RANKING)
        topic = unacked_topic(app, SIGNALS, key_serializer="raw", value_serializer="raw", partitions=1)
        # Faust types an agent by StreamT, which lacks take_events (its Stream has it).
        app.agent(topic, name="correlate")(cast(Any, self.correlate))
        commands = unacked_topic(app, COMMANDS, key_serializer="raw", value_serializer="raw", partitions=1)
        app.agent(commands, name="decide")(cast(Any, self.decide))
        app.timer(settings.escalation_check_s)(self.escalate)

    async def correlate(self, stream: Stream[Any]) -> None:
        """Signals and acknowledgements into incidents, a batch at a time."""
        # Takes of up to stream_batch signals, however many records hold them (a batch of the
        # route part holds up to 2,000), or what came within TAKE_S.
        async for taken in take_weighed(stream, self.settings.stream_batch, TAKE_S, signals_in):
            batch, processed = await self.commits.in_order(taken)
            async with self._lock:
                await self._load()
                now = utc_now()
                published = dict(self.room.incidents)  # as the last batch left them
                changed: dict[uuid.UUID, Incident] = {}
                letters: list[Outgoing] = []
                entries: list[AuditEntry] = []
                n = 0
                self.room.defer()  # each changed incident summarised and ranked once, at settle()
                try:
                    for event in batch:
                        message = event.message
                        bad: list[tuple[int | None, bytes | None, str]] = []
                        for position, line, value in room_inputs(message.value):
                            n += 1
                            if n % YIELD_EVERY == 0:  # the validating agents and Kafka's timers run too
                                await asyncio.sleep(0)
                            if isinstance(value, str):
                                bad.append((position, line, value))
                                continue
                            try:
                                self._take(value, now, changed, entries)
                            except Exception as exc:  # one bad line never stops correlation
                                bad.append((position, line, f"processing failed: {exc!r}"))
                        letters += letters_for(bad, message.topic, message.partition, message.offset,
                                               message.key)
                finally:  # (also when the agent is stopped mid-batch: no draft is left behind)
                    settled = self.room.settle(now)
                changed |= {incident.id: incident for incident in settled}
                ranking = self._rank(changed.values(), [], now, at_once=False)
                await self._write([], as_published(changed.values(), published), letters, ranking=ranking)
                if entries:
                    await publish(self.app, [Outgoing(AUDIT, str(e.id).encode(), _encoder.encode(e))
                                             for e in entries])
            self.commits.done(processed)

    def _take(self, value: RoomInput, now: datetime, changed: dict[uuid.UUID, Incident],
              entries: list[AuditEntry]) -> None:
        """A signal or acknowledgement into the room: the incidents it changed into `changed`, an
        acknowledgement's audit entry into `entries`."""
        before = self.room.incidents.get(value.incident_id) if isinstance(value, IncidentAck) else None
        taken_in = self.room.take(value, now)
        changed |= {incident.id: incident for incident in taken_in}
        if isinstance(value, IncidentAck):
            entries.append(acknowledgement_entry(value, before, taken_in, now))

    async def decide(self, stream: Stream[Any]) -> None:
        """Commands decided in their order: the state they change, then their audit entries."""
        async for taken in stream.take_events(self.settings.stream_batch, within=0.01):
            batch, processed = await self.commits.in_order(taken)
            async with self._lock:
                await self._load()
                now = utc_now()
                incidents: dict[uuid.UUID, Incident] = {}
                records: dict[bytes, DeskRecord] = {}
                dismissed: dict[bytes, RankingRecord] = {}
                entries: list[AuditEntry] = []
                letters: list[Outgoing] = []
                for event in batch:
                    message = event.message
                    try:
                        command = _command.decode(message.value or b"")
                    except Exception as exc:  # a record that is no command never stops the desk
                        letters.append(dead_letter(f"not a command: {exc}", message.topic, message.partition,
                                                   message.offset, message.key, message.value))
                        continue
                    decision = self.desk.decide(command, now)
                    incidents |= {i.id: i for i in decision.incidents}
                    records |= {desk_key(r): r for r in decision.records}
                    dismissed |= {ranking_key(r): r for r in decision.ranking}
                    entries.append(decision.entry)
                ranking = list(dismissed.values()) + self._rank(incidents.values(), records.values(), now)
                await self._write([], list(incidents.values()), letters, list(records.values()), ranking)
                if entries:  # last: an issuer told "applied" finds the state already there
                    await publish(self.app, [Outgoing(AUDIT, str(e.id).encode(), _encoder.encode(e))
                                             for e in entries])
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
            overdue = self.desk.overdue(now)
            tasks = {task.id: task for _, task in overdue}
            ranking = self._rank(latest.values(), tasks.values(), now)  # what signals left too
            if latest or tasks or ranking:
                await self._write([e for e, _ in due] + [e for e, _ in overdue], list(latest.values()), [],
                                  list(tasks.values()), ranking)

    def _rank(self, incidents: Iterable[Incident], desk: Iterable[DeskRecord],
              now: datetime, at_once: bool = True) -> list[RankingRecord]:
        """Decision support's records that changed with these incidents and desk records: the
        regions they touch, and those left unranked before, recomputed (every region, the first
        time after a restart); not `at_once`, none within RANK_EVERY_S of the last ranking."""
        regions: set[Region] = set()
        for incident in incidents:
            regions.update(incident.regions)
        for record in desk:
            if isinstance(record, RegionEmergency):
                regions.add(record.region)
                continue
            if isinstance(record, Task) and record.region:
                regions.add(record.region)
            about = self.room.incidents.get(record.incident_id) if isinstance(
                record, Task | IncidentNote) and record.incident_id else None
            if about is not None:
                regions.update(about.regions)
        self._unranked |= regions
        clock = asyncio.get_running_loop().time()
        nothing = not self._unranked and not self._rank_all
        if nothing or (not at_once and clock - self._ranked_at < RANK_EVERY_S):
            return []
        regions, self._unranked, self._ranked_at = self._unranked, set(), clock
        every, self._rank_all = self._rank_all, False
        return self.board.update(self.room.incidents, self.desk.tasks, self.desk.emergencies, self.desk.notes,
                                 None if every else regions, now)

    async def _write(self, escalations: Sequence[Escalation], incidents: Sequence[Incident],
                     letters: list[Outgoing], desk: Sequence[DeskRecord] = (),
                     ranking: Sequence[RankingRecord] = ()) -> None:
        if escalations:  # first: the record that they fired
            await publish(self.app, [Outgoing(ESCALATIONS, e.subject_id.encode(), _encoder.encode(e))
                                     for e in escalations])
        records = [Outgoing(INCIDENTS, str(i.id).encode(), _encoder.encode(i)) for i in incidents]
        state = [Outgoing(DESK, desk_key(r), _encoder.encode(r)) for r in desk]
        # Derived from the rest, so written with it: a dismissal is state like a task.
        board = [Outgoing(RANKING, ranking_key(r), _encoder.encode(r)) for r in ranking]
        if records or state or letters or board:
            await publish(self.app, records + state + letters + board)
        for record in records:
            set_without_changelog(self.table, record.key, record.value)
        for record in state:
            set_without_changelog(self.desk_table, record.key, record.value)
        for record in board:
            set_without_changelog(self.ranking_table, record.key, record.value)

    async def _load(self) -> None:
        """Take the incident table (recovered by Faust) and the fired escalations into the room."""
        if self.loaded:
            return
        now = utc_now()
        for value in self.table.values():
            if value:
                self.room.restore(_incident.decode(value), now)
        for value in self.desk_table.values():
            if value:
                self.desk.restore(_desk_record.decode(value))
        for value in self.ranking_table.values():
            if value:
                self.board.restore(_ranking_record.decode(value))
        for subject, fired in ((EscalationSubject.INCIDENT, self.room.fired),
                               (EscalationSubject.TASK, self.desk.fired)):
            steps = FiredSteps(self.settings, subject)
            await steps.start()
            try:
                await steps.catch_up(within_s=READ_BACK_S)
            finally:
                await steps.stop()
            for step in steps.ids:
                fired(step)
        self.loaded = True
        log.info("correlation: %d incidents, %d tasks restored", len(self.room.incidents),
                 len(self.desk.tasks))


def room_inputs(data: bytes | None) -> list[tuple[int | None, bytes | None, RoomInput | str]]:
    """A posko.signals record's signals and acknowledgements, each with its line (None in a record
    of one) and bytes, or why the line is neither; one written over several lines is one."""
    found = [(position, line, _room_input(line)) for position, line in record_lines(data)]
    if len(found) > 1 and all(isinstance(value, str) for _, _, value in found):
        if not isinstance(whole := _room_input(data), str):  # pretty-printed, as by hand
            return [(None, data, whole)]
    return found


def _room_input(data: bytes | None) -> RoomInput | str:
    try:
        return _input.decode(data or b"")
    except Exception as exc:  # whatever the bytes (bad UTF-8, nesting past the recursion limit)
        return f"not a signal nor an incident acknowledgement: {exc!r}"


def signals_in(value: bytes | None) -> int:
    """How many signals (or acknowledgements) a posko.signals record holds, one a line."""
    return value.count(b"\n") + 1 if value else 1


def _changelogged(app: faust.App, name: str, changelog: str) -> Any:
    """A one-partition table of raw bytes whose changelog is the compacted topic `changelog`."""
    return app.Table(
        name, partitions=1,
        changelog_topic=app.topic(changelog, partitions=1, compacting=True, deleting=False,
                                  key_serializer="raw", value_serializer="raw"),
        schema=faust.Schema(key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw"),
    )
