"""The local single-node KRaft Apache Kafka broker: jars from Maven Central, started by Posko."""

from __future__ import annotations

import asyncio
import base64
import os
import shutil
import signal
import socket
import subprocess
import time
import uuid
from importlib import resources
from pathlib import Path

from aiokafka import AIOKafkaClient
from aiokafka.errors import KafkaError

from posko.errors import PoskoError
from posko.settings import Settings

KAFKA_VERSION = "4.1.1"
START_TIMEOUT_S = 90.0
STOP_TIMEOUT_S = 30.0


class BrokerError(PoskoError, RuntimeError):
    """The local broker cannot be set up, started or stopped; the message says what to do."""


def _cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "posko" / f"kafka-{KAFKA_VERSION}"


def _require(tool: str, install: str) -> str:
    found = shutil.which(tool)
    if not found:
        raise BrokerError(f"{tool} not found: the local Kafka broker needs it; install {install}")
    return found


def ensure_jars() -> Path:
    """The directory of the broker's jars, resolved from Maven Central on first use."""
    libs = _cache_dir() / "libs"
    marker = _cache_dir() / "resolved"
    if marker.exists():
        return libs
    _require("java", "Java 17 or newer (Debian: apt-get install openjdk-17-jre-headless)")
    mvn = _require("mvn", "Maven (Debian: apt-get install maven)")
    pom = resources.files("posko.kafka").joinpath("pom.xml")
    with resources.as_file(pom) as pom_path:
        result = subprocess.run(
            [mvn, "-q", "-B", "-f", str(pom_path), "dependency:copy-dependencies",
             f"-DoutputDirectory={libs}"],
            capture_output=True, text=True,
        )
    if result.returncode != 0:
        tail = (result.stdout + result.stderr).strip().splitlines()[-5:]
        raise BrokerError("Maven could not fetch the Kafka jars:\n" + "\n".join(tail))
    marker.write_text(KAFKA_VERSION)
    return libs


def _properties(settings: Settings, data_dir: Path) -> str:
    host, port, ctl = settings.kafka_host, settings.kafka_port, settings.kafka_controller_port
    return "\n".join([
        "process.roles=broker,controller",
        "node.id=1",
        f"controller.quorum.voters=1@{host}:{ctl}",
        f"listeners=PLAINTEXT://{host}:{port},CONTROLLER://{host}:{ctl}",
        f"advertised.listeners=PLAINTEXT://{host}:{port}",
        "controller.listener.names=CONTROLLER",
        "inter.broker.listener.name=PLAINTEXT",
        "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        f"log.dirs={data_dir}",
        "num.partitions=1",
        "offsets.topic.replication.factor=1",
        "offsets.topic.num.partitions=6",
        "transaction.state.log.replication.factor=1",
        # The intake's transactions: 6 log partitions, not 50, so creating the log on first use
        # is quick and does not hold up other clients starting at the same time.
        "transaction.state.log.num.partitions=6",
        "transaction.state.log.min.isr=1",
        "share.coordinator.state.topic.replication.factor=1",
        "share.coordinator.state.topic.min.isr=1",
        "group.initial.rebalance.delay.ms=0",
        "auto.create.topics.enable=true",
        "",
    ])


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _read_pid(settings: Settings) -> int | None:
    pid_file = settings.kafka_dir / "broker.pid"
    try:
        pid = int(pid_file.read_text().strip())
    except (OSError, ValueError):
        return None
    if _pid_alive(pid):
        return pid
    pid_file.unlink(missing_ok=True)
    return None


