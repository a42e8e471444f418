"""Producing the worker's output: records in one Kafka batch per run of a topic-partition, each
batch sent again alone until Kafka acknowledges it. Clean events go as batched records (one per
key and batch, schemas/batch.py): the sink then reads a record per batch, not per event."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any

import faust
import msgspec
from aiokafka import AIOKafkaProducer

from posko.kafka.delivery import deliver_all
from schemas.batch import join, packs
from schemas.topics import BATCHED, IN_ORDER, SIGNALS_KEY
from streams.faust_workarounds import kafka_producer
from streams.validate import Outgoing, refused

PartitionOf = Callable[[str, bytes], int]


class Chunk(msgspec.Struct):
    """Records of one topic-partition that fit one Kafka batch, and that batch until it is sent."""

    topic: str
    partition: int
    records: list[Outgoing]
    batch: Any = None  # aiokafka's BatchBuilder


async def publish(app: faust.App, records: Sequence[Outgoing]) -> None:
    """Produce every record and return once Kafka has them all (the batch is acked after)."""
    # The underlying aiokafka producer (streams/faust_workarounds.py says why), with partitions
    # from Faust's partitioner as for any send.
    producer = app.producer
    partitions: dict[tuple[str, bytes], int] = {}

    def partition_of(topic: str, key: bytes) -> int:
        # Keys are regions (a dozen): hashing each record's key again cost ~5 % of the worker.
        if (topic, key) not in partitions:
            partitions[(topic, key)] = producer.key_partition(topic, key).partition
        return partitions[(topic, key)]

    await send_batched(kafka_producer(app), records, partition_of)


async def send_batched(
    kafka: AIOKafkaProducer, records: Sequence[Outgoing], partition_of: PartitionOf
) -> int:
    """Produce the records in batches per topic-partition until Kafka has them all; return the resend count.

    Only a batch that failed is sent again. A record Kafka refuses for good (too large) is replaced
    by its source message's dead letter, or by a dead letter without the original bytes.
    """

    async def send(chunk: Chunk) -> Any:
        # A batch that failed cannot be sent again: it is built anew from its records.
        batch, chunk.batch = chunk.batch or _batch(kafka, chunk.records), None
        return await kafka.send_batch(batch, chunk.topic, partition=chunk.partition)

    def instead(chunk: Chunk, error: Exception) -> list[Chunk]:
        if len(chunk.records) > 1:  # which record is too large is not known: each goes alone
            return [Chunk(chunk.topic, chunk.partition, [record]) for record in chunk.records]
        replacement = refused(chunk.records[0], error)
        if replacement is None:  # nothing smaller to send: try again (and say so)
            return [chunk]
        return [Chunk(replacement.topic, partition_of(replacement.topic, replacement.key), [replacement])]

    return await deliver_all(send, _chunks(kafka, records, partition_of), instead)


def _chunks(kafka: AIOKafkaProducer, records: Sequence[Outgoing], partition_of: PartitionOf) -> list[Chunk]:
    groups: dict[tuple[str, int], list[Outgoing]] = defaultdict(list)
    for record in records:
        groups[(record.topic, partition_of(record.topic, record.key))].append(record)
    chunks = []
    for (topic, partition), group in groups.items():
        batch, taken = kafka.create_batch(), list[Outgoing]()
        for part, key, value in _packed(topic, group):
            if batch.append(key=key, value=value, timestamp=None) is None:
                chunks.append(Chunk(topic, partition, taken, batch))
                batch, taken = kafka.create_batch(), []
                batch.append(key=key, value=value, timestamp=None)
            taken.extend(part)
        chunks.append(Chunk(topic, partition, taken, batch))
    return chunks


def _packed(topic: str, records: list[Outgoing]) -> list[tuple[list[Outgoing], bytes, bytes]]:
    """The Kafka records to send for these: on a batched topic one per key and batch (the records
    of a key keep their order), on one read in order (posko.signals) one per batch of consecutive
    records, elsewhere one each."""
    if topic not in BATCHED:
        return [([record], record.key, record.value) for record in records]
    if topic in IN_ORDER:
        return [(list(run), _key_of(run), join(record.value for record in run))
                for run in packs(records, lambda record: record.value)]
    by_key: dict[bytes, list[Outgoing]] = defaultdict(list)
    for record in records:
        by_key[record.key].append(record)
    return [(list(run), key, join(record.value for record in run))
            for key, group in by_key.items() for run in packs(group, lambda record: record.value)]


def _key_of(run: Sequence[Outgoing]) -> bytes:
    """A batch's key: its records' own when they share one, else the province's."""
    key = run[0].key
    return key if all(record.key == key for record in run) else SIGNALS_KEY


def _batch(kafka: AIOKafkaProducer, records: list[Outgoing]) -> Any:
    batch = kafka.create_batch()
    for _, key, value in _packed(records[0].topic, records):
        batch.append(key=key, value=value, timestamp=None)
    return batch
