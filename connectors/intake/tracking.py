"""Tracking numbers citizens can quote: `JMB-2611-7Q4KM` (province, year and month in WIB, 5 symbols)."""

from __future__ import annotations

import re
import secrets
from collections.abc import Container
from datetime import datetime

from schemas.clock import WIB

# Crockford's base32: no I, L, O or U, so nothing is misread over the phone.
SYMBOLS = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
PATTERN = re.compile(r"^JMB-\d{4}-[0-9A-HJKMNP-TV-Z]{5}$")
_READ_AS = str.maketrans({"O": "0", "I": "1", "L": "1", " ": None})


def new_tracking_number(now: datetime, *taken: Container[str]) -> str:
    """A fresh tracking number for a report received at `now`, in none of `taken`."""
    month = now.astimezone(WIB).strftime("%y%m")
    while True:
        number = f"JMB-{month}-{''.join(secrets.choice(SYMBOLS) for _ in range(5))}"
        if not any(number in numbers for numbers in taken):
            return number


def normalise_tracking_number(text: str) -> str | None:
    """The tracking number as written by a citizen (any case, O for 0, …), or None if it is not one."""
    number = text.strip().upper().translate(_READ_AS)
    return number if PATTERN.match(number) else None
