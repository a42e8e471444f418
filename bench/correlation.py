"""`posko bench correlation`: what the wall shows per scenario, how well it is grouped, how fast.

1. Grouping, per scenario (and seed): the alerts the wall showed before correlation (official
   alerts and urgent citizen reports) against the incidents it shows now (the reduction), and the
   pairwise precision and recall of the grouping of those alerts against the scenario's ground
   truth. Two baselines in the same run: one item per alert (the wall before), and grouping by
   kabupaten/kota and hour. The grouping is the worker's own code (streams.validate.route, then
   streams.correlate.Room) over the scenario's timeline.
2. Latency, on a broker of its own with the real worker, sink and push gateway: the flood
   scenario played fast; for every signal, the time from its produce (Kafka acknowledged it) to
   the first version of its incident pushed to a wall's websocket, beside the time to the same
   version read straight from posko.incidents (the gateway's share is the difference).
"""

from __future__ import annotations

import asyncio
import itertools
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Callable, Hashable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import msgspec
from aiokafka import TopicPartition
from websockets.asyncio.client import connect

from bench.home import bench_env
from bench.pipeline import _percentiles
from connectors.simulator.run import play_scenario
from connectors.simulator.scenarios import Timed, load, names, plan
from posko.credentials import CredentialStore
from posko.kafka import broker
from posko.kafka.offsets import group_state, reader
from posko.kafka.topics import create_topics
from posko.net import free_port
from posko.services import Service
from posko.settings import Settings
from schemas.events import kind_of
from schemas.identity import Role
from schemas.incidents import Incident, Signal
from schemas.topics import ALERTS, INCIDENTS, SIGNALS
from sinks.push.protocol import AuthRequest, IncidentMessage, ServerMessage
from streams.app import ROOM_ID
from streams.correlate import Room, thresholds
from streams.validate import route

START = datetime(2026, 11, 30, 0, 0, tzinfo=UTC)
LATENCY_SCENARIO = "banjir-batanghari"
LATENCY_SPEED = 240.0  # six hours in 90 s: about 8 events a second


class Grouping(msgspec.Struct):
    """One way of grouping a scenario's alerts, scored."""

    items: int
    reduction: float
    precision: float | None  # None: it groups no two alerts
    recall: float


class ScenarioResult(msgspec.Struct):
    """Figures of one scenario and seed."""

    scenario: str
    seed: int
    signals: int  # every signal correlation read (alerts, reports, indicator readings)
    alerts: int  # what the wall showed before: official alerts and urgent reports
    incidents: Grouping
    per_alert: Grouping
    region_hour: Grouping


class Result(msgspec.Struct):
    """The benchmark's figures, printed as one JSON line."""

    scenarios: list[ScenarioResult]
    latency_scenario: str
    latency_speed: float
    latency_signals: int
    signal_to_wall_ms: dict[str, float]
    signal_to_incident_topic_ms: dict[str, float]


_signal = msgspec.json.Decoder(Signal)
_incident = msgspec.json.Decoder(Incident)
_server = msgspec.json.Decoder(ServerMessage)


def score_scenario(settings: Settings, name: str, seed: int) -> ScenarioResult:
    """Group one scenario's alerts three ways and score each against its ground truth."""
    timeline = plan(load(name), seed, START)
    truth = {t.truth.event_id: t.truth.happening for t in timeline}
    room = Room(thresholds(settings))
    alerts: list[Timed] = []
    signals = 0
    for timed in timeline:
        routed = route(kind_of(timed.event), timed.event, "posko.raw", 0, 0, None, b"",
                       now=START + timedelta(days=2))
        topics = {record.topic for record in routed.out}
        if ALERTS in topics:
            alerts.append(timed)
        for record in routed.out:
            if record.topic == SIGNALS:
                signals += 1
                room.take(_signal.decode(record.value), START + timed.at)
    ids = [str(t.event.id) for t in alerts]

    def incident_of(event_id: str) -> Hashable:
        found = room.member.get(uuid.UUID(event_id))
        while found is not None and (merged := room.incidents[found].merged_into) is not None:
            found = merged
        return found or event_id

    by_id = {str(t.event.id): t for t in alerts}
    return ScenarioResult(
        scenario=name, seed=seed, signals=signals, alerts=len(alerts),
        incidents=_score(ids, truth, incident_of),
        per_alert=_score(ids, truth, lambda e: e),
        region_hour=_score(ids, truth, lambda e: (by_id[e].event.region,
                                                  int(by_id[e].at / timedelta(hours=1)))))


def _score(ids: list[str], truth: dict[str, str | None], group_of: Callable[[str], Hashable]) -> Grouping:
    """Items, reduction and pairwise precision/recall of a grouping of these alerts."""
    groups = {e: group_of(e) for e in ids}
    same_pred = same_true = both = 0
    for a, b in itertools.combinations(ids, 2):
        predicted = groups[a] == groups[b]
        actual = truth[a] is not None and truth[a] == truth[b]
        same_pred += predicted
        same_true += actual
        both += predicted and actual
    items = len(set(groups.values()))
    return Grouping(
        items=items, reduction=round(len(ids) / max(items, 1), 1),
        precision=round(both / same_pred, 3) if same_pred else None,
        recall=round(both / same_true, 3) if same_true else 1.0)


