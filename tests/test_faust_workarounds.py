"""What streams/faust_workarounds.py relies on is still in the installed Faust, with the same shape.

When one of these fails, Faust changed under the workarounds: read the issue cited at the
workaround again, and keep, adapt or delete the workaround before moving the pin.
"""

from __future__ import annotations

import ast
import asyncio
import importlib.metadata
import inspect
import time
from typing import Any, cast

import faust
import pytest
from aiokafka import AIOKafkaProducer
from faust.exceptions import NotReady
from faust.streams import Stream, current_event
from faust.tables.base import Collection
from faust.transport.consumer import Consumer, ThreadDelegateConsumer
from faust.transport.drivers import aiokafka as driver
from mode import Service

from streams.faust_workarounds import (
    FAUST_VERSION,
    changelog_partition_of,
    deliver_eagerly,
    kafka_producer,
    take_weighed,
    unacked_topic,
)
from tests.test_layout import ROOT


def _parameters(function: Any) -> list[str]:
    return list(inspect.signature(function).parameters)


@pytest.fixture
def app() -> faust.App:
    """A Faust app that is configured, never started."""
    return faust.App("posko-workarounds-test", broker="kafka://127.0.0.1:1", store="memory://",
                     web_enabled=False)


def test_installed_faust_is_the_release_the_workarounds_were_checked_against() -> None:
    installed = importlib.metadata.version("faust-streaming")
    assert installed == FAUST_VERSION, (
        f"faust-streaming is {installed}, the workarounds in streams/faust_workarounds.py were checked "
        f"against {FAUST_VERSION}: check each against the new release, then set FAUST_VERSION")


def test_public_commit_still_takes_no_offsets_and_the_one_underneath_does() -> None:
    # The day Consumer.commit() takes offsets, commit_offsets() can use it instead.
    assert _parameters(Consumer.commit) == ["self", "topics", "start_new_transaction"]
    assert _parameters(ThreadDelegateConsumer._commit) == ["self", "offsets"]
    assert _parameters(driver.AIOKafkaConsumerThread._commit) == ["self", "offsets"]
    assert inspect.iscoroutinefunction(ThreadDelegateConsumer._commit)


def test_seek_wait_takes_offsets_and_runs_on_the_consumer_thread() -> None:
    assert _parameters(ThreadDelegateConsumer.seek_wait) == ["self", "partitions"]
    assert "call_thread" in inspect.getsource(driver.AIOKafkaConsumerThread.seek_wait)


def test_the_aiokafka_producer_under_fausts_sends_batches(app: faust.App) -> None:
    assert _parameters(driver.Producer._ensure_producer) == ["self"]
    with pytest.raises(NotReady):  # reached, and not started: Faust's own guard answers
        kafka_producer(app)
    assert _parameters(AIOKafkaProducer.create_batch) == ["self"]
    assert _parameters(AIOKafkaProducer.send_batch) == ["self", "batch", "topic", "partition"]


def test_tables_take_their_changelog_partition_from_the_current_event() -> None:
    assert "current_event()" in inspect.getsource(Collection.partition_for_key)
    assert _parameters(Stream._set_current_event) == ["self", "event"]


def test_changelog_partition_of_makes_an_event_current_then_restores_the_stream(app: faust.App) -> None:
    class Event:  # Faust keeps a weak reference to the current event
        pass

    stream = app.stream(app.channel())
    before = stream.current_event
    event = Event()
    with changelog_partition_of(stream, event):  # type: ignore[arg-type]
        assert current_event() is event and stream.current_event is event
    assert stream.current_event is before and current_event() is before


def test_fausts_take_still_counts_records_and_waits_for_a_take_not_full() -> None:
    # The day take_events weighs its values, take_weighed can go.
    source = inspect.getsource(Stream.take_events)
    assert "buffer_size() >= max_" in source and "wait_for_stopped(" in source
    for name in ("add_processor", "_enable_passive", "wait_for_stopped", "ack", "wait"):
        assert callable(getattr(Stream, name)), name


def test_a_take_weighed_comes_as_soon_as_it_holds_enough_and_the_rest_after_the_wait(app: faust.App) -> None:
    async def takes() -> list[tuple[list[Any], float]]:
        app.flow_control.resume()  # as a started app does
        channel = app.channel()
        stream = cast(Stream[Any], app.stream(channel))
        taking = take_weighed(stream, 4, 3.0, len)  # up to 4 events a take, records of 2 and 1
        first = asyncio.ensure_future(anext(taking))
        deadline = time.monotonic() + 10
        while not channel.subscriber_count:  # values sent before the take subscribes are lost
            assert time.monotonic() < deadline, "the take did not subscribe to the channel in 10 s"
            await asyncio.sleep(0.01)
        started = time.monotonic()
        for value in ([1, 2], [3, 4], [5]):
            await asyncio.wait_for(channel.send(value=value), 5)
        got = [([e.value for e in await asyncio.wait_for(first, 5)], time.monotonic() - started)]
        got.append(([e.value for e in await asyncio.wait_for(anext(taking), 5)], time.monotonic() - started))
        return got

    (full, full_s), (rest, rest_s) = asyncio.run(takes())
    # Faust's take_events(4, 3.0) would have waited the three seconds with these three records.
    assert full == [[1, 2], [3, 4]] and full_s < 1.5, (full, full_s)
    assert rest == [[5]] and rest_s >= 2.9, (rest, rest_s)


