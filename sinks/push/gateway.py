"""The push gateway: incidents, escalations, alerts, acknowledgements, counters and the desk's tasks,
statuses and notes from Kafka to walls, consoles and responders, and their commands back to Kafka.

One process serves the websocket protocol (`sinks/push/protocol.py`) on `/ws` and the wall, console
and responder pages (`sinks/push/static.py`) over plain HTTP on the same port. Fan-out never
waits for a slow client: each client (`sinks/push/client.py`) has a bounded queue and a task of
its own that sends from it; a client that falls behind is skipped forward (a `gap` then a fresh
snapshot) and dropped if it falls behind again. Commands go through `sinks/push/commands.py`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
import uuid
from collections import Counter, deque
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import msgspec
from aiokafka import AIOKafkaProducer
from websockets.asyncio.server import ServerConnection, broadcast, serve
from websockets.exceptions import ConnectionClosed

from posko.credentials import CredentialRing
from posko.settings import Settings
from schemas.commands import DeskRecord
from schemas.decision import RankingRecord, RegionScore
from schemas.events import Acknowledgement, Alert, Kind, new_event_id, utc_now
from schemas.identity import Principal, Role
from schemas.incidents import Escalation, Incident, IncidentAck, IncidentStatus
from schemas.regions import REGION_NAMES
from schemas.topics import ACKS, SIGNALS, SIGNALS_KEY
from sinks.push.client import EXPIRED, POLICY_VIOLATION, Client, QueuedMessage
from sinks.push.commands import CommandPath
from sinks.push.desk import DeskBoard, desk_message
from sinks.push.feed import consume
from sinks.push.http import Http
from sinks.push.incidents import IncidentBoard, IncidentScope, sees_incident
from sinks.push.journal import Entry, Journal, JournalItem
from sinks.push.protocol import (
    AckMessage,
    AckRequest,
    AlertMessage,
    AuthRequest,
    ClientMessage,
    CommandRequest,
    Counts,
    CountsMessage,
    Error,
    EscalationMessage,
    Gap,
    IncidentAckMessage,
    IncidentAckRequest,
    IncidentMessage,
    IncidentReceipt,
    Ping,
    Pong,
    RankingMessage,
    Receipt,
    RecommendationMessage,
    Snapshot,
    Welcome,
)
from sinks.push.ranking import RankingBoard
from sinks.push.rate import TokenBucket
from sinks.push.signin import watch_credentials
from sinks.push.snapshot import fit_snapshot, read_alert, read_alerts, read_counts, scope_filter

if TYPE_CHECKING:
    from documents.briefing import Situation

log = logging.getLogger("posko.gateway")

AUTH_TIMEOUT_S = 10.0
# A snapshot read from ClickHouse serves every client connecting within this time.
SNAPSHOT_CACHE_S = 1.0
# A client over its message limit (POSKO_GATEWAY_CLIENT_RATE/BURST). A code of its own (4000-4999
# are the application's, RFC 6455 7.4.2), modelled on HTTP 429: the pages take 1008 to mean
# "ask for a new credential", while this one means "wait, then reconnect with the same one".
TOO_MANY_MESSAGES = 4429
# How long a credential closed for flooding is refused on reconnect: a script reconnecting in a loop
# then costs a handshake each time, not a snapshot and another burst of lookups. The pages wait
# at least this long (link.js FLOODED_WAIT_MS).
FLOOD_COOLDOWN_S = 30.0
FLOODED = f"terlalu banyak pesan / too many messages: wait {FLOOD_COOLDOWN_S:.0f} s before reconnecting"
# Acknowledgements of alerts the gateway does not hold are looked up in ClickHouse at most this
# many at a time for all clients together, and an id found unknown is not looked up again for
# UNKNOWN_ALERT_S (an alert that is new arrives from Kafka, not from ClickHouse, so no ack waits).
STORE_LOOKUPS = 2
UNKNOWN_ALERT_S = 60.0
# A client connecting while the gateway still reads posko.incidents from its start waits at most
# this long for it (then gets what is read so far; the rest comes as incident messages).
INCIDENTS_LOAD_WAIT_S = 30.0

_V = TypeVar("_V")
_encode = msgspec.json.Encoder().encode
_client_message = msgspec.json.Decoder(ClientMessage)


class Gateway:
    """Journal, clients, the Kafka feed and the ClickHouse snapshot, for one process."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.credentials = CredentialRing(Path(settings.home))
        self.journal = Journal(settings.gateway_ring, settings.gateway_ring_mb * 1024 * 1024)
        self.clients: set[Client] = set()
        # Alerts in the journal by id: for acknowledgements and to skip a redelivered alert.
        self.alerts: dict[uuid.UUID, Alert] = {}
        # Alerts read from ClickHouse (snapshots, lookups) and ids it did not have, with when.
        self.stored_alerts: dict[uuid.UUID, Alert] = {}
        self.unknown_alerts: dict[uuid.UUID, float] = {}
        self._lookups = asyncio.Semaphore(STORE_LOOKUPS)
        # Credentials (by id) closed for flooding, until when they are refused.
        self.cooling: dict[str, float] = {}
        self.counts: Counts | None = None
        # Open incidents (latest version), recent escalations and incidents' acknowledgements.
        self.board = IncidentBoard()
        # Set once posko.incidents has been read up to where it ended when the gateway started.
        self.incidents_loaded = asyncio.Event()  # and posko.desk, onto self.desk
        self.desk = DeskBoard()
        self.ranking = RankingBoard()  # decision support: scores and open recommendations
        self.commands = CommandPath(self.journal)
        self.producer: AIOKafkaProducer | None = None
        self.kafka_ready = False
        # Clients skipped forward (gap + snapshot) and dropped for falling behind, since start.
        self.tally: Counter[str] = Counter()
        self._stored: dict[str, tuple[float, asyncio.Future[tuple[list[Alert], list[Acknowledgement]]]]] = {}
        self.http = Http(settings, self.credentials, self.health, self.briefing_facts)

    # --- The journal -------------------------------------------------------------------------

    def publish(self, make: Callable[[int], msgspec.Struct], item: JournalItem,
                kinds: tuple[Kind, ...] = ()) -> None:
        """Give a message the next seq, keep it in the journal and offer it to every client."""
        seq = self.journal.next_seq()
        entry = Entry(seq, item, _encode(make(seq)), kinds)
        self.journal.append(entry)
        # Clients that are keeping up get it in one synchronous write each, as websockets'
        # broadcast does; the others through their queue and pump.
        direct = [client.ws for client in list(self.clients) if client.offer(entry)]
        if direct:
            broadcast(direct, entry.data, text=True)

    def on_alert(self, alert: Alert) -> None:
        """A new alert from Kafka (a redelivered one is skipped)."""
        if alert.id in self.alerts:
            return
        self.alerts[alert.id] = alert
        while len(self.alerts) > self.settings.gateway_ring:
            del self.alerts[next(iter(self.alerts))]
        self.publish(lambda seq: AlertMessage(seq, alert), alert)

    def on_ack(self, ack: Acknowledgement) -> None:
        """An acknowledgement from Kafka."""
        self.publish(lambda seq: AckMessage(seq, ack), ack)

    def on_incident(self, incident: Incident) -> None:
        """A version of an incident from Kafka (one not newer than the one held is skipped)."""
        if self.board.update(incident):
            self.publish(lambda seq: IncidentMessage(seq, incident), IncidentScope.of(incident))

    def on_escalation(self, escalation: Escalation) -> None:
        """An escalation step from Kafka (a step fired again is skipped)."""
        if self.board.escalate(escalation):
            self.publish(lambda seq: EscalationMessage(seq, escalation), escalation,
                         self.board.escalation_kinds(escalation))

    def on_incident_ack(self, ack: IncidentAck) -> None:
        """An acknowledgement of an incident, read back from posko.signals."""
        scoped = self.board.acknowledged(ack)
        self.publish(lambda seq: IncidentAckMessage(seq, ack), scoped)

    def on_desk(self, record: DeskRecord) -> None:
        """A task, region status or note from posko.desk (one not newer than the one held is skipped)."""
        if (item := self.desk.update(record, self.board.open)) is not None:
            self.publish(lambda seq: desk_message(seq, record), item)

    def on_ranking(self, record: RankingRecord) -> None:
        """A score or recommendation from posko.ranking (one not newer than the one held is skipped)."""
        if (item := self.ranking.update(record)) is not None:
            self.publish(lambda seq: RankingMessage(seq, record) if isinstance(record, RegionScore)
                         else RecommendationMessage(seq, record), item)

    def on_counts(self, counts: Counts) -> None:
        """New counters from ClickHouse; published when they changed."""
        previous = self.counts
        self.counts = counts
        if previous is None or (previous.events, previous.alerts) != (counts.events, counts.alerts):
            self.publish(lambda seq: CountsMessage(seq, counts), None)

    # --- Snapshots ---------------------------------------------------------------------------

    async def stored(self, principal: Principal) -> tuple[list[Alert], list[Acknowledgement]]:
        """Recent alerts in scope and their acknowledgements from ClickHouse (shared for 1 s)."""
        where = scope_filter(principal)
        loop = asyncio.get_running_loop()
        cached = self._stored.get(where)
        if cached is None or loop.time() - cached[0] > SNAPSHOT_CACHE_S:
            future = asyncio.ensure_future(asyncio.to_thread(self._read_stored, where))
            cached = (loop.time(), future)
            self._stored[where] = cached
        stored = await asyncio.shield(cached[1])
        for alert in stored[0]:  # acknowledgements of what a snapshot showed need no lookup
            self._remember(self.stored_alerts, alert.id, alert)
        return stored

    def _remember(self, found: dict[uuid.UUID, _V], key: uuid.UUID, value: _V) -> None:
        """Keep at most gateway_ring entries, forgetting the oldest first."""
        found.pop(key, None)
        found[key] = value
        while len(found) > self.settings.gateway_ring:
            del found[next(iter(found))]

    def _read_stored(self, where: str) -> tuple[list[Alert], list[Acknowledgement]]:
        try:
            return read_alerts(self.settings, where, self.settings.gateway_snapshot_alerts)
        except Exception as exc:  # the sink is not running or ClickHouse is away: journal only
            log.warning("snapshot from ClickHouse failed (%s); sending what the gateway holds", exc)
            return [], []

    def snapshot(self, principal: Principal, stored: tuple[list[Alert], list[Acknowledgement]]) -> Snapshot:
        """ClickHouse's picture merged with the journal, as of the journal's last seq."""
        alerts = {alert.id: alert for alert in stored[0]}
        acks = {ack.id: ack for ack in stored[1]}
        for entry in self.journal.entries:
            if isinstance(entry.item, Alert):
                alerts[entry.item.id] = entry.item
            elif isinstance(entry.item, Acknowledgement):
                acks[entry.item.id] = entry.item
        visible = [a for a in alerts.values() if principal.covers(a.region, a.event_kind, a.severity)]
        visible.sort(key=lambda a: a.occurred_at, reverse=True)
        visible = visible[: self.settings.gateway_snapshot_alerts]
        kept = {a.id for a in visible}
        incidents = self.board.ranked(principal)
        tasks, emergencies, notes = self.desk.view(principal, incidents)
        ranking, recommendations = self.ranking.view(principal)
        snapshot = Snapshot(
            seq=self.journal.last_seq, alerts=visible,
            acks=sorted((a for a in acks.values() if a.alert_id in kept), key=lambda a: a.acked_at),
            counts=self.counts if principal.sees_everything else None,
            regions={str(code): name for code, name in REGION_NAMES.items()},
            incidents=incidents, escalations=self.board.recent_escalations(principal),
            incident_acks=[ack for i in incidents if (ack := self.board.acks.get(i.id)) is not None],
            tasks=tasks, emergencies=emergencies, notes=notes, ranking=ranking,
            recommendations=recommendations,
        )
        return fit_snapshot(snapshot)

    async def resync(self, client: Client) -> None:
        """Skip a client forward: a gap saying how much it missed, then a fresh snapshot."""
        stored = await self.stored(client.principal)
        snapshot = self.snapshot(client.principal, stored)
        missed, client.missed, client.resync = client.missed, 0, False
        client.queue = deque(o for o in client.queue if not (o.journal and o.seq <= snapshot.seq))
        await client.ws.send(_encode(Gap(snapshot.seq, missed, "terlalu lambat / client fell behind")),
                             text=True)
        await client.ws.send(_encode(snapshot), text=True)

    # --- Connections -------------------------------------------------------------------------

    async def handle(self, ws: ServerConnection) -> None:
        """One websocket connection: authenticate, send its start, then pump and listen."""
        principal, resume_after = await self._authenticate(ws)
        if principal is None:
            return
        if not self.incidents_loaded.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.incidents_loaded.wait(), INCIDENTS_LOAD_WAIT_S)
        client = Client(ws, principal, self.settings.gateway_client_queue, self.tally,
                        TokenBucket(self.settings.gateway_client_rate, self.settings.gateway_client_burst))
        if resume_after is not None and self.journal.can_resume(resume_after):
            missed = [e for e in self.journal.since(resume_after) if client.wants(e)]
            if len(missed) <= client.limit:
                client.send(self.journal.last_seq, self._welcome(principal))
                for entry in missed:
                    client.queue.append(QueuedMessage(entry.seq, entry.data, True))
                self.clients.add(client)
                await self._serve(client)
                return
        stored = await self.stored(principal)
        if ws.state.name != "OPEN":
            return
        snapshot = self.snapshot(principal, stored)
        client.send(snapshot.seq, self._welcome(principal))
        if resume_after is not None:
            reason = "resume_after terlalu lama / too old or too far behind to resume: fresh snapshot follows"
            client.send(snapshot.seq, _encode(Gap(snapshot.seq, self.journal.missed_since(resume_after),
                                                  reason)))
        client.send(snapshot.seq, _encode(snapshot))
        self.clients.add(client)
        await self._serve(client)

    async def _authenticate(self, ws: ServerConnection) -> tuple[Principal | None, int | None]:
        try:
            raw = await asyncio.wait_for(ws.recv(), AUTH_TIMEOUT_S)
        except TimeoutError:
            await ws.close(POLICY_VIOLATION, "auth diperlukan / send {\"type\":\"auth\",\"token\":…} first")
            return None, None
        except ConnectionClosed:
            return None, None
        try:
            message = _client_message.decode(raw)
        except msgspec.DecodeError as exc:
            await ws.close(POLICY_VIOLATION, f"auth tidak terbaca / unreadable auth: {exc}"[:120])
            return None, None
        if not isinstance(message, AuthRequest):
            await ws.close(POLICY_VIOLATION, "pesan pertama harus auth / first message must be auth")
            return None, None
        checked = self.credentials.check(message.token)
        principal = checked.principal
        if principal is None:
            await ws.close(POLICY_VIOLATION, checked.problem.encode()[:123].decode(errors="ignore"))
            return None, None
        if principal.role is Role.CHANNEL:
            await ws.close(POLICY_VIOLATION, "kredensial kanal hanya untuk API intake / a channel credential "
                                             "is for the intake API")
            return None, None
        if self.cooling.get(principal.id, 0.0) > time.monotonic():
            await ws.close(TOO_MANY_MESSAGES, FLOODED)
            return None, None
        return principal, message.resume_after

    def _welcome(self, principal: Principal) -> bytes:
        scope = principal.scope
        return _encode(Welcome(
            seq=self.journal.last_seq, name=principal.name, role=principal.role,
            expires_at=principal.expires_at, regions=[str(r) for r in scope.regions],
            kinds=[str(k) for k in scope.kinds], min_severity=scope.min_severity,
        ))

    async def _serve(self, client: Client) -> None:
        pump = asyncio.create_task(self._pump(client))
        try:
            async for raw in client.ws:
                if client.principal.expired(utc_now()):
                    client.close(POLICY_VIOLATION, EXPIRED)
                    break
                if not client.bucket.take():
                    self._flooded(client)
                    break
                await self._on_message(client, raw)
        except ConnectionClosed:
            pass
        finally:
            self.clients.discard(client)
            client.closing = True
            pump.cancel()
            with contextlib.suppress(asyncio.CancelledError, ConnectionClosed):
                await pump

    def _flooded(self, client: Client) -> None:
        """Close a client over its message limit and refuse its credential for FLOOD_COOLDOWN_S."""
        now = time.monotonic()
        self.cooling = {held: until for held, until in self.cooling.items() if until > now}
        self.cooling[client.principal.id] = now + FLOOD_COOLDOWN_S
        self.tally["flooded"] += 1
        log.warning("closing %s (%s): more than %g messages/s in bursts of %d", client.principal.name,
                    client.principal.role, self.settings.gateway_client_rate,
                    self.settings.gateway_client_burst)
        client.close(TOO_MANY_MESSAGES, FLOODED)

    async def _pump(self, client: Client) -> None:
        """Send the client's queue, in order, at the pace the client reads."""
        try:
            while not client.closing:
                if client.resync or client.queue:
                    client.sending = True
                    if client.resync:
                        await self.resync(client)
                    else:
                        await client.ws.send(client.queue.popleft().data, text=True)
                else:
                    client.sending = False
                    client.wake.clear()
                    await client.wake.wait()
        except ConnectionClosed:
            pass

    async def _on_message(self, client: Client, raw: str | bytes) -> None:
        seq = self.journal.last_seq
        try:
            message = _client_message.decode(raw)
        except msgspec.DecodeError as exc:
            client.send(seq, _encode(Error(seq, f"pesan tidak dimengerti / message not understood: {exc}")))
            return
        if isinstance(message, AckRequest):
            await self.acknowledge(client, message)
        elif isinstance(message, IncidentAckRequest):
            await self.acknowledge_incident(client, message)
        elif isinstance(message, CommandRequest):
            await self.commands.issue(client, message)
        elif isinstance(message, AuthRequest):
            client.send(seq, _encode(Error(seq, "sudah masuk / already authenticated")))
        else:
            assert isinstance(message, Pong)

    async def acknowledge(self, client: Client, request: AckRequest) -> None:
        """Put a client's acknowledgement on posko.acks; it comes back to every wall from there."""
        principal = client.principal
        seq = self.journal.last_seq
        if not principal.can_acknowledge:
            refusal = ("kredensial dinding tidak dapat menerima alert / a wall credential cannot "
                       "acknowledge: use an officer's or a responder's")
            client.send(seq, _encode(Error(seq, refusal)))
            return
        alert = await self._find_alert(request.alert_id)
        if alert is None or not principal.covers(alert.region, alert.event_kind, alert.severity):
            client.send(seq, _encode(Error(seq, f"alert {request.alert_id} tidak dikenal atau di luar "
                                                "wilayah tugas / unknown alert or outside your scope")))
            return
        ack = Acknowledgement(
            id=new_event_id(), alert_id=alert.id, region=alert.region, event_kind=alert.event_kind,
            severity=alert.severity, acked_by=principal.name, role=principal.role, note=request.note.strip(),
            acked_at=utc_now(),
        )
        assert self.producer is not None
        key = str(alert.region).encode() if alert.region else None
        await (await self.producer.send(ACKS, _encode(ack), key=key))
        seq = self.journal.last_seq
        client.send(seq, _encode(Receipt(seq, alert.id, ack.id)))

    async def acknowledge_incident(self, client: Client, request: IncidentAckRequest) -> None:
        """Put a client's acknowledgement of an incident on posko.signals, where the correlator
        reads it (and stops escalating); it comes back to every wall from there."""
        principal = client.principal
        seq = self.journal.last_seq
        if not principal.can_acknowledge:
            refusal = ("kredensial dinding tidak dapat menerima insiden / a wall credential cannot "
                       "acknowledge: use an officer's or a responder's")
            client.send(seq, _encode(Error(seq, refusal)))
            return
        incident = self.board.open.get(request.incident_id)
        if incident is None or not sees_incident(principal, incident):
            client.send(seq, _encode(Error(seq, f"insiden {request.incident_id} tidak dikenal, sudah selesai "
                                                "atau di luar wilayah tugas / unknown or closed incident, "
                                                "or outside your scope")))
            return
        if request.status is IncidentStatus.BARU or request.status is IncidentStatus.SELESAI:
            client.send(seq, _encode(Error(seq, "status harus dipantau atau ditangani / status must be "
                                                "dipantau or ditangani")))
            return
        ack = IncidentAck(incident_id=incident.id, acked_by=principal.name, role=str(principal.role),
                          acked_at=utc_now(), status=request.status)
        assert self.producer is not None
        await (await self.producer.send(SIGNALS, _encode(ack), key=SIGNALS_KEY))
        seq = self.journal.last_seq
        client.send(seq, _encode(IncidentReceipt(seq, incident.id)))

    async def _find_alert(self, alert_id: uuid.UUID) -> Alert | None:
        """The alert from the journal, an earlier snapshot or lookup, or else ClickHouse."""
        alert = self.alerts.get(alert_id) or self.stored_alerts.get(alert_id)
        if alert is not None:
            return alert
        loop = asyncio.get_running_loop()
        if loop.time() - self.unknown_alerts.get(alert_id, -UNKNOWN_ALERT_S) < UNKNOWN_ALERT_S:
            return None
        async with self._lookups:
            self.tally["alert_lookups"] += 1
            alert = await asyncio.to_thread(self._stored_alert, alert_id)
        if alert is None:
            self._remember(self.unknown_alerts, alert_id, loop.time())
        else:
            self._remember(self.stored_alerts, alert_id, alert)
        return alert

    def _stored_alert(self, alert_id: uuid.UUID) -> Alert | None:
        try:
            return read_alert(self.settings, alert_id)
        except Exception as exc:
            log.warning("looking up alert %s in ClickHouse failed: %s", alert_id, exc)
            return None

    # --- HTTP ----------------------------------------------------------------------------------

    def health(self) -> dict[str, object]:
        """What /healthz answers: clients, the last seq, the ring, Kafka, and the tallies since start."""
        journal = self.journal
        health: dict[str, object] = {"status": "ok", "clients": len(self.clients), "seq": journal.last_seq,
                                     "ring": len(journal.entries), "ring_bytes": journal.bytes,
                                     "kafka": self.kafka_ready, **self.tally}
        for name in ("skipped", "dropped", "flooded", "alert_lookups"):
            health.setdefault(name, 0)
        return health

    def briefing_facts(self, since: datetime) -> Situation:
        """What the briefing tells of what the gateway holds, since the last one at `since`."""
        from sinks.push.briefing import situation

        return situation(self.board, self.desk, self.ranking, self.counts, since)

    # --- Feeds ---------------------------------------------------------------------------------

    async def consume(self, stop: asyncio.Event) -> None:
        """Alerts, acknowledgements, incidents and escalations from Kafka (sinks/push/feed.py)."""
        await consume(self, stop)

    async def refresh_counts(self, stop: asyncio.Event) -> None:
        """Re-read the last-hour counters from ClickHouse every gateway_counts_ms."""
        while not stop.is_set():
            try:
                self.on_counts(await asyncio.to_thread(read_counts, self.settings))
            except Exception as exc:
                log.info("counters not read (%s); retrying", exc)
            await _wait(stop, self.settings.gateway_counts_ms / 1000)

    async def ping(self, stop: asyncio.Event) -> None:
        """Application-level ping every gateway_ping_s."""
        while not await _wait(stop, self.settings.gateway_ping_s):
            seq = self.journal.last_seq
            data = _encode(Ping(seq, utc_now()))
            for client in list(self.clients):
                client.send(seq, data)


