"""The push gateway's wire protocol: JSON messages (msgspec) between the gateway and its clients.

Client → gateway: `auth` first, then `ack` of an alert, `incident_ack` of an incident, `command`
(an act of schemas/commands.py) and optionally `pong`. Gateway → client: every message has `seq`.
Journal messages (`alert`, `ack`, `counts`, `incident`, `escalation`, `incident_ack`, `task`,
`emergency`, `note`, `ranking`, `recommendation`) each take the next `seq`, so a wall sees them
consecutively; `welcome`, `snapshot`, `gap`, `ping`, `receipt`, `incident_receipt`,
`command_sent`, `command_result` and `error` carry the latest `seq` at the time they were sent.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

import msgspec
from msgspec import Meta

from schemas.commands import Action, IncidentNote, RegionEmergency, Task
from schemas.decision import Recommendation, RegionScore
from schemas.events import Acknowledgement, Alert
from schemas.incidents import Escalation, Incident, IncidentAck, IncidentStatus

# --- From clients ------------------------------------------------------------------------------


class AuthRequest(msgspec.Struct, frozen=True, tag="auth", tag_field="type"):
    """The first message of every connection: the credential (`pk_…`) and, when reconnecting, the
    last seq seen."""

    token: str
    resume_after: int | None = None


class AckRequest(msgspec.Struct, frozen=True, tag="ack", tag_field="type"):
    """A responder or officer acknowledging an alert, with an optional note."""

    alert_id: uuid.UUID
    note: Annotated[str, Meta(max_length=500)] = ""


class IncidentAckRequest(msgspec.Struct, frozen=True, tag="incident_ack", tag_field="type"):
    """An officer or responder taking an incident on: watching it (dipantau) or acting (ditangani)."""

    incident_id: uuid.UUID
    status: IncidentStatus = IncidentStatus.DIPANTAU


class CommandRequest(msgspec.Struct, frozen=True, kw_only=True, tag="command", tag_field="type"):
    """An act of an officer, responder or agency; the gateway wraps it in a `Command` for the desk."""

    ref: Annotated[str, Meta(max_length=64)]  # the client's own id for it, echoed in the answers
    action: Action
    # The version of the incident, task or region status the person saw (None: not checked).
    expected_version: int | None = None
    page: Annotated[str, Meta(pattern="^[a-z_-]{0,20}$")] = ""  # console, responder, …: for the origin


class Pong(msgspec.Struct, frozen=True, tag="pong", tag_field="type"):
    """A client answering a ping (optional)."""


ClientMessage = AuthRequest | AckRequest | IncidentAckRequest | CommandRequest | Pong

# --- From the gateway ----------------------------------------------------------------------------


class Counts(msgspec.Struct, frozen=True):
    """Events per kabupaten/kota and kind, and alerts per kabupaten/kota, over the last hour."""

    since: datetime
    events: dict[str, dict[str, int]] = {}
    alerts: dict[str, int] = {}


class Welcome(msgspec.Struct, frozen=True, tag="welcome", tag_field="type"):
    """Authentication succeeded: who the gateway takes the client to be."""

    seq: int
    name: str
    role: str
    expires_at: datetime | None  # None: a credential that lasts until revoked
    regions: list[str]
    kinds: list[str]
    min_severity: str
    team: str | None = None  # a responder's team: tasks for it are theirs too
    agency: str | None = None  # an agency account's agency


class Snapshot(msgspec.Struct, frozen=True, tag="snapshot", tag_field="type"):
    """The current picture: open incidents in scope (Segera first, then the latest), recent
    escalations, incidents' latest acknowledgements, recent alerts and theirs, and the counters."""

    seq: int
    alerts: list[Alert]
    acks: list[Acknowledgement]
    counts: Counts | None
    regions: dict[str, str]
    incidents: list[Incident] = []
    escalations: list[Escalation] = []
    incident_acks: list[IncidentAck] = []
    # The desk's state in scope: tasks open or done lately, regions not normal, incidents' latest notes.
    tasks: list[Task] = []
    emergencies: list[RegionEmergency] = []
    notes: list[IncidentNote] = []
    # Decision support, for the room only: the top regions' scores (rank order) and the open
    # recommendations (soonest due first).
    ranking: list[RegionScore] = []
    recommendations: list[Recommendation] = []


class AlertMessage(msgspec.Struct, frozen=True, tag="alert", tag_field="type"):
    """A new alert."""

    seq: int
    alert: Alert


