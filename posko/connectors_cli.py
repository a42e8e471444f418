"""`posko connectors …`: the BMKG poller, the CAP importer, the connectors' HTTP service, the dry run."""

from __future__ import annotations

import asyncio
import logging
import sys
from pathlib import Path

import click

from posko.settings import Settings, SettingsError, load_settings


def _settings() -> Settings:
    try:
        return load_settings()
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from exc


@click.group()
def connectors() -> None:
    """Sources from the outside world: BMKG earthquakes, CAP alerts, OSS-RBA permits."""
    logging.basicConfig(level="INFO", format="%(asctime)s %(levelname)s %(name)s: %(message)s")


@connectors.command("bmkg")
@click.option("--once", is_flag=True, help="Poll every feed once, then exit.")
def bmkg(once: bool) -> None:
    """Poll BMKG's earthquake feeds (POSKO_BMKG_URL …) and publish one alert per earthquake."""
    from connectors.bmkg.poller import run_bmkg

    try:
        report = asyncio.run(run_bmkg(_settings(), once=once))
    except KeyboardInterrupt:
        return
    click.echo(f"{len(report.fetched)} fetched, {len(report.not_modified)} not modified, "
               f"{len(report.failed)} failed, {report.published} alerts published")
    for url, why in report.failed.items():
        click.echo(f"  {url}: {why}", err=True)
    sys.exit(1 if report.failed else 0)


@connectors.command("cap")
@click.argument("sources", nargs=-1)
@click.option("--every", type=float, default=None, help="Import again every this many seconds.")
def cap(sources: tuple[str, ...], every: float | None) -> None:
    """Import CAP 1.2 alerts or Atom/RSS feeds from files or URLs (default: POSKO_CAP_FEEDS)."""
    from connectors.cap.importer import import_sources

    settings = _settings()
    chosen = list(sources) or [s.strip() for s in settings.cap_feeds.split(",") if s.strip()]
    if not chosen:
        raise click.UsageError("name CAP files or URLs, or set POSKO_CAP_FEEDS")
    try:
        result = asyncio.run(import_sources(settings, chosen, every))
    except KeyboardInterrupt:
        return
    click.echo(f"{len(result.events)} alerts published, {result.unchanged} already imported")
    for problem in result.problems:
        click.echo(f"  cannot read: {problem}", err=True)
    sys.exit(1 if result.problems else 0)


@connectors.command("serve")
def serve() -> None:
    """Serve the CAP feed (/v1/cap/alerts.atom), CAP push and OSS-RBA endpoints."""
    from connectors.serve import serve_connectors

    settings = _settings()
    click.echo(f"connectors listening on http://{settings.connectors_host}:{settings.connectors_port}",
               err=True)
    serve_connectors(settings)


@connectors.command("check")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
def check(files: tuple[Path, ...]) -> None:
    """Show what files would become (JSON lines on stdout) and why any cannot be read; send nothing."""
    from connectors.check import Checker, encode_event, summary

    checker = Checker(_settings().oss_sla_hours)
    reports = [checker.check(path) for path in files]
    for event in checker.events.values():
        sys.stdout.buffer.write(encode_event(event) + b"\n")
    sys.stdout.flush()
    for report in reports:
        click.echo(summary(report), err=True)
    unread = [r for r in reports if r.problems]
    click.echo(f"{len(checker.events)} events from {len(files)} files"
               + (f"; {len(unread)} with problems" if unread else ""), err=True)
    sys.exit(1 if unread else 0)


@click.command("alert-versions")
@click.option("--batches", default=10, show_default=True)
@click.option("--batch-rows", default=2_000, show_default=True)
def bench_alert_versions(batches: int, batch_rows: int) -> None:
    """The sink's versioned alert insert (new rows, updates) beside its plain insert."""
    from bench.alert_versions import run_alert_versions_bench

    run_alert_versions_bench(batches, batch_rows)
