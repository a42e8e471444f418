"""The briefing's facts from what the gateway holds (open and lately closed incidents, the desk's
tasks and statuses, the ranking, the last hour's counts): for /briefing.pdf|html|md, which the
/briefing page shows and its button saves."""

from __future__ import annotations

from datetime import datetime

from documents.briefing import Emergency, OpenIncident, Situation, TaskState
from schemas.commands import EmergencyStatus
from schemas.events import utc_now
from schemas.incidents import Incident
from sinks.push.desk import DeskBoard
from sinks.push.incidents import IncidentBoard
from sinks.push.protocol import Counts
from sinks.push.ranking import RankingBoard


def _incident(i: Incident) -> OpenIncident:
    return OpenIncident(id=i.id, title=i.title, hazard=i.hazard, priority=i.priority, status=i.status,
                        regions=[str(r) for r in i.regions], opened_at=i.opened_at, updated_at=i.updated_at,
                        drill=i.drill)


def situation(board: IncidentBoard, desk: DeskBoard, ranking: RankingBoard, counts: Counts | None,
              since: datetime, now: datetime | None = None) -> Situation:
    """What the room knows now, for a briefing whose last one was at `since`."""
    now = now or utc_now()
    events: dict[str, int] = {}
    for per_kind in (counts.events.values() if counts else ()):
        for kind, n in per_kind.items():
            events[kind] = events.get(kind, 0) + n
    return Situation(
        now=now, since=since, incidents=[_incident(i) for i in board.open.values()],
        closed=[_incident(i) for i in board.closed if i.updated_at >= since],
        emergencies=[Emergency(region=str(e.region), status=e.status, decided_at=e.decided_at,
                               decree=e.decree, drill=e.drill)
                     for e in sorted(desk.emergencies.values(), key=lambda e: e.region)
                     if e.status is not EmergencyStatus.NORMAL],
        tasks=[TaskState(title=t.title, assignee=t.assignee.name, priority=t.priority, status=t.status,
                         due_at=t.due_at, updated_at=t.updated_at, drill=t.drill)
               for t in desk.tasks.values() if not t.status.over or t.updated_at >= since],
        ranking=list(ranking.scores.values()), recommendations=list(ranking.open.values()), events=events,
    )
