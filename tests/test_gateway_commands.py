"""The gateway's command path and the desk's state through a real gateway on a real broker: a
command lands on posko.commands as a `Command` with the holder as actor; the decision on
posko.audit reaches the one who issued it; tasks, statuses and notes on posko.desk reach only
those whose scope they are in. No worker runs here: the records on posko.audit and posko.desk
are written by the test, standing in for the desk (streams/desk.py)."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import msgspec
import pytest

from posko.net import free_port
from posko.services import Service
from schemas.commands import Command, EmergencyStatus, TaskStatus
from schemas.events import utc_now
from schemas.identity import Role
from schemas.incidents import Hazard
from schemas.regions import Region
from schemas.topics import COMMANDS
from sinks.push.protocol import (
    CommandResult,
    CommandSent,
    EmergencyMessage,
    NoteMessage,
    ServerMessage,
    Snapshot,
    TaskMessage,
)
from tests.conftest import Stack, own_broker, read_topic, wait_for
from tests.desk_samples import (
    audit_of,
    emergency,
    moved,
    note,
    publish_audit,
    publish_desk,
    task,
    to_responder,
)
from tests.gateway_stack import GatewayStack, open_client, receive_until
from tests.incident_samples import publish_incidents, singleton_incident

pytestmark = pytest.mark.integration

Done = Callable[[list[ServerMessage]], bool]
_command = msgspec.json.Decoder(Command)


@contextlib.contextmanager
def bare_gateway(home: Path) -> Iterator[GatewayStack]:
    """A gateway alone on a broker of its own: no worker decides its commands, no sink stores."""
    with own_broker(home / "kafka") as (_, env):
        port = free_port()
        env = {**env, "POSKO_GATEWAY_PORT": str(port), "POSKO_CLICKHOUSE": f"chdb://{home / 'clickhouse'}"}
        stack = Stack(env, home)
        gateway = Service("gateway", home, env)
        stack.services = {"gateway": gateway}
        gateway.start()
        running = GatewayStack(stack, gateway, port)
        try:
            wait_for(lambda: (h := running.health()) is not None and h.kafka, 60,
                     lambda: f"the gateway to answer with Kafka ready\n{gateway.tail()}")
            yield running
        finally:
            gateway.stop()


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GatewayStack]:
    """The module's gateway."""
    with bare_gateway(tmp_path_factory.mktemp("commands")) as running:
        yield running


def _snapshot(got: list[ServerMessage]) -> bool:
    return any(isinstance(m, Snapshot) for m in got)


def _has(kind: type, test: Callable[[ServerMessage], bool] = lambda m: True) -> Done:
    return lambda got: any(isinstance(m, kind) and test(m) for m in got)


def _task_versions(got: list[ServerMessage]) -> list[tuple[uuid.UUID, int]]:
    return [(m.task.id, m.task.version) for m in got if isinstance(m, TaskMessage)]


def _create_task(ref: str, name: str, expected_version: int | None = None) -> dict[str, object]:
    due = (utc_now() + timedelta(hours=1)).isoformat()
    return {"type": "command", "ref": ref, "page": "console", "expected_version": expected_version,
            "action": {"action": "create_task", "title": "Evakuasi warga RT 05", "priority": "tinggi",
                       "assignee": {"kind": "responder", "name": name}, "due_at": due, "region": "15.71"}}


async def _commands(gateway: GatewayStack) -> list[tuple[bytes | None, Command]]:
    return [(key, _command.decode(value)) for key, value in await read_topic(gateway.stack.settings, COMMANDS)
            if value is not None]


