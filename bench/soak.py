"""`posko bench soak --minutes N --rate R`: the whole stack at a steady rate for a long while.

On a broker and store of its own, worker, ClickHouse sink, push gateway and intake run as real
processes. This process is the load: simulated events through `RawPublisher` at R events/s (the
simulator's deadline clock, so the rate does not drift), a share of that as citizen reports
POSTed to the intake, and wall clients connected to the gateway reading what it pushes. Every few
seconds it samples the RSS of every process (broker JVM, worker, sink, gateway, intake, itself),
the lag of every consumer group (committed against end offsets), the dead letters stored and the
rows in ClickHouse, and prints a line. At the end, after the pipeline drained, one JSON line: per
process RSS first/last/max and its slope per hour (least squares over the samples after the
warm-up), lag max/last per group, DLQ growth beside the malformed events sent on purpose, and
events sent against rows stored.

There is no second system to run beside a soak; its baseline is its own start: the slope is the
memory added per hour after the warm-up, and the rows stored are set against the events sent.
"""

from __future__ import annotations

import asyncio
import os
import random
import statistics
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import msgspec
from aiokafka.errors import KafkaError

from bench.correlation import _wait_for_worker
from bench.fanout import Clients
from bench.home import bench_env, lag_groups
from bench.intake import _submission, _wait_healthy
from connectors.intake.relay import RELAY_GROUP
from connectors.simulator.run import SimulationStats, simulate
from connectors.simulator.stream import Simulator
from posko.credentials import CredentialStore
from posko.kafka import broker
from posko.kafka.offsets import group_positions
from posko.kafka.topics import create_topics
from posko.loop import run_async
from posko.net import free_port
from posko.services import Service, process_rss_bytes
from posko.settings import Settings
from schemas.events import Channel, CitizenReportEvent, utc_now
from schemas.identity import Role
from schemas.topics import REPORT_STATUS
from sinks.clickhouse.client import run_sql
from sinks.clickhouse.store import StoreError
from sinks.clickhouse.tables import TABLES
from sinks.clickhouse.writer import GROUP_ID as SINK_GROUP
from streams.app import APP_ID as STREAM_GROUP
from streams.app import ROOM_ID as ROOM_GROUP

# The rate's default: twice the busiest minute of the flood scenario played at real speed.
FLOOD_SCENARIO = "banjir-batanghari"
PEAK_WINDOW_S = 60
PEAK_SEEDS = (1, 2, 3)
PEAK_START = datetime(2026, 11, 30, tzinfo=UTC)  # the sector feeds' cadence depends on the clock
SERVICES = ("worker", "sink", "gateway", "intake")
DRAIN_S = 120.0  # after the load stops, how long the pipeline has to store what was sent
REPORT_SENDERS = 8  # concurrent report POSTs at most (citizens do not queue behind each other)
MB = 1_000_000


