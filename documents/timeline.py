"""An incident's timeline, read from ClickHouse: signals, decisions, tasks and their progress,
escalations, notes and sitreps, emergency statuses, in time order.

`assemble` takes a function that runs SQL and returns JSONEachRow, so the command line (through
the running sink, posko/cli/sitrep.py) and the gateway (for the console's Sitrep button) read
the same way.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TypeVar

import msgspec

from posko.errors import PoskoError

T = TypeVar("T")

# Runs one SELECT and returns its rows as JSONEachRow.
Query = Callable[[str], bytes]

# Times as ISO 8601 with a Z, and 64-bit counts as numbers, so rows decode straight into Structs.
_SETTINGS = "SETTINGS date_time_output_format = 'iso', output_format_json_quote_64bit_integers = 0"
MAX_SIGNALS = 200  # lines of signals in the timeline; the rest are counted


class UnknownIncident(PoskoError, LookupError):
    """No incident of that id is stored."""


class EntryKind(enum.StrEnum):
    """What a line of the timeline is."""

    SINYAL = "sinyal"
    KEPUTUSAN = "keputusan"
    STATUS_DARURAT = "status_darurat"
    TUGAS = "tugas"
    ESKALASI = "eskalasi"
    CATATAN = "catatan"
    SITREP = "sitrep"


class IncidentHead(msgspec.Struct, kw_only=True):
    """The incident as it is now."""

    id: uuid.UUID
    version: int
    title: str
    hazard: str
    priority: str
    status: str
    regions: list[str]
    first_at: datetime
    last_at: datetime
    opened_at: datetime
    updated_at: datetime
    signal_count: int
    report_count: int
    victims: int
    why: str
    acked_by: str
    acked_at: datetime | None
    merged_into: uuid.UUID | None
    drill: int
    manual: int
    closed_by: str
    closed_reason: str


class Entry(msgspec.Struct, frozen=True, kw_only=True):
    """One line of the timeline."""

    at: datetime
    kind: EntryKind
    what: str  # e.g. open_incident, report_progress, peringatan: the renderers name it
    text: str
    by: str = ""
    role: str = ""  # the role `by` acted in
    detail: str = ""


class TaskState(msgspec.Struct, frozen=True, kw_only=True):
    """A task of the incident as it is now."""

    id: uuid.UUID
    title: str
    assignee_kind: str
    assignee: str
    priority: str
    status: str
    due_at: datetime
    updated_at: datetime
    escalation_level: int


class Refusal(msgspec.Struct, frozen=True, kw_only=True):
    """A command about the incident that the desk refused."""

    at: datetime
    action: str
    actor: str
    role: str
    status: int
    reason: str


class Timeline(msgspec.Struct, frozen=True, kw_only=True):
    """Everything a sitrep shows of one incident."""

    incident: IncidentHead
    entries: list[Entry]
    tasks: list[TaskState]
    refusals: list[Refusal]
    signals_left_out: int
    generated_at: datetime


# Rows as the queries below return them.
class _Signal(msgspec.Struct):
    at: datetime
    kind: str
    headline: str
    region: str | None
    count: int


class _Audit(msgspec.Struct):
    at: datetime
    action: str
    target: str
    actor: str
    role: str
    accepted: int
    status: int
    reason: str
    command: str


class _Progress(msgspec.Struct):
    at: datetime
    task_id: uuid.UUID
    action: str
    status: str
    by: str
    role: str
    note: str
    reason: str
    assignee: str


class _Escalation(msgspec.Struct):
    at: datetime
    subject: str
    subject_id: str
    level: int
    role: str
    headline: str
    reason: str


class _Note(msgspec.Struct):
    at: datetime
    text: str
    sitrep: int
    by: str
    role: str


class _Emergency(msgspec.Struct):
    at: datetime
    region: str
    status: str
    decree: str | None
    decided_by: str
    note: str


# The desk's state tables tell these actions in more detail than the audit log: their lines come
# from there (task_progress, incident_notes, emergency_status), the others from the audit log.
TOLD_ELSEWHERE = frozenset({"create_task", "reassign_task", "cancel_task", "accept_task", "report_progress",
                            "add_note", "set_emergency_status"})


def _rows(query: Query, sql: str, kind: type[T]) -> list[T]:
    data = query(f"{sql}\n{_SETTINGS}")
    return [msgspec.json.decode(line, type=kind) for line in data.splitlines() if line.strip()]


def assemble(query: Query, incident_id: uuid.UUID, db: str = "posko",
             now: datetime | None = None) -> Timeline:
    """The incident's timeline from the tables in `db`; UnknownIncident when it is not stored."""
    inc = f"toUUID('{incident_id}')"  # a parsed UUID: nothing else reaches the SQL
    heads = _rows(query, f"""SELECT id, version, title, hazard, priority, status, regions, first_at, last_at,
    opened_at, updated_at, signal_count, report_count, victims, why, acked_by, acked_at, merged_into,
    drill, manual, closed_by, closed_reason
FROM {db}.incidents FINAL WHERE id = {inc} LIMIT 1""", IncidentHead)
    if not heads:
        raise UnknownIncident(f"no incident {incident_id} is stored: check the id (the console and "
                              "`posko sql \"SELECT id, title FROM posko.incidents FINAL\"` show them)")
    head = heads[0]
    task_ids = f"(SELECT toString(id) FROM {db}.tasks FINAL WHERE incident_id = {inc})"
    tasks = _rows(query, f"""SELECT id, title, assignee_kind, assignee, priority, status, due_at, updated_at,
    escalation_level FROM {db}.tasks FINAL WHERE incident_id = {inc} ORDER BY created_at, id""", TaskState)
    titles = {task.id: task.title for task in tasks}
    entries: list[Entry] = []

    signals = _rows(query, f"""SELECT min(occurred_at) AS at, any(kind) AS kind, any(headline) AS headline,
    any(region) AS region, toUInt32(max(item_count)) AS count
FROM {db}.incident_signals FINAL WHERE incident_id = {inc}
GROUP BY item_id ORDER BY at LIMIT {MAX_SIGNALS + 1}""", _Signal)
    for signal in signals[:MAX_SIGNALS]:
        detail = f"{signal.count} serupa" if signal.count > 1 else ""
        entries.append(Entry(at=signal.at, kind=EntryKind.SINYAL, what=signal.kind, text=signal.headline,
                             detail=" · ".join(x for x in (signal.region or "", detail) if x)))
    left_out = max(0, len(signals) - MAX_SIGNALS)
    if left_out:
        left_out = int(query(f"SELECT uniqExact(item_id) FROM {db}.incident_signals FINAL "
                             f"WHERE incident_id = {inc}").decode().strip() or 0) - MAX_SIGNALS

    refusals: list[Refusal] = []
    for row in _rows(query, f"""SELECT decided_at AS at, action, target, actor, role, accepted, status,
    reason, command FROM {db}.audit_log FINAL
WHERE incident_id = {inc} OR target = '{incident_id}' OR target IN {task_ids}
ORDER BY decided_at, id""", _Audit):
        if not row.accepted:
            refusals.append(Refusal(at=row.at, action=row.action, actor=row.actor, role=row.role,
                                    status=row.status, reason=row.reason))
        elif row.action not in TOLD_ELSEWHERE:
            entries.append(Entry(at=row.at, kind=EntryKind.KEPUTUSAN, what=row.action,
                                 text=_decision_text(row), by=row.actor, role=row.role))

    for step in _rows(query, f"""SELECT at, task_id, action, status, by, role, note, reason, assignee
FROM {db}.task_progress FINAL WHERE incident_id = {inc} ORDER BY at, id""", _Progress):
        detail = " · ".join(x for x in (step.note, step.reason and f"kendala: {step.reason}",
                                        step.assignee and f"kepada {step.assignee}") if x)
        entries.append(Entry(at=step.at, kind=EntryKind.TUGAS, what=step.action,
                             text=f"{titles.get(step.task_id, str(step.task_id))}|{step.status}",
                             by=step.by, role=step.role, detail=detail))

    for esc in _rows(query, f"""SELECT fired_at AS at, subject, subject_id, level, role, headline, reason
FROM {db}.escalations FINAL WHERE subject_id = '{incident_id}' OR subject_id IN {task_ids}
ORDER BY fired_at, id""", _Escalation):
        entries.append(Entry(at=esc.at, kind=EntryKind.ESKALASI, what=esc.subject,
                             text=f"Tingkat {esc.level} kepada {esc.role}: {esc.headline}",
                             detail=esc.reason))

    for note in _rows(query, f"""SELECT at, text, sitrep, by, role FROM {db}.incident_notes FINAL
WHERE incident_id = {inc} ORDER BY at, id""", _Note):
        entries.append(Entry(at=note.at, kind=EntryKind.SITREP if note.sitrep else EntryKind.CATATAN,
                             what="add_note", text=note.text, by=note.by,
                             role=note.role))

    regions = "[" + ", ".join(f"'{r}'" for r in head.regions if _is_code(r)) + "]"
    since = f"toDateTime64('{_iso(head.first_at)}', 3, 'UTC')"
    for status in _rows(query, f"""SELECT decided_at AS at, region, status, decree, decided_by, note
FROM {db}.emergency_status FINAL
WHERE incident_id = {inc} OR (has({regions}, region) AND decided_at >= {since})
ORDER BY decided_at, version""", _Emergency):
        entries.append(Entry(at=status.at, kind=EntryKind.STATUS_DARURAT, what=status.status,
                             text=status.region, by=status.decided_by,
                             detail=" · ".join(x for x in (status.decree and f"SK {status.decree}",
                                                           status.note) if x)))

    order = list(EntryKind)
    entries.sort(key=lambda e: (e.at, order.index(e.kind)))
    return Timeline(incident=head, entries=entries, tasks=tasks, refusals=refusals,
                    signals_left_out=left_out, generated_at=now or datetime.now(UTC))


def _is_code(region: str) -> bool:
    return region.replace(".", "").isdigit()


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


class _Issued(msgspec.Struct):
    """What of an issued command the timeline says."""

    action: dict[str, object] = {}


def _decision_text(row: _Audit) -> str:
    # The command as issued (JSON) says with what: the reason of a close, the other incident.
    try:
        action = msgspec.json.decode(row.command or b"{}", type=_Issued).action
    except msgspec.DecodeError:
        action = {}
    said = [str(action[key]) for key in ("reason", "other_id", "title") if action.get(key)]
    return " · ".join(said)
