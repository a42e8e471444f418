"""`posko sitrep`: an incident's timeline as a situation report (PDF, HTML or Markdown)."""

from __future__ import annotations

import sys
import uuid
from pathlib import Path

import click

from posko.cli.base import settings


@click.command()
@click.argument("incident", type=click.UUID)
@click.option("--format", "fmt", type=click.Choice(["pdf", "html", "md"]), default="pdf", show_default=True,
              help="Document format.")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="File to write [default: sitrep-<incident>.<format>; '-' for standard output].")
def sitrep(incident: uuid.UUID, fmt: str, output: Path | None) -> None:
    """Write the sitrep of INCIDENT (its id): signals, decisions, tasks, escalations, notes, in WIB."""
    from documents.sitrep import Format, render
    from documents.timeline import assemble
    from sinks.clickhouse.client import run_sql, store_database

    found = settings()
    database = store_database(found.clickhouse_url)
    timeline = assemble(lambda sql: run_sql(found, sql, "JSONEachRow"), incident, database)
    document = render(timeline, Format(fmt))
    if output is not None and str(output) == "-":
        sys.stdout.buffer.write(document)
        return
    path = output or Path(f"sitrep-{incident}.{fmt}")
    path.write_bytes(document)
    click.echo(f"wrote {path} ({len(timeline.entries)} entries in the timeline)")
