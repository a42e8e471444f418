"""`posko demo`: broker, topics, worker, sink, intake API and simulator, with a live terminal view."""

from __future__ import annotations

import asyncio
import logging
import signal
import socket
import time
from pathlib import Path

import msgspec
from rich.console import Console, Group
from rich.live import Live
from rich.table import Table

from connectors.simulator.run import SimulationStats, play_scenario, simulate
from posko.credentials import CredentialStore, page_link
from posko.errors import PoskoError
from posko.kafka import broker
from posko.kafka.offsets import group_positions
from posko.kafka.topics import create_topics
from posko.services import Service, ServiceFailing
from posko.settings import Settings
from schemas.events import Channel, Kind
from schemas.identity import Role, Scope
from schemas.regions import REGION_NAMES, Region
from schemas.topics import (
    ACKS,
    ALERTS,
    AUDIT,
    COMMANDS,
    DESK,
    DLQ,
    ESCALATIONS,
    INCIDENTS,
    SIGNALS,
    events_topic,
    raw_topic,
)
from sinks.clickhouse.client import run_sql
from sinks.clickhouse.store import StoreError
from sinks.clickhouse.tables import TABLES
from sinks.clickhouse.writer import GROUP_ID as SINK_GROUP
from streams.app import APP_ID as STREAM_GROUP
from streams.app import ROOM_ID as ROOM_GROUP

# How long the demo waits, after the simulator stops, for the pipeline to store what was sent.
DRAIN_S = 90.0

class DemoError(PoskoError, RuntimeError):
    """The demo cannot start; the message says what to do."""


class LiveFigures(msgspec.Struct):
    """What the live view shows at one moment."""

    by_kind: dict[str, int] = {}
    by_region: dict[str, int] = {}
    dead_letters: int = 0
    alerts: int = 0
    incidents: int = 0  # open ones (not selesai)
    lag: dict[str, int] = {}

    @property
    def stored(self) -> int:
        """Events stored in ClickHouse, all kinds."""
        return sum(self.by_kind.values())


def _snapshot_sql() -> str:
    parts = [f"SELECT '{kind}' AS k, region AS r, count() AS n FROM posko.{table} GROUP BY r"
             for kind, table in TABLES.items()]
    parts.append("SELECT 'dlq', NULL, count() FROM posko.dead_letters")
    parts.append("SELECT 'alerts', NULL, count() FROM posko.alerts")
    parts.append("SELECT 'incidents', NULL, count() FROM posko.incidents FINAL WHERE status != 'selesai'")
    return " UNION ALL ".join(parts)


class _Row(msgspec.Struct, array_like=True):
    k: str
    r: str | None
    n: int


def read_snapshot(settings: Settings) -> LiveFigures:
    """Counts from ClickHouse (through the sink)."""
    out = run_sql(settings, _snapshot_sql(), "JSONCompactEachRow", open_directly=False)
    snap = LiveFigures(by_kind={k: 0 for k in Kind}, by_region={})
    for line in out.splitlines():
        row = msgspec.json.decode(line, type=_Row)
        n = int(row.n)
        if row.k == "dlq":
            snap.dead_letters = n
        elif row.k == "alerts":
            snap.alerts = n
        elif row.k == "incidents":
            snap.incidents = n
        else:
            snap.by_kind[row.k] += n
            region = row.r or "luar Jambi"
            snap.by_region[region] = snap.by_region.get(region, 0) + n
    return snap


async def consumer_lag(settings: Settings) -> dict[str, int]:
    """Messages not yet committed by the stream worker (its route and room parts) and by the sink."""
    positions = await group_positions(settings, {
        STREAM_GROUP: [raw_topic(k) for k in Kind],
        ROOM_GROUP: [SIGNALS, COMMANDS],
        SINK_GROUP: [events_topic(k) for k in Kind] + [ALERTS, DLQ, ACKS, INCIDENTS, ESCALATIONS, AUDIT,
                                                       DESK],
    })
    return {group: sum(p.lag for p in tps.values()) for group, tps in positions.items()}


