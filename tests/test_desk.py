"""The desk (pure part): commands applied or refused with a status and reason, versions, scope,
overdue tasks, and commands read again after a crash recognised."""

from __future__ import annotations

import uuid
from datetime import timedelta

import msgspec
import pytest

from schemas.commands import (
    AcceptTask,
    Action,
    Actor,
    AddNote,
    Assignee,
    AssigneeKind,
    CancelTask,
    CloseIncident,
    Command,
    CreateTask,
    EmergencyStatus,
    MarkDrill,
    MergeIncidents,
    OpenIncident,
    ReassignTask,
    ReportProgress,
    SetEmergencyStatus,
    SplitIncident,
    Task,
    TaskStatus,
)
from schemas.events import new_event_id
from schemas.identity import Role, Scope
from schemas.incidents import EscalationSubject, Hazard, Incident, IncidentStatus, Priority
from schemas.regions import Region
from streams.correlate import Room
from streams.desk import Desk
from tests.test_correlation import MUARA_BULIAN, PEMAYUNG, SUNGAI_PENUH, T0, alert, report

OFFICER = Actor(name="Rina (petugas jaga)", role=Role.OFFICER, credential="c1")
OFFICER_2 = Actor(name="Budi (petugas jaga)", role=Role.OFFICER, credential="c2")
RESPONDER = Actor(name="Andi TRC", role=Role.RESPONDER, credential="c3",
                  scope=Scope(regions=[Region.BATANG_HARI], team="TRC Batang Hari"))
OTHER_RESPONDER = Actor(name="Sari TRC", role=Role.RESPONDER, credential="c4",
                        scope=Scope(regions=[Region.KERINCI]))
AGENCY = Actor(name="Dinas PUPR", role=Role.AGENCY, credential="c5", scope=Scope(agency="Dinas PUPR"))
WALL = Actor(name="Dinding", role=Role.WALL, credential="c6")


def command(actor: Actor, action: Action, version: int | None = None) -> Command:
    return Command(id=new_event_id(), actor=actor, origin="test", issued_at=T0, expected_version=version,
                   action=action)


@pytest.fixture
def desk() -> Desk:
    return Desk(Room())


def flood(desk: Desk) -> Incident:
    """A flood incident from a BPBD warning and two reports near Muara Bulian."""
    room = desk.room
    room.take(alert(), T0)
    room.take(report("Air masuk rumah", at=timedelta(minutes=5)), T0)
    [incident] = room.take(report("Jalan terendam", where=PEMAYUNG, at=timedelta(minutes=9)), T0)
    return incident


def give(desk: Desk, incident: Incident | None, assignee: Assignee, actor: Actor = OFFICER) -> Task:
    decision = desk.decide(command(actor, CreateTask(
        title="Evakuasi warga RT 03", assignee=assignee, priority=Priority.SEGERA,
        due_at=T0 + timedelta(hours=1),
        incident_id=incident.id if incident else None)), T0)
    assert decision.entry.accepted, decision.entry.reason
    [task] = decision.records
    assert isinstance(task, Task)
    return task


def test_an_officer_gives_a_task_and_the_responder_takes_it_to_done(desk: Desk) -> None:
    incident = flood(desk)
    task = give(desk, incident, Assignee(AssigneeKind.RESPONDER, "Andi TRC"))
    assert (task.status, task.version, task.region, task.drill) == (
        TaskStatus.BARU, 1, Region.BATANG_HARI, False)
    steps: list[tuple[Action, TaskStatus]] = [
        (AcceptTask(task_id=task.id), TaskStatus.DITERIMA),
        (ReportProgress(task_id=task.id, status=TaskStatus.BERANGKAT), TaskStatus.BERANGKAT),
        (ReportProgress(task_id=task.id, status=TaskStatus.SELESAI, note="12 warga dievakuasi"),
         TaskStatus.SELESAI)]
    for action, status in steps:
        decision = desk.decide(command(RESPONDER, action), T0)
        assert decision.entry.accepted, decision.entry.reason
        assert desk.tasks[task.id].status is status
    done = desk.tasks[task.id]
    assert [e.status for e in done.history] == [TaskStatus.BARU, TaskStatus.DITERIMA, TaskStatus.BERANGKAT,
                                                TaskStatus.SELESAI]
    assert done.history[-1].note == "12 warga dievakuasi" and done.history[-1].by == "Andi TRC"
    again = desk.decide(command(RESPONDER, ReportProgress(task_id=task.id, status=TaskStatus.BERANGKAT)), T0)
    assert (again.entry.accepted, again.entry.status) == (False, 409)


