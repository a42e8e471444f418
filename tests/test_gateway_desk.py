"""Who sees which task, emergency status and note, what a snapshot carries of the desk, and where a
command goes on posko.commands: the gateway's desk board and command path without I/O."""

from __future__ import annotations

import uuid
from datetime import timedelta

import msgspec

from schemas.commands import (
    AddNote,
    Assignee,
    AssigneeKind,
    CancelTask,
    CreateTask,
    EmergencyStatus,
    OpenIncident,
    SetEmergencyStatus,
    TaskStatus,
)
from schemas.events import utc_now
from schemas.identity import Principal, Role, Scope
from schemas.incidents import Hazard, Priority
from schemas.regions import Region
from sinks.push.commands import command_key
from sinks.push.desk import DONE_KEPT, DeskBoard, ScopedNote, ScopedTask, sees_desk_item
from sinks.push.protocol import Snapshot
from sinks.push.snapshot import SNAPSHOT_BYTES, fit_snapshot
from tests.desk_samples import emergency, moved, note, task, to_responder
from tests.incident_samples import flood_incident, singleton_incident

OFFICER = Principal(id="o", name="Petugas Piket", role=Role.OFFICER)
WALL = Principal(id="w", name="Dinding", role=Role.WALL)
ANDI = Principal(id="a", name="Andi", role=Role.RESPONDER,
                 scope=Scope(regions=[Region.KOTA_JAMBI], team="TRC BPBD Kota Jambi"))
BUDI = Principal(id="b", name="Budi", role=Role.RESPONDER, scope=Scope(regions=[Region.KERINCI]))
PUPR = Principal(id="p", name="Admin PUPR", role=Role.AGENCY, scope=Scope(agency="Dinas PUPR"))


def test_a_task_is_seen_by_the_room_and_whom_it_is_for_only() -> None:
    for_andi = task("m", to_responder("Andi"))
    for_team = task("m", Assignee(AssigneeKind.TEAM, "TRC BPBD Kota Jambi"))
    for_pupr = task("m", Assignee(AssigneeKind.AGENCY, "Dinas PUPR"))
    # A responder named like an agency, or an agency named like a team, sees nothing of theirs.
    for_other_kind = task("m", Assignee(AssigneeKind.AGENCY, "Andi"))
    seen = {name: [p.name for p in (OFFICER, WALL, ANDI, BUDI, PUPR)
                   if sees_desk_item(p, ScopedTask(t, None))]
            for name, t in [("andi", for_andi), ("team", for_team), ("pupr", for_pupr),
                            ("other", for_other_kind)]}
    room = ["Petugas Piket", "Dinding"]
    assert seen == {"andi": [*room, "Andi"], "team": [*room, "Andi"], "pupr": [*room, "Admin PUPR"],
                    "other": room}


def test_a_reassigned_task_reaches_whom_it_was_for_and_whom_it_is_for_now() -> None:
    board = DeskBoard()
    first = task("m", to_responder("Andi"))
    assert board.update(first, {}) == ScopedTask(first, None)
    second = moved(first, assignee=to_responder("Budi"))
    item = board.update(second, {})
    assert item == ScopedTask(second, first)
    assert sees_desk_item(ANDI, item) and sees_desk_item(BUDI, item)
    # Andi's snapshot no longer holds it; Budi's does.
    assert board.view(ANDI, [])[0] == [] and board.view(BUDI, [])[0] == [second]


def test_a_redelivered_or_older_version_is_not_published_again() -> None:
    board = DeskBoard()
    first = task("m", to_responder("Andi"))
    second = moved(first, status=TaskStatus.DITERIMA)
    assert board.update(second, {}) is not None
    assert board.update(first, {}) is None and board.update(second, {}) is None
    status = emergency(Region.KERINCI)
    assert board.update(status, {}) is not None and board.update(status, {}) is None
    written = note(uuid.uuid4(), "Tim tiba")
    assert board.update(written, {}) is not None and board.update(written, {}) is None


