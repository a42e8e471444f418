"""`posko connectors …`: the BMKG poller, the CAP importer, the connectors' HTTP service, the dry run."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import click

from posko.cli.base import settings, setup_logging


@click.group()
def connectors() -> None:
    """Sources from the outside world: BMKG earthquakes, CAP alerts, OSS-RBA permits."""
    setup_logging("info")


@connectors.command("bmkg")
@click.option("--once", is_flag=True, help="Poll every feed once, then exit.")
def bmkg(once: bool) -> None:
    """Poll BMKG's earthquake feeds (POSKO_BMKG_URL …) and USGS's (POSKO_USGS_URL): one alert a quake."""
    from connectors.bmkg.poller import run_bmkg
    from schemas.usgs import UsgsFormatError

    try:
        report = asyncio.run(run_bmkg(settings(), once=once))
    except KeyboardInterrupt:
        return
    except UsgsFormatError as exc:
        raise click.ClickException(str(exc)) from exc
    line = (f"{len(report.fetched)} fetched, {len(report.not_modified)} not modified, "
            f"{len(report.failed)} failed, {report.published} alerts published")
    if report.outside:
        line += f", {report.outside} USGS quakes outside POSKO_USGS_AREA"
    click.echo(line)
    for url, why in report.failed.items():
        click.echo(f"  {url}: {why}", err=True)
    sys.exit(1 if report.failed else 0)


@connectors.command("cap")
@click.argument("sources", nargs=-1)
@click.option("--every", type=float, default=None, help="Import again every this many seconds.")
def cap(sources: tuple[str, ...], every: float | None) -> None:
    """Import CAP 1.2 alerts or Atom/RSS feeds from files or URLs (default: POSKO_CAP_FEEDS)."""
    from connectors.cap.importer import import_sources
    from schemas.cap import CapError

    configured = settings()
    chosen = list(sources) or [s.strip() for s in configured.cap_feeds.split(",") if s.strip()]
    if not chosen:
        raise click.UsageError("name CAP files or URLs, or set POSKO_CAP_FEEDS")
    try:
        result = asyncio.run(import_sources(configured, chosen, every))
    except KeyboardInterrupt:
        return
    except CapError as exc:
        raise click.ClickException(str(exc)) from exc
    line = f"{len(result.events)} alerts published, {result.unchanged} already imported"
    if result.followed:
        line += f", {result.followed} linked CAP documents followed"
    if result.outside:
        line += f", {result.outside} outside POSKO_CAP_AREA={configured.cap_area}"
    click.echo(line)
    for problem in result.problems:
        click.echo(f"  cannot read: {problem}", err=True)
    sys.exit(1 if result.problems else 0)


@connectors.command("serve")
def serve() -> None:
    """Serve the CAP feed (/v1/cap/alerts.atom), CAP push and OSS-RBA endpoints."""
    from connectors.serve import serve_connectors

    configured = settings()
    click.echo(f"connectors listening on http://{configured.connectors_host}:{configured.connectors_port}",
               err=True)
    serve_connectors(configured)


@connectors.command("check")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
def check(files: tuple[Path, ...]) -> None:
    """Show what files would become (JSON lines on stdout) and why any cannot be read; send nothing."""
    from connectors.cap.importer import cap_area
    from connectors.check import Checker, encode_event, summary
    from schemas.cap import CapError
    from schemas.usgs import parse_area

    configured = settings()
    try:
        checker = Checker(configured.oss_sla_hours, cap_area(configured), parse_area(configured.usgs_area))
    except CapError as exc:
        raise click.ClickException(str(exc)) from exc
    except ValueError as exc:
        raise click.ClickException(f"POSKO_USGS_AREA: {exc}") from exc
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

