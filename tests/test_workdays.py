"""Working days in WIB and the LAPOR! deadlines counted in them."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest

from posko.settings import SettingsError, load_settings
from schemas.clock import WIB
from schemas.events import Channel, ReportCategory, ReportStatus, ReportStatusChange, StatusStep
from schemas.incidents import escalation_id
from schemas.regions import Region
from schemas.report_sla import SlaStage, escalation, open_clock
from schemas.workdays import WorkingCalendar, parse_dates

CALENDAR = WorkingCalendar()


def wib(year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=WIB)


def end_of(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 23, 59, 59, 999_000, tzinfo=WIB).astimezone(UTC)


def test_a_deadline_skips_the_weekend() -> None:
    # Received Thursday 1 Oct 2026: Friday, Monday, Tuesday are days 1, 2, 3.
    assert CALENDAR.add_working_days(wib(2026, 10, 1, 10, 0), 3) == end_of(date(2026, 10, 6))
    # Received on Saturday: counting starts on Monday.
    assert CALENDAR.add_working_days(wib(2026, 10, 3, 9, 0), 3) == end_of(date(2026, 10, 7))
    deadline = CALENDAR.add_working_days(wib(2026, 10, 3, 9, 0), 3)
    assert deadline.isoformat() == "2026-10-07T16:59:59.999000+00:00"


def test_a_deadline_skips_independence_day_on_a_monday() -> None:
    # Friday 14 Aug 2026; Saturday, Sunday, then 17 Aug (Hari Kemerdekaan) are off.
    assert not CALENDAR.is_working_day(date(2026, 8, 17))
    assert CALENDAR.add_working_days(wib(2026, 8, 14, 15, 30), 3) == end_of(date(2026, 8, 20))
    # The follow-up SLA of a report disposed that Friday: 18, 19, 20, 21, 24 Aug.
    assert CALENDAR.add_working_days(wib(2026, 8, 14, 15, 30), 5) == end_of(date(2026, 8, 24))


def test_idul_fitri_and_nyepi_2026_are_off_and_cuti_bersama_comes_from_the_setting() -> None:
    # Nyepi Thursday 19 Mar 2026, Idul Fitri Saturday/Sunday 21-22 Mar.
    assert not CALENDAR.is_working_day(date(2026, 3, 19))
    assert CALENDAR.why_off(date(2026, 3, 21)) is not None
    # Received Wednesday 18 Mar: 20 (Fri), 23 (Mon), 24 (Tue).
    assert CALENDAR.add_working_days(wib(2026, 3, 18, 8, 0), 3) == end_of(date(2026, 3, 24))
    settings = load_settings({"POSKO_CUTI_BERSAMA": "2026-03-20, 2026-03-23,2026-03-24"})
    with_leave = WorkingCalendar(settings.cuti_bersama_dates)
    assert with_leave.why_off(date(2026, 3, 23)) == "cuti bersama"
    # Then 25, 26, 27 Mar.
    assert with_leave.add_working_days(wib(2026, 3, 18, 8, 0), 3) == end_of(date(2026, 3, 27))


def test_the_wib_date_decides_not_the_utc_one() -> None:
    # 18:30 UTC on Friday 2 Oct is 01:30 WIB on Saturday 3 Oct: counting starts on Monday 5 Oct.
    def one_day(day: int, hour: int) -> datetime:
        return CALENDAR.add_working_days(datetime(2026, 10, day, hour, 30, tzinfo=UTC), 1)

    assert one_day(2, 18) == end_of(date(2026, 10, 5))
    # 16:30 UTC on Thursday 1 Oct is 23:30 WIB the same Thursday: day 1 is Friday.
    assert one_day(1, 16) == end_of(date(2026, 10, 2))
    # 17:30 UTC on Thursday 1 Oct is Friday 00:30 WIB: day 1 is Monday.
    assert one_day(1, 17) == end_of(date(2026, 10, 5))


def test_a_bad_cuti_bersama_setting_names_itself() -> None:
    with pytest.raises(SettingsError, match=r"POSKO_CUTI_BERSAMA.*20-03-2026"):
        _ = load_settings({"POSKO_CUTI_BERSAMA": "20-03-2026"}).cuti_bersama_dates
    assert parse_dates("") == []
    with pytest.raises(ValueError):
        CALENDAR.add_working_days(wib(2026, 10, 1, 10, 0), 0)


def _change(*steps: tuple[ReportStatus, datetime], agency: str | None = None) -> ReportStatusChange:
    return ReportStatusChange(
        id=uuid.uuid4(), tracking="JMB-2608-7Q4KM", report_id=uuid.uuid4(), channel=Channel.WEB,
        category=ReportCategory.INFRASTRUKTUR, region=Region("15.71"), status=steps[-1][0],
        changed_at=steps[-1][1], changed_by="officer:x",
        history=[StatusStep(s, t, "officer:x") for s, t in steps], agency=agency)


def test_a_report_waits_on_verification_then_on_follow_up_then_on_nothing() -> None:
    received, disposed = wib(2026, 8, 14, 15, 30), wib(2026, 8, 18, 9, 0)
    clock = open_clock(_change((ReportStatus.DITERIMA, received)), CALENDAR)
    assert clock is not None and clock.stage is SlaStage.VERIFIKASI
    assert clock.due_at == end_of(date(2026, 8, 20)) and clock.role == "petugas verifikasi"
    assert open_clock(_change((ReportStatus.DITERIMA, received), (ReportStatus.DIVERIFIKASI, disposed)),
                      CALENDAR) is None
    disposition = _change((ReportStatus.DITERIMA, received), (ReportStatus.DIDISPOSISIKAN, disposed),
                          agency="Dinas PUPR Kota Jambi")
    clock = open_clock(disposition, CALENDAR)
    assert clock is not None and clock.stage is SlaStage.TINDAK_LANJUT
    # Disposed Tuesday 18 Aug: 19, 20, 21, 24, then 25 Aug (Maulid Nabi) is off: 26 Aug.
    assert clock.due_at == end_of(date(2026, 8, 26)) and clock.role == "Dinas PUPR Kota Jambi"
    assert open_clock(advanced(disposition, ReportStatus.DITINDAKLANJUTI), CALENDAR) is None
    late = escalation(disposition, clock, clock.due_at + timedelta(hours=5))
    assert late.id == escalation_id("JMB-2608-7Q4KM", 1, "tindak_lanjut")
    assert late.late_s == 5 * 3600 and late.regions == [Region("15.71")] and late.stage == "tindak_lanjut"
    assert "26-08-2026 23:59 WIB" in late.reason and "Dinas PUPR Kota Jambi" in late.reason


def advanced(change: ReportStatusChange, status: ReportStatus) -> ReportStatusChange:
    at = change.changed_at + timedelta(hours=1)
    return ReportStatusChange(**{**{f: getattr(change, f) for f in change.__struct_fields__},
                                 "status": status, "history": [*change.history, StatusStep(status, at, "x")]})