async def _latency(settings: Settings, wall_url: str, token: str) -> tuple[list[float], list[float]]:
    """Milliseconds from produce to the first incident version holding each signal: on the wall's
    websocket, and on posko.incidents."""
    played = asyncio.Event()
    sent_at: dict[uuid.UUID, float] = {}
    on_wall: dict[uuid.UUID, float] = {}
    on_topic: dict[uuid.UUID, float] = {}
    tp = TopicPartition(INCIDENTS, 0)
    consumer = reader(settings, isolation_level="read_committed", auto_offset_reset="latest")
    await consumer.start()
    consumer.assign([tp])
    await consumer.seek_to_end(tp)
    await consumer.position(tp)
    ws = await connect(wall_url)
    await ws.send(msgspec.json.encode(AuthRequest(token)).decode())

    def seen(incident: Incident, where: dict[uuid.UUID, float]) -> None:
        now = time.monotonic()
        for item in incident.items:
            for signal in item.signal_ids:
                where.setdefault(signal, now)

    def on_sent(batch: list[Timed]) -> None:
        now = time.monotonic()
        for timed in batch:
            sent_at[timed.event.id] = now

    async def play() -> None:
        await play_scenario(settings, LATENCY_SCENARIO, speed=LATENCY_SPEED, seed=1, on_sent=on_sent)
        played.set()

    async def wall() -> None:
        async for raw in ws:
            message = _server.decode(raw)
            if isinstance(message, IncidentMessage):
                seen(message.incident, on_wall)

    player, watcher = asyncio.create_task(play()), asyncio.create_task(wall())
    quiet_since = time.monotonic()
    try:
        while not played.is_set() or time.monotonic() - quiet_since < 10:
            batch = await consumer.getmany(tp, timeout_ms=200)
            for record in batch.get(tp, []):
                quiet_since = time.monotonic()
                seen(_incident.decode(record.value or b"{}"), on_topic)
        await player
    finally:
        watcher.cancel()
        await ws.close()
        await consumer.stop()
    to_wall = [(on_wall[s] - sent_at[s]) * 1000 for s in on_wall if s in sent_at]
    to_topic = [(on_topic[s] - sent_at[s]) * 1000 for s in on_topic if s in sent_at]
    return to_wall, to_topic


def run_correlation_bench(base: Settings, seeds: int = 3, live: bool = True) -> Result:
    """Score every scenario, measure the live latency, print the figures."""
    say = lambda line: print(line, file=sys.stderr, flush=True)  # noqa: E731
    results = []
    for name in names():
        for seed in range(1, seeds + 1):
            found = score_scenario(base, name, seed)
            results.append(found)
            i, a, r = found.incidents, found.per_alert, found.region_hour
            say(f"{name} seed {seed}: {found.alerts} alerts → {i.items} incidents ({i.reduction}×), "
                f"precision {i.precision} recall {i.recall}; per alert {a.items} items; "
                f"region+hour {r.items} items ({r.reduction}×) precision {r.precision} recall {r.recall}")
    to_wall: list[float] = []
    to_topic: list[float] = []
    if live:
        with tempfile.TemporaryDirectory(prefix="posko-bench-") as home:
            port = free_port()
            env, settings = bench_env(base, home, POSKO_GATEWAY_PORT=str(port))
            say(broker.start(settings))
            services = [Service(name, Path(home) / "logs", env) for name in ("worker", "sink", "gateway")]
            try:
                asyncio.run(create_topics(settings))
                for service in services:
                    service.start()
                _wait_for_worker(settings)
                token = CredentialStore(Path(settings.home)).issue("bench", Role.WALL)[1]
                say(f"playing {LATENCY_SCENARIO} at {LATENCY_SPEED:g}× through worker, sink, gateway…")
                to_wall, to_topic = asyncio.run(_latency(settings, f"ws://127.0.0.1:{port}/ws", token))
            finally:
                for service in services:
                    service.stop()
                broker.stop(settings)
        say(f"signal produce → its incident on the wall, {len(to_wall)} signals: {_percentiles(to_wall)} ms; "
            f"→ on posko.incidents: {_percentiles(to_topic)} ms")
    result = Result(scenarios=results, latency_scenario=LATENCY_SCENARIO, latency_speed=LATENCY_SPEED,
                    latency_signals=len(to_wall), signal_to_wall_ms=_percentiles(to_wall),
                    signal_to_incident_topic_ms=_percentiles(to_topic))
    print(msgspec.json.encode(result).decode(), flush=True)
    return result


def _wait_for_worker(settings: Settings, timeout_s: float = 120) -> None:
    """Until the worker's room part is stable in its group (it reads posko.signals from then on)
    and the gateway answers."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        state, members = asyncio.run(group_state(settings, ROOM_ID))
        if state == "Stable" and members == 1 and _gateway_up(settings):
            return
        time.sleep(0.5)
    raise TimeoutError(f"the worker did not join its group within {timeout_s:.0f} s")


def _gateway_up(settings: Settings) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{settings.gateway_port}/healthz", timeout=2):
            return True
    except OSError:
        return False
