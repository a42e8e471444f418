"""Who acts in Posko: one role model and one scope for people and machines alike.

A credential (`posko credential issue`) names its holder, a role and a scope. The intake, the
push gateway and every page check the same credential; what a role may do is in
`schemas/commands.py` (PERMISSIONS). No I/O here.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from datetime import datetime

import msgspec

from schemas.events import Channel, Kind, Severity, UtcTime
from schemas.incidents import Hazard
from schemas.regions import Region


class Role(enum.StrEnum):
    """What a holder is in the room."""

    WALL = "wall"  # the command room's wall: shows, never acts
    OFFICER = "officer"  # petugas jaga: opens, merges and closes incidents, gives tasks
    SUPERVISOR = "supervisor"  # what an officer does, and is told of escalations first
    RESPONDER = "responder"  # in the field: their tasks and the incidents in their scope
    AGENCY = "agency"  # an OPD/dinas account: its dispositions and tasks
    CHANNEL = "channel"  # a machine that submits citizen reports to the intake
    ADMIN = "admin"  # issues credentials; may do everything


# CAP severities from least to most severe; a scope's minimum admits this one and those after it.
SEVERITY_RANK: dict[Severity, int] = {
    Severity.UNKNOWN: 0, Severity.MINOR: 1, Severity.MODERATE: 2, Severity.SEVERE: 3,
    Severity.EXTREME: 4,
}

# Roles that see every region, incident, task and the counters.
SEES_EVERYTHING = frozenset({Role.WALL, Role.OFFICER, Role.SUPERVISOR, Role.ADMIN})


class Scope(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """Where and what a holder works on; an empty list means every region, hazard or kind."""

    regions: list[Region] = []
    hazards: list[Hazard] = []
    kinds: list[Kind] = []
    min_severity: Severity = Severity.UNKNOWN
    agency: str | None = None  # an agency account's agency, e.g. "BPBD Kota Jambi", "Dinas PUPR"
    team: str | None = None  # a responder's team, e.g. "TRC BPBD Muaro Jambi"


class Principal(msgspec.Struct, frozen=True, kw_only=True):
    """A checked credential: who holds it, its role and scope (never its secret)."""

    id: str  # the credential's id
    name: str  # shown beside everything they do
    role: Role
    scope: Scope = Scope()
    channel: Channel | None = None  # a channel credential's channel
    rate_per_minute: int = 0  # intake requests per minute; 0: no limit
    expires_at: UtcTime | None = None

    @property
    def sees_everything(self) -> bool:
        """Walls, officers, supervisors and admins see every region, incident and task."""
        return self.role in SEES_EVERYTHING

    @property
    def can_acknowledge(self) -> bool:
        """Everyone but the wall (which only shows) and a channel (a machine) acknowledges alerts."""
        return self.role not in (Role.WALL, Role.CHANNEL)

    def expired(self, now: datetime) -> bool:
        """True once the credential's expiry has passed."""
        return self.expires_at is not None and now >= self.expires_at

    def covers_area(self, regions: Sequence[Region], hazards: Sequence[Hazard] = (),
                    kinds: Sequence[Kind] = ()) -> bool:
        """True when something spanning `regions` (of these hazards and event kinds) is in scope."""
        if self.sees_everything:
            return True
        scope = self.scope
        if scope.regions and not set(regions) & set(scope.regions):
            return False
        if scope.hazards and hazards and not set(hazards) & set(scope.hazards):
            return False
        return not (scope.kinds and kinds and not set(kinds) & set(scope.kinds))

    def covers(self, region: Region | None, kind: Kind, severity: Severity) -> bool:
        """True when an alert of this region, kind and severity is in scope."""
        if self.sees_everything:
            return True
        scope = self.scope
        if scope.regions and region not in scope.regions:
            return False
        if scope.kinds and kind not in scope.kinds:
            return False
        return SEVERITY_RANK[severity] >= SEVERITY_RANK[scope.min_severity]
