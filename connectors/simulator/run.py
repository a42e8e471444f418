"""`posko simulate`: realistic raw events at a steady rate onto Kafka."""

from __future__ import annotations

import asyncio
import random
import time
from bisect import bisect_right
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import msgspec

from connectors.publisher import RawPublisher
from connectors.simulator.stream import Simulator
from posko.settings import Settings
from schemas.events import kind_of, utc_now

if TYPE_CHECKING:
    from connectors.simulator.scenarios import Timed

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


async def play_scenario(
    settings: Settings,
    name: str,
    *,
    speed: float = 1.0,
    truth: Path | None = None,
    count: int | None = None,
    seed: int | None = None,
    stop: asyncio.Event | None = None,
    stats: SimulationStats | None = None,
    on_sent: Callable[[list[Timed]], None] | None = None,
) -> SimulationStats:
    """Play a scenario `speed` times faster than real time; its truth goes to `truth` first.

    `on_sent` is called with each batch once Kafka has it (the benchmark times signals from there).
    """
    from connectors.simulator.places import region_key
    from connectors.simulator.scenarios import load, plan, write_truth
    from schemas.raw import RawMessage

    scenario = load(name)
    started_at = utc_now()
    # Scenario time is the wall clock at real speed; played faster, it starts early enough that no
    # event is ever ahead of the wall clock when it is sent (the last one is sent as it happens).
    timeline = plan(scenario, seed, started_at - timedelta(hours=scenario.hours) * (1 - 1 / speed))
    if count is not None:
        timeline = timeline[:count]
    write_truth(truth or Path(settings.home) / "scenarios" / f"{name}.truth.jsonl", timeline)
    times = [t.at for t in timeline]
    stats = stats or SimulationStats()
    stop = stop or asyncio.Event()
    started = time.monotonic()
    async with RawPublisher(settings) as publisher:
        while stats.sent < len(timeline) and not stop.is_set():
            played = timedelta(seconds=(time.monotonic() - started + TICK_S) * speed)
            due = timeline[stats.sent:bisect_right(times, played)]
            if due:
                batch = [RawMessage(kind_of(t.event), region_key(t.event),
                                    msgspec.json.encode(t.event), None) for t in due]
                stats.resent += await publisher.publish(batch)
                stats.sent += len(batch)
                if on_sent is not None:
                    on_sent(due)
            await asyncio.sleep(TICK_S)
    return stats