async def test_a_command_goes_to_kafka_with_its_issuer_and_its_decision_back_to_the_issuer_only(
        gateway: GatewayStack) -> None:
    officer = await open_client(gateway, gateway.token(Role.OFFICER, "Petugas Sari"))
    other = await open_client(gateway, gateway.token(Role.OFFICER, "Petugas Lain"))
    await receive_until(officer, _snapshot)
    await receive_until(other, _snapshot)
    await officer.send(msgspec.json.encode(_create_task("t-1", "Andi", expected_version=3)).decode())
    got = await receive_until(officer, _has(CommandSent))
    sent = next(m for m in got if isinstance(m, CommandSent))
    assert sent.ref == "t-1"
    written = {c.id: (key, c) for key, c in await _commands(gateway)}
    key, command = written[sent.command_id]
    assert key == b"15.71" and command.expected_version == 3
    assert command.actor.name == "Petugas Sari" and command.actor.role is Role.OFFICER
    assert command.origin == "console 127.0.0.1"
    # Its id is derived from the credential and the ref: sent again, it is the same command.
    assert command.id.version == 5
    await officer.send(msgspec.json.encode(_create_task("t-1", "Andi", expected_version=3)).decode())
    again = next(m for m in await receive_until(officer, _has(CommandSent)) if isinstance(m, CommandSent))
    assert again.command_id == sent.command_id
    assert abs((utc_now() - command.issued_at).total_seconds()) < 60

    # The desk refuses it (stand-in): the issuer learns why; the other officer hears nothing of it.
    reason = "tugas diubah orang lain (versi 3 → 4): muat ulang / changed by someone else"
    await publish_audit(gateway.stack.settings, [audit_of(command, 409, reason)])
    got = await receive_until(officer, _has(CommandResult))
    result = next(m for m in got if isinstance(m, CommandResult))
    assert (result.ref, result.command_id, result.status, result.accepted, result.reason) == (
        "t-1", command.id, 409, False, reason)
    # Something after the decision that both receive: once the other has it, it would have had the result.
    marker = emergency(Region.TEBO, EmergencyStatus.SIAGA_DARURAT)
    await publish_desk(gateway.stack.settings, [marker])
    got = await receive_until(other, lambda got: any(isinstance(m, EmergencyMessage) and m.emergency == marker
                                                     for m in got))
    assert not any(isinstance(m, CommandResult | CommandSent) for m in got)
    await officer.close()
    await other.close()


async def test_a_wall_cannot_command_and_nothing_it_sends_is_written(gateway: GatewayStack) -> None:
    wall = await open_client(gateway, gateway.token(Role.WALL, "Dinding Uji"))
    await receive_until(wall, _snapshot)
    await wall.send(msgspec.json.encode(_create_task("w-1", "Andi")).decode())
    got = await receive_until(wall, _has(CommandResult))
    result = next(m for m in got if isinstance(m, CommandResult))
    assert (result.ref, result.status, result.accepted, result.command_id) == ("w-1", 403, False, None)
    assert "dinding" in result.reason and "wall" in result.reason
    # An officer's command after it: once that is on the topic, the wall's would have been too.
    officer = await open_client(gateway, gateway.token(Role.OFFICER, "Petugas Sari"))
    await receive_until(officer, _snapshot)
    await officer.send(msgspec.json.encode(_create_task("o-1", "Andi")).decode())
    got = await receive_until(officer, _has(CommandSent))
    sent = next(m for m in got if isinstance(m, CommandSent))
    commands = [c for _, c in await _commands(gateway)]
    assert sent.command_id in [c.id for c in commands]
    assert not any(c.actor.role is Role.WALL for c in commands)
    await wall.close()
    await officer.close()


