"""The board: the latest score of every region and hazard and every recommendation, and what changed.

`update` recomputes the regions a batch touched (or all, after a restart) from the room's state and
returns the records to write to posko.ranking: scores whose parts or rank changed, recommendations
that are new or changed. Pure: no I/O, no clock.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from datetime import datetime

import msgspec

from decision.playbooks import Playbook
from decision.ranking import Situation, Weights, open_pairs, ranked, scores_for
from decision.recommend import recommend
from decision.reference import Reference
from schemas.commands import IncidentNote, RegionEmergency, Task
from schemas.decision import RankingRecord, Recommendation, RecommendationStatus, RegionScore
from schemas.incidents import Hazard, Incident, IncidentStatus
from schemas.regions import Region

Pair = tuple[Region, Hazard]


def ranking_key(record: RankingRecord) -> bytes:
    """The record's key on posko.ranking: score:<region>|<hazard> or rec:<id>."""
    if isinstance(record, RegionScore):
        return f"score:{record.region}|{record.hazard}".encode()
    return f"rec:{record.id}".encode()


class Board:
    """Scores and recommendations as last written, and the data they are computed with."""

    def __init__(self, reference: Reference, playbooks: list[Playbook], weights: Weights) -> None:
        self.reference, self.playbooks, self.weights = reference, playbooks, weights
        self.scores: dict[Pair, RegionScore] = {}
        self.recommendations: dict[uuid.UUID, Recommendation] = {}

    def restore(self, record: RankingRecord) -> None:
        """Take a record back as posko.ranking holds it (after a restart)."""
        if isinstance(record, RegionScore):
            self.scores[(record.region, record.hazard)] = record
        else:
            self.recommendations[record.id] = record

    def update(self, incidents: Mapping[uuid.UUID, Incident], tasks: Mapping[uuid.UUID, Task],
               emergencies: Mapping[str, RegionEmergency], notes: Mapping[uuid.UUID, IncidentNote],
               regions: Iterable[Region] | None, now: datetime) -> list[RankingRecord]:
        """The records that changed after the regions touched (None: every region) changed."""
        touched = set(regions) if regions is not None else None
        situation = Situation(incidents=list(incidents.values()), tasks=list(tasks.values()),
                              notes=list(notes.values()), now=now)
        pairs = open_pairs(situation.incidents) | set(self.scores)
        if touched is not None:
            pairs = {p for p in pairs if p[0] in touched}
        fresh = {**self.scores, **scores_for(pairs, situation, self.reference, self.weights)}
        out: list[RankingRecord] = []
        for score in ranked(fresh.values()):
            pair = (score.region, score.hazard)
            if _changed(self.scores.get(pair), score):
                self.scores[pair] = score
                out.append(score)
        chosen = [i for i in situation.incidents if touched is None or touched & set(i.regions)]
        for rec in recommend(chosen, self.playbooks, situation.tasks, emergencies, self.recommendations, now):
            if _changed(self.recommendations.get(rec.id), rec):
                self.recommendations[rec.id] = rec
                out.append(rec)
        return out + self._withdraw(incidents, now)

    def _withdraw(self, incidents: Mapping[uuid.UUID, Incident], now: datetime) -> list[RankingRecord]:
        """Open recommendations of incidents closed or merged since: no longer due (selesai)."""
        out: list[RankingRecord] = []
        for rec in list(self.recommendations.values()):
            incident = incidents.get(rec.incident_id) if rec.incident_id else None
            if rec.status is not RecommendationStatus.TERBUKA or incident is None:
                continue
            if incident.status is IncidentStatus.SELESAI or incident.merged_into is not None:
                done = msgspec.structs.replace(rec, status=RecommendationStatus.SELESAI, updated_at=now)
                self.recommendations[rec.id] = done
                out.append(done)
        return out


def _changed(before: RankingRecord | None, after: RankingRecord) -> bool:
    """Whether a record differs from the last written but for its time of computing."""
    if before is None:
        return True
    if isinstance(before, RegionScore) and isinstance(after, RegionScore):
        return msgspec.structs.replace(before, computed_at=after.computed_at) != after
    if isinstance(before, Recommendation) and isinstance(after, Recommendation):
        return msgspec.structs.replace(before, updated_at=after.updated_at) != after
    return True
