"""`posko bench pipeline`: raw topics → ClickHouse rows, beside a bare aiokafka + msgspec consumer.

Two phases, on a broker and store of its own:
1. Throughput: N simulated events are loaded onto the raw topics; the whole pipeline (Faust
   worker + ClickHouse sink, as real processes) drains them, and so does the baseline, a bare
   aiokafka consumer decoding the same messages with msgspec. Both rates are steady-state
   (counted from the first row stored), so process start-up is not in them.
2. Latency: events are produced at a steady rate; for each one the time from produce
   (`received_at`) to its row being inserted (`ingested_at`) is measured, beside the bare
   consumer's produce → decoded time for the same messages.
"""

from __future__ import annotations

import asyncio
import os
import random
import sys
import tempfile
import time
from pathlib import Path

import msgspec
from aiokafka import AIOKafkaConsumer

from bench.home import bench_env
from connectors.publisher import RawPublisher
from connectors.simulator.stream import Simulator
from posko.kafka import broker
from posko.kafka.topics import create_topics
from posko.services import Service, process_cpu_seconds
from posko.settings import Settings
from schemas.events import Event, Kind, utc_now
from schemas.raw import RawMessage
from schemas.topics import raw_topic
from sinks.clickhouse.client import run_sql
from sinks.clickhouse.store import StoreError
from sinks.clickhouse.tables import TABLES

LATENCY_RATE = 500  # well below what the pipeline sustains here, so queueing is not measured
LATENCY_SECONDS = 10


class Result(msgspec.Struct):
    """The benchmark's figures, printed as one JSON line."""

    events: int
    produce_per_s: float
    pipeline_per_s: float
    baseline_per_s: float
    ratio: float
    latency_rate: int
    pipeline_latency_ms: dict[str, float]
    baseline_latency_ms: dict[str, float]
    cpu_seconds: dict[str, float]
    drain_seconds: float


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


async def _produce(settings: Settings, messages: list[RawMessage], rate: float | None = None) -> float:
    started = time.monotonic()
    async with RawPublisher(settings) as publisher:
        if rate is None:
            for i in range(0, len(messages), 5_000):
                await publisher.publish(messages[i:i + 5_000])
        else:
            sent = 0
            while sent < len(messages):
                due = min(int(rate * (time.monotonic() - started + 0.02)), len(messages))
                if due > sent:
                    batch = [_restamp(m) for m in messages[sent:due]]
                    await publisher.publish(batch)
                    sent = due
                await asyncio.sleep(0.01)
    return time.monotonic() - started


def _restamp(message: RawMessage) -> RawMessage:
    # Latency is measured from received_at, so it is set at the moment of sending.
    event = msgspec.json.decode(message.value, type=Event)
    now = utc_now()
    stamped = msgspec.structs.replace(event, received_at=now, occurred_at=now)
    return msgspec.structs.replace(message, value=msgspec.json.encode(stamped))


async def _bare_consumer(settings: Settings, expected: int, source: bytes,
                         latencies: list[float] | None = None) -> float:
    """The baseline: read the raw topics and decode each event with msgspec; return the rate."""
    decoder = msgspec.json.Decoder(Event)
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
                    try:
                        event = decoder.decode(record.value)
                    except msgspec.DecodeError:
                        pass  # malformed on purpose: counted like the pipeline counts it
                    else:
                        if latencies is not None:
                            latencies.append((utc_now() - event.received_at).total_seconds() * 1000)
                    seen += 1
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


def _drain_rate(settings: Settings, source: str, total: int, timeout_s: float) -> tuple[float, float]:
    """(events/s, seconds) from the first row stored until all `total` are stored."""
    deadline = time.monotonic() + timeout_s
    first: tuple[float, int] | None = None
    while time.monotonic() < deadline:
        count = _stored(settings, source)
        now = time.monotonic()
        if count > 0 and first is None:
            first = (now, count)
        if count >= total and first is not None:
            seconds = now - first[0]
            return (count - first[1]) / max(seconds, 1e-9), seconds
        time.sleep(0.5)
    raise TimeoutError(f"the pipeline stored {_stored(settings, source)} of {total} in {timeout_s:.0f} s")


