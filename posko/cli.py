"""The `posko` command."""

from __future__ import annotations

import asyncio
import logging
import sys

import click

from posko.settings import Settings, SettingsError, load_settings


def _settings() -> Settings:
    try:
        return load_settings()
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from exc


def _logging(level: str) -> None:
    logging.basicConfig(level=level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")


@click.group()
def main() -> None:
    """Posko: the streaming operations center (Kafka → Faust → ClickHouse)."""


# --- Kafka ---------------------------------------------------------------------------------


@main.group()
def kafka() -> None:
    """The local single-node Kafka broker (KRaft)."""


@kafka.command("start")
def kafka_start() -> None:
    """Start the local broker (no-op if it runs, or if POSKO_KAFKA names a cluster)."""
    from posko.kafka import broker

    try:
        click.echo(broker.start(_settings()))
    except broker.BrokerError as exc:
        raise click.ClickException(str(exc)) from exc


@kafka.command("stop")
def kafka_stop() -> None:
    """Stop the local broker; its data stays for the next start."""
    from posko.kafka import broker

    click.echo(broker.stop(_settings()))


@kafka.command("status")
def kafka_status() -> None:
    """Say whether Kafka answers; exit 1 when it does not."""
    from posko.kafka import broker

    up, line = broker.status(_settings())
    click.echo(line)
    sys.exit(0 if up else 1)


@main.group()
def topics() -> None:
    """The topic catalogue."""


@topics.command("create")
def topics_create() -> None:
    """Create the catalogue's topics that do not exist yet."""
    from posko.topics import create_topics

    settings = _settings()
    try:
        created, present = asyncio.run(create_topics(settings))
    except Exception as exc:
        raise click.ClickException(
            f"cannot create topics on {settings.bootstrap_servers}: {exc} "
            "(is Kafka running? posko kafka start)"
        ) from exc
    for spec in created:
        click.echo(f"created {spec.name} ({spec.partitions} partitions, key: {spec.key})")
    click.echo(f"{len(created)} created, {len(present)} already present")


@topics.command("list")
def topics_list() -> None:
    """Print the topic catalogue."""
    from schemas.topics import catalogue

    for spec in catalogue(_settings().partitions):
        days = spec.retention_ms // 86_400_000
        click.echo(f"{spec.name:32} {spec.partitions:>3} partitions  key={spec.key:12} "
                   f"retention={days}d  {spec.cleanup_policy:7} {spec.description}")


# --- ClickHouse ----------------------------------------------------------------------------


@main.command()
def migrate() -> None:
    """Create or update Posko's ClickHouse tables (idempotent)."""
    from sinks.clickhouse import StoreError, open_store

    settings = _settings()
    try:
        store = open_store(settings.clickhouse_url)
        try:
            applied = store.migrate()
        finally:
            store.close()
    except StoreError as exc:
        raise click.ClickException(
            f"{exc} (stop the running sink or demo first: it holds the chdb store)"
        ) from exc
    click.echo(f"applied migrations {applied}" if applied else "schema is up to date")


@main.command()
@click.argument("query")
@click.option("--format", "fmt", default="PrettyCompactMonoBlock", show_default=True,
              help="ClickHouse output format (TabSeparated, JSONEachRow, CSV, …).")
def sql(query: str, fmt: str) -> None:
    """Run SQL against Posko's ClickHouse (through the running sink when one runs)."""
    from posko.sql import run_sql
    from sinks.clickhouse import StoreError

    try:
        sys.stdout.buffer.write(run_sql(_settings(), query, fmt))
    except StoreError as exc:
        raise click.ClickException(str(exc)) from exc


# --- Services ------------------------------------------------------------------------------


@main.command()
@click.option("--loglevel", default="warn", type=click.Choice(["debug", "info", "warn", "error"]))
def worker(loglevel: str) -> None:
    """Run the Faust stream worker: validate, enrich, route; bad input to the DLQ."""
    from streams.app import run_worker

    run_worker(_settings(), loglevel)


@main.command()
@click.option("--loglevel", default="warning")
def sink(loglevel: str) -> None:
    """Run the ClickHouse sink: clean events, alerts and dead letters into tables."""
    from sinks.service import run_sink

    _logging(loglevel)
    run_sink(_settings())


@main.command()
@click.option("--rate", default=100.0, show_default=True, help="Events per second.")
@click.option("--duration", type=float, default=None, help="Stop after this many seconds.")
@click.option("--count", type=int, default=None, help="Stop after this many events.")
@click.option("--malformed", type=float, default=0.0, show_default=True,
              help="Share of deliberately malformed messages (0–1).")
@click.option("--seed", type=int, default=None, help="Random seed, for a repeatable stream.")
def simulate(rate: float, duration: float | None, count: int | None, malformed: float,
             seed: int | None) -> None:
    """Produce realistic events for Jambi's 11 kabupaten/kota onto the raw topics."""
    from connectors.simulate import simulate as run

    if rate <= 0 or not 0 <= malformed <= 1:
        raise click.BadParameter("--rate must be > 0 and --malformed between 0 and 1")
    settings = _settings()
    try:
        stats = asyncio.run(run(settings, rate, duration_s=duration, count=count,
                                malformed_ratio=malformed, seed=seed))
    except KeyboardInterrupt:
        return
    click.echo(f"sent {stats.sent} events ({stats.malformed} malformed on purpose)")


@main.command()
@click.option("--duration", type=float, default=None,
              help="Stop by itself after this many seconds and print a summary.")
@click.option("--rate", default=200.0, show_default=True, help="Simulated events per second.")
@click.option("--malformed", type=float, default=0.01, show_default=True,
              help="Share of deliberately malformed messages.")
def demo(duration: float | None, rate: float, malformed: float) -> None:
    """Run the whole operations center locally with simulated events and a live view."""
    from posko.demo import DemoError, run_demo

    try:
        run_demo(_settings(), duration_s=duration, rate=rate, malformed_ratio=malformed)
    except DemoError as exc:
        raise click.ClickException(str(exc)) from exc


@main.group()
def bench() -> None:
    """Benchmarks, each beside its baseline."""


@bench.command("pipeline")
@click.option("--events", default=100_000, show_default=True, help="Events to push through.")
def bench_pipeline(events: int) -> None:
    """Events/s raw → ClickHouse and latency percentiles, beside a bare aiokafka consumer."""
    from bench.pipeline import run_pipeline_bench

    run_pipeline_bench(_settings(), events)


# --- Connectors (BMKG, CAP, OSS-RBA) -------------------------------------------------------

from posko.connectors_cli import bench_alert_versions, connectors  # noqa: E402

main.add_command(connectors)
bench.add_command(bench_alert_versions)


if __name__ == "__main__":
    main()
