"""`posko dashboards build|publish`: the Grafana dashboards as code."""

from __future__ import annotations

import click

from posko.cli.base import settings


@click.group()
def dashboards() -> None:
    """The Grafana dashboards (grafana/dashboards/*.json), built from code."""


@dashboards.command("build")
@click.option("--check", is_flag=True, help="Only check that the committed JSON is what the code builds.")
def dashboards_build(check: bool) -> None:
    """Write the overview and the 11 sector dashboards as JSON under grafana/dashboards/."""
    from grafana.dashboards import DASHBOARDS_DIR, all_dashboards, build, to_json

    if check:
        stale = [name for name, board in all_dashboards() if not (DASHBOARDS_DIR / name).is_file()
                 or (DASHBOARDS_DIR / name).read_text() != to_json(board)]
        if stale:
            raise click.ClickException(f"stale dashboards: {', '.join(stale)}; run `posko dashboards build`")
        click.echo("dashboards are up to date")
        return
    for path in build():
        click.echo(f"wrote {path}")


@dashboards.command("publish")
@click.option("--url", default=None, help="Grafana's URL [default: POSKO_GRAFANA_URL].")
@click.option("--token", default=None, help="A service account token [default: POSKO_GRAFANA_TOKEN].")
def dashboards_publish(url: str | None, token: str | None) -> None:
    """Push the dashboards to a running Grafana (folder "Posko Jambi"), overwriting older versions."""
    from grafana.publish import publish

    chosen = settings()
    uids = publish(url or chosen.grafana_url, token or chosen.grafana_token)
    click.echo(f"published {len(uids)} dashboards: {', '.join(uids)}")
