"""`posko bench fanout`: Kafka produce → websocket receive latency through the push gateway.

For each number of connected clients (100, 500, 1,000 by default), alerts are produced onto
posko.alerts at a steady rate; every client records when each alert arrives. The same clients
and the same rate are run against the baseline, a bare aiokafka consumer calling
`websockets.broadcast` (bench/broadcast_server.py), in the same run, and the ratio of the p99s is
reported. Gateway, baseline and clients are separate processes on this machine, sharing its cores
with the broker; the clients' own event loop is part of every figure, for both sides alike.
"""

from __future__ import annotations

import asyncio
import os
import resource
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import cast
from urllib.parse import urlsplit

import msgspec
from aiokafka import AIOKafkaProducer
from websockets.client import ClientProtocol
from websockets.frames import Frame, Opcode
from websockets.http11 import Response
from websockets.uri import parse_uri

from bench.home import bench_env
from posko.credentials import CredentialStore
from posko.kafka import broker
from posko.kafka.topics import create_topics
from posko.loop import run_async
from posko.net import free_port
from posko.services import Service, process_cpu_seconds
from posko.settings import Settings
from schemas.events import Alert, Kind, Severity, Urgency, new_event_id, utc_now
from schemas.identity import Role
from schemas.regions import Region
from schemas.topics import ALERTS

CONNECT_BATCH = 50


class _AlertId(msgspec.Struct):
    id: str


class _Pushed(msgspec.Struct):
    type: str
    alert: _AlertId | None = None


class Run(msgspec.Struct):
    """One server (gateway or baseline) with one number of clients."""

    latency_ms: dict[str, float]
    delivered: int
    expected: int
    server_cpu_s: float


class Step(msgspec.Struct):
    """Gateway and baseline at one number of clients."""

    clients: int
    gateway: Run
    baseline: Run
    p99_ratio: float


class Result(msgspec.Struct):
    """The benchmark's figures, printed as one JSON line."""

    rate_per_s: float
    seconds: float
    steps: list[Step]


_pushed = msgspec.json.Decoder(_Pushed)


def _percentiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {}
    ordered = sorted(values)
    return {f"p{q}": round(ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))], 1)
            for q in (50, 90, 99)} | {"max": round(ordered[-1], 1)}


def alert_ids(data: bytes) -> list[str]:
    """The id of the alert a pushed message carries, if it is one."""
    message = _pushed.decode(data)
    return [message.alert.id] if message.alert is not None else []


class _Listener(asyncio.Protocol):
    """One websocket client on websockets' Sans-I/O protocol: cheap enough to run a thousand here."""

    def __init__(self, uri: str, auth: bytes, arrivals: dict[str, float],
                 opened: asyncio.Future[None], keys_of: Callable[[bytes], list[str]] = alert_ids) -> None:
        self.protocol = ClientProtocol(parse_uri(uri), max_size=None)
        self.request = self.protocol.connect()
        self.auth = auth
        self.arrivals = arrivals
        self.opened = opened
        self.keys_of = keys_of
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """Send the opening handshake."""
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        self.protocol.send_request(self.request)
        self._flush()

    def data_received(self, data: bytes) -> None:
        """Note the arrival time of everything `keys_of` finds in the data."""
        now = time.time()
        self.protocol.receive_data(data)
        for event in self.protocol.events_received():
            if isinstance(event, Response):
                if self.protocol.handshake_exc is not None:
                    self.opened.set_exception(self.protocol.handshake_exc)
                    continue
                self.protocol.send_text(self.auth)
                self.opened.set_result(None)
            elif isinstance(event, Frame) and event.opcode is Opcode.TEXT:
                for key in self.keys_of(bytes(event.data)):
                    self.arrivals.setdefault(key, now)
        self._flush()

    def _flush(self) -> None:
        assert self.transport is not None
        for chunk in self.protocol.data_to_send():
            if chunk:
                self.transport.write(chunk)
            elif self.transport.can_write_eof():
                self.transport.write_eof()

    def close(self) -> None:
        """Close the connection."""
        if self.transport is not None and not self.transport.is_closing():
            self.protocol.send_close()
            self._flush()
            self.transport.close()


