"""Rows of the room's tables: `audit_log` from posko.audit, and `tasks`, `task_progress`,
`emergency_status`, `incident_notes` from posko.desk (DDL in migrations.py, migration 9)."""

from __future__ import annotations

import uuid
from datetime import datetime

import msgspec

from schemas.commands import AuditEntry, DeskRecord, IncidentNote, RegionEmergency, Task

# Rows that have no id of their own get one derived from what they are, so a record delivered
# again (or a task's next version, which repeats its history) makes the same id: stored once.
_NAMESPACE = uuid.UUID("2c0f5d3e-8a61-4f57-b7a0-6b1e9f3c4d21")

Rows = list[tuple[str, msgspec.Struct]]


class AuditRow(msgspec.Struct, kw_only=True):
    """A row of `audit_log`: one command as decided."""

    id: uuid.UUID
    action: str
    target: str
    incident_id: uuid.UUID | None
    actor: str
    role: str
    credential: str
    origin: str
    issued_at: datetime
    decided_at: datetime
    accepted: int
    status: int
    reason: str
    before: str
    after: str
    command: str
    drill: int


class TaskRow(msgspec.Struct, kw_only=True):
    """A row of `tasks`: one version of a task."""

    id: uuid.UUID
    version: int
    title: str
    assignee_kind: str
    assignee: str
    priority: str
    due_at: datetime
    status: str
    incident_id: uuid.UUID | None
    report: str | None
    details: str
    region: str | None
    lat: float | None
    lon: float | None
    created_by: str
    created_at: datetime
    updated_at: datetime
    drill: int
    escalation_level: int


class TaskProgressRow(msgspec.Struct, kw_only=True):
    """A row of `task_progress`: one line of a task's history."""

    id: uuid.UUID
    task_id: uuid.UUID
    incident_id: uuid.UUID | None
    command_id: uuid.UUID
    action: str
    status: str
    by: str
    role: str
    at: datetime
    note: str
    reason: str
    lat: float | None
    lon: float | None
    assignee: str
    drill: int


class EmergencyRow(msgspec.Struct, kw_only=True):
    """A row of `emergency_status`: one version of a region's emergency status."""

    id: uuid.UUID
    region: str
    version: int
    status: str
    decided_at: datetime
    decree: str | None
    decided_by: str
    incident_id: uuid.UUID | None
    note: str
    updated_at: datetime
    drill: int


class NoteRow(msgspec.Struct, kw_only=True):
    """A row of `incident_notes`: a note or sitrep, once."""

    id: uuid.UUID
    incident_id: uuid.UUID
    text: str
    sitrep: int
    by: str
    role: str
    at: datetime
    drill: int


def audit_row(entry: AuditEntry) -> AuditRow:
    """The audit entry's row."""
    return AuditRow(
        id=entry.id, action=entry.action, target=entry.target, incident_id=entry.incident_id,
        actor=entry.actor, role=entry.role, credential=entry.credential, origin=entry.origin,
        issued_at=entry.issued_at, decided_at=entry.decided_at, accepted=int(entry.accepted),
        status=entry.status, reason=entry.reason, before=entry.before, after=entry.after,
        command=entry.command, drill=int(entry.drill),
    )


def progress_id(task_id: uuid.UUID, command_id: uuid.UUID) -> uuid.UUID:
    """The id of a task's history line: one command's effect on one task."""
    return uuid.uuid5(_NAMESPACE, f"task|{task_id}|{command_id}")


def emergency_id(region: str, version: int) -> uuid.UUID:
    """The id of one version of a region's emergency status."""
    return uuid.uuid5(_NAMESPACE, f"emergency|{region}|{version}")


def _task_rows(task: Task) -> Rows:
    loc = task.location
    rows: Rows = [("tasks", TaskRow(
        id=task.id, version=task.version, title=task.title, assignee_kind=task.assignee.kind,
        assignee=task.assignee.name, priority=task.priority, due_at=task.due_at, status=task.status,
        incident_id=task.incident_id, report=task.report, details=task.details,
        region=str(task.region) if task.region else None, lat=loc.lat if loc else None,
        lon=loc.lon if loc else None, created_by=task.created_by, created_at=task.created_at,
        updated_at=task.updated_at, drill=int(task.drill),
        escalation_level=max((step.level for step in task.escalations), default=0),
    ))]
    for entry in task.history:
        where = entry.location
        rows.append(("task_progress", TaskProgressRow(
            id=progress_id(task.id, entry.command_id), task_id=task.id, incident_id=task.incident_id,
            command_id=entry.command_id, action=entry.action, status=entry.status, by=entry.by,
            role=entry.role, at=entry.at, note=entry.note, reason=entry.reason,
            lat=where.lat if where else None, lon=where.lon if where else None,
            assignee=entry.assignee.name if entry.assignee else "", drill=int(task.drill),
        )))
    return rows


def desk_rows(record: DeskRecord) -> Rows:
    """The rows a desk record becomes: a task's version and its history, a status, a note."""
    if isinstance(record, Task):
        return _task_rows(record)
    if isinstance(record, RegionEmergency):
        return [("emergency_status", EmergencyRow(
            id=emergency_id(str(record.region), record.version), region=str(record.region),
            version=record.version, status=record.status, decided_at=record.decided_at,
            decree=record.decree, decided_by=record.decided_by, incident_id=record.incident_id,
            note=record.note, updated_at=record.updated_at, drill=int(record.drill),
        ))]
    assert isinstance(record, IncidentNote)
    return [("incident_notes", NoteRow(
        id=record.id, incident_id=record.incident_id, text=record.text, sitrep=int(record.sitrep),
        by=record.by, role=record.role, at=record.at, drill=int(record.drill),
    ))]