def _view(snap: LiveFigures | None, stats: SimulationStats, rate: float, elapsed: float,
          wall: str = "") -> Group:
    head = Table.grid(padding=(0, 3))
    head.add_row(
        f"[b]Posko demo[/b]  {elapsed:5.0f} s",
        f"sent [b]{stats.sent:,}[/b] ({stats.malformed:,} malformed on purpose)",
        f"stored [b]{snap.stored if snap else 0:,}[/b] events, [b]{rate:,.0f}[/b]/s",
        f"alerts [b]{snap.alerts if snap else 0:,}[/b] → open incidents "
        f"[b]{snap.incidents if snap else 0:,}[/b]",
        f"DLQ [b red]{snap.dead_letters if snap else 0:,}[/b red]",
    )
    if wall:
        head.add_row(f"[b]Wall:[/b] [link={wall}]{wall[:wall.index('#')]}[/link]")
    if snap is None:
        return Group(head, "waiting for the sink to answer…")
    kinds = Table(title="Events by kind", expand=False)
    kinds.add_column("kind")
    kinds.add_column("rows", justify="right")
    for kind, n in snap.by_kind.items():
        kinds.add_row(kind, f"{n:,}")
    regions = Table(title="Events by kabupaten/kota", expand=False)
    regions.add_column("code")
    regions.add_column("name")
    regions.add_column("rows", justify="right")
    for region in Region:
        regions.add_row(region.value, REGION_NAMES[region], f"{snap.by_region.get(region, 0):,}")
    if outside := snap.by_region.get("luar Jambi"):
        regions.add_row("—", "luar Jambi", f"{outside:,}")
    lag = Table(title="Consumer lag", expand=False)
    lag.add_column("group")
    lag.add_column("messages", justify="right")
    for group, n in snap.lag.items():
        lag.add_row(group, f"{n:,}")
    grid = Table.grid(padding=(0, 4))
    grid.add_row(regions, Group(kinds, lag))
    return Group(head, grid, "[dim]Ctrl-C stops everything; data is kept for the next run.[/dim]")


class Play(msgspec.Struct, frozen=True):
    """What the demo sends: a scenario at a speed, or (with a rate) the steady load simulator."""

    scenario: str = "banjir-batanghari"
    speed: float = 1.0
    rate: float | None = None
    malformed_ratio: float = 0.01


async def _live(settings: Settings, play: Play, duration_s: float | None, children: list[Service],
                wall: str = "") -> LiveFigures:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGINT, stop.set)
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    stats = SimulationStats()
    if play.rate is not None:
        producing = asyncio.create_task(simulate(
            settings, play.rate, duration_s=duration_s, malformed_ratio=play.malformed_ratio,
            stop=stop, stats=stats))
    else:
        if duration_s is not None:
            loop.call_later(duration_s, stop.set)
        producing = asyncio.create_task(play_scenario(
            settings, play.scenario, speed=play.speed, stop=stop, stats=stats))
    console = Console()
    started = time.monotonic()
    snap: LiveFigures | None = None
    last = (started, 0)
    stored_rate = 0.0
    with Live(_view(None, stats, 0, 0, wall), console=console, auto_refresh=False,
              transient=not console.is_terminal) as live:
        while not stop.is_set():
            await asyncio.wait([asyncio.ensure_future(stop.wait())], timeout=1.0)
            for child in children:
                try:
                    child.keep_running()
                except ServiceFailing as exc:
                    stop.set()
                    raise DemoError(str(exc)) from exc
            try:
                snap = await asyncio.to_thread(read_snapshot, settings)
                snap.lag = await consumer_lag(settings)
            except (StoreError, OSError):
                pass  # the sink is still starting
            now = time.monotonic()
            if snap is not None:
                stored_rate = (snap.stored - last[1]) / max(now - last[0], 1e-6)
                last = (now, snap.stored)
            live.update(_view(snap, stats, stored_rate, now - started, wall), refresh=True)
            if producing.done() and (duration_s is not None or play.rate is None):
                break  # a scenario played to its end, or the duration is over
    stop.set()
    await producing
    return snap or LiveFigures()


