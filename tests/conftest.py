"""Shared fixtures: the real local Kafka broker (once per session) and stacks of real services."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TypeVar

import pytest
from aiokafka import AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from posko.kafka import broker
from posko.kafka.offsets import group_state, reader
from posko.kafka.topics import create_topics
from posko.net import free_port
from posko.services import Service
from posko.settings import Settings, load_settings
from sinks.clickhouse.client import run_sql
from sinks.clickhouse.store import ChdbStore, StoreError

T = TypeVar("T")
FIXTURES = Path(__file__).resolve().parents[1].parent / "shared" / "fixtures"
# Fixtures that start a real Kafka broker: a test using one, directly or through another
# fixture, is an integration test. `browser` drives the real Chromium.
BROKER_FIXTURES = frozenset({"kafka_env", "own_broker"})
BROWSER_FIXTURES = frozenset({"browser"})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test that needs the broker `integration` and every one that needs Chromium `browser`."""
    for item in items:
        used = set(getattr(item, "fixturenames", ()))
        if used & BROKER_FIXTURES:
            item.add_marker(pytest.mark.integration)
        if used & BROWSER_FIXTURES:
            item.add_marker(pytest.mark.integration)
            item.add_marker(pytest.mark.browser)


def wait_for(
    condition: Callable[[], T], timeout_s: float, what: str | Callable[[], str], every_s: float = 0.2
) -> T:
    """Poll `condition` until it returns something truthy; fail the test at the deadline."""
    deadline = time.monotonic() + timeout_s
    last: T | None = None
    while time.monotonic() < deadline:
        last = condition()
        if last:
            return last
        time.sleep(every_s)
    described = what() if callable(what) else what
    pytest.fail(f"timed out after {timeout_s:.0f} s waiting for {described} (last: {last!r})")


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    """The shared real-world fixture files."""
    if not FIXTURES.is_dir():
        pytest.fail(f"shared fixtures not found at {FIXTURES}")
    return FIXTURES


@pytest.fixture(scope="session")
def kafka_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """POSKO_* variables of a real local broker started for this test session."""
    home = tmp_path_factory.mktemp("posko-home")
    env = {
        "POSKO_HOME": str(home),
        "POSKO_KAFKA_PORT": str(free_port()),
        "POSKO_KAFKA_CONTROLLER_PORT": str(free_port()),
        "POSKO_PARTITIONS": "3",
        "POSKO_KAFKA_HEAP": "768m",
        # A stalled worker is restarted sooner than in production, to keep tests short.
        "POSKO_STALL_S": "25",
        "POSKO_WORKER_INSTANCE": "test-worker-1",
    }
    settings = load_settings(env)
    broker.start(settings)
    asyncio.run(create_topics(settings))
    try:
        yield env
    finally:
        broker.stop(settings)


@contextlib.contextmanager
def own_broker(home: Path, **extra: str) -> Iterator[tuple[Settings, dict[str, str]]]:
    """A broker of a test's (or module's) own, so what it does or keeps disturbs no other test."""
    env = {"POSKO_HOME": str(home), "POSKO_KAFKA_PORT": str(free_port()),
           "POSKO_KAFKA_CONTROLLER_PORT": str(free_port()), "POSKO_PARTITIONS": "3",
           "POSKO_KAFKA_HEAP": "512m", "POSKO_STALL_S": "25", **extra}
    settings = load_settings(env)
    broker.start(settings)
    asyncio.run(create_topics(settings))
    try:
        yield settings, env
    finally:
        broker.stop(settings)


class Stack:
    """A worker and a sink running as real processes against the session broker."""

    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self.env = env
        self.settings = load_settings(env)
        self.services = {name: Service(name, logs, env) for name in ("worker", "sink")}

    def start(self, name: str) -> None:
        """Start `posko worker` or `posko sink`."""
        self.services[name].start()

    def supervise(self) -> None:
        """Start again a service that ended by itself, as `posko demo` or systemd would."""
        for service in self.services.values():
            service.keep_running()

    @property
    def restarts(self) -> int:
        """How often a service ended by itself and was started again."""
        return sum(service.restarts for service in self.services.values())

    def kill(self, name: str) -> None:
        """SIGKILL a service, as a crash would."""
        self.services[name].kill()

    def stop(self) -> None:
        """Stop every service cleanly."""
        for service in self.services.values():
            service.stop()

    def sql(self, query: str) -> str:
        """Run SQL through the sink; '' while the sink is not answering yet."""
        self.supervise()
        try:
            return run_sql(self.settings, query, "TabSeparated", open_directly=False).decode().strip()
        except (StoreError, OSError):
            return ""

    def count(self, query: str) -> int:
        """An integer query result, -1 while the sink is not answering."""
        out = self.sql(query)
        return int(out) if out else -1

    def log_tail(self) -> str:
        """The last lines of each service's log, for failure messages."""
        return "\n".join(f"--- {s.name}\n{s.tail()}" for s in self.services.values())


