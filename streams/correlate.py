"""Correlation: signals grouped into incidents by hazard, place and time, ranked and escalated.

`Room` is the pure part (no I/O, no clock of its own): `take` a signal or an acknowledgement, get
the incidents it changed; `due` the escalation steps whose time has come. The worker
(streams/room.py) feeds it from posko.signals and writes what it returns to Kafka.

How signals join (every threshold is a setting, docs/settings.md says why its default):
- a signal joins an open incident of a compatible hazard whose last signal is within the hazard's
  window of it, when it is near one of the incident's signals: the same kecamatan; two points
  within `correlate_distance_km`; a point or region inside an official alert's area (a report
  near a BPBD warning joins the warning's incident; a felt report inside a quake's circle joins
  the quake); two area signals (alerts, indicator readings) of the same or neighbouring
  kabupaten/kota;
- a signal near several incidents joins the largest and the others are merged into it;
- a report nearly identical to an item of its incident (same kecamatan, similar words) adds to
  that item's count instead of a line of its own;
- an ordinary (not urgent) report counts towards a surge of its category in its kecamatan: when
  the last `surge_window_min` hold at least `surge_min_reports` and `surge_ratio` times the
  usual rate, they become an incident of their own.
"""

from __future__ import annotations

import itertools
import logging
import math
import operator
import re
import uuid
from collections import deque
from collections.abc import Iterable
from datetime import datetime, timedelta

import msgspec

from posko.settings import Settings, SettingsError
from schemas.events import ReportCategory
from schemas.incidents import (
    Escalation,
    EscalationStep,
    EscalationSubject,
    Hazard,
    Incident,
    IncidentAck,
    IncidentItem,
    IncidentStatus,
    Priority,
    Signal,
    SignalKind,
    escalation_id,
    incident_id,
)
from streams.nearness import Nearby
from streams.priority import rank
from streams.summary import drafted, fold, item_of, item_signal, summarise

_FIRST = operator.itemgetter(0)
# Hazards whose signals may belong to one happening: a quake sets off landslides.
COMPATIBLE: dict[Hazard, frozenset[Hazard]] = {
    Hazard.GEMPA: frozenset({Hazard.GEMPA, Hazard.LONGSOR}),
    Hazard.LONGSOR: frozenset({Hazard.LONGSOR, Hazard.GEMPA}),
}
# How long after its last signal an incident still takes new ones, per hazard (hours): a river
# flood rises and falls over days with BPBD warnings hours apart; hotspots are counted once a day;
# felt reports and landslides follow a quake within hours; a storm or a house fire is over sooner.
WINDOWS_H: dict[Hazard, float] = {
    Hazard.BANJIR: 12.0, Hazard.KARHUTLA: 36.0, Hazard.GEMPA: 6.0, Hazard.LONGSOR: 6.0,
    Hazard.CUACA: 3.0, Hazard.KEBAKARAN: 2.0, Hazard.LAINNYA: 6.0,
}
log = logging.getLogger("posko.stream")
PRUNE_EVERY = 1000  # signals between two looks for incidents no signal can join any more
_WORDS = re.compile(r"[a-z0-9]+")


class Thresholds(msgspec.Struct, frozen=True, kw_only=True):
    """Correlation's distances, windows and thresholds (from the settings)."""

    distance_km: float = 15.0
    windows_h: dict[Hazard, float] = msgspec.field(default_factory=lambda: dict(WINDOWS_H))
    default_window_h: float = 6.0
    duplicate_similarity: float = 0.8
    surge_window: timedelta = timedelta(hours=1)
    surge_min_reports: int = 10
    surge_ratio: float = 4.0
    surge_baseline: timedelta = timedelta(days=7)
    surge_floor_per_h: float = 0.1
    escalation_steps: tuple[tuple[float, str], ...] = ((300.0, "petugas piket"), (900.0, "supervisor"),
                                                       (1800.0, "kepala BPBD"))
    tinggi_factor: float = 2.0

    def window(self, hazard: Hazard) -> timedelta:
        """How long after its last signal an incident of `hazard` still takes new ones."""
        return timedelta(hours=self.windows_h.get(hazard, self.default_window_h))


