"""Rows of decision support's tables from posko.ranking: `region_ranking` (every version of a
region's score per hazard, its parts as JSON) and `recommendations` (every version; DDL in
migrations.py, migration 10)."""

from __future__ import annotations

import uuid
from datetime import datetime

import msgspec

from schemas.decision import Factor, RankingRecord, RegionScore

# A version's row id is derived from what it is, so a record delivered again is stored once.
_NAMESPACE = uuid.UUID("8e2b7c41-5a3d-4f09-9c16-0d4e7a2b5f38")
_json = msgspec.json.Encoder()

Rows = list[tuple[str, msgspec.Struct]]


class RegionRankingRow(msgspec.Struct, kw_only=True):
    """A row of `region_ranking`: one version of a region's score for a hazard."""

    id: uuid.UUID
    region: str
    hazard: str
    score: float
    rank: int
    risiko: float
    bahaya: float
    dampak: float
    kapasitas: float
    parts: str
    computed_at: datetime
    drill: int


class RecommendationRow(msgspec.Struct, kw_only=True):
    """A row of `recommendations`: one version of a recommendation."""

    id: uuid.UUID
    recommendation_id: uuid.UUID
    incident_id: uuid.UUID | None
    region: str
    hazard: str
    rule: str
    action: str
    assignee: str
    why: str
    due_at: datetime
    status: str
    task_id: uuid.UUID | None
    dismissed_by: str
    dismissed_reason: str
    updated_at: datetime
    drill: int


def ranking_rows(record: RankingRecord) -> Rows:
    """The row a posko.ranking record becomes."""
    if isinstance(record, RegionScore):
        points = {p.factor: p.points for p in record.parts}
        version = f"score|{record.region}|{record.hazard}|{record.computed_at.isoformat()}"
        return [("region_ranking", RegionRankingRow(
            id=uuid.uuid5(_NAMESPACE, version),
            region=record.region, hazard=record.hazard, score=record.score, rank=record.rank,
            risiko=points.get(Factor.RISIKO, 0.0), bahaya=points.get(Factor.BAHAYA, 0.0),
            dampak=points.get(Factor.DAMPAK, 0.0), kapasitas=points.get(Factor.KAPASITAS, 0.0),
            parts=_json.encode(record.parts).decode(), computed_at=record.computed_at,
            drill=int(record.drill)))]
    return [("recommendations", RecommendationRow(
        id=uuid.uuid5(_NAMESPACE, f"rec|{record.id}|{record.status}|{record.updated_at.isoformat()}"),
        recommendation_id=record.id, incident_id=record.incident_id, region=record.region,
        hazard=record.hazard, rule=record.rule, action=record.action, assignee=record.assignee,
        why=record.why, due_at=record.due_at, status=record.status, task_id=record.task_id,
        dismissed_by=record.dismissed_by,
        dismissed_reason=record.dismissed_reason, updated_at=record.updated_at, drill=int(record.drill)))]
