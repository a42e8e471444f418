"""Schemathesis hooks for the intake: rules of a valid report that JSON Schema cannot say.

Loaded by `schemathesis run` in tests/test_intake_schemathesis.py. They change only the cases
Schemathesis generates as valid (positive), so that "valid data is accepted" tests the intake
and not these rules; negative cases go out as generated and must all be refused.
"""

from __future__ import annotations

import itertools
import os
import uuid
from datetime import timedelta
from typing import Any

import schemathesis
from schemathesis.generation.case import Case

from schemas.events import utc_now

# Inside Kota Jambi: a location-only report must be inside the province (POST answers 400 with
# field location otherwise), which a schema of latitudes and longitudes cannot say.
JAMBI = {"lat": -1.61, "lon": 103.61}
_idempotency = itertools.count()
_run = uuid.uuid4().hex[:8]


@schemathesis.auth(refresh_interval=None, cache_by_key=lambda case, context: context.operation.method)
class IntakeKeys:
    """A channel key for submitting and reading, an officer key for moving a status (from the test)."""

    def get(self, case: Case, context: schemathesis.AuthContext) -> str:
        """The key for this operation."""
        role = "OFFICER" if context.operation.method.upper() == "PATCH" else "CHANNEL"
        return os.environ[f"POSKO_TEST_{role}_KEY"]

    def set(self, case: Case, data: str, context: schemathesis.AuthContext) -> None:
        """Send it as the intake wants it."""
        case.headers["Authorization"] = f"Bearer {data}"


@schemathesis.hook
def map_case(context: schemathesis.HookContext, case: Case) -> Case:
    """Make a valid submission valid for the intake's server-side rules too."""
    meta = case.meta
    if (meta is None or case.method != "POST" or not isinstance(case.body, dict)
            or not all(component.mode.is_positive for component in meta.components.values())):
        return case
    body: dict[str, Any] = dict(case.body)
    # The channel is the API key's own (the test's key is for web): another one is a 400.
    body["channel"] = "web"
    # occurred_at must be plausible (schemas.events.occurred_at_problem): a date-time schema has
    # no bounds, so Schemathesis sends years 0001 to 9999.
    if body.get("occurred_at") is not None:
        body["occurred_at"] = (utc_now() - timedelta(hours=1)).isoformat()
    if body.get("region") is None and body.get("location") is not None:
        body["location"] = JAMBI
    case.body = body
    # An Idempotency-Key names one report: sent again with another body it is a 422 by design.
    if "Idempotency-Key" in case.headers:
        case.headers["Idempotency-Key"] = f"st-{_run}-{next(_idempotency)}"
    return case
