"""The `posko` command: one module per command group, over what they share in posko/cli/base.py.

A module imports at its top only what its options need (click, the settings, schema enums);
what a command runs is imported inside the command, so `posko --help` and every command start fast.
"""

from __future__ import annotations

import click

from posko.cli.base import PoskoGroup
from posko.cli.bench import bench
from posko.cli.briefing import briefing
from posko.cli.connectors import connectors
from posko.cli.credential import credential
from posko.cli.dashboards import dashboards
from posko.cli.demo import demo
from posko.cli.dss import dss
from posko.cli.intake import intake, replay
from posko.cli.kafka import kafka, topics
from posko.cli.satudata import satudata
from posko.cli.services import gateway, sink, worker
from posko.cli.simulate import simulate
from posko.cli.sitrep import sitrep
from posko.cli.store import migrate, sql


@click.group(cls=PoskoGroup)
def main() -> None:
    """Posko: the streaming operations center (Kafka → Faust → ClickHouse)."""


for command in (kafka, topics, migrate, sql, worker, sink, gateway, simulate, demo, intake, replay,
                connectors, credential, dashboards, bench, satudata, sitrep, dss, briefing):
    main.add_command(command)

__all__ = ["main"]