def thresholds(settings: Settings) -> Thresholds:
    """Correlation's thresholds from the settings; a malformed one is a SettingsError saying which."""
    windows: dict[Hazard, float] = dict(WINDOWS_H)
    for part in filter(None, (p.strip() for p in settings.correlate_windows.split(","))):
        name, _, hours = part.partition(":")
        try:
            windows[Hazard(name.strip())] = float(hours)
        except ValueError:
            raise SettingsError(
                f"POSKO_CORRELATE_WINDOWS: {part!r} is not hazard:hours (hazards: "
                f"{', '.join(Hazard)}), e.g. banjir:12") from None
    steps = []
    for part in filter(None, (p.strip() for p in settings.escalation_steps.split(","))):
        after, _, role = part.partition(":")
        try:
            steps.append((float(after), role.strip() or _missing()))
        except ValueError:
            raise SettingsError(f"POSKO_ESCALATION_STEPS: {part!r} is not seconds:role, e.g. "
                                "300:petugas piket") from None
    if [a for a, _ in steps] != sorted(a for a, _ in steps):
        raise SettingsError("POSKO_ESCALATION_STEPS: the steps must come in order of their seconds")
    return Thresholds(
        distance_km=settings.correlate_distance_km, windows_h=windows,
        duplicate_similarity=settings.duplicate_similarity,
        surge_window=timedelta(minutes=settings.surge_window_min),
        surge_min_reports=settings.surge_min_reports, surge_ratio=settings.surge_ratio,
        surge_baseline=timedelta(days=settings.surge_baseline_days), escalation_steps=tuple(steps),
        tinggi_factor=settings.escalation_tinggi_factor)


def _missing() -> str:
    raise ValueError("no role")


class _Rate(msgspec.Struct):
    """Ordinary reports of one category in one place: the recent ones, and the usual rate."""

    recent: deque[Signal]
    per_h: float = 0.0  # exponentially weighted, over surge_baseline
    updated: datetime | None = None


