"""`posko bench sink`: the sink's insert paths on chdb beside JSONEachRow, at several batch sizes.

The same realistic rows (simulator events through the sink's own row makers) go through each
path into one embedded chdb store, batch by batch, with the store's deduplicating step
(`insert_new` / `insert_newer`: staging table, then one INSERT … SELECT of the new ids):

- `json`: the rows as JSONEachRow text, parsed by ClickHouse in best-effort time mode (the baseline:
  the sink's path before issue 14);
- `arrow`: the rows as an Arrow table read in place by chdb's `Python()` table function (the
  sink's path now, `ChdbStore.insert`);
- `arrow_ipc`: the Arrow IPC bytes a server is sent (`ServerStore.insert`, clickhouse-connect's
  `insert_arrow`: `INSERT … FORMAT Arrow`), read by chdb from a file, as no server runs here.

chdb's `Python()` over a dict of Python lists is no candidate: chdb 4.4 refuses list (Array)
and datetime values ("Unrecognized data type"), which the tables hold. Each path's stored rows
are compared with the baseline's (a digest of every column), and a batch delivered again must
add no row. Figures: rows/s (wall) and CPU µs per row of this process (chdb runs in it).
"""

from __future__ import annotations

import random
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

import msgspec
from clickhouse_connect.driver.query import arrow_buffer

from connectors.simulator.stream import Simulator
from schemas.events import kind_of, utc_now
from schemas.topics import events_topic
from sinks.clickhouse.columns import arrow_table
from sinks.clickhouse.migrations import KEYS, VERSIONED
from sinks.clickhouse.store import ChdbStore
from sinks.clickhouse.writer import ROW_MAKERS

Batch = dict[str, list[msgspec.Struct]]
_encoder = msgspec.json.Encoder()


class PathResult(msgspec.Struct):
    """One path at one batch size."""

    path: str
    batch_events: int
    rows: int
    rows_per_s: float
    cpu_us_per_row: float
    ratio: float  # rows/s against the JSONEachRow baseline at this batch size
    cpu_ratio: float  # CPU per row of the baseline over this path's
    correct: bool  # the same rows as the baseline's, and a batch delivered again added none


class Result(msgspec.Struct):
    """The benchmark's figures, printed as one JSON line."""

    events: int
    rows_per_table: dict[str, int]
    results: list[PathResult]


class _JsonStore(ChdbStore):
    """The same chdb session, staging rows as JSONEachRow text (the sink before issue 14)."""

    def __init__(self, store: ChdbStore) -> None:
        self.database, self.path, self._session = store.database, store.path, store._session
        self._writer, self._staging_tables = "json", {}

    def _stage(self, table: str, rows: Sequence[msgspec.Struct]) -> str:
        staging = self._staging(table)
        data = b"\n".join(_encoder.encode(row) for row in rows)
        self.execute(f"INSERT INTO {self.database}.{staging} "
                     "SETTINGS date_time_input_format = 'best_effort' FORMAT JSONEachRow\n"
                     + data.decode())
        return staging


class _ArrowIpcStore(ChdbStore):
    """The same chdb session, staging rows as the Arrow IPC bytes ServerStore sends a server."""

    def __init__(self, store: ChdbStore, spool: Path) -> None:
        self.database, self.path, self._session = store.database, store.path, store._session
        self._writer, self._staging_tables, self._spool = "ipc", {}, spool

    def _stage(self, table: str, rows: Sequence[msgspec.Struct]) -> str:
        staging = self._staging(table)
        names, block = arrow_buffer(arrow_table(rows))
        data: bytes = block.to_pybytes()  # type: ignore[union-attr]  # a pyarrow Buffer
        self._spool.write_bytes(data)  # chdb reads a format's bytes from a file, a server from HTTP
        columns = ", ".join(f"`{name}`" for name in names)
        self.execute(f"INSERT INTO {self.database}.{staging} ({columns}) "
                     f"FROM INFILE '{self._spool}' FORMAT Arrow")
        return staging


