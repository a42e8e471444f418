"""`posko gateway` and `posko token issue`: the push gateway and its access tokens."""

from __future__ import annotations

import logging

import click

from posko.settings import Settings, SettingsError, load_settings
from schemas.events import Kind, Severity
from schemas.regions import Region


def _settings() -> Settings:
    try:
        return load_settings()
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from exc


@click.command()
@click.option("--loglevel", default="warning")
def gateway(loglevel: str) -> None:
    """Run the push gateway: the wall and responder pages and their websocket."""
    from sinks.push.gateway import run_gateway

    logging.basicConfig(level=loglevel.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    run_gateway(_settings())


@click.group()
def token() -> None:
    """Access tokens for the wall, officers and responders."""


@token.command("issue")
@click.option("--role", type=click.Choice(["wall", "officer", "responder"]), required=True)
@click.option("--name", default=None, help="Who holds it, shown beside their acknowledgements.")
@click.option("--region", "regions", multiple=True, type=click.Choice([r.value for r in Region]),
              help="Kemendagri code of a kabupaten/kota in the responder's scope (repeatable).")
@click.option("--kind", "kinds", multiple=True, type=click.Choice([k.value for k in Kind]),
              help="Event kind in scope (repeatable; default: all).")
@click.option("--min-severity", type=click.Choice([s.value for s in Severity]), default="Unknown",
              show_default=True, help="Least severe alert in scope.")
@click.option("--hours", type=float, default=12.0, show_default=True, help="How long it is valid.")
@click.option("--url", is_flag=True, help="Print the page's URL with the token instead of the token.")
def token_issue(role: str, name: str | None, regions: tuple[str, ...], kinds: tuple[str, ...],
                min_severity: str, hours: float, url: bool) -> None:
    """Print a signed token (e.g. --role responder --region 15.71 --hours 12)."""
    from sinks.push.tokens import Role, TokenError, gateway_secret, issue_token, page_link

    settings = _settings()
    chosen = Role(role)
    default_names = {"wall": "Dinding Posko", "officer": "Petugas Jaga"}
    holder = name or default_names.get(role, f"Responder {'/'.join(regions)}")
    try:
        signed = issue_token(gateway_secret(settings), holder, chosen, hours,
                             regions=[Region(r) for r in regions], kinds=[Kind(k) for k in kinds],
                             min_severity=Severity(min_severity))
    except TokenError as exc:
        raise click.ClickException(str(exc)) from exc
    if url:
        page = "wall" if chosen is not Role.RESPONDER else "responder"
        click.echo(page_link(settings, signed, page))
    else:
        click.echo(signed)


@click.command("fanout")
@click.option("--clients", default="100,500,1000", show_default=True,
              help="Numbers of connected clients to measure, comma-separated.")
@click.option("--rate", default=10.0, show_default=True, help="Alerts per second.")
@click.option("--seconds", default=15.0, show_default=True, help="How long to produce at each step.")
def bench_fanout(clients: str, rate: float, seconds: float) -> None:
    """Kafka → websocket latency through the gateway, beside bare websockets.broadcast."""
    from bench.fanout import run_fanout_bench

    try:
        counts = [int(n) for n in clients.split(",") if n.strip()]
    except ValueError as exc:
        raise click.BadParameter("--clients takes numbers separated by commas, e.g. 100,500,1000") from exc
    if not counts or min(counts) < 1 or rate <= 0 or seconds <= 0:
        raise click.BadParameter("--clients, --rate and --seconds must be positive")
    run_fanout_bench(_settings(), counts, rate, seconds)
