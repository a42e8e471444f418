"""`posko bench pipeline`: raw topics → ClickHouse rows, beside a bare aiokafka + msgspec consumer.

On a broker and store of its own, for each record form (single: one event a record, as an
outside sender writes; batched: newline-delimited batches, as Posko's own producers write,
schemas/batch.py):
1. Throughput: N simulated events are loaded onto the raw topics with the pipeline stopped; the
   bare consumer (aiokafka, decoding the same records with msgspec) reads them, then the whole
   pipeline (Faust worker + ClickHouse sink, as real processes) drains them. Rates and CPU µs per
   event (worker, sink, broker) are steady-state: counted from the first row stored, so process
   start-up is not in them. The services then run on until every consumer group has committed
   everything (`settled_seconds`: the room's incidents lag the rows under a backlog), so no
   phase inherits work from the one before.
2. Latency (batched), from a settled pipeline: events are produced at LATENCY_RATE/s; for each
   one the time from produce (`received_at`) to its row being inserted (`ingested_at`), beside
   the bare consumer's produce → decoded time for the same messages.
"""

from __future__ import annotations

import asyncio
import os
import random
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import msgspec
from aiokafka import AIOKafkaConsumer

from bench.home import bench_env, lag_groups
from connectors.publisher import RawPublisher, packed
from connectors.simulator.stream import Simulator
from posko.kafka import broker
from posko.kafka.offsets import group_positions
from posko.kafka.topics import create_topics
from posko.services import Service, descendants, process_cpu_seconds
from posko.settings import Settings
from schemas.batch import as_array, is_batch, lines
from schemas.events import Event, Kind, utc_now
from schemas.raw import RawMessage
from schemas.topics import raw_topic
from sinks.clickhouse.client import run_sql
from sinks.clickhouse.store import StoreError
from sinks.clickhouse.tables import TABLES

LATENCY_RATE = 1_000  # the rate; well below what the pipeline sustains here
LATENCY_SECONDS = 10
FORMS = ("single", "batched")  # one event a record (outside senders), batches (Posko's producers)


class Phase(msgspec.Struct):
    """The figures of one record form: throughput beside the bare consumer, CPU per event."""

    form: str
    records: int
    pipeline_per_s: float
    baseline_per_s: float
    ratio: float
    cpu_us_per_event: dict[str, float]
    cpu_seconds: dict[str, float]
    drain_seconds: float
    # Services started again during the drain: their CPU before the restart is not counted.
    restarts: dict[str, int]
    # From the first row stored until the worker and the sink had committed everything: the
    # room's incidents and decision support included (they lag the rows under a backlog).
    settled_seconds: float
    settled_cpu_us_per_event: dict[str, float]  # over that span, per event of the phase


class Result(msgspec.Struct):
    """The benchmark's figures, printed as one JSON line."""

    events: int
    produce_per_s: float
    phases: list[Phase]
    latency_rate: int
    pipeline_latency_ms: dict[str, float]
    baseline_latency_ms: dict[str, float]


def _messages(count: int, source: str, seed: int) -> list[RawMessage]:
    simulator = Simulator(random.Random(seed))
    now = utc_now()
    out = []
    for _ in range(count):
        message = simulator.raw(now)
        event = msgspec.json.decode(message.value, type=Event)
        out.append(msgspec.structs.replace(
            message, value=msgspec.json.encode(msgspec.structs.replace(event, source=source))))
    return out


def _stored(settings: Settings, source: str) -> int:
    union = " + ".join(f"(SELECT count() FROM posko.{t} WHERE source = '{source}')" for t in TABLES.values())
    try:
        return int(run_sql(settings, f"SELECT {union}", "TabSeparated", open_directly=False))
    except (StoreError, OSError, ValueError):
        return -1


async def _produce(settings: Settings, messages: list[RawMessage], rate: float | None = None,
                   batched: bool = True) -> tuple[float, int]:
    """Send the messages (all at once, or paced at `rate`/s); (seconds, records written)."""
    started = time.monotonic()
    records = 0
    async with RawPublisher(settings) as publisher:
        if rate is None:
            for i in range(0, len(messages), 5_000):
                chunk = messages[i:i + 5_000]
                await publisher.publish(chunk, batched)
                records += len(packed(chunk)) if batched else len(chunk)
        else:
            sent = 0
            while sent < len(messages):
                due = min(int(rate * (time.monotonic() - started + 0.02)), len(messages))
                if due > sent:
                    batch = [_restamp(m) for m in messages[sent:due]]
                    await publisher.publish(batch, batched)
                    records += len(packed(batch)) if batched else len(batch)
                    sent = due
                await asyncio.sleep(0.01)
    return time.monotonic() - started, records


def _restamp(message: RawMessage) -> RawMessage:
    # Latency is measured from received_at, so it is set at the moment of sending.
    event = msgspec.json.decode(message.value, type=Event)
    now = utc_now()
    stamped = msgspec.structs.replace(event, received_at=now, occurred_at=now)
    return msgspec.structs.replace(message, value=msgspec.json.encode(stamped))


