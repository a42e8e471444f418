"""Credentials without a broker: the store, the ring the services read, `posko credential`, and the
intake's role checks on the real app in-process (the checks run before anything needs Kafka)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from connectors.intake.app import create_app
from posko.credentials import PEOPLE_HOURS, CredentialError, CredentialRing, CredentialStore
from posko.settings import load_settings
from schemas.events import Channel, Kind, Severity, utc_now
from schemas.identity import Principal, Role, Scope
from schemas.incidents import Hazard
from schemas.regions import Region
from tests.conftest import wait_for

JAMBI = Scope(regions=[Region.KOTA_JAMBI])
IntakeApp = tuple[TestClient[Litestar], CredentialStore]


def test_credentials_are_stored_hashed_and_checked(tmp_path: Path) -> None:
    store = CredentialStore(tmp_path)
    issued, secret = store.issue("SMS Gateway Telkomsel", Role.CHANNEL, channel=Channel.SMS,
                                 rate_per_minute=60)
    assert secret.startswith(f"pk_{issued.id}_") and secret.encode() not in store.path.read_bytes()
    principal = CredentialRing(tmp_path).check(secret).principal
    assert principal == Principal(id=issued.id, name="SMS Gateway Telkomsel", role=Role.CHANNEL,
                                  channel=Channel.SMS, rate_per_minute=60)
    wrong = secret[:-1] + ("x" if secret[-1] != "x" else "y")
    for presented in (wrong, "pk_nothing_here", "not-a-credential", ""):
        checked = CredentialRing(tmp_path).check(presented)
        assert checked.principal is None and "unknown credential" in checked.problem, presented


def test_people_expire_after_a_shift_and_machines_never(tmp_path: Path) -> None:
    store = CredentialStore(tmp_path)
    officer, _ = store.issue("Petugas Piket Andi", Role.OFFICER)
    assert officer.expires_at is not None
    assert officer.expires_at - officer.created_at == timedelta(hours=PEOPLE_HOURS)
    assert store.issue("Dinding Posko", Role.WALL)[0].expires_at is None
    assert store.issue("Formulir Web", Role.CHANNEL, channel=Channel.WEB)[0].expires_at is None
    responder, _ = store.issue("TRC Kerinci", Role.RESPONDER, scope=Scope(regions=[Region.KERINCI]), hours=2)
    assert responder.expires_at is not None
    assert responder.expires_at - responder.created_at == timedelta(hours=2)


def test_expired_credential_is_refused(tmp_path: Path) -> None:
    store = CredentialStore(tmp_path)
    issued, secret = store.issue("Petugas Malam", Role.OFFICER, hours=0.5 / 3600)
    ring = CredentialRing(tmp_path)
    assert issued.expires_at is not None
    wait_for(lambda: utc_now() >= issued.expires_at, 10, "the credential to expire")  # type: ignore[operator]
    checked = ring.check(secret)
    assert checked.principal is None and "credential expired" in checked.problem
    assert [c.state(utc_now()) for c in store.credentials()] == ["expired"]


def test_revoked_credential_is_refused_by_a_running_ring_within_its_refresh(tmp_path: Path) -> None:
    store = CredentialStore(tmp_path)
    _, secret = store.issue("TRC Kota Jambi", Role.RESPONDER, scope=JAMBI)
    ring = CredentialRing(tmp_path)
    principal = ring.check(secret).principal
    assert principal is not None and ring.problem(principal) == ""
    revoked = store.revoke("TRC Kota Jambi")
    assert [c.name for c in revoked] == ["TRC Kota Jambi"] and revoked[0].revoked_at is not None
    started = time.monotonic()
    wait_for(lambda: ring.check(secret).principal is None, 10, "the ring to see the revocation")
    assert time.monotonic() - started < 5
    assert "credential revoked" in ring.check(secret).problem
    ring.refresh(force=True)
    assert "credential revoked" in ring.problem(principal)
    with pytest.raises(CredentialError, match="no active credential named 'TRC Kota Jambi'"):
        store.revoke("TRC Kota Jambi")


def test_a_credential_issued_after_the_last_read_is_known_at_once(tmp_path: Path) -> None:
    store = CredentialStore(tmp_path)
    ring = CredentialRing(tmp_path)
    ring.refresh(force=True)
    _, secret = store.issue("Dinding Ruang Rapat", Role.WALL)
    checked = ring.check(secret)
    assert checked.principal is not None and checked.principal.name == "Dinding Ruang Rapat"


def test_replace_revokes_the_others_of_that_name_and_revoke_takes_an_id(tmp_path: Path) -> None:
    store = CredentialStore(tmp_path)
    first, first_secret = store.issue("Dinding Posko", Role.WALL)
    _, second_secret = store.issue("Dinding Posko", Role.WALL, replace=True)
    ring = CredentialRing(tmp_path)
    assert ring.check(first_secret).principal is None and ring.check(second_secret).principal is not None
    third, _ = store.issue("Dinding Posko", Role.WALL)  # a second screen: both work
    assert [c.id for c in store.revoke(third.id)] == [third.id]
    assert [c.state(utc_now()) for c in store.credentials()] == ["revoked", "active", "revoked"]
    assert first.id == store.credentials()[0].id


@pytest.mark.parametrize(("role", "options", "problem"), [
    (Role.CHANNEL, {}, "needs --channel"),
    (Role.OFFICER, {"channel": Channel.WEB}, "an officer credential belongs to no channel"),
    (Role.RESPONDER, {}, "a responder needs at least one region"),
    (Role.AGENCY, {}, "an agency credential needs --agency"),
    (Role.WALL, {"scope": JAMBI}, "a wall credential sees everything or nothing"),
    (Role.CHANNEL, {"channel": Channel.SMS, "scope": Scope(kinds=[Kind.CITIZEN_REPORT])}, "sees everything"),
    (Role.AGENCY, {"scope": Scope(agency="Dinas PUPR", team="Regu 1")}, "--team is a responder's team"),
    (Role.CHANNEL, {"channel": Channel.SMS, "rate_per_minute": -1}, "--rate must be 0"),
    (Role.OFFICER, {"hours": 0}, "--hours must be more than 0"),
])
def test_credentials_that_could_not_work_are_refused_with_what_to_do(
        tmp_path: Path, role: Role, options: dict[str, object], problem: str) -> None:
    with pytest.raises(CredentialError, match=problem):
        CredentialStore(tmp_path).issue("Siapa", role, **options)  # type: ignore[arg-type]
    with pytest.raises(CredentialError, match="--name must say who holds it"):
        CredentialStore(tmp_path).issue("  ", Role.WALL)
    assert CredentialStore(tmp_path).credentials() == []


def test_scope_reaches_the_principal(tmp_path: Path) -> None:
    scope = Scope(regions=[Region.KERINCI, Region.KOTA_SUNGAI_PENUH], hazards=[Hazard.GEMPA],
                  kinds=[Kind.DISASTER_ALERT], min_severity=Severity.SEVERE, team="TRC BPBD Kerinci")
    _, secret = CredentialStore(tmp_path).issue("TRC BPBD Kerinci", Role.RESPONDER, scope=scope)
    principal = CredentialRing(tmp_path).check(secret).principal
    assert principal is not None and principal.scope == scope
    assert principal.covers(Region.KERINCI, Kind.DISASTER_ALERT, Severity.EXTREME)
    assert not principal.covers(Region.KERINCI, Kind.CITIZEN_REPORT, Severity.EXTREME)
    assert not principal.covers(Region.TEBO, Kind.DISASTER_ALERT, Severity.EXTREME)
    assert not principal.can_acknowledge or principal.role is Role.RESPONDER


def _posko(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "posko.cli", *args], capture_output=True, text=True,
                          timeout=60, env={**os.environ, "POSKO_HOME": str(home)})


def test_credential_command_issues_lists_and_revokes(tmp_path: Path) -> None:
    done = _posko(tmp_path, "credential", "issue", "--role", "responder", "--name", "TRC BPBD Kota Jambi",
                  "--region", "15.71", "--team", "TRC BPBD Kota Jambi", "--url")
    assert done.returncode == 0, done.stderr
    link = done.stdout.strip()
    assert link.startswith("http://127.0.0.1:8765/responder#token=pk_")
    principal = CredentialRing(tmp_path).check(link.split("#token=")[1]).principal
    assert principal is not None and principal.role is Role.RESPONDER
    assert principal.scope == Scope(regions=[Region.KOTA_JAMBI], team="TRC BPBD Kota Jambi")
    assert "not shown again" in done.stderr
    pages = {role: _posko(tmp_path, "credential", "issue", "--role", role, "--name", f"Uji {role}", "--url")
             for role in ("wall", "officer", "supervisor", "admin")}
    assert {role: d.stdout.split("#")[0].rsplit("/", 1)[1] for role, d in pages.items()} == {
        "wall": "wall", "officer": "console", "supervisor": "console", "admin": "console"}
    channel = _posko(tmp_path, "credential", "issue", "--role", "channel", "--name", "SMS",
                     "--channel", "sms")
    assert channel.returncode == 0 and channel.stdout.startswith("pk_")
    listed = _posko(tmp_path, "credential", "list").stdout
    assert "TRC BPBD Kota Jambi" in listed and "600/min" in listed and "pk_" in listed
    assert link.split("#token=")[1] not in listed and "expires" in listed
    assert _posko(tmp_path, "credential", "revoke", "TRC BPBD Kota Jambi").returncode == 0
    assert "revoked" in _posko(tmp_path, "credential", "list").stdout
    refused = _posko(tmp_path, "credential", "issue", "--role", "responder", "--name", "TRC")
    assert refused.returncode == 1 and "at least one region" in refused.stderr
    no_page = _posko(tmp_path, "credential", "issue", "--role", "channel", "--name", "x", "--channel", "web",
                     "--url")
    assert no_page.returncode != 0 and "no page" in no_page.stderr
    gone = _posko(tmp_path, "token", "issue", "--role", "wall")
    assert gone.returncode != 0, "posko token is gone: posko credential replaces it"


@pytest.fixture
def intake_app(tmp_path: Path) -> Iterator[IntakeApp]:
    """The intake's app in-process (outside `with`, its startup and Kafka do not run)."""
    app = create_app(load_settings({"POSKO_HOME": str(tmp_path)}))
    yield TestClient(app), CredentialStore(tmp_path)


