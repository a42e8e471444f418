"""`posko briefing`: the briefing for the governor's meeting (PDF, HTML or Markdown), from ClickHouse."""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import click

from posko.cli.base import settings


@click.command()
@click.option("--since", "hours", type=click.FloatRange(min=0, min_open=True), default=24.0,
              show_default=True, help="Hours since the last briefing: what changed is counted from then.")
@click.option("--format", "fmt", type=click.Choice(["pdf", "html", "md"]), default="pdf", show_default=True,
              help="Document format.")
@click.option("--lang", type=click.Choice(["id", "en"]), default="id", show_default=True,
              help="Bahasa Indonesia, or English.")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="File to write [default: briefing-<UTC time>.<format>; '-' for standard output].")
def briefing(hours: float, fmt: str, lang: str, output: Path | None) -> None:
    """Write the briefing: the situation now, changes, ranked regions, decisions pending, overdue actions."""
    from documents.briefing import Format, Lang, render
    from documents.briefing_store import read_situation
    from sinks.clickhouse.client import run_sql, store_database

    found = settings()
    now = datetime.now(UTC)
    situation = read_situation(lambda sql: run_sql(found, sql, "JSONEachRow"),
                               store_database(found.clickhouse_url), now - timedelta(hours=hours), now)
    document = render(situation, Format(fmt), Lang(lang))
    if output is not None and str(output) == "-":
        sys.stdout.buffer.write(document)
        return
    path = output or Path(f"briefing-{now:%Y%m%d-%H%M}.{fmt}")
    path.write_bytes(document)
    click.echo(f"wrote {path} ({len(situation.incidents)} open incidents, {len(situation.ranking)} scores, "
               f"{len(situation.recommendations)} open recommendations)")
