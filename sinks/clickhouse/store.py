"""ClickHouse behind one interface: chdb in-process (chdb:///path) or a server (clickhouse://)."""

from __future__ import annotations

import hashlib
import tempfile
import uuid
from abc import ABC, abstractmethod
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import unquote, urlsplit

import msgspec
import pyarrow as pa

from posko.errors import PoskoError
from sinks.clickhouse.columns import arrow_table
from sinks.clickhouse.migrations import MIGRATIONS

DEFAULT_DATABASE = "posko"


class StoreError(PoskoError, RuntimeError):
    """ClickHouse refused a statement or cannot be reached; the message says which."""


class Store(ABC):
    """A ClickHouse database Posko writes to and reads from."""

    def __init__(self, database: str) -> None:
        self.database = database
        self._writer = uuid.uuid4().hex[:12]
        self._staging_tables: dict[str, str] = {}

    @abstractmethod
    def execute(self, sql: str, fmt: str = "TabSeparated") -> bytes:
        """Run one statement and return its output in `fmt`."""

    @abstractmethod
    def insert(self, table: str, rows: pa.Table) -> None:
        """Insert an Arrow table's rows into `table` of this database (columns by name)."""

    @abstractmethod
    def close(self) -> None:
        """Release the connection."""

    def scalar(self, sql: str) -> str:
        """Run a query returning one value, as text."""
        return self.execute(sql, "TabSeparated").decode().strip()

    def migrate(self) -> list[int]:
        """Apply the migrations not yet applied; return their versions."""
        db = self.database
        self.execute(f"CREATE DATABASE IF NOT EXISTS {db}")
        self.execute(MIGRATIONS[0][2][1].format(db=db))
        done = {int(v) for v in self.execute(f"SELECT version FROM {db}.schema_migrations").split()}
        for statement in migration_statements(db, done):
            self.execute(statement)
        return [version for version, _, _ in MIGRATIONS if version not in done]

    def insert_rows(self, table: str, rows: Sequence[msgspec.Struct]) -> None:
        """Insert rows (all of `table`'s row type) as they are, without deduplicating."""
        if rows:
            self.insert(table, arrow_table(rows))

    def insert_new(self, table: str, rows: Sequence[msgspec.Struct]) -> None:
        """Insert the rows whose `id` is not in `table` yet (nor twice in the batch)."""
        if not rows:
            return
        db = self.database
        staging = self._stage(table, rows)
        try:
            self.execute(
                f"INSERT INTO {db}.{table} SELECT * FROM {db}.{staging} WHERE id NOT IN "
                f"(SELECT id FROM {db}.{table} WHERE id IN (SELECT id FROM {db}.{staging})) "
                "LIMIT 1 BY id"
            )
        finally:
            self.execute(f"TRUNCATE TABLE {db}.{staging}")

    def insert_newer(self, table: str, rows: Sequence[msgspec.Struct], key: str = "id",
                     hide_replaced: bool = True) -> None:
        """Insert the rows newer (by `version`) than the stored row of their `key`; keep one row per key.

        A redelivered version is not newer, so it never becomes a second row; an update
        replaces the older row: a lightweight delete hides it at once, or (not `hide_replaced`,
        for tables read with FINAL) the table's merges remove it.
        """
        if not rows:
            return
        db = self.database
        staging = self._stage(table, rows)
        try:
            known = int(self.scalar(f"SELECT count() FROM {db}.{table} "
                                    f"WHERE {key} IN (SELECT {key} FROM {db}.{staging})") or 0)
            if not known:  # the usual batch: only new alerts, nothing to compare or replace
                self.execute(f"INSERT INTO {db}.{table} SELECT * FROM {db}.{staging} "
                             f"ORDER BY version DESC LIMIT 1 BY {key}")
                return
            stored = (f"SELECT {key} AS id, max(version) AS stored FROM {db}.{table} "
                      f"WHERE {key} IN (SELECT {key} FROM {db}.{staging}) GROUP BY {key}")
            self.execute(
                f"INSERT INTO {db}.{table} SELECT * FROM {db}.{staging} WHERE ({key}, version) NOT IN "
                f"(SELECT s.{key}, s.version FROM {db}.{staging} AS s INNER JOIN ({stored}) AS k "
                f"ON s.{key} = k.id WHERE s.version <= k.stored) "
                f"ORDER BY version DESC LIMIT 1 BY {key}"
            )
            if not hide_replaced:
                return
            replaced = int(self.scalar(
                f"SELECT count() - uniqExact({key}) FROM {db}.{table} "
                f"WHERE {key} IN (SELECT {key} FROM {db}.{staging})") or 0)
            if replaced:
                self.execute(
                    f"DELETE FROM {db}.{table} WHERE {key} IN (SELECT {key} FROM {db}.{staging}) "
                    f"AND ({key}, version) NOT IN ({stored.replace(' AS stored', '')})"
                )
        finally:
            self.execute(f"TRUNCATE TABLE {db}.{staging}")

    def _stage(self, table: str, rows: Sequence[msgspec.Struct]) -> str:
        """Put the rows in `table`'s staging table, columnar; return the staging table's name."""
        staging = self._staging(table)
        self.insert(staging, arrow_table(rows))
        return staging

    def _staging(self, table: str) -> str:
        # One in-memory staging table per writer and table: the batch lands there first, and
        # one INSERT … SELECT moves only new ids, atomically, into the real table.
        if table not in self._staging_tables:
            name = f"_staging_{table}_{self._writer}"
            self.execute(
                f"CREATE TABLE IF NOT EXISTS {self.database}.{name} "
                f"AS {self.database}.{table} ENGINE = Memory"
            )
            self._staging_tables[table] = name
        return self._staging_tables[table]

    def drop_staging(self) -> None:
        """Drop this writer's staging tables."""
        for name in self._staging_tables.values():
            self.execute(f"DROP TABLE IF EXISTS {self.database}.{name}")
        self._staging_tables.clear()


