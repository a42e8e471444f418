"""Two intakes and two workers side by side, one of each killed mid-load: nothing lost, nothing twice."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from posko.credentials import CredentialStore
from posko.kafka.offsets import group_state
from posko.net import free_port
from posko.services import Service
from schemas.events import Channel
from schemas.identity import Role
from tests.conftest import Stack, lag, running_stack, settle, wait_for
from tests.test_resilience import PacedProducer, stored

REPORTS = 400
CLIENTS = 8
RETRY_FOR_S = 120.0


class Citizens(threading.Thread):
    """CLIENTS channels' clients submitting REPORTS reports, each with an Idempotency-Key of its own,
    over both intakes; a failed attempt (no answer, 503) is sent again with the same key to the other."""

    def __init__(self, urls: list[str], key: str, marker: str) -> None:
        super().__init__(daemon=True)
        self.urls, self.key, self.marker = urls, key, marker
        self.todo = iter(range(REPORTS))
        self.accepted: dict[str, dict[str, Any]] = {}  # Idempotency-Key -> the 202's body
        self.failed_attempts = 0
        self.replayed = 0  # accepted reports sent again through the other intake and found there
        self.error: BaseException | None = None
        # The rest of the reports wait for the kill: the load must go on while an intake is down
        # (on a fast run all 400 were in before the kill came).
        self.resume = threading.Event()
        self._lock = threading.Lock()

    def run(self) -> None:
        try:
            threads = [threading.Thread(target=self._client, args=(n,), daemon=True) for n in range(CLIENTS)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
        except BaseException as exc:  # reported by the test
            self.error = exc

    def _client(self, n: int) -> None:
        with httpx.Client(timeout=10) as http:
            for number in self.todo:
                if number >= REPORTS // 3 and not self.resume.wait(RETRY_FOR_S):
                    self.error = AssertionError("the test never let the rest of the reports go")
                    return
                try:
                    self._submit(http, n + number, number)
                except BaseException as exc:
                    self.error = exc
                    return

    def _submit(self, http: httpx.Client, turn: int, number: int) -> None:
        idempotency_key = f"{self.marker}-{number}"
        body = {"channel": "web", "category": "infrastruktur", "title": idempotency_key,
                "text": f"Laporan {number}: jalan berlubang di depan pasar.", "region": "15.71"}
        headers = {"Authorization": f"Bearer {self.key}", "Idempotency-Key": idempotency_key}
        deadline = time.monotonic() + RETRY_FOR_S
        while True:
            url = self.urls[turn % len(self.urls)]
            try:
                answer = http.post(f"{url}/v1/reports", json=body, headers=headers)
                if answer.status_code == 202:
                    with self._lock:
                        self.accepted[idempotency_key] = answer.json()
                    if number % 5 == 0:  # as if the 202 was lost: the same report through the other intake
                        other = self.urls[(turn + 1) % len(self.urls)]
                        self._again(http, [other, url], body, headers, answer)
                    return
                if answer.status_code != 503:
                    raise AssertionError(f"{url} answered {answer.status_code}: {answer.text}")
            except httpx.TransportError:
                pass  # the intake is gone (killed): the other one takes it
            with self._lock:
                self.failed_attempts += 1
            if time.monotonic() > deadline:
                raise AssertionError(f"report {idempotency_key} not accepted within {RETRY_FOR_S:.0f} s")
            turn += 1
            time.sleep(0.1)  # a client's retry pause, as Retry-After asks


    def _again(self, http: httpx.Client, urls: list[str], body: dict[str, Any], headers: dict[str, str],
               first: httpx.Response) -> None:
        # The other intake first; while it is down (killed, restarting), the one that answered.
        for url in urls:
            try:
                again = http.post(f"{url}/v1/reports", json=body, headers=headers)
            except httpx.TransportError:
                continue
            if again.status_code != 503:
                break
        else:
            return
        assert (again.status_code, again.headers.get("idempotent-replayed")) == (202, "true"), again.text
        assert again.json() == first.json(), f"{url} gave another answer for one Idempotency-Key"
        with self._lock:
            self.replayed += 1


def _intake(stack: Stack, path: Path, slot: int) -> Service:
    env = {**stack.env, "POSKO_INTAKE_PORT": str(free_port()), "POSKO_INTAKE_INSTANCE": str(slot),
           "POSKO_INTAKE_INSTANCES": "2"}
    return Service("intake", path / f"intake-{slot}", env)


def _url(service: Service) -> str:
    return f"http://127.0.0.1:{service.env['POSKO_INTAKE_PORT']}"


def _healthy(service: Service) -> bool:
    service.keep_running()
    try:
        return httpx.get(f"{_url(service)}/healthz", timeout=5).status_code == 200
    except httpx.TransportError:
        return False


@pytest.fixture
def side_by_side(kafka_env: dict[str, str], tmp_path: Path) -> Iterator[tuple[Stack, list[Service]]]:
    """A sink, two workers (each its own static member of the group) and two intakes."""
    with running_stack(kafka_env, tmp_path) as stack:
        stack.services["worker-2"] = Service("worker", tmp_path / "worker-2",
                                             {**stack.env, "POSKO_WORKER_INSTANCE": "test-worker-2"})
        intakes = [_intake(stack, tmp_path, slot) for slot in (0, 1)]
        try:
            stack.start("worker-2")
            for intake in intakes:
                intake.start()
            for group in ("posko-stream", "posko-room"):  # each worker's route and room parts
                state = lambda g=group: asyncio.run(group_state(stack.settings, g))  # noqa: E731
                wait_for(lambda s=state: s() == ("Stable", 2), 120,  # type: ignore[misc]
                         lambda s=state, g=group: f"both workers in {g}: {s()}\n{stack.log_tail()}")  # type: ignore[misc]
            for intake in intakes:
                wait_for(lambda i=intake: _healthy(i), 90,  # type: ignore[misc]
                         lambda i=intake: f"the intake to start\n{i.tail()}")  # type: ignore[misc]
            yield stack, intakes
        finally:
            for intake in intakes:
                intake.stop()


def test_one_of_two_intakes_and_one_of_two_workers_killed_mid_load_lose_and_double_nothing(
        side_by_side: tuple[Stack, list[Service]], marker: str) -> None:
    stack, intakes = side_by_side
    name = f"web-{uuid.uuid4().hex[:8]}"
    key = CredentialStore(Path(stack.settings.home)).issue(name, Role.CHANNEL, channel=Channel.WEB)[1]
    events = PacedProducer(stack.settings, marker, 4_000, rate=400)
    citizens = Citizens([_url(intake) for intake in intakes], key, marker)
    events.start()
    citizens.start()

    wait_for(lambda: citizens.error or (len(citizens.accepted) >= REPORTS // 3
                                        and stored(stack, marker)[0] > 1_000), 120,
             lambda: f"a third of the reports accepted ({len(citizens.accepted)}) and 1,000 events stored "
                     f"({stored(stack, marker)})")
    assert citizens.error is None, citizens.error
    intakes[0].kill()
    stack.kill("worker")
    citizens.resume.set()  # the rest of the reports, while intake 0 and worker 1 are down
    # Their supervisor starts them again; meanwhile the other intake takes every retry and the
    # other worker (then both again) the events.
    intakes[0].start()
    stack.start("worker")

    citizens.join(RETRY_FOR_S + 60)
    assert citizens.error is None, citizens.error
    assert len(citizens.accepted) == REPORTS, f"{len(citizens.accepted)} of {REPORTS} reports accepted"
    assert citizens.failed_attempts > 0, "no submission failed: the intake was killed after the load"
    assert citizens.replayed > REPORTS // 10, f"only {citizens.replayed} reports sent again were found"
    source = f"intake:{name}"

    def reports() -> tuple[int, int]:
        out = stack.sql(f"SELECT count(), uniqExact(title) FROM posko.citizen_reports "
                        f"WHERE source = '{source}'")
        rows, titles = out.split("\t") if out else ("-1", "-1")
        return int(rows), int(titles)

    wait_for(lambda: reports()[1] >= REPORTS and stored(stack, marker)[1] >= events.total, 180,
             lambda: f"every report and event in ClickHouse: reports {reports()}, events "
                     f"{stored(stack, marker)}, lag {lag(stack)}\n{stack.log_tail()}")
    settle(stack)
    assert events.error is None and events.sent == events.total
    assert stored(stack, marker) == (events.total, events.total)
    assert reports() == (REPORTS, REPORTS)
    # The stored report of each key is the one its 202 named, also when a retry found it.
    found = stack.sql(f"SELECT title, toString(id) FROM posko.citizen_reports WHERE source = '{source}'")
    ids = dict(line.split("\t") for line in found.splitlines())
    assert ids == {title: answer["id"] for title, answer in citizens.accepted.items()}
    trackings = [answer["tracking"] for answer in citizens.accepted.values()]
    assert len(set(trackings)) == REPORTS
    assert {number[9] for number in trackings} == {"0", "1"}  # issued by both intakes
