"""The sitrep document: a timeline put into words (Bahasa Indonesia, times in WIB), then rendered
as Markdown, HTML or PDF (Typst, documents/sitrep.typ)."""

from __future__ import annotations

import enum
from datetime import datetime
from html import escape
from importlib import resources
from zoneinfo import ZoneInfo

import msgspec

from documents.regionmap import region_map
from documents.timeline import EntryKind, Timeline
from schemas.regions import REGION_NAMES, Region

WIB = ZoneInfo("Asia/Jakarta")
_MONTHS = ["Januari", "Februari", "Maret", "April", "Mei", "Juni", "Juli", "Agustus", "September",
           "Oktober", "November", "Desember"]

HAZARDS = {"banjir": "Banjir", "longsor": "Tanah longsor", "gempa": "Gempa bumi",
           "karhutla": "Kebakaran hutan dan lahan", "cuaca": "Cuaca ekstrem",
           "kebakaran": "Kebakaran permukiman", "lainnya": "Lainnya"}
PRIORITIES = {"segera": "Segera", "tinggi": "Tinggi", "sedang": "Sedang", "rendah": "Rendah"}
INCIDENT_STATUSES = {"baru": "Baru", "dipantau": "Dipantau", "ditangani": "Ditangani", "selesai": "Selesai"}
TASK_STATUSES = {"baru": "Baru", "diterima": "Diterima", "berangkat": "Berangkat", "di_lokasi": "Di lokasi",
                 "terkendala": "Terkendala", "selesai": "Selesai", "dibatalkan": "Dibatalkan"}
EMERGENCIES = {"normal": "Normal (status darurat dicabut)", "siaga_darurat": "Siaga darurat",
               "tanggap_darurat": "Tanggap darurat",
               "transisi_darurat": "Transisi darurat ke pemulihan"}
ACTIONS = {"open_incident": "Insiden dibuka", "acknowledge_incident": "Insiden diterima",
           "merge_incidents": "Insiden digabung",
           "split_incident": "Insiden dipecah", "close_incident": "Insiden ditutup",
           "mark_drill": "Tanda latihan diubah", "set_emergency_status": "Status darurat ditetapkan",
           "create_task": "Tugas diberikan", "reassign_task": "Tugas dialihkan",
           "cancel_task": "Tugas dibatalkan", "accept_task": "Tugas diterima",
           "report_progress": "Kemajuan tugas", "add_note": "Catatan"}
KINDS = {EntryKind.SINYAL: "Sinyal", EntryKind.KEPUTUSAN: "Keputusan",
         EntryKind.STATUS_DARURAT: "Status darurat", EntryKind.TUGAS: "Tugas",
         EntryKind.ESKALASI: "Eskalasi", EntryKind.CATATAN: "Catatan", EntryKind.SITREP: "Sitrep"}
SIGNALS = {"peringatan": "Peringatan", "laporan": "Laporan warga", "indikator": "Indikator"}
ASSIGNEES = {"agency": "OPD", "team": "tim", "responder": "petugas"}
ROLES = {"officer": "petugas jaga", "supervisor": "supervisor", "responder": "petugas lapangan",
         "agency": "OPD", "admin": "admin", "wall": "layar dinding", "channel": "kanal"}
REFUSED = {403: "tidak berhak", 404: "tidak ditemukan / di luar cakupan", 409: "konflik versi",
           422: "perpindahan tidak sah"}
DRILL_BANNER = "LATIHAN — bukan kejadian sungguhan"


class Format(enum.StrEnum):
    """The document formats of `posko sitrep`."""

    PDF = "pdf"
    HTML = "html"
    MD = "md"


class Line(msgspec.Struct, frozen=True):
    """A line of a table: its cells in order."""

    cells: list[str]


class Document(msgspec.Struct, frozen=True, kw_only=True):
    """The sitrep, every word and time as it is printed: what the three renderers share."""

    title: str
    drill: bool
    facts: list[tuple[str, str]]
    regions: list[str]
    timeline: list[Line]  # waktu, jenis, uraian, oleh
    signals_left_out: str
    tasks: list[Line]  # tugas, untuk, prioritas, status, tenggat
    refusals: list[Line]  # waktu, perintah, oleh, alasan
    generated: str
    map_svg: str


def wib(at: datetime, with_date: bool = True) -> str:
    """A time in WIB as the room writes it: 12 Agustus 2026 11:00 WIB."""
    local = at.astimezone(WIB)
    clock = local.strftime("%H:%M")
    if not with_date:
        return clock
    return f"{local.day} {_MONTHS[local.month - 1]} {local.year} {clock} WIB"


