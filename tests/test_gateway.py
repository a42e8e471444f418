"""The push gateway's protocol against the real process, broker, worker, sink and chdb."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import msgspec
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.frames import Close
from websockets.typing import Origin

from posko.net import free_port
from posko.services import Service
from schemas.events import Acknowledgement, Severity, utc_now
from schemas.identity import Role
from schemas.regions import Region
from schemas.topics import ACKS
from sinks.push.protocol import (
    AckMessage,
    AlertMessage,
    CountsMessage,
    Error,
    Gap,
    Receipt,
    ServerMessage,
    Snapshot,
    Welcome,
)
from tests.conftest import read_topic, wait_for
from tests.gateway_stack import (
    GatewayStack,
    alert_ids,
    gateway_stack,
    make_alert,
    open_client,
    publish_alerts,
    receive_until,
)

__all__ = ["gateway_stack"]

pytestmark = pytest.mark.integration


Done = Callable[[list[ServerMessage]], bool]


def _has(kind: type, count: int = 1) -> Done:
    return lambda got: sum(isinstance(m, kind) for m in got) >= count


def _has_alerts(ids: list[uuid.UUID]) -> Done:
    return lambda got: set(ids) <= set(alert_ids(got))


def _has_ack_of(alert_id: uuid.UUID) -> Done:
    return lambda got: any(isinstance(m, AckMessage) and m.ack.alert_id == alert_id for m in got)


async def _refusal(stack: GatewayStack, token: str) -> tuple[int, str]:
    ws = await open_client(stack, token)
    with pytest.raises(ConnectionClosed) as closed:
        await asyncio.wait_for(ws.recv(), 30)
    assert closed.value.rcvd is not None
    return closed.value.rcvd.code, closed.value.rcvd.reason


async def _closed_within(ws: ClientConnection, timeout_s: float) -> Close:
    """Read until the gateway closes the connection; fail the test at the deadline."""
    try:
        async with asyncio.timeout(timeout_s):
            while True:
                await ws.recv()
    except ConnectionClosed as closed:
        assert closed.rcvd is not None
        return closed.rcvd
    except TimeoutError:
        pass
    pytest.fail(f"the gateway did not close the connection within {timeout_s:.0f} s")


async def test_unknown_credential_is_refused_with_1008_and_a_reason(gateway_stack: GatewayStack) -> None:
    code, reason = await _refusal(gateway_stack, "not-a-credential")
    assert code == 1008 and "unknown credential" in reason


async def test_credential_with_a_wrong_secret_is_refused(gateway_stack: GatewayStack) -> None:
    real = gateway_stack.token(Role.OFFICER, "Petugas Asli")
    forged = real[:-4] + ("AAAA" if not real.endswith("AAAA") else "BBBB")
    code, reason = await _refusal(gateway_stack, forged)
    assert code == 1008 and "unknown credential" in reason


async def test_expired_credential_is_refused(gateway_stack: GatewayStack) -> None:
    issued, expired = gateway_stack.credentials.issue("Petugas Kemarin", Role.OFFICER, hours=0.5 / 3600)
    expires_at = issued.expires_at
    assert expires_at is not None
    wait_for(lambda: utc_now() >= expires_at, 10, "the credential to expire")
    code, reason = await _refusal(gateway_stack, expired)
    assert code == 1008 and "credential expired" in reason


async def test_credential_expiring_while_connected_closes_the_connection(gateway_stack: GatewayStack) -> None:
    ws = await open_client(gateway_stack, gateway_stack.token(hours=6 / 3600))
    await receive_until(ws, _has(Snapshot))
    # The gateway looks at its credentials every 2 s: closed within seconds of the expiry.
    closed = await _closed_within(ws, 20)
    assert closed.code == 1008 and "credential expired" in closed.reason


async def test_revoked_credential_closes_its_open_connection_and_is_refused(
        gateway_stack: GatewayStack) -> None:
    name = f"TRC Dicabut {uuid.uuid4().hex[:6]}"
    secret = gateway_stack.token(Role.RESPONDER, name, regions=[Region.KOTA_JAMBI])
    ws = await open_client(gateway_stack, secret)
    await receive_until(ws, _has(Snapshot))
    gateway_stack.credentials.revoke(name)
    closed = await _closed_within(ws, 10)
    assert closed.code == 1008 and "credential revoked" in closed.reason
    code, reason = await _refusal(gateway_stack, secret)
    assert code == 1008 and "credential revoked" in reason


async def test_channel_credential_cannot_open_the_websocket(gateway_stack: GatewayStack) -> None:
    from schemas.events import Channel

    _, channel = gateway_stack.credentials.issue("Formulir Web Uji", Role.CHANNEL, channel=Channel.WEB)
    code, reason = await _refusal(gateway_stack, channel)
    assert code == 1008 and "a channel credential is for the intake API" in reason


async def test_first_message_must_be_auth(gateway_stack: GatewayStack) -> None:
    ws = await connect(gateway_stack.ws_url)
    await ws.send('{"type":"ack","alert_id":"018f0000-0000-7000-8000-000000000000"}')
    with pytest.raises(ConnectionClosed) as closed:
        await asyncio.wait_for(ws.recv(), 30)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008
    assert "first message must be auth" in closed.value.rcvd.reason


async def test_foreign_origin_is_refused_and_own_origin_accepted(gateway_stack: GatewayStack) -> None:
    with pytest.raises(InvalidStatus) as refused:
        await connect(gateway_stack.ws_url, origin=Origin("http://evil.example"))
    assert refused.value.response.status_code == 403
    assert b"POSKO_GATEWAY_ORIGINS" in refused.value.response.body
    ws = await open_client(gateway_stack, gateway_stack.token(), origin=gateway_stack.url)
    got = await receive_until(ws, _has(Snapshot))
    assert isinstance(got[0], Welcome)
    await ws.close()


async def test_oversized_message_closes_the_connection(gateway_stack: GatewayStack) -> None:
    ws = await open_client(gateway_stack, gateway_stack.token(Role.OFFICER))
    await receive_until(ws, _has(Snapshot))
    await ws.send('{"type":"ack","alert_id":"x","note":"' + "a" * 100_000 + '"}')
    with pytest.raises(ConnectionClosed) as closed:
        while True:
            await asyncio.wait_for(ws.recv(), 30)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009


async def test_alert_on_kafka_reaches_the_wall_with_increasing_seq(gateway_stack: GatewayStack,
                                                                   marker: str) -> None:
    ws = await open_client(gateway_stack, gateway_stack.token())
    start = await receive_until(ws, _has(Snapshot))
    snapshot = start[-1]
    assert isinstance(snapshot, Snapshot) and snapshot.regions["15.71"] == "Kota Jambi"
    alerts = [make_alert(marker) for _ in range(5)]
    await publish_alerts(gateway_stack, alerts)
    got = await receive_until(ws, _has_alerts([a.id for a in alerts]))
    assert alert_ids(got)[-5:] == [a.id for a in alerts]  # one partition per region keeps the order
    seqs = [m.seq for m in got if isinstance(m, AlertMessage | AckMessage | CountsMessage)]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs) and seqs[0] > snapshot.seq
    await ws.close()


async def test_responder_gets_only_alerts_in_scope(gateway_stack: GatewayStack, marker: str) -> None:
    token = gateway_stack.token(Role.RESPONDER, "TRC Kota Jambi", regions=[Region.KOTA_JAMBI],
                                min_severity=Severity.SEVERE)
    ws = await open_client(gateway_stack, token)
    welcome = (await receive_until(ws, _has(Snapshot)))[0]
    assert isinstance(welcome, Welcome) and welcome.regions == ["15.71"] and welcome.role == "responder"
    other_region = make_alert(marker, region=Region.KERINCI)
    too_minor = make_alert(marker, severity=Severity.MODERATE)
    in_scope = make_alert(marker, severity=Severity.EXTREME)
    await publish_alerts(gateway_stack, [other_region, too_minor, in_scope])
    got = await receive_until(ws, _has_alerts([in_scope.id]))
    assert other_region.id not in alert_ids(got) and too_minor.id not in alert_ids(got)
    assert not any(isinstance(m, CountsMessage) for m in got)  # counters are for the command room
    await ws.close()


async def test_resume_after_reconnect_gets_exactly_the_missed_messages(gateway_stack: GatewayStack,
                                                                       marker: str) -> None:
    watcher = await open_client(gateway_stack, gateway_stack.token(name="Pengamat"))
    await receive_until(watcher, _has(Snapshot))
    wall = await open_client(gateway_stack, gateway_stack.token())
    await receive_until(wall, _has(Snapshot))
    first = make_alert(marker)
    await publish_alerts(gateway_stack, [first])
    seen = await receive_until(wall, _has_alerts([first.id]))
    last_seq = max(m.seq for m in seen if isinstance(m, AlertMessage))
    await wall.close()

    missed = [make_alert(marker, region=region) for region in (Region.BUNGO, Region.TEBO, Region.KOTA_JAMBI)]
    await publish_alerts(gateway_stack, missed)
    watched = await receive_until(watcher, _has_alerts([first.id, *(a.id for a in missed)]))

    resumed = await open_client(gateway_stack, gateway_stack.token(), resume_after=last_seq)
    got = await receive_until(resumed, _has_alerts([a.id for a in missed]))
    assert isinstance(got[0], Welcome)
    assert not any(isinstance(m, Snapshot | Gap) for m in got)

    def journal(messages: list[ServerMessage]) -> list[tuple[int, str]]:
        return [(m.seq, type(m).__name__) for m in messages
                if isinstance(m, AlertMessage | AckMessage | CountsMessage) and m.seq > last_seq]

    replayed = journal(got)
    # Exactly what the watcher, connected all along, got after last_seq: nothing lost, nothing twice.
    assert replayed == journal(watched)[: len(replayed)]
    assert sorted(alert_ids(got)) == sorted(a.id for a in missed) and first.id not in alert_ids(got)
    await resumed.close()
    await watcher.close()


async def test_resume_from_too_long_ago_gets_a_gap_and_a_fresh_snapshot(gateway_stack: GatewayStack) -> None:
    ws = await open_client(gateway_stack, gateway_stack.token(), resume_after=12345)
    got = await receive_until(ws, _has(Snapshot))
    assert [type(m) for m in got] == [Welcome, Gap, Snapshot]
    gap = got[1]
    assert isinstance(gap, Gap) and "too old" in gap.reason
    await ws.close()


async def test_snapshot_on_connect_comes_from_clickhouse(gateway_stack: GatewayStack, marker: str) -> None:
    stored_only = make_alert(marker, region=Region.MERANGIN, headline=f"Longsor {marker}")
    row = msgspec.json.encode({"id": stored_only.id, "event_kind": "disaster_alert", "source": marker,
                               "occurred_at": stored_only.occurred_at, "region": "15.02", "lat": None,
                               "lon": None, "severity": "Severe", "urgency": "Immediate",
                               "headline": stored_only.headline, "description": "", "reason": "uji"})
    # Straight into ClickHouse, never on Kafka: only the snapshot can bring it to the wall.
    gateway_stack.stack.sql("INSERT INTO posko.alerts (id, event_kind, source, occurred_at, region, lat, "
                            "lon, severity, urgency, headline, description, reason) SETTINGS "
                            f"date_time_input_format='best_effort' FORMAT JSONEachRow {row.decode()}")
    stored = f"SELECT count() FROM posko.alerts WHERE source = '{marker}'"
    wait_for(lambda: gateway_stack.stack.count(stored) == 1, 60, "the alert in ClickHouse")
    # A snapshot read from ClickHouse serves connections for a second: connect until one is fresh.
    deadline = time.monotonic() + 60
    while True:
        ws = await open_client(gateway_stack, gateway_stack.token())
        snapshot = (await receive_until(ws, _has(Snapshot)))[-1]
        await ws.close()
        assert isinstance(snapshot, Snapshot)
        if stored_only.id in [a.id for a in snapshot.alerts] or time.monotonic() > deadline:
            break
    assert stored_only.id in [a.id for a in snapshot.alerts]
    assert snapshot.counts is not None and sum(snapshot.counts.alerts.values()) >= 1


async def test_acknowledgement_goes_to_kafka_clickhouse_and_every_wall(gateway_stack: GatewayStack,
                                                                       marker: str) -> None:
    walls = [await open_client(gateway_stack, gateway_stack.token(name=f"Dinding {i}")) for i in range(2)]
    for wall in walls:
        await receive_until(wall, _has(Snapshot))
    responder = await open_client(gateway_stack, gateway_stack.token(
        Role.RESPONDER, "Regu TRC BPBD Kota Jambi", regions=[Region.KOTA_JAMBI]))
    await receive_until(responder, _has(Snapshot))
    alert = make_alert(marker)
    await publish_alerts(gateway_stack, [alert])
    await receive_until(responder, _has_alerts([alert.id]))
    sent_at = time.monotonic()
    await responder.send(msgspec.json.encode({"type": "ack", "alert_id": alert.id,
                                              "note": "Tim meluncur, ETA 15 menit"}).decode())
    got = await receive_until(responder, _has(Receipt))
    receipt = next(m for m in got if isinstance(m, Receipt))
    assert receipt.alert_id == alert.id
    for wall in walls:
        seen = await receive_until(wall, _has_ack_of(alert.id))
        ack = next(m.ack for m in seen if isinstance(m, AckMessage) and m.ack.alert_id == alert.id)
        assert ack.acked_by == "Regu TRC BPBD Kota Jambi" and ack.note == "Tim meluncur, ETA 15 menit"
        assert ack.region == Region.KOTA_JAMBI and ack.id == receipt.ack_id
    print(f"acknowledgement on both walls {1000 * (time.monotonic() - sent_at):.0f} ms after it was sent")
    on_kafka = [msgspec.json.decode(v or b"", type=Acknowledgement)
                for _, v in await read_topic(gateway_stack.stack.settings, ACKS)]
    assert [a.alert_id for a in on_kafka].count(alert.id) == 1
    stored = f"SELECT acked_by, note FROM posko.acks WHERE alert_id = '{alert.id}'"
    expected = "Regu TRC BPBD Kota Jambi\tTim meluncur, ETA 15 menit"
    wait_for(lambda: gateway_stack.stack.sql(stored) == expected, 60, "the acknowledgement in ClickHouse")
    for ws in (*walls, responder):
        await ws.close()


async def test_wall_cannot_acknowledge_and_responder_not_outside_scope(gateway_stack: GatewayStack,
                                                                     marker: str) -> None:
    alert = make_alert(marker, region=Region.SAROLANGUN)
    wall = await open_client(gateway_stack, gateway_stack.token())
    await receive_until(wall, _has(Snapshot))
    await publish_alerts(gateway_stack, [alert])
    await receive_until(wall, _has_alerts([alert.id]))
    await wall.send(msgspec.json.encode({"type": "ack", "alert_id": alert.id}).decode())
    got = await receive_until(wall, _has(Error))
    assert "a wall credential cannot acknowledge" in next(m.message for m in got if isinstance(m, Error))
    token = gateway_stack.token(Role.RESPONDER, regions=[Region.KOTA_JAMBI])
    responder = await open_client(gateway_stack, token)
    await receive_until(responder, _has(Snapshot))
    await responder.send(msgspec.json.encode({"type": "ack", "alert_id": alert.id}).decode())
    got = await receive_until(responder, _has(Error))
    assert "outside your scope" in next(m.message for m in got if isinstance(m, Error))
    await responder.send('{"type":"ack"}')
    got = await receive_until(responder, _has(Error))
    assert "message not understood" in next(m.message for m in got if isinstance(m, Error))
    await wall.close()
    await responder.close()


async def test_client_that_never_reads_does_not_delay_the_others(gateway_stack: GatewayStack,
                                                                  marker: str) -> None:
    before = gateway_stack.health()
    assert before is not None
    # A tiny receive buffer and no reading: the gateway's writes to it block almost at once.
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", int(gateway_stack.url.rsplit(":", 1)[1])))
    stuck = await open_client(gateway_stack, gateway_stack.token(name="Macet"), sock=sock, max_queue=1)
    reader = await open_client(gateway_stack, gateway_stack.token(name="Pembaca"))
    await receive_until(reader, _has(Snapshot))
    burst = [make_alert(marker, description="Genangan meluas. " * 300) for _ in range(1500)]
    reading = asyncio.create_task(receive_until(reader, _has_alerts([a.id for a in burst]), timeout_s=180))
    await publish_alerts(gateway_stack, burst)
    got = await reading
    assert not any(isinstance(m, Gap) for m in got)  # the reader kept up and missed nothing
    wait_for(lambda: (h := gateway_stack.health()) is not None and h.dropped > before.dropped, 60,
             "the gateway to drop the client that never reads")
    after = gateway_stack.health()
    assert after is not None and after.skipped > before.skipped
    with pytest.raises(ConnectionClosed):
        while True:
            await asyncio.wait_for(stuck.recv(), 30)
    await reader.close()


def _ack_of(alert_id: uuid.UUID) -> str:
    return msgspec.json.encode({"type": "ack", "alert_id": alert_id}).decode()


async def test_client_flooding_messages_is_closed_with_4429_and_the_others_keep_receiving(
        gateway_stack: GatewayStack, marker: str) -> None:
    # No size cap here: after the burst test above, a snapshot of 200 long alerts exceeds 1 MiB.
    wall = await open_client(gateway_stack, gateway_stack.token(name="Dinding Tetap"), max_size=None)
    await receive_until(wall, _has(Snapshot))
    token = gateway_stack.token(Role.OFFICER, name=f"Petugas Pembanjir {marker}")
    flooder = await open_client(gateway_stack, token, max_size=None)
    await receive_until(flooder, _has(Snapshot))
    before = gateway_stack.health()
    assert before is not None

    async def flood() -> tuple[int, str]:
        # Acknowledgements of alerts nobody knows, as fast as the socket takes them.
        with pytest.raises(ConnectionClosed) as closed:
            for _ in range(5_000):
                await flooder.send(_ack_of(uuid.uuid4()))
            while True:
                await flooder.recv()
        assert closed.value.rcvd is not None, "the gateway closed without a close frame"
        return closed.value.rcvd.code, closed.value.rcvd.reason

    started = time.monotonic()
    try:
        code, reason = await asyncio.wait_for(flood(), 30)
    except TimeoutError:
        pytest.fail("the gateway did not close a client sending 5,000 messages at once within 30 s")
    flooding_s = time.monotonic() - started
    assert code == 4429 and "terlalu banyak pesan" in reason and "too many messages" in reason
    alert = make_alert(marker)
    await publish_alerts(gateway_stack, [alert])
    await receive_until(wall, _has_alerts([alert.id]))
    # Reconnecting at once with the same credential is refused the same way, before any snapshot.
    assert (await _refusal(gateway_stack, token))[0] == 4429
    after = gateway_stack.health()
    assert after is not None and after.flooded == before.flooded + 1
    # The flood cost no more ClickHouse lookups than one burst of the limit, plus what the bucket
    # refilled (2 a second) while those lookups were made (a loaded machine let a 21st through).
    settings = gateway_stack.stack.settings
    allowed = settings.gateway_client_burst + int(settings.gateway_client_rate * flooding_s)
    assert after.alert_lookups - before.alert_lookups <= allowed
    await wall.close()


async def test_unknown_alert_acknowledged_again_is_not_looked_up_again(gateway_stack: GatewayStack) -> None:
    officer = await open_client(gateway_stack, gateway_stack.token(Role.OFFICER, name="Petugas Ulang"),
                                max_size=None)
    await receive_until(officer, _has(Snapshot))
    before = gateway_stack.health()
    assert before is not None
    unknown = uuid.uuid4()
    for _ in range(3):
        await officer.send(_ack_of(unknown))
        got = await receive_until(officer, _has(Error))
        assert "unknown alert" in next(m.message for m in got if isinstance(m, Error))
    after = gateway_stack.health()
    assert after is not None and after.alert_lookups == before.alert_lookups + 1
    await officer.close()


def test_http_serves_the_pages_and_says_where_they_are(gateway_stack: GatewayStack) -> None:
    status, content_type, body = gateway_stack.get("/wall")
    assert status == 200 and content_type.startswith("text/html") and b"Posko" in body
    status, _, body = gateway_stack.get("/responder")
    assert status == 200 and b"Terima" in body
    status, content_type, body = gateway_stack.get("/regions.geojson")
    assert status == 200 and len(msgspec.json.decode(body)["features"]) == 11
    status, _, body = gateway_stack.get("/nowhere")
    assert status == 404 and b"/wall" in body


def _posko(stack: GatewayStack, *args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "posko.cli", *args], env={**os.environ, **stack.stack.env},
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


@contextlib.contextmanager
def _running_intake(stack: GatewayStack, path: Path) -> Iterator[Callable[[str], httpx.Response]]:
    """`posko intake` on the gateway's POSKO_HOME; yields GET of a report's status with a credential."""
    port = free_port()
    intake = Service("intake", path, {**stack.stack.env, "POSKO_INTAKE_PORT": str(port)})
    intake.start()
    http = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30)

    def answers() -> bool:
        intake.keep_running()
        try:
            return http.get("/healthz").status_code == 200
        except httpx.TransportError:
            return False

    try:
        wait_for(answers, 90, lambda: f"the intake to answer /healthz\n{intake.tail()}")
        yield lambda secret: http.get("/v1/reports/JMB-2611-7Q4KM",
                                      headers={"Authorization": f"Bearer {secret}"})
    finally:
        http.close()
        intake.stop()


async def test_one_credential_works_at_the_intake_and_the_gateway_until_revoked(
        gateway_stack: GatewayStack, tmp_path: Path) -> None:
    with _running_intake(gateway_stack, tmp_path) as report_status:
        name = f"Petugas Piket {uuid.uuid4().hex[:6]}"
        secret = _posko(gateway_stack, "credential", "issue", "--role", "officer", "--name", name)
        ws = await open_client(gateway_stack, secret)
        welcome = (await receive_until(ws, _has(Snapshot)))[0]
        assert isinstance(welcome, Welcome) and (welcome.name, welcome.role) == (name, "officer")
        assert welcome.expires_at is not None and welcome.regions == []
        assert report_status(secret).status_code == 404  # checked and let in: there is no such report
        _posko(gateway_stack, "credential", "revoke", name)
        revoked_at = time.monotonic()
        assert "credential revoked" in (await _closed_within(ws, 10)).reason
        wait_for(lambda: report_status(secret).status_code == 401, 10 - (time.monotonic() - revoked_at),
                 "the intake to refuse the revoked credential within 10 s as well")
        assert "credential revoked" in report_status(secret).json()["message"]