async def test_tasks_statuses_and_notes_reach_only_those_in_scope_live_on_resume_and_in_snapshots(
        gateway: GatewayStack, marker: str) -> None:
    settings = gateway.stack.settings
    andi_token = gateway.token(Role.RESPONDER, "Andi", regions=[Region.KOTA_JAMBI])
    budi_token = gateway.token(Role.RESPONDER, "Budi", regions=[Region.KERINCI])
    wall = await open_client(gateway, gateway.token())
    andi = await open_client(gateway, andi_token)
    budi = await open_client(gateway, budi_token)
    for ws in (wall, andi, budi):
        await receive_until(ws, _snapshot)
    kerinci = singleton_incident(marker, Hazard.LONGSOR, "Longsor Kayu Aro", "15.01.01")
    await publish_incidents(settings, [kerinci])
    for_andi = task(marker, to_responder("Andi"))
    for_budi = task(marker, to_responder("Budi"), incident_id=kerinci.id, region=Region.KERINCI)
    written = note(kerinci.id, f"Jalan provinsi tertutup longsor {marker}")
    status = emergency(Region.KERINCI)
    await publish_desk(settings, [for_andi, for_budi, written, status])
    everything: Done = lambda got: ({(for_andi.id, 1), (for_budi.id, 1)} <= set(_task_versions(got))  # noqa: E731
                                    and _has(NoteMessage)(got) and _has(EmergencyMessage)(got))
    await receive_until(wall, everything)
    seen_by_budi = await receive_until(budi, lambda got: (for_budi.id, 1) in _task_versions(got)
                                       and _has(NoteMessage)(got) and _has(EmergencyMessage)(got))
    assert for_andi.id not in [i for i, _ in _task_versions(seen_by_budi)]
    got = await receive_until(andi, lambda got: (for_andi.id, 1) in _task_versions(got))
    last_seq = max(m.seq for m in got if isinstance(m, TaskMessage))
    await andi.close()

    # Andi away: Budi's task moves, Andi's is handed to Budi; on resume Andi gets only that last one.
    accepted = moved(for_budi, status=TaskStatus.DITERIMA)
    handed = moved(for_andi, assignee=to_responder("Budi"))
    await publish_desk(settings, [accepted, handed])
    seen_by_budi += await receive_until(budi, lambda got: {(accepted.id, 2), (handed.id, 2)}
                                        <= set(_task_versions(got)))
    andi = await open_client(gateway, andi_token, resume_after=last_seq)
    got = await receive_until(andi, lambda got: (handed.id, 2) in _task_versions(got))
    assert not _snapshot(got) and _task_versions(got) == [(handed.id, 2)]
    await andi.close()

    # A fresh snapshot: Budi holds both tasks, the status and the note; Andi none of them.
    budi_again = await open_client(gateway, budi_token)
    snapshot = (await receive_until(budi_again, _snapshot))[-1]
    assert isinstance(snapshot, Snapshot)
    assert {t.id: t.version for t in snapshot.tasks} == {for_budi.id: 2, for_andi.id: 2}
    assert snapshot.emergencies == [status] and snapshot.notes == [written]
    andi_again = await open_client(gateway, andi_token)
    snapshot = (await receive_until(andi_again, _snapshot))[-1]
    assert isinstance(snapshot, Snapshot)
    assert snapshot.tasks == [] and snapshot.emergencies == [] and snapshot.notes == []
    for ws in (wall, budi, budi_again, andi_again):
        await ws.close()


async def test_a_restarted_gateway_reads_the_desk_back_from_posko_desk(gateway: GatewayStack,
                                                                       marker: str) -> None:
    given = task(marker, to_responder("Citra"), region=Region.TEBO)
    done = moved(given, status=TaskStatus.SELESAI)
    status = emergency(Region.TEBO, EmergencyStatus.TRANSISI_DARURAT, version=2)
    watcher = await open_client(gateway, gateway.token(Role.OFFICER, "Petugas Sari"))
    await receive_until(watcher, _snapshot)
    await publish_desk(gateway.stack.settings, [given, done, status])
    await receive_until(watcher, lambda got: (done.id, 2) in _task_versions(got))
    await watcher.close()
    gateway.gateway.stop()
    gateway.gateway.start()
    wait_for(lambda: (h := gateway.health()) is not None and h.kafka, 60,
             lambda: f"the gateway to answer again\n{gateway.gateway.tail()}")
    citra = await open_client(gateway, gateway.token(Role.RESPONDER, "Citra", regions=[Region.TEBO]))
    snapshot = (await receive_until(citra, _snapshot))[-1]
    assert isinstance(snapshot, Snapshot)
    assert [(t.id, t.version, t.status) for t in snapshot.tasks] == [(given.id, 2, TaskStatus.SELESAI)]
    assert [(e.region, e.version, e.status) for e in snapshot.emergencies] == [
        (Region.TEBO, 2, EmergencyStatus.TRANSISI_DARURAT)]
    await citra.close()


def test_the_console_is_served_beside_the_wall(gateway: GatewayStack) -> None:
    status, content_type, body = gateway.get("/console")
    assert status == 200 and content_type.startswith("text/html") and b"console.js" in body
    status, _, body = gateway.get("/nowhere")
    assert status == 404 and b"/console" in body
