"""Commands: what people in the room and in the field do, and the record of it.

Every act (open, merge, split or close an incident, declare an emergency status, give, move or
cancel a task, report progress, write a note or a sitrep) is a `Command` on posko.commands. The
worker's desk (streams/desk.py) decides each one against the current state, in one order: it is
applied, or refused with an HTTP-like status and the reason. Either way an `AuditEntry` goes to
posko.audit (and ClickHouse's `audit_log`), with the state before and after. The desk's state
(tasks, emergency statuses, notes) is on posko.desk, one record per change, compacted.
"""

from __future__ import annotations

import enum
import uuid
from typing import Annotated

import msgspec
from msgspec import Meta

from schemas.events import Point, UtcTime
from schemas.identity import Principal, Role, Scope
from schemas.incidents import EscalationStep, Hazard, Priority
from schemas.regions import Region

Text = Annotated[str, Meta(max_length=2000)]
Line = Annotated[str, Meta(min_length=1, max_length=200)]
Reason = Annotated[str, Meta(min_length=1, max_length=500)]
Decree = Annotated[str, Meta(min_length=1, max_length=120)]  # nomor SK, e.g. 360/Kep.123/BPBD/2026

# --- What is commanded -------------------------------------------------------------------------


class TaskStatus(enum.StrEnum):
    """Where a task is. A responder or agency moves it forward; an officer can cancel it."""

    BARU = "baru"  # given, not yet accepted
    DITERIMA = "diterima"  # accepted by whom it is for
    BERANGKAT = "berangkat"  # on the way
    DI_LOKASI = "di_lokasi"  # on site
    TERKENDALA = "terkendala"  # held up (with a reason); may go on afterwards
    SELESAI = "selesai"  # done
    DIBATALKAN = "dibatalkan"  # cancelled by the room

    @property
    def over(self) -> bool:
        """Done or cancelled: nothing moves it any more."""
        return self in (TaskStatus.SELESAI, TaskStatus.DIBATALKAN)


# Progress a responder or agency may report, from the task's status to the next.
PROGRESS: dict[TaskStatus, frozenset[TaskStatus]] = {
    TaskStatus.BARU: frozenset({TaskStatus.BERANGKAT, TaskStatus.DI_LOKASI, TaskStatus.TERKENDALA,
                                TaskStatus.SELESAI}),
    TaskStatus.DITERIMA: frozenset({TaskStatus.BERANGKAT, TaskStatus.DI_LOKASI, TaskStatus.TERKENDALA,
                                    TaskStatus.SELESAI}),
    TaskStatus.BERANGKAT: frozenset({TaskStatus.DI_LOKASI, TaskStatus.TERKENDALA, TaskStatus.SELESAI}),
    TaskStatus.DI_LOKASI: frozenset({TaskStatus.TERKENDALA, TaskStatus.SELESAI}),
    TaskStatus.TERKENDALA: frozenset({TaskStatus.BERANGKAT, TaskStatus.DI_LOKASI, TaskStatus.SELESAI}),
}


class EmergencyStatus(enum.StrEnum):
    """A region's emergency status as BNPB defines it (Perka BNPB 3/2016), or none."""

    NORMAL = "normal"
    SIAGA_DARURAT = "siaga_darurat"
    TANGGAP_DARURAT = "tanggap_darurat"
    TRANSISI_DARURAT = "transisi_darurat"  # transisi darurat ke pemulihan


class AssigneeKind(enum.StrEnum):
    """Whom a task is for."""

    AGENCY = "agency"  # an OPD/dinas: its agency accounts see it
    TEAM = "team"  # a team: its responders see it
    RESPONDER = "responder"  # one responder, by the name on their credential


class Assignee(msgspec.Struct, frozen=True):
    """Whom a task is for: an agency, a team or a responder, by name."""

    kind: AssigneeKind
    name: Line


class OpenIncident(msgspec.Struct, frozen=True, kw_only=True, tag="open_incident", tag_field="action"):
    """Open an incident by hand (what the stream did not see, or a drill)."""

    title: Line
    hazard: Hazard
    regions: Annotated[list[Region], Meta(min_length=1)]
    priority: Priority
    location: Point | None = None
    drill: bool = False  # latihan


class MergeIncidents(msgspec.Struct, frozen=True, kw_only=True, tag="merge_incidents", tag_field="action"):
    """Merge `other_id` into `incident_id` (the other closes, merged into the first)."""

    incident_id: uuid.UUID
    other_id: uuid.UUID


