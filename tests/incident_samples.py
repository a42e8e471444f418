"""Incidents and escalations as the correlator writes them, for the sink, gateway and wall tests."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import msgspec

from posko.settings import Settings
from schemas.events import Kind, Point, Severity, Urgency, new_event_id, utc_now
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
from schemas.kecamatan import kecamatan
from schemas.topics import ESCALATIONS, INCIDENTS
from tests.conftest import produce

# Kecamatan along the Batanghari river where a flood reaches, in Batang Hari and Muaro Jambi.
FLOOD_KECAMATAN = ["15.04.03", "15.04.05", "15.04.08", "15.04.02", "15.05.01", "15.05.04", "15.05.06",
                   "15.05.11"]
REPORT_TEXTS = [
    "Air masuk rumah setinggi lutut, warga butuh perahu",
    "Jalan desa terendam, anak sekolah tidak bisa lewat",
    "Banjir naik terus sejak subuh, ternak hanyut",
    "Warga mengungsi ke masjid, perlu makanan dan selimut",
    "Jembatan gantung terendam arus deras",
]


def item(kind: SignalKind, event_kind: Kind, headline: str, code: str, at: datetime, count: int = 1,
         severity: Severity = Severity.UNKNOWN, victims: bool = False) -> IncidentItem:
    """One line of an incident at a kecamatan's centre: `count` near-identical signals."""
    place = kecamatan(code)
    assert place is not None, code
    ids = [new_event_id() for _ in range(count)]
    return IncidentItem(
        id=ids[0], kind=kind, event_kind=event_kind, headline=headline, region=place.region,
        kecamatan=code, location=Point(*place.centroid), first_at=at - timedelta(minutes=5 * count),
        last_at=at, count=count, signal_ids=ids, severity=severity,
        urgency=Urgency.IMMEDIATE if severity in (Severity.EXTREME, Severity.SEVERE) else Urgency.UNKNOWN,
        victims=victims,
    )


def flood_incident(marker: str, items: int = 40, raised: bool = True) -> Incident:
    """A Segera flood along the Batanghari in Batang Hari and Muaro Jambi: BPBD warnings, a river
    gauge over its normal range, and citizen reports, some near-identical ones counted together."""
    now = utc_now()
    lines = [
        item(SignalKind.PERINGATAN, Kind.DISASTER_ALERT, "BPBD Batang Hari: Siaga banjir Sungai Batanghari",
             "15.04.03", now - timedelta(minutes=50), severity=Severity.SEVERE),
        item(SignalKind.PERINGATAN, Kind.DISASTER_ALERT, "BPBD Muaro Jambi: Awas banjir Jambi Luar Kota",
             "15.05.01", now - timedelta(minutes=20), severity=Severity.EXTREME),
        item(SignalKind.INDIKATOR, Kind.SECTOR_INDICATOR, "Tinggi muka air Batanghari 11,2 m (normal ≤ 9 m)",
             "15.04.03", now - timedelta(minutes=10)),
    ]
    for n in range(items - len(lines)):
        code = FLOOD_KECAMATAN[n % len(FLOOD_KECAMATAN)]
        text = REPORT_TEXTS[n % len(REPORT_TEXTS)]
        lines.append(item(SignalKind.LAPORAN, Kind.CITIZEN_REPORT, text, code, now - timedelta(minutes=n),
                          count=1 + n % 4, victims=n == 7))
    regions = sorted({line.region for line in lines if line.region})
    codes = sorted({line.kecamatan for line in lines if line.kecamatan})
    first = lines[0].id
    return Incident(
        id=incident_id(first), version=1, hazard=Hazard.BANJIR,
        title=f"Banjir Sungai Batanghari — Batang Hari & Muaro Jambi {marker}", priority=Priority.SEGERA,
        status=IncidentStatus.BARU, regions=regions, kecamatan=codes, centre=Point(-1.62, 103.35),
        radius_km=38.0, first_at=min(line.first_at for line in lines),
        last_at=max(line.last_at for line in lines),
        items=lines, signal_count=sum(line.count for line in lines),
        report_count=sum(line.count for line in lines if line.kind is SignalKind.LAPORAN),
        official=True, victims=True, why="peringatan resmi Awas dan laporan korban",
        opened_at=now - timedelta(minutes=50), updated_at=now, raised=raised,
    )


def singleton_incident(marker: str, hazard: Hazard, title: str, code: str,
                       priority: Priority = Priority.RENDAH, minutes_ago: float = 30,
                       raised: bool = False) -> Incident:
    """An incident of one citizen report (Rendah unless told)."""
    at = utc_now() - timedelta(minutes=minutes_ago)
    line = item(SignalKind.LAPORAN, Kind.CITIZEN_REPORT, title, code, at)
    return Incident(
        id=incident_id(line.id), version=1, hazard=hazard, title=f"{title} {marker}", priority=priority,
        status=IncidentStatus.BARU, regions=[line.region] if line.region else [], kecamatan=[code],
        centre=line.location, first_at=line.first_at, last_at=line.last_at, items=[line], signal_count=1,
        report_count=1, why="satu laporan warga", opened_at=at, updated_at=at, raised=raised,
    )


def next_version(incident: Incident, **changes: object) -> Incident:
    """The incident's next version with `changes`, updated now."""
    return msgspec.structs.replace(incident, version=incident.version + 1, updated_at=utc_now(),
                                   **changes)


def escalation_of(incident: Incident, level: int = 1, role: str = "supervisor") -> Escalation:
    """The escalation of an incident nobody acknowledged in time."""
    now = utc_now()
    return Escalation(
        id=escalation_id(str(incident.id), level), subject=EscalationSubject.INCIDENT,
        subject_id=str(incident.id), level=level, role=role, regions=list(incident.regions),
        priority=incident.priority, headline=incident.title,
        reason=f"belum diterima {10 * level} menit setelah dibuka", due_at=now - timedelta(minutes=1),
        fired_at=now, late_s=60.0,
    )


async def publish_incidents(settings: Settings, incidents: list[Incident]) -> None:
    """Produce incident versions onto posko.incidents keyed by id, as the correlator does."""
    await produce(settings, [(INCIDENTS, str(i.id).encode(), msgspec.json.encode(i)) for i in incidents])


async def publish_escalations(settings: Settings, escalations: list[Escalation]) -> None:
    """Produce escalation steps onto posko.escalations keyed by subject id, as the correlator does."""
    await produce(settings, [(ESCALATIONS, e.subject_id.encode(), msgspec.json.encode(e))
                             for e in escalations])


def ids(incidents: list[Incident]) -> list[uuid.UUID]:
    """The incidents' ids, in order."""
    return [i.id for i in incidents]
