"""Incidents and escalations from Kafka into ClickHouse (the real sink) and through the real gateway
to walls and responders: snapshot, resume, scope and acknowledgement over a real websocket."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable

import msgspec
import pytest

from schemas.batch import record_lines
from schemas.events import Kind, utc_now
from schemas.identity import Role
from schemas.incidents import (
    Hazard,
    Incident,
    IncidentAck,
    IncidentStatus,
    Priority,
    RoomInput,
    Signal,
    SignalKind,
)
from schemas.regions import Region
from schemas.topics import SIGNALS
from sinks.push.incidents import SNAPSHOT_ITEMS
from sinks.push.protocol import (
    Error,
    EscalationMessage,
    IncidentAckMessage,
    IncidentMessage,
    IncidentReceipt,
    ServerMessage,
    Snapshot,
    Welcome,
)
from tests.conftest import produce, read_topic, wait_for
from tests.gateway_stack import GatewayStack, open_client, own_gateway_stack, receive_until
from tests.incident_samples import (
    escalation_of,
    flood_incident,
    next_version,
    publish_escalations,
    publish_incidents,
    singleton_incident,
)

__all__ = ["own_gateway_stack"]


@pytest.fixture(scope="module")
def gateway_stack(own_gateway_stack: GatewayStack) -> GatewayStack:
    """The module's gateway on a broker of its own: its incidents are the only ones shown."""
    return own_gateway_stack

pytestmark = pytest.mark.integration

Done = Callable[[list[ServerMessage]], bool]


def _snapshot(got: list[ServerMessage]) -> bool:
    return any(isinstance(m, Snapshot) for m in got)


def _versions(got: list[ServerMessage]) -> list[tuple[uuid.UUID, int]]:
    return [(m.incident.id, m.incident.version) for m in got if isinstance(m, IncidentMessage)]


def _has_versions(wanted: list[Incident]) -> Done:
    return lambda got: {(i.id, i.version) for i in wanted} <= set(_versions(got))


def _has_escalation(escalation_id: uuid.UUID) -> Done:
    return lambda got: any(isinstance(m, EscalationMessage) and m.escalation.id == escalation_id for m in got)


def _has(kind: type) -> Done:
    return lambda got: any(isinstance(m, kind) for m in got)


def _rows(stack: GatewayStack, sql: str) -> list[list[str]]:
    out = stack.stack.sql(sql)
    return [line.split("\t") for line in out.splitlines()] if out else []


