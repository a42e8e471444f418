"""Posko's own errors: every exception Posko raises on purpose derives from PoskoError."""


class PoskoError(Exception):
    """Something Posko cannot do; the message says what was wrong and what to do about it."""