def migration_statements(database: str, done: frozenset[int] | set[int] = frozenset()) -> list[str]:
    """The statements that bring `database` from the `done` migrations to the latest, in order.

    `Store.migrate` runs them; `posko migrate --print-sql` prints them for a server's init scripts.
    """
    statements: list[str] = []
    for version, description, ddl in MIGRATIONS:
        if version in done:
            continue
        statements.extend(statement.format(db=database) for statement in ddl)
        escaped = description.replace("'", "\\'")
        statements.append(f"INSERT INTO {database}.schema_migrations (version, description) "
                          f"VALUES ({version}, '{escaped}')")
    return statements


def migration_sql(database: str) -> str:
    """The migrations as one SQL script, one statement per `;`-terminated block (for --print-sql)."""
    header = ("-- Posko's ClickHouse schema, generated by `posko migrate --print-sql` from\n"
              "-- sinks/clickhouse/tables.py MIGRATIONS: regenerate it, never edit it.\n\n")
    return header + "".join(f"{statement};\n\n" for statement in migration_statements(database))


class ChdbStore(Store):
    """ClickHouse in this process through chdb, persistent under a directory."""

    def __init__(self, path: Path, database: str = DEFAULT_DATABASE) -> None:
        from chdb import session

        super().__init__(database)
        path.mkdir(parents=True, exist_ok=True)
        self.path = path
        try:
            self._session = session.Session(str(path))
        except Exception as exc:
            raise StoreError(f"cannot open the chdb store at {path}: {exc}") from exc

    def execute(self, sql: str, fmt: str = "TabSeparated") -> bytes:
        """Run one statement and return its output in `fmt`."""
        try:
            result = self._session.query(sql, fmt)
        except Exception as exc:
            raise StoreError(str(exc)) from exc
        return result.bytes() if result is not None else b""

    def insert(self, table: str, rows: pa.Table) -> None:
        """Insert an Arrow table's rows into `table` of this database (columns by name)."""
        columns = ", ".join(f"`{name}`" for name in rows.column_names)
        # chdb's Python() table function reads the Arrow table in place (no copy, no text format),
        # finding it by name in the frames that call the query, nearest first, each frame's locals
        # then its module's globals: so the query is run from this frame, under a name no module
        # defines, or a module in between could hand chdb its own object of that name.
        posko_arrow_rows = rows  # noqa: F841 - read by chdb's Python(posko_arrow_rows)
        try:
            self._session.query(f"INSERT INTO {self.database}.{table} ({columns}) "
                                "SELECT * FROM Python(posko_arrow_rows)")
        except Exception as exc:
            raise StoreError(str(exc)) from exc

    def close(self) -> None:
        """Close the chdb session, releasing the data directory."""
        self._session.close()


class ServerStore(Store):
    """A ClickHouse server over HTTP through clickhouse-connect."""

    def __init__(self, url: str) -> None:
        import clickhouse_connect

        parts = urlsplit(url)
        super().__init__(parts.path.strip("/") or DEFAULT_DATABASE)
        try:
            self._client = clickhouse_connect.get_client(
                host=parts.hostname or "127.0.0.1",
                port=parts.port or 8123,
                username=unquote(parts.username or "default"),
                password=unquote(parts.password or ""),
                secure=parts.scheme == "clickhouses",
                autogenerate_session_id=False,
            )
        except Exception as exc:
            raise StoreError(f"cannot reach ClickHouse at {parts.hostname}: {exc}") from exc

    def execute(self, sql: str, fmt: str = "TabSeparated") -> bytes:
        """Run one statement and return its output in `fmt`."""
        try:
            return bytes(self._client.raw_query(sql, fmt=fmt))
        except Exception as exc:
            raise StoreError(str(exc)) from exc

    def insert(self, table: str, rows: pa.Table) -> None:
        """Insert an Arrow table's rows into `table` of this database (columns by name)."""
        try:
            # FORMAT Arrow with the column names: the server casts each column to its type.
            self._client.insert_arrow(f"{self.database}.{table}", rows)
        except Exception as exc:
            raise StoreError(str(exc)) from exc

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self._client.close()


def open_store(url: str) -> Store:
    """The store a URL names: chdb:///path or clickhouse://user:pass@host:8123/db."""
    parts = urlsplit(url)
    if parts.scheme == "chdb":
        return ChdbStore(Path(unquote(parts.netloc + parts.path)))
    if parts.scheme in ("clickhouse", "clickhouses"):
        return ServerStore(url)
    raise StoreError(
        f"unknown ClickHouse location {url!r}: use chdb:///path or clickhouse://user:pass@host:8123/db"
    )


def chdb_path(url: str) -> Path | None:
    """The data directory of a chdb URL, or None for a server."""
    parts = urlsplit(url)
    if parts.scheme != "chdb":
        return None
    return Path(unquote(parts.netloc + parts.path))


def socket_path(url: str) -> Path | None:
    """Where the process holding a chdb store answers SQL for others (None for a server)."""
    path = chdb_path(url)
    if path is None:
        return None
    # Unix socket paths are limited to ~100 bytes: name it by a hash of the store's path.
    digest = hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"posko-sql-{digest}.sock"
