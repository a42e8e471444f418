"""ClickHouse tables: their DDL (the migrations) and how an event becomes a row."""

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
from schemas.sectors import INDICATORS, SECTOR_NAMES

_ENVELOPE = """
    id UUID,
    source LowCardinality(String),
    occurred_at DateTime64(3, 'UTC'),
    received_at DateTime64(3, 'UTC'),
    ingested_at DateTime64(3, 'UTC') DEFAULT now64(3),
    region LowCardinality(Nullable(String)),
    lat Nullable(Float64),
    lon Nullable(Float64),
    schema_version UInt16,"""

# Rows are deduplicated on insert by the sink (event id); ReplacingMergeTree on `id` is the
# backstop should two writers ever race. Partitions by month keep one id in one partition.
_ENGINE = """
ENGINE = ReplacingMergeTree(ingested_at)
PARTITION BY toYYYYMM(occurred_at)
ORDER BY id"""

# Each migration is a list of idempotent statements; `{db}` is the database name.
MIGRATIONS: list[tuple[int, str, list[str]]] = [
    (1, "event tables, alerts and dead letters", [
        "CREATE DATABASE IF NOT EXISTS {db}",
        "CREATE TABLE IF NOT EXISTS {db}.schema_migrations (version UInt32, "
        "description String, applied_at DateTime64(3, 'UTC') DEFAULT now64(3)) "
        "ENGINE = ReplacingMergeTree ORDER BY version",
        f"""CREATE TABLE IF NOT EXISTS {{db}}.citizen_reports ({_ENVELOPE}
    channel LowCardinality(String),
    category LowCardinality(String),
    title String,
    text String,
    INDEX occurred occurred_at TYPE minmax GRANULARITY 1
){_ENGINE}""",
        # Reporter contacts are personal data: a table of their own, so that dashboards and
        # read-only users are given the reports without them.
        """CREATE TABLE IF NOT EXISTS {db}.reporter_contacts (
    id UUID,
    occurred_at DateTime64(3, 'UTC'),
    ingested_at DateTime64(3, 'UTC') DEFAULT now64(3),
    name Nullable(String),
    phone Nullable(String),
    email Nullable(String)
) ENGINE = ReplacingMergeTree(ingested_at) PARTITION BY toYYYYMM(occurred_at) ORDER BY id""",
        f"""CREATE TABLE IF NOT EXISTS {{db}}.disaster_alerts ({_ENVELOPE}
    event String,
    category LowCardinality(String),
    urgency LowCardinality(String),
    severity LowCardinality(String),
    certainty LowCardinality(String),
    headline String,
    description String,
    instruction String,
    issuer LowCardinality(String),
    area_description String,
    area_regions Array(LowCardinality(String)),
    area_polygons String,
    area_circles String,
    effective Nullable(DateTime64(3, 'UTC')),
    expires Nullable(DateTime64(3, 'UTC')),
    magnitude Nullable(Float32),
    depth_km Nullable(Float32),
    INDEX occurred occurred_at TYPE minmax GRANULARITY 1
){_ENGINE}""",
        f"""CREATE TABLE IF NOT EXISTS {{db}}.permit_filings ({_ENVELOPE}
    permit_id String,
    nib String,
    permit_type LowCardinality(String),
    kbli LowCardinality(String),
    applicant_type LowCardinality(String),
    status UInt8,
    status_name LowCardinality(String),
    sla_deadline Nullable(DateTime64(3, 'UTC')),
    agency LowCardinality(String),
    note String,
    INDEX occurred occurred_at TYPE minmax GRANULARITY 1
){_ENGINE}""",
        """CREATE TABLE IF NOT EXISTS {db}.alerts (
    id UUID,
    event_kind LowCardinality(String),
    source LowCardinality(String),
    occurred_at DateTime64(3, 'UTC'),
    ingested_at DateTime64(3, 'UTC') DEFAULT now64(3),
    region LowCardinality(Nullable(String)),
    lat Nullable(Float64),
    lon Nullable(Float64),
    severity LowCardinality(String),
    urgency LowCardinality(String),
    headline String,
    description String,
    reason String
) ENGINE = ReplacingMergeTree(ingested_at) PARTITION BY toYYYYMM(occurred_at) ORDER BY id""",
        """CREATE TABLE IF NOT EXISTS {db}.dead_letters (
    id UUID,
    failed_at DateTime64(3, 'UTC'),
    ingested_at DateTime64(3, 'UTC') DEFAULT now64(3),
    reason String,
    topic LowCardinality(String),
    partition UInt32,
    offset UInt64,
    key Nullable(String),
    raw_text String,
    raw_base64 String
) ENGINE = ReplacingMergeTree(ingested_at) PARTITION BY toYYYYMM(failed_at) ORDER BY id""",
    ]),
    (2, "acknowledgements of alerts", [
        """CREATE TABLE IF NOT EXISTS {db}.acks (
    id UUID,
    alert_id UUID,
    region LowCardinality(Nullable(String)),
    event_kind LowCardinality(String),
    severity LowCardinality(String),
    acked_by String,
    role LowCardinality(String),
    note String,
    acked_at DateTime64(3, 'UTC'),
    ingested_at DateTime64(3, 'UTC') DEFAULT now64(3),
    INDEX alert alert_id TYPE bloom_filter GRANULARITY 1
) ENGINE = ReplacingMergeTree(ingested_at) PARTITION BY toYYYYMM(acked_at) ORDER BY id""",
    ]),
    (3, "sector indicators", [
        # The catalogue's name, aggregation and normal range are stored with each reading:
        # dashboards need no second source, and a reading keeps the range it was judged by.
        f"""CREATE TABLE IF NOT EXISTS {{db}}.sector_indicators ({_ENVELOPE}
    sector LowCardinality(String),
    sector_name LowCardinality(String),
    indicator LowCardinality(String),
    indicator_name LowCardinality(String),
    value Float64,
    unit LowCardinality(String),
    aggregation LowCardinality(String),
    normal_low Nullable(Float64),
    normal_high Nullable(Float64),
    period_start DateTime64(3, 'UTC'),
    period_end DateTime64(3, 'UTC'),
    agency LowCardinality(String),
    site LowCardinality(String),
    INDEX occurred occurred_at TYPE minmax GRANULARITY 1,
    INDEX period period_end TYPE minmax GRANULARITY 1
){_ENGINE}""",
    ]),
    (4, "citizen report status changes", [
        """CREATE TABLE IF NOT EXISTS {db}.report_status_changes (
    id UUID,
    tracking String,
    report_id UUID,
    channel LowCardinality(String),
    category LowCardinality(String),
    region LowCardinality(Nullable(String)),
    status LowCardinality(String),
    changed_at DateTime64(3, 'UTC'),
    ingested_at DateTime64(3, 'UTC') DEFAULT now64(3),
    changed_by String,
    note String
) ENGINE = ReplacingMergeTree(ingested_at) PARTITION BY toYYYYMM(changed_at) ORDER BY id""",
    ]),
    # Alerts change under one id (a BMKG quake seen again, a CAP Update or Cancel): `version`
    # orders the versions, the sink stores a newer one in place of the old (VERSIONED below).
    (5, "alert versions: status, msgType, sent, distance to Jambi", [
        "ALTER TABLE {db}.disaster_alerts ADD COLUMN IF NOT EXISTS status LowCardinality(String) "
        "DEFAULT 'Actual'",
        "ALTER TABLE {db}.disaster_alerts ADD COLUMN IF NOT EXISTS msg_type LowCardinality(String) "
        "DEFAULT 'Alert'",
        "ALTER TABLE {db}.disaster_alerts ADD COLUMN IF NOT EXISTS sent Nullable(DateTime64(3, 'UTC'))",
        "ALTER TABLE {db}.disaster_alerts ADD COLUMN IF NOT EXISTS distance_km Nullable(Float32)",
        "ALTER TABLE {db}.disaster_alerts ADD COLUMN IF NOT EXISTS version DateTime64(3, 'UTC') "
        "DEFAULT received_at",
        "ALTER TABLE {db}.alerts ADD COLUMN IF NOT EXISTS version DateTime64(3, 'UTC') "
        "DEFAULT occurred_at",
    ]),
    # A dead letter keeps the first 256 KiB of a larger message (schemas/events.py): its real
    # size and digest say what it was. Rows from before held the whole message.
    (6, "dead letters: size and SHA-256 of the original message", [
        "ALTER TABLE {db}.dead_letters ADD COLUMN IF NOT EXISTS raw_size UInt64 "
        "DEFAULT length(base64Decode(raw_base64))",
        "ALTER TABLE {db}.dead_letters ADD COLUMN IF NOT EXISTS raw_sha256 String "
        "DEFAULT lower(hex(SHA256(base64Decode(raw_base64))))",
    ]),
    # Incidents change under one id, `version` counting up: the sink keeps the newest row per id
    # (VERSIONED). No partitions: a province has hundreds of incidents, and a merge may move an
    # incident's first_at, which would put its versions in two partitions that never replace.
    (8, "incidents, their signals and escalations", [
        """CREATE TABLE IF NOT EXISTS {db}.incidents (
    id UUID,
    version UInt64,
    hazard LowCardinality(String),
    title String,
    priority LowCardinality(String),
    status LowCardinality(String),
    regions Array(LowCardinality(String)),
    kecamatan Array(String),
    centre_lat Nullable(Float64),
    centre_lon Nullable(Float64),
    radius_km Float64,
    first_at DateTime64(3, 'UTC'),
    last_at DateTime64(3, 'UTC'),
    signal_count UInt32,
    report_count UInt32,
    victims UInt8,
    updated_at DateTime64(3, 'UTC'),
    official UInt8,
    surge UInt8,
    why String,
    acked_by String,
    acked_at Nullable(DateTime64(3, 'UTC')),
    merged_into Nullable(UUID),
    opened_at DateTime64(3, 'UTC'),
    escalation_level UInt8,
    ingested_at DateTime64(3, 'UTC') DEFAULT now64(3)
) ENGINE = ReplacingMergeTree(version) ORDER BY id""",
        # One row per signal, of the latest incident holding it: keyed by the signal, versioned
        # by the incident's updated_at, so a signal a merge moved belongs to the incident it
        # moved to (the merged one's last version, which points elsewhere, writes no rows).
        """CREATE TABLE IF NOT EXISTS {db}.incident_signals (
    signal_id UUID,
    incident_id UUID,
    item_id UUID,
    kind LowCardinality(String),
    event_kind LowCardinality(String),
    hazard LowCardinality(String),
    priority LowCardinality(String),
    region LowCardinality(Nullable(String)),
    kecamatan Nullable(String),
    lat Nullable(Float64),
    lon Nullable(Float64),
    headline String,
    occurred_at DateTime64(3, 'UTC'),
    item_last_at DateTime64(3, 'UTC'),
    item_count UInt32,
    victims UInt8,
    incident_version UInt64,
    version DateTime64(3, 'UTC'),
    ingested_at DateTime64(3, 'UTC') DEFAULT now64(3),
    INDEX incident incident_id TYPE bloom_filter GRANULARITY 1
) ENGINE = ReplacingMergeTree(version) ORDER BY signal_id""",
        """CREATE TABLE IF NOT EXISTS {db}.escalations (
    id UUID,
    subject LowCardinality(String),
    subject_id String,
    level UInt16,
    role LowCardinality(String),
    regions Array(LowCardinality(String)),
    priority LowCardinality(Nullable(String)),
    headline String,
    reason String,
    due_at DateTime64(3, 'UTC'),
    fired_at DateTime64(3, 'UTC'),
    late_s Float64,
    ingested_at DateTime64(3, 'UTC') DEFAULT now64(3)
) ENGINE = ReplacingMergeTree(ingested_at) PARTITION BY toYYYYMM(fired_at) ORDER BY id""",
    ]),
]

# Tables whose rows are versions of one thing: the sink keeps the newest row per id.
VERSIONED = frozenset({"disaster_alerts", "alerts", "incidents", "incident_signals"})
# The column that names the thing, where it is not `id`.
KEYS = {"incident_signals": "signal_id"}


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


def report_status_row(change: ReportStatusChange) -> ReportStatusRow:
    """The status change's row (without the submission's idempotency data)."""
    return ReportStatusRow(
        id=change.id, tracking=change.tracking, report_id=change.report_id, channel=change.channel,
        category=change.category, region=change.region, status=change.status,
        changed_at=change.changed_at, changed_by=change.changed_by, note=change.note,
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

