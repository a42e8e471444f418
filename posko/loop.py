"""Running a service's coroutine on uvloop, the faster event loop, where it is installed."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def run_async(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to its end on uvloop where available, else on asyncio's loop."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is not on every platform
        return asyncio.run(coroutine)
    return uvloop.run(coroutine)
