"""The gateway's command path: a client's `command` becomes a `Command` on posko.commands, and the
desk's decision (the `AuditEntry` of the same id on posko.audit) goes back to whoever issued it.

The gateway refuses only what cannot be a command: an unreadable message (an `error`, as for any
message) and a wall's (a wall shows, never acts). Rights, scope, versions and state moves are the
desk's to decide (streams/desk.py), so that every refusal of those is recorded too.
"""

from __future__ import annotations

import logging
import uuid
from collections import OrderedDict
from typing import Protocol

import msgspec
from aiokafka import AIOKafkaProducer

from schemas.commands import (
    Action,
    Actor,
    AuditEntry,
    Command,
    CreateTask,
    MergeIncidents,
    OpenIncident,
    SetEmergencyStatus,
)
from schemas.events import new_event_id, utc_now
from schemas.identity import Principal, Role
from schemas.topics import COMMANDS
from sinks.push.client import Client
from sinks.push.protocol import CommandRequest, CommandResult, CommandSent

log = logging.getLogger("posko.gateway")

# Commands waiting for the desk's decision, at most this many (the oldest forgotten first: a
# decision that never came must not hold the gateway's memory).
PENDING = 10_000
WALL_REFUSED = ("dinding hanya menampilkan, tidak dapat memberi perintah / a wall shows, it cannot "
                "issue commands: use an officer's credential")
NOT_SENT = "perintah tidak terkirim ke Kafka, coba lagi / the command did not reach Kafka, try again"

_encode = msgspec.json.Encoder().encode
_NAMESPACE = uuid.UUID("5d0c7f2e-8b1a-4e6f-9c3d-7a2b4e1f0c9d")


class Journal(Protocol):
    """What the command path needs of the gateway's journal: the latest seq."""

    last_seq: int


def command_key(action: Action) -> bytes:
    """The command's key on posko.commands: the incident, task or region it is about."""
    if isinstance(action, OpenIncident):
        return str(action.regions[0]).encode()
    if isinstance(action, SetEmergencyStatus):
        return str(action.region).encode()
    if isinstance(action, CreateTask):
        target = action.incident_id or action.region
        return str(target).encode() if target is not None else b"task"
    if isinstance(action, MergeIncidents):
        return str(action.incident_id).encode()
    for name in ("task_id", "incident_id"):
        if (target := getattr(action, name, None)) is not None:
            return str(target).encode()
    return b"command"


def origin_of(client: Client, page: str) -> str:
    """Where a command comes from: the page and the remote address, e.g. "console 10.0.0.7"."""
    address = client.ws.remote_address
    host = str(address[0]) if address else "?"
    return f"{page or 'ws'} {host}"


def actor_of(principal: Principal) -> Actor:
    """Who issues a command, as their checked credential says."""
    return Actor(name=principal.name, role=principal.role, credential=principal.id, scope=principal.scope)


def command_id(principal: Principal, ref: str) -> uuid.UUID:
    """The command's id: derived from the credential and the client's ref, so a command sent again
    with its ref (after a reconnect, unsure whether it got through) is the same command, and the
    desk applies it once; a new UUIDv7 when the client gives no ref."""
    if not ref:
        return new_event_id()
    return uuid.uuid5(_NAMESPACE, f"{principal.id}|{ref}")


class CommandPath:
    """Commands out to posko.commands; their decisions back to the clients that issued them."""

    def __init__(self, journal: Journal) -> None:
        self.journal = journal
        self.producer: AIOKafkaProducer | None = None
        self.pending: OrderedDict[uuid.UUID, tuple[Client, str]] = OrderedDict()

    async def issue(self, client: Client, request: CommandRequest) -> None:
        """Wrap a client's command and write it to posko.commands; answer `command_sent`."""
        principal = client.principal
        seq = self.journal.last_seq
        if principal.role is Role.WALL:
            client.send(seq, _encode(CommandResult(seq, request.ref, None, 403, False, WALL_REFUSED)))
            return
        command = Command(id=command_id(principal, request.ref), actor=actor_of(principal),
                          issued_at=utc_now(), origin=origin_of(client, request.page),
                          expected_version=request.expected_version, action=request.action)
        # Waiting before it is written: the decision may come back before the send returns.
        self.pending[command.id] = (client, request.ref)
        while len(self.pending) > PENDING:
            self.pending.popitem(last=False)
        assert self.producer is not None
        try:
            await (await self.producer.send(COMMANDS, _encode(command), key=command_key(request.action)))
        except Exception as exc:  # the broker is away: say so, the person tries again
            log.warning("command %s not written to %s: %s", command.id, COMMANDS, exc)
            self.pending.pop(command.id, None)
            seq = self.journal.last_seq
            client.send(seq, _encode(CommandResult(seq, request.ref, command.id, 503, False, NOT_SENT)))
            return
        seq = self.journal.last_seq
        client.send(seq, _encode(CommandSent(seq, request.ref, command.id)))

    def on_audit(self, entry: AuditEntry) -> None:
        """The desk decided a command: tell whoever issued it, if still connected to this gateway."""
        waiting = self.pending.pop(entry.id, None)
        if waiting is None:
            return
        client, ref = waiting
        seq = self.journal.last_seq
        result = CommandResult(seq, ref, entry.id, entry.status, entry.accepted, entry.reason)
        client.send(seq, _encode(result))