def flood_peak_per_s(scenario: str = FLOOD_SCENARIO) -> float:
    """Events/s in the busiest PEAK_WINDOW_S of the scenario at real speed (the highest of PEAK_SEEDS)."""
    from connectors.simulator.scenarios import load, plan

    found = load(scenario)
    busiest = 0
    for seed in PEAK_SEEDS:
        windows = Counter(int(t.at.total_seconds() // PEAK_WINDOW_S) for t in plan(found, seed, PEAK_START))
        busiest = max(busiest, max(windows.values(), default=0))
    return busiest / PEAK_WINDOW_S


def default_rate() -> float:
    """Twice the flood scenario's peak, in events/s."""
    return round(2 * flood_peak_per_s(), 2)


class Sample(msgspec.Struct):
    """What the soak saw at one moment."""

    at_s: float  # since the load started
    rss_mb: dict[str, float]
    lag: dict[str, int]  # per consumer group, all its partitions
    dlq: int  # records added to posko.dlq since the start
    rows: int  # events stored in ClickHouse (every event table)
    sent: int  # simulated events sent (malformed ones included)
    malformed: int
    reports: int  # citizen reports the intake accepted (202)
    wall_messages: int  # messages the wall clients received


class Memory(msgspec.Struct):
    """One process's RSS over the run (MB), with its least-squares slope after the warm-up."""

    first_mb: float
    last_mb: float
    max_mb: float
    slope_mb_per_h: float


class Lag(msgspec.Struct):
    """One consumer group's lag (messages) over the run."""

    max: int
    last: int


class DeadLetters(msgspec.Struct):
    """Dead letters stored (each once) beside the malformed events the simulator sent on purpose."""

    records: int
    malformed_sent: int
    unexpected: int  # records beyond the malformed ones: good events the pipeline refused


class SoakResult(msgspec.Struct):
    """The soak's figures, printed as one JSON line."""

    minutes: float
    rate_per_s: float
    sent_per_s: float  # what the load generator achieved
    report_rate_per_s: float
    walls: int
    samples: int
    warm_up_s: float
    rss: dict[str, Memory]
    lag: dict[str, Lag]
    dead_letters: DeadLetters
    events_sent: int
    reports_accepted: int
    report_answers: dict[str, int]
    rows_expected: int  # valid events sent + reports accepted
    rows_stored: int
    missing: int
    wall_messages: int
    restarts: dict[str, int]
    drained: bool  # the worker's and sink's lag reached 0 and every row was stored after the load stopped


class Load:
    """What the load has done so far."""

    def __init__(self) -> None:
        self.events = SimulationStats()
        self.answers: Counter[str] = Counter()
        self.wall_messages = 0

    def on_wall_message(self, data: bytes) -> list[str]:
        """Count a message a wall client received (kept as a count: the load's RSS is measured)."""
        self.wall_messages += 1
        return []


async def _post_reports(url: str, keys: dict[Channel, str], rate: float, seconds: float,
                        answers: Counter[str]) -> None:
    """POST citizen reports at `rate` per second for `seconds`, paced by a deadline clock."""
    if rate <= 0:
        return
    simulator = Simulator(random.Random(7))
    slots = asyncio.Semaphore(REPORT_SENDERS)
    async with aiohttp.ClientSession(url, connector=aiohttp.TCPConnector(limit=REPORT_SENDERS)) as http:

        async def post(event: CitizenReportEvent) -> None:
            try:
                async with http.post("/v1/reports", data=_submission(event), headers={
                        "Authorization": f"Bearer {keys[event.payload.channel]}",
                        "Content-Type": "application/json"}) as answer:
                    await answer.read()
                    answers[str(answer.status)] += 1
            except aiohttp.ClientError as exc:
                answers[type(exc).__name__] += 1
            finally:
                slots.release()

        started = time.monotonic()
        pending: set[asyncio.Task[None]] = set()
        sent = 0
        while (due_at := started + sent / rate) < started + seconds:
            await asyncio.sleep(max(0.0, due_at - time.monotonic()))
            event = simulator.event(utc_now())
            if not isinstance(event, CitizenReportEvent):
                continue  # the simulator's mix has other kinds: draw again for the same slot
            await slots.acquire()
            task = asyncio.create_task(post(event))
            pending.add(task)
            task.add_done_callback(pending.discard)
            sent += 1
        await asyncio.gather(*pending)


def _letters(settings: Settings) -> int:
    """Dead letters stored, each once: a letter the worker sends again after a rewind (Faust's
    drops, streams/commits.py) is a second record on posko.dlq but not a second letter."""
    try:
        return int(run_sql(settings, "SELECT count() FROM posko.dead_letters", "TabSeparated",
                           open_directly=False))
    except (StoreError, OSError, ValueError):
        return -1  # the sink is busy starting or restarting: the next sample will tell


def _rows(settings: Settings) -> int:
    union = " + ".join(f"(SELECT count() FROM posko.{table})" for table in TABLES.values())
    try:
        return int(run_sql(settings, f"SELECT {union}", "TabSeparated", open_directly=False))
    except (StoreError, OSError, ValueError):
        return -1  # the sink is busy starting or restarting: the next sample will tell


def _pids(settings: Settings, services: list[Service]) -> dict[str, int]:
    try:
        pids = {"broker": int((settings.kafka_dir / "broker.pid").read_text())}
    except (OSError, ValueError):
        pids = {}  # a cluster named by POSKO_KAFKA: its memory is not on this machine
    pids |= {s.name: s.process.pid for s in services if s.process is not None}
    return pids | {"load": os.getpid()}


async def _sample(settings: Settings, services: list[Service], load: Load, dlq_start: int,
                  started: float) -> Sample:
    # The load's own memory only: the services and the broker are its children.
    rss = {name: round(process_rss_bytes(pid, descendants_too=name != "load") / MB, 1)
           for name, pid in _pids(settings, services).items()}
    positions = await group_positions(settings, lag_groups() | {RELAY_GROUP: [REPORT_STATUS]})
    lag = {group: sum(p.lag for p in tps.values()) for group, tps in positions.items()}
    dlq = _letters(settings) - dlq_start
    rows = await asyncio.to_thread(_rows, settings)
    return Sample(round(time.monotonic() - started, 1), rss, lag, dlq, rows, load.events.sent,
                  load.events.malformed, load.answers["202"], load.wall_messages)


def _line(sample: Sample) -> str:
    rss = " ".join(f"{name} {mb:,.0f}" for name, mb in sample.rss_mb.items())
    lag = " ".join(f"{group.removeprefix('posko-')} {n:,}" for group, n in sample.lag.items())
    return (f"{sample.at_s:7.0f} s  sent {sample.sent:,} ({sample.malformed:,} malformed) + "
            f"{sample.reports:,} reports, rows {sample.rows:,}, DLQ +{sample.dlq:,}, wall msgs "
            f"{sample.wall_messages:,} | lag {lag} | RSS MB {rss}")


async def _soak(settings: Settings, services: list[Service], keys: dict[Channel, str], wall: str,
                rate: float, report_rate: float, seconds: float, walls: int, every_s: float,
                malformed: float, samples_file: Path | None) -> tuple[list[Sample], Load, bool]:
    say = lambda line: print(line, file=sys.stderr, flush=True)  # noqa: E731
    load = Load()
    clients = Clients()
    await clients.open(f"ws://127.0.0.1:{settings.gateway_port}/ws", wall, walls, load.on_wall_message)
    dlq_start = max(0, _letters(settings))
    samples: list[Sample] = []
    out = samples_file.open("w") if samples_file is not None else None
    started = time.monotonic()
    producing = asyncio.gather(
        simulate(settings, rate, duration_s=seconds, malformed_ratio=malformed, seed=1, stats=load.events),
        _post_reports(f"http://127.0.0.1:{settings.intake_port}", keys, report_rate, seconds, load.answers))

    async def take() -> Sample | None:
        for service in services:
            if service.keep_running():  # a crash is a finding: note it, carry on
                say(f"posko {service.name} ended and was restarted:\n{service.tail(5)}")
        try:
            sample = await _sample(settings, services, load, dlq_start, started)
        except (KafkaError, TimeoutError, OSError) as exc:
            # One slow answer from the broker must not end an hour's run: the next sample counts.
            say(f"sample skipped: the broker did not answer ({exc!r})")
            return None
        samples.append(sample)
        say(_line(sample))
        if out is not None:
            out.write(msgspec.json.encode(sample).decode() + "\n")
            out.flush()
        return sample

    try:
        next_at = started
        while not producing.done():
            next_at += every_s  # a deadline clock: sampling does not drift by its own duration
            await asyncio.wait([producing], timeout=max(0.0, next_at - time.monotonic()))
            if not producing.done():
                await take()
        await producing
        say(f"load stopped after {time.monotonic() - started:.0f} s; waiting for the pipeline to drain…")
        expected = load.events.sent - load.events.malformed + load.answers["202"]
        deadline = time.monotonic() + DRAIN_S
        drained = False
        while time.monotonic() < deadline:
            sample = await take()
            # The relay's lag is left out: it commits the last record's offset + 1, short of the
            # commit marker that ends each transaction, so 1 per partition stays; its work shows
            # in the rows (every accepted report is a row).
            if sample is not None and sample.rows >= expected and not sample.lag[STREAM_GROUP] \
                    and not sample.lag[ROOM_GROUP] and not sample.lag[SINK_GROUP]:
                drained = True
                break
            await asyncio.sleep(min(every_s, 2.0))
        return samples, load, drained
    finally:
        producing.cancel()
        await clients.close()
        if out is not None:
            out.close()


def _slope_per_hour(points: list[tuple[float, float]]) -> float:
    if len(points) < 2 or len({t for t, _ in points}) < 2:
        return 0.0
    fit = statistics.linear_regression([t for t, _ in points], [v for _, v in points])
    return fit.slope * 3600


def summarise(samples: list[Sample], load: Load, warm_up_s: float, seconds: float, rate: float,
              report_rate: float, walls: int, restarts: dict[str, int], drained: bool) -> SoakResult:
    """The run's figures from its samples."""
    names = list(dict.fromkeys(name for s in samples for name in s.rss_mb))
    rss = {}
    for name in names:
        series = [(s.at_s, s.rss_mb[name]) for s in samples if name in s.rss_mb]
        steady = [p for p in series if warm_up_s <= p[0] <= seconds] or series
        rss[name] = Memory(series[0][1], series[-1][1], max(v for _, v in series),
                           round(_slope_per_hour(steady), 1))
    groups = list(dict.fromkeys(g for s in samples for g in s.lag))
    lag = {g: Lag(max(s.lag.get(g, 0) for s in samples), samples[-1].lag.get(g, 0)) for g in groups}
    last = samples[-1] if samples else Sample(0, {}, {}, 0, 0, 0, 0, 0, 0)
    sent, malformed = load.events.sent, load.events.malformed
    accepted = load.answers["202"]
    expected = sent - malformed + accepted
    return SoakResult(
        minutes=round(seconds / 60, 2), rate_per_s=rate, sent_per_s=round(sent / max(seconds, 1e-9), 2),
        report_rate_per_s=report_rate, walls=walls, samples=len(samples), warm_up_s=warm_up_s, rss=rss,
        lag=lag, dead_letters=DeadLetters(last.dlq, malformed, last.dlq - malformed), events_sent=sent,
        reports_accepted=accepted, report_answers=dict(load.answers), rows_expected=expected,
        rows_stored=last.rows, missing=expected - last.rows, wall_messages=load.wall_messages,
        restarts=restarts, drained=drained,
    )


def run_soak_bench(base: Settings, minutes: float, rate: float, report_share: float = 0.1, walls: int = 20,
                   every_s: float = 10.0, warm_up_s: float | None = None, malformed: float = 0.01,
                   samples_file: Path | None = None) -> SoakResult:
    """Run the stack under steady load for `minutes`; a line per sample on stderr, one JSON line on stdout."""
    say = lambda line: print(line, file=sys.stderr, flush=True)  # noqa: E731
    seconds = minutes * 60
    # The first minutes fill caches, JIT and pools: memory that grows then is not a leak.
    warm_up = warm_up_s if warm_up_s is not None else min(0.1 * seconds, 300.0)
    report_rate = round(rate * report_share, 3)
    with tempfile.TemporaryDirectory(prefix="posko-bench-soak-") as home:
        env, settings = bench_env(base, home, POSKO_GATEWAY_PORT=str(free_port()),
                                  POSKO_INTAKE_PORT=str(free_port()))
        say(broker.start(settings))
        services = [Service(name, Path(home) / "logs", env) for name in SERVICES]
        try:
            asyncio.run(create_topics(settings))
            for service in services:
                service.start()
            _wait_for_worker(settings)
            intake = next(s for s in services if s.name == "intake")
            _wait_healthy(intake)
            store = CredentialStore(Path(home))
            keys = {c: store.issue(f"soak-{c}", Role.CHANNEL, channel=c)[1] for c in Channel}
            wall = store.issue("Dinding Soak", Role.WALL, hours=minutes / 60 + 1)[1]
            say(f"soak: {rate:g} events/s and {report_rate:g} reports/s for {minutes:g} min, {walls} walls, "
                f"a sample every {every_s:g} s (warm-up {warm_up:g} s)…")
            samples, load, drained = run_async(_soak(
                settings, services, keys, wall, rate, report_rate, seconds, walls, every_s, malformed,
                samples_file))
        finally:
            for service in services:
                service.stop()
            broker.stop(settings)
    result = summarise(samples, load, warm_up, seconds, rate, report_rate, walls,
                       {s.name: s.restarts for s in services}, drained)
    for name, memory in result.rss.items():
        say(f"{name:8} RSS {memory.first_mb:,.0f} → {memory.last_mb:,.0f} MB (max {memory.max_mb:,.0f}), "
            f"slope {memory.slope_mb_per_h:+,.1f} MB/h")
    say(f"lag {({g: (lag.max, lag.last) for g, lag in result.lag.items()})} (max, last); DLQ "
        f"+{result.dead_letters.records} for {result.dead_letters.malformed_sent} malformed sent; rows "
        f"{result.rows_stored:,} of {result.rows_expected:,} expected")
    print(msgspec.json.encode(result).decode(), flush=True)
    return result

