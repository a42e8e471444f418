"""Scores and recommendations as the worker writes them to posko.ranking, for the gateway's, the
console's and the briefing's tests, where the worker's ranking would need a whole scenario.

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
from sinks.clickhouse.ranking_rows import ranking_rows
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


def ranking_row(score: RegionScore) -> msgspec.Struct:
    """The score as the sink stores it in region_ranking (sinks/clickhouse/ranking_rows.py)."""
    return ranking_rows(score)[0][1]


def recommendation_row(recommendation: Recommendation) -> msgspec.Struct:
    """The recommendation as the sink stores it in recommendations."""
    return ranking_rows(recommendation)[0][1]
