"""The briefing for the governor's meeting: the situation now, what changed since the last briefing,
the regions in ranked order with their reasons, decisions pending, overdue actions and the key
indicators per sector; rendered as Markdown, HTML (the gateway's /briefing page shows it) or PDF
(Typst, documents/briefing.typ). Bahasa Indonesia first, English as the alternative.

The facts (`Situation`) come from the gateway's boards (sinks/push/briefing.py) or from ClickHouse
(documents/briefing_store.py, for `posko briefing`); the words are made here once for both.
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from html import escape

import msgspec

from documents.sitrep import (
    CSS,
    EMERGENCIES,
    HAZARDS,
    INCIDENT_STATUSES,
    PRIORITIES,
    Line,
    html_table,
    md_cell,
    md_table,
    region_name,
    typeset,
    wib,
)
from schemas.decision import Recommendation, RegionScore

# Rules whose action is a decision of status (their ids, by the playbooks' convention, say so).
STATUS_RULE_WORDS = ("status", "tanggap-darurat", "siaga-darurat")
FACTORS = {"risiko": "Risiko dasar", "bahaya": "Bahaya saat ini", "dampak": "Dampak",
           "kapasitas": "Kapasitas respons"}
SECTORS = {"citizen_report": "Laporan warga (LAPOR!)", "disaster_alert": "Peringatan bencana resmi",
           "permit_filing": "Perizinan (OSS)", "sector_indicator": "Indikator sektor (sensor)"}
_EN = {
    "Briefing Situasi": "Situation Briefing", "Situasi saat ini": "The situation now",
    "Perubahan sejak": "Changes since", "Peringkat wilayah": "Regions in ranked order",
    "Keputusan menunggu": "Decisions pending", "Tindakan terlambat": "Overdue actions",
    "Indikator utama per sektor": "Key indicators per sector", "Insiden terbuka": "Open incidents",
    "Status darurat": "Emergency statuses", "Tidak ada.": "None.", "Prioritas": "Priority",
    "Insiden": "Incident", "Wilayah": "Region", "Status": "Status", "Sejak": "Since", "SK": "Decree",
    "Jenis": "Kind", "Uraian": "What", "Waktu (WIB)": "Time (WIB)", "Peringkat": "Rank",
    "Bahaya": "Hazard", "Skor": "Score", "Alasan": "Reasons", "Bukti": "Evidence",
    "Keputusan": "Decision", "Dasar": "Grounds", "Tenggat (WIB)": "Due (WIB)", "Tindakan": "Action",
    "Untuk": "For", "Sektor": "Sector", "Jumlah": "Count",
    "Insiden baru": "New incident", "Insiden selesai": "Incident closed", "Status ditetapkan": "Status set",
    "Tugas selesai": "Task done", "Rekomendasi baru": "New recommendation", "Tugas": "Task",
    "Rekomendasi": "Recommendation", "Tetapkan status tanggap darurat?": "Declare tanggap darurat?",
    "insiden Segera tanpa status tanggap darurat": "Segera incidents without a tanggap darurat status",
    "kejadian 1 jam terakhir": "events in the last hour", "LATIHAN": "DRILL",
    "Peringkat belum tersedia.": "No ranking yet.",
}


class Lang(enum.StrEnum):
    """The briefing's language."""

    ID = "id"
    EN = "en"


class OpenIncident(msgspec.Struct, frozen=True, kw_only=True):
    """An incident as the briefing tells it."""

    id: uuid.UUID
    title: str
    hazard: str
    priority: str
    status: str
    regions: list[str]
    opened_at: datetime
    updated_at: datetime
    drill: bool = False


class Emergency(msgspec.Struct, frozen=True, kw_only=True):
    """A region's emergency status."""

    region: str
    status: str
    decided_at: datetime
    decree: str | None = None
    drill: bool = False


class TaskState(msgspec.Struct, frozen=True, kw_only=True):
    """A task as the briefing tells it."""

    title: str
    assignee: str
    priority: str
    status: str
    due_at: datetime
    updated_at: datetime
    drill: bool = False


