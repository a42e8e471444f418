"""A drill incident's record as the worker would write it (tests stand in for the worker's desk):
its incident, task versions, note, emergency status, escalation and audit entries, by topic."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import msgspec

from schemas.commands import (
    Assignee,
    AssigneeKind,
    AuditEntry,
    EmergencyStatus,
    IncidentNote,
    RegionEmergency,
    Task,
    TaskEntry,
    TaskStatus,
    desk_key,
)
from schemas.events import Kind, Point
from schemas.identity import Role
from schemas.incidents import (
    Escalation,
    EscalationSubject,
    Hazard,
    Incident,
    IncidentItem,
    IncidentStatus,
    Priority,
    SignalKind,
    escalation_id,
)
from schemas.regions import Region
from schemas.topics import AUDIT, DESK, ESCALATIONS, INCIDENTS

T0 = datetime(2026, 8, 12, 1, 0, tzinfo=UTC)  # 08:00 WIB
MERANGIN = Region("15.02")

# What the timeline must show, in this order (each unique in the document's timeline).
IN_ORDER = ["Sungai Batang Merangin meluap", "Air masuk rumah warga di Bangko", "Insiden dibuka",
            "Siaga darurat di Kabupaten Merangin", "Evakuasi warga RT 03", "Berangkat (Tim menuju",
            "Eskalasi tugas", "Selesai (12 warga", "40 KK mengungsi di Masjid Agung Bangko",
            "Insiden ditutup"]


def at(minutes: int) -> datetime:
    """T0 plus `minutes`."""
    return T0 + timedelta(minutes=minutes)


class Sample(msgspec.Struct, frozen=True):
    """The sample's ids and its (topic, key, value) records."""

    incident_id: uuid.UUID
    task_id: uuid.UUID
    records: list[tuple[str, bytes, bytes]]
    audit_ids: list[uuid.UUID]


def _audit(action: str, target: str, incident: uuid.UUID, minutes: int, actor: str, role: Role, *,
           accepted: bool = True, status: int = 200, reason: str = "", command: str = "") -> AuditEntry:
    return AuditEntry(id=uuid.uuid4(), action=action, target=target, incident_id=incident, actor=actor,
                      role=role, credential=f"cred-{actor}", origin="console 127.0.0.1",
                      issued_at=at(minutes), decided_at=at(minutes) + timedelta(milliseconds=40),
                      accepted=accepted, status=status, reason=reason, drill=True, command=command)


