"""Every workaround for faust-streaming 0.15.3, in one place, each with the upstream issue it answers.

Where Faust cannot do what the worker needs (commit offsets chosen by the worker, send a
whole batch, update a table from a batch), the worker reaches under Faust's public API here
and nowhere else. Source lines cited as `faust/…:N` are those of faust-streaming 0.15.3.
tests/test_faust_workarounds.py fails when the installed Faust no longer has what these rely
on: then read each cited issue again before moving the pin in pyproject.toml.

One more defence lives apart because the sink needs it too, without Faust: the watchdog in
posko/kafka/watchdog.py ends a process whose commits stand still (faust-streaming/faust#523).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Coroutine, Generator, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import faust
from aiokafka import AIOKafkaProducer
from faust.streams import Stream
from faust.transport.consumer import Consumer
from faust.types import TP, EventT, TopicT
from mode.services import WaitResults
from mode.utils.aiter import aiter
from mode.utils.futures import notify

# The faust-streaming release these workarounds were checked against.
FAUST_VERSION = "0.15.3"


def unacked_topic(app: faust.App, name: str, **options: Any) -> TopicT:
    """A topic whose offsets Faust never commits: the worker commits them (streams/commits.py)."""
    # Left to commit them, Faust loses records around rebalances and broker restarts:
    # - its fetch loop hands a record over while racing `suspend_flow` (a rebalance starting)
    #   and moves the read offset past it either way, so a record whose delivery was cut off is
    #   never seen again (faust/transport/consumer.py:1222; offsets skipped across a rebalance:
    #   faust-streaming/faust#216);
    # - it counts offset jumps as acknowledged "gaps" and commits past them
    #   (faust/transport/consumer.py:1215; faust-streaming/faust#606).
    # The broker-restart test saw runs of 6 to 16 records missing with every offset committed.
    return app.topic(name, acks=False, **options)


async def commit_offsets(app: faust.App, offsets: Mapping[TP, int]) -> bool:
    """Commit these offsets of the app's group now; False when Faust could not (e.g. rebalanced)."""
    # Consumer.commit() takes its offsets only from acknowledgements, so a topic with acks off
    # is never committed through it (robinhood/faust#191, inherited by faust-streaming).
    # `_commit(offsets)` is the call underneath (faust/transport/consumer.py:1476, then
    # faust/transport/drivers/aiokafka.py:790-794): it keeps the assigned partitions and runs on
    # the consumer's thread.
    committed: bool = await app.consumer._commit(offsets)  # type: ignore[attr-defined]
    return committed


async def rewind(app: faust.App, offsets: Mapping[TP, int]) -> None:
    """Seek partitions back to these offsets, on the consumer's own thread."""
    # Consumer.seek() calls aiokafka's seek from the caller's thread (faust/transport/drivers/
    # aiokafka.py:1027) while the consumer's thread reads the fetcher's state: seen as a KeyError
    # in aiokafka's fetcher that crashed the worker (no upstream issue found). seek_wait goes
    # through call_thread (faust/transport/drivers/aiokafka.py:1007).
    await app.consumer.seek_wait(offsets)


def kafka_producer(app: faust.App) -> AIOKafkaProducer:
    """The aiokafka producer under the app's, to send whole batches (create_batch, send_batch)."""
    # Faust sends one record at a time, each with its own future and event-loop round trips, and
    # has no batch send (faust-streaming/faust#108; the cost: robinhood/faust#718): at the
    # worker's rates that costs more than all the validating. The driver keeps the aiokafka
    # producer behind `_ensure_producer()` (faust/transport/drivers/aiokafka.py:1378).
    producer: AIOKafkaProducer = app.producer._ensure_producer()  # type: ignore[attr-defined]
    return producer


@contextmanager
def changelog_partition_of(stream: Stream[Any], event: EventT[Any]) -> Iterator[None]:
    """Within the block, table updates are changelogged to `event`'s partition."""
    # A table takes the changelog partition of an update from the stream's current event
    # (faust/tables/base.py:318), and a batch from take_events() has only the stream's last
    # event as current, so updating a table from a batch fails or lands on another partition
    # (faust-streaming/faust#300). Stream._set_current_event is how Faust itself sets it
    # (faust/streams.py:1203). Do not await inside: the take buffer must never see the swap.
    consuming = stream.current_event
    stream._set_current_event(event)
    try:
        yield
    finally:
        stream._set_current_event(consuming)


def set_without_changelog(table: Any, key: Any, value: Any) -> None:
    """Set a table's value where the worker itself wrote the changelog record (awaited)."""
    # A table update sends its changelog record from on_key_set (faust/tables/table.py:83) with
    # send_soon (faust/tables/base.py:279), whose buffer Faust flushes when it likes: the worker
    # would commit its input before the state that came of it is durable, and a crash would lose
    # the change. So the worker produces the record itself (streams/publish.py, awaited) and sets
    # the value in the store underneath, as the table's recovery does; the key-TTL bookkeeping
    # on_key_set also does is for windowed tables only.
    table.data[key] = value


