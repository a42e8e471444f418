"""Answering SQL from the command line: through the running sink, or from the store directly."""

from __future__ import annotations

from urllib.parse import urlsplit

from posko.settings import Settings
from sinks.clickhouse.sql_server import query_socket
from sinks.clickhouse.store import DEFAULT_DATABASE, open_store, socket_path


def run_sql(
    settings: Settings, sql: str, fmt: str = "PrettyCompactMonoBlock", *, open_directly: bool = True
) -> bytes:
    """Run one statement against Posko's ClickHouse and return its output in `fmt`.

    With `open_directly=False` a chdb store is only queried through the process serving it
    (ConnectionError otherwise), so a caller polling for a starting sink never takes the
    store's lock from under it.
    """
    url = settings.clickhouse_url
    sock = socket_path(url)
    if sock is not None and sock.exists():
        try:
            return query_socket(sock, sql, fmt)
        except (ConnectionRefusedError, FileNotFoundError):
            sock.unlink(missing_ok=True)  # left by a process that died: open the store below
    if sock is not None and not open_directly:
        raise ConnectionError("no running Posko process serves the chdb store")
    store = open_store(url)
    try:
        return store.execute(sql, fmt)
    finally:
        store.close()


def store_database(url: str) -> str:
    """The database Posko's tables are in at `url` (a server URL's path; chdb: posko)."""
    parts = urlsplit(url)
    return (parts.path.strip("/") or DEFAULT_DATABASE) if parts.scheme.startswith("clickhouse") \
        else DEFAULT_DATABASE
