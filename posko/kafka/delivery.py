"""Getting records onto Kafka for sure: send, wait for the broker, resend what failed."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

log = logging.getLogger("posko.delivery")

T = TypeVar("T")
# Pause before resending what failed (the broker is away or restarting).
RETRY_PAUSE_S = 1.0


async def deliver_all(
    send: Callable[[T], Awaitable[asyncio.Future[object]]], records: Sequence[T]
) -> int:
    """Send every record and wait until the broker acknowledged all; return the resend count."""
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
        failed = [r for r, res in zip(pending, results, strict=True) if isinstance(res, Exception)]
        if failed:
            error = next(res for res in results if isinstance(res, Exception))
            log.warning("%d of %d records not acknowledged by Kafka (%r); resending",
                        len(failed), len(pending), error)
            resent += len(failed)
            await asyncio.sleep(RETRY_PAUSE_S)
        pending = failed
    return resent


def _failed(exc: Exception) -> asyncio.Future[object]:
    future: asyncio.Future[object] = asyncio.get_running_loop().create_future()
    future.set_exception(exc)
    return future
