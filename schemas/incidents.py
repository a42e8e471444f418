"""Incidents: what the room works on. Signals (official alerts, urgent or repeated citizen reports,
indicators out of their normal range) grouped by hazard, place and time; their priority; the
escalations of those nobody takes on; the SLA clocks of citizen reports."""

from __future__ import annotations

import enum
import uuid
from typing import Annotated

import msgspec
from msgspec import Meta

from schemas.events import Certainty, Kind, Point, ReportCategory, Severity, Urgency, UtcTime
from schemas.regions import Region

# Escalation and SLA ids are derived from what they are about, so a step fired again after a
# crash carries the id of the first and is recognised.
_NAMESPACE = uuid.UUID("6f1f4c1e-2b7a-4c50-9d59-1c7d2e0a7b15")


class Hazard(enum.StrEnum):
    """What kind of happening an incident is."""

    BANJIR = "banjir"
    LONGSOR = "longsor"
    GEMPA = "gempa"
    KARHUTLA = "karhutla"  # forest and land fires, and their haze
    CUACA = "cuaca"  # extreme weather: strong wind, whirlwinds, storms
    KEBAKARAN = "kebakaran"  # fires in settlements
    LAINNYA = "lainnya"  # a surge of ordinary complaints, or a hazard not named above


class Priority(enum.StrEnum):
    """How soon the room must act, highest first."""

    SEGERA = "segera"
    TINGGI = "tinggi"
    SEDANG = "sedang"
    RENDAH = "rendah"

    @property
    def rank(self) -> int:
        """0 for Segera … 3 for Rendah: sort by it."""
        return _RANK[self]


_RANK = {p: n for n, p in enumerate(Priority)}


class IncidentStatus(enum.StrEnum):
    """Where an incident is, in order."""

    BARU = "baru"  # nobody has taken it on
    DIPANTAU = "dipantau"  # acknowledged: someone watches it
    DITANGANI = "ditangani"  # someone acts on it
    SELESAI = "selesai"  # closed (also: merged into another incident)


class SignalKind(enum.StrEnum):
    """What a signal is."""

    PERINGATAN = "peringatan"  # an official alert (BMKG, BPBD, CAP)
    LAPORAN = "laporan"  # a citizen report
    INDIKATOR = "indikator"  # a sector indicator out of its normal range


class Signal(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True, tag="signal"):
    """What correlation reads of an event: its hazard, place, time and CAP weight (no personal data)."""

    id: uuid.UUID  # the event's id
    kind: SignalKind
    event_kind: Kind
    hazard: Hazard
    occurred_at: UtcTime
    region: Region | None
    # An official alert's area: every kabupaten/kota it names (its own region first).
    regions: list[Region] = []
    kecamatan: str | None = None  # Kemendagri code, e.g. 15.04.01
    location: Point | None = None
    radius_km: float = 0.0  # an alert's circle
    urgency: Urgency = Urgency.UNKNOWN
    severity: Severity = Severity.UNKNOWN
    certainty: Certainty = Certainty.UNKNOWN
    urgent: bool = False  # a report the triage found urgent; ordinary ones count for surges only
    victims: bool = False
    category: ReportCategory | None = None
    headline: str = ""
    text: str = ""  # public text, for near-duplicates (a report's, as on the alert)
    indicator: str | None = None
    value: float | None = None


class IncidentAck(msgspec.Struct, frozen=True, kw_only=True, tag="ack"):
    """Someone in the room or in the field took an incident on."""

    incident_id: uuid.UUID
    acked_by: str
    role: str
    acked_at: UtcTime
    status: IncidentStatus = IncidentStatus.DIPANTAU


# What the correlator reads from posko.signals, in one order.
RoomInput = Signal | IncidentAck


class IncidentItem(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """A line of an incident: one signal, or near-identical reports from one place with a count."""

    id: uuid.UUID  # the first signal's id
    kind: SignalKind
    event_kind: Kind
    headline: str
    region: Region | None
    kecamatan: str | None = None
    location: Point | None = None
    first_at: UtcTime
    last_at: UtcTime
    count: int = 1
    signal_ids: list[uuid.UUID]
    urgency: Urgency = Urgency.UNKNOWN
    severity: Severity = Severity.UNKNOWN
    certainty: Certainty = Certainty.UNKNOWN
    victims: bool = False
    # An indicator reading's code and value (decision support reads levels and trends from them).
    indicator: str | None = None
    value: float | None = None


class EscalationStep(msgspec.Struct, frozen=True, kw_only=True):
    """A step an incident's escalation took."""

    level: int
    role: str
    at: UtcTime


class Incident(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """One happening as the room sees it: one record per change on posko.incidents (compacted)."""

    id: uuid.UUID
    version: int  # 1, 2, …: every change counts up
    hazard: Hazard
    title: str
    priority: Priority
    status: IncidentStatus
    regions: list[Region]
    kecamatan: list[str] = []
    centre: Point | None = None
    radius_km: float = 0.0
    first_at: UtcTime
    last_at: UtcTime
    items: list[IncidentItem]
    signal_count: int
    report_count: int = 0
    official: bool = False  # holds an official alert
    victims: bool = False
    surge: bool = False  # opened by a surge of citizen reports
    why: str = ""  # why it has its priority, in words the room reads
    opened_at: UtcTime  # when the stream opened it
    updated_at: UtcTime
    # The priority rose (or the incident is new) in this change: the wall flashes for Segera/Tinggi.
    raised: bool = False
    # Since when it is Segera or Tinggi (the worker's clock): the escalation timer counts from here.
    urgent_since: UtcTime | None = None
    acked_by: str = ""
    acked_at: UtcTime | None = None
    escalations: list[EscalationStep] = []
    merged_into: uuid.UUID | None = None
    drill: bool = False  # latihan: marked as a drill, everywhere it shows
    manual: bool = False  # opened by hand in the console
    closed_by: str = ""
    closed_reason: str = ""  # why it was closed (by hand), or what it was merged into
    # The latest commands applied to it (at most 50): a command read again after a crash is known.
    commands: list[uuid.UUID] = []


class EscalationSubject(enum.StrEnum):
    """What is escalated."""

    INCIDENT = "incident"  # nobody acknowledged a Segera/Tinggi incident in time
    REPORT_SLA = "report_sla"  # a citizen report is past its SLA deadline
    TASK = "task"  # a task is past its due time and not done


class Escalation(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """A step of an escalation, once per step: on posko.escalations, the wall and the responders."""

    id: uuid.UUID  # escalation_id(subject_id, level): the same for the same step
    subject: EscalationSubject
    subject_id: str  # an incident's id, or a report's tracking number
    level: int  # 1, 2, 3 …
    role: str  # who is told now: petugas piket, supervisor, kepala BPBD, or the agency
    regions: list[Region]
    priority: Priority | None = None
    headline: str
    reason: str
    due_at: UtcTime
    fired_at: UtcTime
    late_s: Annotated[float, Meta(ge=0)] = 0.0  # how late the subject is at this step
    # A report SLA's stage (verifikasi, tindak_lanjut): with level, which step this is.
    stage: str = ""
    drill: bool = False  # about a drill (latihan)


def escalation_id(subject_id: str, level: int, stage: str = "") -> uuid.UUID:
    """The id of one escalation step (of one SLA stage): the same every time it is computed."""
    return uuid.uuid5(_NAMESPACE, f"{subject_id}|{stage}|{level}")


def incident_id(first_signal: uuid.UUID) -> uuid.UUID:
    """The id of the incident a signal opened: replaying the signal opens the same one."""
    return uuid.uuid5(_NAMESPACE, f"incident|{first_signal}")
