"""`posko bench dss`: how well decision support ranks and recommends per scenario, and how fast.

1. Per scenario and seed (bench/dss_replay.py: the worker's own validation, correlation and board
   over the scenario's timeline): precision at 3 of the ranking (the truly affected regions among
   the first three, over min(3, affected)), beside a baseline ranking by raw alert count (official
   alerts and urgent reports per region, what the wall counted before); and the recall of the due
   playbook actions: the rules that fire when the same playbooks run on the happening's own events
   alone (grouped perfectly, without background), against those recommended from the whole stream.
2. Latency, on a broker of its own with the real worker: banjir-batanghari played fast; from the
   first signal of a worker batch that changed an incident to the score of its region that batch
   wrote on posko.ranking, beside each signal to its incident on posko.incidents (the ranking's
   share is the difference). Batches that change no score (nothing new in its parts) write none.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path

import msgspec
from aiokafka import TopicPartition

from bench.dss_replay import START, new_board, replay, top_regions
from bench.home import bench_env
from bench.pipeline import _percentiles
from connectors.simulator.run import play_scenario
from connectors.simulator.scenarios import Timed, load, names, plan
from posko.kafka import broker
from posko.kafka.offsets import group_state, reader
from posko.kafka.topics import create_topics
from posko.services import Service
from posko.settings import Settings
from schemas.decision import RankingRecord, RecommendationStatus, RegionScore
from schemas.events import kind_of
from schemas.incidents import Incident, Signal
from schemas.regions import Region
from schemas.topics import INCIDENTS, RANKING, SIGNALS
from streams.app import ROOM_ID
from streams.correlate import Room
from streams.validate import route

LATENCY_SCENARIO = "banjir-batanghari"
LATENCY_SPEED = 240.0  # six hours in 90 s
_signal = msgspec.json.Decoder(Signal)
_ranking = msgspec.json.Decoder(RankingRecord)
_incident = msgspec.json.Decoder(Incident)


class ScenarioResult(msgspec.Struct):
    """Figures of one scenario and seed."""

    scenario: str
    seed: int
    affected: list[str]
    top3: list[str]
    precision_at_3: float | None  # None: nothing happened (an ordinary day)
    baseline_top3: list[str]
    baseline_precision_at_3: float | None
    due_actions: int  # rules that fire on the happening's own events
    recommended_due: int  # of those, recommended from the whole stream
    recall: float | None
    recommended_elsewhere: int  # recommendations for regions no happening hit


class Result(msgspec.Struct):
    """The benchmark's figures, printed as one JSON line."""

    scenarios: list[ScenarioResult]
    mean_precision_at_3: float
    mean_baseline_precision_at_3: float
    mean_recall: float
    latency_scenario: str
    latency_speed: float
    latency_updates: int
    signal_to_ranking_ms: dict[str, float]
    signal_to_incident_ms: dict[str, float]


def _precision(top: list[Region], affected: set[Region]) -> float | None:
    if not affected:
        return None
    return round(len(set(top) & affected) / min(3, len(affected)), 3)


def due_actions(name: str, seed: int) -> set[tuple[Region, str]]:
    """(region, rule) the playbooks call for on the happenings' own signals, grouped perfectly."""
    scenario = load(name)
    timeline = plan(scenario, seed, START)
    truth = {t.event.id: t.truth.happening for t in timeline}
    due: set[tuple[Region, str]] = set()
    for happening in scenario.happenings:
        room = Room()
        for timed in timeline:
            if truth[timed.event.id] != happening.id:
                continue
            for record in route(kind_of(timed.event), timed.event, "posko.raw", 0, 0, None, b"",
                                now=START + timedelta(days=2)).out:
                if record.topic == SIGNALS:
                    room.take(_signal.decode(record.value), START + timed.at)
        board = new_board()
        board.update(room.incidents, {}, {}, {}, None, START + timedelta(hours=scenario.hours))
        due |= {(r.region, r.rule) for r in board.recommendations.values()
                if r.region in happening.regions}
    return due


def score_scenario(name: str, seed: int) -> ScenarioResult:
    """Rank and recommend one scenario; score both against its ground truth and the baseline."""
    replayed = replay(name, seed)
    scores = [s for s in replayed.board.scores.values() if not s.drill]
    top = top_regions(scores)
    baseline = [r for r, _ in sorted(replayed.alert_counts.items(), key=lambda rc: (-rc[1], rc[0]))][:3]
    recommended = {(r.region, r.rule) for r in replayed.board.recommendations.values()
                   if r.status is RecommendationStatus.TERBUKA}
    due = due_actions(name, seed)
    return ScenarioResult(
        scenario=name, seed=seed, affected=sorted(replayed.affected), top3=list(top),
        precision_at_3=_precision(top, replayed.affected), baseline_top3=list(baseline),
        baseline_precision_at_3=_precision(baseline, replayed.affected), due_actions=len(due),
        recommended_due=len(due & recommended),
        recall=round(len(due & recommended) / len(due), 3) if due else None,
        recommended_elsewhere=sum(1 for region, _ in recommended if region not in replayed.affected))


