"""`posko simulate`: realistic events for Jambi's kabupaten/kota onto the raw topics."""

from __future__ import annotations

import asyncio
from pathlib import Path

import click

from posko.cli.base import settings


@click.command()
@click.option("--rate", default=100.0, show_default=True, help="Events per second.")
@click.option("--duration", type=float, default=None, help="Stop after this many seconds.")
@click.option("--count", type=int, default=None, help="Stop after this many events.")
@click.option("--malformed", type=float, default=0.0, show_default=True,
              help="Share of deliberately malformed messages (0–1).")
@click.option("--seed", type=int, default=None, help="Random seed, for a repeatable stream.")
@click.option("--scenario", default=None,
              help="Play a scenario (hari-biasa, banjir-batanghari, karhutla, gempa-kerinci, "
                   "banjir-dan-longsor, or a .toml file) instead of a steady rate.")
@click.option("--speed", type=float, default=1.0, show_default=True,
              help="With --scenario: how many times faster than real time.")
@click.option("--truth", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="With --scenario: where the ground truth goes (JSON Lines; default under "
                   "POSKO_HOME/scenarios/).")
def simulate(rate: float, duration: float | None, count: int | None, malformed: float,
             seed: int | None, scenario: str | None, speed: float, truth: Path | None) -> None:
    """Produce realistic events for Jambi's 11 kabupaten/kota onto the raw topics."""
    from connectors.simulator.run import play_scenario
    from connectors.simulator.run import simulate as run

    if rate <= 0 or not 0 <= malformed <= 1:
        raise click.BadParameter("--rate must be > 0 and --malformed between 0 and 1")
    if speed <= 0:
        raise click.BadParameter("--speed must be > 0")
    chosen = settings()
    try:
        if scenario is not None:  # a bad scenario file is a PoskoError: one line, exit 1
            stats = asyncio.run(play_scenario(chosen, scenario, speed=speed, truth=truth,
                                              count=count, seed=seed))
            click.echo(f"played {stats.sent} events of scenario {scenario}")
            return
        stats = asyncio.run(run(chosen, rate, duration_s=duration, count=count,
                                malformed_ratio=malformed, seed=seed))
    except KeyboardInterrupt:
        return
    click.echo(f"sent {stats.sent} events ({stats.malformed} malformed on purpose)")