async def test_incidents_and_escalations_land_in_clickhouse_once_newest_version_kept(
        gateway_stack: GatewayStack, marker: str) -> None:
    settings = gateway_stack.stack.settings
    flood = flood_incident(marker)
    grown = next_version(flood, acked_by="Petugas Piket", status=IncidentStatus.DIPANTAU)
    stray = singleton_incident(marker, Hazard.BANJIR, "Genangan di Pemayung", "15.04.05")
    # The correlator merges the stray report into the flood: the flood holds its item now, and
    # the stray incident's last version is closed, pointing at the flood.
    merged = next_version(grown, items=[*grown.items, *stray.items], signal_count=grown.signal_count + 1)
    closed = next_version(stray, status=IncidentStatus.SELESAI, merged_into=flood.id)
    step = escalation_of(flood)
    await publish_incidents(settings, [flood, stray, grown])
    await publish_escalations(settings, [step])
    await publish_incidents(settings, [merged, closed])
    # Redelivered, as after a crash of the correlator before its commit: no second row.
    await publish_incidents(settings, [flood, grown, stray])
    await publish_escalations(settings, [step])
    # Records after the redeliveries on the same one-partition topics: once they are stored,
    # the redeliveries before them have been written too.
    last = singleton_incident(marker, Hazard.LONGSOR, "Tebing runtuh di Mersam", "15.04.01")
    last_step = escalation_of(last)
    await publish_incidents(settings, [last])
    await publish_escalations(settings, [last_step])
    count = gateway_stack.stack.count
    wait_for(lambda: count(f"SELECT count() FROM posko.incidents FINAL WHERE id = '{last.id}'") == 1
             and count(f"SELECT count() FROM posko.escalations WHERE id = '{last_step.id}'") == 1,
             90, "the last incident and escalation in ClickHouse")

    # A redelivered version is never a second row; a replaced one is left to the merges (the
    # readers read with FINAL, as here: one row per incident, its newest version).
    mine = f"FROM posko.incidents WHERE title LIKE '%{marker}'"
    assert gateway_stack.stack.sql(f"SELECT count() - uniqExact(id, version) {mine}") == "0"
    rows = _rows(gateway_stack, f"SELECT id, version, priority, status, acked_by, toString(merged_into), "
                 f"signal_count, arrayStringConcat(regions, ',') FROM posko.incidents FINAL "
                 f"WHERE title LIKE '%{marker}' ORDER BY title")
    assert len(rows) == 3, rows  # one row per incident, not per version
    by_id = {row[0]: row for row in rows}
    assert by_id[str(flood.id)][1:5] == ["3", "segera", "dipantau", "Petugas Piket"]
    assert by_id[str(flood.id)][6:] == [str(merged.signal_count), "15.04,15.05"]
    assert by_id[str(stray.id)][1] == "2" and by_id[str(stray.id)][5] == str(flood.id)
    # Every signal of the flood once, the stray report's with the flood it was merged into.
    signals = _rows(gateway_stack, "SELECT toString(incident_id), count(), uniqExact(signal_id) "
                    f"FROM posko.incident_signals FINAL WHERE incident_id IN ('{flood.id}', '{stray.id}') "
                    "GROUP BY incident_id")
    assert signals == [[str(flood.id), str(merged.signal_count), str(merged.signal_count)]]
    stray_signal = stray.items[0].signal_ids[0]
    owner = f"SELECT incident_id FROM posko.incident_signals FINAL WHERE signal_id = '{stray_signal}'"
    assert gateway_stack.stack.sql(owner) == str(flood.id)
    assert count(f"SELECT count() FROM posko.escalations WHERE id = '{step.id}'") == 1
    stored = gateway_stack.stack.sql(f"SELECT role, level FROM posko.escalations WHERE id = '{step.id}'")
    assert stored == "supervisor\t1"


async def test_snapshot_holds_open_incidents_by_priority_and_recent_escalations(
        gateway_stack: GatewayStack, marker: str) -> None:
    watcher = await open_client(gateway_stack, gateway_stack.token(name="Pengamat"))
    await receive_until(watcher, _snapshot)
    low = singleton_incident(marker, Hazard.KEBAKARAN, "Kebakaran gudang di Tebo", "15.09.01", minutes_ago=5)
    high = singleton_incident(marker, Hazard.LONGSOR, "Longsor Kayu Aro", "15.01.01", Priority.TINGGI)
    flood = flood_incident(marker)
    done = singleton_incident(marker, Hazard.CUACA, "Angin kencang Bungo", "15.08.01")
    finished = next_version(done, status=IncidentStatus.SELESAI)
    step = escalation_of(flood)
    await publish_incidents(gateway_stack.stack.settings, [low, high, flood, done, finished])
    await publish_escalations(gateway_stack.stack.settings, [step])
    await receive_until(watcher, lambda got: _has_versions([low, high, flood, finished])(got)
                        and _has_escalation(step.id)(got))
    await watcher.close()

    wall = await open_client(gateway_stack, gateway_stack.token())
    got = await receive_until(wall, _snapshot)
    snapshot = got[-1]
    assert isinstance(got[0], Welcome) and isinstance(snapshot, Snapshot)
    mine = [i.id for i in snapshot.incidents if i.title.endswith(marker)]
    assert mine == [flood.id, high.id, low.id]  # Segera, Tinggi, Rendah; the closed one is not there
    ranks = [i.priority.rank for i in snapshot.incidents]
    assert ranks == sorted(ranks)
    # A snapshot carries an incident's first items (it stays under a client's 1 MB); its counts whole.
    shown = next(i for i in snapshot.incidents if i.id == flood.id)
    assert len(shown.items) == SNAPSHOT_ITEMS and shown.signal_count == flood.signal_count
    assert step.id in [e.id for e in snapshot.escalations]
    await wall.close()