class Room:
    """The open incidents and what correlation remembers, changed one input at a time."""

    def __init__(self, thresholds: Thresholds | None = None) -> None:
        self.t = thresholds or Thresholds()
        self.incidents: dict[uuid.UUID, Incident] = {}
        self.member: dict[uuid.UUID, uuid.UUID] = {}  # signal id: its incident
        # incident: its latest signals (this run), to tell what is near it
        self._nearby = Nearby(self.t.distance_km)
        # incident: when it came into `incidents` (their order), to look at a few in that order
        self._order: dict[uuid.UUID, int] = {}
        self._arrivals = itertools.count()
        self._surges: set[uuid.UUID] = set()  # incidents of a surge: what an ordinary report may join
        # item: the words of its first signal (True), or of its title only (False: restored)
        self._texts: dict[uuid.UUID, tuple[_Words, bool]] = {}
        self._latest: datetime | None = None  # the latest signal time seen: the stream's clock
        self._taken = 0
        self._rates: dict[tuple[str, ReportCategory | None], _Rate] = {}
        self._fired: set[uuid.UUID] = set()  # escalation ids already on posko.escalations
        # While a batch is taken (defer … settle): the incidents it changed, each with its version
        # before the batch. Their summaries and priorities are made once, when it is settled.
        self._deferring = False
        self._before: dict[uuid.UUID, Incident | None] = {}

    # --- restoring ------------------------------------------------------------------------

    def restore(self, incident: Incident, now: datetime) -> None:
        """Take an incident back as the changelog holds it (after a restart); one idle too long
        to take signals any more is left out."""
        if incident.last_at < now - self._horizon():
            return
        self._arrived(incident)
        # Its signals are known only as items now: what a new signal is compared with.
        self._nearby.drop(incident.id)
        self._nearby.add(incident.id, (item_signal(item, incident.hazard) for item in incident.items))
        for item in incident.items:
            for signal_id in item.signal_ids:
                self.member[signal_id] = incident.id
        for step in incident.escalations:
            self._fired.add(escalation_id(str(incident.id), step.level))

    def fired(self, escalation: uuid.UUID) -> None:
        """An escalation step is on the topic already (read back at start): never fire it again."""
        self._fired.add(escalation)

    # --- taking inputs ----------------------------------------------------------------------

    def defer(self) -> None:
        """Take the next inputs as one batch: an incident they change is summarised and ranked
        once, at `settle`, not once per signal (what `take` returns meanwhile is a draft)."""
        self._deferring = True

    def settle(self, now: datetime) -> list[Incident]:
        """The batch's incidents, each summarised and ranked once; `take` is per input again."""
        self._deferring = False
        settled = []
        for id_, before in self._before.items():
            if (incident := self.incidents.get(id_)) is None:
                continue
            try:
                settled.append(self._settle(incident, before, now))
            except Exception:  # never the batch for one incident: its draft has the right items
                log.exception("incident %s could not be summarised; its items are kept", id_)
                settled.append(incident)
        self._before.clear()
        return settled

    def take(self, value: Signal | IncidentAck, now: datetime) -> list[Incident]:
        """The incidents changed by one input (`now` is the worker's clock, for the record)."""
        if isinstance(value, IncidentAck):
            return self._ack(value, now)
        if value.id in self.member:  # seen before (a redelivery after a restart): no change
            return []
        self._latest = max(self._latest or value.occurred_at, value.occurred_at)
        self._taken += 1
        if self._taken % PRUNE_EVERY == 0:
            self._prune()
        if value.kind is SignalKind.LAPORAN and not value.urgent:
            return self._ordinary(value, now)
        return self._join(value, now)

    def _join(self, signal: Signal, now: datetime) -> list[Incident]:
        near = [i for i in self._open(signal) if self._near_incident(signal, i)]
        if not near:
            return [self._open_incident([signal], now)]
        near.sort(key=lambda i: (-i.signal_count, i.first_at))
        target, others = near[0], near[1:]
        changed = []
        for other in others:  # one happening seen as two so far: fold them into one
            target, closed = self.merge(target, other, now)
            changed.append(closed)
        target = self._add_signal(target, signal)
        changed.append(self._store(target, now))
        return changed

    def _ordinary(self, signal: Signal, now: datetime) -> list[Incident]:
        # A complaint near an open incident of its kind (a surge already opened) joins it.
        for incident in self._open(signal, among=self._surges):
            if incident.surge and self._near_incident(signal, incident):
                return [self._store(self._add_signal(incident, signal), now)]
        place = signal.kecamatan or (signal.region.value if signal.region else "")
        if not place:
            return []
        rate = self._rates.setdefault((place, signal.category), _Rate(deque()))
        while rate.recent and signal.occurred_at - rate.recent[0].occurred_at > self.t.surge_window:
            rate.recent.popleft()
        usual = max(rate.per_h, self.t.surge_floor_per_h)
        _decay(rate, signal.occurred_at, self.t.surge_baseline)
        rate.recent.append(signal)
        window_h = self.t.surge_window / timedelta(hours=1)
        count = len(rate.recent)
        if count < self.t.surge_min_reports or count / window_h < self.t.surge_ratio * usual:
            return []
        reports = list(rate.recent)
        rate.recent.clear()
        incident = self._open_incident(reports, now, surge=True)
        return [incident]

    def _ack(self, ack: IncidentAck, now: datetime) -> list[Incident]:
        incident = self.incidents.get(ack.incident_id)
        if incident is None or incident.status is IncidentStatus.SELESAI:
            return []
        status = ack.status if list(IncidentStatus).index(ack.status) > list(IncidentStatus).index(
            incident.status) else incident.status
        changed = msgspec.structs.replace(
            incident, status=status, acked_by=incident.acked_by or ack.acked_by,
            acked_at=incident.acked_at or ack.acked_at, raised=False)
        if changed == msgspec.structs.replace(incident, raised=False):
            return []
        return [self._store(changed, now, bump=True)]

    # --- what people do (decided in streams/desk.py) -----------------------------------------

    def put(self, incident: Incident, now: datetime) -> Incident:
        """Store a new incident, or a new version of one, as a command made it (priority as given)."""
        return self._store(incident, now, bump=True)

    def merge(self, target: Incident, other: Incident, now: datetime) -> tuple[Incident, Incident]:
        """Fold `other` into `target`: the target with the other's items, and the other closed."""
        closed = self._close(other, now, merged_into=target.id)
        for item in other.items:
            target = self._add_item(target, item)
        self._nearby.add(target.id, self._nearby.drop(other.id))
        return self._store(target, now), closed

    def split(self, incident: Incident, item_ids: set[uuid.UUID], new: Incident,
              now: datetime) -> tuple[Incident, Incident]:
        """Move the items `item_ids` of an incident to `new` (an incident without items yet)."""
        moving = [i for i in incident.items if i.id in item_ids]
        moved = {s for item in moving for s in item.signal_ids}
        kept = self._store(summarise(msgspec.structs.replace(
            incident, items=[i for i in incident.items if i.id not in item_ids])), now)
        recent = self._nearby.drop(incident.id)
        self._nearby.add(incident.id, (s for s in recent if s.id not in moved))
        self._nearby.add(new.id, (s for s in recent if s.id in moved))
        for signal_id in moved:
            self.member[signal_id] = new.id
        return kept, self._store(summarise(msgspec.structs.replace(new, items=moving)), now)

    # --- escalation and closing -------------------------------------------------------------

    def expired(self, now: datetime) -> list[Incident]:
        """Close Sedang and Rendah incidents nobody is handling whose window has passed (no signal
        can join them any more): they leave the wall. Segera and Tinggi wait for people."""
        closed = []
        for incident in list(self.incidents.values()):
            if incident.status not in (IncidentStatus.BARU, IncidentStatus.DIPANTAU):
                continue
            if incident.priority in (Priority.SEGERA, Priority.TINGGI):
                continue
            window = self.t.window(incident.hazard)
            if now - incident.last_at <= window:
                continue
            hours = window / timedelta(hours=1)
            closed.append(self._store(msgspec.structs.replace(
                incident, status=IncidentStatus.SELESAI, raised=False,
                why=f"{incident.why}; ditutup otomatis: tidak ada sinyal baru dalam {hours:g} jam"),
                now, bump=True))
        return closed

    def due(self, now: datetime) -> list[tuple[Escalation, Incident]]:
        """Escalation steps due at `now` that were not fired, with the incidents they change."""
        out = []
        for incident in list(self.incidents.values()):
            since = incident.urgent_since
            if incident.status is not IncidentStatus.BARU or since is None:
                continue
            if incident.priority not in (Priority.SEGERA, Priority.TINGGI):
                continue
            factor = 1.0 if incident.priority is Priority.SEGERA else self.t.tinggi_factor
            for level, (after_s, role) in enumerate(self.t.escalation_steps, start=1):
                due_at = since + timedelta(seconds=after_s * factor)
                if due_at > now:
                    break
                step_id = escalation_id(str(incident.id), level)
                if step_id in self._fired:
                    continue
                self._fired.add(step_id)
                escalation = Escalation(
                    id=step_id, subject=EscalationSubject.INCIDENT, subject_id=str(incident.id),
                    level=level, role=role, regions=incident.regions, priority=incident.priority,
                    headline=incident.title,
                    reason=(f"Insiden {incident.priority.value} belum ditanggapi "
                            f"{_minutes(now - since)}: diteruskan ke {role}"),
                    due_at=due_at, fired_at=now, late_s=(now - since).total_seconds())
                incident = msgspec.structs.replace(
                    incident, raised=False,
                    escalations=[*incident.escalations, EscalationStep(level=level, role=role, at=now)])
                incident = self._store(incident, now, bump=True)
                out.append((escalation, incident))
        return out

    # --- building incidents -----------------------------------------------------------------

    def _open(self, signal: Signal, among: set[uuid.UUID] | None = None) -> Iterable[Incident]:
        """The open incidents of a compatible hazard and time that `signal` may be near (of
        `among` only, when given), in the order they came."""
        hazards = COMPATIBLE.get(signal.hazard, frozenset({signal.hazard}))
        ids = self._nearby.candidates(signal)
        if among is not None:
            ids = among if ids is None else ids & among
        if ids is None:
            yield from (incident for incident in self.incidents.values()
                        if self._may_take(incident, signal, hazards))
            return
        # Filtered before they are ordered: an alert's candidates are every incident that ever had
        # an alert or an area, most of them of another hazard or out of their time window.
        found = [(self._order[i], incident) for i in ids if (incident := self.incidents.get(i)) is not None
                 and self._may_take(incident, signal, hazards)]
        found.sort(key=_FIRST)
        yield from (incident for _, incident in found)

    def _may_take(self, incident: Incident, signal: Signal, hazards: frozenset[Hazard]) -> bool:
        """Whether the incident is open, of a compatible hazard, and within its window of `signal`."""
        if incident.status is IncidentStatus.SELESAI or incident.hazard not in hazards:
            return False
        window = self.t.window(incident.hazard)
        return incident.first_at - window <= signal.occurred_at <= incident.last_at + window

    def _near_incident(self, signal: Signal, incident: Incident) -> bool:
        return self._nearby.near(signal, incident.id)

    def _open_incident(self, signals: list[Signal], now: datetime, surge: bool = False) -> Incident:
        first = signals[0]
        incident = Incident(
            id=incident_id(first.id), version=0, hazard=first.hazard, title="",
            priority=Priority.RENDAH, status=IncidentStatus.BARU, regions=[], first_at=first.occurred_at,
            last_at=first.occurred_at, items=[], signal_count=0, surge=surge, opened_at=now,
            updated_at=now)
        for signal in signals:
            incident = self._add_signal(incident, signal)
        return self._store(incident, now)

    def _add_signal(self, incident: Incident, signal: Signal) -> Incident:
        self._nearby.add(incident.id, (signal,))
        self.member[signal.id] = incident.id
        words = _Words(_words_of(signal) if signal.kind is SignalKind.LAPORAN else "")
        if signal.kind is SignalKind.LAPORAN and signal.kecamatan is not None:
            for n, item in enumerate(incident.items):
                if item.kecamatan == signal.kecamatan and self._duplicate(signal, words, item):
                    items = list(incident.items)
                    items[n] = fold(item, signal)
                    return drafted(incident, items, items[n], 1)
        self._texts[signal.id] = (words, True)
        return self._add_item(incident, item_of(signal))

    def _add_item(self, incident: Incident, item: IncidentItem) -> Incident:
        for signal_id in item.signal_ids:
            self.member[signal_id] = incident.id
        return drafted(incident, [*incident.items, item], item, item.count)

    def _duplicate(self, signal: Signal, words: _Words, item: IncidentItem) -> bool:
        if signal.kind is not SignalKind.LAPORAN or item.kind is not SignalKind.LAPORAN:
            return False
        if signal.kecamatan is None or signal.kecamatan != item.kecamatan:
            return False
        known = self._texts.get(item.id)
        if known is None:  # restored after a restart: its title is what is known of it
            known = self._texts[item.id] = (_Words(item.headline), False)
        theirs, full = known
        mine = words.pairs if full else _pairs(signal.headline)
        return _jaccard(mine, theirs.pairs) >= self.t.duplicate_similarity

    def _horizon(self) -> timedelta:
        """How long an incident stays in memory after its last signal: its window and a day."""
        longest = max(self.t.windows_h.values(), default=self.t.default_window_h)
        return timedelta(hours=longest, days=1)

    def _prune(self) -> None:
        """Forget incidents no signal can join any more (the changelog keeps them)."""
        if self._latest is None:
            return
        horizon = self._latest - self._horizon()
        for incident in [i for i in self.incidents.values()
                         if i.last_at < horizon and i.id not in self._before]:  # (not a draft)
            del self.incidents[incident.id]
            self._surges.discard(incident.id)
            self._nearby.drop(incident.id)
            self._order.pop(incident.id, None)
            for item in incident.items:
                self._texts.pop(item.id, None)
                for signal_id in item.signal_ids:
                    self.member.pop(signal_id, None)

    def _close(self, incident: Incident, now: datetime, merged_into: uuid.UUID) -> Incident:
        return self._store(msgspec.structs.replace(
            incident, status=IncidentStatus.SELESAI, merged_into=merged_into, raised=False), now, bump=True)

    def _store(self, incident: Incident, now: datetime, bump: bool = False) -> Incident:
        """Store a new version: summarised and ranked from its items (signals changed it), or as
        it is (`bump`: a person or the clock changed it)."""
        if not bump:
            if self._deferring:  # summarised and ranked when the batch is settled
                self._before.setdefault(incident.id, self.incidents.get(incident.id))
                self._arrived(incident)
                return incident
            return self._settle(incident, self.incidents.get(incident.id), now)
        if incident.id in self._before:  # a draft of this batch: the version its signals made first
            incident = self._settle(incident, self._before.pop(incident.id), now)
        before = self.incidents.get(incident.id)
        incident = msgspec.structs.replace(
            incident, version=(before.version if before else 0) + 1, updated_at=now)
        self._arrived(incident)
        return incident

    def _settle(self, incident: Incident, before: Incident | None, now: datetime) -> Incident:
        """The version signals made: summarised, ranked (raised when new or of a higher priority
        than `before`) and numbered after `before`."""
        incident = summarise(incident)
        ranked = rank(incident.items)
        if incident.manual and incident.priority.rank < ranked.priority.rank:  # as the room set it
            ranked = msgspec.structs.replace(ranked, priority=incident.priority)
        raised = before is None or ranked.priority.rank < before.priority.rank
        urgent = ranked.priority in (Priority.SEGERA, Priority.TINGGI)
        incident = msgspec.structs.replace(
            incident, priority=ranked.priority, why=ranked.why, raised=raised,
            urgent_since=incident.urgent_since or (now if urgent else None),
            version=(before.version if before else 0) + 1, updated_at=now)
        self._arrived(incident)
        return incident

    def _arrived(self, incident: Incident) -> None:
        if incident.id not in self.incidents:
            self._order[incident.id] = next(self._arrivals)
        self.incidents[incident.id] = incident
        if incident.surge:
            self._surges.add(incident.id)


