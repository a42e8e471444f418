"""A snapshot stays one message a client takes, whatever the room holds."""

from __future__ import annotations

import msgspec

from schemas.incidents import Priority
from sinks.push.protocol import Snapshot
from sinks.push.snapshot import SNAPSHOT_BYTES, fit_snapshot
from tests.gateway_stack import make_alert
from tests.incident_samples import flood_incident


def test_a_snapshot_too_heavy_for_one_message_keeps_its_most_pressing_incidents() -> None:
    incidents = sorted((msgspec.structs.replace(flood_incident(f"m{n}", items=40),
                                                priority=list(Priority)[n % 4]) for n in range(120)),
                       key=lambda i: i.priority.rank)
    alerts = [make_alert(f"a{n}", headline="x" * 190) for n in range(200)]
    heavy = Snapshot(seq=1, alerts=alerts, acks=[], counts=None, regions={}, incidents=incidents,
                     escalations=[], incident_acks=[])
    assert len(msgspec.json.encode(heavy)) > SNAPSHOT_BYTES
    fitted = fit_snapshot(heavy)
    assert len(msgspec.json.encode(fitted)) <= SNAPSHOT_BYTES
    assert fitted.incidents == incidents[: len(fitted.incidents)]  # the most pressing, in order
    assert fitted.incidents[0].priority is Priority.SEGERA
    light = msgspec.structs.replace(heavy, alerts=alerts[:3], incidents=incidents[:2])
    assert fit_snapshot(light) == light
