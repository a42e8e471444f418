"""`posko token issue`: signed access tokens for the wall, officers and responders."""

from __future__ import annotations

import click

from posko.cli.base import settings
from schemas.events import Kind, Severity
from schemas.regions import Region


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
    from sinks.push.tokens import TokenRole, gateway_secret, issue_token, page_link

    configured = settings()
    chosen = TokenRole(role)
    default_names = {"wall": "Dinding Posko", "officer": "Petugas Jaga"}
    holder = name or default_names.get(role, f"Responder {'/'.join(regions)}")
    signed = issue_token(gateway_secret(configured), holder, chosen, hours,
                         regions=[Region(r) for r in regions], kinds=[Kind(k) for k in kinds],
                         min_severity=Severity(min_severity))
    if url:
        page = "wall" if chosen is not TokenRole.RESPONDER else "responder"
        click.echo(page_link(configured, signed, page))
    else:
        click.echo(signed)

