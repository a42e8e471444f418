"""Batched records: newline-delimited JSON, one event a line; a record of one event is a batch of one.

Every producer Posko owns packs the events it has at hand for one topic and key into records of
this form, so Kafka, Faust and the sink pay their per-record cost once per batch. The form is
what ordinary Kafka tools print line by line and what ClickHouse's Kafka engine reads as
JSONEachRow. msgspec never writes a raw newline inside JSON (it escapes it), so a line is an event.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TypeVar

T = TypeVar("T")

# The largest batch a producer builds: half of a topic's default message limit (1 MB), so a batch
# whose events grow on the way (the worker adds the region) still fits on the next topic.
MAX_BATCH_BYTES = 512 * 1024
# At most this many events a record, so one bad record costs little to read again.
MAX_BATCH_EVENTS = 2_000


def join(values: Iterable[bytes]) -> bytes:
    """The record carrying these encoded events, one a line."""
    return b"\n".join(values)


def batches(values: Iterable[bytes], limit: int = MAX_BATCH_BYTES,
            most: int = MAX_BATCH_EVENTS) -> Iterator[list[bytes]]:
    """The values in order, grouped into batches of at most `most` and about `limit` bytes joined
    (a value larger than `limit` is a batch alone)."""
    batch: list[bytes] = []
    size = 0
    for value in values:
        if batch and (size + len(value) + 1 > limit or len(batch) >= most):
            yield batch
            batch, size = [], 0
        batch.append(value)
        size += len(value) + 1
    if batch:
        yield batch


def packs(items: Sequence[T], value: Callable[[T], bytes]) -> Iterator[Sequence[T]]:
    """The items in order, cut into runs whose values (`value` of each) make one batch each."""
    start = 0
    for values in batches(value(item) for item in items):
        yield items[start:start + len(values)]
        start += len(values)


def as_array(values: Iterable[bytes]) -> bytes:
    """Encoded events as one JSON array, so a batch's lines decode in one msgspec call."""
    return b"[" + b",".join(values) + b"]"


def is_batch(data: bytes) -> bool:
    """Whether a record holds more than one line (a newline before its last bytes)."""
    return b"\n" in data.rstrip()


def lines(data: bytes) -> list[tuple[int, bytes]]:
    """The record's non-blank lines with their line numbers, from 1 (as `sed -n 3p` counts)."""
    return [(n, line) for n, line in enumerate(data.split(b"\n"), 1) if line.strip()]


def record_lines(data: bytes | None) -> list[tuple[int | None, bytes | None]]:
    """A record's events with their bytes: a record of one as (None, the record), a batch's
    non-blank lines numbered from 1."""
    if not data or not is_batch(data):
        return [(None, data)]
    return list(lines(data))