def _by(name: str, role: str) -> str:
    return f"{name} ({ROLES.get(role, role)})" if role else name


def _short(at: datetime) -> str:
    return at.astimezone(WIB).strftime("%d/%m %H:%M")


def region_name(code: str) -> str:
    """A kabupaten/kota's name, or the code when it is none of Jambi's."""
    return REGION_NAMES[Region(code)] if code in Region._value2member_map_ else code


def _entry_text(kind: EntryKind, what: str, text: str, detail: str) -> str:
    if kind is EntryKind.SINYAL:
        said = f"{SIGNALS.get(what, what)}: {text}"
    elif kind is EntryKind.TUGAS:
        title, _, status = text.rpartition("|")
        said = f"{ACTIONS.get(what, what)} «{title}»: {TASK_STATUSES.get(status, status)}"
    elif kind is EntryKind.KEPUTUSAN:
        said = ACTIONS.get(what, what) + (f": {text}" if text else "")
    elif kind is EntryKind.STATUS_DARURAT:
        said = f"{EMERGENCIES.get(what, what)} di {region_name(text)}"
    elif kind is EntryKind.ESKALASI:
        said = f"Eskalasi {'tugas' if what == 'task' else 'insiden'} — {text}"
    else:
        said = text
    if detail and kind is EntryKind.SINYAL:
        parts = detail.split(" · ")
        detail = " · ".join(region_name(p) for p in parts)
    return f"{said} ({detail})" if detail else said


def present(timeline: Timeline) -> Document:
    """The timeline put into the document's words."""
    head = timeline.incident
    facts = [("Jenis bencana", HAZARDS.get(head.hazard, head.hazard)),
             ("Prioritas", PRIORITIES.get(head.priority, head.priority)),
             ("Status", INCIDENT_STATUSES.get(head.status, head.status)),
             ("Wilayah", ", ".join(region_name(r) for r in head.regions) or "Provinsi Jambi"),
             ("Mulai", wib(head.first_at)), ("Sinyal terakhir", wib(head.last_at)),
             ("Jumlah sinyal", f"{head.signal_count} (laporan warga {head.report_count})"),
             ("Dibuka", wib(head.opened_at) + (" oleh petugas" if head.manual else " oleh sistem"))]
    if head.why:
        facts.append(("Alasan prioritas", head.why))
    if head.acked_by:
        facts.append(("Diterima oleh", head.acked_by + (f", {wib(head.acked_at)}" if head.acked_at else "")))
    if head.status == "selesai":
        closed = ", ".join(x for x in (head.closed_by, head.closed_reason) if x)
        facts.append(("Ditutup", f"{wib(head.updated_at)}" + (f" — {closed}" if closed else "")))
    facts.append(("Nomor insiden", str(head.id)))
    left = (f"{timeline.signals_left_out} sinyal lain tidak ditampilkan; lihat posko.incident_signals."
            if timeline.signals_left_out else "")
    return Document(
        title=head.title, drill=bool(head.drill), facts=facts, regions=list(head.regions),
        timeline=[Line([_short(e.at), KINDS[e.kind], _entry_text(e.kind, e.what, e.text, e.detail),
                        _by(e.by, e.role)])
                  for e in timeline.entries],
        signals_left_out=left,
        tasks=[Line([t.title, f"{t.assignee} ({ASSIGNEES.get(t.assignee_kind, t.assignee_kind)})",
                     PRIORITIES.get(t.priority, t.priority), TASK_STATUSES.get(t.status, t.status),
                     _short(t.due_at) + (" · tereskalasi" if t.escalation_level else "")])
               for t in timeline.tasks],
        refusals=[Line([_short(r.at), ACTIONS.get(r.action, r.action), _by(r.actor, r.role),
                        f"{r.status} {REFUSED.get(r.status, '')}: {r.reason}".strip()])
                  for r in timeline.refusals],
        generated=wib(timeline.generated_at), map_svg=region_map(list(head.regions)),
    )


_TIMELINE_HEAD = ["Waktu (WIB)", "Jenis", "Uraian", "Oleh"]
_TASK_HEAD = ["Tugas", "Untuk", "Prioritas", "Status", "Tenggat (WIB)"]
_REFUSAL_HEAD = ["Waktu (WIB)", "Perintah", "Oleh", "Alasan penolakan"]


def md_cell(text: str) -> str:
    """Text as one cell of a Markdown pipe table."""
    # A cell is one line of a pipe table: pipes and line breaks would end it.
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\r", " ").replace("\n", "<br>")


