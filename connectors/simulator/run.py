"""`posko simulate`: realistic raw events at a steady rate onto Kafka."""

from __future__ import annotations

import asyncio
import random
import time

from connectors.publisher import RawPublisher
from connectors.simulator.stream import Simulator
from posko.settings import Settings
from schemas.events import utc_now

TICK_S = 0.05


class SimulationStats:
    """How many messages were sent, valid and malformed."""

    def __init__(self) -> None:
        self.sent = 0
        self.malformed = 0
        self.resent = 0


async def simulate(
    settings: Settings,
    rate: float,
    *,
    duration_s: float | None = None,
    count: int | None = None,
    malformed_ratio: float = 0.0,
    seed: int | None = None,
    stop: asyncio.Event | None = None,
    stats: SimulationStats | None = None,
) -> SimulationStats:
    """Produce `rate` events per second until the duration, the count or `stop` is reached."""
    simulator = Simulator(random.Random(seed), malformed_ratio=malformed_ratio)
    stats = stats or SimulationStats()
    stop = stop or asyncio.Event()
    started = time.monotonic()
    async with RawPublisher(settings) as publisher:
        while not stop.is_set():
            elapsed = time.monotonic() - started
            if duration_s is not None and elapsed >= duration_s:
                break
            due = int(rate * (elapsed + TICK_S)) - stats.sent
            if count is not None:
                due = min(due, count - stats.sent)
                if due <= 0 and stats.sent >= count:
                    break
            if due > 0:
                now = utc_now()
                batch = [simulator.raw(now) for _ in range(due)]
                stats.resent += await publisher.publish(batch)
                stats.sent += len(batch)
                stats.malformed += sum(1 for m in batch if m.flaw is not None)
            await asyncio.sleep(TICK_S)
    return stats