class Situation(msgspec.Struct, frozen=True, kw_only=True):
    """The facts of a briefing: what the gateway holds now, or what ClickHouse has."""

    now: datetime
    since: datetime  # the last briefing: what changed is counted from here
    incidents: list[OpenIncident]  # open now
    closed: list[OpenIncident] = []  # closed since `since` (as far as the source knows)
    emergencies: list[Emergency] = []  # regions not normal
    tasks: list[TaskState] = []  # open, and done since `since`
    ranking: list[RegionScore] = []
    recommendations: list[Recommendation] = []  # open ones
    events: dict[str, int] = {}  # the last hour's events per kind (sector)


class Briefing(msgspec.Struct, frozen=True, kw_only=True):
    """The briefing, every word and time as it is printed: what the three renderers share."""

    lang: str
    title: str
    since: str
    generated: str
    summary: list[tuple[str, str]]
    heads: dict[str, str]  # section and column names in the briefing's language
    incidents: list[Line]  # prioritas, insiden, wilayah, status, sejak
    emergencies: list[Line]  # wilayah, status, sejak, sk
    changes: list[Line]  # waktu, jenis, uraian
    ranking: list[Line]  # peringkat, wilayah, bahaya, skor, alasan, bukti
    decisions: list[Line]  # keputusan, wilayah, dasar, tenggat
    overdue: list[Line]  # tindakan, untuk, tenggat
    indicators: list[Line]  # sektor, jumlah


def _short(at: datetime) -> str:
    return wib(at).removesuffix(" WIB")


