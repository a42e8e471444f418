"""Jambi's clock: Western Indonesia Time (WIB), in which people read times and deadlines."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

# WIB is UTC+7 all year: Indonesia keeps no daylight saving time and has not changed this
# offset since 1964. A fixed offset is therefore exact, and unlike ZoneInfo("Asia/Jakarta") it
# needs no time zone database, which slim container images and Windows do not always have (and
# `tzdata` is not among Posko's dependencies).
WIB = timezone(timedelta(hours=7), "WIB")


def wib_to_utc(text: str, *formats: str) -> datetime | None:
    """A wall-clock time in WIB, written in one of the strptime `formats`, in UTC (None: none fits)."""
    for fmt in formats:
        try:
            return datetime.strptime(text, fmt).replace(tzinfo=WIB).astimezone(UTC)
        except ValueError:
            continue
    return None
