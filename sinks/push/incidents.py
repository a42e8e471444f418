"""What the gateway holds of incidents: the latest version of each open one, recent escalations,
the latest acknowledgement of each incident, and who may see which."""

from __future__ import annotations

import uuid
from collections import deque
from collections.abc import Sequence
from datetime import timedelta
from typing import NamedTuple

import msgspec

from schemas.events import Kind, utc_now
from schemas.identity import Principal
from schemas.incidents import Escalation, EscalationSubject, Hazard, Incident, IncidentAck, IncidentStatus
from schemas.regions import Region

# Open incidents a snapshot carries at most, highest priority first.
SNAPSHOT_INCIDENTS = 100
SNAPSHOT_ITEMS = 10
# Escalations a snapshot carries: at most this many, fired at most this long ago.
SNAPSHOT_ESCALATIONS = 30
RECENT_ESCALATIONS = timedelta(hours=6)
# Ids of closed incidents remembered, so an older version redelivered does not reopen one.
CLOSED_KEPT = 10_000
CLOSED_BRIEFED = 500  # closed incidents kept (without items) for the briefing's changes


class ScopedAck(NamedTuple):
    """An incident's acknowledgement in the journal, with the incident's area and kinds for scope."""

    ack: IncidentAck
    regions: list[Region]
    kinds: list[Kind]


class IncidentScope(NamedTuple):
    """An incident's version in the journal: only what says who may see it. The journal keeps the
    version's bytes; the decoded version, several times larger, would fill the gateway's memory."""

    regions: list[Region]
    hazard: Hazard
    kinds: list[Kind]

    @classmethod
    def of(cls, incident: Incident) -> IncidentScope:
        return cls(incident.regions, incident.hazard, incident_kinds(incident))


def incident_kinds(incident: Incident) -> list[Kind]:
    """The event kinds of an incident's signals."""
    return sorted({item.event_kind for item in incident.items})


def sees_incident(principal: Principal, incident: Incident) -> bool:
    """True when the incident touches the holder's regions (and hazards and kinds, when the
    credential names some)."""
    return sees_scope(principal, IncidentScope.of(incident))


def sees_scope(principal: Principal, scope: IncidentScope) -> bool:
    """sees_incident, from the incident's scope."""
    return principal.covers_area(scope.regions, [scope.hazard], scope.kinds)


def sees_escalation(principal: Principal, escalation: Escalation, kinds: Sequence[Kind]) -> bool:
    """True when the escalation's area is in the holder's scope."""
    if escalation.subject is EscalationSubject.REPORT_SLA:
        kinds = [Kind.CITIZEN_REPORT]
    return principal.covers_area(escalation.regions, kinds=kinds)


def rank(incident: Incident) -> tuple[int, float]:
    """Sort key: priority (Segera first), then the latest signal, newest first."""
    return incident.priority.rank, -incident.last_at.timestamp()


class IncidentBoard:
    """The latest of every open incident, recent escalations and acknowledgements."""

    def __init__(self) -> None:
        self.open: dict[uuid.UUID, Incident] = {}
        self.versions: dict[uuid.UUID, int] = {}  # every incident seen, open or closed
        self.escalations: deque[Escalation] = deque(maxlen=500)
        self._escalation_ids: set[uuid.UUID] = set()
        self.acks: dict[uuid.UUID, IncidentAck] = {}
        # The latest closed incidents (without their items): what the briefing says changed.
        self.closed: deque[Incident] = deque(maxlen=CLOSED_BRIEFED)

    def update(self, incident: Incident) -> bool:
        """Take a version of an incident; False when it is not newer than the one held."""
        if self.versions.get(incident.id, 0) >= incident.version:
            return False
        self.versions[incident.id] = incident.version
        if incident.status is IncidentStatus.SELESAI:
            self.open.pop(incident.id, None)
            self.acks.pop(incident.id, None)
            self.closed.append(msgspec.structs.replace(incident, items=[]))
            while len(self.versions) > len(self.open) + CLOSED_KEPT:
                oldest = next(i for i in self.versions if i not in self.open)
                del self.versions[oldest]
        else:
            self.open[incident.id] = incident
        return True

    def escalate(self, escalation: Escalation) -> bool:
        """Take an escalation step; False when it was seen already (a step fired again)."""
        if escalation.id in self._escalation_ids:
            return False
        if len(self.escalations) == self.escalations.maxlen:
            self._escalation_ids.discard(self.escalations[0].id)
        self.escalations.append(escalation)
        self._escalation_ids.add(escalation.id)
        return True

    def acknowledged(self, ack: IncidentAck) -> ScopedAck:
        """Keep an incident's latest acknowledgement; the ack with its incident's area."""
        incident = self.open.get(ack.incident_id)
        if incident is not None:
            self.acks[ack.incident_id] = ack
            return ScopedAck(ack, list(incident.regions), incident_kinds(incident))
        return ScopedAck(ack, [], [])

    def escalation_kinds(self, escalation: Escalation) -> tuple[Kind, ...]:
        """The kinds of the incident an escalation is about, when it is held."""
        if escalation.subject is EscalationSubject.INCIDENT:
            with_id = _uuid(escalation.subject_id)
            incident = self.open.get(with_id) if with_id else None
            if incident is not None:
                return tuple(incident_kinds(incident))
        return ()

    def ranked(self, principal: Principal) -> list[Incident]:
        """The open incidents the holder sees, highest priority and latest first, each with its
        first SNAPSHOT_ITEMS items (and their first signal id): a snapshot stays well under a
        client's 1 MB message limit; the next version of an incident brings all of it."""
        seen = [i for i in self.open.values() if sees_incident(principal, i)]
        return [_brief(i) for i in sorted(seen, key=rank)[:SNAPSHOT_INCIDENTS]]

    def recent_escalations(self, principal: Principal) -> list[Escalation]:
        """The holder's escalations of the last hours, newest first."""
        since = utc_now() - RECENT_ESCALATIONS
        found = [e for e in reversed(self.escalations)
                 if e.fired_at >= since and sees_escalation(principal, e, self.escalation_kinds(e))]
        return found[:SNAPSHOT_ESCALATIONS]


def _brief(incident: Incident) -> Incident:
    items = [msgspec.structs.replace(item, signal_ids=item.signal_ids[:1])
             for item in incident.items[:SNAPSHOT_ITEMS]]
    return msgspec.structs.replace(incident, items=items)


def _uuid(text: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(text)
    except ValueError:
        return None
