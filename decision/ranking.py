"""The explainable score of a kabupaten/kota for one hazard: four parts, each 0–1 with its weight,
its reason in one line and the evidence behind it (never a bare number).

RISIKO is the baseline (BNPB's risk index where the reference has it, and the population
exposed); BAHAYA the live hazard (open incidents by priority, indicators above their normal range
and their trend); DAMPAK the impact reported (reports, victims, displaced or damaged houses named in
notes and sitreps); KAPASITAS the response gap (no task yet, overdue tasks, escalations nobody took
on). Pure: the worker passes the state in.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime

import msgspec

from decision.reference import Reference, RegionReference, RiskClass
from posko.errors import PoskoError
from schemas.commands import IncidentNote, Task
from schemas.decision import Evidence, Factor, RegionScore, ScorePart
from schemas.incidents import Hazard, Incident, IncidentItem, IncidentStatus, Priority, SignalKind
from schemas.regions import Region
from schemas.sectors import INDICATORS

DEFAULT_WEIGHTS = "risiko:0.15,bahaya:0.45,dampak:0.25,kapasitas:0.15"
# What an open incident's priority says of the live hazard.
PRIORITY_VALUE = {Priority.SEGERA: 1.0, Priority.TINGGI: 0.7, Priority.SEDANG: 0.4, Priority.RENDAH: 0.2}
# Reports and victims at which the impact part is full: beyond them the room knows it is severe.
FULL_REPORTS = 30
FULL_VICTIM_REPORTS = 5
# Words of notes and sitreps that report displaced people or damaged houses.
IMPACT_WORDS = re.compile(r"\b(mengungsi|pengungsi|pengungsian|rusak|roboh|terendam|hanyut)\b", re.I)
NO_RISK_INDEX = "indeks risiko BNPB belum tersedia"
MAX_EVIDENCE = 8  # per part: the wall and the briefing show a few, the rest is counted


class WeightsError(PoskoError, ValueError):
    """POSKO_DSS_WEIGHTS that cannot be used: what is wrong and the form it takes."""


Weights = dict[Factor, float]


def parse_weights(spec: str) -> Weights:
    """`risiko:0.15,bahaya:0.45,…` as weights of every factor (each ≥ 0, at least one > 0)."""
    weights: Weights = {}
    for part in filter(None, (p.strip() for p in spec.split(","))):
        name, _, number = part.partition(":")
        try:
            factor, weight = Factor(name.strip()), float(number)
        except ValueError:
            raise WeightsError(f"POSKO_DSS_WEIGHTS: {part!r} bukan faktor:bobot / not factor:weight; "
                               f"factors are {', '.join(Factor)}, e.g. {DEFAULT_WEIGHTS}") from None
        if weight < 0:
            raise WeightsError(f"POSKO_DSS_WEIGHTS: bobot {name} negatif / negative weight for {name}")
        weights[factor] = weight
    missing = [f for f in Factor if f not in weights]
    if missing or not any(weights.values()):
        raise WeightsError(f"POSKO_DSS_WEIGHTS: setiap faktor perlu bobot / give every factor a weight "
                           f"(missing {', '.join(missing) or 'a weight above 0'}), e.g. {DEFAULT_WEIGHTS}")
    return weights


class Situation(msgspec.Struct, frozen=True, kw_only=True):
    """What the scorer reads: the room's incidents and the desk's tasks and notes, now."""

    incidents: Sequence[Incident]
    tasks: Sequence[Task] = ()
    notes: Sequence[IncidentNote] = ()
    now: datetime


def open_pairs(incidents: Iterable[Incident]) -> set[tuple[Region, Hazard]]:
    """Every region and hazard with an open incident."""
    return {(region, i.hazard) for i in incidents if i.status is not IncidentStatus.SELESAI
            for region in i.regions}


def score_region(region: Region, hazard: Hazard, situation: Situation, reference: Reference,
                 weights: Weights) -> RegionScore:
    """The region's score for the hazard, unranked (rank 0): its four parts with their evidence."""
    incidents = [i for i in situation.incidents if i.hazard is hazard and region in i.regions
                 and i.status is not IncidentStatus.SELESAI]
    ids = {i.id for i in incidents}
    tasks = [t for t in situation.tasks if t.region == region or t.incident_id in ids]
    notes = [n for n in situation.notes if n.incident_id in ids]
    values = [_risiko(reference[region], reference), _bahaya(region, incidents),
              _dampak(region, incidents, notes), _kapasitas(incidents, tasks, situation.now)]
    parts = [ScorePart(factor=factor, value=round(value, 3), weight=weights[factor],
                       points=round(value * weights[factor], 4), why=why, evidence=evidence[:MAX_EVIDENCE])
             for factor, (value, why, evidence) in zip(Factor, values, strict=True)]
    drill = bool(incidents) and all(i.drill for i in incidents)
    return RegionScore(region=region, hazard=hazard, score=round(sum(p.points for p in parts), 4) if incidents
                       else 0.0, rank=0, parts=parts, computed_at=situation.now, drill=drill)


