"""`posko bench command`: an officer's command to the wall and to the responder's phone, beside the
acknowledgement path of today, in the same run.

Worker, sink and gateway run on a broker of their own. 1,000 pages are connected (walls and one
responder's phone page) and 50 officers, each with a websocket of its own, take turns: half of the
acts are commands (a task for the responder: gateway → posko.commands → the worker's desk →
posko.desk → gateway → pages), half are acknowledgements of alerts (gateway → posko.acks → gateway
→ pages), at the same rate, interleaved. For each act the time from the officer sending it to its
arrival on every wall, on the responder's page, and (commands) to the desk's result back at the
officer is recorded; the p99 ratio command / acknowledgement is reported.
"""

from __future__ import annotations

import asyncio
import resource
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path

import msgspec
from aiokafka import AIOKafkaProducer
from websockets.asyncio.client import ClientConnection, connect

from bench.correlation import _wait_for_worker
from bench.fanout import Clients, _alert, _percentiles
from bench.home import bench_env
from posko.credentials import CredentialStore
from posko.kafka import broker
from posko.kafka.topics import create_topics
from posko.services import Service
from posko.settings import Settings
from schemas.commands import Assignee, AssigneeKind, CreateTask
from schemas.events import Alert, utc_now
from schemas.identity import Role, Scope
from schemas.incidents import Priority
from schemas.regions import Region
from schemas.topics import ALERTS

RESPONDER = "Responder Bench"
REGION = Region.KOTA_JAMBI


class _Id(msgspec.Struct):
    id: str


class _AckOf(msgspec.Struct):
    alert_id: str


class _Pushed(msgspec.Struct):
    type: str
    task: _Id | None = None
    ack: _AckOf | None = None
    ref: str | None = None
    command_id: str | None = None


_pushed = msgspec.json.Decoder(_Pushed)
_encode = msgspec.json.Encoder().encode


def _keys(data: bytes) -> list[str]:
    """What a page got: a task (by id) or an acknowledgement (by alert id)."""
    message = _pushed.decode(data)
    if message.type == "task" and message.task is not None:
        return [f"task:{message.task.id}"]
    if message.type == "ack" and message.ack is not None:
        return [f"ack:{message.ack.alert_id}"]
    return []


class Figures(msgspec.Struct):
    """Latencies (ms) of one path."""

    to_wall_ms: dict[str, float]
    to_responder_ms: dict[str, float]
    acts: int
    delivered: int
    expected: int


class Result(msgspec.Struct):
    """The benchmark's figures, printed as one JSON line."""

    officers: int
    pages: int
    rate_per_s: float
    seconds: float
    command: Figures
    acknowledgement: Figures
    command_result_ms: dict[str, float]  # officer sends → the desk's decision back at the officer
    p99_ratio_wall: float  # command / acknowledgement
    p99_ratio_responder: float


