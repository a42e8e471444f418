"""`posko worker`, `posko sink` and `posko gateway`: the long-running services, one per process."""

from __future__ import annotations

import click

from posko.cli.base import loglevel_option, settings, setup_logging


@click.command()
@click.option("--loglevel", default="warn", type=click.Choice(["debug", "info", "warn", "error"]))
@click.option("--part", type=click.Choice(["route", "room"]), default=None,
              help="Run one part alone (default: route here, room in a child process).")
def worker(loglevel: str, part: str | None) -> None:
    """Run the Faust stream worker: validate, enrich, route (bad input to the DLQ); correlate
    incidents, decide commands, rank regions."""
    from streams.app import run_worker

    run_worker(settings(), loglevel, part)


@click.command()
@loglevel_option
def sink(loglevel: str) -> None:
    """Run the ClickHouse sink: clean events, alerts and dead letters into tables."""
    from sinks.clickhouse.service import run_sink

    setup_logging(loglevel)
    run_sink(settings())


@click.command()
@loglevel_option
def gateway(loglevel: str) -> None:
    """Run the push gateway: the wall and responder pages and their websocket."""
    from sinks.push.gateway import run_gateway

    setup_logging(loglevel)
    run_gateway(settings())