def run_demo(settings: Settings, duration_s: float | None, play: Play | None = None) -> LiveFigures:
    """Run everything until Ctrl-C, the duration or the scenario's end; print a summary; return the
    last counts."""
    play = play or Play()
    logs = Path(settings.home) / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    # Client warnings (a broker electing leaders, reconnects) go to the log, not over the view.
    logging.basicConfig(filename=logs / "demo.log", level=logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    started_broker = False
    if settings.local_kafka:
        try:
            message = broker.start(settings)
        except broker.BrokerError as exc:
            raise DemoError(str(exc)) from exc
        started_broker = "started" in message
        print(message)
    asyncio.run(create_topics(settings))
    # The demo's one worker is a static group member: a restart keeps its partitions.
    worker_env = {"POSKO_WORKER_INSTANCE": settings.worker_instance or "demo-worker-1"}
    intake_port = _free_port(settings.intake_host, settings.intake_port, "POSKO_INTAKE_PORT")
    portal_port = _free_port(settings.satudata_host, settings.satudata_port, "POSKO_SATUDATA_PORT")
    children = [Service("worker", logs, worker_env), Service("sink", logs), Service("gateway", logs),
                Service("intake", logs, {"POSKO_INTAKE_PORT": str(intake_port)}),
                Service("satudata", logs, {"POSKO_SATUDATA_PORT": str(portal_port)}, ("serve",))]
    web, wall, officer, responder = _demo_credentials(settings)
    print(f"intake API: http://{settings.intake_host}:{intake_port} (OpenAPI: /schema/openapi.json; "
          f"web form credential: {web})")
    print(f"Satu Data Jambi (open data, CKAN API): http://{settings.satudata_host}:{portal_port}/")
    for child in children:
        child.start()
    print(f"Wall (open in a browser): {wall}")
    print(f"Console of the duty officer (valid 12 h): {officer}")
    print(f"Responder TRC Kota Jambi (valid 12 h; more: posko credential issue --role responder "
          f"--region 15.71 --name … --url): {responder}")
    try:
        print(f"playing scenario {play.scenario} at {play.speed:g}× real time (--speed, or --rate for "
              "load)" if play.rate is None else f"sending {play.rate:g} simulated events/s")
        asyncio.run(_live(settings, play, duration_s, children, wall))
        # Let the pipeline drain what was sent before the summary: no lag in two readings in a
        # row (the room may write an incident after the sink's lag was read), then the figures
        # (read before the lag, they could miss incidents the sink wrote in between).
        deadline = time.monotonic() + DRAIN_S
        lag: dict[str, int] = {}
        quiet = False
        while time.monotonic() < deadline:
            lag = asyncio.run(consumer_lag(settings))
            if not any(lag.values()) and quiet:
                break
            quiet = not any(lag.values())
            time.sleep(0.5)
        else:
            print(f"the pipeline had not caught up {DRAIN_S:.0f} s after the simulator stopped "
                  f"(lag {lag}); the services' logs are in {logs}")
        snap = read_snapshot(settings)
        snap.lag = lag
    finally:
        for child in children:
            child.stop()
        if started_broker:
            print(broker.stop(settings))
    print(summary(snap))
    return snap


def _demo_credentials(settings: Settings) -> tuple[str, str, str, str]:
    """The demo's credentials, issued anew each run (replacing the last run's): the web form's,
    and the links of the wall, the duty officer's console and a responder's phone page."""
    store = CredentialStore(Path(settings.home))
    _, web = store.issue("Formulir Web (demo)", Role.CHANNEL, channel=Channel.WEB, rate_per_minute=600,
                         replace=True)
    _, wall = store.issue("Dinding Posko (demo)", Role.WALL, replace=True)
    _, officer = store.issue("Petugas Jaga (demo)", Role.OFFICER, replace=True)
    _, responder = store.issue("TRC BPBD Kota Jambi (demo)", Role.RESPONDER, replace=True,
                               scope=Scope(regions=[Region.KOTA_JAMBI], team="TRC BPBD Kota Jambi"))
    return (web, page_link(settings, Role.WALL, wall), page_link(settings, Role.OFFICER, officer),
            page_link(settings, Role.RESPONDER, responder))


def _free_port(host: str, wanted: int, variable: str) -> int:
    """The configured port, or a free one when something else listens there (and say so)."""
    with socket.socket() as probe:
        try:
            probe.bind((host, wanted))
            return wanted
        except OSError:
            probe.bind((host, 0))
            port = int(probe.getsockname()[1])
    print(f"port {wanted} is taken: using {port} instead (set {variable})")
    return port


def summary(snap: LiveFigures) -> str:
    """A plain-text summary of the counts, for scripts."""
    lines = [f"stored events: {snap.stored}"]
    lines += [f"  {kind}: {n}" for kind, n in snap.by_kind.items()]
    lines.append(f"alerts: {snap.alerts}")
    lines.append(f"open incidents: {snap.incidents}")
    lines.append(f"dead letters: {snap.dead_letters}")
    lines += [f"lag {group}: {n}" for group, n in snap.lag.items()]
    return "\n".join(lines)
