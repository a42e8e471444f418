"""Posko's ClickHouse as the portal reads it: the running sink's chdb over its socket, or a server.

chdb allows one process per data path, so the portal never opens the store itself: it asks the
process that holds it (`posko sink`, or `posko demo`) through `run_sql`, or a ClickHouse server
through clickhouse-connect. Every call is blocking and runs in a thread pool, off the event loop.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urlsplit

import msgspec

from posko.errors import PoskoError
from posko.settings import Settings
from sinks.clickhouse.client import run_sql
from sinks.clickhouse.store import DEFAULT_DATABASE, ServerStore, StoreError


class WarehouseUnavailable(PoskoError, ConnectionError):
    """ClickHouse cannot be reached; the message says what to start."""


class QueryFailed(PoskoError, RuntimeError):
    """ClickHouse refused a query the portal built."""


class Warehouse:
    """Runs the portal's read-only queries against Posko's ClickHouse."""

    def __init__(self, settings: Settings, threads: int = 8) -> None:
        self.settings = settings
        url = settings.clickhouse_url
        parts = urlsplit(url)
        self._server = ServerStore(url) if parts.scheme in ("clickhouse", "clickhouses") else None
        self.database = self._server.database if self._server else DEFAULT_DATABASE
        self._executor = ThreadPoolExecutor(threads, thread_name_prefix="satudata-sql")

    def query_blocking(self, sql: str, fmt: str) -> bytes:
        """Run one query here and now (in a worker thread)."""
        try:
            if self._server is not None:
                return self._server.execute(sql, fmt)
            return run_sql(self.settings, sql, fmt, open_directly=False)
        except ConnectionError as exc:
            raise WarehouseUnavailable(
                "ClickHouse tidak dapat dihubungi: jalankan `posko sink` (atau `posko demo`), atau "
                "atur POSKO_CLICKHOUSE ke server ClickHouse (ClickHouse is not reachable: start "
                "`posko sink`, or point POSKO_CLICKHOUSE at a ClickHouse server)") from exc
        except StoreError as exc:
            raise QueryFailed(str(exc)) from exc

    async def query(self, sql: str, fmt: str = "TabSeparated") -> bytes:
        """Run one query off the event loop and return its output in `fmt`."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self.query_blocking, sql, fmt)

    async def records(self, sql: str) -> list[dict[str, Any]]:
        """The rows of a query as dicts (JSONEachRow)."""
        out = await self.query(sql, "JSONEachRow")
        return [msgspec.json.decode(line) for line in out.splitlines() if line]

    async def lists(self, sql: str) -> list[list[Any]]:
        """The rows of a query as lists (JSONCompactEachRow)."""
        out = await self.query(sql, "JSONCompactEachRow")
        return [msgspec.json.decode(line) for line in out.splitlines() if line]

    async def tables(self) -> set[str]:
        """The tables of Posko's database."""
        out = await self.query(
            f"SELECT name FROM system.tables WHERE database = '{self.database}'", "TabSeparated")
        return set(out.decode().split())

    def close(self) -> None:
        """Release the threads and the server connection."""
        self._executor.shutdown(wait=False, cancel_futures=True)
        if self._server is not None:
            self._server.close()
