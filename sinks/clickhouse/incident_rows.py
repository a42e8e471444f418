"""Rows of the incident tables: `incidents`, `incident_signals` and `escalations` (DDL in tables.py)."""

from __future__ import annotations

import uuid
from datetime import datetime

import msgspec

from schemas.incidents import Escalation, Incident


class _Row(msgspec.Struct, kw_only=True):
    id: uuid.UUID


class IncidentRow(_Row, kw_only=True):
    """A row of `incidents`: one version of an incident."""

    version: int
    hazard: str
    title: str
    priority: str
    status: str
    regions: list[str]
    kecamatan: list[str]
    centre_lat: float | None
    centre_lon: float | None
    radius_km: float
    first_at: datetime
    last_at: datetime
    signal_count: int
    report_count: int
    victims: int
    updated_at: datetime
    official: int
    surge: int
    why: str
    acked_by: str
    acked_at: datetime | None
    merged_into: uuid.UUID | None
    opened_at: datetime
    escalation_level: int
    drill: int
    manual: int
    closed_by: str
    closed_reason: str


class IncidentSignalRow(msgspec.Struct, kw_only=True):
    """A row of `incident_signals`: one member signal of the latest incident holding it."""

    signal_id: uuid.UUID
    incident_id: uuid.UUID
    item_id: uuid.UUID
    kind: str
    event_kind: str
    hazard: str
    priority: str
    region: str | None
    kecamatan: str | None
    lat: float | None
    lon: float | None
    headline: str
    occurred_at: datetime
    item_last_at: datetime
    item_count: int
    victims: int
    incident_version: int
    version: datetime


class EscalationRow(_Row, kw_only=True):
    """A row of `escalations`: one step, once."""

    subject: str
    subject_id: str
    level: int
    role: str
    regions: list[str]
    priority: str | None
    headline: str
    reason: str
    due_at: datetime
    fired_at: datetime
    late_s: float
    drill: int


def incident_rows(incident: Incident) -> list[tuple[str, msgspec.Struct]]:
    """The incident's row and a row for each of its signals (none once merged into another)."""
    centre = incident.centre
    rows: list[tuple[str, msgspec.Struct]] = [("incidents", IncidentRow(
        id=incident.id, version=incident.version, hazard=incident.hazard, title=incident.title,
        priority=incident.priority, status=incident.status,
        regions=[str(region) for region in incident.regions], kecamatan=list(incident.kecamatan),
        centre_lat=centre.lat if centre else None, centre_lon=centre.lon if centre else None,
        radius_km=incident.radius_km, first_at=incident.first_at, last_at=incident.last_at,
        signal_count=incident.signal_count, report_count=incident.report_count,
        victims=int(incident.victims), updated_at=incident.updated_at, official=int(incident.official),
        surge=int(incident.surge), why=incident.why, acked_by=incident.acked_by,
        acked_at=incident.acked_at, merged_into=incident.merged_into, opened_at=incident.opened_at,
        escalation_level=max((step.level for step in incident.escalations), default=0),
        drill=int(incident.drill), manual=int(incident.manual), closed_by=incident.closed_by,
        closed_reason=incident.closed_reason,
    ))]
    if incident.merged_into is not None:  # its signals now belong to the incident it merged into
        return rows
    for item in incident.items:
        loc = item.location
        for signal_id in item.signal_ids or [item.id]:
            rows.append(("incident_signals", IncidentSignalRow(
                signal_id=signal_id, incident_id=incident.id, item_id=item.id, kind=item.kind,
                event_kind=item.event_kind, hazard=incident.hazard, priority=incident.priority,
                region=item.region, kecamatan=item.kecamatan, lat=loc.lat if loc else None,
                lon=loc.lon if loc else None, headline=item.headline, occurred_at=item.first_at,
                item_last_at=item.last_at, item_count=item.count, victims=int(item.victims),
                incident_version=incident.version, version=incident.updated_at,
            )))
    return rows


def escalation_row(escalation: Escalation) -> EscalationRow:
    """The escalation step's row."""
    return EscalationRow(
        id=escalation.id, subject=escalation.subject, subject_id=escalation.subject_id,
        level=escalation.level, role=escalation.role,
        regions=[str(region) for region in escalation.regions], priority=escalation.priority,
        headline=escalation.headline, reason=escalation.reason, due_at=escalation.due_at,
        fired_at=escalation.fired_at, late_s=escalation.late_s, drill=int(escalation.drill),
    )
