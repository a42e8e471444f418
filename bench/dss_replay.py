"""A scenario through the worker's pure steps (validation, correlation, decision support's board),
with its ground truth: which regions a happening truly hit and which playbook actions came due.

Shared by `posko bench dss` (bench/dss.py) and the unit tests of decision support.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import msgspec

from connectors.simulator.scenarios import load, plan
from decision.board import Board
from decision.playbooks import load_playbooks
from decision.ranking import DEFAULT_WEIGHTS, parse_weights
from decision.reference import packaged_reference, parse_reference
from schemas.decision import RecommendationStatus, RegionScore
from schemas.events import kind_of
from schemas.incidents import Hazard, Signal
from schemas.regions import Region
from schemas.topics import ALERTS, SIGNALS
from streams.correlate import Room
from streams.validate import route

START = datetime(2026, 11, 30, 0, 0, tzinfo=UTC)
# The scenarios' hazards as the room names them (connectors/simulator/scenarios.py).
HAZARDS = {"banjir": Hazard.BANJIR, "karhutla": Hazard.KARHUTLA, "gempa": Hazard.GEMPA,
           "longsor": Hazard.LONGSOR}
_signal = msgspec.json.Decoder(Signal)


class Replayed(msgspec.Struct):
    """The room and board after a scenario, and what the scenario truly was."""

    room: Room
    board: Board
    affected: set[Region]  # regions a happening hit (its regions)
    hazards: set[Hazard]
    alert_counts: Counter[Region]  # what the wall showed per region: official alerts, urgent reports
    end: datetime


def new_board(home: str = "/nonexistent") -> Board:
    """A board of the packaged reference data and playbooks, with the default weights."""
    return Board(parse_reference(packaged_reference(), "packaged"), load_playbooks(home),
                 parse_weights(DEFAULT_WEIGHTS))


def replay(name: str, seed: int = 5, until_h: float | None = None) -> Replayed:
    """Play a scenario (its first `until_h` hours) through validation and correlation, then score it
    on a fresh board."""
    scenario = load(name)
    hours = scenario.hours if until_h is None else until_h
    timeline = [t for t in plan(scenario, seed, START) if t.at <= timedelta(hours=hours)]
    room = Room()
    counts: Counter[Region] = Counter()
    for timed in timeline:
        routed = route(kind_of(timed.event), timed.event, "posko.raw", 0, 0, None, b"",
                       now=START + timedelta(days=2))
        for record in routed.out:
            if record.topic == SIGNALS:
                room.take(_signal.decode(record.value), START + timed.at)
            elif record.topic == ALERTS and timed.event.region:
                counts[Region(timed.event.region)] += 1
    end = START + timedelta(hours=hours)
    board = new_board()
    board.update(room.incidents, {}, {}, {}, None, end)
    affected = {r for h in scenario.happenings for r in h.regions}
    hazards = {HAZARDS[h.hazard] for h in scenario.happenings}
    return Replayed(room=room, board=board, affected=affected, hazards=hazards, alert_counts=counts, end=end)


def top_regions(scores: list[RegionScore], n: int = 3) -> list[Region]:
    """The first n distinct regions of the ranking."""
    out: list[Region] = []
    for score in sorted((s for s in scores if s.rank > 0), key=lambda s: s.rank):
        if score.region not in out:
            out.append(score.region)
    return out[:n]


def open_recommendations(board: Board) -> set[tuple[Region, str]]:
    """(region, rule) of every open recommendation."""
    return {(r.region, r.rule) for r in board.recommendations.values()
            if r.status is RecommendationStatus.TERBUKA}
