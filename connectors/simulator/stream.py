"""Realistic raw events for Jambi's 11 kabupaten/kota: citizen reports, BMKG/BPBD alerts, OSS permits.

Pure generation, no I/O: given a seeded `random.Random` the content is reproducible (only the
UUIDv7 event ids, which come from `new_event_id()`, differ between runs). Everything that costs
time (points inside each region, weight tables, template lists) is computed once, so `raw()`
stays well above the rate a connector needs.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

import msgspec

from connectors.simulator.alerts import DisasterAlerts
from connectors.simulator.malformed import Malformer
from connectors.simulator.permits import PermitFilings
from connectors.simulator.places import region_key
from connectors.simulator.rates import as_utc, slot
from connectors.simulator.reports import CitizenReports
from connectors.simulator.sectors import SectorFeed
from schemas.clock import WIB
from schemas.events import (
    CitizenReportEvent,
    DisasterAlertEvent,
    Event,
    Kind,
    PermitFilingEvent,
    SectorIndicatorEvent,
)
from schemas.raw import Flaw, RawMessage

_KIND_OF: dict[type, Kind] = {
    CitizenReportEvent: Kind.CITIZEN_REPORT,
    DisasterAlertEvent: Kind.DISASTER_ALERT,
    PermitFilingEvent: Kind.PERMIT_FILING,
    SectorIndicatorEvent: Kind.SECTOR_INDICATOR,
}
_FEED_CHECK = timedelta(seconds=30)


class Simulator:
    """Realistic raw events for Jambi's 11 kabupaten/kota."""

    def __init__(self, rng: random.Random | None = None, malformed_ratio: float = 0.0) -> None:
        """A generator drawing every choice from `rng`; `malformed_ratio` of `raw()` is bad."""
        if not 0.0 <= malformed_ratio <= 1.0:
            raise ValueError(f"malformed_ratio must be within [0, 1], got {malformed_ratio}")
        self._rng = rng or random.Random()
        self._malformed_ratio = malformed_ratio
        self._reports = CitizenReports(self._rng)
        self._permits = PermitFilings(self._rng)
        self._alerts = DisasterAlerts(self._rng)
        self._malformer = Malformer(self._rng)
        # Sector indicators come on the agencies' cadence, not the event rate: raw() hands out
        # the readings that fell due before the next random event.
        self._sector_feed = SectorFeed(random.Random(self._rng.getrandbits(64)))
        self._due: list[SectorIndicatorEvent] = []
        self._feed_checked: datetime | None = None

    def event(self, now: datetime) -> Event:
        """One valid event received at `now`."""
        now = as_utc(now)
        local = now.astimezone(WIB)
        current = slot(local.month, local.weekday() >= 5, local.hour)
        kind = current.kinds.pick(self._rng)
        if kind is Kind.CITIZEN_REPORT:
            return self._reports.make(now, current.categories, current.channels, current.greeting)
        if kind is Kind.PERMIT_FILING:
            return self._permits.make(now, current.office)
        return self._alerts.make(now, current.alerts)

    def indicators(self, now: datetime) -> list[SectorIndicatorEvent]:
        """Sector indicator readings that arrived by `now` and were not handed out yet."""
        return self._sector_feed.due(as_utc(now))

    def indicator_history(self, since: datetime, until: datetime) -> list[SectorIndicatorEvent]:
        """Every sector indicator reading that arrived in (since, until], oldest first."""
        return self._sector_feed.between(as_utc(since), as_utc(until))

    def raw(self, now: datetime) -> RawMessage:
        """What a connector writes: valid, or malformed with probability `malformed_ratio`."""
        if self._malformed_ratio and self._rng.random() < self._malformed_ratio:
            return self.malformed(now)
        now = as_utc(now)
        if self._feed_checked is None or now - self._feed_checked >= _FEED_CHECK:
            self._feed_checked = now
            self._due.extend(reversed(self._sector_feed.due(now)))
        event: Event = self._due.pop() if self._due else self.event(now)
        return RawMessage(_KIND_OF[type(event)], region_key(event), msgspec.json.encode(event), None)

    def malformed(self, now: datetime, flaw: Flaw | None = None) -> RawMessage:
        """A message the pipeline must reject, with the given (or a random) flaw."""
        flaw = flaw or self._malformer.flaw()
        return self._malformer.spoil(self.event(now), flaw)
