"""SQL for other processes while this one holds the chdb store (chdb allows one process per path)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import msgspec

from sinks.clickhouse.store import Store, StoreError

MAX_REQUEST_BYTES = 1 << 20


class SqlRequest(msgspec.Struct, frozen=True):
    """A query and the output format wanted."""

    sql: str
    format: str = "TabSeparated"


class SqlReply(msgspec.Struct, frozen=True):
    """The header line of an answer; the output bytes follow it."""

    ok: bool
    error: str = ""


async def serve_sql(store: Store, executor: ThreadPoolExecutor, path: Path) -> asyncio.Server:
    """Answer SQL requests on a Unix socket at `path`, through `executor` like every chdb call."""

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            line = await reader.readuntil(b"\n")
            request = msgspec.json.decode(line, type=SqlRequest)
            loop = asyncio.get_running_loop()
            output = await loop.run_in_executor(executor, store.execute, request.sql,
                                                request.format)
            writer.write(msgspec.json.encode(SqlReply(True)) + b"\n" + output)
        except (StoreError, msgspec.DecodeError, asyncio.LimitOverrunError,
                asyncio.IncompleteReadError) as exc:
            writer.write(msgspec.json.encode(SqlReply(False, str(exc))) + b"\n")
        finally:
            with contextlib.suppress(ConnectionError):
                await writer.drain()
            writer.close()

    path.unlink(missing_ok=True)
    return await asyncio.start_unix_server(answer, path=str(path), limit=MAX_REQUEST_BYTES)


def query_socket(path: Path, sql: str, fmt: str = "TabSeparated", timeout_s: float = 60.0) -> bytes:
    """Run SQL in the process serving `path`; raises ConnectionError when nothing serves it."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout_s)
        sock.connect(str(path))
        sock.sendall(msgspec.json.encode(SqlRequest(sql, fmt)) + b"\n")
        sock.shutdown(socket.SHUT_WR)
        chunks = []
        while chunk := sock.recv(1 << 16):
            chunks.append(chunk)
    data = b"".join(chunks)
    header, _, output = data.partition(b"\n")
    if not header:
        raise ConnectionError(f"no answer from {path}")
    reply = msgspec.json.decode(header, type=SqlReply)
    if not reply.ok:
        raise StoreError(reply.error)
    return output
