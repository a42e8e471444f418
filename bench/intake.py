"""`posko bench intake`: accepted reports/s and latency through one intake and two, beside the bare producer.

On a broker of its own, `posko intake` runs as real processes (uvicorn). N simulated citizen
reports, each with an Idempotency-Key of its own as channels send them, are POSTed by C
concurrent HTTP clients on keep-alive connections; a report counts when its 202 arrives, i.e. once
it is committed to Kafka. The clients are wrk (`--load wrk`, the default where it is installed:
Debian's package, one C thread, bench/wrk/reports.lua) or aiohttp (`--load aiohttp`, in this
process): on two cores the clients share the machine with the intake and the broker, and aiohttp
spends 150-240 µs of CPU a report that wrk does not (docs/benchmarks.md).

Three runs in one: the bare producer the intake is measured against (an idempotent aiokafka
producer with acks=all, C concurrent senders, each sending the same report events one at a time
and waiting for the broker's ack), then one intake, then two intakes side by side (slots 0 and 1)
with the clients spread over both.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import shutil
import signal
import subprocess
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

# Reports sent before each measured run: connections, the JIT of a fresh broker, first transactions.
WARM_UP = 1_000


class Run(msgspec.Struct):
    """One measured run: rate, latency of each report, answers and CPU seconds by process."""

    per_s: float
    ratio: float  # against the bare producer
    latency_ms: dict[str, float]
    answers: dict[str, int]
    seconds: float
    cpu_seconds: dict[str, float]
    cpu_us_per_report: dict[str, float]


class Result(msgspec.Struct):
    """The benchmark's figures, printed as one JSON line."""

    reports: int
    clients: int
    load: str
    idempotency_keys: bool
    baseline_per_s: float
    baseline_latency_ms: dict[str, float]
    one_intake: Run
    two_intakes: Run


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


Load = tuple[float, list[float], float]  # seconds, latency of each report in ms, clients' CPU seconds
WRK_SCRIPT = Path(__file__).with_name("wrk") / "reports.lua"
WRK_TIMEOUT_S = 600


