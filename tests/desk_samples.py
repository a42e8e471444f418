"""Tasks, emergency statuses, notes and audit entries as the worker's desk writes them, standing in
for streams/desk.py in the gateway's tests (and for the wall's, where no worker decides)."""

from __future__ import annotations

import uuid
from datetime import timedelta

import msgspec

from posko.settings import Settings
from schemas.commands import (
    Assignee,
    AssigneeKind,
    AuditEntry,
    Command,
    DeskRecord,
    EmergencyStatus,
    IncidentNote,
    RegionEmergency,
    Task,
    TaskStatus,
    action_name,
    desk_key,
)
from schemas.events import new_event_id, utc_now
from schemas.identity import Role
from schemas.incidents import Priority
from schemas.regions import Region
from schemas.topics import AUDIT, DESK
from tests.conftest import produce


def task(marker: str, assignee: Assignee, incident_id: uuid.UUID | None = None,
         status: TaskStatus = TaskStatus.BARU, priority: Priority = Priority.TINGGI,
         due_in: timedelta = timedelta(hours=1), region: Region | None = Region.KOTA_JAMBI,
         drill: bool = False) -> Task:
    """A task given now, version 1."""
    now = utc_now()
    return Task(id=new_event_id(), version=1, title=f"Evakuasi warga {marker}", assignee=assignee,
                priority=priority, due_at=now + due_in, status=status, incident_id=incident_id,
                region=region, created_by="Petugas Piket", created_at=now, updated_at=now, drill=drill)


def to_responder(name: str) -> Assignee:
    """A task's assignee: one responder by name."""
    return Assignee(AssigneeKind.RESPONDER, name)


def moved(record: Task, **changes: object) -> Task:
    """The task's next version."""
    values = {"version": record.version + 1, "updated_at": utc_now(), **changes}
    return msgspec.structs.replace(record, **values)


def emergency(region: Region, status: EmergencyStatus = EmergencyStatus.TANGGAP_DARURAT,
              version: int = 1) -> RegionEmergency:
    """A region's emergency status as decided now."""
    now = utc_now()
    return RegionEmergency(region=region, version=version, status=status, decided_at=now,
                           decree="360/Kep.12/BPBD/2026", decided_by="Kepala BPBD", updated_at=now)


def note(incident_id: uuid.UUID, text: str, sitrep: bool = False) -> IncidentNote:
    """A note on an incident, written now by the duty officer."""
    return IncidentNote(id=new_event_id(), incident_id=incident_id, text=text, sitrep=sitrep,
                        by="Petugas Piket", role=Role.OFFICER, at=utc_now())


def audit_of(command: Command, status: int = 200, reason: str = "", target: str = "") -> AuditEntry:
    """The desk's decision on a command."""
    return AuditEntry(id=command.id, action=action_name(command.action), target=target or "?",
                      actor=command.actor.name, role=command.actor.role, credential=command.actor.credential,
                      origin=command.origin, issued_at=command.issued_at, decided_at=utc_now(),
                      accepted=status == 200, status=status, reason=reason)


async def publish_desk(settings: Settings, records: list[DeskRecord]) -> None:
    """Produce desk records onto posko.desk, keyed as the desk keys them."""
    await produce(settings, [(DESK, desk_key(r), msgspec.json.encode(r)) for r in records])


async def publish_audit(settings: Settings, entries: list[AuditEntry]) -> None:
    """Produce audit entries onto posko.audit, keyed by command id."""
    await produce(settings, [(AUDIT, str(e.id).encode(), msgspec.json.encode(e)) for e in entries])