class Officer:
    """One officer's websocket, noting when each of its commands' results came back."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.results: dict[str, float] = {}
        self.ids: dict[str, str] = {}  # ref: the command's id (a task's id is its command's)
        self.reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        async for raw in self.ws:
            message = _pushed.decode(raw if isinstance(raw, bytes) else raw.encode())
            if message.type == "command_result" and message.ref:
                self.results.setdefault(message.ref, time.time())
            if message.type == "command_sent" and message.ref and message.command_id:
                self.ids[message.ref] = message.command_id

    async def command(self, ref: str) -> None:
        action = CreateTask(title=f"Cek tanggul {ref[:8]}",
                            assignee=Assignee(AssigneeKind.RESPONDER, RESPONDER), priority=Priority.TINGGI,
                            due_at=utc_now() + timedelta(hours=2), region=REGION)
        await self.ws.send(_encode({"type": "command", "ref": ref, "page": "bench",
                                    "action": msgspec.to_builtins(action)}).decode())

    async def acknowledge(self, alert_id: str) -> None:
        await self.ws.send(_encode({"type": "ack", "alert_id": alert_id, "note": "bench"}).decode())


async def _officer(url: str, token: str) -> Officer:
    ws = await connect(url, max_size=None, compression=None)
    await ws.send(_encode({"type": "auth", "token": token}).decode())
    return Officer(ws)


async def _produce_alerts(settings: Settings, alerts: list[Alert]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=settings.bootstrap_servers, acks="all", linger_ms=5)
    await producer.start()
    try:
        for alert in alerts:
            await producer.send(ALERTS, _encode(alert), key=str(alert.region).encode())
        await producer.flush()
    finally:
        await producer.stop()


async def _measure(settings: Settings, url: str, tokens: dict[str, str], officer_tokens: list[str],
                   pages: int, rate: float, seconds: float) -> Result:
    walls, phone = Clients(), Clients()
    await walls.open(url, tokens["wall"], pages - 1, _keys)
    await phone.open(url, tokens["responder"], 1, _keys)
    officers = [await _officer(url, t) for t in officer_tokens]
    acts = int(rate * seconds)
    # Alerts to acknowledge, in the responder's region so its page gets their acknowledgements.
    alerts = [msgspec.structs.replace(_alert("bench-command", i), region=REGION) for i in range(acts)]
    await _produce_alerts(settings, alerts)
    sent: dict[str, float] = {}
    try:
        # Warm-up: until a command and an acknowledgement reach the responder (consumers assigned).
        for _ in range(60):
            ref = str(uuid.uuid4())
            await officers[0].command(ref)
            await asyncio.sleep(1.0)
            if officers[0].results.get(ref) and any(k.startswith("task:") for k in phone.arrivals[0]):
                break
        else:
            raise TimeoutError("no command reached the responder's page during a minute of warm-up")
        started = time.monotonic()
        refs: set[str] = set()
        for i in range(acts):
            await asyncio.sleep(max(0.0, started + i / rate - time.monotonic()))
            officer = officers[i % len(officers)]
            if i % 2 == 0:
                ref = str(uuid.uuid4())
                sent[f"ref:{ref}"] = time.time()
                await officer.command(ref)
                refs.add(ref)
            else:
                alert_id = str(alerts[i].id)
                sent[f"ack:{alert_id}"] = time.time()
                await officer.acknowledge(alert_id)
        await _settle(walls, phone, officers, refs, sent)
    finally:
        await walls.close()
        await phone.close()
        for officer in officers:
            officer.reader.cancel()
            await officer.ws.close()
    return _figures(walls, phone, officers, sent, len(officers), pages, rate, seconds)


async def _settle(walls: Clients, phone: Clients, officers: list[Officer], refs: set[str],
                  sent: dict[str, float], timeout_s: float = 60) -> None:
    """Until every result and delivery arrived, or the timeout."""
    deadline = time.monotonic() + timeout_s
    acks = [k for k in sent if k.startswith("ack:")]
    while time.monotonic() < deadline:
        results = {ref for o in officers for ref in o.results}
        if refs <= results and all(k in phone.arrivals[0] for k in acks):
            break
        await asyncio.sleep(0.2)


def _figures(walls: Clients, phone: Clients, officers: list[Officer], sent: dict[str, float],
             officer_count: int, pages: int, rate: float, seconds: float) -> Result:
    command_sends = sorted((t, k[4:]) for k, t in sent.items() if k.startswith("ref:"))
    results = {ref: at for o in officers for ref, at in o.results.items()}
    task_of = {ref: f"task:{command_id}" for o in officers for ref, command_id in o.ids.items()}

    def paths(prefix: str) -> Figures:
        keys = ([(task_of.get(ref, ""), t) for t, ref in command_sends] if prefix == "task"
                else [(k, t) for k, t in sent.items() if k.startswith("ack:")])
        wall = [(a[key] - t) * 1000 for a in walls.arrivals for key, t in keys if key in a]
        phone_ms = [(phone.arrivals[0][key] - t) * 1000 for key, t in keys if key in phone.arrivals[0]]
        return Figures(_percentiles(wall), _percentiles(phone_ms), len(keys), len(wall) + len(phone_ms),
                       len(keys) * (len(walls.arrivals) + 1))

    command, ack = paths("task"), paths("ack")
    result_ms = [(results[ref] - t) * 1000 for t, ref in command_sends if ref in results]

    def ratio(a: dict[str, float], b: dict[str, float]) -> float:
        return round(a.get("p99", 0.0) / b["p99"], 2) if b.get("p99") else 0.0

    return Result(officer_count, pages, rate, seconds, command, ack, _percentiles(result_ms),
                  ratio(command.to_wall_ms, ack.to_wall_ms),
                  ratio(command.to_responder_ms, ack.to_responder_ms))


def run_command_bench(base: Settings, officers: int = 50, pages: int = 1000, rate: float = 10.0,
                      seconds: float = 30.0) -> Result:
    """Run the command and acknowledgement paths side by side; human lines on stderr, JSON on stdout."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 65536)), hard))
    say = lambda line: print(line, file=sys.stderr, flush=True)  # noqa: E731
    with tempfile.TemporaryDirectory(prefix="posko-bench-command-") as home:
        from posko.net import free_port

        port = free_port()
        # Officers are many on one machine here: the per-client message limit is for one person.
        env, settings = bench_env(base, home, POSKO_GATEWAY_PORT=str(port),
                                  POSKO_CLICKHOUSE=f"chdb://{home}/clickhouse")
        say(broker.start(settings))
        services = [Service(name, Path(home) / "logs", env) for name in ("worker", "sink", "gateway")]
        try:
            asyncio.run(create_topics(settings))
            for service in services:
                service.start()
            _wait_for_worker(settings)
            store = CredentialStore(Path(home))
            tokens = {"wall": store.issue("Dinding Bench", Role.WALL, hours=2)[1],
                      "responder": store.issue(RESPONDER, Role.RESPONDER, hours=2,
                                               scope=Scope(regions=[REGION]))[1]}
            officer_tokens = [store.issue(f"Petugas Bench {n}", Role.OFFICER, hours=2)[1]
                              for n in range(officers)]
            say(f"{pages} pages and {officers} officers on the gateway; {rate:g} acts/s for {seconds:g} s…")
            from posko.loop import run_async

            result = run_async(_measure(settings, f"ws://127.0.0.1:{port}/ws", tokens, officer_tokens,
                                        pages, rate, seconds))
        finally:
            for service in services:
                service.stop()
            broker.stop(settings)
    for name, figures in (("command", result.command), ("acknowledgement", result.acknowledgement)):
        say(f"{name:15}: → walls {figures.to_wall_ms} ms; → responder {figures.to_responder_ms} ms; "
            f"{figures.delivered}/{figures.expected} delivered")
    say(f"command → result at the officer: {result.command_result_ms} ms; p99 ratio command/ack: walls "
        f"{result.p99_ratio_wall}, responder {result.p99_ratio_responder}")
    print(msgspec.json.encode(result).decode(), flush=True)
    return result
