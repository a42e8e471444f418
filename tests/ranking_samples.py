"""Scores and recommendations as the worker writes them to posko.ranking, for the gateway's, the
console's and the briefing's tests (standing in for the worker's ranking until it lands).

The population figures are those of ../shared/fixtures/dss/jambi_kabkota_reference.csv (2024); the
risk index columns there are empty (no published figure read yet), so no part here cites one.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import msgspec

from posko.settings import Settings
from schemas.decision import (
    Evidence,
    Factor,
    RankingRecord,
    Recommendation,
    RecommendationStatus,
    RegionScore,
    ScorePart,
)
from schemas.events import utc_now
from schemas.incidents import Hazard
from schemas.regions import Region
from schemas.topics import RANKING
from tests.conftest import produce

# 2024 population of the reference file, for the risk part's evidence.
POPULATION = {Region.BATANG_HARI: 307361, Region.KERINCI: 268951}


def region_score(region: Region, hazard: Hazard, rank: int, bahaya_why: str, score: float = 0.0,
                 incident_id: uuid.UUID | None = None, at: datetime | None = None,
                 drill: bool = False) -> RegionScore:
    """A region's score with its four parts, each with a why and its evidence."""
    people = POPULATION.get(region, 0)
    parts = [
        ScorePart(factor=Factor.RISIKO, value=0.3, weight=0.2, points=0.06,
                  why=f"penduduk {people} jiwa (2024); indeks risiko BNPB belum tersedia",
                  evidence=[Evidence(kind="reference", text=f"Penduduk {people} jiwa (Kemendagri 2024)")]),
        ScorePart(factor=Factor.BAHAYA, value=0.9, weight=0.4, points=0.36, why=bahaya_why,
                  evidence=[Evidence(kind="incident", id=str(incident_id or ""), text=bahaya_why)]),
        ScorePart(factor=Factor.DAMPAK, value=0.5, weight=0.25, points=0.125, why="12 rumah terendam",
                  evidence=[Evidence(kind="signal", text="Laporan warga: 12 rumah terendam")]),
        ScorePart(factor=Factor.KAPASITAS, value=0.4, weight=0.15, points=0.06,
                  why="1 tugas lewat tenggat",
                  evidence=[Evidence(kind="task", text="Kaji cepat belum selesai")]),
    ]
    total = score or round(sum(p.points for p in parts), 3)
    return RegionScore(region=region, hazard=hazard, score=total, rank=rank, parts=parts,
                       computed_at=at or utc_now(), drill=drill)


def recommendation(region: Region, hazard: Hazard, rule: str, action: str, assignee: str, why: str,
                   incident_id: uuid.UUID | None = None, due_in: timedelta = timedelta(hours=6),
                   status: RecommendationStatus = RecommendationStatus.TERBUKA) -> Recommendation:
    """A recommendation due in `due_in` (negative: overdue)."""
    now = utc_now()
    rec_id = uuid.uuid5(uuid.NAMESPACE_URL, f"rec:{incident_id}:{region}:{rule}")
    return Recommendation(id=rec_id, incident_id=incident_id, region=region, hazard=hazard, rule=rule,
                          action=action, assignee=assignee, why=why, due_at=now + due_in, status=status,
                          updated_at=now)


def ranking_key(record: RankingRecord) -> bytes:
    """The record's key on posko.ranking."""
    if isinstance(record, RegionScore):
        return f"score:{record.region}|{record.hazard}".encode()
    return f"rec:{record.id}".encode()


async def publish_ranking(settings: Settings, records: list[RankingRecord]) -> None:
    """Produce records onto posko.ranking as the worker does."""
    await produce(settings, [(RANKING, ranking_key(r), msgspec.json.encode(r)) for r in records])


# Rows of the ranking's tables (sinks/clickhouse/migrations.py 10), as the sink would write them
# from posko.ranking, standing in for the worker's part's sink rows until they land.
class RankingRow(msgspec.Struct, kw_only=True):
    """A row of region_ranking: one computation of a region's score for a hazard."""

    region: str
    hazard: str
    score: float
    rank: int
    parts: str  # the parts as JSON
    computed_at: datetime
    drill: int


def ranking_row(score: RegionScore) -> RankingRow:
    """The score as a row of region_ranking."""
    return RankingRow(region=str(score.region), hazard=str(score.hazard), score=score.score, rank=score.rank,
                      parts=msgspec.json.encode(score.parts).decode(), computed_at=score.computed_at,
                      drill=int(score.drill))


class RecommendationRow(msgspec.Struct, kw_only=True):
    """A row of recommendations: one version of a recommendation."""

    id: uuid.UUID
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


def recommendation_row(r: Recommendation) -> RecommendationRow:
    """The recommendation as a row of recommendations."""
    return RecommendationRow(id=r.id, incident_id=r.incident_id, region=str(r.region), hazard=str(r.hazard),
                             rule=r.rule, action=r.action, assignee=r.assignee, why=r.why, due_at=r.due_at,
                             status=str(r.status), task_id=r.task_id, dismissed_by=r.dismissed_by,
                             dismissed_reason=r.dismissed_reason, updated_at=r.updated_at, drill=int(r.drill))
