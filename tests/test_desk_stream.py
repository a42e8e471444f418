"""The desk in the real worker: commands on posko.commands decided into posko.desk, posko.incidents
and posko.audit, refusals recorded, and nothing applied twice across a SIGKILL.

The commands are produced as the push gateway writes them (tests/test_console_*.py drive the
gateway itself)."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import msgspec
import pytest

from schemas.commands import (
    AcceptTask,
    Action,
    Actor,
    Assignee,
    AssigneeKind,
    AuditEntry,
    Command,
    CreateTask,
    DeskRecord,
    OpenIncident,
    ReportProgress,
    Task,
    TaskStatus,
)
from schemas.events import new_event_id, utc_now
from schemas.identity import Role, Scope
from schemas.incidents import Hazard, Incident, Priority
from schemas.regions import Region
from schemas.topics import AUDIT, COMMANDS, DESK, INCIDENTS
from tests.conftest import Stack, own_broker, produce, read_topic, running_stack, wait_for

OFFICER = Actor(name="Rina (petugas jaga)", role=Role.OFFICER, credential="c-officer")
RESPONDER = Actor(name="Andi TRC", role=Role.RESPONDER, credential="c-responder",
                  scope=Scope(regions=[Region.TEBO]))
_audit = msgspec.json.Decoder(AuditEntry)
_desk = msgspec.json.Decoder(DeskRecord)
_incident = msgspec.json.Decoder(Incident)


@pytest.fixture(scope="module")
def desk_kafka(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """A broker of this module's own, so its counts of audit entries are its own."""
    with own_broker(tmp_path_factory.mktemp("desk-kafka"), POSKO_WORKER_INSTANCE="desk-worker-1") as (_, env):
        yield env


@pytest.fixture
def stack(desk_kafka: dict[str, str], tmp_path: Path) -> Iterator[Stack]:
    with running_stack(desk_kafka, tmp_path) as running:
        yield running


def command(actor: Actor, action: Action, version: int | None = None) -> Command:
    return Command(id=new_event_id(), actor=actor, origin="test", issued_at=utc_now(),
                   expected_version=version, action=action)


def send(stack: Stack, *commands: Command) -> None:
    asyncio.run(produce(stack.settings, [(COMMANDS, b"15", msgspec.json.encode(c)) for c in commands]))


def audit(stack: Stack) -> list[AuditEntry]:
    return [_audit.decode(v) for _, v in asyncio.run(read_topic(stack.settings, AUDIT)) if v]


def tasks(stack: Stack) -> dict[uuid.UUID, Task]:
    latest: dict[uuid.UUID, Task] = {}
    for _, value in asyncio.run(read_topic(stack.settings, DESK)):
        record = _desk.decode(value) if value else None
        if isinstance(record, Task) and record.version >= latest.get(record.id, record).version:
            latest[record.id] = record
    return latest


def decided(stack: Stack, ids: set[uuid.UUID], within_s: float = 90) -> dict[uuid.UUID, AuditEntry]:
    """Wait for the audit entries of these commands."""
    def found() -> dict[uuid.UUID, AuditEntry] | None:
        entries = {e.id: e for e in audit(stack) if e.id in ids}
        return entries if len(entries) == len(ids) else None

    result = wait_for(found, within_s, lambda: f"audit entries of {len(ids)} commands\n{stack.log_tail()}")
    assert result is not None
    return result


