"""`posko credential issue|revoke|list`: credentials of people and machines, for every service."""

from __future__ import annotations

from pathlib import Path

import click

from posko.cli.base import settings
from schemas.events import Channel, Kind, Severity
from schemas.identity import Role
from schemas.incidents import Hazard
from schemas.regions import Region


@click.group()
def credential() -> None:
    """Credentials of the wall, officers, supervisors, responders, agencies, channels and admins."""


@credential.command("issue")
@click.option("--role", type=click.Choice([r.value for r in Role]), required=True)
@click.option("--name", required=True, help="Who or what holds it, shown beside everything they do.")
@click.option("--region", "regions", multiple=True, type=click.Choice([r.value for r in Region]),
              help="Kemendagri code of a kabupaten/kota in a responder's or agency's scope (repeatable).")
@click.option("--hazard", "hazards", multiple=True, type=click.Choice([h.value for h in Hazard]),
              help="Hazard in scope (repeatable; default: all).")
@click.option("--kind", "kinds", multiple=True, type=click.Choice([k.value for k in Kind]),
              help="Event kind in scope (repeatable; default: all).")
@click.option("--min-severity", type=click.Choice([s.value for s in Severity]), default="Unknown",
              show_default=True, help="Least severe alert in scope.")
@click.option("--agency", default=None, help='An agency account\'s agency, e.g. "BPBD Kota Jambi".')
@click.option("--team", default=None, help='A responder\'s team, e.g. "TRC BPBD Muaro Jambi".')
@click.option("--channel", type=click.Choice([c.value for c in Channel]), default=None,
              help="The channel a channel credential submits reports for.")
@click.option("--rate", type=int, default=None,
              help="Intake requests per minute (0: no limit; default 600 for a channel, else 0).")
@click.option("--hours", type=float, default=None,
              help="How long it is valid (default: 12 for people; a channel's and the wall's never expire).")
@click.option("--replace", is_flag=True, help="Revoke the other credentials of this name.")
@click.option("--url", is_flag=True, help="Print the page's URL with the credential instead of it alone.")
def credential_issue(role: str, name: str, regions: tuple[str, ...], hazards: tuple[str, ...],
                     kinds: tuple[str, ...], min_severity: str, agency: str | None, team: str | None,
                     channel: str | None, rate: int | None, hours: float | None, replace: bool,
                     url: bool) -> None:
    """Issue a credential and print it once (only its hash is kept)."""
    from posko.credentials import CredentialStore, page_link
    from schemas.identity import Scope

    configured = settings()
    chosen = Role(role)
    scope = Scope(regions=[Region(r) for r in regions], hazards=[Hazard(h) for h in hazards],
                  kinds=[Kind(k) for k in kinds], min_severity=Severity(min_severity), agency=agency,
                  team=team)
    if rate is None:
        rate = 600 if chosen is Role.CHANNEL else 0
    if url and chosen is Role.CHANNEL:
        raise click.UsageError("a channel credential has no page (it is for the intake API): leave out --url")
    issued, secret = CredentialStore(Path(configured.home)).issue(
        name, chosen, scope=scope, channel=Channel(channel) if channel else None, rate_per_minute=rate,
        hours=hours, replace=replace)
    until = f"until {issued.expires_at:%Y-%m-%d %H:%M}Z" if issued.expires_at else "until revoked"
    click.echo(f"credential {issued.name!r} ({issued.role}{', ' + issued.channel if issued.channel else ''}, "
               f"{until}). Keep it now, it is not shown again:", err=True)
    click.echo(page_link(configured, chosen, secret) if url else secret)


@credential.command("list")
def credential_list() -> None:
    """Print the credentials (never their secrets)."""
    from posko.credentials import CredentialStore
    from schemas.events import utc_now

    now = utc_now()
    for found in CredentialStore(Path(settings().home)).credentials():
        scope = found.scope
        named = [*scope.regions, *scope.hazards, *scope.kinds, *filter(None, [scope.agency, scope.team])]
        where = ",".join(named)
        state = found.state(now)
        if found.revoked_at is not None:
            state += f" {found.revoked_at:%Y-%m-%d %H:%M}Z"
        elif found.expires_at is not None:
            state += f" (expires {found.expires_at:%Y-%m-%d %H:%M}Z)"
        click.echo(f"{found.name:24} {found.role:10} {found.channel or where or '-':20} "
                   f"{found.rate_per_minute or 'no limit'!s:>8}/min  pk_{found.id}_…  "
                   f"created {found.created_at:%Y-%m-%d %H:%M}Z  {state}")


@credential.command("revoke")
@click.argument("name")
def credential_revoke(name: str) -> None:
    """Revoke a credential by id, or every one of that name; the intake and gateway refuse them
    within seconds."""
    from posko.credentials import CredentialStore

    revoked = CredentialStore(Path(settings().home)).revoke(name)
    click.echo(f"revoked {', '.join(f'{c.name!r} (pk_{c.id}_…)' for c in revoked)}")
