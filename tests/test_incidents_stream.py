"""Incidents in the real worker: a scenario's signals on posko.incidents, escalation timers that
survive SIGKILL, acknowledgements that stop them."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path

import msgspec
import pytest

from connectors.simulator.run import play_scenario
from connectors.simulator.scenarios import Truth
from schemas.commands import AuditEntry
from schemas.events import (
    AlertArea,
    AlertCategory,
    Certainty,
    DeadLetter,
    DisasterAlert,
    DisasterAlertEvent,
    Kind,
    Severity,
    Urgency,
    new_event_id,
    utc_now,
)
from schemas.incidents import Escalation, Incident, IncidentAck, Priority, incident_id
from schemas.regions import Region
from schemas.topics import AUDIT, DLQ, ESCALATIONS, INCIDENTS, SIGNALS, raw_topic
from streams.signals import signal_of
from tests.conftest import Stack, own_broker, produce, read_topic, running_stack, wait_for

_incident = msgspec.json.Decoder(Incident)
_escalation = msgspec.json.Decoder(Escalation)
_audit = msgspec.json.Decoder(AuditEntry)
_letter = msgspec.json.Decoder(DeadLetter)
STEPS = "4:petugas piket,12:supervisor,20:kepala BPBD"


def incidents(stack: Stack) -> dict[uuid.UUID, Incident]:
    """The latest version of every incident on posko.incidents."""
    latest: dict[uuid.UUID, Incident] = {}
    for _, value in asyncio.run(read_topic(stack.settings, INCIDENTS)):
        if value:
            incident = _incident.decode(value)
            if incident.version >= latest.get(incident.id, incident).version:
                latest[incident.id] = incident
    return latest


def escalations_of(stack: Stack, subject: uuid.UUID) -> list[Escalation]:
    found = [_escalation.decode(v) for _, v in asyncio.run(read_topic(stack.settings, ESCALATIONS)) if v]
    return [e for e in found if e.subject_id == str(subject)]


@pytest.fixture(scope="module")
def quiet_kafka(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """A broker of this module's own: the session broker's posko.incidents holds other tests'
    floods, which a flood of this test would rightly join."""
    with own_broker(tmp_path_factory.mktemp("incidents-kafka"),
                    POSKO_WORKER_INSTANCE="incidents-worker-1") as (_, env):
        yield env


@pytest.fixture
def stack(quiet_kafka: dict[str, str], tmp_path: Path) -> Iterator[Stack]:
    """Worker and sink on this module's broker."""
    with running_stack(quiet_kafka, tmp_path) as running:
        yield running


def test_a_flood_played_through_the_worker_becomes_one_segera_incident(stack: Stack, tmp_path: Path) -> None:
    truth = tmp_path / "truth.jsonl"
    asyncio.run(play_scenario(stack.settings, "banjir-batanghari", speed=36_000, truth=truth, seed=11))
    records = msgspec.json.Decoder(Truth).decode_lines(truth.read_bytes())
    flood_events = {uuid.UUID(r.event_id) for r in records if r.happening == "banjir-batanghari"}

    def flood() -> Incident | None:
        for incident in incidents(stack).values():
            members = {s for item in incident.items for s in item.signal_ids}
            # every report and warning, and the gauges above normal (not the first, normal hours)
            if incident.merged_into is None and len(members & flood_events) >= len(flood_events) - 6:
                return incident
        return None

    found = wait_for(flood, 120, lambda: f"one incident with the flood's signals\n{stack.log_tail()}")
    assert found is not None
    assert found.priority is Priority.SEGERA and found.official and found.victims
    assert {Region.BATANG_HARI, Region.MUARO_JAMBI} <= set(found.regions)
    members = {s for item in found.items for s in item.signal_ids}
    others = members - flood_events
    assert len(others) <= 2, f"background signals taken into the flood: {len(others)}"
    assert found.report_count >= 150 and len(found.items) < found.signal_count  # near-identical folded


def _segera_alert(region: Region) -> DisasterAlertEvent:
    now = utc_now()
    return DisasterAlertEvent(
        id=new_event_id(), source="test", occurred_at=now, received_at=now, region=region,
        payload=DisasterAlert(event="Banjir", category=AlertCategory.MET, urgency=Urgency.IMMEDIATE,
                              severity=Severity.EXTREME, certainty=Certainty.OBSERVED,
                              headline=f"Status Awas banjir di {region.value}", issuer="BPBD",
                              area=AlertArea(regions=[region]), sent=now))


@pytest.fixture
def escalating(quiet_kafka: dict[str, str], tmp_path: Path,
               request: pytest.FixtureRequest) -> Iterator[Stack]:
    """Worker and sink whose escalation steps come seconds apart (`steps` marks say which)."""
    mark = request.node.get_closest_marker("steps")
    steps = mark.args[0] if mark else STEPS
    # The flood test's incident lives on in posko.incidents: a window of seconds keeps this
    # test's alerts from joining it.
    env = {**quiet_kafka, "POSKO_ESCALATION_STEPS": steps, "POSKO_CORRELATE_WINDOWS": "banjir:0.001"}
    with running_stack(env, tmp_path) as running:
        yield running


