"""`posko kafka start|stop|status` and `posko topics create|list`: the broker and the topic catalogue."""

from __future__ import annotations

import asyncio
import sys

import click

from posko.cli.base import settings


@click.group()
def kafka() -> None:
    """The local single-node Kafka broker (KRaft)."""


@kafka.command("start")
def kafka_start() -> None:
    """Start the local broker (no-op if it runs, or if POSKO_KAFKA names a cluster)."""
    from posko.kafka import broker

    click.echo(broker.start(settings()))


@kafka.command("stop")
def kafka_stop() -> None:
    """Stop the local broker; its data stays for the next start."""
    from posko.kafka import broker

    click.echo(broker.stop(settings()))


@kafka.command("status")
def kafka_status() -> None:
    """Say whether Kafka answers; exit 1 when it does not."""
    from posko.kafka import broker

    up, line = broker.status(settings())
    click.echo(line)
    sys.exit(0 if up else 1)


@click.group()
def topics() -> None:
    """The topic catalogue."""


@topics.command("create")
def topics_create() -> None:
    """Create the catalogue's topics that do not exist yet."""
    from posko.kafka.topics import create_topics

    chosen = settings()
    try:
        created, present = asyncio.run(create_topics(chosen))
    except Exception as exc:
        raise click.ClickException(
            f"cannot create topics on {chosen.bootstrap_servers}: {exc} "
            "(is Kafka running? posko kafka start)"
        ) from exc
    for spec in created:
        click.echo(f"created {spec.name} ({spec.partitions} partitions, key: {spec.key})")
    click.echo(f"{len(created)} created, {len(present)} already present")


@topics.command("list")
def topics_list() -> None:
    """Print the topic catalogue."""
    from schemas.topics import catalogue

    for spec in catalogue(settings().partitions):
        days = f"{spec.retention_ms // 86_400_000}d" if spec.retention_ms >= 0 else "forever"
        click.echo(f"{spec.name:32} {spec.partitions:>3} partitions  key={spec.key:12} "
                   f"retention={days}  {spec.cleanup_policy:7} {spec.description}")
