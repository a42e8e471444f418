"""A running push gateway (with worker and sink) for the protocol and browser tests, and its clients."""

from __future__ import annotations

import asyncio
import contextlib
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import msgspec
import pytest
from websockets.asyncio.client import ClientConnection, connect

from posko.credentials import CredentialStore
from posko.net import free_port
from posko.services import Service
from schemas.events import Alert, Kind, Point, Severity, Urgency, new_event_id, utc_now
from schemas.identity import Role, Scope
from schemas.regions import Region
from schemas.topics import ALERTS
from sinks.push.protocol import ServerMessage
from tests.conftest import Stack, own_broker, produce, running_stack, wait_for

# Small, so that a client that stops reading is skipped and dropped after a modest burst.
CLIENT_QUEUE = 20
server_message = msgspec.json.Decoder(ServerMessage)


class Health(msgspec.Struct):
    """The gateway's /healthz answer."""

    status: str
    clients: int
    seq: int
    kafka: bool
    skipped: int
    dropped: int
    flooded: int = 0  # clients closed for sending too many messages
    alert_lookups: int = 0  # alerts looked up in ClickHouse for an acknowledgement


class GatewayStack:
    """Worker, sink and gateway processes on the session broker, with one chdb store."""

    def __init__(self, stack: Stack, gateway: Service, port: int) -> None:
        self.stack = stack
        self.gateway = gateway
        self.url = f"http://127.0.0.1:{port}"
        self.ws_url = f"ws://127.0.0.1:{port}/ws"
        self.credentials = CredentialStore(Path(stack.settings.home))

    def token(self, role: Role = Role.WALL, name: str = "Dinding Uji", hours: float | None = None,
              regions: list[Region] | None = None, kinds: list[Kind] | None = None,
              min_severity: Severity = Severity.UNKNOWN, team: str | None = None,
              agency: str | None = None) -> str:
        """A credential issued in the stack's store, which the gateway reads (`pk_…`)."""
        return self.credentials.issue(name, role, hours=hours, scope=Scope(
            regions=regions or [], kinds=kinds or [], min_severity=min_severity, team=team,
            agency=agency))[1]

    def health(self) -> Health | None:
        """The gateway's /healthz, or None while it does not answer."""
        self.stack.supervise()
        try:
            with urllib.request.urlopen(f"{self.url}/healthz", timeout=5) as response:
                return msgspec.json.decode(response.read(), type=Health)
        except (OSError, urllib.error.URLError):
            return None

    def get(self, path: str) -> tuple[int, str, bytes]:
        """GET a path: (status, content type, body), also for 4xx answers."""
        try:
            with urllib.request.urlopen(f"{self.url}{path}", timeout=10) as response:
                return response.status, response.headers["Content-Type"], response.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.headers["Content-Type"], exc.read()


@pytest.fixture(scope="module")
def gateway_stack(kafka_env: dict[str, str],
                  tmp_path_factory: pytest.TempPathFactory) -> Iterator[GatewayStack]:
    """A gateway in front of a worker and a sink, for one test module."""
    with running_gateway(kafka_env, tmp_path_factory.mktemp("gateway")) as running:
        yield running


@pytest.fixture(scope="module")
def own_gateway_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GatewayStack]:
    """A gateway, worker and sink on a broker of their own, for one test module: what it shows
    is this module's alone (the session broker's posko.incidents holds every other test's)."""
    home = tmp_path_factory.mktemp("own-gateway")
    with own_broker(home / "kafka", POSKO_WORKER_INSTANCE="gateway-worker-1") as (_, env):
        with running_gateway(env, home) as running:
            yield running


@contextlib.contextmanager
def running_gateway(kafka_env: dict[str, str], path: Path) -> Iterator[GatewayStack]:
    """A gateway in front of a worker and a sink on the broker `kafka_env` names."""
    port = free_port()
    env = {**kafka_env, "POSKO_GATEWAY_PORT": str(port),
           "POSKO_GATEWAY_CLIENT_QUEUE": str(CLIENT_QUEUE), "POSKO_GATEWAY_COUNTS_MS": "500"}
    with running_stack(env, path) as stack:
        gateway = Service("gateway", path, stack.env)
        stack.services["gateway"] = gateway
        gateway.start()
        running = GatewayStack(stack, gateway, port)
        wait_for(lambda: (h := running.health()) is not None and h.kafka, 60,
                 lambda: f"the gateway to answer with Kafka ready\n{gateway.tail()}")
        yield running


def make_alert(marker: str, region: Region | None = Region.KOTA_JAMBI, severity: Severity = Severity.SEVERE,
               kind: Kind = Kind.DISASTER_ALERT, headline: str | None = None, location: Point | None = None,
               description: str = "Air naik 1 meter di permukiman tepi Sungai Batanghari.",
               age_s: float = 0) -> Alert:
    """An alert as the stream worker would publish it, its source set to the test's marker."""
    alert_id = new_event_id()
    return Alert(
        id=alert_id, event_kind=kind, source=marker, occurred_at=utc_now() - timedelta(seconds=age_s),
        region=region, location=location, severity=severity, urgency=Urgency.IMMEDIATE,
        headline=headline or f"Banjir {marker} {str(alert_id)[-6:]}", description=description,
        reason="peringatan resmi BPBD (uji)",
    )


async def publish_alerts(stack: GatewayStack, alerts: list[Alert]) -> None:
    """Produce alerts onto posko.alerts, keyed by region, as the stream worker does."""
    await produce(stack.stack.settings, [(ALERTS, str(a.region or "").encode(), msgspec.json.encode(a))
                                         for a in alerts])


async def open_client(stack: GatewayStack, token: str, resume_after: int | None = None,
                      **options: object) -> ClientConnection:
    """A websocket client that has sent its auth message."""
    ws = await connect(stack.ws_url, **options)  # type: ignore[arg-type]
    auth: dict[str, object] = {"type": "auth", "token": token}
    if resume_after is not None:
        auth["resume_after"] = resume_after
    await ws.send(msgspec.json.encode(auth).decode())
    return ws


async def receive_until(ws: ClientConnection, done: Callable[[list[ServerMessage]], bool],
                        timeout_s: float = 60) -> list[ServerMessage]:
    """Messages from the gateway until `done(received)` holds; fails the test at the deadline."""
    received: list[ServerMessage] = []
    deadline = time.monotonic() + timeout_s
    while not done(received):
        left = deadline - time.monotonic()
        if left <= 0:
            pytest.fail(f"timed out after {timeout_s:.0f} s; received {[type(m).__name__ for m in received]}")
        try:
            raw = await asyncio.wait_for(ws.recv(), left)
        except TimeoutError:
            continue
        received.append(server_message.decode(raw))
    return received


def alert_ids(messages: list[ServerMessage]) -> list[uuid.UUID]:
    """Ids of the alerts pushed one by one (not in snapshots), in order."""
    from sinks.push.protocol import AlertMessage

    return [m.alert.id for m in messages if isinstance(m, AlertMessage)]


def screenshot_dir() -> Path:
    """Where the browser tests save their screenshots (kept after the run, for people to look at)."""
    path = Path(__file__).resolve().parents[1] / "screenshots"
    path.mkdir(exist_ok=True)
    return path