class Clients:
    """N websocket clients in this process, each noting when every alert reached it."""

    def __init__(self) -> None:
        self.listeners: list[_Listener] = []
        self.arrivals: list[dict[str, float]] = []

    async def open(self, url: str, token: str, count: int,
                   keys_of: Callable[[bytes], list[str]] = alert_ids) -> None:
        """Connect and authenticate `count` clients, noting what `keys_of` finds in their messages."""
        auth = msgspec.json.encode({"type": "auth", "token": token})
        loop = asyncio.get_running_loop()
        parts = urlsplit(url)
        host, port = parts.hostname or "127.0.0.1", parts.port or 80

        async def one() -> None:
            arrivals: dict[str, float] = {}
            opened: asyncio.Future[None] = loop.create_future()
            listener = _Listener(url, auth, arrivals, opened, keys_of)
            await loop.create_connection(lambda: listener, host, port)
            await asyncio.wait_for(opened, 60)
            self.listeners.append(listener)
            self.arrivals.append(arrivals)

        for start in range(0, count, CONNECT_BATCH):
            await asyncio.gather(*(one() for _ in range(min(CONNECT_BATCH, count - start))))

    async def wait_for(self, ids: Sequence[str], timeout_s: float) -> int:
        """Wait until every client has every alert (or the timeout); return the deliveries seen."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if all(all(i in arrivals for i in ids) for arrivals in self.arrivals):
                break
            await asyncio.sleep(0.2)
        return sum(sum(1 for i in ids if i in arrivals) for arrivals in self.arrivals)

    async def close(self) -> None:
        """Close every connection."""
        for listener in self.listeners:
            listener.close()


def _alert(marker: str, i: int) -> Alert:
    regions = list(Region)
    return Alert(id=new_event_id(), event_kind=Kind.DISASTER_ALERT, source=marker, occurred_at=utc_now(),
                 region=regions[i % len(regions)], location=None, severity=Severity.SEVERE,
                 urgency=Urgency.IMMEDIATE, headline=f"Banjir uji beban {i}",
                 description="Air naik di permukiman tepi sungai; warga bersiap mengungsi.",
                 reason="bench fanout")


async def _produce(settings: Settings, alerts: list[Alert], rate: float) -> dict[str, float]:
    """Produce at `rate`/s; return each alert's produce time (wall clock, seconds)."""
    producer = AIOKafkaProducer(bootstrap_servers=settings.bootstrap_servers, acks="all", linger_ms=0)
    await producer.start()
    sent: dict[str, float] = {}
    try:
        started = time.monotonic()
        for i, alert in enumerate(alerts):
            await asyncio.sleep(max(0.0, started + i / rate - time.monotonic()))
            sent[str(alert.id)] = time.time()
            await producer.send(ALERTS, msgspec.json.encode(alert), key=str(alert.region).encode())
        await producer.flush()
    finally:
        await producer.stop()
    return sent


async def _measure(settings: Settings, url: str, token: str, clients: int, rate: float,
                   seconds: float, marker: str) -> tuple[list[float], int, int]:
    """Latencies (ms) of every delivery to every client, deliveries seen and expected."""
    group = Clients()
    await group.open(url, token, clients)
    try:
        # Warm-up until every client receives: consumers assigned, connections settled.
        for attempt in range(30):
            warm = [_alert(marker, -1 - attempt)]
            await _produce(settings, warm, rate)
            if await group.wait_for([str(warm[0].id)], 10) == clients:
                break
        alerts = [_alert(marker, i) for i in range(int(rate * seconds))]
        sent = await _produce(settings, alerts, rate)
        delivered = await group.wait_for(list(sent), 60)
        latencies = [(arrivals[i] - t) * 1000 for arrivals in group.arrivals for i, t in sent.items()
                     if i in arrivals]
        return latencies, delivered, clients * len(alerts)
    finally:
        await group.close()


def _wait_healthy(url: str, timeout_s: float, what: Service | subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=2) as response:
                body = response.read()
                if b'"kafka":false' not in body:
                    return
        except OSError:
            pass
        time.sleep(0.3)
    raise TimeoutError(f"{url} did not become ready in {timeout_s:.0f} s ({what})")


def run_fanout_bench(base: Settings, client_counts: Sequence[int], rate: float, seconds: float) -> Result:
    """Run gateway and baseline for each number of clients; human lines on stderr, JSON on stdout."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 65536)), hard))
    say = lambda line: print(line, file=sys.stderr, flush=True)  # noqa: E731
    steps: list[Step] = []
    with tempfile.TemporaryDirectory(prefix="posko-bench-fanout-") as home:
        env, settings = bench_env(base, home, POSKO_CLICKHOUSE=f"chdb://{home}/clickhouse")
        say(broker.start(settings))
        try:
            asyncio.run(create_topics(settings))
            token = CredentialStore(Path(settings.home)).issue("Bench", Role.WALL)[1]
            for count in client_counts:
                runs: dict[str, Run] = {}
                for side in ("gateway", "baseline"):
                    port = free_port()
                    url = f"http://127.0.0.1:{port}"
                    server: Service | subprocess.Popen[bytes]
                    if side == "gateway":
                        server = Service("gateway", Path(home) / "logs",
                                         {**env, "POSKO_GATEWAY_PORT": str(port)})
                        server.start()
                        pid = server.process.pid if server.process else 0
                    else:
                        server = subprocess.Popen(
                            [sys.executable, "-m", "bench.broadcast_server", settings.bootstrap_servers,
                             "127.0.0.1", str(port)], env={**os.environ, **env},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                        pid = server.pid
                    try:
                        _wait_healthy(url, 60, server)
                        cpu = process_cpu_seconds(pid)
                        latencies, delivered, expected = run_async(_measure(
                            settings, f"ws://127.0.0.1:{port}/ws", token, count, rate, seconds,
                            f"bench-{side}-{count}"))
                        cpu = process_cpu_seconds(pid) - cpu
                    finally:
                        if isinstance(server, Service):
                            server.stop()
                        else:
                            server.terminate()
                            server.wait(30)
                    runs[side] = Run(_percentiles(latencies), delivered, expected, round(cpu, 1))
                    say(f"{count:>5} clients, {side:8}: {runs[side].latency_ms} ms, "
                        f"{delivered}/{expected} delivered, server CPU {cpu:.1f} s")
                gateway_p99 = runs["gateway"].latency_ms.get("p99", 0.0)
                baseline_p99 = runs["baseline"].latency_ms.get("p99", 0.0)
                steps.append(Step(count, runs["gateway"], runs["baseline"],
                                  round(gateway_p99 / baseline_p99, 2) if baseline_p99 else 0.0))
        finally:
            broker.stop(settings)
    result = Result(rate, seconds, steps)
    print(msgspec.json.encode(result).decode(), flush=True)
    return result
