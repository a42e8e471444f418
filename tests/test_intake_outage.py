"""The intake with Kafka stopped: 503, nothing written, and the same submission accepted once it is back."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from posko.credentials import CredentialStore
from posko.kafka import broker
from posko.net import free_port
from posko.services import Service
from posko.settings import Settings
from schemas.events import Channel, Kind
from schemas.identity import Role
from schemas.topics import REPORT_STATUS, raw_topic
from tests.conftest import own_broker, read_topic, running_stack, settle, wait_for
from tests.test_intake import report


@pytest.fixture(name="own_broker")
def own_broker_fixture(tmp_path: Path) -> Iterator[tuple[Settings, dict[str, str]]]:
    """A broker of this test's own, so stopping it disturbs no other test."""
    with own_broker(tmp_path, POSKO_INTAKE_PORT=str(free_port()),
                    POSKO_WORKER_INSTANCE="outage-worker-1") as found:
        yield found


def _records_with(settings: Settings, topic: str, marker: str,
                  isolation_level: str = "read_committed") -> int:
    records = asyncio.run(read_topic(settings, topic, isolation_level))
    return sum(1 for _, value in records if value and marker.encode() in value)


def test_kafka_down_answers_503_and_nothing_is_half_written(
        own_broker: tuple[Settings, dict[str, str]], tmp_path: Path) -> None:
    settings, env = own_broker
    key = CredentialStore(Path(settings.home)).issue("web", Role.CHANNEL, channel=Channel.WEB)[1]
    service = Service("intake", tmp_path / "logs", env)
    service.start()
    http = httpx.Client(base_url=f"http://127.0.0.1:{settings.intake_port}", timeout=60,
                        headers={"Authorization": f"Bearer {key}"})
    try:
        wait_for(lambda: _healthy(http), 90, lambda: f"the intake to start\n{service.tail()}")
        before = http.post("/v1/reports", json=report("Sebelum gangguan"))
        assert before.status_code == 202

        broker.stop(settings)
        marker = f"Saat gangguan {uuid.uuid4().hex[:8]}"
        refused = http.post("/v1/reports", json=report(marker), headers={"Idempotency-Key": "outage-1"})
        assert refused.status_code == 503, refused.text
        assert refused.json()["error"] == "kafka_unavailable"
        message = refused.json()["message"]
        assert message.startswith("the report could not be stored: the message service ")
        assert "nothing was saved" in message
        # What happened, without internals: no broker address, no exception text.
        assert str(settings.kafka_port) not in message and "Error" not in message, message
        assert int(refused.headers["Retry-After"]) >= 1
        # What is already known is still answered.
        status = http.get(f"/v1/reports/{before.json()['tracking']}")
        assert status.status_code == 200 and status.json()["status"] == "diterima"

        broker.start(settings)
        answers: list[httpx.Response] = []

        def submitted() -> bool:
            answers.append(http.post("/v1/reports", json=report(marker),
                                     headers={"Idempotency-Key": "outage-1"}))
            return answers[-1].status_code == 202

        wait_for(submitted, 120, lambda: f"the intake to accept again\n{service.tail()}")
        accepted = answers[-1]
        assert accepted.headers.get("Idempotent-Replayed") is None  # the refused attempt left nothing
        # Exactly one committed status record and, through the relay, exactly one raw report,
        # for read_committed readers (every Posko consumer). The attempt refused while Kafka was
        # down may have left its record in an aborted transaction: a read_uncommitted reader
        # sees it (that made this test fail 2 runs in 3 when it read uncommitted), none of ours.
        wait_for(lambda: _records_with(settings, raw_topic(Kind.CITIZEN_REPORT), marker) >= 1, 60,
                 "the relay to forward the report")
        assert _records_with(settings, raw_topic(Kind.CITIZEN_REPORT), marker) == 1
        assert _records_with(settings, REPORT_STATUS, marker) == 1
        aborted = _records_with(settings, REPORT_STATUS, marker, "read_uncommitted") - 1
        assert aborted in (0, 1), f"{aborted} aborted records of the refused attempt"
        # And exactly one row in ClickHouse, through the worker and the sink.
        with running_stack(env, tmp_path / "stack") as stack:
            query = f"SELECT count() FROM posko.citizen_reports WHERE title = '{marker}'"
            wait_for(lambda: stack.count(query) >= 1, 120,
                     lambda: f"the report's row in ClickHouse\n{stack.log_tail()}")
            settle(stack)
            assert stack.count(query) == 1
    finally:
        http.close()
        service.stop()


def test_healthz_follows_kafka_within_seconds(
        own_broker: tuple[Settings, dict[str, str]], tmp_path: Path) -> None:
    settings, env = own_broker
    service = Service("intake", tmp_path / "logs", env)
    service.start()
    http = httpx.Client(base_url=f"http://127.0.0.1:{settings.intake_port}", timeout=10)
    try:
        wait_for(lambda: _healthy(http), 90, lambda: f"the intake to start\n{service.tail()}")

        broker.stop(settings)  # returns once the broker process is gone
        wait_for(lambda: http.get("/healthz").status_code == 503, 6,
                 lambda: f"/healthz to answer 503 with Kafka stopped\n{service.tail()}")
        assert http.get("/healthz").json()["status"] == "kafka_unavailable"

        broker.start(settings)
        wait_for(lambda: _healthy(http), 60,
                 lambda: f"/healthz to answer 200 with Kafka back\n{service.tail()}")
    finally:
        http.close()
        service.stop()


def _healthy(http: httpx.Client) -> bool:
    try:
        return http.get("/healthz").status_code == 200
    except httpx.TransportError:
        return False