REPORT = {"channel": "web", "category": "infrastruktur", "title": "Jalan berlubang",
          "text": "Jalan berlubang di depan pasar.", "region": "15.71"}


def test_intake_takes_reports_only_from_channels(intake_app: IntakeApp) -> None:
    client, store = intake_app
    post = lambda secret: client.post("/v1/reports", json=REPORT,  # noqa: E731
                                      headers={"Authorization": f"Bearer {secret}"})
    channel = store.issue("Formulir Web", Role.CHANNEL, channel=Channel.WEB)[1]
    # Past every check, it waits for the report statuses (not loaded: no Kafka here).
    assert post(channel).status_code == 503
    for role, options in ((Role.WALL, {}), (Role.OFFICER, {}), (Role.RESPONDER, {"scope": JAMBI}),
                          (Role.AGENCY, {"scope": Scope(agency="BPBD Kota Jambi")})):
        refused = post(store.issue(f"Uji {role}", role, **options)[1])  # type: ignore[arg-type]
        assert refused.status_code == 403, (role, refused.text)
        assert f"is {'an' if role[0] in 'aeiou' else 'a'} {role} credential" in refused.json()["message"]
        assert "channel credential" in refused.json()["message"]


def test_intake_lets_only_the_room_move_a_status(intake_app: IntakeApp) -> None:
    client, store = intake_app
    patch = lambda secret: client.patch("/v1/reports/bukan-nomor", json={"status": "diverifikasi"},  # noqa: E731
                                        headers={"Authorization": f"Bearer {secret}"})
    for role in (Role.OFFICER, Role.SUPERVISOR, Role.ADMIN):
        assert patch(store.issue(f"Uji {role}", role)[1]).status_code == 404, role  # past the checks
    for role, options in ((Role.WALL, {}), (Role.CHANNEL, {"channel": Channel.WEB}),
                          (Role.RESPONDER, {"scope": JAMBI})):
        refused = patch(store.issue(f"Uji {role}", role, **options)[1])
        assert refused.status_code == 403, role
        assert "only officers, supervisors and admins" in refused.json()["message"]


def test_intake_refuses_revoked_and_expired_credentials(intake_app: IntakeApp) -> None:
    client, store = intake_app
    get = lambda secret: client.get("/v1/reports/JMB-2611-7Q4KM",  # noqa: E731
                                    headers={"Authorization": f"Bearer {secret}"})
    officer = store.issue("Petugas Andi", Role.OFFICER)[1]
    assert get(officer).status_code == 503  # known; the statuses are not loaded (no Kafka here)
    store.revoke("Petugas Andi")
    wait_for(lambda: get(officer).status_code == 401, 10, "the intake to refuse the revoked credential")
    assert "credential revoked" in get(officer).json()["message"]
    _, secret = store.issue("Petugas Sebentar", Role.OFFICER, hours=0.5 / 3600)
    wait_for(lambda: get(secret).status_code == 401, 10, "the intake to refuse the expired credential")
    assert "credential expired" in get(secret).json()["message"]
    assert get("pk_0_nope").status_code == 401 and client.get("/v1/reports/x").status_code == 401
