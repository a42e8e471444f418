"""Getting records onto Kafka for sure: send, wait for the broker, resend what failed."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

from aiokafka.errors import MessageSizeTooLargeError, RecordListTooLargeError, RecordTooLargeError

log = logging.getLogger("posko.delivery")

T = TypeVar("T")
# Pause before resending what failed (the broker is away or restarting).
RETRY_PAUSE_S = 1.0
# Failures that sending the same bytes again can never fix: the record is larger than the topic
# (or the producer) accepts. Every other failure (timeouts, leader changes) passes with time.
REFUSED_FOR_GOOD: tuple[type[Exception], ...] = (
    MessageSizeTooLargeError, RecordTooLargeError, RecordListTooLargeError,
)


async def deliver_all(
    send: Callable[[T], Awaitable[asyncio.Future[object]]], records: Sequence[T],
    instead: Callable[[T, Exception], Sequence[T]] | None = None,
    recover: Callable[[list[Exception]], Awaitable[None]] | None = None,
) -> int:
    """Send every record and wait until the broker acknowledged all; return the resend count.

    Only what failed is sent again. A record Kafka refuses for good is replaced by what `instead`
    gives for it (without `instead`, it is sent again like any other failure). `recover`, when
    given, sees each round's failures before the resend (to start a new producer, say).
    """
    pending = list(records)
    resent = 0
    while pending:
        futures: list[Awaitable[object]] = []
        for record in pending:
            try:
                futures.append(await send(record))
            except Exception as exc:  # refused before buffering: resend below
                futures.append(_failed(exc))
        results = await asyncio.gather(*futures, return_exceptions=True)
        failed: list[T] = []
        errors: list[Exception] = []
        for record, result in zip(pending, results, strict=True):
            if not isinstance(result, Exception):
                continue
            if instead is not None and isinstance(result, REFUSED_FOR_GOOD):
                log.warning("Kafka refused a record for good (%r); sending what replaces it", result)
                failed.extend(instead(record, result))
            else:
                failed.append(record)
                errors.append(result)
        if errors:
            log.warning("%d of %d records not acknowledged by Kafka (%r); resending",
                        len(errors), len(pending), errors[0])
        if errors and recover is not None:
            await recover(errors)
        if failed:
            await asyncio.sleep(RETRY_PAUSE_S)
        resent += len(failed)
        pending = failed
    return resent


def _failed(exc: Exception) -> asyncio.Future[object]:
    future: asyncio.Future[object] = asyncio.get_running_loop().create_future()
    future.set_exception(exc)
    return future
