"""Decision support: which kabupaten/kota need action first and why, and what is due there.

A `RegionScore` ranks one region for one hazard: the sum of its parts, each part with its
weight and the evidence behind it (never a bare number). A `Recommendation` is a playbook
action that is due for an incident or region and not yet tasked, with the rule that fired and
its deadline. The worker writes both to posko.ranking (compacted); ClickHouse, the console and
the briefing read them.
"""

from __future__ import annotations

import enum
import uuid

import msgspec

from schemas.events import UtcTime
from schemas.incidents import Hazard
from schemas.regions import Region


class Factor(enum.StrEnum):
    """What a part of a region's score measures."""

    RISIKO = "risiko"  # baseline risk: the risk index where published, and the population exposed
    BAHAYA = "bahaya"  # the live hazard: incidents by priority, indicators against their normal range
    DAMPAK = "dampak"  # the impact reported: victims, displaced, damaged houses
    KAPASITAS = "kapasitas"  # the response: open and overdue tasks, escalations nobody took on


class Evidence(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """What a part of a score rests on: an incident, a signal, an indicator reading or a task."""

    kind: str  # incident, signal, indicator, task, escalation, reference
    id: str = ""  # its id, when it has one
    text: str  # in words the room reads, e.g. "TMA Sungai Batanghari 12.4 m (normal ≤ 9 m)"


class ScorePart(msgspec.Struct, frozen=True, kw_only=True):
    """One factor of a region's score: its value (0–1), weight, contribution and evidence."""

    factor: Factor
    value: float  # 0 … 1
    weight: float  # from the settings (POSKO_DSS_WEIGHTS)
    points: float  # value × weight: what it adds to the score
    why: str  # one line, e.g. "2 insiden Segera, TMA naik 0.4 m/jam"
    evidence: list[Evidence] = []


class RegionScore(msgspec.Struct, frozen=True, kw_only=True, tag="score"):
    """A kabupaten/kota's rank for one hazard now: on posko.ranking (key score:<region>|<hazard>)."""

    region: Region
    hazard: Hazard
    score: float  # the sum of the parts' points
    rank: int  # 1 = act here first (among every region and hazard scored)
    parts: list[ScorePart]
    computed_at: UtcTime
    drill: bool = False  # rests only on drill incidents


class RecommendationStatus(enum.StrEnum):
    """Where a recommendation is."""

    TERBUKA = "terbuka"  # due, not tasked
    DITUGASKAN = "ditugaskan"  # a task covers it now
    DIABAIKAN = "diabaikan"  # dismissed by an officer, with a reason
    SELESAI = "selesai"  # its incident closed (or was merged) before anyone took it on: no longer due


class Recommendation(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True, tag="recommendation"):
    """A playbook action due for an incident (and region): on posko.ranking (key rec:<id>)."""

    id: uuid.UUID  # derived from incident, region and rule: the same every time it fires
    incident_id: uuid.UUID | None = None
    region: Region
    hazard: Hazard
    rule: str  # the playbook rule's id, e.g. banjir.kaji-cepat
    action: str  # what to do, e.g. "Kaji cepat (TRC BPBD) ke lokasi terdampak"
    assignee: str = ""  # who usually does it, e.g. "TRC BPBD", "Dinas Pendidikan"
    why: str  # the rule that fired and on what, e.g. "Peringatan Siaga BPBD 08:10 WIB"
    due_at: UtcTime  # by when, by the rule's timing
    status: RecommendationStatus = RecommendationStatus.TERBUKA
    task_id: uuid.UUID | None = None  # the task covering it
    dismissed_by: str = ""
    dismissed_reason: str = ""
    updated_at: UtcTime
    drill: bool = False
    # The commands applied to it (a dismissal): one read again after a crash is known.
    commands: list[uuid.UUID] = []


RankingRecord = RegionScore | Recommendation
