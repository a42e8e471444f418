"""Which events the command room must see now: every disaster alert, and urgent citizen reports."""

from __future__ import annotations

import re

import ahocorasick
import msgspec

from schemas.events import (
    Alert,
    CitizenReportEvent,
    DisasterAlertEvent,
    Kind,
    MsgType,
    ReportCategory,
    Severity,
    Urgency,
)

# Words that mean danger to life or property in a citizen's report (Bahasa Indonesia and
# common regional spellings). A report with one of them, or in category bencana, is urgent.
DANGER_WORDS = (
    "banjir", "banjir bandang", "kebakaran", "terbakar", "longsor", "tanah longsor", "gempa",
    "puting beliung", "angin kencang", "tenggelam", "hanyut", "karhutla", "kabut asap",
    "jembatan putus", "tanggul jebol", "evakuasi", "darurat", "tsunami", "erupsi",
)
# Words that raise an urgent report from Moderate to Severe: people are hurt or trapped.
VICTIM_WORDS = ("korban", "meninggal", "tewas", "luka", "terjebak", "hilang", "mengungsi")

_DANGER = re.compile(r"\b(" + "|".join(re.escape(w) for w in DANGER_WORDS) + r")\b")
_VICTIMS = re.compile(r"\b(" + "|".join(re.escape(w) for w in VICTIM_WORDS) + r")\w*")
# Which of the two lists a text mentions at all, in one pass (Aho-Corasick), before the regexes
# (which need word boundaries) run: most reports mention neither.
_LISTS = ahocorasick.Automaton()
for _list, _words in (("danger", DANGER_WORDS), ("victims", VICTIM_WORDS)):
    for _word in _words:
        _LISTS.add_word(_word, _list)
_LISTS.make_automaton()


class Triage(msgspec.Struct, frozen=True):
    """Why a citizen report is urgent, and how severe it looks."""

    severity: Severity
    reason: str


def triage_report(event: CitizenReportEvent) -> Triage | None:
    """The report's urgency, or None when it can wait for the normal workflow."""
    report = event.payload
    text = f"{report.title}\n{report.text}".lower()
    mentioned = {found for _, found in _LISTS.iter(text)}
    words = sorted(set(_DANGER.findall(text))) if "danger" in mentioned else []
    victims = "victims" in mentioned and _VICTIMS.search(text) is not None
    if not words and report.category is not ReportCategory.BENCANA:
        return None
    reasons = []
    if report.category is ReportCategory.BENCANA:
        reasons.append("kategori bencana")
    if words:
        reasons.append("kata kunci: " + ", ".join(words))
    if victims:
        reasons.append("ada korban")
    severity = Severity.SEVERE if victims else Severity.MODERATE
    return Triage(severity, "; ".join(reasons))


def report_alert(event: CitizenReportEvent, triage: Triage) -> Alert:
    """The public alert for an urgent citizen report (no reporter contact)."""
    report = event.payload
    return Alert(
        id=event.id, event_kind=Kind.CITIZEN_REPORT, source=event.source,
        occurred_at=event.occurred_at, region=event.region, location=event.location,
        severity=triage.severity, urgency=Urgency.IMMEDIATE, headline=report.title,
        description=report.text[:1000], reason=f"laporan warga mendesak ({triage.reason})",
    )


def official_alert(event: DisasterAlertEvent) -> Alert:
    """The public alert for an official disaster alert."""
    alert = event.payload
    return Alert(
        id=event.id, event_kind=Kind.DISASTER_ALERT, source=event.source,
        occurred_at=event.occurred_at, region=event.region, location=event.location,
        severity=alert.severity, urgency=alert.urgency, headline=alert.headline,
        description=alert.description[:1000],
        reason=f"peringatan resmi {alert.issuer}{_CHANGE.get(alert.msg_type, '')}",
        version=alert.sent or event.received_at,
    )


# How the wall is told that an alert it shows was changed or called off.
_CHANGE = {MsgType.UPDATE: " (diperbarui)", MsgType.CANCEL: " (dibatalkan)"}