GROUPS = ("posko-stream", "posko-room", "posko-clickhouse")


@contextlib.contextmanager
def running_stack(kafka_env: dict[str, str], path: Path) -> Iterator[Stack]:
    """Worker and sink on the session broker, with a fresh chdb store under `path`.

    It starts once an earlier stack's members have left the groups and returns once both
    groups are stable with one member each, so no rebalance replays a test's events.
    """
    env = {**kafka_env, "POSKO_CLICKHOUSE": f"chdb://{path / 'clickhouse'}"}
    running = Stack(env, path)
    states = lambda: [asyncio.run(group_state(running.settings, g)) for g in GROUPS]  # noqa: E731
    wait_for(lambda: all(members == 0 for _, members in states()), 60,
             lambda: f"earlier members to leave the groups: {states()}")
    running.start("worker")
    running.start("sink")
    try:
        wait_for(lambda: running.count("SELECT count() FROM posko.schema_migrations") > 0, 60,
                 "the sink to answer SQL")
        wait_for(lambda: states() == [("Stable", 1)] * len(GROUPS), 90,
                 lambda: f"both groups stable with one member: {states()}\n{running.log_tail()}")
        yield running
    finally:
        running.stop()


@pytest.fixture
def stack(kafka_env: dict[str, str], tmp_path: Path) -> Iterator[Stack]:
    """Worker and sink for one test."""
    with running_stack(kafka_env, tmp_path) as running:
        yield running


def lag(stack: Stack) -> dict[str, int]:
    """Messages the worker and the sink have not committed yet."""
    from posko.demo import consumer_lag

    stack.supervise()
    return asyncio.run(consumer_lag(stack.settings))


def settle(stack: Stack, timeout_s: float = 150) -> None:
    """Wait until the worker and the sink have committed everything on their topics."""
    wait_for(lambda: not any(lag(stack).values()), timeout_s,
             lambda: f"the worker and sink to commit everything: lag {lag(stack)}\n{stack.log_tail()}")


@pytest.fixture
def settings(kafka_env: dict[str, str]) -> Settings:
    """Settings pointing at the session broker."""
    return load_settings(kafka_env)


@pytest.fixture
def marker() -> str:
    """A source name unique to this test, to find its own rows."""
    return f"test-{uuid.uuid4().hex[:10]}"


async def produce(
    settings: Settings, records: Sequence[tuple[str, bytes, bytes | None]]
) -> list[tuple[str, int, int]]:
    """Produce (topic, key, value) records with acks from all (None: a tombstone); return their
    (topic, partition, offset)."""
    producer = AIOKafkaProducer(bootstrap_servers=settings.bootstrap_servers, acks="all",
                                enable_idempotence=True, linger_ms=5)
    await producer.start()
    try:
        futures = [await producer.send(topic, value, key=key or None) for topic, key, value in records]
        metadata = await asyncio.gather(*futures)
        return [(m.topic, m.partition, m.offset) for m in metadata]
    finally:
        await producer.stop()


async def read_topic(
    settings: Settings, topic: str, isolation_level: str = "read_committed"
) -> list[tuple[bytes | None, bytes | None]]:
    """Every (key, value) on a topic right now, from the beginning ([] when there is no such topic).

    Read as every Posko consumer reads, `read_committed`: records of aborted transactions are
    not there. `read_uncommitted` shows them too.
    """
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.bootstrap_servers)
    await admin.start()
    try:
        if topic not in await admin.list_topics():
            return []
        [described] = await admin.describe_topics([topic])
    finally:
        await admin.close()
    consumer = reader(settings, auto_offset_reset="earliest", isolation_level=isolation_level)
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p["partition"]) for p in described["partitions"]]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        records: list[tuple[bytes | None, bytes | None]] = []
        while any([await consumer.position(tp) < end for tp, end in ends.items()]):
            batch = await consumer.getmany(timeout_ms=1000)
            for messages in batch.values():
                records.extend((m.key, m.value) for m in messages)
        return records
    finally:
        await consumer.stop()


@pytest.fixture(scope="session")
def chdb_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChdbStore]:
    """The one in-process chdb store of the test session (chdb allows one data path per process)."""
    store = ChdbStore(tmp_path_factory.mktemp("chdb") / "clickhouse")
    yield store
    store.close()
