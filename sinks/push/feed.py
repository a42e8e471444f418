"""The gateway's Kafka feed: alerts, acknowledgements, incidents, escalations and incident acks
into its journal and incident board; the desk's state (tasks, emergency statuses, notes) into its
desk board; decision support's scores and recommendations into its ranking board; the desk's
decisions (audit entries) to the clients that issued the commands."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Protocol

import msgspec
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from posko.settings import Settings
from schemas.batch import record_lines
from schemas.commands import AuditEntry, DeskRecord
from schemas.decision import RankingRecord
from schemas.events import Acknowledgement, Alert
from schemas.incidents import Escalation, Incident, IncidentAck, RoomInput
from schemas.topics import ACKS, ALERTS, AUDIT, DESK, ESCALATIONS, INCIDENTS, RANKING, SIGNALS
from sinks.push.commands import CommandPath
from sinks.push.desk import DeskBoard
from sinks.push.incidents import RECENT_ESCALATIONS, IncidentBoard
from sinks.push.ranking import RankingBoard

log = logging.getLogger("posko.gateway")

# On start, alerts and acknowledgements this recent are read back from Kafka into the journal, so
# a wall connecting right away also gets those the sink has not stored yet.
BACKFILL_S = 600

_alert = msgspec.json.Decoder(Alert)
_ack = msgspec.json.Decoder(Acknowledgement)
_incident = msgspec.json.Decoder(Incident)
_escalation = msgspec.json.Decoder(Escalation)
_room_input = msgspec.json.Decoder(RoomInput)
_desk = msgspec.json.Decoder(DeskRecord)
_audit = msgspec.json.Decoder(AuditEntry)
_ranking: msgspec.json.Decoder[RankingRecord] = msgspec.json.Decoder(RankingRecord)
# Compacted topics read from their start, quietly up to where they ended at start (the current state).
_STATE = (INCIDENTS, DESK, RANKING)


class Gateway(Protocol):
    """What the feed fills: the gateway (sinks/push/gateway.py)."""

    settings: Settings
    board: IncidentBoard
    desk: DeskBoard
    ranking: RankingBoard
    commands: CommandPath
    kafka_ready: bool
    incidents_loaded: asyncio.Event

    def on_alert(self, alert: Alert) -> None: ...
    def on_ack(self, ack: Acknowledgement) -> None: ...
    def on_incident(self, incident: Incident) -> None: ...
    def on_escalation(self, escalation: Escalation) -> None: ...
    def on_incident_ack(self, ack: IncidentAck) -> None: ...
    def on_desk(self, record: DeskRecord) -> None: ...
    def on_ranking(self, record: RankingRecord) -> None: ...


async def consume(gateway: Gateway, stop: asyncio.Event) -> None:
    """Alerts, acknowledgements and incidents from Kafka into the journal.

    Alerts and acknowledgements from BACKFILL_S ago, escalations from RECENT_ESCALATIONS ago;
    posko.incidents, posko.desk and posko.ranking (compacted) from their start, quietly up to where they ended
    at start (the boards, not the journal: those are in every snapshot), then each change as a
    message; posko.audit from its end (decisions of commands issued from now on).
    """
    consumer = AIOKafkaConsumer(
        bootstrap_servers=gateway.settings.bootstrap_servers, enable_auto_commit=False,
        fetch_max_wait_ms=20, auto_offset_reset="latest",
    )
    await consumer.start()
    try:
        tps = await _partitions(gateway.settings, [ALERTS, ACKS, SIGNALS, ESCALATIONS, *_STATE, AUDIT])
        consumer.assign(tps)
        now = time.time()
        since_ms = {tp: int((now - (RECENT_ESCALATIONS.total_seconds() if tp.topic == ESCALATIONS
                                    else BACKFILL_S)) * 1000)
                    for tp in tps if tp.topic not in (*_STATE, AUDIT)}
        found = await consumer.offsets_for_times(since_ms)
        for tp in since_ms:
            if (at := found.get(tp)) is not None:
                consumer.seek(tp, at.offset)
            else:
                await consumer.seek_to_end(tp)
        await consumer.seek_to_end(*[tp for tp in tps if tp.topic == AUDIT])
        state_tps = [tp for tp in tps if tp.topic in _STATE]
        await consumer.seek_to_beginning(*state_tps)
        loading = {tp: end for tp, end in (await consumer.end_offsets(state_tps)).items() if end > 0}
        if not loading:
            gateway.incidents_loaded.set()
        gateway.kafka_ready = True
        while not stop.is_set():
            batch = await consumer.getmany(timeout_ms=200, max_records=1000)
            for tp, records in batch.items():
                for record in records:
                    if tp in loading and record.offset < loading[tp]:
                        _load(gateway, tp.topic, record.value)
                        continue
                    _on_record(gateway, tp.topic, record.value)
                    # Let the clients' pumps send before the next one: a burst from one fetch
                    # is not a client falling behind.
                    await asyncio.sleep(0)
            if loading:
                for tp in [tp for tp in loading if await consumer.position(tp) >= loading[tp]]:
                    del loading[tp]
                if not loading:
                    log.info("incidents and desk read: %d open incidents, %d tasks", len(gateway.board.open),
                             len(gateway.desk.tasks))
                    gateway.incidents_loaded.set()
    finally:
        gateway.kafka_ready = False
        with contextlib.suppress(Exception, asyncio.CancelledError):
            await consumer.stop()

def _load(gateway: Gateway, topic: str, value: bytes | None) -> None:
    """A version of an incident, task, status or note read at start: onto a board, not into the journal."""
    if value is None:
        return
    try:
        if topic == INCIDENTS:
            gateway.board.update(_incident.decode(value))
        elif topic == RANKING:
            gateway.ranking.update(_ranking.decode(value))
        else:
            gateway.desk.update(_desk.decode(value), gateway.board.open)
    except msgspec.DecodeError as exc:
        log.warning("skipping unreadable record on %s: %s", topic, exc)

def _on_record(gateway: Gateway, topic: str, value: bytes | None) -> None:
    if value is None:  # a tombstone on the compacted incidents topic
        return
    try:
        if topic == ALERTS:
            gateway.on_alert(_alert.decode(value))
        elif topic == ACKS:
            gateway.on_ack(_ack.decode(value))
        elif topic == INCIDENTS:
            gateway.on_incident(_incident.decode(value))
        elif topic == ESCALATIONS:
            gateway.on_escalation(_escalation.decode(value))
        elif topic == DESK:
            gateway.on_desk(_desk.decode(value))
        elif topic == RANKING:
            gateway.on_ranking(_ranking.decode(value))
        elif topic == AUDIT:
            gateway.commands.on_audit(_audit.decode(value))
        else:
            _on_signals(gateway, value)
    except msgspec.DecodeError as exc:  # the sink sends it to the DLQ; the wall skips it
        log.warning("skipping unreadable record on %s: %s", topic, exc)


def _on_signals(gateway: Gateway, value: bytes) -> None:
    """A posko.signals record (batched, one a line): its acknowledgements of incidents, each line
    alone (the room dead-letters a bad one)."""
    for _, line in record_lines(value):
        # An acknowledgement's line holds its tag: the far more numerous signals are not decoded.
        if not line or b'"ack"' not in line:
            continue
        try:
            room = _room_input.decode(line)
        except msgspec.DecodeError as exc:
            log.warning("skipping an unreadable line on %s: %s", SIGNALS, exc)
            continue
        if isinstance(room, IncidentAck):
            gateway.on_incident_ack(room)


async def _partitions(settings: Settings, topics: list[str]) -> list[TopicPartition]:
    """Every partition of the topics, as the broker describes them."""
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.bootstrap_servers)
    await admin.start()
    try:
        described = await admin.describe_topics(topics)
    finally:
        await admin.close()
    return [TopicPartition(t["topic"], p["partition"]) for t in described for p in t["partitions"]]