async def _bare_consumer(settings: Settings, expected: int, source: bytes,
                         latencies: list[float] | None = None) -> float:
    """The baseline: read the raw topics and decode each event with msgspec (a batched record's
    lines in one call, as the worker does); return the rate in events/s."""
    decoder = msgspec.json.Decoder(Event)
    many = msgspec.json.Decoder(list[Event])
    consumer = AIOKafkaConsumer(
        *[raw_topic(kind) for kind in Kind], bootstrap_servers=settings.bootstrap_servers,
        group_id=f"bench-baseline-{os.getpid()}-{time.monotonic_ns()}", auto_offset_reset="earliest",
        enable_auto_commit=False, max_partition_fetch_bytes=8 * 1024 * 1024,
    )
    await consumer.start()
    seen = 0
    first: float | None = None
    try:
        while seen < expected:
            batch = await consumer.getmany(timeout_ms=500, max_records=20_000)
            for records in batch.values():
                for record in records:
                    if not record.value or source not in record.value:
                        continue
                    value = record.value
                    found = [line for _, line in lines(value)] if is_batch(value) else [value]
                    try:
                        events = (many.decode(as_array(found)) if len(found) > 1
                                  else [decoder.decode(found[0])])
                    except msgspec.DecodeError:
                        events = []  # malformed on purpose: counted like the pipeline counts it
                    if latencies is not None:
                        now = utc_now()
                        latencies.extend((now - e.received_at).total_seconds() * 1000 for e in events)
                    seen += len(found)
                    if first is None:
                        first = time.monotonic()
        return seen / max(time.monotonic() - (first or time.monotonic()), 1e-9)
    finally:
        await consumer.stop()


def _percentiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {}
    ordered = sorted(values)
    return {f"p{int(q * 100)}": round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 1)
            for q in (0.5, 0.95, 0.99)} | {"max": round(ordered[-1], 1)}


def _drain_rate(settings: Settings, source: str, total: int, timeout_s: float,
                on_first: Callable[[], None] = lambda: None,
                services: Sequence[Service] = ()) -> tuple[float, float]:
    """(events/s, seconds) from the first row stored (when `on_first` is called) until all
    `total` are stored; a service that exits is started again, as a supervisor would (the
    worker's commit watchdog ends it on purpose when Faust stalls)."""
    deadline = time.monotonic() + timeout_s
    first: tuple[float, int] | None = None
    while time.monotonic() < deadline:
        for service in services:
            service.keep_running()
        count = _stored(settings, source)
        now = time.monotonic()
        if count > 0 and first is None:
            first = (now, count)
            on_first()
        if count >= total and first is not None:
            seconds = now - first[0]
            return (count - first[1]) / max(seconds, 1e-9), seconds
        time.sleep(0.5)
    raise TimeoutError(f"the pipeline stored {_stored(settings, source)} of {total} in {timeout_s:.0f} s")


def run_pipeline_bench(base: Settings, events: int) -> Result:
    """Run every phase and print the figures (human lines on stderr, one JSON line on stdout)."""
    with tempfile.TemporaryDirectory(prefix="posko-bench-") as home:
        env, settings = bench_env(base, home)
        say = lambda line: print(line, file=sys.stderr, flush=True)  # noqa: E731
        say(broker.start(settings))
        services = [Service("sink", Path(home) / "logs", env), Service("worker", Path(home) / "logs", env)]
        try:
            asyncio.run(create_topics(settings))
            say(f"generating {events:,} simulated events…")
            phases = []
            for seed, form in enumerate(FORMS, 1):
                messages = _messages(events, f"bench-{form}", seed=seed)
                phase, produce_s = _throughput(settings, services, form, messages, say)
                phases.append(phase)
            paced = [m for m in _messages(LATENCY_RATE * LATENCY_SECONDS, "bench-latency", seed=9)
                     if m.flaw is None]
            pipeline_latency, baseline_latency = _latency(settings, services, paced)
            say(f"latency at {LATENCY_RATE}/s (batched records), produce → row stored: "
                f"{pipeline_latency}; baseline produce → decoded: {baseline_latency}")
        finally:
            for service in services:
                service.stop()
            broker.stop(settings)
    result = Result(events=events, produce_per_s=round(events / produce_s), phases=phases,
                    latency_rate=LATENCY_RATE, pipeline_latency_ms=pipeline_latency,
                    baseline_latency_ms=baseline_latency)
    print(msgspec.json.encode(result).decode(), flush=True)
    return result