def drill_incident() -> Sample:
    """A flood drill in Merangin, opened by hand, a task done, a sitrep, closed."""
    incident_id, task_id, note_id = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    alert, report = uuid.uuid4(), uuid.uuid4()
    bangko = Point(lat=-2.08, lon=102.28)
    items = [
        IncidentItem(id=alert, kind=SignalKind.PERINGATAN, event_kind=Kind.DISASTER_ALERT,
                     headline="Sungai Batang Merangin meluap", region=MERANGIN, location=bangko,
                     first_at=at(0), last_at=at(0), signal_ids=[alert]),
        IncidentItem(id=report, kind=SignalKind.LAPORAN, event_kind=Kind.CITIZEN_REPORT,
                     headline="Air masuk rumah warga di Bangko", region=MERANGIN, first_at=at(5),
                     last_at=at(5), signal_ids=[report]),
    ]

    def incident(version: int, minutes: int, status: IncidentStatus, **extra: object) -> Incident:
        return Incident(id=incident_id, version=version, hazard=Hazard.BANJIR, title="Latihan banjir Bangko",
                        priority=Priority.TINGGI, status=status, regions=[MERANGIN], first_at=at(0),
                        last_at=at(5), items=items, signal_count=2, report_count=1, opened_at=at(10),
                        updated_at=at(minutes), drill=True, manual=True, **extra)  # type: ignore[arg-type]

    team = Assignee(kind=AssigneeKind.TEAM, name="TRC BPBD Merangin")
    history = [
        TaskEntry(command_id=task_id, action="create_task", status=TaskStatus.BARU, by="Ani",
                  role=Role.OFFICER, at=at(20), assignee=team),
        TaskEntry(command_id=uuid.uuid4(), action="report_progress", status=TaskStatus.BERANGKAT, by="Budi",
                  role=Role.RESPONDER, at=at(30), note="Tim menuju lokasi"),
        TaskEntry(command_id=uuid.uuid4(), action="report_progress", status=TaskStatus.SELESAI, by="Budi",
                  role=Role.RESPONDER, at=at(50), note="12 warga dievakuasi", location=bangko),
    ]

    def task(version: int) -> Task:
        return Task(id=task_id, version=version, title="Evakuasi warga RT 03", assignee=team,
                    priority=Priority.TINGGI, due_at=at(35), status=history[version - 1].status,
                    incident_id=incident_id, region=MERANGIN, created_by="Ani", created_at=at(20),
                    updated_at=history[version - 1].at, drill=True, history=history[:version])

    emergency = RegionEmergency(region=MERANGIN, version=1, status=EmergencyStatus.SIAGA_DARURAT,
                                decided_at=at(15), decree="360/Kep.12/BPBD/2026", decided_by="Kalaksa BPBD",
                                incident_id=incident_id, updated_at=at(15), drill=True)
    note = IncidentNote(id=note_id, incident_id=incident_id, text="40 KK mengungsi di Masjid Agung Bangko",
                        sitrep=True, by="Ani", role=Role.OFFICER, at=at(55), drill=True)
    escalation = Escalation(id=escalation_id(str(task_id), 1), subject=EscalationSubject.TASK,
                            subject_id=str(task_id), level=1, role="supervisor", regions=[MERANGIN],
                            priority=Priority.TINGGI, headline="Evakuasi warga RT 03 lewat tenggat",
                            reason="belum selesai pada tenggat", due_at=at(35), fired_at=at(40), drill=True)
    close = '{"action": {"action": "close_incident", "reason": "Air surut, latihan selesai"}}'
    audits = [
        _audit("open_incident", str(incident_id), incident_id, 10, "Ani", Role.OFFICER),
        _audit("set_emergency_status", str(MERANGIN), incident_id, 15, "Ani", Role.OFFICER),
        _audit("create_task", str(task_id), incident_id, 20, "Ani", Role.OFFICER),
        _audit("report_progress", str(task_id), incident_id, 25, "Cici", Role.RESPONDER, accepted=False,
               status=404, reason="tugas ini bukan untuk Anda"),
        _audit("report_progress", str(task_id), incident_id, 30, "Budi", Role.RESPONDER),
        _audit("report_progress", str(task_id), incident_id, 50, "Budi", Role.RESPONDER),
        _audit("add_note", str(incident_id), incident_id, 55, "Ani", Role.OFFICER),
        _audit("close_incident", str(incident_id), incident_id, 60, "Ani", Role.OFFICER, command=close),
    ]
    encode = msgspec.json.encode
    records: list[tuple[str, bytes, bytes]] = [
        (INCIDENTS, str(incident_id).encode(), encode(incident(1, 10, IncidentStatus.BARU))),
        (DESK, desk_key(emergency), encode(emergency)),
        *[(DESK, desk_key(task(v)), encode(task(v))) for v in (1, 2)],
        (ESCALATIONS, str(task_id).encode(), encode(escalation)),
        (DESK, desk_key(task(3)), encode(task(3))),
        (DESK, desk_key(note), encode(note)),
        (INCIDENTS, str(incident_id).encode(), encode(incident(
            2, 60, IncidentStatus.SELESAI, closed_by="Ani", closed_reason="Air surut, latihan selesai"))),
        *[(AUDIT, str(a.id).encode(), encode(a)) for a in audits],
    ]
    return Sample(incident_id, task_id, records, [a.id for a in audits])