class SplitIncident(msgspec.Struct, frozen=True, kw_only=True, tag="split_incident", tag_field="action"):
    """Move some items of an incident into a new incident of their own."""

    incident_id: uuid.UUID
    item_ids: Annotated[list[uuid.UUID], Meta(min_length=1, max_length=100)]
    title: Line | None = None


class CloseIncident(msgspec.Struct, frozen=True, kw_only=True, tag="close_incident", tag_field="action"):
    """Close an incident, saying why."""

    incident_id: uuid.UUID
    reason: Reason


class MarkDrill(msgspec.Struct, frozen=True, kw_only=True, tag="mark_drill", tag_field="action"):
    """Mark an incident (and its tasks) as a drill, latihan, or take the mark off."""

    incident_id: uuid.UUID
    drill: bool = True


class SetEmergencyStatus(msgspec.Struct, frozen=True, kw_only=True, tag="set_emergency_status",
                         tag_field="action"):
    """Record a region's emergency status as decided (by decree) at `decided_at`."""

    region: Region
    status: EmergencyStatus
    decided_at: UtcTime
    decree: Decree | None = None  # required for every status but normal
    incident_id: uuid.UUID | None = None
    note: Text = ""
    drill: bool = False


class CreateTask(msgspec.Struct, frozen=True, kw_only=True, tag="create_task", tag_field="action"):
    """Give a task; a disposition of a citizen report to an agency is a task with `report`."""

    title: Line
    assignee: Assignee
    priority: Priority
    due_at: UtcTime
    incident_id: uuid.UUID | None = None
    report: str | None = None  # a citizen report's tracking number (a disposition)
    details: Text = ""
    region: Region | None = None
    location: Point | None = None
    recommendation_id: uuid.UUID | None = None  # the decision support recommendation it carries out


class ReassignTask(msgspec.Struct, frozen=True, kw_only=True, tag="reassign_task", tag_field="action"):
    """Give a task to someone else (and, optionally, a new due time)."""

    task_id: uuid.UUID
    assignee: Assignee
    due_at: UtcTime | None = None
    reason: Text = ""


class CancelTask(msgspec.Struct, frozen=True, kw_only=True, tag="cancel_task", tag_field="action"):
    """Cancel a task, saying why."""

    task_id: uuid.UUID
    reason: Reason


class AcceptTask(msgspec.Struct, frozen=True, kw_only=True, tag="accept_task", tag_field="action"):
    """Whom a task is for accepts it."""

    task_id: uuid.UUID
    note: Text = ""


class ReportProgress(msgspec.Struct, frozen=True, kw_only=True, tag="report_progress", tag_field="action"):
    """Progress on a task: berangkat, di lokasi, selesai, or terkendala with a reason; an agency
    answers a disposition this way (its answer is the note)."""

    task_id: uuid.UUID
    status: TaskStatus
    note: Text = ""
    reason: Text = ""  # required for terkendala
    location: Point | None = None


class AddNote(msgspec.Struct, frozen=True, kw_only=True, tag="add_note", tag_field="action"):
    """A note, or a situation report (sitrep), on an incident."""

    incident_id: uuid.UUID
    text: Annotated[str, Meta(min_length=1, max_length=8000)]
    sitrep: bool = False


class DismissRecommendation(msgspec.Struct, frozen=True, kw_only=True, tag="dismiss_recommendation",
                            tag_field="action"):
    """Dismiss a decision support recommendation, saying why (it stays dismissed)."""

    recommendation_id: uuid.UUID
    reason: Reason


Action = (OpenIncident | MergeIncidents | SplitIncident | CloseIncident | MarkDrill | SetEmergencyStatus
          | CreateTask | ReassignTask | CancelTask | AcceptTask | ReportProgress | AddNote
          | DismissRecommendation)

_ROOM = frozenset({Role.OFFICER, Role.SUPERVISOR, Role.ADMIN})
_FIELD = frozenset({Role.RESPONDER, Role.AGENCY})
# Who may do what (and for responders and agencies: only on tasks for them, streams/desk.py).
PERMISSIONS: dict[type, frozenset[Role]] = {
    OpenIncident: _ROOM, MergeIncidents: _ROOM, SplitIncident: _ROOM, CloseIncident: _ROOM,
    MarkDrill: _ROOM, SetEmergencyStatus: _ROOM, CreateTask: _ROOM, ReassignTask: _ROOM,
    CancelTask: _ROOM, AcceptTask: _ROOM | _FIELD, ReportProgress: _ROOM | _FIELD,
    AddNote: _ROOM | _FIELD, DismissRecommendation: _ROOM,
}


class Actor(msgspec.Struct, frozen=True, kw_only=True):
    """Who issued a command, as their credential says."""

    name: str
    role: Role
    credential: str  # the credential's id
    scope: Scope = Scope()


