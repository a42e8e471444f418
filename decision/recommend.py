"""The recommender: per open incident and region, the playbook actions that are due and not yet tasked.

A rule fires on what the incident's items show (an official warning's level, an indicator reading,
victims, the count of reports, a quake's magnitude) or after another rule; its deadline counts from
that moment. A task carrying the recommendation's id, or one of the incident or region whose title
holds the rule's words, covers it (ditugaskan); a dismissed one stays dismissed. Pure.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta, timezone
from functools import lru_cache

import msgspec

from decision.playbooks import WARNING_LEVELS, Playbook, Rule, Trigger
from schemas.commands import EmergencyStatus, RegionEmergency, Task, TaskStatus
from schemas.decision import Recommendation, RecommendationStatus
from schemas.incidents import Incident, IncidentItem, IncidentStatus, SignalKind
from schemas.regions import REGION_NAMES, Region
from schemas.sectors import INDICATORS

WIB = timezone(timedelta(hours=7))
_NAMESPACE = uuid.UUID("3c8f1f52-7d0e-4a61-9b7c-5e2a4d9c1b83")
# BMKG's quake headlines say "Gempa Mag:5.6 …" (and the description "magnitudo 5.6").
_MAGNITUDE = re.compile(r"\bmag(?:nitudo)?\s*[:=]?\s*(\d+(?:[.,]\d+)?)", re.I)


def recommendation_id(incident: uuid.UUID, region: Region, rule_id: str) -> uuid.UUID:
    """The id of a rule's recommendation for an incident in a region: the same each time it fires."""
    return uuid.uuid5(_NAMESPACE, f"{incident}|{region}|{rule_id}")


class Fired(msgspec.Struct, frozen=True):
    """A rule that holds: since when, and on what (in words)."""

    at: datetime
    why: str


def recommend(incidents: Iterable[Incident], playbooks: Sequence[Playbook], tasks: Sequence[Task],
              emergencies: Mapping[str, RegionEmergency], known: Mapping[uuid.UUID, Recommendation],
              now: datetime) -> list[Recommendation]:
    """Every recommendation of the open incidents as it is now (dismissed ones kept dismissed)."""
    out = []
    for incident in incidents:
        if incident.status is IncidentStatus.SELESAI or incident.merged_into is not None:
            continue
        for playbook in playbooks:
            if not _applies(incident, playbook):
                continue
            for region in incident.regions:
                out.extend(_for_region(incident, region, playbook, tasks, emergencies, known, now))
    return out


def _for_region(incident: Incident, region: Region, playbook: Playbook, tasks: Sequence[Task],
                emergencies: Mapping[str, RegionEmergency], known: Mapping[uuid.UUID, Recommendation],
                now: datetime) -> list[Recommendation]:
    fired: dict[str, Fired] = {}
    out = []
    for rule in playbook.rules:
        found = _fires(rule, incident, region, fired)
        if found is None:
            continue
        fired[rule.id] = Fired(found.at + rule.delay, found.why)
        rule_id = playbook.rule_id(rule)
        rid = recommendation_id(incident.id, region, rule_id)
        before = known.get(rid)
        task = _covering(rid, rule, incident, region, tasks)
        status = RecommendationStatus.DITUGASKAN if task else RecommendationStatus.TERBUKA
        if rule.covered_by_status and _status_decided(emergencies.get(region)):
            status = RecommendationStatus.DITUGASKAN
        if before is not None and before.status is RecommendationStatus.DIABAIKAN:
            status = RecommendationStatus.DIABAIKAN  # an officer dismissed it: it stays so
        out.append(Recommendation(
            id=rid, incident_id=incident.id, region=region, hazard=playbook.hazard, rule=rule_id,
            action=rule.action, assignee=rule.assignee,
            why=f"{found.why} → {rule.action.lower()} dalam {rule.due} ({rule.source})",
            due_at=found.at + rule.delay, status=status, task_id=task.id if task else None,
            dismissed_by=before.dismissed_by if before else "",
            dismissed_reason=before.dismissed_reason if before else "",
            updated_at=now, drill=incident.drill, commands=before.commands if before else []))
    return out