def test_commands_are_decided_in_the_worker_and_every_one_is_audited(stack: Stack) -> None:
    opened = command(OFFICER, OpenIncident(title="Kebakaran pasar Tebo", hazard=Hazard.KEBAKARAN,
                                           regions=[Region.TEBO], priority=Priority.TINGGI))
    send(stack, opened)
    [entry] = decided(stack, {opened.id}).values()
    assert entry.accepted and entry.actor == OFFICER.name and entry.role is Role.OFFICER
    incident = uuid.UUID(entry.target)
    create = command(OFFICER, CreateTask(
        title="Padamkan api blok B", assignee=Assignee(AssigneeKind.RESPONDER, RESPONDER.name),
        priority=Priority.SEGERA, due_at=utc_now() + timedelta(hours=1), incident_id=incident))
    send(stack, create)
    decided(stack, {create.id})
    accept = command(RESPONDER, AcceptTask(task_id=create.id), version=1)
    stale = command(OFFICER, ReportProgress(task_id=create.id, status=TaskStatus.SELESAI), version=1)
    send(stack, accept, stale)
    entries = decided(stack, {accept.id, stale.id})
    assert entries[accept.id].accepted and entries[accept.id].status == 200
    assert (entries[stale.id].accepted, entries[stale.id].status) == (False, 409)
    task = tasks(stack)[create.id]
    assert (task.status, task.version, task.region) == (TaskStatus.DITERIMA, 2, Region.TEBO)
    on_topic = {_incident.decode(v).id for _, v in asyncio.run(read_topic(stack.settings, INCIDENTS)) if v}
    assert incident in on_topic
    garbage = b'{"id": "not a command"}'
    asyncio.run(produce(stack.settings, [(COMMANDS, b"15", garbage)]))
    after = command(OFFICER, ReportProgress(task_id=create.id, status=TaskStatus.BERANGKAT), version=2)
    send(stack, after)
    assert decided(stack, {after.id})[after.id].accepted  # the bad record stopped nothing


def test_no_command_is_lost_or_applied_twice_across_a_worker_sigkill(stack: Stack) -> None:
    creates = [command(OFFICER, CreateTask(
        title=f"Distribusi logistik posko {n}", assignee=Assignee(AssigneeKind.TEAM, "Tagana Tebo"),
        priority=Priority.TINGGI, due_at=utc_now() + timedelta(hours=3), region=Region.TEBO))
        for n in range(600)]
    progress = [command(OFFICER, ReportProgress(task_id=c.id, status=TaskStatus.BERANGKAT), version=1)
                for c in creates]
    done = [command(OFFICER, ReportProgress(task_id=c.id, status=TaskStatus.SELESAI), version=2)
            for c in creates]
    ids = {c.id for c in creates + progress + done}
    send(stack, *creates)
    wait_for(lambda: len({e.id for e in audit(stack)} & ids) >= 30, 60, "the first audit entries")
    send(stack, *progress)
    # Killed as soon as it decided some of them: their offsets are committed only every second,
    # so the restarted worker reads again commands it had applied.
    progressed = {c.id for c in progress}
    wait_for(lambda: {e.id for e in audit(stack)} & progressed, 60, "the first progress decided")
    stack.kill("worker")
    send(stack, *done)
    stack.start("worker")
    # The sink killed while it stores the audit entries and the tasks.
    wait_for(lambda: stack.count("SELECT count() FROM posko.task_progress WHERE status = 'selesai'") > 0,
             120, lambda: f"the sink storing the tasks' progress\n{stack.log_tail()}")
    stack.kill("sink")
    stack.start("sink")
    entries = decided(stack, ids, within_s=180)
    refused = [e for e in entries.values() if not e.accepted]
    assert refused == [], f"{len(refused)} refused, e.g. {refused[:1]} (applied twice, then a conflict?)"
    latest = tasks(stack)
    for create in creates:
        task = latest[create.id]
        assert (task.status, task.version) == (TaskStatus.SELESAI, 3)
        repeated = [i for i, n in Counter(e.command_id for e in task.history).items() if n > 1]
        assert repeated == [], f"commands applied twice to {task.id}: {repeated}"
    # ClickHouse holds every command once, and every task done.
    listed = ",".join(f"'{i}'" for i in ids)
    task_ids = ",".join(f"'{c.id}'" for c in creates)
    expected = {f"SELECT count() FROM posko.audit_log WHERE id IN ({listed})": len(ids),
                f"SELECT uniqExact(id) FROM posko.audit_log WHERE id IN ({listed}) AND accepted": len(ids),
                f"SELECT count() FROM posko.tasks FINAL WHERE id IN ({task_ids}) AND status = 'selesai'":
                    len(creates),
                f"SELECT count() FROM posko.task_progress WHERE task_id IN ({task_ids})": 3 * len(creates)}
    for query, count in expected.items():
        def stored(q: str = query, n: int = count) -> bool:
            return stack.count(q) == n

        def described(q: str = query, n: int = count) -> str:
            return f"{q} = {n}, found {stack.count(q)}\n{stack.log_tail()}"

        wait_for(stored, 120, described)
