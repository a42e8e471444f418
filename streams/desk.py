"""The desk: commands decided against the room's state, one at a time, in posko.commands' order.

`Desk` is pure (no I/O, no clock of its own): `decide` a command, get what it changed (incidents,
tasks, emergency statuses, notes) and its audit entry, applied or refused with an HTTP-like status
and the reason in Bahasa Indonesia and English. Incidents live in the correlation `Room`; the
desk holds the rest. Every state it changes records the command's id, so a command read again
after a crash is recognised and answered as it was, never applied twice. `overdue` gives the
escalation steps of tasks past their due time. The worker (streams/room.py) does the I/O.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime, timedelta

import msgspec

from posko.errors import PoskoError
from schemas.commands import (
    PERMISSIONS,
    PROGRESS,
    AcceptTask,
    Action,
    Actor,
    AddNote,
    AuditEntry,
    CancelTask,
    CloseIncident,
    Command,
    CreateTask,
    DeskRecord,
    DismissRecommendation,
    EmergencyStatus,
    IncidentNote,
    MarkDrill,
    MergeIncidents,
    OpenIncident,
    ReassignTask,
    RegionEmergency,
    ReportProgress,
    SetEmergencyStatus,
    SplitIncident,
    Task,
    TaskEntry,
    TaskStatus,
    action_name,
    sees_task,
)
from schemas.decision import Recommendation, RecommendationStatus
from schemas.identity import Principal, Role
from schemas.incidents import (
    Escalation,
    EscalationStep,
    EscalationSubject,
    Incident,
    IncidentAck,
    IncidentStatus,
    escalation_id,
)
from streams.correlate import Room

# Commands applied that an incident or region status remembers (to know one read again).
REMEMBERED_COMMANDS = 50
# How far from the command's time a due or decision time may lie before it is taken for a mistake.
FURTHEST = timedelta(days=366)
_NAMESPACE = uuid.UUID("0b4e2a9c-5f7d-4c1e-8a36-2d9f6b1c7e40")
_json = msgspec.json.Encoder()


class Refused(PoskoError):
    """A command the desk does not apply: the status and why (caught in `decide`)."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status, self.reason = status, reason


class Decision(msgspec.Struct):
    """What one command did: the audit entry, and the state it changed (nothing when refused)."""

    entry: AuditEntry
    incidents: list[Incident] = []
    records: list[DeskRecord] = []
    ranking: list[Recommendation] = []  # a recommendation dismissed (for posko.ranking)


def as_principal(actor: Actor) -> Principal:
    """The actor of a command as a holder of a credential, for scope checks."""
    return Principal(id=actor.credential, name=actor.name, role=actor.role, scope=actor.scope)


