"""The settings a benchmark runs under: a home of its own and Kafka as the caller's settings say."""

from __future__ import annotations

import os

from posko.net import free_port
from posko.settings import Settings, load_settings


def bench_env(base: Settings, home: str, **extra: str) -> tuple[dict[str, str], Settings]:
    """POSKO_* variables (and their settings) for a run in `home`: a local broker on free ports of
    its own, or the cluster POSKO_KAFKA names; `extra` adds variables."""
    env = {"POSKO_HOME": home, "POSKO_PARTITIONS": str(base.partitions), **extra}
    if base.local_kafka:
        env |= {"POSKO_KAFKA_PORT": str(free_port()), "POSKO_KAFKA_CONTROLLER_PORT": str(free_port())}
    else:
        env["POSKO_KAFKA"] = base.kafka
    return env, load_settings({**os.environ, **env})