async def _latency(settings: Settings) -> tuple[list[float], list[float]]:
    """Milliseconds from the first signal of a worker batch that changed an incident to the score
    of its region that batch wrote on posko.ranking (a batch's incidents and scores share the
    worker's clock: `updated_at` = `computed_at`); and from each signal to its first incident
    version on posko.incidents."""
    played = asyncio.Event()
    sent_at: dict[uuid.UUID, float] = {}
    first_sent: dict[tuple[Region, datetime], float] = {}  # (region, batch): its first signal sent
    scored: dict[tuple[Region, datetime], float] = {}  # (region, batch): its score received
    on_topic: dict[uuid.UUID, float] = {}
    partitions = [TopicPartition(RANKING, 0), TopicPartition(INCIDENTS, 0)]
    consumer = reader(settings, isolation_level="read_committed", auto_offset_reset="latest")
    await consumer.start()
    consumer.assign(partitions)
    for tp in partitions:
        await consumer.seek_to_end(tp)
        await consumer.position(tp)

    def on_sent(batch: list[Timed]) -> None:
        now = time.monotonic()
        for timed in batch:
            routed = route(kind_of(timed.event), timed.event, "posko.raw", 0, 0, None, b"",
                           now=START + timedelta(days=2))
            if any(record.topic == SIGNALS for record in routed.out):
                sent_at[timed.event.id] = now

    async def play() -> None:
        await play_scenario(settings, LATENCY_SCENARIO, speed=LATENCY_SPEED, seed=1, on_sent=on_sent)
        played.set()

    player = asyncio.create_task(play())
    quiet_since = time.monotonic()
    try:
        while not played.is_set() or time.monotonic() - quiet_since < 10:
            batch = await consumer.getmany(*partitions, timeout_ms=200)
            now = time.monotonic()
            for tp, records in batch.items():
                for record in records:
                    quiet_since = now
                    if tp.topic == RANKING and record.value:
                        score = _ranking.decode(record.value)
                        if isinstance(score, RegionScore):
                            scored.setdefault((score.region, score.computed_at), now)
                    elif tp.topic == INCIDENTS and record.value:
                        incident = _incident.decode(record.value)
                        fresh = [sent_at[s] for item in incident.items for s in item.signal_ids
                                 if s in sent_at and s not in on_topic]
                        for item in incident.items:
                            for signal in item.signal_ids:
                                on_topic.setdefault(signal, now)
                        for region in incident.regions if fresh else []:
                            key = (region, incident.updated_at)
                            first_sent[key] = min(first_sent.get(key, min(fresh)), min(fresh))
        await player
    finally:
        await consumer.stop()
    to_ranking = [(scored[key] - sent) * 1000 for key, sent in first_sent.items() if key in scored]
    to_incident = [(on_topic[s] - sent_at[s]) * 1000 for s in on_topic if s in sent_at]
    return to_ranking, to_incident


def _wait_for_worker(settings: Settings, timeout_s: float = 120) -> None:
    """Until the worker's room part is stable in its group: it reads posko.signals from then on."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if asyncio.run(group_state(settings, ROOM_ID)) == ("Stable", 1):
            return
        time.sleep(0.5)
    raise TimeoutError(f"the worker did not join its group within {timeout_s:.0f} s")


def run_dss_bench(base: Settings, seeds: int = 3, live: bool = True) -> Result:
    """Score every scenario, measure the live latency, print the figures."""
    say = lambda line: print(line, file=sys.stderr, flush=True)  # noqa: E731
    results = []
    for name in names():
        for seed in range(1, seeds + 1):
            found = score_scenario(name, seed)
            results.append(found)
            say(f"{name} seed {seed}: top 3 {found.top3} (P@3 {found.precision_at_3}), baseline by alert "
                f"count {found.baseline_top3} (P@3 {found.baseline_precision_at_3}); due actions "
                f"{found.recommended_due}/{found.due_actions} recommended (recall {found.recall}), "
                f"{found.recommended_elsewhere} elsewhere")
    to_ranking: list[float] = []
    to_incident: list[float] = []
    if live:
        with tempfile.TemporaryDirectory(prefix="posko-bench-") as home:
            env, settings = bench_env(base, home)
            say(broker.start(settings))
            services = [Service(name, Path(home) / "logs", env) for name in ("worker",)]
            try:
                asyncio.run(create_topics(settings))
                for service in services:
                    service.start()
                _wait_for_worker(settings)
                say(f"playing {LATENCY_SCENARIO} at {LATENCY_SPEED:g}× through the worker…")
                to_ranking, to_incident = asyncio.run(_latency(settings))
            finally:
                for service in services:
                    service.stop()
                broker.stop(settings)
        say(f"signal → its region's score on posko.ranking, {len(to_ranking)} updates: "
            f"{_percentiles(to_ranking)} ms; signal → its incident on posko.incidents: "
            f"{_percentiles(to_incident)} ms")

    def mean(values: list[float | None]) -> float:
        known = [v for v in values if v is not None]
        return round(sum(known) / len(known), 3) if known else 0.0

    result = Result(
        scenarios=results, mean_precision_at_3=mean([r.precision_at_3 for r in results]),
        mean_baseline_precision_at_3=mean([r.baseline_precision_at_3 for r in results]),
        mean_recall=mean([r.recall for r in results]), latency_scenario=LATENCY_SCENARIO,
        latency_speed=LATENCY_SPEED, latency_updates=len(to_ranking),
        signal_to_ranking_ms=_percentiles(to_ranking), signal_to_incident_ms=_percentiles(to_incident))
    print(msgspec.json.encode(result).decode(), flush=True)
    return result
