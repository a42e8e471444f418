"""Records on posko.raw.<kind> as connectors write them: unvalidated bytes, keyed by region."""

from __future__ import annotations

import enum

import msgspec

from schemas.events import Kind


class Flaw(enum.StrEnum):
    """The kinds of malformed input the pipeline must reject (the simulator makes each on purpose)."""

    BROKEN_JSON = "broken_json"
    WRONG_TYPES = "wrong_types"
    UNKNOWN_REGION = "unknown_region"
    OVERSIZED_TEXT = "oversized_text"
    UNKNOWN_KIND = "unknown_kind"


class RawMessage(msgspec.Struct, frozen=True):
    """One record as a connector writes it to posko.raw.<kind>."""

    kind: Kind
    key: bytes  # the region code, empty when the source gave no region and no location
    value: bytes
    flaw: Flaw | None = None  # set only on the simulator's deliberately malformed records