async def test_incident_changes_are_pushed_and_resume_replays_exactly_the_missed(
        gateway_stack: GatewayStack, marker: str) -> None:
    settings = gateway_stack.stack.settings
    wall = await open_client(gateway_stack, gateway_stack.token())
    await receive_until(wall, _snapshot)
    flood = flood_incident(marker)
    await publish_incidents(settings, [flood])
    seen = await receive_until(wall, _has_versions([flood]))
    last_seq = max(m.seq for m in seen if isinstance(m, IncidentMessage))
    await wall.close()

    raised = next_version(flood, raised=True, signal_count=flood.signal_count + 3)
    step = escalation_of(flood)
    await publish_incidents(settings, [raised, flood])  # the old version again: not pushed again
    await publish_escalations(settings, [step, step])  # a step fired twice: pushed once
    resumed = await open_client(gateway_stack, gateway_stack.token(), resume_after=last_seq)
    got = await receive_until(resumed, lambda got: _has_versions([raised])(got)
                              and _has_escalation(step.id)(got))
    assert isinstance(got[0], Welcome) and not any(isinstance(m, Snapshot) for m in got)
    mine = [v for v in _versions(got) if v[0] == flood.id]
    assert mine == [(flood.id, 2)]
    # Another record after the repeated step: once it is here, a second copy would have been too.
    marker_step = escalation_of(flood, level=2, role="kepala BPBD")
    await publish_escalations(settings, [marker_step])
    got += await receive_until(resumed, _has_escalation(marker_step.id))
    assert [m.escalation.id for m in got if isinstance(m, EscalationMessage)].count(step.id) == 1
    await resumed.close()


async def test_responder_gets_only_incidents_and_escalations_in_scope(gateway_stack: GatewayStack,
                                                                     marker: str) -> None:
    token = gateway_stack.token(Role.RESPONDER, "TRC BPBD Kerinci", regions=[Region.KERINCI])
    responder = await open_client(gateway_stack, token)
    await receive_until(responder, _snapshot)
    flood = flood_incident(marker)  # Batang Hari and Muaro Jambi
    theirs = singleton_incident(marker, Hazard.LONGSOR, "Longsor jalan Kayu Aro", "15.01.01", Priority.TINGGI)
    await publish_incidents(gateway_stack.stack.settings, [flood, theirs])
    await publish_escalations(gateway_stack.stack.settings, [escalation_of(flood), escalation_of(theirs)])
    got = await receive_until(responder, lambda got: _has_versions([theirs])(got)
                              and _has_escalation(escalation_of(theirs).id)(got))
    assert flood.id not in [v[0] for v in _versions(got)]
    assert escalation_of(flood).id not in [m.escalation.id for m in got if isinstance(m, EscalationMessage)]
    await responder.close()
    again = await open_client(gateway_stack, token)
    snapshot = (await receive_until(again, _snapshot))[-1]
    assert isinstance(snapshot, Snapshot)
    assert theirs.id in [i.id for i in snapshot.incidents]
    assert all(Region.KERINCI in i.regions for i in snapshot.incidents)
    assert all(Region.KERINCI in e.regions for e in snapshot.escalations)
    await again.close()


