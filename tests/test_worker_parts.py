"""`posko worker`'s two processes (streams/parts.py): route here, room as its child, ending together;
and the room's adoption of the offsets posko-stream committed before the split."""

from __future__ import annotations

import asyncio
import os
import signal
import uuid

import pytest
from aiokafka import TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from posko.kafka.offsets import adopt_offsets, commit_as
from posko.services import descendants
from posko.settings import Settings, load_settings
from schemas.topics import COMMANDS, SIGNALS
from tests.conftest import Stack, wait_for

pytestmark = pytest.mark.integration


async def _committed(settings: Settings, group: str) -> dict[TopicPartition, int]:
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.bootstrap_servers)
    await admin.start()
    try:
        return {tp: meta.offset for tp, meta in (await admin.list_consumer_group_offsets(group)).items()}
    finally:
        await admin.close()


def test_the_room_adopts_the_offsets_the_old_group_committed_and_only_where_it_has_none(
        kafka_env: dict[str, str]) -> None:
    settings = load_settings(kafka_env)
    old, new = f"old-{uuid.uuid4().hex[:8]}", f"new-{uuid.uuid4().hex[:8]}"
    signals, commands = TopicPartition(SIGNALS, 0), TopicPartition(COMMANDS, 0)
    asyncio.run(commit_as(settings, old, {signals: 7, commands: 3}))

    adopted = asyncio.run(adopt_offsets(settings, old, new, [SIGNALS, COMMANDS]))
    assert adopted == {signals: 7, commands: 3}
    assert asyncio.run(_committed(settings, new)) == {signals: 7, commands: 3}

    # The new group has offsets of its own from now on: the old group's later ones are not taken.
    asyncio.run(commit_as(settings, old, {signals: 9, commands: 5}))
    assert asyncio.run(adopt_offsets(settings, old, new, [SIGNALS, COMMANDS])) == {}
    assert asyncio.run(_committed(settings, new)) == {signals: 7, commands: 3}


def _room_pid(stack: Stack) -> int:
    process = stack.services["worker"].process
    assert process is not None
    children = descendants(process.pid)[1:]
    return children[0] if children else 0


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a child that ended but was not reaped yet is a zombie: ended all the same
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_the_worker_ends_when_its_room_part_dies_and_the_room_when_the_worker_does(stack: Stack) -> None:
    worker = stack.services["worker"]
    room = wait_for(lambda: _room_pid(stack), 30, "the worker's room part to run")
    assert "--part room" in open(f"/proc/{room}/cmdline").read().replace("\0", " ")

    # The room crashes: the worker ends too, with a failure, for its supervisor to start both.
    os.kill(room, signal.SIGKILL)
    wait_for(lambda: worker.exited is not None, 30, "the worker to end after its room part died")
    assert worker.exited != 0

    # The worker is killed alone (not its process group): the kernel stops its room part.
    worker.start()
    room = wait_for(lambda: _room_pid(stack), 30, "the restarted worker's room part to run")
    assert worker.process is not None
    worker.process.kill()
    worker.process.wait()
    wait_for(lambda: not _alive(room), 60, f"the room part (pid {room}) to end with its worker")
