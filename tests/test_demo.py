"""`posko demo --duration`: the whole stack from one command, stopping by itself with a summary."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from posko.net import free_port


def test_demo_runs_the_pipeline_and_prints_a_summary(kafka_env: dict[str, str], tmp_path: Path) -> None:
    env = {**os.environ, **kafka_env, "POSKO_CLICKHOUSE": f"chdb://{tmp_path / 'clickhouse'}"}
    env["POSKO_HOME"] = str(tmp_path / "home")
    # The demo's home differs from the broker's, so point it at the session broker as a cluster.
    env["POSKO_KAFKA"] = f"kafka://127.0.0.1:{kafka_env['POSKO_KAFKA_PORT']}"
    env["POSKO_GATEWAY_PORT"] = str(free_port())
    env["POSKO_INTAKE_PORT"] = str(free_port())
    env["POSKO_SATUDATA_PORT"] = str(free_port())
    done = subprocess.run(
        [sys.executable, "-m", "posko.cli", "demo", "--duration", "15", "--rate", "200",
         "--malformed", "0.05"],
        env=env, capture_output=True, text=True, timeout=240,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    summary = dict(re.findall(r"^\s*([\w .-]+): (\d+)$", done.stdout, re.M))
    assert int(summary["stored events"]) > 1_500, done.stdout
    assert int(summary["citizen_report"]) > int(summary["permit_filing"]) > 0
    assert int(summary["dead letters"]) > 0
    assert int(summary["alerts"]) > 0
    assert summary["lag posko-stream"] == summary["lag posko-room"] == summary["lag posko-clickhouse"] == "0"
    assert (tmp_path / "home" / "logs" / "worker.log").exists()
    assert f"http://127.0.0.1:{env['POSKO_GATEWAY_PORT']}/wall#token=" in done.stdout
    assert (tmp_path / "home" / "logs" / "gateway.log").exists()
    assert f"intake API: http://127.0.0.1:{env['POSKO_INTAKE_PORT']}" in done.stdout
    assert (tmp_path / "home" / "logs" / "intake.log").exists()
    portal = f"http://127.0.0.1:{env['POSKO_SATUDATA_PORT']}/"
    assert f"Satu Data Jambi (open data, CKAN API): {portal}" in done.stdout
    assert (tmp_path / "home" / "logs" / "satudata.log").exists()


def test_demo_plays_a_scenario_to_its_end_and_counts_its_incidents(kafka_env: dict[str, str],
                                                                   tmp_path: Path) -> None:
    env = {**os.environ, **kafka_env, "POSKO_CLICKHOUSE": f"chdb://{tmp_path / 'clickhouse'}"}
    env["POSKO_HOME"] = str(tmp_path / "home")
    env["POSKO_KAFKA"] = f"kafka://127.0.0.1:{kafka_env['POSKO_KAFKA_PORT']}"
    for port in ("POSKO_GATEWAY_PORT", "POSKO_INTAKE_PORT", "POSKO_SATUDATA_PORT"):
        env[port] = str(free_port())
    # Six hours in six seconds; the demo stops by itself at the scenario's end.
    done = subprocess.run(
        [sys.executable, "-m", "posko.cli", "demo", "--scenario", "gempa-kerinci", "--speed", "3600"],
        env=env, capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "playing scenario gempa-kerinci at 3600× real time" in done.stdout
    summary = dict(re.findall(r"^\s*([\w .-]+): (\d+)$", done.stdout, re.M))
    assert int(summary["alerts"]) > int(summary["open incidents"]) > 0, done.stdout
    assert summary["lag posko-stream"] == summary["lag posko-room"] == summary["lag posko-clickhouse"] == "0"
