"""The LAPOR! SLA clocks of a citizen report: which deadline it waits on, and its escalation.

Verification within 3 working days of receipt; follow-up within 5 working days of disposition
(schemas/workdays.py counts them). A report waits on one clock at a time: `verifikasi` while it
is diterima, `tindak_lanjut` while it is didisposisikan. Pure: the stream fires the escalations,
the ClickHouse sink stores each change's deadline, both from these functions.
"""

from __future__ import annotations

import enum
from datetime import datetime

import msgspec

from schemas.clock import WIB
from schemas.events import ReportStatus, ReportStatusChange
from schemas.incidents import Escalation, EscalationSubject, escalation_id
from schemas.workdays import WorkingCalendar

VERIFY_WORKING_DAYS = 3
FOLLOW_UP_WORKING_DAYS = 5
LEVEL = 1  # one step per stage: to whoever holds the report now
VERIFYING_ROLE = "petugas verifikasi"
AGENCY_UNKNOWN = "instansi tujuan disposisi"  # a disposition recorded without its agency


class SlaStage(enum.StrEnum):
    """Which LAPOR! deadline a report waits on."""

    VERIFIKASI = "verifikasi"
    TINDAK_LANJUT = "tindak_lanjut"


class SlaClock(msgspec.Struct, frozen=True, kw_only=True):
    """The deadline a report waits on now and who is told when it passes."""

    stage: SlaStage
    started_at: datetime  # receipt, or disposition
    due_at: datetime
    role: str


def _step_at(change: ReportStatusChange, status: ReportStatus) -> datetime:
    for step in change.history:
        if step.status is status:
            return step.at
    return change.changed_at


def open_clock(change: ReportStatusChange, calendar: WorkingCalendar) -> SlaClock | None:
    """The SLA clock `change` leaves running, or None (the report is past both stages)."""
    if change.status is ReportStatus.DITERIMA:
        received = _step_at(change, ReportStatus.DITERIMA)
        return SlaClock(stage=SlaStage.VERIFIKASI, started_at=received, role=VERIFYING_ROLE,
                        due_at=calendar.add_working_days(received, VERIFY_WORKING_DAYS))
    if change.status is ReportStatus.DIDISPOSISIKAN:
        disposed = _step_at(change, ReportStatus.DIDISPOSISIKAN)
        return SlaClock(stage=SlaStage.TINDAK_LANJUT, started_at=disposed,
                        role=change.agency or AGENCY_UNKNOWN,
                        due_at=calendar.add_working_days(disposed, FOLLOW_UP_WORKING_DAYS))
    return None


def headline(change: ReportStatusChange) -> str:
    """What the wall names the report by: its title, never its reporter nor its text."""
    if change.report is not None:
        return change.report.payload.title
    return f"Laporan {change.category}"


def _wib(moment: datetime) -> str:
    return moment.astimezone(WIB).strftime("%d-%m-%Y %H:%M WIB")


def escalation(change: ReportStatusChange, clock: SlaClock, now: datetime) -> Escalation:
    """The escalation of a report past its clock's deadline at `now`."""
    if clock.stage is SlaStage.VERIFIKASI:
        reason = (f"Laporan {change.tracking} belum diverifikasi {VERIFY_WORKING_DAYS} hari kerja "
                  f"setelah diterima (batas {_wib(clock.due_at)})")
    else:
        reason = (f"Laporan {change.tracking} belum ditindaklanjuti {FOLLOW_UP_WORKING_DAYS} hari kerja "
                  f"setelah didisposisikan ke {clock.role} (batas {_wib(clock.due_at)})")
    return Escalation(
        id=escalation_id(change.tracking, LEVEL, clock.stage), subject=EscalationSubject.REPORT_SLA,
        subject_id=change.tracking, level=LEVEL, role=clock.role,
        regions=[change.region] if change.region else [], headline=headline(change), reason=reason,
        due_at=clock.due_at, fired_at=now, late_s=max(0.0, (now - clock.due_at).total_seconds()),
        stage=clock.stage,
    )
