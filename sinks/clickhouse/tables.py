"""ClickHouse rows: how an event becomes a row of its table (the DDL is in migrations.py)."""

from __future__ import annotations

import base64
import hashlib
import uuid
from datetime import datetime

import msgspec

from schemas.events import (
    PERMIT_STATUS_NAMES,
    Acknowledgement,
    Alert,
    AlertArea,
    AlertCategory,
    AlertStatus,
    Certainty,
    Circle,
    CitizenReportEvent,
    DeadLetter,
    DisasterAlert,
    DisasterAlertEvent,
    Envelope,
    Kind,
    MsgType,
    PermitFilingEvent,
    Point,
    ReportStatusChange,
    SectorIndicatorEvent,
    Severity,
    Urgency,
)
from schemas.regions import Region
from schemas.report_sla import open_clock
from schemas.sectors import INDICATORS, SECTOR_NAMES
from schemas.workdays import WorkingCalendar

# --- Rows ------------------------------------------------------------------------------------


class _Row(msgspec.Struct, kw_only=True):
    id: uuid.UUID


class _EnvelopeRow(_Row, kw_only=True):
    source: str
    occurred_at: datetime
    received_at: datetime
    region: str | None
    lat: float | None
    lon: float | None
    schema_version: int


class CitizenReportRow(_EnvelopeRow, kw_only=True):
    """A row of `citizen_reports`."""

    channel: str
    category: str
    title: str
    text: str


class ReporterContactRow(_Row, kw_only=True):
    """A row of `reporter_contacts`."""

    occurred_at: datetime
    name: str | None
    phone: str | None
    email: str | None


class DisasterAlertRow(_EnvelopeRow, kw_only=True):
    """A row of `disaster_alerts`."""

    event: str
    category: str
    urgency: str
    severity: str
    certainty: str
    headline: str
    description: str
    instruction: str
    issuer: str
    area_description: str
    area_regions: list[str]
    area_polygons: str
    area_circles: str
    effective: datetime | None
    expires: datetime | None
    magnitude: float | None
    depth_km: float | None
    status: str
    msg_type: str
    sent: datetime | None
    distance_km: float | None
    version: datetime


class PermitFilingRow(_EnvelopeRow, kw_only=True):
    """A row of `permit_filings`."""

    permit_id: str
    nib: str
    permit_type: str
    kbli: str
    applicant_type: str
    status: int
    status_name: str
    sla_deadline: datetime | None
    agency: str
    note: str


class SectorIndicatorRow(_EnvelopeRow, kw_only=True):
    """A row of `sector_indicators`."""

    sector: str
    sector_name: str
    indicator: str
    indicator_name: str
    value: float
    unit: str
    aggregation: str
    normal_low: float | None
    normal_high: float | None
    period_start: datetime
    period_end: datetime
    agency: str
    site: str


class AlertRow(_Row, kw_only=True):
    """A row of `alerts`."""

    event_kind: str
    source: str
    occurred_at: datetime
    region: str | None
    lat: float | None
    lon: float | None
    severity: str
    urgency: str
    headline: str
    description: str
    reason: str
    version: datetime


class AckRow(_Row, kw_only=True):
    """A row of `acks`."""

    alert_id: uuid.UUID
    region: str | None
    event_kind: str
    severity: str
    acked_by: str
    role: str
    note: str
    acked_at: datetime


class DeadLetterRow(_Row, kw_only=True):
    """A row of `dead_letters`."""

    failed_at: datetime
    reason: str
    topic: str
    partition: int
    offset: int
    key: str | None
    raw_text: str
    raw_base64: str
    raw_size: int
    raw_sha256: str
    position: int | None


TABLES: dict[Kind, str] = {
    Kind.CITIZEN_REPORT: "citizen_reports",
    Kind.DISASTER_ALERT: "disaster_alerts",
    Kind.PERMIT_FILING: "permit_filings",
    Kind.SECTOR_INDICATOR: "sector_indicators",
}


def _envelope(event: Envelope) -> dict[str, object]:
    loc = event.location
    return {
        "id": event.id,
        "source": event.source,
        "occurred_at": event.occurred_at,
        "received_at": event.received_at,
        "region": event.region,
        "lat": loc.lat if loc else None,
        "lon": loc.lon if loc else None,
        "schema_version": event.schema_version,
    }


def citizen_report_rows(event: CitizenReportEvent) -> list[tuple[str, _Row]]:
    """The report's row and, when it has one, its reporter contact's row."""
    report = event.payload
    rows: list[tuple[str, _Row]] = [(
        "citizen_reports",
        CitizenReportRow(**_envelope(event), channel=report.channel, category=report.category,  # type: ignore[arg-type]
                         title=report.title, text=report.text),
    )]
    if contact := report.reporter:
        rows.append(("reporter_contacts", ReporterContactRow(
            id=event.id, occurred_at=event.occurred_at, name=contact.name, phone=contact.phone,
            email=contact.email)))
    return rows


def disaster_alert_row(event: DisasterAlertEvent) -> DisasterAlertRow:
    """The alert's row."""
    alert = event.payload
    return DisasterAlertRow(
        **_envelope(event),  # type: ignore[arg-type]
        event=alert.event, category=alert.category, urgency=alert.urgency,
        severity=alert.severity, certainty=alert.certainty, headline=alert.headline,
        description=alert.description, instruction=alert.instruction, issuer=alert.issuer,
        area_description=alert.area.description,
        area_regions=[str(region) for region in alert.area.regions],
        area_polygons=msgspec.json.encode(alert.area.polygons).decode(),
        area_circles=msgspec.json.encode(alert.area.circles).decode(),
        effective=alert.effective, expires=alert.expires, magnitude=alert.magnitude,
        depth_km=alert.depth_km, status=alert.status, msg_type=alert.msg_type, sent=alert.sent,
        distance_km=alert.distance_km, version=alert.sent or event.received_at,
    )


