"""`posko demo`: the whole operations center on one machine, with a live view."""

from __future__ import annotations

import click

from posko.cli.base import settings


@click.command()
@click.option("--duration", type=float, default=None,
              help="Stop by itself after this many seconds and print a summary.")
@click.option("--scenario", default="banjir-batanghari", show_default=True,
              help="The scenario played (hari-biasa, banjir-batanghari, karhutla, gempa-kerinci, "
                   "banjir-dan-longsor, or a scenario file).")
@click.option("--speed", type=float, default=1.0, show_default=True,
              help="How many times faster than real time the scenario plays (60: an hour a minute).")
@click.option("--rate", type=float, default=None,
              help="For load: simulated events per second from the steady simulator instead of a "
                   "scenario.")
@click.option("--malformed", type=float, default=0.01, show_default=True,
              help="With --rate: share of deliberately malformed messages.")
def demo(duration: float | None, scenario: str, speed: float, rate: float | None,
         malformed: float) -> None:
    """Run the whole operations center locally: a scenario at real rates (or --rate for load)
    through every service, with a live view."""
    from posko.demo import Play, run_demo

    if speed <= 0:
        raise click.BadParameter("--speed must be > 0")
    if rate is not None and rate <= 0:
        raise click.BadParameter("--rate must be > 0")
    run_demo(settings(), duration_s=duration, play=Play(scenario, speed, rate, malformed))
