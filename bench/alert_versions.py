"""`posko bench alert-versions`: the sink's versioned insert of alerts, beside its plain insert.

Alerts change under one id (a BMKG quake seen again, a CAP Update), so the sink writes
`disaster_alerts` with `insert_newer` (keep the newest version per id) where the other tables
use `insert_new` (skip ids already stored). Measured on an embedded chdb store of its own,
batch by batch: the baseline `insert_new` of new alerts, `insert_newer` of new alerts, and
`insert_newer` of batches that are all updates (each replacing a stored row).
"""

from __future__ import annotations

import random
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import msgspec

from connectors.simulator.stream import Simulator
from schemas.events import DisasterAlertEvent, utc_now
from sinks.clickhouse.store import ChdbStore, Store
from sinks.clickhouse.tables import DisasterAlertRow, disaster_alert_row


class Result(msgspec.Struct):
    """The benchmark's figures, printed as one JSON line."""

    batches: int
    batch_rows: int
    baseline_insert_new_rows_per_s: float
    insert_newer_new_rows_per_s: float
    insert_newer_updates_rows_per_s: float
    ratio_new: float
    ratio_updates: float


def _alerts(count: int) -> list[DisasterAlertEvent]:
    simulator = Simulator(random.Random(5))
    now = utc_now()
    found: list[DisasterAlertEvent] = []
    while len(found) < count:
        event = simulator.event(now)
        if isinstance(event, DisasterAlertEvent):
            found.append(event)
    return found


def _rows(events: list[DisasterAlertEvent]) -> list[DisasterAlertRow]:
    return [disaster_alert_row(e) for e in events]


def _timed(store: Store, insert: str, table: str, batches: list[list[DisasterAlertRow]]) -> float:
    started = time.perf_counter()
    for batch in batches:
        getattr(store, insert)(table, batch)
    return time.perf_counter() - started


def run_alert_versions_bench(batches: int = 10, batch_rows: int = 2_000) -> Result:
    """Run the three inserts and print the figures (human lines on stderr, one JSON line on stdout)."""
    with tempfile.TemporaryDirectory(prefix="posko-bench-") as tmp:
        store = ChdbStore(Path(tmp) / "clickhouse")
        try:
            store.migrate()
            store.execute("CREATE TABLE posko.disaster_alerts_baseline AS posko.disaster_alerts")
            events = _alerts(batches * batch_rows * 2)
            plain, versioned = events[: len(events) // 2], events[len(events) // 2:]

            def split(group: list[DisasterAlertEvent]) -> list[list[DisasterAlertRow]]:
                return [_rows(group[i:i + batch_rows]) for i in range(0, len(group), batch_rows)]

            later = [msgspec.structs.replace(e, payload=msgspec.structs.replace(
                e.payload, sent=e.received_at + timedelta(minutes=5))) for e in versioned]
            baseline_s = _timed(store, "insert_new", "disaster_alerts_baseline", split(plain))
            new_s = _timed(store, "insert_newer", "disaster_alerts", split(versioned))
            update_s = _timed(store, "insert_newer", "disaster_alerts", split(later))
            stored = int(store.scalar("SELECT count() FROM posko.disaster_alerts"))
            assert stored == len(versioned), f"{stored} rows after updates, expected {len(versioned)}"
        finally:
            store.close()
    rows = batches * batch_rows
    result = Result(
        batches=batches, batch_rows=batch_rows,
        baseline_insert_new_rows_per_s=round(rows / baseline_s),
        insert_newer_new_rows_per_s=round(rows / new_s),
        insert_newer_updates_rows_per_s=round(rows / update_s),
        ratio_new=round(baseline_s / new_s, 3), ratio_updates=round(baseline_s / update_s, 3),
    )
    print(f"insert_new (baseline): {result.baseline_insert_new_rows_per_s} rows/s; insert_newer: "
          f"{result.insert_newer_new_rows_per_s} rows/s new, {result.insert_newer_updates_rows_per_s} "
          f"rows/s updates", file=sys.stderr)
    sys.stdout.buffer.write(msgspec.json.encode(result) + b"\n")
    return result
