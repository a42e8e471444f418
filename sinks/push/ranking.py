"""What the gateway holds of decision support (read from posko.ranking): the latest score of every
region and hazard, and the open recommendations; and who sees them.

The ranking and the recommendations are the room's: officers, supervisors, admins and the wall see
them; responders and agencies do not (they get tasks, which a recommendation becomes).
"""

from __future__ import annotations

import uuid
from typing import NamedTuple

from schemas.decision import RankingRecord, Recommendation, RecommendationStatus, RegionScore
from schemas.identity import Principal
from schemas.incidents import Hazard
from schemas.regions import Region

# Scores a snapshot carries at most (the highest first), and recommendations (soonest due first).
SNAPSHOT_SCORES = 60
SNAPSHOT_RECOMMENDATIONS = 200


class RankingItem(NamedTuple):
    """A score or recommendation in the journal: for the room only."""

    record: RankingRecord


def sees_ranking(principal: Principal) -> bool:
    """True when the holder sees decision support (the command room and the wall)."""
    return principal.sees_everything


class RankingBoard:
    """The latest score per region and hazard, and the recommendations not yet tasked or dismissed."""

    def __init__(self) -> None:
        self.scores: dict[tuple[Region, Hazard], RegionScore] = {}
        self.open: dict[uuid.UUID, Recommendation] = {}
        # The latest version seen of every recommendation (also closed ones): a redelivered older
        # version must not reopen one.
        self._seen: dict[uuid.UUID, Recommendation] = {}

    def update(self, record: RankingRecord) -> RankingItem | None:
        """Take a record; the journal item to publish, or None when it is not newer than the one held."""
        if isinstance(record, RegionScore):
            key = (record.region, record.hazard)
            held = self.scores.get(key)
            if held is not None and held.computed_at > record.computed_at:
                return None
            if held == record:
                return None
            self.scores[key] = record
            return RankingItem(record)
        seen = self._seen.get(record.id)
        if seen is not None and (seen.updated_at > record.updated_at or seen == record):
            return None
        self._seen[record.id] = record
        if record.status is RecommendationStatus.TERBUKA:
            self.open[record.id] = record
        else:
            self.open.pop(record.id, None)
        return RankingItem(record)

    def view(self, principal: Principal) -> tuple[list[RegionScore], list[Recommendation]]:
        """What a snapshot carries for the holder: the top scores (rank order) and the open
        recommendations (soonest due first); nothing for those outside the room."""
        if not sees_ranking(principal):
            return [], []
        scores = sorted(self.scores.values(), key=lambda s: (s.rank, -s.score))[:SNAPSHOT_SCORES]
        open_ = sorted(self.open.values(), key=lambda r: r.due_at)[:SNAPSHOT_RECOMMENDATIONS]
        return scores, open_
