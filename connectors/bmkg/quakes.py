"""One alert per earthquake, however many feeds and polls report it: ids, merging and versions."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path

import msgspec

from connectors.state import load_json, save_json
from schemas.bmkg import Sighting, quake_alert
from schemas.events import DisasterAlert, DisasterAlertEvent
from schemas.regions import haversine_km

# Two reports are of the same earthquake when their origin times, epicentres and magnitudes
# are this close. Within BMKG: it revises a quake's first automatic solution (Flores 2021: M7.5
# at 03:20:22, then M7.4 at 03:20:23, 2 km away) and every feed and format repeats it. Across
# agencies, BMKG and USGS locate one quake with their own networks and velocity models: origin
# times differ by a few seconds (USGS gives milliseconds, BMKG whole seconds), epicentres by
# tens of km in eastern Indonesia, and magnitudes are of different types (BMKG's M, USGS's
# mww, mb or ml; mb saturates above about 6) and differ by up to about half a unit. A minute,
# 100 km and one magnitude unit keep those together, while a M6 main shock and a M4 aftershock
# within the same minute stay two alerts.
SAME_QUAKE_S = 60.0
SAME_QUAKE_KM = 100.0
SAME_QUAKE_MAGNITUDE = 1.0
# Quakes not reported again for this long are forgotten.
FORGET_AFTER = timedelta(days=7)
QUAKE_NAMESPACE = uuid.UUID("0b6f1f0e-61a4-4bde-9a64-3c0b4f0d5e21")


class KnownQuake(msgspec.Struct, kw_only=True):
    """A quake already published: its id, what all reports together say, the alert last sent."""

    id: uuid.UUID
    sighting: Sighting
    alert: DisasterAlert
    last_seen: datetime


def quake_id(sighting: Sighting) -> uuid.UUID:
    """A deterministic id from the first report of a quake (time to the second, epicentre)."""
    where = f"{sighting.location.lat:.2f},{sighting.location.lon:.2f}"
    return uuid.uuid5(QUAKE_NAMESPACE, f"{sighting.occurred_at:%Y-%m-%dT%H:%M:%S}|{where}")


def same_quake(a: Sighting, b: Sighting) -> bool:
    """Whether two reports describe the same earthquake."""
    if abs((a.occurred_at - b.occurred_at).total_seconds()) > SAME_QUAKE_S:
        return False
    if abs(a.magnitude - b.magnitude) > SAME_QUAKE_MAGNITUDE:
        return False
    return haversine_km(a.location.lat, a.location.lon, b.location.lat, b.location.lon) <= SAME_QUAKE_KM


def merge(old: Sighting, new: Sighting) -> Sighting:
    """The newer report's values, keeping what only the older one said (felt reports, tsunami text).

    BMKG is Indonesia's official source for earthquakes (UU 31/2009): another agency's report
    of a quake BMKG reported never replaces BMKG's values, and BMKG's replaces the other's.
    """
    if old.agency == "BMKG" and new.agency != "BMKG":
        return old
    if old.agency != new.agency:
        return new  # BMKG's own words: nothing of the other agency's text is kept
    return msgspec.structs.replace(
        new,
        potensi=new.potensi or old.potensi,
        dirasakan=new.dirasakan or old.dirasakan,
        headline=new.headline or old.headline,
        description=new.description or old.description,
        instruction=new.instruction or old.instruction,
        warning_zones=new.warning_zones or old.warning_zones,
    )


class QuakeBook:
    """The quakes published so far, kept in a file so that a restarted poller keeps their ids."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        self.quakes: list[KnownQuake] = []
        if path is not None:
            self.quakes = load_json(path, list[KnownQuake]) or []

    def _find(self, sighting: Sighting) -> KnownQuake | None:
        return next((known for known in self.quakes if same_quake(known.sighting, sighting)), None)

    def record(self, sightings: Sequence[Sighting], now: datetime) -> list[DisasterAlertEvent]:
        """Events for the quakes that are new or changed; a report of nothing new gives none.

        Within `sightings` (one poll of every feed) an earlier entry wins over a later one:
        feeds list their newest entries first.
        """
        touched: dict[uuid.UUID, KnownQuake] = {}
        new: set[uuid.UUID] = set()
        for sighting in reversed(sightings):
            known = self._find(sighting)
            if known is None:
                _, alert = quake_alert(sighting, now)
                known = KnownQuake(id=quake_id(sighting), sighting=sighting, alert=alert, last_seen=now)
                self.quakes.append(known)
                new.add(known.id)
            else:
                known.sighting = merge(known.sighting, sighting)
                known.last_seen = now
            touched[known.id] = known
        events = []
        for known in touched.values():
            # Versions are ordered by `sent` (to the second, as CAP writes it): an update is
            # always at least a second newer than the version before.
            sent = now if known.id in new or known.alert.sent is None else max(
                now, known.alert.sent + timedelta(seconds=1))
            region, alert = quake_alert(known.sighting, sent)
            if known.id not in new and msgspec.structs.replace(alert, sent=known.alert.sent) == known.alert:
                continue  # nothing new about this quake
            known.alert = alert
            events.append(DisasterAlertEvent(
                id=known.id, source=known.sighting.agency.lower(), occurred_at=known.sighting.occurred_at,
                received_at=now,
                region=region, location=known.sighting.location, payload=alert,
            ))
        self.quakes = [k for k in self.quakes if now - k.last_seen <= FORGET_AFTER]
        return events

    def save(self) -> None:
        """Write the book to its file (atomically), when it has one."""
        if self.path is None:
            return
        save_json(self.path, self.quakes)
