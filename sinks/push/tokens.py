"""Access tokens for the push gateway: signed (JWT, HS256) role, expiry and scope of a client."""

from __future__ import annotations

import enum
import os
import secrets
import time
from collections.abc import Sequence
from pathlib import Path

import jwt
import msgspec

from posko.errors import PoskoError
from posko.settings import Settings
from schemas.events import Kind, Severity
from schemas.regions import Region

ALGORITHM = "HS256"
ISSUER = "posko"

# CAP severities from least to most severe; a scope's minimum admits this one and those after it.
SEVERITY_RANK: dict[Severity, int] = {
    Severity.UNKNOWN: 0, Severity.MINOR: 1, Severity.MODERATE: 2, Severity.SEVERE: 3,
    Severity.EXTREME: 4,
}


class TokenError(PoskoError, ValueError):
    """A token that cannot be used; the message says why, in Bahasa Indonesia and English."""


class TokenRole(enum.StrEnum):
    """Who holds a token: the command-room wall, a duty officer, or a responder in the field."""

    WALL = "wall"
    OFFICER = "officer"
    RESPONDER = "responder"


class Claims(msgspec.Struct, frozen=True, kw_only=True):
    """What a token says about its holder; empty scope lists mean every region or kind."""

    sub: str
    role: TokenRole
    exp: int
    iat: int
    iss: str = ISSUER
    regions: list[Region] = []
    kinds: list[Kind] = []
    min_severity: Severity = Severity.UNKNOWN

    @property
    def can_acknowledge(self) -> bool:
        """Officers and responders may acknowledge alerts; the wall only shows them."""
        return self.role is not TokenRole.WALL

    @property
    def sees_everything(self) -> bool:
        """Walls and officers see every alert and the counters."""
        return self.role is not TokenRole.RESPONDER

    def expired(self, now: float | None = None) -> bool:
        """True once the token's expiry has passed."""
        return (time.time() if now is None else now) >= self.exp

    def covers_area(self, regions: Sequence[Region], kinds: Sequence[Kind]) -> bool:
        """True when something spanning `regions` (of signals of `kinds`) is in the holder's scope:
        one of its regions is, and one of its kinds when the token names kinds."""
        if self.sees_everything:
            return True
        if self.regions and not set(regions) & set(self.regions):
            return False
        return not (self.kinds and kinds and not set(kinds) & set(self.kinds))

    def covers(self, region: Region | None, kind: Kind, severity: Severity) -> bool:
        """True when an alert of this region, kind and severity is in the holder's scope."""
        if self.sees_everything:
            return True
        if self.regions and region not in self.regions:
            return False
        if self.kinds and kind not in self.kinds:
            return False
        return SEVERITY_RANK[severity] >= SEVERITY_RANK[self.min_severity]


def gateway_secret(settings: Settings) -> bytes:
    """The HMAC key: POSKO_GATEWAY_SECRET, else a random key kept (0600) under POSKO_HOME."""
    if settings.gateway_secret:
        return settings.gateway_secret.encode()
    path = Path(settings.home) / "gateway.secret"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_urlsafe(48))
    return path.read_text().strip().encode()


def issue_token(
    secret: bytes, subject: str, role: TokenRole, hours: float, *, regions: list[Region] | None = None,
    kinds: list[Kind] | None = None, min_severity: Severity = Severity.UNKNOWN,
) -> str:
    """A signed token for `subject` valid for `hours`."""
    if hours <= 0:
        raise TokenError("token validity must be positive: give --hours greater than 0")
    if role is TokenRole.RESPONDER and not regions:
        raise TokenError("a responder token needs at least one region: give --region 15.71 (Kemendagri code)")
    now = int(time.time())
    claims = Claims(sub=subject, role=role, iat=now, exp=now + int(hours * 3600),
                    regions=list(regions or []), kinds=list(kinds or []), min_severity=min_severity)
    return jwt.encode(msgspec.to_builtins(claims), secret, algorithm=ALGORITHM)


def verify_token(secret: bytes, token: str) -> Claims:
    """The claims of a valid token; TokenError saying why otherwise."""
    try:
        payload = jwt.decode(token, secret, algorithms=[ALGORITHM], issuer=ISSUER,
                             options={"require": ["exp", "iat", "sub", "iss"]})
    except jwt.ExpiredSignatureError as exc:
        raise TokenError("token kedaluwarsa / token expired: ask the command room for a new one") from exc
    except jwt.InvalidTokenError as exc:
        raise TokenError(f"token tidak sah / invalid token: {exc}") from exc
    try:
        return msgspec.convert(payload, Claims)
    except msgspec.ValidationError as exc:
        raise TokenError(f"token tidak sah / invalid token: {exc}") from exc


def page_link(settings: Settings, token: str, page: str = "wall") -> str:
    """The URL of a gateway page (`wall` or `responder`) that signs in with `token`."""
    return f"http://{settings.gateway_host}:{settings.gateway_port}/{page}#token={token}"
