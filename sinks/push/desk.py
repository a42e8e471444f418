"""What the gateway holds of the desk (tasks, regions' emergency statuses, incidents' notes, read
from posko.desk) and who may see which.

Officers, supervisors, admins and the wall see everything. A responder sees the tasks for them
(by the name on their credential) or for their team, the notes of incidents in their scope and
the emergency statuses of their regions; an agency account sees the tasks for its agency.
"""

from __future__ import annotations

import uuid
from collections import deque
from datetime import timedelta
from typing import NamedTuple

import msgspec

from schemas.commands import DeskRecord, EmergencyStatus, IncidentNote, RegionEmergency, Task, sees_task
from schemas.events import Kind, utc_now
from schemas.identity import Principal
from schemas.incidents import Incident
from schemas.regions import Region
from sinks.push.incidents import incident_kinds
from sinks.push.protocol import EmergencyMessage, NoteMessage, TaskMessage

# Tasks a snapshot carries at most: every open one (most urgent and soonest due first), then those
# done or cancelled in the last DONE_KEPT.
SNAPSHOT_TASKS = 500
DONE_KEPT = timedelta(hours=12)
# Notes a snapshot carries of each incident in it (the latest), and in all.
NOTES_PER_INCIDENT = 5
SNAPSHOT_NOTES = 300
# Notes the gateway keeps of each incident (the latest).
NOTES_KEPT = 50
NOTED_INCIDENTS = 2000  # incidents with notes kept before those of closed ones are dropped


def sees_emergency(principal: Principal, emergency: RegionEmergency) -> bool:
    """True when the region is in the holder's scope."""
    return principal.covers_area([emergency.region])


class ScopedTask(NamedTuple):
    """A task's new version in the journal, with the one before: whom it was for sees it leave."""

    task: Task
    before: Task | None


class ScopedNote(NamedTuple):
    """A note in the journal, with its incident's area and kinds for scope (empty: not known)."""

    note: IncidentNote
    regions: list[Region]
    kinds: list[Kind]


DeskItem = ScopedTask | RegionEmergency | ScopedNote


def sees_note(principal: Principal, note: ScopedNote) -> bool:
    """True when the note's incident is in the holder's scope (the room sees every note)."""
    if principal.sees_everything:
        return True
    return bool(note.regions) and principal.covers_area(note.regions, kinds=note.kinds)


def sees_desk_item(principal: Principal, item: DeskItem) -> bool:
    """True when a journal entry of the desk is for this holder."""
    if isinstance(item, ScopedTask):
        before = item.before
        return sees_task(principal, item.task) or (before is not None and sees_task(principal, before))
    if isinstance(item, RegionEmergency):
        return sees_emergency(principal, item)
    return sees_note(principal, item)


def desk_message(seq: int, record: DeskRecord) -> msgspec.Struct:
    """The journal message of a desk record."""
    if isinstance(record, Task):
        return TaskMessage(seq, record)
    if isinstance(record, RegionEmergency):
        return EmergencyMessage(seq, record)
    return NoteMessage(seq, record)


def _task_rank(task: Task) -> tuple[bool, int, float]:
    return task.status.over, task.priority.rank, task.due_at.timestamp()


class DeskBoard:
    """The latest of every task, every region's emergency status, and each incident's latest notes."""

    def __init__(self) -> None:
        self.tasks: dict[uuid.UUID, Task] = {}
        self.emergencies: dict[Region, RegionEmergency] = {}
        self.notes: dict[uuid.UUID, deque[IncidentNote]] = {}
        self._note_ids: set[uuid.UUID] = set()

    def update(self, record: DeskRecord, incidents: dict[uuid.UUID, Incident]) -> DeskItem | None:
        """Take a desk record; the journal item to publish, or None when it is not newer than the one
        held (a redelivery). `incidents`: the open incidents, for a note's scope."""
        if isinstance(record, Task):
            before = self.tasks.get(record.id)
            if before is not None and before.version >= record.version:
                return None
            self.tasks[record.id] = record
            self._forget_done()
            return ScopedTask(record, before)
        if isinstance(record, RegionEmergency):
            held = self.emergencies.get(record.region)
            if held is not None and held.version >= record.version:
                return None
            self.emergencies[record.region] = record
            return record
        if record.id in self._note_ids:
            return None
        notes = self.notes.setdefault(record.incident_id, deque(maxlen=NOTES_KEPT))
        if len(notes) == notes.maxlen:
            self._note_ids.discard(notes[0].id)
        notes.append(record)
        self._note_ids.add(record.id)
        self._forget_closed(incidents)
        incident = incidents.get(record.incident_id)
        if incident is None:
            return ScopedNote(record, [], [])
        return ScopedNote(record, list(incident.regions), incident_kinds(incident))

    def _forget_done(self) -> None:
        """Drop tasks over for longer than DONE_KEPT once there are many: memory stays bounded."""
        if len(self.tasks) <= 4 * SNAPSHOT_TASKS:
            return
        since = utc_now() - DONE_KEPT
        self.tasks = {i: t for i, t in self.tasks.items() if not (t.status.over and t.updated_at < since)}

    def _forget_closed(self, incidents: dict[uuid.UUID, Incident]) -> None:
        """Drop the notes of closed incidents once many incidents have notes: they are shown no more."""
        if len(self.notes) <= NOTED_INCIDENTS:
            return
        for incident_id in [i for i in self.notes if i not in incidents]:
            for note in self.notes.pop(incident_id):
                self._note_ids.discard(note.id)

    def view(self, principal: Principal, incidents: list[Incident],
             ) -> tuple[list[Task], list[RegionEmergency], list[IncidentNote]]:
        """What a snapshot carries for the holder: tasks open or over in the last DONE_KEPT, regions not
        normal, and the latest notes of `incidents` (those the snapshot shows)."""
        since = utc_now() - DONE_KEPT
        tasks = sorted((t for t in self.tasks.values()
                        if (not t.status.over or t.updated_at >= since) and sees_task(principal, t)),
                       key=_task_rank)[:SNAPSHOT_TASKS]
        emergencies = [e for e in self.emergencies.values()
                       if e.status is not EmergencyStatus.NORMAL and sees_emergency(principal, e)]
        notes: list[IncidentNote] = []
        for incident in incidents:
            notes.extend(list(self.notes.get(incident.id, ()))[-NOTES_PER_INCIDENT:])
        notes.sort(key=lambda n: n.at)
        return tasks, sorted(emergencies, key=lambda e: e.region), notes[-SNAPSHOT_NOTES:]