def test_emergencies_and_notes_follow_the_incident_and_region_scope() -> None:
    board = DeskBoard()
    kerinci = singleton_incident("m", Hazard.LONGSOR, "Longsor Kayu Aro", "15.01.01")
    item = board.update(note(kerinci.id, "Jalan tertutup"), {kerinci.id: kerinci})
    assert isinstance(item, ScopedNote) and item.regions == [Region.KERINCI]
    assert [p.name for p in (WALL, ANDI, BUDI) if sees_desk_item(p, item)] == ["Dinding", "Budi"]
    # A note of an incident the gateway does not hold: only the room sees it.
    stray = board.update(note(uuid.uuid4(), "?"), {})
    assert stray is not None and not sees_desk_item(BUDI, stray) and sees_desk_item(OFFICER, stray)
    status = emergency(Region.KERINCI)
    assert sees_desk_item(BUDI, status) and not sees_desk_item(ANDI, status)
    board.update(status, {})
    board.update(emergency(Region.KOTA_JAMBI, EmergencyStatus.NORMAL), {})
    assert board.view(OFFICER, [kerinci])[1] == [status]  # normal regions are not listed
    assert board.view(ANDI, [])[1] == []


def test_a_snapshot_holds_open_tasks_first_and_those_over_lately() -> None:
    board = DeskBoard()
    done_long_ago = moved(task("m", to_responder("Andi")), status=TaskStatus.SELESAI,
                          updated_at=utc_now() - DONE_KEPT - timedelta(minutes=1))
    done = moved(task("m", to_responder("Andi")), status=TaskStatus.SELESAI)
    low = task("m", to_responder("Andi"), priority=Priority.RENDAH)
    urgent = task("m", to_responder("Andi"), priority=Priority.SEGERA, due_in=timedelta(hours=3))
    for record in (done_long_ago, done, low, urgent):
        board.update(record, {})
    assert [t.id for t in board.view(ANDI, [])[0]] == [urgent.id, low.id, done.id]


def test_a_snapshot_heavy_with_notes_and_tasks_fits_one_message_keeping_the_most_pressing() -> None:
    flood = flood_incident("m", items=10)
    tasks = [task("x" * 150, to_responder("Andi")) for _ in range(2000)]
    notes = [note(flood.id, "y" * 4000) for _ in range(200)]
    heavy = Snapshot(seq=1, alerts=[], acks=[], counts=None, regions={}, incidents=[flood], tasks=tasks,
                     notes=notes)
    assert len(msgspec.json.encode(heavy)) > SNAPSHOT_BYTES
    fitted = fit_snapshot(heavy)
    assert len(msgspec.json.encode(fitted)) <= SNAPSHOT_BYTES
    assert fitted.incidents == [flood]
    assert fitted.tasks == tasks[: len(fitted.tasks)]
    assert fitted.notes == notes[len(notes) - len(fitted.notes):]


def test_a_command_is_keyed_by_what_it_is_about() -> None:
    task_id, incident_id = uuid.uuid4(), uuid.uuid4()
    due = utc_now()
    assert command_key(CancelTask(task_id=task_id, reason="ganda")) == str(task_id).encode()
    assert command_key(AddNote(incident_id=incident_id, text="x")) == str(incident_id).encode()
    assert command_key(SetEmergencyStatus(region=Region.KERINCI, status=EmergencyStatus.SIAGA_DARURAT,
                                          decided_at=due, decree="1")) == b"15.01"
    assert command_key(OpenIncident(title="x", hazard=Hazard.BANJIR, regions=[Region.TEBO],
                                    priority=Priority.SEDANG)) == b"15.09"
    given = CreateTask(title="x", assignee=to_responder("Andi"), priority=Priority.SEDANG, due_at=due,
                       incident_id=incident_id)
    assert command_key(given) == str(incident_id).encode()
