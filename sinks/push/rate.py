"""A token bucket: how many messages one client may send, on average and at once."""

from __future__ import annotations

import time
from collections.abc import Callable


class TokenBucket:
    """Allows `rate` messages per second on average and `burst` at once; a rate of 0 allows all.

    Hand-written rather than aiolimiter: the gateway refuses a message over the limit at once
    (and closes the connection) instead of waiting for capacity, and that is four lines.
    """

    def __init__(self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self.burst = float(max(1, burst))
        self.clock = clock
        self.tokens = self.burst
        self.at = clock()

    def take(self) -> bool:
        """True when one more message is within the limit (and counts it), False when it is over."""
        if self.rate <= 0:
            return True
        now = self.clock()
        self.tokens = min(self.burst, self.tokens + (now - self.at) * self.rate)
        self.at = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True
