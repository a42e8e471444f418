"""The wall's picture from ClickHouse (recent alerts with their acknowledgements, last-hour counters),
and how much of a picture one message may carry."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import msgspec

from posko.settings import Settings
from schemas.events import Acknowledgement, Alert, Kind, Point, Severity, Urgency
from schemas.identity import SEVERITY_RANK, Principal
from schemas.regions import Region
from sinks.clickhouse.client import run_sql
from sinks.clickhouse.tables import TABLES
from sinks.push.protocol import Counts, Snapshot

# ISO 8601 with a Z, so msgspec reads the times as UTC.
_ISO = "SETTINGS date_time_output_format = 'iso'"


class _AlertRow(msgspec.Struct):
    id: uuid.UUID
    event_kind: Kind
    source: str
    occurred_at: datetime
    region: Region | None
    lat: float | None
    lon: float | None
    severity: Severity
    urgency: Urgency
    headline: str
    description: str
    reason: str


class _CountRow(msgspec.Struct, array_like=True):
    region: str | None
    kind: str
    n: int


_alert_row = msgspec.json.Decoder(_AlertRow)
_ack_row = msgspec.json.Decoder(Acknowledgement)
_count_row = msgspec.json.Decoder(_CountRow, strict=False)  # UInt64 may come quoted


def _quoted(values: list[str]) -> str:
    return ", ".join(f"'{value}'" for value in values)  # enum values only: nothing to escape


def scope_filter(principal: Principal) -> str:
    """The SQL condition on `posko.alerts` that keeps what the credential may see."""
    if principal.sees_everything:
        return "1"
    scope = principal.scope
    terms = []
    if scope.regions:
        terms.append(f"region IN ({_quoted([str(r) for r in scope.regions])})")
    if scope.kinds:
        terms.append(f"event_kind IN ({_quoted([str(k) for k in scope.kinds])})")
    allowed = [str(s) for s, rank in SEVERITY_RANK.items() if rank >= SEVERITY_RANK[scope.min_severity]]
    terms.append(f"severity IN ({_quoted(allowed)})")
    return " AND ".join(terms)


def _alert(row: _AlertRow) -> Alert:
    location = Point(row.lat, row.lon) if row.lat is not None and row.lon is not None else None
    return Alert(id=row.id, event_kind=row.event_kind, source=row.source, occurred_at=row.occurred_at,
                 region=row.region, location=location, severity=row.severity, urgency=row.urgency,
                 headline=row.headline, description=row.description, reason=row.reason)


def read_alerts(settings: Settings, where: str, limit: int) -> tuple[list[Alert], list[Acknowledgement]]:
    """The newest `limit` alerts matching `where`, and every acknowledgement of them."""
    sql = (f"SELECT id, event_kind, source, occurred_at, region, lat, lon, severity, urgency, headline, "
           f"description, reason FROM posko.alerts WHERE {where} "
           f"ORDER BY occurred_at DESC LIMIT {int(limit)} {_ISO}")
    out = run_sql(settings, sql, "JSONEachRow", open_directly=False)
    alerts = [_alert(_alert_row.decode(line)) for line in out.splitlines() if line]
    if not alerts:
        return [], []
    ids = _quoted([str(alert.id) for alert in alerts])
    out = run_sql(settings, f"SELECT id, alert_id, region, event_kind, severity, acked_by, role, note, "
                  f"acked_at FROM posko.acks WHERE alert_id IN ({ids}) ORDER BY acked_at {_ISO}",
                  "JSONEachRow", open_directly=False)
    return alerts, [_ack_row.decode(line) for line in out.splitlines() if line]


def read_alert(settings: Settings, alert_id: uuid.UUID) -> Alert | None:
    """One alert by id, or None when ClickHouse does not have it."""
    alerts, _ = read_alerts(settings, f"id = '{alert_id}'", 1)
    return alerts[0] if alerts else None


def read_counts(settings: Settings, now: datetime | None = None) -> Counts:
    """Events per kabupaten/kota and kind, and alerts per kabupaten/kota, in the hour before `now`."""
    since = (now or datetime.now(UTC)) - timedelta(hours=1)
    start = since.strftime("%Y-%m-%d %H:%M:%S")
    where = f"occurred_at >= toDateTime64('{start}', 3, 'UTC')"
    tables = [*((str(kind), table) for kind, table in TABLES.items()), ("alert", "alerts")]
    parts = [f"SELECT region, '{kind}' AS kind, count() AS n FROM posko.{table} WHERE {where} GROUP BY region"
             for kind, table in tables]
    out = run_sql(settings, " UNION ALL ".join(parts), "JSONCompactEachRow", open_directly=False)
    events: dict[str, dict[str, int]] = {}
    alerts: dict[str, int] = {}
    for line in out.splitlines():
        row = _count_row.decode(line)
        region = row.region or "luar"
        if row.kind == "alert":
            alerts[region] = alerts.get(region, 0) + int(row.n)
        else:
            events.setdefault(region, {})[row.kind] = int(row.n)
    return Counts(since=since, events=events, alerts=alerts)


# What a snapshot may weigh: a client's default limit is 1 MiB (websockets, and what the
# gateway's own clients allow), and a command room's snapshot must never be refused for its size.
SNAPSHOT_BYTES = 768 * 1024


def fit_snapshot(snapshot: Snapshot) -> Snapshot:
    """The snapshot, made smaller until it fits SNAPSHOT_BYTES: the older half of the alerts
    first, then the older half of the notes, the later half of the tasks (done ones and those due
    last), of the recommendations (due last) and of the ranking (the lowest ranked), then the lower
    half of the incidents (the next message of each brings it back)."""
    while (len(msgspec.json.encode(snapshot)) > SNAPSHOT_BYTES
           and (snapshot.alerts or snapshot.notes or snapshot.tasks or snapshot.recommendations
                or snapshot.ranking or len(snapshot.incidents) > 1)):
        if snapshot.alerts:
            alerts = snapshot.alerts[: len(snapshot.alerts) // 2]
            kept = {a.id for a in alerts}
            snapshot = msgspec.structs.replace(snapshot, alerts=alerts,
                                               acks=[a for a in snapshot.acks if a.alert_id in kept])
        elif snapshot.notes:  # oldest first: keep the later half
            notes = snapshot.notes[(len(snapshot.notes) + 1) // 2:]
            snapshot = msgspec.structs.replace(snapshot, notes=notes)
        elif snapshot.tasks:  # most urgent first: keep the first half
            snapshot = msgspec.structs.replace(snapshot, tasks=snapshot.tasks[: len(snapshot.tasks) // 2])
        elif snapshot.recommendations:  # soonest due first: keep the first half
            recommendations = snapshot.recommendations[: len(snapshot.recommendations) // 2]
            snapshot = msgspec.structs.replace(snapshot, recommendations=recommendations)
        elif snapshot.ranking:  # rank order: keep the first half
            ranking = snapshot.ranking[: len(snapshot.ranking) // 2]
            snapshot = msgspec.structs.replace(snapshot, ranking=ranking)
        else:
            incidents = snapshot.incidents[: len(snapshot.incidents) // 2]
            kept = {i.id for i in incidents}
            snapshot = msgspec.structs.replace(
                snapshot, incidents=incidents,
                incident_acks=[a for a in snapshot.incident_acks if a.incident_id in kept])
    return snapshot
