"""The `posko` command: clear one-line errors, idempotent setup, SQL with nothing running."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from posko.net import free_port
from schemas.topics import catalogue
from sinks.clickhouse.migrations import MIGRATIONS


def posko(*args: str, env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run the `posko` command as a user would."""
    return subprocess.run([sys.executable, "-m", "posko.cli", *args], env={**os.environ, **env},
                          capture_output=True, text=True, timeout=timeout)


def test_kafka_start_without_java_says_what_to_install(tmp_path: Path) -> None:
    env = {"POSKO_HOME": str(tmp_path), "POSKO_KAFKA_PORT": str(free_port()),
           "PATH": str(tmp_path / "empty-bin")}
    done = posko("kafka", "start", env=env)
    assert done.returncode == 1
    assert "java not found" in done.stderr and "install Java 17" in done.stderr


def test_configured_cluster_starts_nothing(tmp_path: Path, kafka_env: dict[str, str]) -> None:
    env = {"POSKO_HOME": str(tmp_path), "POSKO_KAFKA": f"kafka://127.0.0.1:{kafka_env['POSKO_KAFKA_PORT']}"}
    done = posko("kafka", "start", env=env)
    assert done.returncode == 0 and "nothing started" in done.stdout
    assert not (tmp_path / "kafka").exists()
    status = posko("kafka", "status", env=env)
    assert status.returncode == 0 and "answers" in status.stdout


def test_bad_kafka_url_is_refused_with_the_expected_form(tmp_path: Path) -> None:
    done = posko("kafka", "status", env={"POSKO_HOME": str(tmp_path), "POSKO_KAFKA": "localhost:9092"})
    assert done.returncode == 1 and "write kafka://host:port" in done.stderr


def test_status_of_a_stopped_local_broker_exits_nonzero(tmp_path: Path) -> None:
    done = posko("kafka", "status", env={"POSKO_HOME": str(tmp_path), "POSKO_KAFKA_PORT": str(free_port())})
    assert done.returncode == 1 and "not running" in done.stdout


def test_topics_create_is_idempotent(kafka_env: dict[str, str]) -> None:
    done = posko("topics", "create", env=kafka_env)
    assert done.returncode == 0 and f"0 created, {len(catalogue())} already present" in done.stdout


def test_migrate_twice_then_sql_opens_the_store_directly(tmp_path: Path) -> None:
    env = {"POSKO_HOME": str(tmp_path)}
    first = posko("migrate", env=env)
    applied = f"applied migrations {[version for version, _, _ in MIGRATIONS]}"
    assert first.returncode == 0 and applied in first.stdout, first.stderr
    again = posko("migrate", env=env)
    assert again.returncode == 0 and "up to date" in again.stdout
    tables = posko("sql", "SHOW TABLES FROM posko", "--format", "TabSeparated", env=env)
    assert set(tables.stdout.split()) >= {"citizen_reports", "disaster_alerts", "permit_filings",
                                          "alerts", "dead_letters", "reporter_contacts", "acks",
                                          "report_status_changes"}


def test_bad_sql_gets_clickhouse_reason(tmp_path: Path) -> None:
    done = posko("sql", "SELECT nope FROM posko.nothing", env={"POSKO_HOME": str(tmp_path)})
    assert done.returncode == 1 and "UNKNOWN" in done.stderr.upper()


def test_simulate_sends_the_count_asked(kafka_env: dict[str, str]) -> None:
    done = posko("simulate", "--count", "120", "--rate", "1000", "--seed", "3", env=kafka_env)
    assert done.returncode == 0 and "sent 120 events" in done.stdout


def test_a_posko_error_in_any_command_is_one_line_not_a_traceback(tmp_path: Path) -> None:
    # The Kafka URL is checked where a service first connects, not when settings load.
    env = {"POSKO_HOME": str(tmp_path), "POSKO_KAFKA": "localhost:9092"}
    for command in (["simulate", "--count", "1"], ["gateway"]):
        done = posko(*command, env=env)
        assert done.returncode == 1, done.stderr
        assert done.stderr.startswith("Error: ") and "write kafka://host:port" in done.stderr
        assert "Traceback" not in done.stderr
