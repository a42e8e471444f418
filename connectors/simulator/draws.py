"""Random draws for the simulator: weighted choices from tables built once, and cheap uniform ones."""

from __future__ import annotations

import random
from bisect import bisect_right
from collections.abc import Sequence
from datetime import datetime, timedelta
from functools import cache
from typing import Any, Generic, TypeVar

T = TypeVar("T")
SOURCE = "simulator"  # the `source` of every simulated event


class Table(Generic[T]):
    """Weighted choice by bisecting cumulative weights: several times faster than rng.choices."""

    __slots__ = ("cum", "items", "total")

    def __init__(self, pairs: Sequence[tuple[T, float]]) -> None:
        self.items = [item for item, weight in pairs if weight > 0]
        self.cum: list[float] = []
        total = 0.0
        for _, weight in pairs:
            if weight > 0:
                total += weight
                self.cum.append(total)
        if not self.items:
            raise ValueError("a weighted table needs at least one positive weight")
        self.total = total

    def pick(self, rng: random.Random) -> T:
        """One item, each as likely as its weight."""
        return self.items[bisect_right(self.cum, rng.random() * self.total)]


@cache
def _table_of(pairs: tuple[tuple[Any, float], ...]) -> Table[Any]:
    return Table(pairs)


def pick(rng: random.Random, pairs: tuple[tuple[T, float], ...]) -> T:
    """A weighted choice from literal pairs, their table built once."""
    picked: T = _table_of(pairs).pick(rng)
    return picked


# random.choice/randint/randrange go through _randbelow and cost three times as much as one
# random() call; these stay deterministic for a seeded rng and are plenty uniform here.
def choice(rng: random.Random, seq: Sequence[T]) -> T:
    """One item of a non-empty sequence."""
    return seq[int(rng.random() * len(seq))]


def randint(rng: random.Random, low: int, high: int) -> int:
    """An integer in [low, high]."""
    return low + int(rng.random() * (high - low + 1))


def randrange(rng: random.Random, start: int, stop: int, step: int = 1) -> int:
    """An integer of range(start, stop, step)."""
    return start + step * int(rng.random() * ((stop - start + step - 1) // step))


def handed_over(rng: random.Random, now: datetime) -> datetime:
    """When an event received at `now` happened: sources hand events over seconds to minutes later."""
    return now - timedelta(seconds=rng.expovariate(1 / 45.0) + 0.5)
