"""`posko intake` (and its OpenAPI document) and `posko replay`: reports and files onto Kafka."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import click
import msgspec

from posko.cli.base import settings
from schemas.events import Kind


@click.group(invoke_without_command=True)
@click.option("--host", default=None, help="Listen address (default: POSKO_INTAKE_HOST).")
@click.option("--port", type=int, default=None, help="Listen port (default: POSKO_INTAKE_PORT).")
@click.pass_context
def intake(ctx: click.Context, host: str | None, port: int | None) -> None:
    """Run the citizen report intake API (`openapi` prints its OpenAPI document)."""
    if ctx.invoked_subcommand is not None:
        return
    from connectors.intake.app import run_intake

    chosen = settings()
    chosen = msgspec.structs.replace(chosen, intake_host=host or chosen.intake_host,
                                     intake_port=port or chosen.intake_port)
    click.echo(f"intake API on http://{chosen.intake_host}:{chosen.intake_port} "
               f"(OpenAPI: /schema/openapi.json)", err=True)
    run_intake(chosen)


@intake.command("openapi")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write to this file instead of stdout.")
def intake_openapi(output: Path | None) -> None:
    """Print the intake's OpenAPI document (the committed copy is docs/api/intake.openapi.json)."""
    from connectors.intake.openapi import openapi_document

    text = openapi_document(settings())
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text)


@click.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--kind", type=click.Choice([k.value for k in Kind]), required=True,
              help="The kind of event every line holds.")
@click.option("--rate", type=float, default=None,
              help="Events per second (default: as fast as Kafka takes them).")
@click.option("--format", "fmt", type=click.Choice(["auto", "jsonl", "csv"]), default="auto",
              show_default=True, help="auto: by the file name (.csv is CSV, anything else JSON Lines).")
def replay(file: Path, kind: str, rate: float | None, fmt: str) -> None:
    """Publish a JSON Lines or CSV file as raw events, with a progress bar."""
    from connectors.replay import replay_file

    if rate is not None and rate <= 0:
        raise click.BadParameter("--rate must be > 0")
    try:
        result = asyncio.run(replay_file(settings(), file, Kind(kind), rate=rate, fmt=fmt))
    except KeyboardInterrupt:
        return
    for problem in result.invalid[:50]:
        click.echo(f"line {problem.line}: {problem.reason}", err=True)
    if len(result.invalid) > 50:
        click.echo(f"… and {len(result.invalid) - 50} more invalid lines", err=True)
    click.echo(f"sent {result.sent} events from {file} to posko.raw.{kind}; {len(result.invalid)} invalid "
               "(sent as they are: the stream puts them in posko.dlq with the reason)")

