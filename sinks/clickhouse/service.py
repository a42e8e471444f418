"""The sink process: opens the store, migrates it, serves SQL for others and runs the writer."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from concurrent.futures import ThreadPoolExecutor

from posko.kafka.watchdog import CommitWatchdog
from posko.loop import run_async, tune_gc
from posko.settings import Settings
from sinks.clickhouse.sql_server import serve_sql
from sinks.clickhouse.store import open_store, socket_path
from sinks.clickhouse.writer import GROUP_ID, ClickHouseWriter

log = logging.getLogger("posko.sink")


async def serve(settings: Settings, stop: asyncio.Event, ready: asyncio.Event | None = None,
                watchdog: bool = False) -> int:
    """Run the ClickHouse sink until `stop` is set; return the rows it wrote.

    With `watchdog`, the process exits when its partitions stall (see posko.kafka.watchdog).
    """
    loop = asyncio.get_running_loop()
    # Every chdb call goes through this one thread: never on the event loop, never two at once.
    executor = ThreadPoolExecutor(1, thread_name_prefix="clickhouse")
    url = settings.clickhouse_url
    store = await loop.run_in_executor(executor, open_store, url)
    server = None
    sock = socket_path(url)
    try:
        applied = await loop.run_in_executor(executor, store.migrate)
        if applied:
            log.info("applied migrations %s", applied)
        if sock is not None:
            server = await serve_sql(store, executor, sock)
        writer = ClickHouseWriter(settings, store, executor)
        if watchdog:
            CommitWatchdog(settings, GROUP_ID, writer.topics, writer.assignment).start()
        await writer.run(stop, ready)
        return writer.rows_written
    finally:
        if server is not None:
            server.close()
            await server.wait_closed()
        if sock is not None:
            sock.unlink(missing_ok=True)
        with contextlib.suppress(Exception):
            await loop.run_in_executor(executor, store.drop_staging)
        await loop.run_in_executor(executor, store.close)
        executor.shutdown()


def run_sink(settings: Settings) -> None:
    """Run the sink in this process until SIGINT or SIGTERM."""

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await serve(settings, stop, watchdog=True)

    tune_gc()
    run_async(main())