def test_unacked_topic_turns_fausts_acks_off(app: faust.App) -> None:
    topic = unacked_topic(app, "posko.raw.test", partitions=3)
    assert topic.acks is False and topic.partitions == 3


def test_private_names_of_other_libraries_are_used_only_in_the_workarounds() -> None:
    # `obj._name` on anything but self/cls reaches into another library (Faust, aiokafka, …):
    # that belongs in streams/faust_workarounds.py, with its issue. os._exit is public API.
    allowed = {("os", "_exit")}
    found = []
    for folder in ("streams", "posko", "sinks"):
        for path in (ROOT / folder).rglob("*.py"):
            if path.name == "faust_workarounds.py":
                continue
            for node in ast.walk(ast.parse(path.read_text())):
                if (isinstance(node, ast.Attribute) and node.attr.startswith("_")
                        and not node.attr.startswith("__")):
                    owner = node.value.id if isinstance(node.value, ast.Name) else "…"
                    if owner not in ("self", "cls") and (owner, node.attr) not in allowed:
                        found.append(f"{path.relative_to(ROOT)}:{node.lineno} {owner}.{node.attr}")
    assert found == []


def test_fausts_fetch_loop_still_hands_records_over_through_wait_first() -> None:
    # The day the loop awaits its callback some cheaper way, deliver_eagerly can go.
    source = "".join(inspect.getsource(Consumer._drain_messages).split())
    assert "awaitself.wait_first(callback(message),self.suspend_flow.wait())" in source


class _Fetching(Service):
    """What Faust's consumer offers wait_first: a service with a suspend_flow event."""

    def __init__(self) -> None:
        super().__init__()
        self.suspend_flow = asyncio.Event()


def _hand_over(fetching: _Fetching, delivery: Any) -> Any:
    """What Faust's fetch loop does with each record (faust/transport/consumer.py:1220)."""
    return Consumer.wait_first(cast(Consumer, fetching), delivery, fetching.suspend_flow.wait())


def test_a_delivery_that_need_not_wait_runs_at_once_in_the_fetch_loops_own_task() -> None:
    deliver_eagerly()

    async def handed_over() -> tuple[bool, int]:
        fetching, ran_in = _Fetching(), []

        async def delivery() -> None:
            ran_in.append(asyncio.current_task())

        tasks = len(asyncio.all_tasks())
        await _hand_over(fetching, delivery())
        return ran_in == [asyncio.current_task()], len(asyncio.all_tasks()) - tasks

    own_task, tasks_left = asyncio.run(handed_over())
    assert own_task, "the delivery ran in a task of its own (mode's wait_first)"
    assert tasks_left == 0


def test_a_delivery_that_waits_is_finished_or_given_up_when_the_flow_is_suspended() -> None:
    deliver_eagerly()

    async def handed_over() -> tuple[list[str], list[str]]:
        fetching = _Fetching()
        finished: list[str] = []
        given_up: list[str] = []

        async def delivery(room: asyncio.Future[str], into: list[str]) -> None:
            try:
                into.append(await room)  # a full buffer making room
            except asyncio.CancelledError:
                into.append("cancelled")
                raise

        room: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        asyncio.get_running_loop().call_later(0.05, room.set_result, "delivered")
        await asyncio.wait_for(_hand_over(fetching, delivery(room, finished)), 5)

        never: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        asyncio.get_running_loop().call_later(0.05, fetching.suspend_flow.set)
        await asyncio.wait_for(_hand_over(fetching, delivery(never, given_up)), 5)
        await asyncio.sleep(0)  # the cancelled delivery runs its except clause
        return finished, given_up

    finished, given_up = asyncio.run(handed_over())
    assert finished == ["delivered"]
    assert given_up == ["cancelled"]


def test_a_delivery_that_fails_raises_in_the_fetch_loop_at_once_or_after_waiting() -> None:
    deliver_eagerly()

    async def handed_over(wait_first: bool) -> None:
        async def delivery() -> None:
            if wait_first:
                await asyncio.sleep(0.01)
            raise ValueError("cannot be decoded")

        await asyncio.wait_for(_hand_over(_Fetching(), delivery()), 5)

    for wait_first in (False, True):
        with pytest.raises(ValueError, match="cannot be decoded"):
            asyncio.run(handed_over(wait_first))
