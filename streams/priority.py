"""An incident's priority: from the CAP urgency, severity and certainty of its signals, raised by
victims and by the number of independent reports.

The table is in the spirit of SAMBRO's CAP priority rules (Sahana's CAP broker, used by BMKG and
BNPB trials): a triple of urgency, severity and certainty maps to a priority, the most pressing
signal sets the floor, and people add to it what the alert cannot know (victims, many reports).
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache

import msgspec

from schemas.events import Certainty, Severity, Urgency
from schemas.incidents import IncidentItem, Priority, SignalKind

_NOW = {Urgency.IMMEDIATE, Urgency.EXPECTED}
_GRAVE = {Severity.EXTREME, Severity.SEVERE}
_SURE = {Certainty.OBSERVED, Certainty.LIKELY}

# Independent reports (near-identical ones counted once) that raise an incident one level, two.
REPORTS_RAISE_ONE = 5
REPORTS_RAISE_TWO = 20


@cache  # a few dozen triples, asked for every item of every incident version
def cap_priority(urgency: Urgency, severity: Severity, certainty: Certainty) -> Priority:
    """The priority one signal's CAP triple asks for."""
    if urgency in _NOW and severity in _GRAVE and certainty in _SURE:
        return Priority.SEGERA  # grave, now, and confirmed or likely: act
    if urgency in _NOW and severity in _GRAVE:
        return Priority.TINGGI  # grave and now, but only possible
    if urgency is Urgency.PAST and severity in _GRAVE and certainty is Certainty.OBSERVED:
        return Priority.TINGGI  # it happened (a quake): the damage is now
    if urgency is Urgency.IMMEDIATE and severity is Severity.MODERATE and certainty in _SURE:
        return Priority.TINGGI
    if severity in _GRAVE or (severity is Severity.MODERATE and urgency is not Urgency.PAST):
        return Priority.SEDANG  # grave later, or moderate soon: watch
    return Priority.RENDAH


class Ranked(msgspec.Struct, frozen=True):
    """A priority and why, in words the room reads."""

    priority: Priority
    why: str


def rank(items: Iterable[IncidentItem]) -> Ranked:
    """The priority of an incident with these items."""
    base, source = Priority.RENDAH, ""
    level, reports, victims = Priority.RENDAH.rank, 0, False
    for item in items:
        found = cap_priority(item.urgency, item.severity, item.certainty)
        if found.rank < level or not source:
            base, source, level = found, item.headline, found.rank
        reports += item.kind is SignalKind.LAPORAN
        victims = victims or item.victims
    why = [f"{base.value.capitalize()} menurut CAP ({source[:80]})"]
    if reports >= REPORTS_RAISE_TWO:
        level -= 2
        why.append(f"{reports} laporan warga terpisah (+2)")
    elif reports >= REPORTS_RAISE_ONE:
        level -= 1
        why.append(f"{reports} laporan warga terpisah (+1)")
    if victims:
        level = min(level - 1, Priority.TINGGI.rank)
        why.append("ada korban (+1, sekurang-kurangnya Tinggi)")
    priority = list(Priority)[max(0, min(level, Priority.RENDAH.rank))]
    return Ranked(priority, "; ".join(why))
