"""Credentials of people and machines: one store that the intake, the gateway and every page check.

A credential reads `pk_<id>_<secret>`: the id finds the row, the secret's SHA-256 is compared in
constant time. Secrets are 192 random bits, so a fast hash is enough (no password stretching).
The store is `<POSKO_HOME>/credentials.sqlite` in WAL mode, so the running services read while
`posko credential …` writes; each service re-reads it every REFRESH_S, so a revocation takes
effect within it (and the gateway closes the holder's open connections).
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import secrets
import sqlite3
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import msgspec

from posko.errors import PoskoError
from posko.settings import Settings
from schemas.events import Channel, utc_now
from schemas.identity import Principal, Role, Scope

PREFIX = "pk_"
# The services re-read the store this often, so `revoke` takes effect within it.
REFRESH_S = 2.0
# People sign in for a shift; machines (a channel, the wall's screen) run until revoked.
PEOPLE_HOURS = 12.0
MACHINES = frozenset({Role.CHANNEL, Role.WALL})
# Roles whose scope means something: the others see everything (or, a channel, nothing).
SCOPED = frozenset({Role.RESPONDER, Role.AGENCY})
# The page a credential signs in to.
PAGES: dict[Role, str] = {
    Role.WALL: "wall", Role.OFFICER: "console", Role.SUPERVISOR: "console", Role.ADMIN: "console",
    Role.RESPONDER: "responder", Role.AGENCY: "responder",
}
NO_SCOPE = Scope()
UNKNOWN = ("kredensial tidak dikenal / unknown credential: ask the Posko operator for one "
           "(posko credential issue)")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS credentials (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    role TEXT NOT NULL,
    scope TEXT NOT NULL,
    channel TEXT,
    rate_per_minute INTEGER NOT NULL,
    secret_sha256 TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT,
    revoked_at TEXT
)"""
_COLUMNS = "id, name, role, scope, channel, rate_per_minute, created_at, expires_at, revoked_at"


class CredentialError(PoskoError, ValueError):
    """A credential cannot be issued or revoked; the message says why and what to do."""


class Credential(msgspec.Struct, frozen=True, kw_only=True):
    """One credential as stored (never its secret)."""

    id: str
    name: str
    role: Role
    scope: Scope = Scope()
    channel: Channel | None = None
    rate_per_minute: int = 0
    created_at: datetime
    expires_at: datetime | None = None
    revoked_at: datetime | None = None

    def principal(self) -> Principal:
        """Who holds it, as the services check it."""
        return Principal(id=self.id, name=self.name, role=self.role, scope=self.scope, channel=self.channel,
                         rate_per_minute=self.rate_per_minute, expires_at=self.expires_at)

    def state(self, now: datetime) -> str:
        """active, expired or revoked."""
        if self.revoked_at is not None:
            return "revoked"
        return "expired" if self.expires_at is not None and now >= self.expires_at else "active"


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def with_article(role: Role) -> str:
    """'an officer', 'a wall': the role with its article, for messages."""
    return f"{'an' if role[0] in 'aeiou' else 'a'} {role}"


def check_request(role: Role, scope: Scope, channel: Channel | None, rate_per_minute: int,
                  hours: float | None) -> None:
    """Refuse a credential that could not work as asked, saying what to change."""
    if role is Role.CHANNEL and channel is None:
        raise CredentialError("a channel credential needs --channel (web, sms, whatsapp, lapor, …)")
    if role is not Role.CHANNEL and channel is not None:
        raise CredentialError(f"{with_article(role)} credential belongs to no channel: leave out --channel")
    if role is Role.RESPONDER and not scope.regions:
        raise CredentialError("a responder needs at least one region: give --region 15.71 (Kemendagri code)")
    if role is Role.AGENCY and not scope.agency:
        raise CredentialError('an agency credential needs --agency, e.g. --agency "BPBD Kota Jambi"')
    if role not in SCOPED and scope != Scope():
        raise CredentialError(f"{with_article(role)} credential sees everything or nothing: --region, "
                              "--hazard, --kind, --min-severity, --agency and --team are for responders "
                              "and agencies")
    if scope.team and role is not Role.RESPONDER:
        raise CredentialError("--team is a responder's team: leave it out for an agency")
    if rate_per_minute < 0:
        raise CredentialError("--rate must be 0 (no limit) or more requests per minute")
    if hours is not None and hours <= 0:
        raise CredentialError("--hours must be more than 0 (leave it out for the role's default)")