def run_pipeline_bench(base: Settings, events: int) -> Result:
    """Run both phases and print the figures (human lines on stderr, one JSON line on stdout)."""
    with tempfile.TemporaryDirectory(prefix="posko-bench-") as home:
        env, settings = bench_env(base, home)
        say = lambda line: print(line, file=sys.stderr, flush=True)  # noqa: E731
        say(broker.start(settings))
        services = [Service("sink", Path(home) / "logs", env), Service("worker", Path(home) / "logs", env)]
        try:
            asyncio.run(create_topics(settings))
            say(f"generating {events:,} simulated events…")
            messages = _messages(events, "bench-load", seed=1)
            produce_s = asyncio.run(_produce(settings, messages))
            say(f"loaded onto the raw topics in {produce_s:.1f} s ({events / produce_s:,.0f}/s)")
            baseline = asyncio.run(_bare_consumer(settings, events, b'"bench-load"'))
            say(f"baseline (bare aiokafka + msgspec decode): {baseline:,.0f} events/s")
            valid = sum(1 for m in messages if m.flaw is None)
            cpu_before = {"broker": _broker_cpu(settings)}
            for service in services:
                service.start()
            wall = time.monotonic()
            pipeline, drain_s = _drain_rate(settings, "bench-load", valid, timeout_s=600)
            wall = time.monotonic() - wall
            cpu = {s.name: round(s.cpu_seconds(), 1) for s in services}
            cpu["broker"] = round(_broker_cpu(settings) - cpu_before["broker"], 1)
            cpu["wall"] = round(wall, 1)
            say(f"pipeline (Faust worker + ClickHouse sink): {pipeline:,.0f} events/s "
                f"({pipeline / baseline:.2f}× the baseline); CPU s over {wall:.0f} s wall: {cpu}")

            paced = _messages(LATENCY_RATE * LATENCY_SECONDS, "bench-latency", seed=2)
            paced = [m for m in paced if m.flaw is None]
            bare: list[float] = []

            async def latency_phase() -> None:
                consumer = asyncio.create_task(
                    _bare_consumer(settings, len(paced), b'"bench-latency"', bare))
                await _produce(settings, paced, rate=LATENCY_RATE)
                await consumer

            asyncio.run(latency_phase())
            _drain_rate(settings, "bench-latency", len(paced), timeout_s=120)
            union = " UNION ALL ".join(
                f"SELECT dateDiff('millisecond', received_at, ingested_at) AS ms FROM posko.{t} "
                "WHERE source = 'bench-latency'" for t in TABLES.values())
            out = run_sql(settings, f"SELECT ms FROM ({union})", "TabSeparated").split()
            pipeline_latency = _percentiles([float(v) for v in out])
            baseline_latency = _percentiles(bare)
            say(f"latency at {LATENCY_RATE}/s, produce → row stored: {pipeline_latency}; "
                f"baseline produce → decoded: {baseline_latency}")
        finally:
            for service in services:
                service.stop()
            broker.stop(settings)
    result = Result(
        events=events, produce_per_s=round(events / produce_s), pipeline_per_s=round(pipeline),
        baseline_per_s=round(baseline), ratio=round(pipeline / baseline, 3), latency_rate=LATENCY_RATE,
        pipeline_latency_ms=pipeline_latency, baseline_latency_ms=baseline_latency, cpu_seconds=cpu,
        drain_seconds=round(drain_s, 1),
    )
    print(msgspec.json.encode(result).decode(), flush=True)
    return result


def _broker_cpu(settings: Settings) -> float:
    try:
        pid = int((settings.kafka_dir / "broker.pid").read_text())
    except (OSError, ValueError):
        return 0.0
    return process_cpu_seconds(pid)