def test_two_officers_editing_one_task_one_wins_the_other_gets_a_conflict(desk: Desk) -> None:
    task = give(desk, flood(desk), Assignee(AssigneeKind.TEAM, "TRC Batang Hari"))
    first = desk.decide(command(OFFICER, ReassignTask(task_id=task.id, assignee=Assignee(
        AssigneeKind.RESPONDER, "Andi TRC")), version=task.version), T0)
    second = desk.decide(command(OFFICER_2, CancelTask(task_id=task.id, reason="salah kirim"),
                                 version=task.version), T0)
    assert first.entry.accepted and first.entry.status == 200
    assert (second.entry.accepted, second.entry.status) == (False, 409)
    assert "versi 1 → 2" in second.entry.reason and second.records == []
    assert desk.tasks[task.id].status is TaskStatus.BARU  # the cancel was not applied


def test_a_responder_can_neither_touch_nor_find_a_task_outside_its_scope(desk: Desk) -> None:
    task = give(desk, flood(desk), Assignee(AssigneeKind.RESPONDER, "Andi TRC"))
    refused = desk.decide(command(OTHER_RESPONDER, AcceptTask(task_id=task.id)), T0)
    assert (refused.entry.accepted, refused.entry.status) == (False, 404)
    assert refused.entry.actor == "Sari TRC" and refused.entry.after == ""
    no_right = desk.decide(command(RESPONDER, CancelTask(task_id=task.id, reason="tidak mau")), T0)
    assert (no_right.entry.status, desk.tasks[task.id].status) == (403, TaskStatus.BARU)
    wall = desk.decide(command(WALL, AddNote(incident_id=task.incident_id or uuid.uuid4(), text="halo")), T0)
    assert wall.entry.status == 403


def test_an_agency_answers_its_disposition(desk: Desk) -> None:
    decision = desk.decide(command(OFFICER, CreateTask(
        title="Disposisi: jalan berlubang di Jl. Sudirman",
        assignee=Assignee(AssigneeKind.AGENCY, "Dinas PUPR"),
        priority=Priority.SEDANG, due_at=T0 + timedelta(days=3), report="JMB-2026-000123",
        region=Region.KOTA_JAMBI)), T0)
    [task] = decision.records
    assert isinstance(task, Task)
    answer = desk.decide(command(AGENCY, ReportProgress(task_id=task.id, status=TaskStatus.SELESAI,
                                                        note="Ditambal 2 Desember")), T0)
    assert answer.entry.accepted
    assert desk.tasks[task.id].history[-1].note == "Ditambal 2 Desember"


def test_bad_moves_are_refused_with_422(desk: Desk) -> None:
    task = give(desk, flood(desk), Assignee(AssigneeKind.RESPONDER, "Andi TRC"))
    stuck = desk.decide(command(RESPONDER, ReportProgress(task_id=task.id, status=TaskStatus.TERKENDALA)), T0)
    assert (stuck.entry.status, "alasan" in stuck.entry.reason) == (422, True)
    status = desk.decide(command(OFFICER, SetEmergencyStatus(
        region=Region.BATANG_HARI, status=EmergencyStatus.TANGGAP_DARURAT, decided_at=T0)), T0)
    assert (status.entry.status, "SK" in status.entry.reason) == (422, True)
    absurd = desk.decide(command(OFFICER, CreateTask(
        title="x", assignee=Assignee(AssigneeKind.TEAM, "TRC"), priority=Priority.RENDAH,
        due_at=T0 + timedelta(days=4000))), T0)
    assert absurd.entry.status == 422


def test_an_emergency_status_is_recorded_with_its_decree_and_versions(desk: Desk) -> None:
    action = SetEmergencyStatus(region=Region.BATANG_HARI, status=EmergencyStatus.TANGGAP_DARURAT,
                                decided_at=T0 - timedelta(hours=2), decree="360/Kep.45/BPBD/2026")
    applied = desk.decide(command(OFFICER, action, version=0), T0)
    assert applied.entry.accepted and applied.entry.before == ""
    status = desk.emergencies[Region.BATANG_HARI]
    assert (status.version, status.decree, status.decided_by) == (1, "360/Kep.45/BPBD/2026", OFFICER.name)
    stale = desk.decide(command(OFFICER_2, action, version=0), T0)
    assert stale.entry.status == 409


