"""`posko demo`: the whole operations center on one machine, with a live view."""

from __future__ import annotations

import click

from posko.cli.base import settings


@click.command()
@click.option("--duration", type=float, default=None,
              help="Stop by itself after this many seconds and print a summary.")
@click.option("--rate", default=200.0, show_default=True, help="Simulated events per second.")
@click.option("--malformed", type=float, default=0.01, show_default=True,
              help="Share of deliberately malformed messages.")
def demo(duration: float | None, rate: float, malformed: float) -> None:
    """Run the whole operations center locally with simulated events and a live view."""
    from posko.demo import run_demo

    run_demo(settings(), duration_s=duration, rate=rate, malformed_ratio=malformed)