class Desk:
    """Tasks, emergency statuses and notes, and the room's incidents, changed by commands."""

    def __init__(self, room: Room) -> None:
        self.room = room
        self.tasks: dict[uuid.UUID, Task] = {}
        self.emergencies: dict[str, RegionEmergency] = {}
        self.notes: dict[uuid.UUID, IncidentNote] = {}
        # Decision support's recommendations (the worker's board shares this dict).
        self.recommendations: dict[uuid.UUID, Recommendation] = {}
        self.escalation_steps = room.t.escalation_steps
        self._fired: set[uuid.UUID] = set()

    def restore(self, record: DeskRecord) -> None:
        """Take a record back as posko.desk holds it (after a restart)."""
        if isinstance(record, Task):
            self.tasks[record.id] = record
            for step in record.escalations:
                self._fired.add(escalation_id(str(record.id), step.level))
        elif isinstance(record, RegionEmergency):
            self.emergencies[record.region] = record
        else:
            self.notes[record.id] = record

    def fired(self, escalation: uuid.UUID) -> None:
        """A task's escalation step is on the topic already: never fire it again."""
        self._fired.add(escalation)

    # --- deciding --------------------------------------------------------------------------

    def decide(self, command: Command, now: datetime) -> Decision:
        """Apply a command, or refuse it; either way its audit entry."""
        action = command.action
        target, incident = self._target(action)
        before = self._state(action)
        try:
            if command.actor.role not in PERMISSIONS[type(action)]:
                raise Refused(403, f"peran {command.actor.role} tidak boleh {action_name(action)} / "
                                   f"the {command.actor.role} role may not {action_name(action)}")
            incidents: list[Incident] = []
            records: list[DeskRecord] = []
            ranking: list[Recommendation] = []
            if isinstance(action, DismissRecommendation):
                ranking = [self._dismiss(command, action, now)]
            else:
                applied = self._applied(command)
                if applied is None:
                    applied = self._apply(command, now)
                incidents, records = applied
        except Refused as refusal:
            return Decision(self._entry(command, now, target, incident, before, "", refusal))
        after = self._state(action)
        return Decision(self._entry(command, now, target, incident, before, after, None),
                        incidents, records, ranking)

    def _apply(self, command: Command, now: datetime) -> tuple[list[Incident], list[DeskRecord]]:
        handlers: dict[type, Callable[[Command, datetime], tuple[list[Incident], list[DeskRecord]]]] = {
            OpenIncident: self._open, MergeIncidents: self._merge, SplitIncident: self._split,
            CloseIncident: self._close, MarkDrill: self._drill, SetEmergencyStatus: self._emergency,
            CreateTask: self._create, ReassignTask: self._reassign, CancelTask: self._cancel,
            AcceptTask: self._accept, ReportProgress: self._progress, AddNote: self._note,
        }
        return handlers[type(command.action)](command, now)

    def _applied(self, command: Command) -> tuple[list[Incident], list[DeskRecord]] | None:
        """What a command did, when the state shows it was applied already (read again after a crash)."""
        incidents = [i for i in self.room.incidents.values() if command.id in i.commands]
        records: list[DeskRecord] = [t for t in self.tasks.values()
                                     if any(e.command_id == command.id for e in t.history)]
        records += [e for e in self.emergencies.values() if command.id in e.commands]
        if command.id in self.notes:
            records.append(self.notes[command.id])
        return (incidents, records) if incidents or records else None

    # --- incidents -------------------------------------------------------------------------

    def _incident(self, incident_id: uuid.UUID, actor: Actor, *, open_only: bool = True) -> Incident:
        incident = self.room.incidents.get(incident_id)
        if incident is None or not as_principal(actor).covers_area(incident.regions, [incident.hazard]):
            raise Refused(404, f"insiden {incident_id} tidak dikenal atau di luar wilayah tugas / "
                               "unknown incident or outside your scope")
        if open_only and incident.status is IncidentStatus.SELESAI:
            merged = f" (digabung ke {incident.merged_into})" if incident.merged_into else ""
            raise Refused(409, f"insiden sudah ditutup{merged} oleh {incident.closed_by or 'sistem'} / "
                               "the incident is closed already")
        return incident

    def _check_version(self, command: Command, version: int, what: str) -> None:
        expected = command.expected_version
        if expected is not None and expected != version:
            raise Refused(409, f"{what} diubah orang lain (versi {expected} → {version}): muat ulang lalu "
                               f"ulangi / changed by someone else (version {expected} → {version}): "
                               "reload and try again")

    def _mark(self, incident: Incident, command: Command, **changes: object) -> Incident:
        commands = [*incident.commands, command.id][-REMEMBERED_COMMANDS:]
        return msgspec.structs.replace(incident, commands=commands, raised=False, **changes)

    def _open(self, command: Command, now: datetime) -> tuple[list[Incident], list[DeskRecord]]:
        action = command.action
        assert isinstance(action, OpenIncident)
        by = command.actor.name
        incident = Incident(
            id=uuid.uuid5(_NAMESPACE, f"incident|{command.id}"), version=0, hazard=action.hazard,
            title=action.title, priority=action.priority, status=IncidentStatus.DIPANTAU,
            regions=list(dict.fromkeys(action.regions)), centre=action.location, first_at=command.issued_at,
            last_at=command.issued_at, items=[], signal_count=0, why=f"dibuka oleh {by}",
            opened_at=now, updated_at=now, raised=True, acked_by=by, acked_at=now, drill=action.drill,
            manual=True, commands=[command.id])
        return [self.room.put(incident, now)], []

    def _merge(self, command: Command, now: datetime) -> tuple[list[Incident], list[DeskRecord]]:
        action = command.action
        assert isinstance(action, MergeIncidents)
        if action.incident_id == action.other_id:
            raise Refused(422, "insiden tidak dapat digabung dengan dirinya / cannot merge an incident "
                               "with itself")
        target = self._incident(action.incident_id, command.actor)
        other = self._incident(action.other_id, command.actor)
        self._check_version(command, target.version, "insiden")
        target, closed = self.room.merge(self._mark(target, command), self._mark(
            other, command, closed_by=command.actor.name,
            closed_reason=f"digabung ke {target.title}"), now)
        return [closed, target], []

    def _split(self, command: Command, now: datetime) -> tuple[list[Incident], list[DeskRecord]]:
        action = command.action
        assert isinstance(action, SplitIncident)
        incident = self._incident(action.incident_id, command.actor)
        self._check_version(command, incident.version, "insiden")
        ids, have = set(action.item_ids), {item.id for item in incident.items}
        if not ids <= have:
            raise Refused(404, f"{len(ids - have)} butir tidak ada di insiden ini / items not in this "
                               "incident")
        if ids == have:
            raise Refused(422, "pindahkan sebagian butir, bukan semuanya / move some of the items, "
                               "not all of them")
        new = Incident(
            id=uuid.uuid5(_NAMESPACE, f"incident|{command.id}"), version=0, hazard=incident.hazard,
            title=action.title or incident.title, priority=incident.priority, status=incident.status,
            regions=incident.regions, first_at=incident.first_at, last_at=incident.last_at, items=[],
            signal_count=0, opened_at=now, updated_at=now, acked_by=command.actor.name, acked_at=now,
            drill=incident.drill, manual=True, commands=[command.id])
        kept, moved = self.room.split(self._mark(incident, command), ids, new, now)
        if action.title:
            moved = self.room.put(msgspec.structs.replace(moved, title=action.title), now)
        return [kept, moved], []

    def _close(self, command: Command, now: datetime) -> tuple[list[Incident], list[DeskRecord]]:
        action = command.action
        assert isinstance(action, CloseIncident)
        incident = self._incident(action.incident_id, command.actor)
        self._check_version(command, incident.version, "insiden")
        closed = self._mark(incident, command, status=IncidentStatus.SELESAI, closed_by=command.actor.name,
                            closed_reason=action.reason)
        return [self.room.put(closed, now)], []

    def _drill(self, command: Command, now: datetime) -> tuple[list[Incident], list[DeskRecord]]:
        action = command.action
        assert isinstance(action, MarkDrill)
        incident = self._incident(action.incident_id, command.actor, open_only=False)
        if incident.drill == action.drill:
            raise Refused(409, "insiden sudah bertanda itu / the incident is marked so already")
        marked = self.room.put(self._mark(incident, command, drill=action.drill), now)
        records: list[DeskRecord] = []
        for task in [t for t in self.tasks.values() if t.incident_id == incident.id]:
            records.append(self._task(task, command, now, task.status, drill=action.drill))
        return [marked], records

    # --- emergency statuses ------------------------------------------------------------------

    def _emergency(self, command: Command, now: datetime) -> tuple[list[Incident], list[DeskRecord]]:
        action = command.action
        assert isinstance(action, SetEmergencyStatus)
        current = self.emergencies.get(action.region)
        self._check_version(command, current.version if current else 0, "status darurat")
        if action.status is not EmergencyStatus.NORMAL and not action.decree:
            raise Refused(422, "status darurat perlu nomor SK / an emergency status needs its decree "
                               "number")
        _sensible(action.decided_at, command.issued_at, "waktu keputusan / decision time")
        if action.incident_id is not None:
            self._incident(action.incident_id, command.actor, open_only=False)
        status = RegionEmergency(
            region=action.region, version=(current.version if current else 0) + 1, status=action.status,
            decided_at=action.decided_at, decree=action.decree, decided_by=command.actor.name,
            incident_id=action.incident_id, note=action.note, updated_at=now, drill=action.drill,
            commands=[*(current.commands if current else []), command.id][-REMEMBERED_COMMANDS:])
        self.emergencies[action.region] = status
        return [], [status]

    # --- tasks -------------------------------------------------------------------------------

    def _find_task(self, command: Command, task_id: uuid.UUID) -> Task:
        task = self.tasks.get(task_id)
        if task is None or not sees_task(as_principal(command.actor), task):
            raise Refused(404, f"tugas {task_id} tidak dikenal atau bukan untuk Anda / unknown task or "
                               "not yours")
        self._check_version(command, task.version, "tugas")
        if task.status.over:
            raise Refused(409, f"tugas sudah {task.status} / the task is {task.status} already")
        return task

    def _task(self, task: Task, command: Command, now: datetime, status: TaskStatus,
              **changes: object) -> Task:
        """The task's next version, with a line of history for the command."""
        action = command.action
        entry = TaskEntry(
            command_id=command.id, action=action_name(action), status=status, by=command.actor.name,
            role=command.actor.role, at=now, note=getattr(action, "note", ""),
            reason=getattr(action, "reason", ""), location=getattr(action, "location", None),
            assignee=getattr(action, "assignee", None))
        task = msgspec.structs.replace(task, version=task.version + 1, status=status, updated_at=now,
                                       history=[*task.history, entry], **changes)
        self.tasks[task.id] = task
        return task

    def _create(self, command: Command, now: datetime) -> tuple[list[Incident], list[DeskRecord]]:
        action = command.action
        assert isinstance(action, CreateTask)
        _sensible(action.due_at, command.issued_at, "tenggat / due time")
        incident = None
        if action.incident_id is not None:
            incident = self._incident(action.incident_id, command.actor)
        region = action.region or (incident.regions[0] if incident and incident.regions else None)
        task = Task(
            id=command.id, version=0, title=action.title, assignee=action.assignee, priority=action.priority,
            due_at=action.due_at, status=TaskStatus.BARU, incident_id=action.incident_id,
            report=action.report, details=action.details, region=region,
            location=action.location or (incident.centre if incident else None),
            created_by=command.actor.name, created_at=now, updated_at=now,
            drill=incident.drill if incident else False, recommendation_id=action.recommendation_id)
        return [], [self._task(task, command, now, TaskStatus.BARU)]

    def _reassign(self, command: Command, now: datetime) -> tuple[list[Incident], list[DeskRecord]]:
        action = command.action
        assert isinstance(action, ReassignTask)
        task = self._find_task(command, action.task_id)
        if action.due_at is not None:
            _sensible(action.due_at, command.issued_at, "tenggat / due time")
        return [], [self._task(task, command, now, TaskStatus.BARU, assignee=action.assignee,
                               due_at=action.due_at or task.due_at)]

    def _cancel(self, command: Command, now: datetime) -> tuple[list[Incident], list[DeskRecord]]:
        action = command.action
        assert isinstance(action, CancelTask)
        task = self._find_task(command, action.task_id)
        return [], [self._task(task, command, now, TaskStatus.DIBATALKAN)]

    def _accept(self, command: Command, now: datetime) -> tuple[list[Incident], list[DeskRecord]]:
        action = command.action
        assert isinstance(action, AcceptTask)
        task = self._find_task(command, action.task_id)
        if task.status is not TaskStatus.BARU:
            raise Refused(409, f"tugas sudah {task.status} / the task is {task.status} already")
        return [], [self._task(task, command, now, TaskStatus.DITERIMA)]

    def _progress(self, command: Command, now: datetime) -> tuple[list[Incident], list[DeskRecord]]:
        action = command.action
        assert isinstance(action, ReportProgress)
        task = self._find_task(command, action.task_id)
        if action.status not in PROGRESS.get(task.status, frozenset()):
            raise Refused(422, f"dari {task.status} tidak bisa ke {action.status} / cannot go from "
                               f"{task.status} to {action.status}")
        if action.status is TaskStatus.TERKENDALA and not action.reason.strip():
            raise Refused(422, "terkendala perlu alasan / held up needs a reason")
        return [], [self._task(task, command, now, action.status)]

    # --- notes -------------------------------------------------------------------------------

    def _note(self, command: Command, now: datetime) -> tuple[list[Incident], list[DeskRecord]]:
        action = command.action
        assert isinstance(action, AddNote)
        incident = self._incident(action.incident_id, command.actor, open_only=False)
        note = IncidentNote(id=command.id, incident_id=incident.id, text=action.text, sitrep=action.sitrep,
                            by=command.actor.name, role=command.actor.role, at=now, drill=incident.drill)
        self.notes[note.id] = note
        return [], [note]

    # --- recommendations ---------------------------------------------------------------------

    def _dismiss(self, command: Command, action: DismissRecommendation, now: datetime) -> Recommendation:
        """The recommendation dismissed, with who and why; it stays so (decision/board.py keeps it)."""
        rec = self.recommendations.get(action.recommendation_id)
        if rec is None:
            raise Refused(404, f"rekomendasi {action.recommendation_id} tidak dikenal / unknown "
                               "recommendation")
        if command.id in rec.commands:  # read again after a crash: applied already
            return rec
        if rec.status is not RecommendationStatus.TERBUKA:
            raise Refused(409, f"rekomendasi sudah {rec.status} / the recommendation is {rec.status} "
                               "already")
        dismissed = msgspec.structs.replace(
            rec, status=RecommendationStatus.DIABAIKAN, dismissed_by=command.actor.name,
            dismissed_reason=action.reason, updated_at=now,
            commands=[*rec.commands, command.id][-REMEMBERED_COMMANDS:])
        self.recommendations[rec.id] = dismissed
        return dismissed

    # --- overdue tasks -------------------------------------------------------------------------

    def overdue(self, now: datetime) -> list[tuple[Escalation, Task]]:
        """Escalation steps of tasks past their due time that were not fired, with the tasks they change.

        The steps are the incidents' (POSKO_ESCALATION_STEPS), counted from the due time: the first
        fires when it passes."""
        out = []
        first = self.escalation_steps[0][0] if self.escalation_steps else 0.0
        for task in list(self.tasks.values()):
            if task.status.over or task.due_at > now:
                continue
            for level, (after_s, role) in enumerate(self.escalation_steps, start=1):
                due_at = task.due_at + timedelta(seconds=after_s - first)
                if due_at > now:
                    break
                step_id = escalation_id(str(task.id), level)
                if step_id in self._fired:
                    continue
                self._fired.add(step_id)
                minutes = int((now - task.due_at).total_seconds() // 60)
                escalation = Escalation(
                    id=step_id, subject=EscalationSubject.TASK, subject_id=str(task.id), level=level,
                    role=role, regions=[task.region] if task.region else [], priority=task.priority,
                    headline=task.title,
                    reason=(f"Tugas untuk {task.assignee.name} lewat tenggat {minutes} menit "
                            f"({task.status}): diteruskan ke {role}"),
                    due_at=due_at, fired_at=now, late_s=(now - task.due_at).total_seconds(), drill=task.drill)
                task = msgspec.structs.replace(
                    task, version=task.version + 1, updated_at=now,
                    escalations=[*task.escalations, EscalationStep(level=level, role=role, at=now)])
                self.tasks[task.id] = task
                out.append((escalation, task))
        return out

    # --- the audit entry -------------------------------------------------------------------------

    def _target(self, action: Action) -> tuple[str, uuid.UUID | None]:
        """What the action is about (its id as text), and its incident."""
        if isinstance(action, SetEmergencyStatus):
            return str(action.region), action.incident_id
        if isinstance(action, DismissRecommendation):
            rec = self.recommendations.get(action.recommendation_id)
            return str(action.recommendation_id), rec.incident_id if rec else None
        task_id = getattr(action, "task_id", None)
        if task_id is not None:
            task = self.tasks.get(task_id)
            return str(task_id), task.incident_id if task else None
        incident = getattr(action, "incident_id", None)
        return (str(incident) if incident else ""), incident

    def _state(self, action: Action) -> str:
        """The target as it is now, as JSON ("" when there is none yet)."""
        found: object = None
        if isinstance(action, SetEmergencyStatus):
            found = self.emergencies.get(action.region)
        elif isinstance(action, DismissRecommendation):
            found = self.recommendations.get(action.recommendation_id)
        elif (task_id := getattr(action, "task_id", None)) is not None:
            found = self.tasks.get(task_id)
        elif (incident_id := getattr(action, "incident_id", None)) is not None and not isinstance(
                action, CreateTask):
            found = self.room.incidents.get(incident_id)
        return _json.encode(found).decode() if found is not None else ""

    def _entry(self, command: Command, now: datetime, target: str, incident: uuid.UUID | None,
               before: str, after: str, refusal: Refused | None) -> AuditEntry:
        action = command.action
        if isinstance(action, CreateTask) and refusal is None:
            target, after = str(command.id), _json.encode(self.tasks[command.id]).decode()
        elif isinstance(action, OpenIncident | SplitIncident) and refusal is None:
            opened = self.room.incidents[uuid.uuid5(_NAMESPACE, f"incident|{command.id}")]
            target, incident = str(opened.id), opened.id
            after = _json.encode(opened).decode()
        drill = getattr(action, "drill", False) or bool(
            incident and (found := self.room.incidents.get(incident)) is not None and found.drill)
        return AuditEntry(
            id=command.id, action=action_name(action), target=target, incident_id=incident,
            actor=command.actor.name, role=command.actor.role, credential=command.actor.credential,
            origin=command.origin, issued_at=command.issued_at, decided_at=now, accepted=refusal is None,
            status=200 if refusal is None else refusal.status, reason=refusal.reason if refusal else "",
            before=before, after=after, drill=drill, command=_json.encode(command).decode())


def acknowledgement_entry(ack: IncidentAck, before: Incident | None, changed: list[Incident],
                          now: datetime) -> AuditEntry:
    """The audit entry of an acknowledgement of an incident (read from posko.signals): applied when
    it changed the incident, else refused (unknown, closed, or already taken on so)."""
    after = next((i for i in changed if i.id == ack.incident_id), None)
    role = Role(ack.role) if ack.role in set(Role) else Role.RESPONDER
    refused = "insiden tidak dikenal, sudah ditutup, atau sudah ditanggapi begitu / unknown, closed or " \
              "already taken on so"
    return AuditEntry(
        id=uuid.uuid5(_NAMESPACE, f"ack|{ack.incident_id}|{ack.acked_by}|{ack.acked_at.isoformat()}"),
        action="acknowledge_incident", target=str(ack.incident_id), incident_id=ack.incident_id,
        actor=ack.acked_by, role=role, credential="", origin="gateway", issued_at=ack.acked_at,
        decided_at=now, accepted=after is not None, status=200 if after is not None else 409,
        reason="" if after is not None else refused,
        before=_json.encode(before).decode() if before is not None else "",
        after=_json.encode(after).decode() if after is not None else "",
        drill=bool(before and before.drill), command=_json.encode(ack).decode())


def _sensible(at: datetime, issued_at: datetime, what: str) -> None:
    """Refuse a time a year or more away from when the command was issued (a typing slip)."""
    if abs(at - issued_at) > FURTHEST:
        raise Refused(422, f"{what} {at:%Y-%m-%d} terlalu jauh dari sekarang / too far from now")