async def take_weighed(
    stream: Stream[Any], most: int, within: float, weight: Callable[[Any], int]
) -> AsyncIterator[list[EventT[Any]]]:
    """Stream.take_events, with `most` counted in `weight(value)` (the events of a batched record),
    not in records: a take is yielded as soon as it holds `most`, else after `within`."""
    # Faust's take_events (faust/streams.py:456-550, the same steps as here) waits `within`
    # for every take that has fewer than `max_` records. A batched record holds up to 2,000
    # events, so a take of 2,000 records was never full: the route part waited 50 ms before each
    # take, about as long as it worked (no upstream issue found).
    events: list[EventT[Any]] = []
    held = 0
    full, consumed = asyncio.Event(), asyncio.Event()
    consuming: asyncio.Future[None] | None = None

    async def add_to_buffer(value: Any) -> Any:
        # A processor of the stream, run in the background (_enable_passive) for every value.
        nonlocal consuming, held
        if consuming is not None:  # the take being handled: nothing is added meanwhile
            try:
                await consuming
            finally:
                consuming = None
        event = stream.current_event
        if event is None:
            raise RuntimeError("the take found no current event")
        events.append(event)
        held += weight(value)
        if held >= most:
            full.set()
            consumed.clear()
            await stream.wait(consumed)  # type: ignore[arg-type]
        return value

    stream.enable_acks = False  # acked below, once handled
    stream.add_processor(add_to_buffer)
    stream._enable_passive(aiter(stream.channel))  # type: ignore[arg-type]
    while not stream.should_stop:
        await stream.wait_for_stopped(full, timeout=within)  # type: ignore[arg-type]
        if not events:
            continue
        consuming = asyncio.get_running_loop().create_future()
        try:
            yield list(events)
        finally:
            for event in events:
                await stream.ack(event)
            events.clear()
            held = 0
            notify(consuming)
            full.clear()
            consumed.set()


def deliver_eagerly() -> None:
    """Faust's fetch loop hands each record to its stream without four tasks per record."""
    # The loop hands every record over with `wait_first(callback(message), suspend_flow.wait())`
    # (faust/transport/consumer.py:1220), so that a delivery blocked on a full buffer is given
    # up when a rebalance suspends the flow. mode's wait_first (mode/services.py:758) makes a
    # task of each argument and of the consumer's stopped and crashed events, waits, and cancels
    # the three left: 42 µs a record, against 0.16 µs to await the callback (no upstream issue
    # found). Nearly every delivery completes without waiting (the buffer has room): run the
    # callback one step at once, and only if it waits, finish it under wait_first as before.
    if getattr(Consumer.wait_first, "eager", False):
        return
    slow = Consumer.wait_first

    async def wait_first(self: Consumer, *coros: Any, timeout: Any = None) -> WaitResults:  # noqa: ASYNC109
        if (len(coros) != 2 or timeout is not None or not asyncio.iscoroutine(coros[0])
                or self.suspend_flow.is_set() or self.should_stop):
            return await slow(self, *coros, timeout=timeout)
        first, rest = coros
        try:
            waits_on = first.send(None)
        except BaseException as ended:  # done (StopIteration) or failed without waiting
            if asyncio.iscoroutine(rest):
                rest.close()  # the suspend_flow.wait() it would have raced, never started
            if isinstance(ended, StopIteration):
                return WaitResults([first], [ended.value], False)
            raise
        return await slow(self, _Started(first, waits_on), rest)

    wait_first.eager = True  # type: ignore[attr-defined]
    Consumer.wait_first = wait_first  # type: ignore[method-assign,assignment]


class _Started:
    """A coroutine already run to its first wait (`waits_on`, what it yielded), awaited on from
    there as a task running it from the start would have: values, exceptions and cancellation
    pass through (what `yield from` does, for a coroutine that is already started)."""

    def __init__(self, started: Coroutine[Any, Any, Any], waits_on: Any) -> None:
        self.started, self.waits_on = started, waits_on

    def __await__(self) -> Generator[Any, Any, Any]:
        started, waits_on = self.started, self.waits_on
        while True:
            try:
                sent = yield waits_on
            except GeneratorExit:
                started.close()
                raise
            except BaseException as exc:  # thrown in (a cancellation): passed on
                try:
                    waits_on = started.throw(exc)
                except StopIteration as done:
                    return done.value
                continue
            try:
                waits_on = started.send(sent)
            except StopIteration as done:
                return done.value