class Command(msgspec.Struct, frozen=True, kw_only=True):
    """One act, as issued: on posko.commands (one partition, in the order the desk decides them)."""

    id: uuid.UUID  # UUIDv7, given by the gateway: the idempotency key, and the audit entry's id
    actor: Actor
    origin: str  # where from: "console 10.0.0.7", "responder 10.1.2.3", "api …"
    issued_at: UtcTime
    # The version of the incident, task or region status the issuer saw (None: not checked).
    expected_version: int | None = None
    action: Action


def action_name(action: Action) -> str:
    """The action's tag, e.g. create_task."""
    return str(type(action).__struct_config__.tag)


# --- The desk's state ----------------------------------------------------------------------------


class TaskEntry(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """One line of a task's history."""

    command_id: uuid.UUID
    action: str
    status: TaskStatus
    by: str
    role: Role
    at: UtcTime
    note: str = ""
    reason: str = ""
    location: Point | None = None
    assignee: Assignee | None = None


class Task(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True, tag="task"):
    """A task as it is now: on posko.desk (key task:<id>) at every change."""

    id: uuid.UUID  # the id of the command that created it
    version: int  # 1, 2, …: every change counts up
    title: str
    assignee: Assignee
    priority: Priority
    due_at: UtcTime
    status: TaskStatus
    incident_id: uuid.UUID | None = None
    report: str | None = None
    details: str = ""
    region: Region | None = None
    location: Point | None = None
    created_by: str
    created_at: UtcTime
    updated_at: UtcTime
    drill: bool = False
    recommendation_id: uuid.UUID | None = None  # the decision support recommendation it carries out
    history: list[TaskEntry] = []
    escalations: list[EscalationStep] = []  # the overdue task's escalation steps


class RegionEmergency(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True, tag="emergency"):
    """A region's emergency status as it is now: on posko.desk (key emergency:<region>)."""

    region: Region
    version: int
    status: EmergencyStatus
    decided_at: UtcTime
    decree: str | None = None
    decided_by: str
    incident_id: uuid.UUID | None = None
    note: str = ""
    updated_at: UtcTime
    drill: bool = False
    # The latest commands applied to it (at most 50): a command read again after a crash is known.
    commands: list[uuid.UUID] = []


class IncidentNote(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True, tag="note"):
    """A note or sitrep on an incident: on posko.desk (key note:<id>), never changed."""

    id: uuid.UUID  # the command's id
    incident_id: uuid.UUID
    text: str
    sitrep: bool = False
    by: str
    role: Role
    at: UtcTime
    drill: bool = False


DeskRecord = Task | RegionEmergency | IncidentNote


def is_for(holder: Principal, task: Task) -> bool:
    """True when the task is for this responder (by name) or their team, or for this agency."""
    kind, name, scope = task.assignee.kind, task.assignee.name, holder.scope
    if holder.role is Role.RESPONDER:
        return ((kind is AssigneeKind.RESPONDER and name == holder.name)
                or (kind is AssigneeKind.TEAM and scope.team is not None and name == scope.team))
    return holder.role is Role.AGENCY and kind is AssigneeKind.AGENCY and name == scope.agency


def sees_task(holder: Principal, task: Task) -> bool:
    """True when the holder may see and act on the task: the room every one, the field its own."""
    return holder.sees_everything or is_for(holder, task)


def desk_key(record: DeskRecord) -> bytes:
    """The record's key on posko.desk: task:<id>, emergency:<region> or note:<id>."""
    if isinstance(record, Task):
        return f"task:{record.id}".encode()
    if isinstance(record, RegionEmergency):
        return f"emergency:{record.region}".encode()
    return f"note:{record.id}".encode()


# --- The record of what was done -----------------------------------------------------------------


class AuditEntry(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """One command as decided: on posko.audit and in ClickHouse's append-only audit_log."""

    id: uuid.UUID  # the command's id
    action: str  # create_task, close_incident, …
    target: str  # what it acted on: an incident's, a task's id or a region code
    incident_id: uuid.UUID | None = None
    actor: str
    role: Role
    credential: str
    origin: str
    issued_at: UtcTime
    decided_at: UtcTime
    accepted: bool
    status: int  # 200 applied; 403 no right, 404 unknown or outside scope, 409 conflict, 422 bad move
    reason: str = ""  # why it was refused, for whoever issued it
    before: str = ""  # the target as it was (JSON), "" when it did not exist
    after: str = ""  # the target as it became (JSON), "" when refused
    drill: bool = False
    command: str = ""  # the command as issued (JSON)