def as_published(changed: Iterable[Incident], before: dict[uuid.UUID, Incident]) -> list[Incident]:
    """The last versions of incidents a batch of inputs changed, each raised (the wall's flash)
    when it is new or of a higher priority than its version `before` the batch: a version in
    between that raised it is never published, so its `raised` would be lost."""
    out = []
    for incident in changed:
        prior = before.get(incident.id)
        raised = incident.status is not IncidentStatus.SELESAI and (
            prior is None or incident.priority.rank < prior.priority.rank)
        out.append(incident if incident.raised == raised else
                   msgspec.structs.replace(incident, raised=raised))
    return out


def _decay(rate: _Rate, at: datetime, baseline: timedelta) -> None:
    """Count one more report into the usual rate: an exponentially weighted rate per hour whose
    memory is `baseline` (each report adds 1/baseline, and it fades as exp(-elapsed/baseline))."""
    tau_h = baseline / timedelta(hours=1)
    if rate.updated is not None:
        hours = max((at - rate.updated) / timedelta(hours=1), 0.0)
        rate.per_h *= math.exp(-hours / tau_h)
    rate.per_h += 1 / tau_h
    rate.updated = at if rate.updated is None else max(at, rate.updated)


def _minutes(span: timedelta) -> str:
    return f"{int(span.total_seconds() // 60)} menit"


def _words_of(signal: Signal) -> str:
    return f"{signal.headline} {signal.text}"


def _jaccard(pa: set[tuple[str, str]], pb: set[tuple[str, str]]) -> float:
    """Jaccard similarity of two texts' word pairs (1.0: the same words in the same order)."""
    if not pa or not pb:
        return 0.0
    return len(pa & pb) / len(pa | pb)


class _Words:
    """A text's word pairs for near-duplicates, made when first compared (most reports never are)."""

    __slots__ = ("_pairs", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self._pairs: set[tuple[str, str]] | None = None

    @property
    def pairs(self) -> set[tuple[str, str]]:
        if self._pairs is None:
            self._pairs, self.text = _pairs(self.text), ""  # (the text is not kept twice)
        return self._pairs


def _pairs(text: str) -> set[tuple[str, str]]:
    words = _WORDS.findall(text.lower())
    return set(itertools.pairwise(words)) or {(w, "") for w in words}
