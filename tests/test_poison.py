"""One bad message never stops the agent: poison messages through the real broker, worker and sink."""

from __future__ import annotations

import asyncio
import hashlib
import random
from collections.abc import Iterator
from datetime import UTC, datetime

import msgspec
import pytest
from aiokafka import TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from connectors.simulator.stream import Simulator
from schemas.events import DEAD_LETTER_RAW_BYTES, Event, Kind, kind_of, utc_now
from schemas.regions import Region
from schemas.topics import raw_topic
from sinks.clickhouse.tables import TABLES
from streams.app import APP_ID
from tests.conftest import Stack, lag, produce, running_stack, wait_for

KEY = b"15.71"
VALID = 50
# The largest value a raw topic takes from a default producer: the broker's message.max.bytes
# (1,048,588, no topic overrides it) and aiokafka's max_request_size (1,048,576) less the record
# and batch headers.
LARGE = 1_000_000


class Poisoned(msgspec.Struct):
    """What the module's one run sent: per poison message, where it landed and its bytes."""

    stack: Stack
    marker: str
    valid: dict[Kind, list[Event]]
    poison: dict[str, tuple[tuple[str, int, int], bytes | None]]


def nested(depth: int) -> bytes:
    """A citizen report nesting `depth` empty arrays in an unknown field (2 KB at depth 1,000)."""
    return b'{"kind":"citizen_report","x":' + b"[" * depth + b"]" * depth + b"}"


def large_permit(template: Event) -> bytes:
    """A permit filing envelope of LARGE bytes, its note far over the 5,000 characters allowed."""
    as_dict = msgspec.json.decode(msgspec.json.encode(template))
    encoded = msgspec.json.encode({**as_dict, "payload": {**as_dict["payload"], "note": ""}})
    as_dict["payload"]["note"] = "x" * (LARGE - len(encoded))
    raw = msgspec.json.encode(as_dict)
    assert len(raw) == LARGE
    return raw


def from_9999(template: Event) -> bytes:
    """A disaster alert dated 9999-12-31, which would stay first on the wall for ever."""
    return msgspec.json.encode(msgspec.structs.replace(
        template, occurred_at=datetime(9999, 12, 31, tzinfo=UTC)))


def _valid(marker: str) -> dict[Kind, list[Event]]:
    simulator = Simulator(random.Random(marker))
    kinds = (Kind.CITIZEN_REPORT, Kind.PERMIT_FILING, Kind.DISASTER_ALERT)
    by_kind: dict[Kind, list[Event]] = {kind: [] for kind in kinds}
    while any(len(group) < VALID + 1 for group in by_kind.values()):
        event = simulator.event(utc_now())
        if (group := by_kind.get(kind_of(event))) is not None and len(group) < VALID + 1:
            group.append(msgspec.structs.replace(event, source=marker, region=Region.KOTA_JAMBI))
    return by_kind


def stored(stack: Stack, kind: Kind, marker: str) -> int:
    """Rows of the marker's events of a kind (-1 while the sink does not answer)."""
    return stack.count(f"SELECT count() FROM posko.{TABLES[kind]} WHERE source = '{marker}'")


@pytest.fixture(scope="module")
def poisoned(kafka_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Poisoned]:
    """Each poison message, then valid events with the same key (so on the same partition)."""
    marker = f"test-poison-{random.getrandbits(32):08x}"
    with running_stack(kafka_env, tmp_path_factory.mktemp("poison")) as stack:
        valid = _valid(marker)
        # The first of each kind is a template for the poison, the others are sent after it.
        templates = {kind: group.pop(0) for kind, group in valid.items()}
        poison: dict[str, tuple[str, bytes | None]] = {
            "nested": (raw_topic(Kind.CITIZEN_REPORT), nested(1000)),
            "large": (raw_topic(Kind.PERMIT_FILING), large_permit(templates[Kind.PERMIT_FILING])),
            "tombstone": (raw_topic(Kind.DISASTER_ALERT), None),
            "year_9999": (raw_topic(Kind.DISASTER_ALERT), from_9999(templates[Kind.DISASTER_ALERT])),
        }
        where = asyncio.run(produce(stack.settings, [(t, KEY, raw) for t, raw in poison.values()]))
        asyncio.run(produce(stack.settings, [(raw_topic(kind), KEY, msgspec.json.encode(e))
                                             for kind, group in valid.items() for e in group]))
        yield Poisoned(stack, marker, valid,
                       {name: (at, raw) for (name, (_, raw)), at in zip(poison.items(), where, strict=True)})


