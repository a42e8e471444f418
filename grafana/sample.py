"""Simulated history for the dashboards: all 11 sectors as table rows, through the pipeline's own code.

Events and indicator readings from the simulator go through the stream's pure step (validation,
regions, triage, alerts) and the sink's row builders, then into a store: what a few days of the
running pipeline would have written, without Kafka. Used to test and measure the panel SQL.
"""

from __future__ import annotations

import random
import uuid
from collections import defaultdict
from datetime import datetime, timedelta

import msgspec

from connectors.simulator.stream import Simulator
from schemas.events import (
    REPORT_STATUS_ORDER,
    CitizenReportEvent,
    DisasterAlertEvent,
    Event,
    Kind,
    ReportStatusChange,
    Severity,
    StatusStep,
    kind_of,
)
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
    incident_id,
)
from schemas.topics import raw_topic
from schemas.workdays import WorkingCalendar
from sinks.clickhouse.incident_rows import escalation_row, incident_rows
from sinks.clickhouse.store import Store
from sinks.clickhouse.tables import report_status_row
from sinks.clickhouse.writer import ROW_MAKERS
from streams.validate import decode_raw, route

EVENT_DAYS = 8
INDICATOR_DAYS = 70  # monthly figures need two months to show a latest value and a trend
EVENT_EVERY = timedelta(seconds=90)


def history_rows(until: datetime, seed: int = 20260812) -> dict[str, list[msgspec.Struct]]:
    """Rows per table: eight days of events and seventy of indicator readings up to `until`."""
    simulator = Simulator(random.Random(seed))
    events: list[Event] = []
    at = until - timedelta(days=EVENT_DAYS)
    while at < until:
        events.append(simulator.event(at))
        at += EVENT_EVERY
    events.extend(simulator.indicator_history(until - timedelta(days=INDICATOR_DAYS), until))
    tables: dict[str, list[msgspec.Struct]] = defaultdict(list)
    encoder = msgspec.json.Encoder()
    for offset, event in enumerate(events):
        raw = encoder.encode(event)
        topic = raw_topic(kind_of(event))
        for out in route(kind_of(event), decode_raw(raw), topic, 0, offset, None, raw).out:
            if out.topic not in ROW_MAKERS:  # posko.signals: correlation's input, no table
                continue
            for table, row in ROW_MAKERS[out.topic](out.value):
                tables[table].append(row)
    calendar = WorkingCalendar()
    tables["report_status_changes"] = [
        report_status_row(change, calendar)
        for change in _follow_up([e for e in events if isinstance(e, CitizenReportEvent)], until, seed)
    ]
    incidents = _incidents([e for e in events if isinstance(e, DisasterAlertEvent)], until)
    for incident in incidents:
        for table, row in incident_rows(incident):
            tables[table].append(row)
    tables["escalations"] = [escalation_row(e) for e in _escalations(incidents)]
    return tables


_PRIORITY = {Severity.EXTREME: Priority.SEGERA, Severity.SEVERE: Priority.TINGGI,
             Severity.MODERATE: Priority.SEDANG}


def _incidents(alerts: list[DisasterAlertEvent], until: datetime) -> list[Incident]:
    """Official alerts grouped per kabupaten/kota and day, as a stand-in for the correlator's
    incidents: those of the last day open, older ones closed."""
    groups: dict[tuple[str, str], list[DisasterAlertEvent]] = defaultdict(list)
    for alert in alerts:
        if alert.region is not None:
            groups[(str(alert.region), alert.occurred_at.date().isoformat())].append(alert)
    incidents = []
    for members in groups.values():
        first, last = members[0], members[-1]
        worst = min((_PRIORITY.get(a.payload.severity, Priority.RENDAH) for a in members),
                    key=lambda p: p.rank)
        items = [IncidentItem(id=a.id, kind=SignalKind.PERINGATAN, event_kind=Kind.DISASTER_ALERT,
                              headline=a.payload.headline, region=a.region, location=a.location,
                              first_at=a.occurred_at, last_at=a.occurred_at, signal_ids=[a.id],
                              severity=a.payload.severity) for a in members]
        open_now = until - last.occurred_at < timedelta(days=1)
        incidents.append(Incident(
            id=incident_id(first.id), version=len(members), hazard=Hazard.LAINNYA,
            title=f"{first.payload.event} — {len(members)} peringatan", priority=worst,
            status=IncidentStatus.BARU if open_now else IncidentStatus.SELESAI,
            regions=[first.region] if first.region else [], centre=first.location, first_at=first.occurred_at,
            last_at=last.occurred_at, items=items, signal_count=len(members), official=True,
            why="peringatan resmi (simulasi)", opened_at=first.occurred_at, updated_at=last.occurred_at,
        ))
    return incidents


def _escalations(incidents: list[Incident]) -> list[Escalation]:
    """A supervisor escalation for each Segera or Tinggi incident, ten minutes after it opened."""
    return [Escalation(
        id=escalation_id(str(i.id), 1), subject=EscalationSubject.INCIDENT, subject_id=str(i.id), level=1,
        role="supervisor", regions=list(i.regions), priority=i.priority, headline=i.title,
        reason="belum diterima 10 menit setelah dibuka", due_at=i.opened_at + timedelta(minutes=10),
        fired_at=i.opened_at + timedelta(minutes=10),
    ) for i in incidents if i.priority in (Priority.SEGERA, Priority.TINGGI)]


def _follow_up(reports: list[CitizenReportEvent], until: datetime, seed: int) -> list[ReportStatusChange]:
    """Status changes as officers would make them: most reports move on within days, some stall."""
    rng = random.Random(seed + 1)
    changes = []
    for n, report in enumerate(reports):
        steps: list[StatusStep] = []
        at = report.received_at
        for status in REPORT_STATUS_ORDER[: rng.randint(1, len(REPORT_STATUS_ORDER))]:
            if at > until:
                break
            steps.append(StatusStep(status=status, at=at, by="petugas-simulasi"))
            changes.append(ReportStatusChange(
                id=uuid.uuid5(report.id, status), tracking=f"JMB-SIM-{n:05d}", report_id=report.id,
                channel=report.payload.channel, category=report.payload.category, region=report.region,
                status=status, changed_at=at, changed_by="petugas-simulasi", history=list(steps)))
            at += timedelta(hours=rng.uniform(2, 60))
    return changes


def load_history(store: Store, until: datetime, seed: int = 20260812) -> dict[str, int]:
    """Migrate the store and load the simulated history; return the rows per table."""
    store.migrate()
    counts = {}
    for table, rows in history_rows(until, seed).items():
        store.insert_rows(table, rows)
        counts[table] = len(rows)
    return counts
