"""API keys of the intake: one per channel or officer, stored hashed in SQLite under POSKO_HOME.

A key reads `pk_<id>_<secret>`: the id finds the row, the secret's SHA-256 is compared in
constant time. Secrets are 192 random bits, so a fast hash is enough (no password stretching).
SQLite in WAL mode lets the running service read while `posko intake key …` writes.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import secrets
import sqlite3
import time
from datetime import datetime
from pathlib import Path

import msgspec

from posko.errors import PoskoError
from schemas.events import Channel, utc_now

KEY_PREFIX = "pk_"
# The service re-reads the keys this often, so `revoke` takes effect within it.
REFRESH_S = 2.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS api_keys (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL,
    channel TEXT,
    rate_per_minute INTEGER NOT NULL,
    secret_sha256 TEXT NOT NULL,
    created_at TEXT NOT NULL,
    revoked_at TEXT
)"""


class KeyStoreError(PoskoError, ValueError):
    """A key cannot be added or revoked; the message says why."""


class KeyRole(enum.StrEnum):
    """What a key may do: channels submit reports, officers move their status."""

    CHANNEL = "channel"
    OFFICER = "officer"


class ApiKey(msgspec.Struct, frozen=True):
    """One API key as stored (without its secret)."""

    id: str
    name: str
    role: KeyRole
    channel: Channel | None
    rate_per_minute: int
    created_at: datetime
    revoked_at: datetime | None = None


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class KeyStore:
    """The API keys in `<POSKO_HOME>/intake/keys.sqlite`."""

    def __init__(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.path = directory / "keys.sqlite"
        with self._connect() as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute(_SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=10, isolation_level=None)

    def add(self, name: str, role: KeyRole, channel: Channel | None, rate_per_minute: int) -> tuple[ApiKey, str]:  # noqa: E501
        """Create a key; return it and the full secret key string (shown once, never stored)."""
        if role is KeyRole.CHANNEL and channel is None:
            raise KeyStoreError("a channel key needs --channel (web, sms, whatsapp, lapor, …)")
        if role is KeyRole.OFFICER and channel is not None:
            raise KeyStoreError("an officer key belongs to no channel: leave out --channel")
        if rate_per_minute < 0:
            raise KeyStoreError("--rate must be 0 (no limit) or more requests per minute")
        key_id, secret = secrets.token_hex(4), secrets.token_urlsafe(24)
        key = ApiKey(key_id, name, role, channel, rate_per_minute, utc_now())
        try:
            with self._connect() as db:
                db.execute(
                    "INSERT INTO api_keys (id, name, role, channel, rate_per_minute, secret_sha256, "
                    "created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (key.id, name, role, channel, rate_per_minute, _digest(secret),
                     key.created_at.isoformat()),
                )
        except sqlite3.IntegrityError as exc:
            raise KeyStoreError(f"a key named {name!r} exists already: pick another name") from exc
        return key, f"{KEY_PREFIX}{key_id}_{secret}"

    def revoke(self, name: str) -> ApiKey:
        """Revoke the key of that name; it stops working within REFRESH_S."""
        with self._connect() as db:
            cursor = db.execute("UPDATE api_keys SET revoked_at = ? WHERE name = ? AND revoked_at IS NULL",
                                (utc_now().isoformat(), name))
            if cursor.rowcount == 0:
                raise KeyStoreError(f"no active key named {name!r} (see: posko intake key list)")
        [key] = [k for k in self.keys() if k.name == name]
        return key

    def keys(self) -> list[ApiKey]:
        """Every key, revoked ones included, oldest first."""
        with self._connect() as db:
            rows = db.execute("SELECT id, name, role, channel, rate_per_minute, created_at, revoked_at "
                              "FROM api_keys ORDER BY created_at").fetchall()
        return [msgspec.convert(dict(zip(ApiKey.__struct_fields__, row, strict=True)), ApiKey, strict=False)
                for row in rows]

    def _digests(self) -> dict[str, tuple[str, ApiKey]]:
        with self._connect() as db:
            digests = dict(db.execute("SELECT id, secret_sha256 FROM api_keys").fetchall())
        return {key.id: (digests[key.id], key) for key in self.keys()}


class KeyCheck(msgspec.Struct, frozen=True):
    """The result of checking a presented key: the key, or why it was refused."""

    key: ApiKey | None
    problem: str = ""


class KeyRing:
    """The keys as the running service sees them, re-read every REFRESH_S."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._store: KeyStore | None = None  # opened on first use: building the app touches no disk
        self._loaded_at = float("-inf")
        self._keys: dict[str, tuple[str, ApiKey]] = {}

    def check(self, presented: str) -> KeyCheck:
        """Find the key for a presented `pk_<id>_<secret>` string."""
        if time.monotonic() - self._loaded_at > REFRESH_S:
            self._store = self._store or KeyStore(self.directory)
            self._keys = self._store._digests()
            self._loaded_at = time.monotonic()
        parts = presented.split("_", 2)
        if len(parts) != 3 or parts[0] + "_" != KEY_PREFIX or parts[1] not in self._keys:
            return KeyCheck(None, "unknown API key: ask the Posko operator for a key for your channel")
        digest, key = self._keys[parts[1]]
        if not hmac.compare_digest(digest, _digest(parts[2])):
            return KeyCheck(None, "unknown API key: ask the Posko operator for a key for your channel")
        if key.revoked_at is not None:
            return KeyCheck(None, f"API key {key.name!r} was revoked: ask the Posko operator for a new one")
        return KeyCheck(key)