def present(situation: Situation, lang: Lang = Lang.ID) -> Briefing:
    """The situation put into the briefing's words."""
    def say(text: str) -> str:
        return _EN.get(text, text) if lang is Lang.EN else text

    def drill(flag: bool) -> str:
        return f" [{say('LATIHAN')}]" if flag else ""

    def regions(codes: list[str]) -> str:
        return ", ".join(region_name(c) for c in codes) or "Provinsi Jambi"

    now, since = situation.now, situation.since
    by_priority = sorted(situation.incidents, key=lambda i: (list(PRIORITIES).index(i.priority)
                                                             if i.priority in PRIORITIES else 9, i.opened_at))
    counts = {p: sum(1 for i in situation.incidents if i.priority == p) for p in PRIORITIES}
    summary = [(say("Insiden terbuka"), ", ".join(f"{PRIORITIES[p]} {n}" for p, n in counts.items()))]
    summary.append((say("Status darurat"), ", ".join(
        f"{region_name(e.region)} ({EMERGENCIES.get(e.status, e.status)})" for e in situation.emergencies)
        or say("Tidak ada.")))
    changes: list[tuple[datetime, str, str]] = []
    for i in situation.incidents:
        if i.opened_at >= since:
            changes.append((i.opened_at, say("Insiden baru"), f"{PRIORITIES.get(i.priority, i.priority)}: "
                            f"{i.title} — {regions(i.regions)}{drill(i.drill)}"))
    for i in situation.closed:
        changes.append((i.updated_at, say("Insiden selesai"),
                        f"{i.title} — {regions(i.regions)}{drill(i.drill)}"))
    for e in situation.emergencies:
        if e.decided_at >= since:
            status = EMERGENCIES.get(e.status, e.status)
            changes.append((e.decided_at, say("Status ditetapkan"),
                            f"{status}: {region_name(e.region)}{drill(e.drill)}"))
    for t in situation.tasks:
        if t.status == "selesai" and t.updated_at >= since:
            changes.append((t.updated_at, say("Tugas selesai"), f"{t.title} ({t.assignee}){drill(t.drill)}"))
    for r in situation.recommendations:
        if r.updated_at >= since:
            changes.append((r.updated_at, say("Rekomendasi baru"),
                            f"{r.action} — {region_name(r.region)}{drill(r.drill)}"))
    changes.sort(key=lambda c: c[0])
    ranked = sorted((s for s in situation.ranking if s.score > 0), key=lambda s: (s.rank, -s.score))
    ranking = [Line([str(s.rank), region_name(s.region) + drill(s.drill), HAZARDS.get(s.hazard, s.hazard),
                     f"{s.score:.2f}",
                     "; ".join(f"{FACTORS.get(p.factor, p.factor)} +{p.points:.2f}: {p.why}"
                               for p in s.parts if p.points > 0),
                     "; ".join(e.text for p in s.parts if p.points > 0 for e in p.evidence)])
               for s in ranked]
    declared = {e.region for e in situation.emergencies if e.status == "tanggap_darurat"}
    segera: dict[str, list[OpenIncident]] = {}
    for i in situation.incidents:
        if i.priority == "segera":
            for code in i.regions:
                if code not in declared:
                    segera.setdefault(code, []).append(i)
    decisions = [Line([say("Tetapkan status tanggap darurat?"), region_name(code),
                       f"{len(found)} {say('insiden Segera tanpa status tanggap darurat')}: "
                       + "; ".join(i.title for i in found), ""])
                 for code, found in sorted(segera.items())]
    decisions += [Line([r.action, region_name(r.region) + drill(r.drill), r.why, _short(r.due_at)])
                  for r in sorted(situation.recommendations, key=lambda r: r.due_at)
                  if any(word in r.rule for word in STATUS_RULE_WORDS)]
    overdue = [Line([f"{say('Tugas')}: {t.title}{drill(t.drill)}", t.assignee, _short(t.due_at)])
               for t in sorted(situation.tasks, key=lambda t: t.due_at)
               if t.status not in ("selesai", "dibatalkan") and t.due_at < now]
    overdue += [Line([f"{say('Rekomendasi')}: {r.action}{drill(r.drill)}",
                      r.assignee or region_name(r.region), _short(r.due_at)])
                for r in sorted(situation.recommendations, key=lambda r: r.due_at) if r.due_at < now]
    heads = {k: say(k) for k in ("Situasi saat ini", "Peringkat wilayah", "Keputusan menunggu",
                                 "Tindakan terlambat", "Indikator utama per sektor", "Insiden terbuka",
                                 "Status darurat", "Tidak ada.", "Peringkat belum tersedia.")}
    heads["Perubahan sejak"] = f"{say('Perubahan sejak')} {wib(since)}"
    return Briefing(
        lang=str(lang), title=say("Briefing Situasi"), since=wib(since), generated=wib(now), summary=summary,
        heads=heads,
        incidents=[Line([PRIORITIES.get(i.priority, i.priority), i.title + drill(i.drill), regions(i.regions),
                         INCIDENT_STATUSES.get(i.status, i.status), _short(i.opened_at)])
                   for i in by_priority],
        emergencies=[Line([region_name(e.region) + drill(e.drill), EMERGENCIES.get(e.status, e.status),
                           _short(e.decided_at), e.decree or ""]) for e in situation.emergencies],
        changes=[Line([_short(at), kind, text]) for at, kind, text in changes],
        ranking=ranking, decisions=decisions, overdue=overdue,
        indicators=[Line([SECTORS.get(kind, kind), f"{n} {say('kejadian 1 jam terakhir')}"])
                    for kind, n in sorted(situation.events.items()) if n],
    )


def columns(doc: Briefing) -> dict[str, list[str]]:
    """The column names of each table, in the briefing's language."""
    def say(text: str) -> str:
        return _EN.get(text, text) if doc.lang == Lang.EN else text

    return {
        "incidents": [say(t) for t in ("Prioritas", "Insiden", "Wilayah", "Status", "Sejak")],
        "emergencies": [say(t) for t in ("Wilayah", "Status", "Sejak", "SK")],
        "changes": [say(t) for t in ("Waktu (WIB)", "Jenis", "Uraian")],
        "ranking": [say(t) for t in ("Peringkat", "Wilayah", "Bahaya", "Skor", "Alasan", "Bukti")],
        "decisions": [say(t) for t in ("Keputusan", "Wilayah", "Dasar", "Tenggat (WIB)")],
        "overdue": [say(t) for t in ("Tindakan", "Untuk", "Tenggat (WIB)")],
        "indicators": [say(t) for t in ("Sektor", "Jumlah")],
    }


