"""Commands through the real gateway, worker and sink while each of them is killed with SIGKILL in
turn: every command the gateway confirmed (`command_sent`) is decided once, its task complete on
posko.desk and in ClickHouse, its audit entry stored once, and none applied twice."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import msgspec
import pytest
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from schemas.commands import DeskRecord, Task, TaskStatus
from schemas.events import utc_now
from schemas.identity import Role
from schemas.topics import DESK
from sinks.push.protocol import CommandResult, CommandSent
from tests.conftest import own_broker, read_topic, wait_for
from tests.gateway_stack import GatewayStack, open_client, running_gateway, server_message

TASKS = 60
_desk = msgspec.json.Decoder(DeskRecord)


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[GatewayStack]:
    """Gateway, worker and sink on a broker of their own; one officer may send fast here."""
    with own_broker(tmp_path / "kafka", POSKO_WORKER_INSTANCE="kills-worker-1",
                    POSKO_GATEWAY_CLIENT_RATE="1000", POSKO_GATEWAY_CLIENT_BURST="1000") as (_, env):
        with running_gateway(env, tmp_path) as running:
            yield running


class Officer:
    """An officer's console connection: sends commands, notes which the gateway confirmed."""

    def __init__(self, stack: GatewayStack) -> None:
        self.stack = stack
        self.token = stack.token(Role.OFFICER, "Petugas Rina")
        self.confirmed: dict[str, uuid.UUID] = {}  # ref: command id
        self.decided: dict[uuid.UUID, CommandResult] = {}
        self.ws: ClientConnection | None = None
        self.heard = asyncio.Event()
        self._reader: asyncio.Task[None] | None = None

    async def connect(self) -> None:
        """Connect (again, after the gateway was killed), waiting for it to answer."""
        await asyncio.to_thread(wait_for, lambda: (h := self.stack.health()) is not None and h.kafka, 90,
                                lambda: f"the gateway to answer\n{self.stack.gateway.tail()}")
        self.ws = await open_client(self.stack, self.token)
        self._reader = asyncio.create_task(self._read(self.ws))

    async def _read(self, ws: ClientConnection) -> None:
        try:
            async for raw in ws:
                message = server_message.decode(raw)
                if isinstance(message, CommandSent):
                    self.confirmed[message.ref] = message.command_id
                    self.heard.set()
                elif isinstance(message, CommandResult) and message.command_id is not None:
                    self.decided[message.command_id] = message
        except ConnectionClosed:
            pass

    async def send(self, ref: str, action: dict[str, object], version: int | None = None) -> bool:
        """Send a command; False when the connection is gone (the gateway was killed)."""
        assert self.ws is not None
        try:
            await self.ws.send(msgspec.json.encode({"type": "command", "ref": ref, "page": "console",
                                                    "expected_version": version, "action": action}).decode())
            return True
        except ConnectionClosed:
            return False

    async def wait_confirmed(self, refs: set[str], at_least: int, timeout_s: float = 90) -> None:
        """Until the gateway confirmed at least `at_least` of these commands."""
        deadline = asyncio.get_running_loop().time() + timeout_s
        while len(refs & set(self.confirmed)) < at_least:
            self.heard.clear()
            left = deadline - asyncio.get_running_loop().time()
            try:
                await asyncio.wait_for(self.heard.wait(), max(left, 0.001))
            except TimeoutError:
                pytest.fail(f"the gateway confirmed {len(refs & set(self.confirmed))} of {at_least} "
                            f"commands within {timeout_s:.0f} s\n{self.stack.stack.log_tail()}")

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()
        if self._reader is not None:
            await self._reader


def _task(n: int) -> dict[str, object]:
    return {"action": "create_task", "title": f"Salurkan air bersih ke posko {n}",
            "assignee": {"kind": "team", "name": "Tagana Kota Jambi"}, "priority": "tinggi",
            "due_at": (utc_now() + timedelta(hours=4)).isoformat(), "region": "15.71"}


