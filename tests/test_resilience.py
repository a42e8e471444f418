"""Nothing lost, nothing twice: a worker or sink killed with SIGKILL, the broker restarted."""

from __future__ import annotations

import asyncio
import random
import threading
import time

import msgspec
from aiokafka.errors import OutOfOrderSequenceNumber

from connectors.publisher import RawPublisher, raw_message
from connectors.simulator.stream import Simulator
from posko.kafka import broker
from posko.kafka.delivery import deliver_all
from posko.settings import Settings
from schemas.events import kind_of, utc_now
from schemas.raw import RawMessage
from sinks.clickhouse.tables import TABLES
from tests.conftest import Stack, lag, settle, wait_for


class PacedProducer(threading.Thread):
    """Produces `total` simulated events tagged with `marker` at `rate`/s, resending on failure."""

    def __init__(self, settings: Settings, marker: str, total: int, rate: float) -> None:
        super().__init__(daemon=True)
        self.settings, self.marker, self.total, self.rate = settings, marker, total, rate
        self.sent = 0
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            asyncio.run(self._produce())
        except BaseException as exc:  # reported by the test
            self.error = exc

    async def _produce(self) -> None:
        simulator = Simulator(random.Random(self.marker))
        started = time.monotonic()
        async with RawPublisher(self.settings) as publisher:
            while self.sent < self.total:
                due = min(int(self.rate * (time.monotonic() - started + 0.05)), self.total) - self.sent
                if due > 0:
                    batch = []
                    for _ in range(due):
                        event = msgspec.structs.replace(simulator.event(utc_now()), source=self.marker)
                        region = event.region or ""
                        batch.append(RawMessage(kind=kind_of(event), key=region.encode(),
                                                value=msgspec.json.encode(event), flaw=None))
                    await publisher.publish(batch)
                    self.sent += len(batch)
                await asyncio.sleep(0.05)


def stored(stack: Stack, marker: str) -> tuple[int, int]:
    """(rows, distinct ids) of the marker's events over all event tables."""
    union = " UNION ALL ".join(f"SELECT id FROM posko.{t} WHERE source = '{marker}'" for t in TABLES.values())
    out = stack.sql(f"SELECT count(), uniqExact(id) FROM ({union})")
    if not out:
        return (-1, -1)
    rows, ids = out.split("\t")
    return int(rows), int(ids)


def assert_exactly_once(stack: Stack, producer: PacedProducer, marker: str) -> None:
    producer.join(180)
    assert producer.error is None, producer.error
    assert not producer.is_alive(), (f"the producer was still sending after 180 s: {producer.sent} "
                                     f"of {producer.total} acknowledged by Kafka so far")
    assert producer.sent == producer.total, f"the producer sent {producer.sent} of {producer.total}"
    wait_for(lambda: stored(stack, marker)[1] >= producer.total, 180,
             lambda: f"all {producer.total} events in ClickHouse: stored {stored(stack, marker)}, "
                     f"lag {lag(stack)}\n{stack.log_tail()}")
    settle(stack)
    assert stored(stack, marker) == (producer.total, producer.total)


def test_worker_and_sink_killed_mid_stream_lose_and_duplicate_nothing(stack: Stack, marker: str) -> None:
    total = 20_000
    producer = PacedProducer(stack.settings, marker, total, rate=2_000)
    producer.start()
    wait_for(lambda: stored(stack, marker)[0] > total // 4, 120, "a quarter of the events stored")
    stack.kill("worker")
    stack.start("worker")
    wait_for(lambda: stored(stack, marker)[0] > total // 2, 120, "half of the events stored")
    stack.kill("sink")
    stack.start("sink")
    assert_exactly_once(stack, producer, marker)


def test_broker_stopped_and_started_mid_stream_loses_nothing(stack: Stack, marker: str) -> None:
    total = 6_000
    producer = PacedProducer(stack.settings, marker, total, rate=600)
    producer.start()
    wait_for(lambda: stored(stack, marker)[0] > total // 4, 120, "a quarter of the events stored")
    broker.stop(stack.settings)
    assert not broker.status(stack.settings)[0]
    broker.start(stack.settings)
    assert_exactly_once(stack, producer, marker)


def test_a_publisher_whose_sequence_kafka_refuses_starts_a_new_producer(stack: Stack, marker: str) -> None:
    """After a broker restart an idempotent producer may get OutOfOrderSequenceNumber on every
    resend (seen in CI: a connector stuck for good); the publisher then sends through a new one."""
    simulator = Simulator(random.Random(marker))
    events = [msgspec.structs.replace(simulator.event(utc_now()), source=marker) for _ in range(40)]

    async def publish() -> tuple[object, object]:
        async with RawPublisher(stack.settings) as publisher:
            await publisher.publish([raw_message(e) for e in events[:20]])
            before = publisher._producer
            await publisher._recover([OutOfOrderSequenceNumber()])
            await publisher.publish([raw_message(e) for e in events[20:]])
            return before, publisher._producer

    before, after = asyncio.run(publish())
    assert after is not before
    wait_for(lambda: stored(stack, marker)[1] >= len(events), 120,
             lambda: f"all {len(events)} events stored: {stored(stack, marker)}")
    settle(stack)
    assert stored(stack, marker) == (len(events), len(events))


def test_delivery_shows_each_rounds_failures_to_recover_before_resending() -> None:
    seen: list[list[Exception]] = []
    sends: list[int] = []

    async def send(record: int) -> asyncio.Future[object]:
        sends.append(record)
        future: asyncio.Future[object] = asyncio.get_running_loop().create_future()
        if len(sends) <= 2:
            future.set_exception(OutOfOrderSequenceNumber())
        else:
            future.set_result(None)
        return future

    async def recover(errors: list[Exception]) -> None:
        seen.append(errors)

    resent = asyncio.run(deliver_all(send, [1, 2], recover=recover))
    assert resent == 2 and sends == [1, 2, 1, 2]
    assert [[type(e) for e in round_] for round_ in seen] == [[OutOfOrderSequenceNumber] * 2]