def permit_filing_row(event: PermitFilingEvent) -> PermitFilingRow:
    """The filing's row."""
    permit = event.payload
    return PermitFilingRow(
        **_envelope(event),  # type: ignore[arg-type]
        permit_id=permit.permit_id, nib=permit.nib, permit_type=permit.permit_type,
        kbli=permit.kbli, applicant_type=permit.applicant_type, status=int(permit.status),
        status_name=PERMIT_STATUS_NAMES[permit.status], sla_deadline=permit.sla_deadline,
        agency=permit.agency, note=permit.note,
    )


def sector_indicator_row(event: SectorIndicatorEvent) -> SectorIndicatorRow:
    """The reading's row, with the catalogue's name, aggregation and normal range."""
    reading = event.payload
    indicator = INDICATORS[reading.indicator]  # the stream let only catalogued codes through
    return SectorIndicatorRow(
        **_envelope(event),  # type: ignore[arg-type]
        sector=reading.sector, sector_name=SECTOR_NAMES[reading.sector],
        indicator=reading.indicator, indicator_name=indicator.name, value=reading.value,
        unit=reading.unit, aggregation=indicator.aggregation, normal_low=indicator.normal_low,
        normal_high=indicator.normal_high, period_start=reading.period_start,
        period_end=reading.period_end, agency=reading.agency, site=reading.site or "",
    )


def alert_row(alert: Alert) -> AlertRow:
    """The alert's row."""
    loc = alert.location
    return AlertRow(
        id=alert.id, event_kind=alert.event_kind, source=alert.source,
        occurred_at=alert.occurred_at, region=alert.region, lat=loc.lat if loc else None,
        lon=loc.lon if loc else None, severity=alert.severity, urgency=alert.urgency,
        headline=alert.headline, description=alert.description, reason=alert.reason,
        version=alert.version or alert.occurred_at,
    )


def dead_letter_row(letter: DeadLetter) -> DeadLetterRow:
    """The dead letter's row: the bytes it kept as text for people and base64 for replay, with the
    original size and SHA-256 (the kept bytes are the whole message when their size is raw_size)."""
    return DeadLetterRow(
        id=letter.id, failed_at=letter.failed_at, reason=letter.reason, topic=letter.topic,
        partition=letter.partition, offset=letter.offset,
        key=letter.key.decode(errors="replace") if letter.key is not None else None,
        raw_text=letter.raw[:65_536].decode(errors="replace"),
        raw_base64=base64.b64encode(letter.raw).decode(),
        raw_size=letter.raw_size if letter.raw_size is not None else len(letter.raw),
        raw_sha256=letter.raw_sha256 or hashlib.sha256(letter.raw).hexdigest(),
        position=letter.position,
    )


def ack_row(ack: Acknowledgement) -> AckRow:
    """The acknowledgement's row."""
    return AckRow(
        id=ack.id, alert_id=ack.alert_id, region=ack.region, event_kind=ack.event_kind,
        severity=ack.severity, acked_by=ack.acked_by, role=ack.role, note=ack.note,
        acked_at=ack.acked_at,
    )


class ReportStatusRow(_Row, kw_only=True):
    """A row of `report_status_changes`."""

    tracking: str
    report_id: uuid.UUID
    channel: str
    category: str
    region: str | None
    status: str
    changed_at: datetime
    changed_by: str
    note: str
    sla_stage: str
    sla_due: datetime | None


def report_status_row(change: ReportStatusChange, calendar: WorkingCalendar) -> ReportStatusRow:
    """The status change's row (without the submission's idempotency data), with the SLA
    deadline it leaves running."""
    clock = open_clock(change, calendar)
    return ReportStatusRow(
        id=change.id, tracking=change.tracking, report_id=change.report_id, channel=change.channel,
        category=change.category, region=change.region, status=change.status,
        changed_at=change.changed_at, changed_by=change.changed_by, note=change.note,
        sla_stage=clock.stage if clock else "", sla_due=clock.due_at if clock else None,
    )


def disaster_alert_event(row: DisasterAlertRow) -> DisasterAlertEvent:
    """The alert event a `disaster_alerts` row holds (the newest version of the alert)."""
    location = Point(row.lat, row.lon) if row.lat is not None and row.lon is not None else None
    payload = DisasterAlert(
        event=row.event, category=AlertCategory(row.category), urgency=Urgency(row.urgency),
        severity=Severity(row.severity), certainty=Certainty(row.certainty), headline=row.headline,
        issuer=row.issuer, description=row.description, instruction=row.instruction,
        area=AlertArea(
            description=row.area_description, regions=[Region(r) for r in row.area_regions],
            polygons=msgspec.json.decode(row.area_polygons, type=list[list[Point]]),
            circles=msgspec.json.decode(row.area_circles, type=list[Circle]),
        ),
        effective=row.effective, expires=row.expires, magnitude=row.magnitude, depth_km=row.depth_km,
        status=AlertStatus(row.status), msg_type=MsgType(row.msg_type), sent=row.sent,
        distance_km=row.distance_km,
    )
    return DisasterAlertEvent(
        id=row.id, source=row.source, occurred_at=row.occurred_at, received_at=row.received_at,
        region=Region(row.region) if row.region else None, location=location,
        schema_version=row.schema_version, payload=payload,
    )