def ranked(scores: Iterable[RegionScore]) -> list[RegionScore]:
    """The scores with their ranks: 1 = act here first; 0 for a pair with nothing open (score 0)."""
    ordered = sorted(scores, key=lambda s: (-s.score, s.region, s.hazard))
    out, rank = [], 0
    for score in ordered:
        rank = rank + 1 if score.score > 0 else rank
        out.append(msgspec.structs.replace(score, rank=rank if score.score > 0 else 0))
    return out


Part = tuple[float, str, list[Evidence]]


def _risiko(row: RegionReference, reference: Reference) -> Part:
    """Baseline risk: population and density against the province's most exposed, with the IRBI
    class when the reference has it."""
    most_people = max(r.population for r in reference.values())
    densest = max(r.density for r in reference.values())
    exposure = 0.5 * row.population / most_people + 0.5 * row.density / densest
    # Indonesian digit grouping: 457.238
    people = (f"penduduk {row.population:,}".replace(",", ".") + f" ({row.population_year}), "
              + f"{row.density:,.0f} jiwa/km²".replace(",", "."))
    evidence = [Evidence(kind="reference", id=row.code, text=f"{row.name}: {people}")]
    if row.irbi_class is None:
        return exposure, f"{people}; {NO_RISK_INDEX}", evidence
    index = {RiskClass.RENDAH: 0.2, RiskClass.SEDANG: 0.5, RiskClass.TINGGI: 1.0}[row.irbi_class]
    irbi = f"IRBI {row.irbi_year or ''} kelas {row.irbi_class}" + (
        f" ({row.irbi_score:g})" if row.irbi_score is not None else "")
    evidence.append(Evidence(kind="reference", id=row.code, text=irbi))
    return 0.5 * index + 0.5 * exposure, f"{irbi}; {people}", evidence


def _bahaya(region: Region, incidents: list[Incident]) -> Part:
    """The live hazard: the highest priority of the open incidents, and how far the region's
    indicators are above their normal ceiling (and whether they still rise)."""
    if not incidents:
        return 0.0, "tidak ada insiden terbuka", []
    top = min(incidents, key=lambda i: i.priority.rank)
    evidence = [Evidence(kind="incident", id=str(i.id), text=f"{i.title} ({i.priority})")
                for i in sorted(incidents, key=lambda i: i.priority.rank)]
    words = [f"{len(incidents)} insiden, tertinggi {top.priority}"]
    excess = 0.0
    for code, readings in _indicator_series(region, incidents).items():
        latest = readings[-1]
        normal = INDICATORS[code].normal_high or 1.0
        above = max(0.0, (latest.value or 0.0) - normal) / normal
        excess = max(excess, min(1.0, above))
        trend = _trend(readings)
        words.append(f"{INDICATORS[code].name} {latest.value:g} {INDICATORS[code].unit} "
                     f"(normal ≤ {normal:g}){trend}")
        evidence.append(Evidence(kind="indicator", id=str(latest.id), text=f"{latest.headline}{trend}"))
    officials = [item for i in incidents for item in i.items if item.kind is SignalKind.PERINGATAN
                 and item.region in (region, None)]
    for item in officials[-3:]:
        evidence.append(Evidence(kind="signal", id=str(item.id), text=item.headline))
    value = min(1.0, 0.65 * PRIORITY_VALUE[top.priority] + 0.35 * excess)
    return value, "; ".join(words), evidence


