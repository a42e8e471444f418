"""The citizen report intake API over real HTTP: uvicorn process, real broker, worker, sink and chdb."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest

from connectors.intake.openapi import COMMITTED
from posko.credentials import REFRESH_S, CredentialStore
from posko.net import free_port
from posko.services import Service
from posko.settings import load_settings
from schemas.batch import lines
from schemas.events import Channel, CitizenReportEvent, Kind
from schemas.identity import Role
from schemas.topics import raw_topic
from tests.conftest import Stack, read_topic, running_stack, wait_for


class RunningIntake:
    """`posko intake` as a process beside a worker and a sink, with a channel's and an officer's
    credential."""

    def __init__(self, stack: Stack, service: Service, url: str, env: dict[str, str]) -> None:
        self.stack = stack
        self.service = service
        self.url = url
        self.env = env
        self.keys = CredentialStore(Path(load_settings(env).home))
        self.name = f"web-{uuid.uuid4().hex[:8]}"
        self.channel_key = self.add_key(self.name, Role.CHANNEL, Channel.WEB)
        self.officer_key = self.add_key(f"officer-{uuid.uuid4().hex[:8]}", Role.OFFICER, None)
        self.http = httpx.Client(base_url=url, timeout=60)

    def add_key(self, name: str, role: Role, channel: Channel | None, rate: int = 0) -> str:
        """A new credential (the service knows it at once)."""
        return self.keys.issue(name, role, channel=channel, rate_per_minute=rate)[1]

    def post(self, body: Any, key: str | None = None, **headers: str) -> httpx.Response:
        """POST /v1/reports as a channel would."""
        return self.http.post("/v1/reports", json=body, headers=_auth(key or self.channel_key, headers))

    def healthy(self) -> bool:
        """True once the service answers and has loaded the report statuses."""
        self.service.keep_running()
        try:
            return self.http.get("/healthz").status_code == 200
        except httpx.TransportError:
            return False

    def restart(self) -> None:
        """Stop the service and start it again."""
        self.service.stop()
        self.service.start()
        wait_for(self.healthy, 90, lambda: f"the intake to start again\n{self.service.tail()}")


def _auth(key: str, headers: dict[str, str]) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}", **{k.replace("_", "-"): v for k, v in headers.items()}}


def report(title: str, **changes: Any) -> dict[str, Any]:
    """A valid web report body."""
    return {"channel": "web", "category": "infrastruktur", "title": title,
            "text": "Jalan berlubang di depan pasar, sudah dua minggu belum diperbaiki.",
            "region": "15.71", "reporter": {"name": "Siti", "phone": "+62811740000"}, **changes}


@pytest.fixture(scope="module")
def intake(kafka_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningIntake]:
    """The intake service on a free port, with a worker and a sink, for this module."""
    path = tmp_path_factory.mktemp("intake")
    with running_stack(kafka_env, path) as stack:
        env = {**stack.env, "POSKO_INTAKE_PORT": str(free_port())}
        service = Service("intake", path, env)
        running = RunningIntake(stack, service, f"http://127.0.0.1:{env['POSKO_INTAKE_PORT']}", env)
        service.start()
        try:
            wait_for(running.healthy, 90, lambda: f"the intake to answer /healthz\n{service.tail()}")
            yield running
        finally:
            running.http.close()
            service.stop()


def _rows(intake: RunningIntake, source: str) -> list[str]:
    out = intake.stack.sql(f"SELECT toString(id) FROM posko.citizen_reports WHERE source = '{source}' "
                           "ORDER BY id")
    return out.split() if out else []


def test_accepted_reports_land_exactly_once_in_clickhouse(intake: RunningIntake) -> None:
    accepted = [intake.post(report(f"Jalan rusak nomor {n}")) for n in range(10)]
    assert [r.status_code for r in accepted] == [202] * 10, accepted[0].text
    ids = {r.json()["id"] for r in accepted}
    trackings = {r.json()["tracking"] for r in accepted}
    assert len(ids) == len(trackings) == 10

    # A submission retried (one after the other and at the same time) is one report.
    body = report("Lampu jalan mati", category="lainnya")
    first = intake.post(body, Idempotency_Key="retry-1")
    with ThreadPoolExecutor(6) as pool:
        retries = list(pool.map(lambda _: intake.post(body, Idempotency_Key="retry-1"), range(6)))
    assert first.status_code == 202
    assert {(r.status_code, r.json()["tracking"], r.json()["id"]) for r in retries} == {
        (202, first.json()["tracking"], first.json()["id"])}
    assert all(r.headers.get("Idempotent-Replayed") == "true" for r in retries)
    ids.add(first.json()["id"])

    source = f"intake:{intake.name}"
    wait_for(lambda: len(_rows(intake, source)) >= 11, 150,
             lambda: f"11 reports in ClickHouse (have {_rows(intake, source)})\n{intake.stack.log_tail()}")
    assert sorted(_rows(intake, source)) == sorted(ids)
    listed = ", ".join(f"'{t}'" for t in [*trackings, first.json()["tracking"]])
    wait_for(lambda: intake.stack.count(
        f"SELECT count() FROM posko.report_status_changes WHERE tracking IN ({listed})") == 11, 60,
        "one diterima status change per report in ClickHouse")
    # On Kafka too: the relay sent each report to the raw topic once (in batches, schemas/batch.py).
    raw = asyncio.run(read_topic(intake.stack.settings, raw_topic(Kind.CITIZEN_REPORT)))
    mine = [msgspec.json.decode(line, type=CitizenReportEvent) for _, value in raw if value
            for _, line in lines(value) if source.encode() in line]
    assert sorted(str(event.id) for event in mine) == sorted(ids)
    contact = intake.stack.sql(f"SELECT phone FROM posko.reporter_contacts WHERE id = '{first.json()['id']}'")
    assert contact == "+62811740000"


def test_status_moves_along_the_workflow_and_every_change_is_stored(intake: RunningIntake) -> None:
    tracking = intake.post(report("Banjir di Jl. Sultan Thaha")).json()["tracking"]
    officer = {"Authorization": f"Bearer {intake.officer_key}"}

    def move(status: str, headers: dict[str, str] = officer, note: str = "") -> httpx.Response:
        return intake.http.patch(f"/v1/reports/{tracking}", json={"status": status, "note": note},
                                 headers=headers)

    assert intake.http.get(f"/v1/reports/{tracking.lower()}", headers=officer).json()["status"] == "diterima"
    refused = move("diverifikasi", {"Authorization": f"Bearer {intake.channel_key}"})
    assert refused.status_code == 403 and "only officers, supervisors and admins" in refused.json()["message"]
    assert move("diverifikasi").status_code == 200
    backwards = move("diterima")
    assert backwards.status_code == 409
    assert backwards.json()["message"] == (f"report {tracking} is diverifikasi; it can move on to: "
                                           "didisposisikan, ditindaklanjuti, selesai")
    done = move("selesai", note="Genangan sudah surut, saluran dibersihkan")
    assert done.status_code == 200 and done.json()["status"] == "selesai"
    assert "nothing (it is finished)" in move("selesai").json()["message"]

    seen = intake.http.get(f"/v1/reports/{tracking}", headers=_auth(intake.channel_key, {}))
    assert [step["status"] for step in seen.json()["history"]] == ["diterima", "diverifikasi", "selesai"]
    assert seen.json()["history"][-1]["note"] == "Genangan sudah surut, saluran dibersihkan"
    query = (f"SELECT status FROM posko.report_status_changes WHERE tracking = '{tracking}' "
             "ORDER BY changed_at")
    wait_for(lambda: intake.stack.sql(query).split() == ["diterima", "diverifikasi", "selesai"], 90,
             lambda: f"three status changes in ClickHouse (have {intake.stack.sql(query).split()})")


def test_statuses_and_idempotency_keys_survive_a_restart(intake: RunningIntake) -> None:
    body = report("Sampah menumpuk di Pasar Angso Duo", category="lingkungan")
    first = intake.post(body, Idempotency_Key="before-restart").json()
    officer = {"Authorization": f"Bearer {intake.officer_key}"}
    # The agency it is disposed to: its follow-up SLA escalates there.
    intake.http.patch(f"/v1/reports/{first['tracking']}", headers=officer,
                      json={"status": "didisposisikan", "agency": "DLH Kota Jambi"})

    intake.restart()

    again = intake.post(body, Idempotency_Key="before-restart")
    assert (again.status_code, again.json()["tracking"]) == (202, first["tracking"])
    status = intake.http.get(f"/v1/reports/{first['tracking']}", headers=officer).json()
    assert [step["status"] for step in status["history"]] == ["diterima", "didisposisikan"]
    assert status["agency"] == "DLH Kota Jambi"


def test_retry_differing_only_in_whitespace_or_key_order_is_the_same_report(intake: RunningIntake) -> None:
    body = report("Pohon tumbang di Jl. Gatot Subroto — menutup jalan", category="bencana")
    headers = _auth(intake.channel_key, {"Content-Type": "application/json", "Idempotency-Key": "retry-ws"})
    first = intake.http.post("/v1/reports", content=json.dumps(body).encode(), headers=headers)
    assert first.status_code == 202, first.text
    reordered = json.dumps(dict(reversed(body.items())), indent=2, ensure_ascii=True).encode()
    again = intake.http.post("/v1/reports", content=reordered, headers=headers)
    assert (again.status_code, again.json()["tracking"]) == (202, first.json()["tracking"]), again.text
    assert again.headers.get("Idempotent-Replayed") == "true"
    other = intake.post({**body, "title": "Pohon tumbang di Jl. Hayam Wuruk"}, Idempotency_Key="retry-ws")
    assert (other.status_code, other.json()["error"]) == (422, "idempotency_key_reused")


Case = Callable[[RunningIntake], httpx.Response]
_BODY = json.dumps(report("Jalan rusak")).encode()
_NOT_UTF8 = _BODY.replace(b'"Jalan rusak"', b'"Jalan \xff rusak"')
_DEEP = b'{"title": ' + b"[" * 1_000 + b"]" * 1_000 + b"}"
_MOVE_NOT_UTF8 = b'{"status": "selesai", "note": "\xc3("}'
_MOVE_DEEP = b'{"note": ' + b"[" * 1_000 + b"]" * 1_000 + b"}"


def _raw(method: str, body: bytes) -> Case:
    """Send `body` as it is: POST a report with the channel key, or PATCH one with the officer key."""
    def send(i: RunningIntake) -> httpx.Response:
        path, key = ("/v1/reports", i.channel_key) if method == "POST" else (
            "/v1/reports/JMB-2611-00000", i.officer_key)
        headers = _auth(key, {"Content-Type": "application/json"})
        return i.http.request(method, path, content=body, headers=headers)
    return send

BAD_REQUESTS: dict[str, tuple[Case, int, str, str | None, str]] = {
    "no key": (lambda i: i.http.post("/v1/reports", json=report("x")),
               401, "missing_api_key", None, "Authorization: Bearer"),
    "unknown key": (lambda i: i.post(report("x"), key="pk_00000000_nope"),
                    401, "invalid_api_key", None, "unknown credential"),
    "officer key": (lambda i: i.post(report("x"), key=i.officer_key),
                    403, "wrong_role", None, "submitted with a channel credential"),
    "not JSON": (lambda i: i.http.post("/v1/reports", content=b"title=x", headers=_auth(
        i.channel_key, {"Content-Type": "application/x-www-form-urlencoded"})),
                 415, "unsupported_media_type", None, "Content-Type: application/json"),
    "broken JSON": (lambda i: i.http.post("/v1/reports", content=_BODY[:20], headers=_auth(
        i.channel_key, {"Content-Type": "application/json"})), 400, "malformed_json", None, "not valid JSON"),
    "missing field": (lambda i: i.post({k: v for k, v in report("x").items() if k != "category"}),
                      400, "invalid_request", None, "missing required field `category`"),
    "empty title": (lambda i: i.post(report("")), 400, "invalid_request", "title", "length >= 1"),
    "wrong type": (lambda i: i.post(report("x", reporter={"phone": 62811})),
                   400, "invalid_request", "reporter.phone", "Expected `str | null`, got `int`"),
    "unknown category": (lambda i: i.post(report("x", category="hoaks")),
                         400, "invalid_request", "category", "Invalid enum value 'hoaks'"),
    "unknown field": (lambda i: i.post(report("x", priority="tinggi")),
                      400, "invalid_request", None, "unknown field `priority`"),
    "unknown region": (lambda i: i.post(report("x", region="15.99")),
                       400, "invalid_request", "region", "Invalid enum value '15.99'"),
    "outside Jambi": (lambda i: i.post(report("x", region=None, location={"lat": -6.2, "lon": 106.8})),
                      400, "invalid_report", "location", "location is outside Jambi"),
    "nowhere": (lambda i: i.post(report("x", region=None)),
                400, "invalid_report", "region", "neither region nor location is given"),
    "occurred in year 1": (lambda i: i.post(report("x", occurred_at="0001-01-01T00:00:00Z")),
                           400, "invalid_report", "occurred_at", "is before 2000-01-01"),
    "occurs in year 8506": (lambda i: i.post(report("x", occurred_at="8506-03-01T00:00:00+07:00")),
                            400, "invalid_report", "occurred_at", "is in the future"),
    "invalid UTF-8": (_raw("POST", _NOT_UTF8), 400, "malformed_json", None, "not UTF-8 text"),
    "nested 1,000 deep": (_raw("POST", _DEEP), 400, "malformed_json", None, "nested too deeply"),
    "move: invalid UTF-8": (_raw("PATCH", _MOVE_NOT_UTF8), 400, "malformed_json", None, "not UTF-8 text"),
    "move: nested 1,000 deep": (_raw("PATCH", _MOVE_DEEP), 400, "malformed_json", None, "nested too deeply"),
    "other channel": (lambda i: i.post(report("x", channel="sms")),
                      400, "invalid_report", "channel", "which is for channel 'web'"),
    "text too long": (lambda i: i.post(report("x", text="banjir " * 800)),
                      400, "invalid_request", "text", "length <= 5000"),
    "body too large": (lambda i: i.post(report("x", text="a" * 70_000)),
                       413, "body_too_large", None, "larger than the limit"),
    "unknown tracking": (lambda i: i.http.get("/v1/reports/JMB-2611-00000", headers=_auth(i.channel_key, {})),
                         404, "unknown_tracking_number", None, "check the number on the receipt"),
    "not a tracking number": (lambda i: i.http.get("/v1/reports/12345", headers=_auth(i.channel_key, {})),
                              404, "unknown_tracking_number", None, "they look like JMB-"),
}


@pytest.mark.parametrize("case", list(BAD_REQUESTS))
def test_bad_request_gets_its_status_and_says_what_to_do(intake: RunningIntake, case: str) -> None:
    request, status, error, field, message = BAD_REQUESTS[case]
    answer = request(intake)
    assert answer.status_code == status, answer.text
    problem = answer.json()
    assert (problem["status"], problem["error"], problem.get("field")) == (status, error, field), problem
    assert message in problem["message"]


def test_bad_requests_store_nothing(intake: RunningIntake) -> None:
    name = f"sms-{uuid.uuid4().hex[:8]}"
    key = intake.add_key(name, Role.CHANNEL, Channel.SMS)
    wait_for(lambda: intake.post(report("x", channel="sms", region="15.99"), key=key).status_code == 400,
             REFRESH_S * 10, "the new key to be known")
    for request, *_ in BAD_REQUESTS.values():
        request(intake)
    sentinel = intake.post(report("Sentinel", channel="sms"), key=key)
    assert sentinel.status_code == 202
    wait_for(lambda: _rows(intake, f"intake:{name}") == [sentinel.json()["id"]], 150,
             "only the sentinel report in ClickHouse")


def test_channel_over_its_rate_gets_429_with_retry_after(intake: RunningIntake) -> None:
    key = intake.add_key(f"wa-{uuid.uuid4().hex[:8]}", Role.CHANNEL, Channel.WHATSAPP, rate=2)
    body = report("Air PDAM keruh", channel="whatsapp", category="kesehatan")
    wait_for(lambda: intake.post({}, key=key).status_code == 400, REFRESH_S * 10, "the new key to be known")
    assert intake.post(body, key=key).status_code == 202
    limited = intake.post(body, key=key)
    assert limited.status_code == 429
    assert int(limited.headers["Retry-After"]) >= 1
    assert "may send 2 reports per minute" in limited.json()["message"]


def test_revoked_credential_is_refused(intake: RunningIntake) -> None:
    name = f"lapor-{uuid.uuid4().hex[:8]}"
    key = intake.add_key(name, Role.CHANNEL, Channel.LAPOR)
    body = report("Pungli di kantor desa", channel="lapor", category="lainnya")
    wait_for(lambda: intake.post(body, key=key).status_code == 202, REFRESH_S * 10, "the new key to work")
    intake.keys.revoke(name)
    wait_for(lambda: intake.post(body, key=key).status_code == 401, REFRESH_S * 10,
             "the revoked key to be refused")
    assert "credential revoked" in intake.post(body, key=key).json()["message"]


def test_served_openapi_document_is_the_committed_one(intake: RunningIntake) -> None:
    served = intake.http.get("/schema/openapi.json")
    assert served.status_code == 200
    assert served.json() == json.loads(Path(COMMITTED).read_text()), (
        "the API changed: run `posko intake openapi --output docs/api/intake.openapi.json` and commit it")
    assert "/v1/reports/{tracking}" in served.json()["paths"]


def test_the_bench_wrk_clients_post_every_report_once(intake: RunningIntake) -> None:
    # `posko bench intake` drives the intake with wrk (bench/wrk/reports.lua): each report is
    # POSTed once with its own Idempotency-Key, and wrk stops once every one is answered.
    from bench.intake import _reports, _submission, _wrk_all

    keys = {channel: intake.add_key(f"wrk-{uuid.uuid4().hex[:8]}", Role.CHANNEL, channel)
            for channel in Channel}
    events = _reports(30)
    answers: Counter[str] = Counter()
    seconds, latencies, cpu = _wrk_all([intake.url], keys, events, 4, True, answers)
    assert answers == {"202": 30}
    assert len(latencies) >= 30 and seconds > 0 and cpu > 0
    for event in events:  # stored, once: the same key again is a replay of the first
        headers = {"Content-Type": "application/json", "Idempotency-Key": str(event.id)}
        again = intake.http.post("/v1/reports", content=_submission(event),
                                 headers=_auth(keys[event.payload.channel], headers))
        assert again.status_code == 202, again.text
        assert again.headers.get("Idempotent-Replayed") == "true", f"report {event.id} was not stored"
