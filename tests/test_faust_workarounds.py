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

from streams.faust_workarounds import (
    FAUST_VERSION,
    changelog_partition_of,
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