def _event_rows(events: int) -> list[list[tuple[str, msgspec.Struct]]]:
    """The rows of each of `events` simulated events, as the sink's row makers make them."""
    simulator = Simulator(random.Random(14))
    now = utc_now()
    out = []
    for _ in range(events):
        event = simulator.event(now)
        out.append(ROW_MAKERS[events_topic(kind_of(event))](_encoder.encode(event)))
    return out


def _batches(event_rows: list[list[tuple[str, msgspec.Struct]]], batch_events: int) -> list[Batch]:
    """Sink batches of `batch_events` events each, as rows per table."""
    batches: list[Batch] = []
    for start in range(0, len(event_rows), batch_events):
        batch: Batch = defaultdict(list)
        for rows in event_rows[start:start + batch_events]:
            for table, row in rows:
                batch[table].append(row)
        batches.append(batch)
    return batches


def _write(store: ChdbStore, batch: Batch) -> None:
    for table, rows in batch.items():
        if table in VERSIONED:
            store.insert_newer(table, rows, KEYS.get(table, "id"))
        else:
            store.insert_new(table, rows)


def _digest(store: ChdbStore, tables: dict[str, type[msgspec.Struct]]) -> dict[str, str]:
    """Per table: its row count and a digest of every column the rows carry."""
    out = {}
    for table, row_type in tables.items():
        columns = ", ".join(f"`{name}`" for name in row_type.__struct_fields__)
        out[table] = store.scalar(f"SELECT count(), groupBitXor(cityHash64(toString(tuple({columns})))) "
                                  f"FROM {store.database}.{table}")
    return out


def _run(store: ChdbStore, batches: list[Batch], tables: dict[str, type[msgspec.Struct]]
         ) -> tuple[float, float, dict[str, str], bool]:
    for table in tables:
        store.execute(f"TRUNCATE TABLE {store.database}.{table}")
    wall, cpu = time.perf_counter(), time.process_time()
    for batch in batches:
        _write(store, batch)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    digest = _digest(store, tables)
    _write(store, batches[0])  # delivered again after a crash: stored once
    return wall, cpu, digest, _digest(store, tables) == digest


def run_sink_insert_bench(events: int = 100_000, sizes: Sequence[int] = (1_000, 10_000, 100_000)) -> Result:
    """Run every path at every batch size; print the figures (lines on stderr, one JSON line on stdout)."""
    results: list[PathResult] = []
    counts: dict[str, int] = {}
    with tempfile.TemporaryDirectory(prefix="posko-bench-") as tmp:
        store = ChdbStore(Path(tmp) / "clickhouse")
        try:
            store.migrate()
            paths = {"json": _JsonStore(store), "arrow": store,
                     "arrow_ipc": _ArrowIpcStore(store, Path(tmp) / "rows.arrow")}
            event_rows = _event_rows(max(events, *sizes))
            for size in sizes:
                batches = _batches(event_rows, size)
                tables = {t: type(rows[0]) for batch in batches for t, rows in batch.items() if rows}
                counts = {t: sum(len(b.get(t, [])) for b in batches) for t in tables}
                rows = sum(counts.values())
                base: tuple[float, float, dict[str, str], bool] | None = None
                for name, path in paths.items():
                    wall, cpu, digest, once = _run(path, batches, tables)
                    base = base or (wall, cpu, digest, once)
                    results.append(PathResult(
                        path=name, batch_events=size, rows=rows, rows_per_s=round(rows / wall),
                        cpu_us_per_row=round(cpu / rows * 1e6, 2), ratio=round(base[0] / wall, 2),
                        cpu_ratio=round(base[1] / cpu, 2), correct=once and digest == base[2]))
                    r = results[-1]
                    print(f"{size:>7} events/batch  {name:<9} {r.rows_per_s:>9} rows/s  "
                          f"{r.cpu_us_per_row:>6} µs CPU/row  ×{r.ratio} (CPU ×{r.cpu_ratio})  "
                          f"{'correct' if r.correct else 'WRONG ROWS'}", file=sys.stderr)
            for path in paths.values():
                path.drop_staging()
        finally:
            store.close()
    result = Result(events=events, rows_per_table=counts, results=results)
    sys.stdout.buffer.write(msgspec.json.encode(result) + b"\n")
    return result