async def _wait(stop: asyncio.Event, seconds: float) -> bool:
    """Wait `seconds` or until stop; True when stopped."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)
    return stop.is_set()


async def serve_gateway(settings: Settings, stop: asyncio.Event,
                        ready: Callable[[], Awaitable[None]] | None = None) -> None:
    """Run the gateway until `stop` is set."""
    gateway = Gateway(settings)
    gateway.producer = AIOKafkaProducer(bootstrap_servers=settings.bootstrap_servers, acks="all",
                                        enable_idempotence=True, linger_ms=0)
    await gateway.producer.start()
    gateway.commands.producer = gateway.producer
    tasks = [asyncio.create_task(gateway.consume(stop)), asyncio.create_task(gateway.refresh_counts(stop)),
             asyncio.create_task(gateway.ping(stop)),
             asyncio.create_task(watch_credentials(gateway.credentials, gateway.clients, stop))]
    try:
        async with serve(gateway.handle, settings.gateway_host, settings.gateway_port,
                         process_request=gateway.http.process_request,
                         max_size=settings.gateway_max_message_bytes, compression=None,
                         close_timeout=5, ping_interval=20, ping_timeout=20) as server:
            log.warning("gateway on http://%s:%d/wall (websocket /ws)", settings.gateway_host,
                        settings.gateway_port)
            if ready is not None:
                await ready()
            waiting = asyncio.ensure_future(stop.wait())
            done, _ = await asyncio.wait([waiting, *tasks], return_when=asyncio.FIRST_COMPLETED)
            waiting.cancel()
            for task in done:
                if task is not waiting and task.exception() is not None:
                    raise task.exception()  # type: ignore[misc]
            server.close()
    finally:
        stop.set()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await gateway.producer.stop()


def run_gateway(settings: Settings) -> None:
    """Run the gateway in this process on uvloop until SIGINT or SIGTERM."""
    from posko.loop import run_async

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await serve_gateway(settings, stop)

    run_async(main())
