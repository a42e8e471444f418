"""`posko migrate` and `posko sql`: Posko's ClickHouse tables and queries against them."""

from __future__ import annotations

import sys

import click

from posko.cli.base import settings


@click.command()
@click.option("--print-sql", is_flag=True,
              help="Print the SQL for an empty database (a server's init script) instead of running it.")
@click.option("--database", default=None, help="With --print-sql: the database name [default: posko].")
def migrate(print_sql: bool, database: str | None) -> None:
    """Create or update Posko's ClickHouse tables (idempotent)."""
    from sinks.clickhouse.store import DEFAULT_DATABASE, StoreError, migration_sql, open_store

    if print_sql:
        click.echo(migration_sql(database or DEFAULT_DATABASE), nl=False)
        return
    try:
        store = open_store(settings().clickhouse_url)
        try:
            applied = store.migrate()
        finally:
            store.close()
    except StoreError as exc:
        raise click.ClickException(
            f"{exc} (stop the running sink or demo first: it holds the chdb store)"
        ) from exc
    click.echo(f"applied migrations {applied}" if applied else "schema is up to date")


@click.command()
@click.argument("query")
@click.option("--format", "fmt", default="PrettyCompactMonoBlock", show_default=True,
              help="ClickHouse output format (TabSeparated, JSONEachRow, CSV, …).")
def sql(query: str, fmt: str) -> None:
    """Run SQL against Posko's ClickHouse (through the running sink when one runs)."""
    from sinks.clickhouse.client import run_sql

    sys.stdout.buffer.write(run_sql(settings(), query, fmt))