def md_table(head: list[str], rows: list[Line]) -> list[str]:
    """The lines of a Markdown pipe table."""
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(md_cell(c) for c in row.cells) + " |" for row in rows]
    return lines


def to_markdown(doc: Document) -> str:
    """The sitrep as Markdown (pipe tables; no map)."""
    out = [f"# Laporan Situasi (Sitrep): {md_cell(doc.title)}", ""]
    if doc.drill:
        out += [f"> **{DRILL_BANNER}**", ""]
    out += [f"- **{label}:** {md_cell(value)}" for label, value in doc.facts]
    out += ["", "## Kronologi", "", *md_table(_TIMELINE_HEAD, doc.timeline)]
    if doc.signals_left_out:
        out += ["", f"_{doc.signals_left_out}_"]
    out += ["", "## Tugas", ""]
    out += md_table(_TASK_HEAD, doc.tasks) if doc.tasks else ["Belum ada tugas."]
    if doc.refusals:
        out += ["", "## Lampiran: perintah yang ditolak", "", *md_table(_REFUSAL_HEAD, doc.refusals)]
    out += ["", f"Dibuat {doc.generated} oleh Posko Jambi.", ""]
    return "\n".join(out)


def html_table(head: list[str], rows: list[Line]) -> str:
    """An HTML table, every cell escaped."""
    cells = "".join(f"<th>{escape(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in row.cells) + "</tr>" for row in rows)
    return f"<table><thead><tr>{cells}</tr></thead><tbody>{body}</tbody></table>"


CSS = """body{font-family:sans-serif;margin:2em;color:#222}table{border-collapse:collapse;width:100%}
td,th{border:1px solid #bbb;padding:4px 6px;text-align:left;vertical-align:top;font-size:0.9em}
th{background:#eee}.latihan{background:#ffd400;font-weight:bold;padding:0.5em;border:2px solid #000}
dl{display:grid;grid-template-columns:max-content auto;gap:2px 1em}dt{font-weight:bold}"""


def to_html(doc: Document) -> str:
    """The sitrep as one HTML page (everything escaped; the map inline as SVG)."""
    facts = "".join(f"<dt>{escape(k)}</dt><dd>{escape(v)}</dd>" for k, v in doc.facts)
    parts = ['<!doctype html><html lang="id"><head><meta charset="utf-8">',
             f"<title>Sitrep: {escape(doc.title)}</title><style>{CSS}</style></head><body>",
             f"<h1>Laporan Situasi (Sitrep): {escape(doc.title)}</h1>"]
    if doc.drill:
        parts.append(f'<p class="latihan">{escape(DRILL_BANNER)}</p>')
    parts += [f"<dl>{facts}</dl>", doc.map_svg,  # built by regionmap.py, its names escaped there
              "<h2>Kronologi</h2>", html_table(_TIMELINE_HEAD, doc.timeline)]
    if doc.signals_left_out:
        parts.append(f"<p><em>{escape(doc.signals_left_out)}</em></p>")
    parts.append("<h2>Tugas</h2>")
    parts.append(html_table(_TASK_HEAD, doc.tasks) if doc.tasks else "<p>Belum ada tugas.</p>")
    if doc.refusals:
        parts += ["<h2>Lampiran: perintah yang ditolak</h2>", html_table(_REFUSAL_HEAD, doc.refusals)]
    parts.append(f"<footer><p>Dibuat {escape(doc.generated)} oleh Posko Jambi.</p></footer></body></html>")
    return "".join(parts)


def typeset(template_name: str, doc: msgspec.Struct, **inputs: str) -> bytes:
    """A document as PDF, typeset by Typst from documents/<template_name> (the data goes in as JSON,
    so text reaches the page as strings, never as markup)."""
    import typst

    template = resources.files("documents").joinpath(template_name)
    with resources.as_file(template) as path:
        data = msgspec.json.encode(doc).decode()
        return bytes(typst.compile(str(path), sys_inputs={"data": data, **inputs}))


def to_pdf(doc: Document) -> bytes:
    """The sitrep as PDF, typeset by Typst from documents/sitrep.typ."""
    return typeset("sitrep.typ", doc, map=doc.map_svg)


def render(timeline: Timeline, fmt: Format) -> bytes:
    """The sitrep of `timeline` in `fmt`."""
    doc = present(timeline)
    if fmt is Format.PDF:
        return to_pdf(doc)
    if fmt is Format.HTML:
        return to_html(doc).encode()
    return to_markdown(doc).encode()