def _tasks_on_desk(stack: GatewayStack) -> dict[uuid.UUID, Task]:
    latest: dict[uuid.UUID, Task] = {}
    for _, value in asyncio.run(read_topic(stack.stack.settings, DESK)):
        record = _desk.decode(value) if value else None
        if isinstance(record, Task) and record.version >= latest.get(record.id, record).version:
            latest[record.id] = record
    return latest


async def test_commands_survive_a_sigkill_of_the_gateway_the_worker_and_the_sink(stack: GatewayStack) -> None:
    officer = Officer(stack)
    await officer.connect()
    # 1. The gateway killed while tasks are being given: those it confirmed are on Kafka.
    refs = {f"create-{n}": _task(n) for n in range(TASKS)}
    for n, (ref, action) in enumerate(refs.items()):
        if n == TASKS // 2:  # half sent, some confirmed, others in flight
            await officer.wait_confirmed(set(refs), 1)
            stack.gateway.kill()
        if not await officer.send(ref, action):
            break
    stack.gateway.start()
    await officer.close()
    await officer.connect()
    for ref, action in refs.items():  # what was not confirmed is sent again, as the console would
        if ref not in officer.confirmed:
            assert await officer.send(ref, action)
    await officer.wait_confirmed(set(refs), TASKS)
    created = {officer.confirmed[ref] for ref in refs}
    # 2. The worker killed while the progress is decided; 3. the sink killed while it stores.
    for status, version, service in ((TaskStatus.BERANGKAT, 1, "worker"), (TaskStatus.SELESAI, 2, "sink")):
        moves = {f"{status}-{task}": task for task in created}
        for n, (ref, task) in enumerate(moves.items()):
            assert await officer.send(ref, {"action": "report_progress", "task_id": str(task),
                                            "status": str(status)}, version)
            if n == len(moves) // 2:
                await officer.wait_confirmed(set(moves), 1)
                stack.stack.kill(service)
                stack.stack.start(service)
        await officer.wait_confirmed(set(moves), len(moves))
    await officer.close()
    every = set(officer.confirmed.values())

    def latest() -> dict[uuid.UUID, Task] | None:
        found = _tasks_on_desk(stack)
        return found if all(t in found and found[t].status is TaskStatus.SELESAI for t in created) else None

    def all_done() -> str:
        return f"{len(created)} tasks selesai on posko.desk\n{stack.stack.log_tail()}"

    tasks = await asyncio.to_thread(wait_for, latest, 180, all_done)
    assert tasks is not None
    # A command sent again with its ref (unsure whether it got through) was applied once.
    assert len(tasks) == TASKS, f"{len(tasks) - TASKS} tasks given twice"
    for task in created:
        assert tasks[task].version == 3, tasks[task].history
        assert len({e.command_id for e in tasks[task].history}) == len(tasks[task].history) == 3
    listed = ",".join(f"'{c}'" for c in every)
    listed_tasks = ",".join(f"'{t}'" for t in created)
    expected = {
        f"SELECT count() FROM posko.audit_log WHERE id IN ({listed})": len(every),
        f"SELECT count() FROM posko.audit_log WHERE id IN ({listed}) AND accepted": len(every),
        f"SELECT count() FROM posko.tasks FINAL WHERE id IN ({listed_tasks}) AND status = 'selesai'": TASKS,
        f"SELECT count() FROM posko.task_progress WHERE task_id IN ({listed_tasks})": 3 * TASKS,
    }
    for query, count in expected.items():
        def stored(q: str = query, n: int = count) -> bool:
            return stack.stack.count(q) == n

        def described(q: str = query, n: int = count) -> str:
            return f"{q[:90]}… = {n}, found {stack.stack.count(q)}\n{stack.stack.log_tail()}"

        await asyncio.to_thread(wait_for, stored, 180, described)