def test_incidents_open_merge_split_close_and_drill(desk: Desk) -> None:
    incident = flood(desk)
    opened = desk.decide(command(OFFICER, OpenIncident(
        title="Banjir bandang Sungai Penuh", hazard=Hazard.BANJIR, regions=[Region.KOTA_SUNGAI_PENUH],
        priority=Priority.TINGGI)), T0)
    [manual] = opened.incidents
    assert (manual.manual, manual.priority, manual.status, opened.entry.target) == (
        True, Priority.TINGGI, IncidentStatus.DIPANTAU, str(manual.id))
    merged = desk.decide(command(OFFICER, MergeIncidents(incident_id=incident.id, other_id=manual.id)), T0)
    closed, target = merged.incidents
    assert (closed.status, closed.merged_into, len(target.items)) == (IncidentStatus.SELESAI, incident.id, 3)
    report_items = [i.id for i in target.items if i.kind == "laporan"]
    split = desk.decide(command(OFFICER, SplitIncident(incident_id=incident.id, item_ids=report_items[:1],
                                                      title="Genangan Pemayung")), T0)
    kept, moved = split.incidents
    assert (len(kept.items), len(moved.items), moved.title) == (2, 1, "Genangan Pemayung")
    signal = moved.items[0].signal_ids[0]
    assert desk.room.member[signal] == moved.id
    drill = desk.decide(command(OFFICER, MarkDrill(incident_id=moved.id)), T0)
    assert drill.incidents[0].drill
    close = desk.decide(command(OFFICER, CloseIncident(incident_id=moved.id, reason="air sudah surut")), T0)
    [gone] = close.incidents
    assert (gone.status, gone.closed_by, gone.closed_reason) == (IncidentStatus.SELESAI, OFFICER.name,
                                                                 "air sudah surut")
    assert close.entry.drill  # about a drill incident
    twice = desk.decide(command(OFFICER_2, CloseIncident(incident_id=moved.id, reason="lagi")), T0)
    assert (twice.entry.status, OFFICER.name in twice.entry.reason) == (409, True)
    assert SUNGAI_PENUH and MUARA_BULIAN  # the places of test_correlation


def test_a_command_read_again_after_a_crash_is_answered_as_before_and_applied_once(desk: Desk) -> None:
    incident = flood(desk)
    create = command(OFFICER, CreateTask(title="Dirikan tenda", assignee=Assignee(AssigneeKind.TEAM, "TRC"),
                                         priority=Priority.TINGGI, due_at=T0 + timedelta(hours=2),
                                         incident_id=incident.id))
    first = desk.decide(create, T0)
    progress = command(OFFICER, ReportProgress(task_id=create.id, status=TaskStatus.BERANGKAT), version=1)
    desk.decide(progress, T0)
    close = command(OFFICER, CloseIncident(incident_id=incident.id, reason="selesai"))
    desk.decide(close, T0)
    # A new worker restores what posko.desk and posko.incidents held, then reads the commands again.
    again = Desk(Room())
    for record in [*first.records, desk.tasks[create.id]]:
        again.restore(record)
    again.room.restore(desk.room.incidents[incident.id], T0)
    for cmd in (create, progress, close):
        decision = again.decide(cmd, T0)
        assert decision.entry.accepted and decision.entry.status == 200, decision.entry.reason
    assert again.tasks[create.id].version == 2 and len(again.tasks[create.id].history) == 2
    assert again.room.incidents[incident.id].version == desk.room.incidents[incident.id].version


def test_an_overdue_task_escalates_through_the_steps_once_each(desk: Desk) -> None:
    task = give(desk, flood(desk), Assignee(AssigneeKind.RESPONDER, "Andi TRC"))
    assert desk.overdue(task.due_at - timedelta(seconds=1)) == []
    [(first, changed)] = desk.overdue(task.due_at + timedelta(seconds=1))
    assert (first.subject, first.level, first.role, first.subject_id) == (
        EscalationSubject.TASK, 1, "petugas piket", str(task.id))
    assert changed.escalations[0].level == 1
    assert desk.overdue(task.due_at + timedelta(seconds=2)) == []
    later = desk.overdue(task.due_at + timedelta(hours=1))
    assert [e.level for e, _ in later] == [2, 3]
    desk.decide(command(RESPONDER, ReportProgress(task_id=task.id, status=TaskStatus.SELESAI)), T0)
    restored = Desk(Room())
    restored.restore(desk.tasks[task.id])
    assert restored.overdue(task.due_at + timedelta(days=1)) == []


def test_audit_entries_hold_who_what_and_the_state_before_and_after(desk: Desk) -> None:
    task = give(desk, flood(desk), Assignee(AssigneeKind.RESPONDER, "Andi TRC"))
    decision = desk.decide(command(RESPONDER, AcceptTask(task_id=task.id, note="otw")), T0)
    entry = decision.entry
    assert (entry.action, entry.target, entry.actor, entry.role, entry.incident_id) == (
        "accept_task", str(task.id), "Andi TRC", Role.RESPONDER, task.incident_id)
    before = msgspec.json.decode(entry.before, type=Task)
    after = msgspec.json.decode(entry.after, type=Task)
    assert (before.status, after.status) == (TaskStatus.BARU, TaskStatus.DITERIMA)
    assert msgspec.json.decode(entry.command, type=Command).id == entry.id
