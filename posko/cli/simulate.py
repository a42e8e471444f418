"""`posko simulate`: realistic events for Jambi's kabupaten/kota onto the raw topics."""

from __future__ import annotations

import asyncio

import click

from posko.cli.base import settings


@click.command()
@click.option("--rate", default=100.0, show_default=True, help="Events per second.")
@click.option("--duration", type=float, default=None, help="Stop after this many seconds.")
@click.option("--count", type=int, default=None, help="Stop after this many events.")
@click.option("--malformed", type=float, default=0.0, show_default=True,
              help="Share of deliberately malformed messages (0–1).")
@click.option("--seed", type=int, default=None, help="Random seed, for a repeatable stream.")
def simulate(rate: float, duration: float | None, count: int | None, malformed: float,
             seed: int | None) -> None:
    """Produce realistic events for Jambi's 11 kabupaten/kota onto the raw topics."""
    from connectors.simulator.run import simulate as run

    if rate <= 0 or not 0 <= malformed <= 1:
        raise click.BadParameter("--rate must be > 0 and --malformed between 0 and 1")
    chosen = settings()
    try:
        stats = asyncio.run(run(chosen, rate, duration_s=duration, count=count,
                                malformed_ratio=malformed, seed=seed))
    except KeyboardInterrupt:
        return
    click.echo(f"sent {stats.sent} events ({stats.malformed} malformed on purpose)")