def letter(poisoned: Poisoned, name: str, columns: str) -> list[str]:
    """Columns of the dead letter of a poison message, once the sink has stored it."""
    (topic, partition, offset), _ = poisoned.poison[name]
    query = (f"SELECT {columns} FROM posko.dead_letters WHERE topic = '{topic}' "
             f"AND partition = {partition} AND offset = {offset}")
    row = wait_for(lambda: poisoned.stack.sql(query), 120,
                   lambda: f"the dead letter of the {name} message in ClickHouse; lag "
                           f"{lag(poisoned.stack)}\n{poisoned.stack.log_tail()}")
    return row.split("\t")


async def committed(stack: Stack, topic: str, partition: int) -> int:
    """The worker's committed offset of a raw topic-partition (-1 when none)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=stack.settings.bootstrap_servers)
    await admin.start()
    try:
        tp = TopicPartition(topic, partition)
        found = (await admin.list_consumer_group_offsets(APP_ID, partitions=[tp])).get(tp)
        return found.offset if found is not None else -1
    finally:
        await admin.close()


def wait_flowing(poisoned: Poisoned, name: str, kind: Kind) -> None:
    """Wait until the valid events of a kind sent after a poison message are in ClickHouse and
    the worker has committed its partition past them."""
    stack, marker = poisoned.stack, poisoned.marker
    (topic, partition, offset), _ = poisoned.poison[name]
    wait_for(lambda: stored(stack, kind, marker) >= VALID, 120,
             lambda: f"the {VALID} valid {kind} events after the poison in ClickHouse (stored "
                     f"{stored(stack, kind, marker)}; lag {lag(stack)})\n{stack.log_tail()}")
    assert stored(stack, kind, marker) == VALID
    position = lambda: asyncio.run(committed(stack, topic, partition))  # noqa: E731
    wait_for(lambda: position() > offset + VALID, 60,
             lambda: f"the worker to commit {topic}/{partition} past the {name} message at {offset} "
                     f"and the {VALID} after it (committed: {position()})\n{stack.log_tail()}")


def test_deeply_nested_json_goes_to_dlq_and_the_partition_flows_on(poisoned: Poisoned) -> None:
    wait_flowing(poisoned, "nested", Kind.CITIZEN_REPORT)
    reason, size = letter(poisoned, "nested", "reason, raw_size")
    assert "nested too deeply" in reason and int(size) == len(nested(1000))


def test_message_as_large_as_a_raw_topic_takes_goes_to_dlq_and_the_partition_flows_on(
    poisoned: Poisoned,
) -> None:
    wait_flowing(poisoned, "large", Kind.PERMIT_FILING)
    _, raw = poisoned.poison["large"]
    assert raw is not None
    reason, size, digest, kept, kept_digest = letter(
        poisoned, "large", "reason, raw_size, raw_sha256, length(base64Decode(raw_base64)), "
                           "lower(hex(SHA256(base64Decode(raw_base64))))")
    assert "length <= 5000" in reason and "$.payload.note" in reason
    assert (int(size), digest) == (LARGE, hashlib.sha256(raw).hexdigest())
    # The letter keeps the message's first bytes, to see what it was.
    start = raw[:DEAD_LETTER_RAW_BYTES]
    assert (int(kept), kept_digest) == (len(start), hashlib.sha256(start).hexdigest())


def test_tombstone_is_an_empty_message_in_the_dlq(poisoned: Poisoned) -> None:
    [reason] = letter(poisoned, "tombstone", "reason")
    assert reason.startswith("empty message"), reason


def test_alert_dated_9999_goes_to_dlq_not_to_the_wall(poisoned: Poisoned) -> None:
    wait_flowing(poisoned, "year_9999", Kind.DISASTER_ALERT)
    [reason] = letter(poisoned, "year_9999", "reason")
    assert reason.startswith("implausible time: occurred_at 9999-12-31"), reason
    assert poisoned.stack.count(
        f"SELECT count() FROM posko.alerts WHERE source = '{poisoned.marker}' "
        "AND occurred_at > now() + INTERVAL 1 DAY") == 0
