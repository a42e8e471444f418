"""The settings a benchmark runs under: a home of its own and Kafka as the caller's settings say."""

from __future__ import annotations

import os

from posko.net import free_port
from posko.settings import Settings, load_settings
from sinks.clickhouse.writer import GROUP_ID as SINK_GROUP
from sinks.clickhouse.writer import ROW_MAKERS
from streams.app import APP_ID as STREAM_GROUP
from streams.app import ROOM_ID as ROOM_GROUP
from streams.app import committed_topics


def bench_env(base: Settings, home: str, **extra: str) -> tuple[dict[str, str], Settings]:
    """POSKO_* variables (and their settings) for a run in `home`: a local broker on free ports of
    its own, or the cluster POSKO_KAFKA names; `extra` adds variables."""
    env = {"POSKO_HOME": home, "POSKO_PARTITIONS": str(base.partitions), **extra}
    if base.local_kafka:
        env |= {"POSKO_KAFKA_PORT": str(free_port()), "POSKO_KAFKA_CONTROLLER_PORT": str(free_port())}
    else:
        env["POSKO_KAFKA"] = base.kafka
    return env, load_settings({**os.environ, **env})


def lag_groups() -> dict[str, list[str]]:
    """The worker's (both parts) and the sink's consumer groups with the topics each commits (the
    SLA clocks' group commits nothing by design: streams/sla.py reads posko.report_status from its
    start)."""
    return {STREAM_GROUP: committed_topics(), ROOM_GROUP: committed_topics("room"),
            SINK_GROUP: list(ROW_MAKERS)}