def test_an_unacknowledged_segera_incident_escalates_once_per_step_across_a_sigkill(
    escalating: Stack,
) -> None:
    stack = escalating
    alert = _segera_alert(Region.TEBO)
    raw = msgspec.json.encode(alert)
    asyncio.run(produce(stack.settings, [(raw_topic(Kind.DISASTER_ALERT), b"15.09", raw)]))
    incident = incident_id(alert.id)
    wait_for(lambda: escalations_of(stack, incident), 60,
             lambda: f"the first escalation step of {incident}\n{stack.log_tail()}")
    stack.kill("worker")  # between step 1 (4 s) and step 2 (12 s)
    stack.start("worker")
    def all_steps() -> list[Escalation]:
        found = escalations_of(stack, incident)
        return found if {e.level for e in found} >= {1, 2, 3} else []

    steps = wait_for(all_steps, 120, lambda: f"all three steps of {incident}\n{stack.log_tail()}")
    assert sorted(e.level for e in steps) == [1, 2, 3], "a step fired twice or not at all"
    assert [e.role for e in sorted(steps, key=lambda e: e.level)] == [
        "petugas piket", "supervisor", "kepala BPBD"]
    latest = incidents(stack)[incident]
    assert latest.urgent_since is not None
    for step, after in zip(sorted(steps, key=lambda e: e.level), (4, 12, 20), strict=True):
        assert (step.due_at - latest.urgent_since).total_seconds() == pytest.approx(after, abs=0.01)
        assert step.fired_at >= step.due_at
    # The restarted worker also carries on what it restored: the steps are on the incident.
    wait_for(lambda: len(incidents(stack)[incident].escalations) >= 2, 30,
             "the incident to record the steps fired after the restart")


# Time enough for the acknowledgement to arrive before the first step.
@pytest.mark.steps("15:petugas piket,30:supervisor,45:kepala BPBD")
def test_an_acknowledged_incident_stops_escalating(escalating: Stack) -> None:
    stack = escalating
    acked, ignored = _segera_alert(Region.BUNGO), _segera_alert(Region.SAROLANGUN)
    asyncio.run(produce(stack.settings, [
        (raw_topic(Kind.DISASTER_ALERT), b"15.08", msgspec.json.encode(acked)),
        (raw_topic(Kind.DISASTER_ALERT), b"15.03", msgspec.json.encode(ignored))]))
    acked_id, ignored_id = incident_id(acked.id), incident_id(ignored.id)
    wait_for(lambda: acked_id in incidents(stack), 60, "the incident to open")
    ack = IncidentAck(incident_id=acked_id, acked_by="Rina (piket)", role="officer", acked_at=utc_now())
    asyncio.run(produce(stack.settings, [(SIGNALS, b"15", msgspec.json.encode(ack))]))
    wait_for(lambda: incidents(stack)[acked_id].acked_by == "Rina (piket)", 60,
             "the acknowledgement on the incident")
    # Both were due at the same second: the timer fires every due step in one pass.
    wait_for(lambda: escalations_of(stack, ignored_id), 60, "the other incident's first step")
    assert escalations_of(stack, acked_id) == []
    assert incidents(stack)[acked_id].status.value == "dipantau"
    entries = [_audit.decode(v) for _, v in asyncio.run(read_topic(stack.settings, AUDIT)) if v]
    [entry] = [e for e in entries if e.target == str(acked_id)]
    assert (entry.action, entry.actor, entry.accepted) == ("acknowledge_incident", "Rina (piket)", True)
    assert _incident.decode(entry.after.encode()).status.value == "dipantau"


def test_a_batch_of_signals_sends_its_bad_lines_alone_to_the_dlq(escalating: Stack) -> None:
    """A posko.signals record holds a batch, one signal or acknowledgement a line: the room takes
    the good lines in their order and dead-letters exactly the bad ones, each with its line."""
    stack = escalating
    alert = _segera_alert(Region.MERANGIN)
    signal = signal_of(alert)
    assert signal is not None
    incident = incident_id(alert.id)
    ack = IncidentAck(incident_id=incident, acked_by="Regu Merangin", role="responder", acked_at=utc_now())
    lines = [msgspec.json.encode(signal), b"bukan json", msgspec.json.encode(ack),
             b'{"type":"signal","id":"bukan-uuid"}', msgspec.json.encode(signal)]
    [(_, partition, offset)] = asyncio.run(produce(stack.settings, [(SIGNALS, b"15", b"\n".join(lines))]))
    wait_for(lambda: incident in incidents(stack) and incidents(stack)[incident].acked_by == "Regu Merangin",
             60, lambda: f"the batch's alert as an incident, acknowledged\n{stack.log_tail()}")

    def letters() -> list[DeadLetter]:
        found = [_letter.decode(v) for _, v in asyncio.run(read_topic(stack.settings, DLQ)) if v]
        return [d for d in found if (d.topic, d.partition, d.offset) == (SIGNALS, partition, offset)]

    wait_for(lambda: len(letters()) >= 2, 60, "the batch's two dead letters")
    assert sorted((d.position, d.raw) for d in letters()) == [(2, lines[1]), (4, lines[3])]
    assert all("not a signal nor an incident acknowledgement" in d.reason for d in letters())
    found = incidents(stack)[incident]
    assert [s for item in found.items for s in item.signal_ids] == [alert.id]  # the repeat is known