def _indicator_series(region: Region, incidents: list[Incident]) -> dict[str, list[IncidentItem]]:
    """The region's indicator readings in the incidents, per indicator, oldest first."""
    series: dict[str, dict[object, IncidentItem]] = {}
    for incident in incidents:
        for item in incident.items:
            if item.indicator in INDICATORS and item.value is not None and item.region == region:
                series.setdefault(item.indicator, {})[item.id] = item
    return {code: sorted(found.values(), key=lambda i: i.last_at) for code, found in sorted(series.items())}


def _trend(readings: list[IncidentItem]) -> str:
    """', naik 0.4 m/jam' from the last two readings, or '' with one."""
    if len(readings) < 2:
        return ""
    before, latest = readings[-2], readings[-1]
    hours = (latest.last_at - before.last_at).total_seconds() / 3600
    change = (latest.value or 0.0) - (before.value or 0.0)
    if hours <= 0 or change == 0:
        return ", tetap"
    unit = INDICATORS[latest.indicator or ""].unit
    return f", {'naik' if change > 0 else 'turun'} {abs(change) / hours:.2g} {unit}/jam"


def _dampak(region: Region, incidents: list[Incident], notes: list[IncidentNote]) -> Part:
    """The impact reported: citizen reports from the region, those with victims, and notes or
    sitreps naming displaced people or damaged houses."""
    items = [item for i in incidents for item in i.items if item.region == region]
    reports = sum(item.count for item in items if item.kind is SignalKind.LAPORAN)
    victim_items = [item for item in items if item.victims]
    victims = sum(item.count for item in victim_items)
    evidence = [Evidence(kind="signal", id=str(item.id), text=f"{item.headline} (korban)")
                for item in victim_items]
    noted = [n for n in notes if IMPACT_WORDS.search(n.text)]
    evidence += [Evidence(kind="note", id=str(n.id), text=n.text[:160]) for n in noted]
    value = 0.4 * min(1.0, reports / FULL_REPORTS) + 0.6 * min(1.0, victims / FULL_VICTIM_REPORTS)
    if noted:
        value = min(1.0, value + 0.2)
    why = f"{reports} laporan warga, {victims} dengan korban"
    if noted:
        why += f", {len(noted)} catatan/sitrep menyebut pengungsi atau kerusakan"
    return value, why, evidence


def _kapasitas(incidents: list[Incident], tasks: list[Task], now: datetime) -> Part:
    """The response gap: open incidents with no task, overdue tasks, escalated incidents nobody
    acknowledged."""
    if not incidents:
        return 0.0, "tidak ada insiden terbuka", []
    open_tasks = [t for t in tasks if not t.status.over]
    overdue = [t for t in open_tasks if t.due_at <= now]
    unacked = [i for i in incidents if i.escalations and i.status is IncidentStatus.BARU]
    untasked = not open_tasks
    evidence = [Evidence(kind="task", id=str(t.id), text=f"{t.title}: lewat tenggat ({t.status})")
                for t in overdue]
    evidence += [Evidence(kind="escalation", id=str(i.id),
                          text=f"{i.title}: dieskalasi ke {i.escalations[-1].role}, belum ditanggapi")
                 for i in unacked]
    value = 0.4 * untasked + 0.3 * min(1.0, len(overdue) / 2) + 0.3 * bool(unacked)
    why = (f"{len(open_tasks)} tugas terbuka ({'belum ada tugas' if untasked else 'ada tugas'}), "
           f"{len(overdue)} lewat tenggat, {len(unacked)} eskalasi belum ditanggapi")
    return value, why, evidence


def scores_for(pairs: Iterable[tuple[Region, Hazard]], situation: Situation, reference: Reference,
               weights: Weights) -> Mapping[tuple[Region, Hazard], RegionScore]:
    """The unranked scores of these pairs."""
    return {(r, h): score_region(r, h, situation, reference, weights) for r, h in pairs}
