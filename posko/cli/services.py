"""`posko worker`, `posko sink` and `posko gateway`: the long-running services, one per process."""

from __future__ import annotations

import click

from posko.cli.base import loglevel_option, settings, setup_logging


@click.command()
@click.option("--loglevel", default="warn", type=click.Choice(["debug", "info", "warn", "error"]))
def worker(loglevel: str) -> None:
    """Run the Faust stream worker: validate, enrich, route; bad input to the DLQ."""
    from streams.app import run_worker

    run_worker(settings(), loglevel)


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