async def test_incident_ack_goes_on_posko_signals_and_back_to_every_wall(gateway_stack: GatewayStack,
                                                                          marker: str) -> None:
    flood = flood_incident(marker)
    wall = await open_client(gateway_stack, gateway_stack.token())
    await receive_until(wall, _snapshot)
    await publish_incidents(gateway_stack.stack.settings, [flood])
    await receive_until(wall, _has_versions([flood]))
    officer = await open_client(gateway_stack, gateway_stack.token(Role.OFFICER, "Petugas Piket Andi"))
    await receive_until(officer, _snapshot)
    await wall.send(msgspec.json.encode({"type": "incident_ack", "incident_id": flood.id}).decode())
    refused = await receive_until(wall, _has(Error))
    assert "a wall credential cannot acknowledge" in next(m.message for m in refused if isinstance(m, Error))
    outsider = await open_client(gateway_stack,
                                 gateway_stack.token(Role.RESPONDER, regions=[Region.TEBO]))
    await receive_until(outsider, _snapshot)
    await outsider.send(msgspec.json.encode({"type": "incident_ack", "incident_id": flood.id}).decode())
    refused = await receive_until(outsider, _has(Error))
    assert "outside your scope" in next(m.message for m in refused if isinstance(m, Error))

    sent_at = time.monotonic()
    await officer.send(msgspec.json.encode({"type": "incident_ack", "incident_id": flood.id,
                                            "status": "ditangani"}).decode())
    got = await receive_until(officer, _has(IncidentReceipt))
    assert next(m for m in got if isinstance(m, IncidentReceipt)).incident_id == flood.id
    seen = await receive_until(wall, lambda got: any(isinstance(m, IncidentAckMessage)
                                                     and m.ack.incident_id == flood.id for m in got))
    ack = next(m.ack for m in seen if isinstance(m, IncidentAckMessage) and m.ack.incident_id == flood.id)
    assert ack.acked_by == "Petugas Piket Andi" and ack.role == "officer"
    assert ack.status is IncidentStatus.DITANGANI
    print(f"incident acknowledgement on the wall {1000 * (time.monotonic() - sent_at):.0f} ms after sending")
    decoder = msgspec.json.Decoder(RoomInput)
    on_kafka = [(key, decoder.decode(line or b"")) for key, value in
                await read_topic(gateway_stack.stack.settings, SIGNALS) for _, line in record_lines(value)]
    acks = [(key, room) for key, room in on_kafka
            if isinstance(room, IncidentAck) and room.incident_id == flood.id]
    assert [key for key, _ in acks] == [b"15"] and acks[0][1] == ack
    for ws in (wall, officer, outsider):
        await ws.close()


async def test_an_incident_ack_inside_a_batch_of_signals_reaches_the_wall(gateway_stack: GatewayStack,
                                                                          marker: str) -> None:
    """posko.signals carries batches (one signal a line, as the worker writes them): the gateway
    finds the acknowledgement among signals and a bad line, and the lines after that."""
    flood = flood_incident(marker)
    wall = await open_client(gateway_stack, gateway_stack.token())
    await receive_until(wall, _snapshot)
    await publish_incidents(gateway_stack.stack.settings, [flood])
    await receive_until(wall, _has_versions([flood]))
    signal = Signal(id=uuid.uuid4(), kind=SignalKind.LAPORAN, event_kind=Kind.CITIZEN_REPORT,
                    hazard=Hazard.BANJIR, occurred_at=utc_now(), region=Region.BATANG_HARI,
                    headline="Air masuk rumah", text='warga bilang "ack" sudah surut')
    ack = IncidentAck(incident_id=flood.id, acked_by=f"Regu {marker}", role="responder", acked_at=utc_now())
    batch = b"\n".join([msgspec.json.encode(signal), b'{"type":"ack", "incident_id": "rusak"',
                         msgspec.json.encode(ack), msgspec.json.encode(signal)])
    await produce(gateway_stack.stack.settings, [(SIGNALS, b"15", batch)])
    seen = await receive_until(wall, lambda got: any(isinstance(m, IncidentAckMessage)
                                                     and m.ack.acked_by == ack.acked_by for m in got))
    acks = [m.ack for m in seen if isinstance(m, IncidentAckMessage) and m.ack.incident_id == flood.id]
    assert acks == [ack]
    await wall.close()