def _port_open(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


async def broker_answers(bootstrap: str, timeout_s: float = 5.0) -> bool:
    """True when a Kafka broker at `bootstrap` answers a metadata request."""
    client = AIOKafkaClient(bootstrap_servers=bootstrap, request_timeout_ms=int(timeout_s * 1000))
    try:
        await asyncio.wait_for(client.bootstrap(), timeout_s)
        return bool(client.cluster.brokers())
    except (KafkaError, OSError, TimeoutError):
        return False
    finally:
        await client.close()


def _wait_ready(settings: Settings, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = log.read_text(errors="replace").strip().splitlines()[-10:]
            raise BrokerError("the Kafka broker exited while starting:\n" + "\n".join(tail))
        if _port_open(settings.kafka_host, settings.kafka_port) and asyncio.run(
            broker_answers(settings.bootstrap_servers, 2.0)
        ):
            return
        time.sleep(0.25)
    raise BrokerError(f"the Kafka broker did not answer within {START_TIMEOUT_S:.0f} s; see {log}")


def start(settings: Settings) -> str:
    """Start the local broker unless it runs already; return what happened, in one line."""
    if not settings.local_kafka:
        return f"using the configured Kafka cluster {settings.bootstrap_servers}; nothing started"
    if pid := _read_pid(settings):
        return f"Kafka already running (pid {pid}) on {settings.bootstrap_servers}"
    if _port_open(settings.kafka_host, settings.kafka_port):
        raise BrokerError(
            f"port {settings.kafka_port} is taken by another program; stop it, choose another "
            "port with POSKO_KAFKA_PORT, or use that broker with POSKO_KAFKA=kafka://host:port"
        )
    java = _require("java", "Java 17 or newer (Debian: apt-get install openjdk-17-jre-headless)")
    libs = ensure_jars()
    kafka_dir = settings.kafka_dir
    data_dir = kafka_dir / "data"
    kafka_dir.mkdir(parents=True, exist_ok=True)
    config = kafka_dir / "server.properties"
    config.write_text(_properties(settings, data_dir))
    classpath = f"{libs}/*"
    if not (data_dir / "meta.properties").exists():
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        formatted = subprocess.run(
            # "=" joined: an id starting with "-" would otherwise read as an option.
            [java, "-cp", classpath, "kafka.tools.StorageTool", "format",
             f"--cluster-id={cluster_id}", "-c", str(config)],
            capture_output=True, text=True,
        )
        if formatted.returncode != 0:
            raise BrokerError(f"could not format {data_dir}: {formatted.stderr.strip()}")
    log4j = resources.files("posko.kafka").joinpath("log4j2.yaml")
    log = kafka_dir / "broker.out"
    with resources.as_file(log4j) as log4j_path, log.open("ab") as out:
        process = subprocess.Popen(
            # C1 only (no C2): on two cores shared with the Python services, C2 compiling the
            # broker's paths cost more CPU than its faster code saves (bench intake: broker 334
            # instead of 660-820 µs a report; docs/benchmarks.md).
            [java, f"-Xmx{settings.kafka_heap}", f"-Xms{settings.kafka_heap}", "-XX:TieredStopAtLevel=1",
             "-XX:+UseG1GC", "-XX:MaxGCPauseMillis=20", "-Djava.awt.headless=true",
             f"-Dlog4j2.configurationFile={log4j_path}", f"-Dkafka.logs.dir={kafka_dir}",
             "-cp", classpath, "kafka.Kafka", str(config)],
            stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    (kafka_dir / "broker.pid").write_text(str(process.pid))
    try:
        _wait_ready(settings, process, log)
    except BrokerError:
        stop(settings)
        raise
    return f"Kafka {KAFKA_VERSION} started (pid {process.pid}) on {settings.bootstrap_servers}"


def stop(settings: Settings) -> str:
    """Stop the local broker (cleanly, then by force after a deadline)."""
    if not settings.local_kafka:
        return "Kafka is a configured cluster; nothing to stop here"
    pid = _read_pid(settings)
    if pid is None:
        return "Kafka is not running"
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT_S
    while _pid_alive(pid) and time.monotonic() < deadline:
        _reap(pid)
        time.sleep(0.1)
    if _pid_alive(pid):
        os.kill(pid, signal.SIGKILL)
        _reap(pid)
    (settings.kafka_dir / "broker.pid").unlink(missing_ok=True)
    return f"Kafka stopped (pid {pid})"


def _reap(pid: int) -> None:
    # A broker started by this very process is our child: collect it so it is not a zombie.
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


def status(settings: Settings) -> tuple[bool, str]:
    """Whether Kafka answers, and a one-line description."""
    if not settings.local_kafka:
        up = asyncio.run(broker_answers(settings.bootstrap_servers))
        state = "answers" if up else "does not answer"
        return up, f"configured Kafka cluster {settings.bootstrap_servers} {state}"
    pid = _read_pid(settings)
    if pid is None:
        return False, "Kafka is not running (start it with: posko kafka start)"
    up = asyncio.run(broker_answers(settings.bootstrap_servers))
    state = "answering" if up else "not answering yet"
    return up, f"Kafka {KAFKA_VERSION} running (pid {pid}) on {settings.bootstrap_servers}, {state}"
