"""Tracking numbers citizens can quote: `JMB-2611-7Q4KM` (province, year and month in WIB, the intake's
slot and 4 symbols)."""

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


def new_tracking_number(now: datetime, instance: int, *taken: Container[str]) -> str:
    """A fresh tracking number for a report received at `now` by intake `instance`, in none of `taken`."""
    month = now.astimezone(WIB).strftime("%y%m")
    # The first symbol is the intake's slot: intakes side by side never issue the same number,
    # whatever each has not read yet of the others'; 32**4 numbers a month remain for each.
    prefix = f"JMB-{month}-{SYMBOLS[instance]}"
    while True:
        drawn = secrets.randbits(20)  # 4 symbols of 5 bits
        number = prefix + "".join(SYMBOLS[(drawn >> shift) & 31] for shift in (15, 10, 5, 0))
        if not any(number in numbers for numbers in taken):
            return number


def normalise_tracking_number(text: str) -> str | None:
    """The tracking number as written by a citizen (any case, O for 0, …), or None if it is not one."""
    number = text.strip().upper().translate(_READ_AS)
    return number if PATTERN.match(number) else None
