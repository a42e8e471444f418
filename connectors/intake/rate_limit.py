"""Per-key rate limits of the intake: a token bucket holding one minute's allowance."""

from __future__ import annotations

import math
import time


class RateLimiter:
    """Allows each key up to its rate per minute, in bursts of at most that many."""

    def __init__(self) -> None:
        self._buckets: dict[str, tuple[float, float]] = {}  # key id -> (tokens, at)

    def admit(self, key_id: str, per_minute: int) -> float:
        """0 when the request may go ahead, else the seconds until it may be retried."""
        if per_minute <= 0:
            return 0.0
        now = time.monotonic()
        tokens, at = self._buckets.get(key_id, (float(per_minute), now))
        tokens = min(float(per_minute), tokens + (now - at) * per_minute / 60)
        if tokens >= 1:
            self._buckets[key_id] = (tokens - 1, now)
            return 0.0
        self._buckets[key_id] = (tokens, now)
        return (1 - tokens) * 60 / per_minute


def retry_after_header(seconds: float) -> str:
    """Whole seconds for a Retry-After header, at least 1."""
    return str(max(1, math.ceil(seconds)))