def _sections(doc: Briefing) -> list[tuple[str, str, list[Line]]]:
    """(heading, table, rows) in the order the briefing is read."""
    h = doc.heads
    return [(h["Insiden terbuka"], "incidents", doc.incidents),
            (h["Status darurat"], "emergencies", doc.emergencies),
            (h["Perubahan sejak"], "changes", doc.changes), (h["Peringkat wilayah"], "ranking", doc.ranking),
            (h["Keputusan menunggu"], "decisions", doc.decisions),
            (h["Tindakan terlambat"], "overdue", doc.overdue),
            (h["Indikator utama per sektor"], "indicators", doc.indicators)]


def to_markdown(doc: Briefing) -> str:
    """The briefing as Markdown."""
    heads = columns(doc)
    now = doc.heads["Situasi saat ini"]
    out = [f"# {doc.title} — Provinsi Jambi", "", f"_{doc.generated}_", "", f"## {now}", ""]
    out += [f"- **{label}:** {md_cell(value)}" for label, value in doc.summary]
    for title, table, rows in _sections(doc):
        out += ["", f"## {title}", ""]
        empty = doc.heads["Peringkat belum tersedia."] if table == "ranking" else doc.heads["Tidak ada."]
        out += md_table(heads[table], rows) if rows else [empty]
    return "\n".join([*out, ""])


def to_html(doc: Briefing, fragment: bool = False) -> str:
    """The briefing as an HTML page (everything escaped); `fragment`: its body only (the /briefing page)."""
    heads = columns(doc)
    parts = [f'<section class="briefing" lang="{doc.lang}"><h1>{escape(doc.title)} — Provinsi Jambi</h1>',
             f'<p class="generated">{escape(doc.generated)}</p>',
             f'<div class="part" id="part-now"><h2>{escape(doc.heads["Situasi saat ini"])}</h2>',
             '<dl class="summary">',
             "".join(f"<dt>{escape(k)}</dt><dd>{escape(v)}</dd>" for k, v in doc.summary), "</dl></div>"]
    for title, table, rows in _sections(doc):
        empty = doc.heads["Peringkat belum tersedia."] if table == "ranking" else doc.heads["Tidak ada."]
        parts.append(f'<div class="part" id="part-{table}"><h2>{escape(title)}</h2>')
        parts.append(html_table(heads[table], rows) if rows else f'<p class="none">{escape(empty)}</p>')
        parts.append("</div>")
    parts.append("</section>")
    if fragment:
        return "".join(parts)
    return (f'<!doctype html><html lang="{doc.lang}"><head><meta charset="utf-8"><title>{escape(doc.title)}'
            f"</title><style>{CSS}</style></head><body>{''.join(parts)}</body></html>")


def to_pdf(doc: Briefing) -> bytes:
    """The briefing as PDF (A4 landscape), typeset by Typst from documents/briefing.typ."""
    return typeset("briefing.typ", doc, columns=msgspec.json.encode(columns(doc)).decode(),
                   sections=msgspec.json.encode([(t, k) for t, k, _ in _sections(doc)]).decode())


class Format(enum.StrEnum):
    """The document formats of `posko briefing`."""

    PDF = "pdf"
    HTML = "html"
    MD = "md"


def render(situation: Situation, fmt: Format, lang: Lang = Lang.ID) -> bytes:
    """The briefing of `situation` in `fmt`."""
    doc = present(situation, lang)
    if fmt is Format.PDF:
        return to_pdf(doc)
    if fmt is Format.HTML:
        return to_html(doc).encode()
    return to_markdown(doc).encode()