def _wrk_all(urls: list[str], keys: dict[Channel, str], events: list[CitizenReportEvent], clients: int,
             idempotency: bool, answers: Counter[str]) -> Load:
    """POST every report through wrk, one process per URL with its share of clients and reports."""
    with tempfile.TemporaryDirectory(prefix="posko-bench-wrk-") as folder:
        runs = []
        for n, url in enumerate(urls):
            listed = Path(folder) / f"reports-{n}.tsv"
            listed.write_bytes(b"".join(
                f"{keys[e.payload.channel]}\t{e.id if idempotency else ''}\t".encode()
                + _submission(e) + b"\n" for e in events[n::len(urls)]))
            share = max(1, clients // len(urls) + (n < clients % len(urls)))
            runs.append(subprocess.Popen(
                ["wrk", "-t1", f"-c{share}", f"-d{WRK_TIMEOUT_S}s", "-T30s", "-s", str(WRK_SCRIPT), url,
                 "--", str(listed)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT))
        seconds, latencies, cpu = 0.0, [], 0.0
        for run in runs:
            assert run.stdout is not None
            output = b""
            for line in run.stdout:  # until every report is answered, or wrk ends
                output += line
                if line == b"answered\n":
                    run.send_signal(signal.SIGINT)  # ends wrk's sleep; it prints its figures
            _, status, usage = os.wait4(run.pid, 0)
            run.returncode = os.waitstatus_to_exitcode(status)
            cpu += usage.ru_utime + usage.ru_stime
            lines = [line for line in output.splitlines() if line.startswith(b'{"seconds"')]
            if run.returncode != 0 or not lines:
                raise RuntimeError(f"wrk failed (exit {run.returncode}):\n{output.decode(errors='replace')}")
            found = msgspec.json.decode(lines[-1])
            seconds = max(seconds, found["seconds"])
            answers.update({status: count for status, count in found["answers"].items()})
            latencies += [value / 1000 for value, count in found["latency_us"] for _ in range(count)]
        return seconds, latencies, cpu


async def _post_all(urls: list[str], keys: dict[Channel, str], events: list[CitizenReportEvent],
                    clients: int, idempotency: bool, answers: Counter[str]) -> Load:
    """POST every report with `clients` concurrent aiohttp clients spread over `urls`."""
    bodies = iter([(keys[e.payload.channel], str(e.id), _submission(e)) for e in events])
    latencies: list[float] = []

    async def client(http: aiohttp.ClientSession) -> None:
        for key, name, body in bodies:
            headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
            if idempotency:
                headers["Idempotency-Key"] = name
            started = time.perf_counter()
            async with http.post("/v1/reports", data=body, headers=headers) as answer:
                await answer.read()
            latencies.append((time.perf_counter() - started) * 1000)
            answers[str(answer.status)] += 1

    # aiohttp rather than httpx here: httpx's client costs ~6 ms of CPU per request on this
    # machine, so it, not the intake, would be measured.
    async with contextlib.AsyncExitStack() as stack:
        sessions = [await stack.enter_async_context(aiohttp.ClientSession(
            url, connector=aiohttp.TCPConnector(limit=clients))) for url in urls]
        started, cpu = time.perf_counter(), time.process_time()
        await asyncio.gather(*(client(sessions[n % len(sessions)]) for n in range(clients)))
        return time.perf_counter() - started, latencies, time.process_time() - cpu


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


def run_intake_bench(base: Settings, reports: int, clients: int, idempotency: bool = True,
                     load: str | None = None) -> Result:
    """Run the baseline, one intake and two (clients on `load`, by default wrk where installed);
    human lines on stderr, one JSON line on stdout."""
    load = load or ("wrk" if shutil.which("wrk") else "aiohttp")
    if load == "wrk" and not shutil.which("wrk"):
        raise RuntimeError("--load wrk needs wrk on the PATH (Debian: apt-get install wrk); "
                           "or use --load aiohttp")
    _say(f"clients: {clients} on {load}")
    with tempfile.TemporaryDirectory(prefix="posko-bench-intake-") as home:
        env, settings = bench_env(base, home)
        _say(broker.start(settings))
        # One intake alone (POSKO_INTAKE_INSTANCES=1), then two side by side (each told of two).
        alone = _intake_service(env, home, 0, 1)
        intakes = [alone, _intake_service(env, home, 0, 2), _intake_service(env, home, 1, 2)]
        try:
            asyncio.run(create_topics(settings))
            store = CredentialStore(Path(settings.home))
            keys = {channel: store.issue(f"bench-{channel}", Role.CHANNEL, channel=channel)[1]
                    for channel in Channel}
            events = _reports(2 * (reports + WARM_UP))
            base_seconds, base_latencies = asyncio.run(_bare_producer(settings, events[:WARM_UP], clients))
            base_seconds, base_latencies = asyncio.run(_bare_producer(settings, events[WARM_UP:][:reports],
                                                                      clients))
            baseline_rate = reports / base_seconds
            _say(f"baseline (bare idempotent producer, acks=all): {baseline_rate:,.0f} events/s, "
                 f"latency {_percentiles(base_latencies)} ms")
            runs = []
            for running in ([alone], intakes[1:]):
                for service in intakes:
                    if service not in running:
                        service.stop()
                for service in running:
                    service.start()
                    _wait_healthy(service)
                urls = [_url(service) for service in running]
                chunk, events = events[:reports + WARM_UP], events[reports + WARM_UP:]
                runs.append(_measure(settings, running, urls, keys, chunk, clients, idempotency,
                                     baseline_rate, load))
        finally:
            for service in intakes:
                service.stop()
            broker.stop(settings)
    result = Result(reports=reports, clients=clients, load=load, idempotency_keys=idempotency,
                    baseline_per_s=round(baseline_rate, 1), baseline_latency_ms=_percentiles(base_latencies),
                    one_intake=runs[0], two_intakes=runs[1])
    print(msgspec.json.encode(result).decode(), flush=True)
    return result


def _intake_service(env: dict[str, str], home: str, slot: int, instances: int) -> Service:
    return Service("intake", Path(home) / "logs" / f"intake-{slot}-of-{instances}", {
        **env, "POSKO_INTAKE_PORT": str(free_port()), "POSKO_INTAKE_INSTANCE": str(slot),
        "POSKO_INTAKE_INSTANCES": str(instances)})


def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _url(service: Service) -> str:
    return f"http://127.0.0.1:{service.env['POSKO_INTAKE_PORT']}"


def _measure(settings: Settings, intakes: list[Service], urls: list[str], keys: dict[Channel, str],
             events: list[CitizenReportEvent], clients: int, idempotency: bool, baseline_rate: float,
             load: str) -> Run:
    """Warm up, then POST the rest of `events` through `urls` and measure."""
    def post(chunk: list[CitizenReportEvent], answers: Counter[str]) -> Load:
        if load == "wrk":
            return _wrk_all(urls, keys, chunk, clients, idempotency, answers)
        return asyncio.run(_post_all(urls, keys, chunk, clients, idempotency, answers))

    post(events[:WARM_UP], Counter())
    reports = len(events) - WARM_UP
    _say(f"posting {reports:,} reports with {clients} concurrent clients to {len(urls)} intake(s)…")
    answers: Counter[str] = Counter()
    cpu_before = ([s.cpu_seconds() for s in intakes], _broker_cpu(settings))
    seconds, latencies, clients_cpu = post(events[WARM_UP:], answers)
    cpu = {"intake": sum(s.cpu_seconds() for s in intakes) - sum(cpu_before[0]),
           "broker": _broker_cpu(settings) - cpu_before[1], "clients": clients_cpu}
    rate = answers["202"] / seconds
    run = Run(per_s=round(rate, 1), ratio=round(rate / baseline_rate, 3), latency_ms=_percentiles(latencies),
              answers=dict(answers), seconds=round(seconds, 1),
              cpu_seconds={name: round(value, 1) for name, value in cpu.items()},
              cpu_us_per_report={name: round(value / reports * 1e6) for name, value in cpu.items()})
    _say(f"{len(urls)} intake(s): {rate:,.0f} accepted reports/s, latency {run.latency_ms} ms, answers "
         f"{run.answers}, CPU seconds over {seconds:.1f} s: {run.cpu_seconds}, µs per report "
         f"{run.cpu_us_per_report}")
    return run


def _wait_healthy(service: Service, timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        service.keep_running()
        try:
            if httpx.get(f"{_url(service)}/healthz", timeout=5).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    raise TimeoutError(f"the intake did not start in {timeout_s:.0f} s:\n{service.tail()}")
