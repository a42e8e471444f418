"""What the WIB hour, the weekday and the season make likely: how many of each kind, and which."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import cache
from typing import NamedTuple

from connectors.simulator.alerts import alert_kinds
from connectors.simulator.draws import Table
from connectors.simulator.reports import Categories, Channels, categories, channels
from schemas.clock import WIB
from schemas.events import Kind

# Relative citizen-report volume per WIB hour: quiet after midnight, a peak mid-morning,
# a second smaller one after maghrib when people are home with their phones.
_HOURLY = (
    0.12, 0.08, 0.06, 0.06, 0.10, 0.25, 0.45, 0.70, 0.90, 1.00, 1.00, 0.95,
    0.80, 0.85, 0.90, 0.85, 0.75, 0.65, 0.60, 0.70, 0.75, 0.65, 0.45, 0.25,
)
_KIND_SHARE = {Kind.CITIZEN_REPORT: 70.0, Kind.PERMIT_FILING: 22.0, Kind.DISASTER_ALERT: 8.0}


def as_utc(now: datetime) -> datetime:
    """`now` in UTC; a naive time is taken to be UTC already."""
    return now.replace(tzinfo=UTC) if now.tzinfo is None else now.astimezone(UTC)


def is_office(local: datetime) -> bool:
    """Whether government offices are open at a WIB wall-clock time."""
    return local.weekday() < 5 and 8 <= local.hour < 16


def season(month: int) -> str:
    """Jambi's dry season (karhutla) runs June–October, the wet one November–April."""
    if 6 <= month <= 10:
        return "dry"
    if month == 5:
        return "mid"
    return "wet"


def greeting(hour: int) -> str:
    """Selamat pagi/siang/sore/malam, by the WIB hour."""
    if 4 <= hour < 11:
        return "pagi"
    if hour < 15:
        return "siang"
    if hour < 18:
        return "sore"
    return "malam"


def kind_rates(local: datetime) -> dict[Kind, float]:
    """Relative rates of reports, permit steps and alerts at a WIB wall-clock time."""
    hourly = _HOURLY[local.hour] * (0.8 if local.weekday() >= 5 else 1.0)
    office = is_office(local)
    permits = 1.0 if office else (0.12 if 6 <= local.hour < 22 else 0.02)
    return {
        Kind.CITIZEN_REPORT: _KIND_SHARE[Kind.CITIZEN_REPORT] * hourly,
        Kind.PERMIT_FILING: _KIND_SHARE[Kind.PERMIT_FILING] * permits,
        # Hazards keep no office hours, but a flat rate would make night streams mostly alerts.
        Kind.DISASTER_ALERT: _KIND_SHARE[Kind.DISASTER_ALERT] * max(hourly, 0.12),
    }


class Slot(NamedTuple):
    """Everything that depends only on the WIB hour, weekday class and month."""

    kinds: Table[Kind]
    categories: Categories  # with their template tables by region index
    channels: Channels
    alerts: Table[str]
    office: bool
    season: str
    greeting: str


@cache
def slot(month: int, weekend: bool, hour: int) -> Slot:
    """The slot of a WIB month, weekday class and hour (built once)."""
    weekday = 5 if weekend else 2
    local = datetime(2026, month, 2 + weekday, hour, tzinfo=WIB)  # any date with that weekday
    while local.weekday() != weekday:
        local += timedelta(days=1)
    when = season(month)
    night = hour >= 22 or hour < 5
    office = is_office(local)
    return Slot(
        Table(list(kind_rates(local).items())), categories(when, night, office), channels(night),
        alert_kinds(when, hour), office, when, greeting(hour),
    )