def _fires(rule: Rule, incident: Incident, region: Region, fired: Mapping[str, Fired]) -> Fired | None:
    """When and on what the rule holds for the incident in the region, or None."""
    name = REGION_NAMES[region]
    if rule.trigger is Trigger.INCIDENT:
        return Fired(incident.first_at, f"Insiden {incident.title} di {name}")
    if rule.trigger is Trigger.AFTER:
        earlier = fired.get(rule.after or "")
        return Fired(earlier.at, f"tenggat aturan {rule.after} {_wib(earlier.at)}") if earlier else None
    items = sorted((i for i in incident.items
                    if i.region in (region, None) or i.kind is SignalKind.PERINGATAN),
                   key=_first_at)
    if rule.trigger is Trigger.WARNING:
        wanted = WARNING_LEVELS.index(rule.level or "Awas")
        # A BPBD warns its own kabupaten: the region's warnings (or one naming no region).
        for item in items:
            if item.kind is not SignalKind.PERINGATAN or item.region not in (region, None):
                continue
            level = _level(item.headline)
            if level is not None and level >= wanted:
                return Fired(item.first_at, f"Peringatan {item.headline} ({_wib(item.first_at)})")
        return None
    if rule.trigger is Trigger.INDICATOR:
        for item in items:
            if (item.indicator == rule.indicator and item.value is not None and rule.at_least is not None
                    and item.value >= rule.at_least and item.region == region):
                indicator = INDICATORS[rule.indicator or ""]
                return Fired(item.first_at, f"{indicator.name} {item.value:g} {indicator.unit} "
                                            f"≥ {rule.at_least:g} ({_wib(item.first_at)})")
        return None
    if rule.trigger is Trigger.VICTIMS:
        victim = next((i for i in items if i.victims and i.region == region), None)
        return Fired(victim.first_at, f"Laporan dengan korban: {victim.headline} ({_wib(victim.first_at)})") \
            if victim else None
    if rule.trigger is Trigger.REPORTS:
        count = 0
        for item in items:
            if item.kind is SignalKind.LAPORAN and item.region == region:
                count += item.count
                if count >= (rule.at_least or 0):
                    return Fired(item.last_at, f"{count} laporan warga dari {name} ({_wib(item.last_at)})")
        return None
    for item in items:  # magnitude
        found = _MAGNITUDE.search(item.headline)
        if item.kind is SignalKind.PERINGATAN and found and float(found.group(1).replace(",", ".")) >= (
                rule.at_least or 0):
            return Fired(item.first_at, f"{item.headline} ({_wib(item.first_at)})")
    return None


def _first_at(item: IncidentItem) -> datetime:
    return item.first_at


@lru_cache(maxsize=4096)  # asked for every warning of every incident at every re-ranking
def _level(headline: str) -> int | None:
    """The highest BPBD warning level a headline names (0 Waspada … 2 Awas), or None."""
    words = set(re.findall(r"\w+", headline.lower()))
    found = [n for n, level in enumerate(WARNING_LEVELS) if level.lower() in words]
    return max(found) if found else None


def _applies(incident: Incident, playbook: Playbook) -> bool:
    """Whether the playbook is for the incident: of its hazard (naming its words), or holding an
    official warning of the playbook's hazard (a quake's alert inside the landslides it set off)."""
    if playbook.hazard is incident.hazard and _names(incident, playbook.words):
        return True
    names = playbook.words or [playbook.hazard.value]
    return any(item.kind is SignalKind.PERINGATAN and any(w.lower() in item.headline.lower() for w in names)
               for item in incident.items)


def _names(incident: Incident, words: list[str]) -> bool:
    """Whether the incident's title or items name one of the words (any, when there are none)."""
    if not words:
        return True
    text = " ".join([incident.title, *(i.headline for i in incident.items)]).lower()
    return any(word.lower() in text for word in words)


def _covering(rid: uuid.UUID, rule: Rule, incident: Incident, region: Region,
              tasks: Sequence[Task]) -> Task | None:
    """The task that carries the recommendation out, when there is one (not cancelled)."""
    live = [t for t in tasks if t.status is not TaskStatus.DIBATALKAN]
    carrying = next((t for t in live if t.recommendation_id == rid), None)
    if carrying is not None:
        return carrying
    for task in live:
        if task.recommendation_id is None and (task.incident_id == incident.id or (
                task.incident_id is None and task.region == region)) and task.region in (region, None):
            title = task.title.lower()
            if any(word.lower() in title for word in rule.task_words):
                return task
    return None


def _status_decided(status: RegionEmergency | None) -> bool:
    """An emergency status (not normal) in force for the region: the decision was taken."""
    return status is not None and status.status is not EmergencyStatus.NORMAL


def _wib(at: datetime) -> str:
    """The time in WIB (UTC+7), as the room reads it."""
    return at.astimezone(WIB).strftime("%d/%m %H:%M WIB")