def _throughput(settings: Settings, services: list[Service], form: str, messages: list[RawMessage],
                say: Callable[[str], None]) -> tuple[Phase, float]:
    """Load the messages with the services stopped, then drain them: pipeline beside the baseline."""
    source = f"bench-{form}"
    produce_s, records = asyncio.run(_produce(settings, messages, batched=form == "batched"))
    say(f"[{form}] {len(messages):,} events in {records:,} records loaded in {produce_s:.1f} s")
    baseline = asyncio.run(_bare_consumer(settings, len(messages), f'"{source}"'.encode()))
    say(f"[{form}] baseline (bare aiokafka + msgspec decode): {baseline:,.0f} events/s")
    valid = sum(1 for m in messages if m.flaw is None)
    before: dict[str, float] = {}

    def steady() -> None:  # CPU from the first row stored: start-up is not in it, as in the rate
        before.update(_cpu(settings, services))
        before["wall"] = time.monotonic()

    restarts = {s.name: s.restarts for s in services}
    for service in services:
        service.start()
    pipeline, drain_s = _drain_rate(settings, source, valid, timeout_s=600, on_first=steady,
                                    services=services)
    wall = time.monotonic() - before["wall"]
    cpu = {name: seconds - before[name] for name, seconds in _cpu(settings, services).items()}
    # The next phase starts from a stopped pipeline with nothing left to do: a backlog of
    # signals still being correlated would otherwise run in it.
    _settle(settings, services, timeout_s=600)
    settled_s = time.monotonic() - before["wall"]
    settled_cpu = {name: round((seconds - before[name]) * 1e6 / valid, 1)
                   for name, seconds in _cpu(settings, services).items()}
    say(f"[{form}] everything committed (incidents too) {settled_s:.0f} s after the first row; "
        f"CPU µs per event until then: {settled_cpu}")
    for service in services:
        service.stop()
    drained = pipeline * drain_s  # the events stored after the first row, over which CPU was read
    per_event = {name: round(seconds * 1e6 / max(drained, 1), 1) for name, seconds in cpu.items()}
    say(f"[{form}] pipeline (Faust worker + ClickHouse sink): {pipeline:,.0f} events/s "
        f"({pipeline / baseline:.2f}× the baseline); CPU µs per event: {per_event} over {wall:.0f} s")
    phase = Phase(form=form, records=records, pipeline_per_s=round(pipeline), baseline_per_s=round(baseline),
                  ratio=round(pipeline / baseline, 3), cpu_us_per_event=per_event,
                  cpu_seconds={name: round(v, 1) for name, v in cpu.items()} | {"wall": round(wall, 1)},
                  drain_seconds=round(drain_s, 1),
                  restarts={s.name: s.restarts - restarts[s.name] for s in services},
                  settled_seconds=round(settled_s, 1), settled_cpu_us_per_event=settled_cpu)
    return phase, produce_s


def _settle(settings: Settings, services: Sequence[Service], timeout_s: float) -> None:
    """Wait until the worker (both parts) and the sink have committed everything on their topics."""
    groups = lag_groups()
    deadline = time.monotonic() + timeout_s
    left: dict[str, int] = {}
    while time.monotonic() < deadline:
        for service in services:
            service.keep_running()
        positions = asyncio.run(group_positions(settings, groups))
        left = {group: sum(p.lag for p in tps.values()) for group, tps in positions.items()}
        if not any(left.values()):
            return
        time.sleep(0.5)
    raise TimeoutError(f"the worker and the sink still had {left} to commit after {timeout_s:.0f} s")


def _latency(settings: Settings, services: list[Service],
             paced: list[RawMessage]) -> tuple[dict[str, float], dict[str, float]]:
    """Produce → row latency at LATENCY_RATE with the pipeline running, beside the bare consumer."""
    for service in services:
        service.start()
    # Warm first: a few events through to their rows, so the worker's start (its group joined,
    # the room's incidents and escalations read back) is not in the latency.
    warm = [m for m in _messages(20, "bench-warm", seed=8) if m.flaw is None]
    asyncio.run(_produce(settings, warm))
    _drain_rate(settings, "bench-warm", len(warm), timeout_s=120, services=services)
    _settle(settings, services, timeout_s=120)
    bare: list[float] = []

    async def phase() -> None:
        consumer = asyncio.create_task(_bare_consumer(settings, len(paced), b'"bench-latency"', bare))
        await _produce(settings, paced, rate=LATENCY_RATE)
        await consumer

    asyncio.run(phase())
    _drain_rate(settings, "bench-latency", len(paced), timeout_s=120, services=services)
    union = " UNION ALL ".join(
        f"SELECT dateDiff('millisecond', received_at, ingested_at) AS ms FROM posko.{t} "
        "WHERE source = 'bench-latency'" for t in TABLES.values())
    out = run_sql(settings, f"SELECT ms FROM ({union})", "TabSeparated").split()
    return _percentiles([float(v) for v in out]), _percentiles(bare)


def _cpu(settings: Settings, services: Sequence[Service]) -> dict[str, float]:
    """CPU seconds so far of each service and the broker; the worker's route part (`worker`)
    apart from its room part (`room`, its child)."""
    out = {"broker": _broker_cpu(settings)}
    for service in services:
        pids = descendants(service.process.pid) if service.process else []
        own = process_cpu_seconds(pids[0]) if pids else 0.0
        out[service.name] = own if service.name == "worker" else sum(map(process_cpu_seconds, pids))
        if service.name == "worker":
            out["room"] = sum(map(process_cpu_seconds, pids[1:]))
    return out


def _broker_cpu(settings: Settings) -> float:
    try:
        pid = int((settings.kafka_dir / "broker.pid").read_text())
    except (OSError, ValueError):
        return 0.0
    return process_cpu_seconds(pid)