class AckMessage(msgspec.Struct, frozen=True, tag="ack", tag_field="type"):
    """Someone acknowledged an alert."""

    seq: int
    ack: Acknowledgement


class CountsMessage(msgspec.Struct, frozen=True, tag="counts", tag_field="type"):
    """The last-hour counters changed."""

    seq: int
    counts: Counts


class IncidentMessage(msgspec.Struct, frozen=True, tag="incident", tag_field="type"):
    """A new incident or a new version of one (status `selesai`: closed or merged, take it off)."""

    seq: int
    incident: Incident


class EscalationMessage(msgspec.Struct, frozen=True, tag="escalation", tag_field="type"):
    """An escalation step: who is told now, and why."""

    seq: int
    escalation: Escalation


class IncidentAckMessage(msgspec.Struct, frozen=True, tag="incident_ack", tag_field="type"):
    """Someone took an incident on (before the correlator's next version of it says so too)."""

    seq: int
    ack: IncidentAck


class TaskMessage(msgspec.Struct, frozen=True, tag="task", tag_field="type"):
    """A task given or changed (a version not for the holder any more: it was reassigned)."""

    seq: int
    task: Task


class EmergencyMessage(msgspec.Struct, frozen=True, tag="emergency", tag_field="type"):
    """A region's emergency status was set (status `normal`: the region is back to normal)."""

    seq: int
    emergency: RegionEmergency


class NoteMessage(msgspec.Struct, frozen=True, tag="note", tag_field="type"):
    """A note or sitrep written on an incident."""

    seq: int
    note: IncidentNote


class RankingMessage(msgspec.Struct, frozen=True, tag="ranking", tag_field="type"):
    """A region's score for a hazard was recomputed (its rank among all may have changed)."""

    seq: int
    score: RegionScore


class RecommendationMessage(msgspec.Struct, frozen=True, tag="recommendation", tag_field="type"):
    """A recommendation is new or changed (status `ditugaskan` or `diabaikan`: take it off)."""

    seq: int
    recommendation: Recommendation


class Gap(msgspec.Struct, frozen=True, tag="gap", tag_field="type"):
    """Messages were skipped (client too slow, or resumed too late); a snapshot follows."""

    seq: int
    missed: int | None
    reason: str


class Ping(msgspec.Struct, frozen=True, tag="ping", tag_field="type"):
    """Application-level keep-alive, so a browser can tell a dead connection from a quiet one."""

    seq: int
    now: datetime


class Receipt(msgspec.Struct, frozen=True, tag="receipt", tag_field="type"):
    """The client's acknowledgement is stored on Kafka; it will come back as an `ack` message."""

    seq: int
    alert_id: uuid.UUID
    ack_id: uuid.UUID


class IncidentReceipt(msgspec.Struct, frozen=True, tag="incident_receipt", tag_field="type"):
    """The client's acknowledgement of an incident is on posko.signals; it comes back as `incident_ack`."""

    seq: int
    incident_id: uuid.UUID


class CommandSent(msgspec.Struct, frozen=True, tag="command_sent", tag_field="type"):
    """The client's command is on posko.commands; the desk's decision follows as `command_result`."""

    seq: int
    ref: str
    command_id: uuid.UUID


class CommandResult(msgspec.Struct, frozen=True, tag="command_result", tag_field="type"):
    """What became of a command: applied (200) or refused (403, 404, 409, 422) and why."""

    seq: int
    ref: str
    command_id: uuid.UUID | None  # None: refused by the gateway, never written
    status: int
    accepted: bool
    reason: str = ""


class Error(msgspec.Struct, frozen=True, tag="error", tag_field="type"):
    """A client message could not be used; the text says why and what to do."""

    seq: int
    message: str


JournalMessage = (AlertMessage | AckMessage | CountsMessage | IncidentMessage | EscalationMessage
                  | IncidentAckMessage | TaskMessage | EmergencyMessage | NoteMessage | RankingMessage
                  | RecommendationMessage)
ServerMessage = (Welcome | Snapshot | AlertMessage | AckMessage | CountsMessage | IncidentMessage
                 | EscalationMessage | IncidentAckMessage | TaskMessage | EmergencyMessage | NoteMessage
                 | RankingMessage | RecommendationMessage | Gap | Ping | Receipt | IncidentReceipt
                 | CommandSent | CommandResult | Error)
