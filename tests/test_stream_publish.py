"""The worker's producing against a real broker: only a failed batch is sent again, and a record
Kafka refuses for good is dead-lettered instead of blocking the partition."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter

import msgspec
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from posko.settings import Settings
from schemas.events import DeadLetter
from schemas.topics import DLQ
from streams.publish import send_batched
from streams.validate import Origin, Outgoing
from tests.conftest import read_topic

# The topic takes batches up to 64 KiB; the producer fills batches of 16 KiB, so a group of
# small records spans many batches and a 100 KB record is refused for good (MESSAGE_TOO_LARGE).
TOPIC_MAX_BYTES = 65_536
SMALL = 300


async def create_topic(settings: Settings, name: str) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.bootstrap_servers)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(name, 1, 1, topic_configs={
            "max.message.bytes": str(TOPIC_MAX_BYTES)})])
    finally:
        await admin.close()


async def send(settings: Settings, records: list[Outgoing]) -> int:
    producer = AIOKafkaProducer(bootstrap_servers=settings.bootstrap_servers, acks="all",
                                max_batch_size=16_384)
    await producer.start()
    try:
        # One partition per topic here; a worker uses Faust's partitioner.
        return await asyncio.wait_for(send_batched(producer, records, lambda topic, key: 0), 60)
    except TimeoutError:  # still resending: the topic says what went out meanwhile
        return -1
    finally:
        await producer.stop()


def test_only_the_failed_batch_is_sent_again_and_a_refused_record_is_dead_lettered(
    settings: Settings,
) -> None:
    topic = f"test-publish-{uuid.uuid4().hex[:8]}"
    asyncio.run(create_topic(settings, topic))
    small = [Outgoing(topic, b"15.71", b"%04d" % n + b"." * 600) for n in range(SMALL)]
    large_raw = b"{" + b"x" * 99_998 + b"}"
    large = Outgoing(topic, b"15.71", large_raw, Origin("posko.raw.test", 2, 41, b"15.71", large_raw))
    records = [*small[: SMALL // 2], large, *small[SMALL // 2:]]

    resent = asyncio.run(send(settings, records))

    on_topic = Counter(value for _, value in asyncio.run(read_topic(settings, topic)))
    twice = {value[:4].decode(): n for value, n in on_topic.items() if value and n > 1}
    assert not twice, f"records on the topic more than once (record: times): {twice}"
    assert set(on_topic) == {r.value for r in small}, "every small record, and not the large one"
    assert resent == 1, "send_batched returns after one resend: the large record's dead letter"
    dead = [msgspec.json.decode(value, type=DeadLetter)
            for key, value in asyncio.run(read_topic(settings, DLQ)) if key == b"posko.raw.test" and value]
    letters = [letter for letter in dead if letter.reason.startswith(f"Kafka refused the {topic} record")]
    assert len(letters) == 1 and letters[0].raw == large_raw and letters[0].complete
    assert "MessageSizeTooLargeError" in letters[0].reason
