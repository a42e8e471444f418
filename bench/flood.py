"""`posko bench fanout --flood RATE`: the walls' latency while one officer floods the gateway.

The brief's case: an officer's client sends acknowledgements of random alert ids as fast as it
can (each one a ClickHouse lookup), and every other client's latency suffers. For each number of
wall clients, three gateways are measured in the same run, on one broker and one sink (so that
lookups really reach chdb): quiet (no flood: the baseline), flooded with the message limit off
(`POSKO_GATEWAY_CLIENT_RATE=0`, the gateway before the limit), and flooded with the default
limit. The flooder runs in a process of its own, reads what it is sent (so that it is not dropped
for being slow) and reconnects at once whenever it is closed, as a hostile script would.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import resource
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from multiprocessing.sharedctypes import Synchronized
from pathlib import Path

import msgspec
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake

from bench.fanout import _measure, _percentiles, _wait_healthy
from bench.home import bench_env
from posko.credentials import CredentialStore
from posko.kafka import broker
from posko.kafka.topics import create_topics
from posko.loop import run_async
from posko.net import free_port
from posko.services import Service, process_cpu_seconds
from posko.settings import Settings
from schemas.identity import Role

# Each gateway measured: whether the flooder runs, and the gateway's settings besides the defaults.
SIDES: dict[str, tuple[bool, dict[str, str]]] = {
    "quiet": (False, {}),
    "flooded_no_limit": (True, {"POSKO_GATEWAY_CLIENT_RATE": "0"}),
    "flooded_limit": (True, {}),
}


class FloodRun(msgspec.Struct):
    """One gateway at one number of wall clients."""

    latency_ms: dict[str, float]
    delivered: int
    expected: int
    gateway_cpu_s: float
    flood_sent: int  # acknowledgements the flooder got onto the socket
    flood_connections: int  # connections it opened (1 when never closed)


class FloodStep(msgspec.Struct):
    """Quiet, flooded without and with the limit, at one number of clients; p99 ratios to quiet."""

    clients: int
    runs: dict[str, FloodRun]
    p99_ratio_no_limit: float
    p99_ratio_limit: float


class FloodResult(msgspec.Struct):
    """The benchmark's figures, printed as one JSON line."""

    rate_per_s: float
    seconds: float
    flood_per_s: float
    steps: list[FloodStep]


async def _flood(url: str, token: str, rate: float, sent: Synchronized[int],
                 connections: Synchronized[int]) -> None:
    auth = msgspec.json.encode({"type": "auth", "token": token}).decode()
    started = time.monotonic()
    count = 0
    while True:
        try:
            async with connect(url, max_queue=None) as ws:
                connections.value += 1
                await ws.send(auth)
                drain = asyncio.create_task(_drain(ws))
                while not drain.done():
                    # Send what is due by now, in slices of 1 ms of the rate.
                    due = int((time.monotonic() - started) * rate) - count
                    for _ in range(min(due, max(1, int(rate / 1000)))):
                        await ws.send(f'{{"type":"ack","alert_id":"{uuid.uuid4()}"}}')
                        count += 1
                    sent.value = count
                    await asyncio.sleep(0.001)
        except (ConnectionClosed, InvalidHandshake, OSError):
            pass


async def _drain(ws: ClientConnection) -> None:
    """Read (and drop) what the gateway answers, so that the flooder is never the slow client."""
    try:
        while True:
            await ws.recv()
    except ConnectionClosed:
        return


def _flooder(url: str, token: str, rate: float, sent: Synchronized[int],
             connections: Synchronized[int]) -> None:
    """The flooding client's process."""
    run_async(_flood(url, token, rate, sent, connections))


def run_flood_bench(
    base: Settings, client_counts: Sequence[int], rate: float, seconds: float, flood: float
) -> FloodResult:
    """Quiet, flooded-without-limit and flooded-with-limit gateways; human lines on stderr, JSON on stdout."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 65536)), hard))
    say = lambda line: print(line, file=sys.stderr, flush=True)  # noqa: E731
    steps: list[FloodStep] = []
    with tempfile.TemporaryDirectory(prefix="posko-bench-flood-") as home:
        env, settings = bench_env(base, home, POSKO_CLICKHOUSE=f"chdb://{home}/clickhouse")
        say(broker.start(settings))
        sink = Service("sink", Path(home) / "logs", env)
        try:
            asyncio.run(create_topics(settings))
            sink.start()
            credentials = CredentialStore(Path(settings.home))
            wall = credentials.issue("Bench", Role.WALL)[1]
            for count in client_counts:
                runs: dict[str, FloodRun] = {}
                for side, (flooded, overrides) in SIDES.items():
                    port = free_port()
                    gateway = Service("gateway", Path(home) / "logs",
                                      {**env, **overrides, "POSKO_GATEWAY_PORT": str(port)})
                    gateway.start()
                    sent = multiprocessing.Value("q", 0)
                    connections = multiprocessing.Value("q", 0)
                    flooder = None
                    try:
                        _wait_healthy(f"http://127.0.0.1:{port}", 60, gateway)
                        if flooded:
                            officer = credentials.issue(f"Pembanjir {side} {count}", Role.OFFICER)[1]
                            flooder = multiprocessing.Process(target=_flooder, daemon=True, args=(
                                f"ws://127.0.0.1:{port}/ws", officer, flood, sent, connections))
                            flooder.start()
                        pid = gateway.process.pid if gateway.process else 0
                        cpu = process_cpu_seconds(pid)
                        latencies, delivered, expected = run_async(_measure(
                            settings, f"ws://127.0.0.1:{port}/ws", wall, count, rate, seconds,
                            f"bench-flood-{side}-{count}"))
                        cpu = process_cpu_seconds(pid) - cpu
                    finally:
                        if flooder is not None:
                            flooder.kill()
                            flooder.join(10)
                        gateway.stop()
                    runs[side] = FloodRun(_percentiles(latencies), delivered, expected, round(cpu, 1),
                                          int(sent.value), int(connections.value))
                    say(f"{count:>5} clients, {side:16}: {runs[side].latency_ms} ms, "
                        f"{delivered}/{expected} delivered, gateway CPU {cpu:.1f} s, flood "
                        f"{sent.value} acks over {connections.value} connections")
                quiet = runs["quiet"].latency_ms.get("p99", 0.0)
                ratio = {side: round(r.latency_ms.get("p99", 0.0) / quiet, 2) if quiet else 0.0
                         for side, r in runs.items()}
                steps.append(FloodStep(count, runs, ratio["flooded_no_limit"], ratio["flooded_limit"]))
        finally:
            sink.stop()
            broker.stop(settings)
    result = FloodResult(rate, seconds, flood, steps)
    print(msgspec.json.encode(result).decode(), flush=True)
    return result
