"""The briefing's facts read from ClickHouse, for `posko briefing`: open incidents and those closed
since the last briefing, regions' emergency statuses, open and lately done tasks, the latest score
of every region and hazard, the open recommendations, and the last hour's events per sector.

`read_situation` takes a function that runs SQL and returns JSONEachRow, as documents/timeline.py's
`assemble` does, so the command line reads through the running sink.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import TypeVar

import msgspec

from documents.briefing import Emergency, OpenIncident, Situation, TaskState
from documents.timeline import Query
from schemas.decision import Recommendation, RecommendationStatus, RegionScore, ScorePart
from schemas.incidents import Hazard
from schemas.regions import Region

# Times as ISO 8601 with a Z, and 64-bit counts as numbers, so rows decode straight into Structs.
_SETTINGS = "SETTINGS date_time_output_format = 'iso', output_format_json_quote_64bit_integers = 0"
# The tables of events per sector (schemas/events.py Kind), for the key indicators.
_EVENT_TABLES = {"citizen_report": "citizen_reports", "disaster_alert": "disaster_alerts",
                 "permit_filing": "permit_filings", "sector_indicator": "sector_indicators"}


class _IncidentRow(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    title: str
    hazard: str
    priority: str
    status: str
    regions: list[str]
    opened_at: datetime
    updated_at: datetime
    drill: int


class _EmergencyRow(msgspec.Struct, kw_only=True):
    region: str
    status: str
    decided_at: datetime
    decree: str | None
    drill: int


class _TaskRow(msgspec.Struct, kw_only=True):
    title: str
    assignee: str
    priority: str
    status: str
    due_at: datetime
    updated_at: datetime
    drill: int


class _ScoreRow(msgspec.Struct, kw_only=True):
    region: Region
    hazard: Hazard
    score: float
    rank: int
    parts: str
    computed_at: datetime
    drill: int


class _RecommendationRow(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    incident_id: uuid.UUID | None
    region: Region
    hazard: Hazard
    rule: str
    action: str
    assignee: str
    why: str
    due_at: datetime
    updated_at: datetime
    drill: int


class _Count(msgspec.Struct):
    kind: str
    n: int


_parts = msgspec.json.Decoder(list[ScorePart])
T = TypeVar("T")


def _rows(query: Query, sql: str, row: type[T]) -> list[T]:
    decoder = msgspec.json.Decoder(row)
    return [decoder.decode(line) for line in query(f"{sql} {_SETTINGS}").splitlines() if line.strip()]


def _at(when: datetime) -> str:
    return f"toDateTime64('{when.strftime('%Y-%m-%d %H:%M:%S')}', 3, 'UTC')"


def read_situation(query: Query, database: str, since: datetime, now: datetime) -> Situation:
    """What ClickHouse has of the situation at `now`, for a briefing whose last one was at `since`."""
    db = database
    incidents = _rows(query, f"""SELECT id, title, hazard, priority, status, regions, opened_at, updated_at,
    drill FROM {db}.incidents FINAL WHERE merged_into IS NULL
  AND (status != 'selesai' OR updated_at >= {_at(since)})""", _IncidentRow)
    emergencies = _rows(query, f"""SELECT region, argMax(status, version) AS status,
    argMax(decided_at, version) AS decided_at, argMax(decree, version) AS decree,
    argMax(drill, version) AS drill
FROM {db}.emergency_status GROUP BY region HAVING status != 'normal' ORDER BY region""", _EmergencyRow)
    tasks = _rows(query, f"""SELECT title, assignee, priority, status, due_at, updated_at, drill
FROM {db}.tasks FINAL
WHERE status NOT IN ('selesai', 'dibatalkan') OR updated_at >= {_at(since)}""", _TaskRow)
    scores = _rows(query, f"""SELECT region, hazard, score, rank, parts, computed_at, drill
FROM {db}.region_ranking ORDER BY computed_at DESC LIMIT 1 BY region, hazard""", _ScoreRow)
    recommendations = _rows(query, f"""SELECT recommendation_id AS id, incident_id, region, hazard, rule,
    action, assignee, why, due_at, updated_at, drill FROM (
  SELECT * FROM {db}.recommendations ORDER BY updated_at DESC LIMIT 1 BY recommendation_id)
WHERE status = 'terbuka'""", _RecommendationRow)
    hour_ago = _at(now - timedelta(hours=1))
    counts = _rows(query, " UNION ALL ".join(
        f"SELECT '{kind}' AS kind, count() AS n FROM {db}.{table} WHERE occurred_at >= {hour_ago}"
        for kind, table in _EVENT_TABLES.items()), _Count)

    def incident(r: _IncidentRow) -> OpenIncident:
        return OpenIncident(id=r.id, title=r.title, hazard=r.hazard, priority=r.priority, status=r.status,
                            regions=r.regions, opened_at=r.opened_at, updated_at=r.updated_at,
                            drill=bool(r.drill))

    return Situation(
        now=now, since=since,
        incidents=[incident(r) for r in incidents if r.status != "selesai"],
        closed=[incident(r) for r in incidents if r.status == "selesai"],
        emergencies=[Emergency(region=e.region, status=e.status, decided_at=e.decided_at, decree=e.decree,
                               drill=bool(e.drill)) for e in emergencies],
        tasks=[TaskState(title=t.title, assignee=t.assignee, priority=t.priority, status=t.status,
                         due_at=t.due_at, updated_at=t.updated_at, drill=bool(t.drill)) for t in tasks],
        ranking=[RegionScore(region=s.region, hazard=s.hazard, score=s.score, rank=s.rank,
                             parts=_parts.decode(s.parts), computed_at=s.computed_at, drill=bool(s.drill))
                 for s in scores],
        recommendations=[Recommendation(
            id=r.id, incident_id=r.incident_id, region=r.region, hazard=r.hazard, rule=r.rule,
            action=r.action, assignee=r.assignee, why=r.why, due_at=r.due_at,
            status=RecommendationStatus.TERBUKA, updated_at=r.updated_at, drill=bool(r.drill))
            for r in recommendations],
        events={c.kind: c.n for c in counts},
    )
