"""Working days in WIB: Monday to Friday, less Indonesia's public holidays and cuti bersama.

Deadlines people keep (the LAPOR! rules: verified within 3 working days of receipt, followed up
within 5 working days of disposition) count these days, not days of the clock. No I/O: the
holidays come from the `holidays` package's tables for Indonesia (category "public"), the
collective leave days (cuti bersama) from the caller (the POSKO_CUTI_BERSAMA setting).

The rule: a deadline of n working days is the end (23:59:59.999 WIB) of the n-th working day
after the WIB date of receipt. The day of receipt never counts, whatever the hour; a report
received on a Saturday, a Sunday or a holiday starts counting on the next working day (so the
first working day after it is day 1).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta

import holidays

from schemas.clock import WIB

END_OF_DAY = time(23, 59, 59, 999_000)  # DateTime64(3): the last millisecond of the day


def parse_dates(text: str) -> list[date]:
    """ISO dates from a comma-separated setting ("2026-03-20, 2026-03-23"); ValueError names a bad one."""
    found = []
    for part in text.split(","):
        if part := part.strip():
            try:
                found.append(date.fromisoformat(part))
            except ValueError:
                raise ValueError(f"{part!r} is not an ISO date (write YYYY-MM-DD)") from None
    return found


class WorkingCalendar:
    """Which WIB dates are working days, and deadlines counted in them."""

    def __init__(self, cuti_bersama: Iterable[date] = ()) -> None:
        self.cuti_bersama = frozenset(cuti_bersama)
        # Fills a year's holidays the first time a date of that year is looked up.
        self._holidays = holidays.country_holidays("ID", categories=("public",))

    def is_working_day(self, day: date) -> bool:
        """Whether `day` (a WIB date) is a working day."""
        return day.weekday() < 5 and day not in self._holidays and day not in self.cuti_bersama

    def why_off(self, day: date) -> str | None:
        """Why `day` is not a working day (a holiday's name, cuti bersama, the weekend), or None."""
        if day.weekday() >= 5:
            return "akhir pekan"
        if name := self._holidays.get(day):
            return str(name)
        if day in self.cuti_bersama:
            return "cuti bersama"
        return None

    def add_working_days(self, received_at: datetime, n: int) -> datetime:
        """The deadline (UTC) n working days after `received_at`: the end of the n-th working
        day after its WIB date, 23:59:59.999 WIB."""
        if n < 1:
            raise ValueError(f"a deadline is at least 1 working day, not {n}")
        day = received_at.astimezone(WIB).date()
        counted = 0
        while counted < n:
            day += timedelta(days=1)
            if self.is_working_day(day):
                counted += 1
        return datetime.combine(day, END_OF_DAY, WIB).astimezone(UTC)
