"""What correlation reads of a clean event: its signal (hazard, place, time, CAP weight), or None.

Official alerts, every citizen report (ordinary ones count only towards surges of complaints) and
disaster indicators out of their normal range are signals; permits and other sector readings are
not. No personal data goes into a signal: a report's public title and text only, as on the wall.
"""

from __future__ import annotations

import ahocorasick

from schemas.events import (
    Certainty,
    CitizenReportEvent,
    DisasterAlertEvent,
    Event,
    Kind,
    SectorIndicatorEvent,
    Severity,
    Urgency,
)
from schemas.incidents import Hazard, Signal, SignalKind
from schemas.sectors import INDICATORS
from streams.places import NOWHERE, Places
from streams.triage import Triage

# Words naming a hazard, in the order they are tried: the first that matches names the hazard
# ("longsor akibat gempa" is a landslide; "asap kebakaran lahan" is karhutla, not a house fire).
_HAZARD_WORDS: tuple[tuple[Hazard, tuple[str, ...]], ...] = (
    (Hazard.LONGSOR, ("longsor",)),
    (Hazard.GEMPA, ("gempa", "tsunami")),
    (Hazard.KARHUTLA, ("karhutla", "kabut asap", "asap", "titik panas", "lahan gambut",
                       "kebakaran hutan", "kebakaran lahan", "ispu")),
    (Hazard.BANJIR, ("banjir", "meluap", "tanggul", "genangan", "muka air")),
    (Hazard.CUACA, ("puting beliung", "angin kencang", "hujan lebat", "cuaca", "petir", "badai")),
    (Hazard.KEBAKARAN, ("kebakaran", "terbakar")),
    (Hazard.LAINNYA, ("erupsi", "gunung")),
)
# The disaster indicators and the hazard a reading out of its normal range signals.
INDICATOR_HAZARDS: dict[str, Hazard] = {
    "tinggi_muka_air": Hazard.BANJIR,
    "titik_panas": Hazard.KARHUTLA,
    "titik_panas_gambut": Hazard.KARHUTLA,
    "ispu_pm25": Hazard.KARHUTLA,
}
# An alert outside Jambi is an incident of the room only this close to the border (a strong quake
# off Sumatra's coast is felt that far).
NEAR_KM = 150.0
FAR_KM = 10_000.0
# One Aho-Corasick automaton over every hazard word: a text is read once, not once per word
# (26 substring scans of a report were a sixth of the worker's routing, `posko bench route`).
_HAZARD_AUTOMATON = ahocorasick.Automaton()
for _rank, (_hazard, _words) in enumerate(_HAZARD_WORDS):
    for _word in _words:
        if not _HAZARD_AUTOMATON.exists(_word):  # a word names the first hazard that lists it
            _HAZARD_AUTOMATON.add_word(_word, (_rank, _hazard))
_HAZARD_AUTOMATON.make_automaton()


def hazard_of(*texts: str) -> Hazard:
    """The hazard the words of these texts name (lainnya when none): of the hazards whose words
    appear, the first in _HAZARD_WORDS' order."""
    text = " ".join(" ".join(texts).lower().split())
    found = min((rank_hazard for _, rank_hazard in _HAZARD_AUTOMATON.iter(text)), default=None)
    return Hazard.LAINNYA if found is None else found[1]


def signal_of(event: Event, triage: Triage | None = None, places: Places = NOWHERE) -> Signal | None:
    """The event's signal, or None when correlation has nothing to learn from it (its kecamatan
    from `places`)."""
    if isinstance(event, DisasterAlertEvent):
        alert = event.payload
        if not event.region and not alert.area.regions and (alert.distance_km or FAR_KM) > NEAR_KM:
            return None  # far from Jambi (a quake in Dompu): on the wall as an alert, no incident
        regions = list(dict.fromkeys(([event.region] if event.region else []) + alert.area.regions))
        circle = alert.area.circles[0] if alert.area.circles else None
        return Signal(
            kind=SignalKind.PERINGATAN, event_kind=Kind.DISASTER_ALERT,
            hazard=hazard_of(alert.event, alert.headline), regions=regions,
            location=event.location or (circle.center if circle else None),
            radius_km=circle.radius_km if circle else 0.0,
            urgency=alert.urgency, severity=alert.severity, certainty=alert.certainty,
            headline=alert.headline, text=alert.description[:500],
            **_envelope(event, places))  # type: ignore[arg-type]
    if isinstance(event, CitizenReportEvent):
        report = event.payload
        victims = triage is not None and "ada korban" in triage.reason
        return Signal(
            kind=SignalKind.LAPORAN, event_kind=Kind.CITIZEN_REPORT,
            hazard=hazard_of(report.title, report.text), regions=[event.region] if event.region else [],
            # An urgent report is an observation nobody confirmed yet (CAP: Likely).
            urgency=Urgency.IMMEDIATE if triage else Urgency.UNKNOWN,
            severity=triage.severity if triage else Severity.MINOR,
            certainty=Certainty.LIKELY if triage else Certainty.POSSIBLE,
            urgent=triage is not None, victims=victims, category=report.category,
            location=event.location,
            headline=report.title, text=report.text[:500],
            **_envelope(event, places))  # type: ignore[arg-type]
    if isinstance(event, SectorIndicatorEvent):
        reading = event.payload
        hazard = INDICATOR_HAZARDS.get(reading.indicator)
        indicator = INDICATORS.get(reading.indicator)
        if hazard is None or indicator is None or indicator.normal_high is None:
            return None
        if reading.value <= indicator.normal_high:
            return None
        # How far above normal: a quarter above the normal ceiling (or more) is severe.
        severity = Severity.SEVERE if reading.value >= 1.25 * indicator.normal_high else Severity.MODERATE
        site = f" ({reading.site})" if reading.site else ""
        return Signal(
            kind=SignalKind.INDIKATOR, event_kind=Kind.SECTOR_INDICATOR, hazard=hazard,
            regions=[event.region] if event.region else [], urgency=Urgency.EXPECTED,
            severity=severity, certainty=Certainty.OBSERVED, indicator=reading.indicator,
            value=reading.value, location=event.location,
            headline=(f"{indicator.name}{site}: {reading.value:g} {indicator.unit}, di atas normal "
                      f"({indicator.normal_high:g})"),
            **_envelope(event, places))  # type: ignore[arg-type]
    return None


def _envelope(event: Event, places: Places) -> dict[str, object]:
    """What every signal takes from its event; the kecamatan is looked up only for a signal (a
    point-in-polygon test that permits and normal readings need not pay for)."""
    kecamatan = places.kecamatan(event.location.lat, event.location.lon) if event.location else None
    return dict(id=event.id, occurred_at=event.occurred_at, region=event.region,
                kecamatan=kecamatan.code if kecamatan else None)
