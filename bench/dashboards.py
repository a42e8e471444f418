"""`posko bench dashboards`: every panel's SQL on simulated history, beside a plain scan of the same rows.

A chdb store of its own is loaded with eight days of events and seventy days of indicator
readings for all 11 sectors (`grafana.sample`). Each panel's query of the committed dashboards
runs with the macros expanded for a one-hour and a seven-day range; the baseline is the cheapest
query that reads the same table, `SELECT count() FROM <table> WHERE <the same time column filter>`,
so the ratio says what the panel's shaping (deduplication, latest values, status) costs.
"""

from __future__ import annotations

import json
import re
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import msgspec

from grafana.dashboards import DASHBOARDS_DIR
from grafana.macros import expand
from grafana.sample import load_history
from sinks.clickhouse.store import ChdbStore

RANGES = {"1h": timedelta(hours=1), "7d": timedelta(days=7)}


class RangeFigures(msgspec.Struct):
    """Milliseconds per panel query for one time range, and the baseline's."""

    panels: int
    median_ms: float
    p95_ms: float
    max_ms: float
    baseline_median_ms: float
    ratio: float
    slowest: str


class Result(msgspec.Struct):
    """The benchmark's figures, printed as one JSON line."""

    rows: dict[str, int]
    load_s: float
    repeats: int
    ranges: dict[str, RangeFigures]


def _panels() -> list[tuple[str, str]]:
    found = []
    for path in sorted(DASHBOARDS_DIR.glob("*.json")):
        for panel in json.loads(path.read_text())["panels"]:
            for target in panel["targets"]:
                found.append((f"{path.stem}: {panel['title']}", target["rawSql"]))
    return found


def _baseline(sql: str) -> str:
    table = re.search(r"FROM posko\.(\w+)", sql)
    name = table.group(1) if table else "sector_indicators"
    columns = {"sector_indicators": "period_end", "report_status_changes": "changed_at",
               "incidents": "last_at", "escalations": "fired_at", "region_ranking": "computed_at"}
    column = columns.get(name, "occurred_at")
    return f"SELECT count() FROM posko.{name} WHERE $__timeFilter({column})"


def _timed(store: ChdbStore, sql: str, repeats: int) -> float:
    best = []
    for _ in range(repeats):
        started = time.perf_counter()
        store.execute(sql, "JSON")
        best.append(time.perf_counter() - started)
    return statistics.median(best) * 1000


def run_dashboards_bench(repeats: int = 3) -> Result:
    """Load the history, time every panel for both ranges, print the figures (JSON on stdout)."""
    say = lambda line: print(line, file=sys.stderr, flush=True)  # noqa: E731
    now = datetime.now(UTC).replace(microsecond=0)
    with tempfile.TemporaryDirectory(prefix="posko-bench-dash-") as home:
        store = ChdbStore(Path(home) / "clickhouse")
        try:
            started = time.perf_counter()
            rows = load_history(store, now)
            load_s = time.perf_counter() - started
            say(f"loaded {sum(rows.values()):,} rows in {load_s:.1f} s: {rows}")
            panels = _panels()
            figures = {}
            for name, span in RANGES.items():
                timings = []
                baselines = []
                for title, sql in panels:
                    timings.append((_timed(store, expand(sql, now - span, now), repeats), title))
                    baselines.append(_timed(store, expand(_baseline(sql), now - span, now), repeats))
                timings.sort()
                ms = [t for t, _ in timings]
                median, base = statistics.median(ms), statistics.median(baselines)
                figures[name] = RangeFigures(
                    panels=len(ms), median_ms=round(median, 2), p95_ms=round(ms[int(len(ms) * 0.95)], 2),
                    max_ms=round(ms[-1], 2), baseline_median_ms=round(base, 2),
                    ratio=round(median / base, 2), slowest=timings[-1][1])
                say(f"{name}: {len(ms)} panels, median {median:.1f} ms (baseline {base:.1f} ms), "
                    f"p95 {figures[name].p95_ms} ms, slowest {timings[-1][0]:.1f} ms ({timings[-1][1]})")
        finally:
            store.close()
    result = Result(rows=rows, load_s=round(load_s, 2), repeats=repeats, ranges=figures)
    print(msgspec.json.encode(result).decode(), flush=True)
    return result
