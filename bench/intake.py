"""`posko bench intake`: accepted reports/s and latency through the HTTP intake, beside the bare producer.

On a broker of its own, `posko intake` runs as a real process (uvicorn). N simulated citizen
reports are POSTed by C concurrent HTTP clients (aiohttp, keep-alive connections); a report
counts when its 202 arrives, i.e. once it is committed to Kafka. The baseline, in the same
run, is the bare producer the intake is measured against: an idempotent aiokafka producer with
acks=all, C concurrent senders, each sending the same report events one at a time and waiting
for the broker's ack.
"""

from __future__ import annotations

import asyncio
import random
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import aiohttp
import httpx
import msgspec
from aiokafka import AIOKafkaProducer

from bench.home import bench_env
from bench.pipeline import _broker_cpu, _percentiles
from connectors.simulator.stream import Simulator
from posko.credentials import CredentialStore
from posko.kafka import broker
from posko.kafka.topics import create_topics
from posko.net import free_port
from posko.services import Service
from posko.settings import Settings
from schemas.events import Channel, CitizenReportEvent, Kind, utc_now
from schemas.identity import Role
from schemas.topics import raw_topic

WARM_UP = 200


class Result(msgspec.Struct):
    """The benchmark's figures, printed as one JSON line."""

    reports: int
    clients: int
    intake_per_s: float
    baseline_per_s: float
    ratio: float
    intake_latency_ms: dict[str, float]
    baseline_latency_ms: dict[str, float]
    answers: dict[str, int]
    seconds: float
    cpu_seconds: dict[str, float]


def _reports(count: int) -> list[CitizenReportEvent]:
    simulator = Simulator(random.Random(5))
    found: list[CitizenReportEvent] = []
    now = utc_now()
    while len(found) < count:
        event = simulator.event(now)
        if isinstance(event, CitizenReportEvent):
            found.append(event)
    return found


def _submission(event: CitizenReportEvent) -> bytes:
    body: dict[str, Any] = msgspec.to_builtins(event.payload)
    body.update(region=event.region, occurred_at=event.occurred_at.isoformat())
    if event.location is not None:
        body["location"] = msgspec.to_builtins(event.location)
    return msgspec.json.encode(body)


async def _post_all(url: str, keys: dict[Channel, str], events: list[CitizenReportEvent], clients: int,
                    answers: Counter[str]) -> tuple[float, list[float]]:
    """POST every report with `clients` concurrent clients; (seconds, latencies in ms)."""
    bodies = iter([(keys[e.payload.channel], _submission(e)) for e in events])
    latencies: list[float] = []
    # aiohttp rather than httpx here: httpx's client costs ~6 ms of CPU per request on this
    # machine, so it, not the intake, would be measured.
    connector = aiohttp.TCPConnector(limit=clients)
    async with aiohttp.ClientSession(url, connector=connector) as http:

        async def client() -> None:
            for key, body in bodies:
                started = time.perf_counter()
                async with http.post("/v1/reports", data=body, headers={
                        "Authorization": f"Bearer {key}", "Content-Type": "application/json"}) as answer:
                    await answer.read()
                latencies.append((time.perf_counter() - started) * 1000)
                answers[str(answer.status)] += 1

        started = time.perf_counter()
        await asyncio.gather(*(client() for _ in range(clients)))
        return time.perf_counter() - started, latencies


async def _bare_producer(settings: Settings, events: list[CitizenReportEvent], clients: int
                         ) -> tuple[float, list[float]]:
    """The baseline: the same events, `clients` concurrent senders each waiting for its ack."""
    producer = AIOKafkaProducer(bootstrap_servers=settings.bootstrap_servers, acks="all",
                                enable_idempotence=True)
    await producer.start()
    values = iter([((e.region or "").encode(), msgspec.json.encode(e)) for e in events + events[:10]])
    latencies: list[float] = []
    topic = raw_topic(Kind.CITIZEN_REPORT)

    async def sender() -> None:
        for key, value in values:
            started = time.perf_counter()
            await producer.send_and_wait(topic, value, key=key)
            latencies.append((time.perf_counter() - started) * 1000)

    try:
        for key, value in [next(values) for _ in range(min(len(events), 10))]:  # connections, metadata
            await producer.send_and_wait(topic, value, key=key)
        started = time.perf_counter()
        await asyncio.gather(*(sender() for _ in range(clients)))
        return time.perf_counter() - started, latencies
    finally:
        await producer.stop()


def run_intake_bench(base: Settings, reports: int, clients: int) -> Result:
    """Run the intake and the baseline; human lines on stderr, one JSON line on stdout."""
    say = lambda line: print(line, file=sys.stderr, flush=True)  # noqa: E731
    with tempfile.TemporaryDirectory(prefix="posko-bench-intake-") as home:
        env, settings = bench_env(base, home, POSKO_INTAKE_PORT=str(free_port()))
        say(broker.start(settings))
        service = Service("intake", Path(home) / "logs", env)
        try:
            asyncio.run(create_topics(settings))
            store = CredentialStore(Path(settings.home))
            keys = {channel: store.issue(f"bench-{channel}", Role.CHANNEL, channel=channel)[1]
                    for channel in Channel}
            service.start()
            url = f"http://127.0.0.1:{settings.intake_port}"
            _wait_healthy(url, service)
            events = _reports(reports + WARM_UP)
            warm_answers: Counter[str] = Counter()
            asyncio.run(_post_all(url, keys, events[:WARM_UP], clients, warm_answers))
            say(f"posting {reports:,} reports with {clients} concurrent clients…")
            answers: Counter[str] = Counter()
            cpu_before = (service.cpu_seconds(), _broker_cpu(settings), time.process_time())
            seconds, latencies = asyncio.run(_post_all(url, keys, events[WARM_UP:], clients, answers))
            cpu = {"intake": service.cpu_seconds() - cpu_before[0],
                   "broker": _broker_cpu(settings) - cpu_before[1],
                   "clients": time.process_time() - cpu_before[2]}
            cpu = {name: round(value, 1) for name, value in cpu.items()}
            intake_rate = answers["202"] / seconds
            say(f"intake: {intake_rate:,.0f} accepted reports/s, latency {_percentiles(latencies)} ms, "
                f"answers {dict(answers)}, CPU seconds over {seconds:.1f} s: {cpu}")
            base_seconds, base_latencies = asyncio.run(_bare_producer(settings, events[WARM_UP:], clients))
            baseline_rate = reports / base_seconds
            say(f"baseline (bare idempotent producer, acks=all): {baseline_rate:,.0f} events/s, "
                f"latency {_percentiles(base_latencies)} ms")
        finally:
            service.stop()
            broker.stop(settings)
    result = Result(
        reports=reports, clients=clients, intake_per_s=round(intake_rate, 1),
        baseline_per_s=round(baseline_rate, 1), ratio=round(intake_rate / baseline_rate, 3),
        intake_latency_ms=_percentiles(latencies), baseline_latency_ms=_percentiles(base_latencies),
        answers=dict(answers), seconds=round(seconds, 1), cpu_seconds=cpu,
    )
    print(msgspec.json.encode(result).decode(), flush=True)
    return result


def _wait_healthy(url: str, service: Service, timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        service.keep_running()
        try:
            if httpx.get(f"{url}/healthz", timeout=5).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    raise TimeoutError(f"the intake did not start in {timeout_s:.0f} s:\n{service.tail()}")

