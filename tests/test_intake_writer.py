"""The intake's TransactionalWriter on the session broker: back-to-back transactions retry the
broker's CONCURRENT_TRANSACTIONS after 2 ms, not aiokafka's fixed 20 ms."""

from __future__ import annotations

import asyncio
import inspect
import time
import uuid
from typing import Any

import aiokafka.producer.sender as aiokafka_sender
import pytest

from connectors.intake.writer import CONCURRENT_TRANSACTIONS_BACKOFF_S, Record, TransactionalWriter
from posko.settings import Settings

DEADLINE_S = 60.0


def test_aiokafka_still_waits_its_override_after_concurrent_transactions() -> None:
    # The writer sets aiokafka's module constant; a release that no longer reads it there would
    # bring the 20 ms wait back silently (read connectors/intake/writer.py before moving the pin).
    source = inspect.getsource(aiokafka_sender.AddPartitionsToTxnHandler.handle_response)
    assert "return BACKOFF_OVERRIDE" in source
    assert aiokafka_sender.BACKOFF_OVERRIDE == CONCURRENT_TRANSACTIONS_BACKOFF_S


async def test_back_to_back_transactions_retry_after_two_milliseconds(
        settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    backoffs: list[float] = []
    handle = aiokafka_sender.AddPartitionsToTxnHandler.handle_response

    def recording(self: Any, response: Any) -> float | None:
        backoff: float | None = handle(self, response)
        if backoff is not None:
            backoffs.append(backoff)
        return backoff

    monkeypatch.setattr(aiokafka_sender.AddPartitionsToTxnHandler, "handle_response", recording)
    writer = TransactionalWriter(settings, f"test-writer-{uuid.uuid4().hex}")
    stop = asyncio.Event()
    running = asyncio.create_task(writer.run(stop))
    topic = f"test-writer-{uuid.uuid4().hex[:8]}"
    deadline = time.monotonic() + DEADLINE_S
    try:
        # Each write is a transaction begun right after the last commit: the broker is often
        # still writing that commit's markers and answers CONCURRENT_TRANSACTIONS.
        while not backoffs and time.monotonic() < deadline:
            await writer.write([Record(topic, b"k", b"%d" % writer.transactions)])
    finally:
        stop.set()
        await running
    assert backoffs, (f"no CONCURRENT_TRANSACTIONS retry seen within {DEADLINE_S:.0f} s "
                      f"({writer.transactions} transactions)")
    assert set(backoffs) == {CONCURRENT_TRANSACTIONS_BACKOFF_S}