class CredentialStore:
    """The credentials in `<POSKO_HOME>/credentials.sqlite`."""

    def __init__(self, home: Path) -> None:
        home.mkdir(parents=True, exist_ok=True)
        self.path = home / "credentials.sqlite"
        with self._connect() as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute(_SCHEMA)

    @contextlib.contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        # Closed on leaving: a transaction left open (an error inside it) is rolled back.
        db = sqlite3.connect(self.path, timeout=10, isolation_level=None)
        try:
            yield db
        finally:
            db.close()

    def issue(self, name: str, role: Role, *, scope: Scope = NO_SCOPE, channel: Channel | None = None,
              rate_per_minute: int = 0, hours: float | None = None,
              replace: bool = False) -> tuple[Credential, str]:
        """Create a credential; return it and the full `pk_…` string (shown once, never stored).
        People's credentials expire after PEOPLE_HOURS unless `hours` says otherwise; machines'
        never do. Several may share a name (one person's phone and laptop); with `replace`, the
        others of that name are revoked."""
        name = name.strip()
        if not name:
            raise CredentialError("--name must say who holds it: it is shown beside everything they do")
        check_request(role, scope, channel, rate_per_minute, hours)
        if hours is None and role not in MACHINES:
            hours = PEOPLE_HOURS
        now = utc_now()
        credential = Credential(
            id=secrets.token_hex(6), name=name, role=role, scope=scope, channel=channel,
            rate_per_minute=rate_per_minute, created_at=now,
            expires_at=now + timedelta(hours=hours) if hours is not None else None)
        secret = secrets.token_urlsafe(24)
        with self._connect() as db:
            db.execute("BEGIN IMMEDIATE")  # the replaced ones and the new one, together
            if replace:
                db.execute("UPDATE credentials SET revoked_at = ? WHERE name = ? AND revoked_at IS NULL",
                           (now.isoformat(), name))
            db.execute(
                f"INSERT INTO credentials ({_COLUMNS}, secret_sha256) VALUES ({', '.join('?' * 10)})",
                (credential.id, name, role, msgspec.json.encode(scope).decode(), channel, rate_per_minute,
                 now.isoformat(), credential.expires_at.isoformat() if credential.expires_at else None,
                 None, _digest(secret)))
            db.execute("COMMIT")
        return credential, f"{PREFIX}{credential.id}_{secret}"

    def revoke(self, name_or_id: str) -> list[Credential]:
        """Revoke the active credentials of that name (or the one with that id); the running
        services refuse them within REFRESH_S."""
        now = utc_now()
        with self._connect() as db:
            db.execute("BEGIN IMMEDIATE")
            active = [c for c in self._all(db) if name_or_id in (c.name, c.id) and c.state(now) == "active"]
            db.executemany("UPDATE credentials SET revoked_at = ? WHERE id = ?",
                           [(now.isoformat(), c.id) for c in active])
            db.execute("COMMIT")
        if not active:
            raise CredentialError(f"no active credential named {name_or_id!r} (see: posko credential list)")
        return [msgspec.structs.replace(c, revoked_at=now) for c in active]

    def credentials(self) -> list[Credential]:
        """Every credential, expired and revoked ones included, oldest first."""
        with self._connect() as db:
            return self._all(db)

    def _all(self, db: sqlite3.Connection) -> list[Credential]:
        rows = db.execute(f"SELECT {_COLUMNS} FROM credentials ORDER BY created_at").fetchall()
        return [_credential(row) for row in rows]

    def digests(self, credential_id: str | None = None) -> dict[str, tuple[str, Credential]]:
        """Every credential (or the one with that id) by id, with its secret's SHA-256."""
        sql = f"SELECT {_COLUMNS}, secret_sha256 FROM credentials"
        args: tuple[str, ...] = ()
        if credential_id is not None:
            sql, args = sql + " WHERE id = ?", (credential_id,)
        with self._connect() as db:
            rows = db.execute(sql, args).fetchall()
        return {row[0]: (row[-1], _credential(row[:-1])) for row in rows}


def _credential(row: tuple[object, ...]) -> Credential:
    fields = dict(zip(_COLUMNS.split(", "), row, strict=True))
    fields["scope"] = msgspec.json.decode(str(fields["scope"]))
    return msgspec.convert(fields, Credential, strict=False)


class Checked(msgspec.Struct, frozen=True):
    """The result of checking a presented credential: who holds it, or why it was refused."""

    principal: Principal | None
    problem: str = ""


class CredentialRing:
    """The credentials as a running service sees them, re-read every REFRESH_S."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self._store: CredentialStore | None = None  # opened on first use: building a service touches no disk
        self._loaded_at = float("-inf")
        self._credentials: dict[str, tuple[str, Credential]] = {}

    def refresh(self, force: bool = False) -> None:
        """Re-read the store when the last read is older than REFRESH_S."""
        if force or time.monotonic() - self._loaded_at > REFRESH_S:
            self._store = self._store or CredentialStore(self.home)
            self._credentials = self._store.digests()
            self._loaded_at = time.monotonic()

    def check(self, presented: str) -> Checked:
        """Who holds a presented `pk_<id>_<secret>` string, or why it is refused."""
        self.refresh()
        parts = presented.strip().split("_", 2)
        if len(parts) != 3 or parts[0] + "_" != PREFIX:
            return Checked(None, UNKNOWN)
        found = self._credentials.get(parts[1])
        if found is None:  # issued since the last read: a page opened at once must not be refused
            assert self._store is not None
            found = self._store.digests(parts[1]).get(parts[1])
            if found is None:
                return Checked(None, UNKNOWN)
            self._credentials = {**self._credentials, parts[1]: found}
        digest, credential = found
        if not hmac.compare_digest(digest, _digest(parts[2])):
            return Checked(None, UNKNOWN)
        problem = self.problem(credential.principal())
        return Checked(None, problem) if problem else Checked(credential.principal())

    def problem(self, principal: Principal) -> str:
        """Why a credential checked earlier no longer works (revoked, expired), or ''."""
        found = self._credentials.get(principal.id)
        if found is None or found[1].revoked_at is not None:
            return (f"kredensial {principal.name!r} dicabut / credential revoked: ask the Posko operator "
                    "for a new one")
        if principal.expired(utc_now()):
            return (f"kredensial {principal.name!r} kedaluwarsa / credential expired: ask the Posko operator "
                    "for a new one")
        return ""


def page_link(settings: Settings, role: Role, secret: str) -> str:
    """The URL of the gateway page a credential of this role signs in to, with the credential."""
    page = PAGES.get(role)
    if page is None:
        raise CredentialError(f"{with_article(role)} credential has no page (it is for the intake API): "
                              "leave out --url")
    return f"http://{settings.gateway_host}:{settings.gateway_port}/{page}#token={secret}"
