"""Schemathesis against the running intake: its OpenAPI document describes what the server does.

`schemathesis run` with every check (`--checks all`) and every phase, 30 examples per operation
and a fixed seed, against `posko intake` as a process on the session broker. Nothing is excluded.
What Schemathesis is told (tests/schemathesis_hooks.py), and why:

- credentials: a channel's for POST and GET, an officer's for PATCH;
- the tracking number of GET and PATCH is one real report's: random ones are all 404s, which
  would leave those operations untested past the lookup;
- for cases generated as valid only, the rules of a valid report that JSON Schema cannot say:
  the channel is the key's own, occurred_at is a plausible time, a report placed only by its
  location is placed inside Jambi, and each Idempotency-Key is new (reused with another report
  it is a 422 by design).

Schemathesis warns that PATCH mostly gets 4xx: once the report is `selesai` every move is a 409
(invalid transition), as the workflow says; 409 counts as accepted for valid data.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import httpx
import pytest

from posko.credentials import CredentialStore
from posko.net import free_port
from posko.services import Service
from posko.settings import load_settings
from schemas.events import Channel
from schemas.identity import Role
from tests.conftest import wait_for
from tests.test_intake import report

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = 30
SEED = 1


def _healthy(url: str) -> bool:
    try:
        return httpx.get(f"{url}/healthz", timeout=5).status_code == 200
    except httpx.TransportError:
        return False


def test_schemathesis_finds_nothing_with_every_check(kafka_env: dict[str, str], tmp_path: Path) -> None:
    env = {**kafka_env, "POSKO_INTAKE_PORT": str(free_port())}
    settings = load_settings(env)
    keys = CredentialStore(Path(settings.home))
    channel_key = keys.issue(f"web-st-{uuid.uuid4().hex[:8]}", Role.CHANNEL, channel=Channel.WEB)[1]
    officer_key = keys.issue(f"officer-st-{uuid.uuid4().hex[:8]}", Role.OFFICER)[1]
    url = f"http://127.0.0.1:{settings.intake_port}"
    service = Service("intake", tmp_path, env)
    service.start()
    try:
        wait_for(lambda: _healthy(url), 90, lambda: f"the intake to answer /healthz\n{service.tail()}")
        accepted = httpx.post(f"{url}/v1/reports", json=report("Drainase tersumbat di Telanaipura"),
                              headers={"Authorization": f"Bearer {channel_key}"}, timeout=30)
        assert accepted.status_code == 202, accepted.text
        config = tmp_path / "schemathesis.toml"
        config.write_text(f'''hooks = "tests.schemathesis_hooks"
seed = {SEED}
workers = 1

[generation]
max-examples = {EXAMPLES}
database = "none"

[[operations]]
include-path = "/v1/reports/{{tracking}}"
parameters = {{ tracking = "{accepted.json()['tracking']}" }}
''')
        run = subprocess.run(
            [str(Path(sys.executable).with_name("schemathesis")), "--config-file", str(config), "run",
             f"{url}/schema/openapi.json", "--checks", "all", "--no-color"],
            cwd=tmp_path, capture_output=True, text=True, timeout=900,
            env={**os.environ, "PYTHONPATH": str(REPO), "POSKO_TEST_CHANNEL_KEY": channel_key,
                 "POSKO_TEST_OFFICER_KEY": officer_key})
    finally:
        service.stop()
    output = run.stdout + run.stderr
    if run.returncode != 0:
        pytest.fail(f"schemathesis run failed ({run.returncode}):\n{output[-12_000:]}")
    assert "Tested: 4" in output, output[-3_000:]
