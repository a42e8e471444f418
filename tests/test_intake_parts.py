"""The intake's parts without a broker: tracking numbers, rate limits, unexpected failures (credentials:
tests/test_credentials.py)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path

import pytest
from litestar import get
from litestar.testing import TestClient

from connectors.intake.app import create_app
from connectors.intake.rate_limit import RateLimiter
from connectors.intake.tracking import PATTERN, new_tracking_number, normalise_tracking_number
from posko.settings import load_settings


def test_tracking_numbers_carry_the_wib_month_and_are_not_reused() -> None:
    # 20:00 UTC on 30 November is already 1 December in Jambi.
    now = datetime(2026, 11, 30, 20, 0, tzinfo=UTC)
    taken = {new_tracking_number(now, 0) for _ in range(2_000)}
    fresh = new_tracking_number(now, 0, taken)
    assert fresh not in taken and fresh.startswith("JMB-2612-0") and PATTERN.match(fresh)


def test_intakes_side_by_side_issue_tracking_numbers_of_their_own() -> None:
    now = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
    numbers: dict[int, set[str]] = {0: set(), 1: set(), 31: set()}
    for slot, issued in numbers.items():
        for _ in range(500):
            issued.add(new_tracking_number(now, slot, issued))
    assert {number[9] for number in numbers[1]} == {"1"} and {number[9] for number in numbers[31]} == {"Z"}
    assert all(PATTERN.match(number) for found in numbers.values() for number in found)
    assert len(set().union(*numbers.values())) == 1_500  # none issued by two slots


def test_tracking_numbers_as_citizens_type_them_are_understood() -> None:
    assert normalise_tracking_number(" jmb-2611-7q4km ") == "JMB-2611-7Q4KM"
    assert normalise_tracking_number("JMB-2611-O1LK0") == "JMB-2611-011K0"
    assert normalise_tracking_number("JMB-2611-7Q4") is None


def test_rate_limit_allows_a_minutes_worth_then_says_when_to_retry() -> None:
    limits = RateLimiter()
    assert [limits.admit("k", 3) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert 0 < limits.admit("k", 3) <= 20
    assert limits.admit("other", 3) == 0.0
    assert all(limits.admit("free", 0) == 0.0 for _ in range(100))


def test_unexpected_failure_is_logged_once_and_answered_in_the_api_shape(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    @get("/v1/fails")
    async def fails() -> None:
        raise RuntimeError("a bug in a handler")

    app = create_app(load_settings({"POSKO_HOME": str(tmp_path)}), [fails])
    # Outside `with`, the test client does not run the app's startup: no Kafka is needed here.
    with caplog.at_level(logging.INFO):
        answer = TestClient(app).get("/v1/fails")
    assert answer.status_code == 500
    problem = answer.json()
    assert (problem["status"], problem["error"]) == (500, "internal_error")
    assert "tell the Posko operator" in problem["message"]
    logged = [record for record in caplog.records if record.levelno >= logging.ERROR]
    assert [record.getMessage() for record in logged] == [
        "unexpected failure answering GET /v1/fails (client testclient)"]
    assert logged[0].exc_info is not None and isinstance(logged[0].exc_info[1], RuntimeError)
