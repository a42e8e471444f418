"""`posko bench soak`: the whole stack under a steady load, sampled; and how its summary is figured."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench.soak import Load, Sample, summarise

PROCESSES = {"broker", "worker", "sink", "gateway", "intake", "load"}


@pytest.mark.integration
def test_soak_samples_every_process_and_stores_every_event_sent(tmp_path: Path) -> None:
    samples = tmp_path / "samples.jsonl"
    done = subprocess.run(
        [sys.executable, "-m", "posko.cli", "bench", "soak", "--minutes", "0.2", "--rate", "20",
         "--every", "2", "--walls", "3", "--warm-up", "2", "--malformed", "0.05", "--samples", str(samples)],
        capture_output=True, text=True, timeout=300,
        env={**os.environ, "TMPDIR": str(tmp_path), "POSKO_PARTITIONS": "3", "POSKO_KAFKA_HEAP": "512m"})
    assert done.returncode == 0, done.stderr[-3000:]
    figures = json.loads(done.stdout)
    assert set(figures["rss"]) == PROCESSES, done.stderr[-3000:]
    assert all(memory["max_mb"] > 0 for memory in figures["rss"].values()), figures["rss"]
    assert {"posko-stream", "posko-clickhouse", "posko-intake-relay"} <= set(figures["lag"])
    assert figures["events_sent"] > 0 and figures["reports_accepted"] > 0, figures
    assert figures["rows_stored"] == figures["rows_expected"] and figures["missing"] == 0, figures
    assert figures["drained"], done.stderr[-3000:]
    assert figures["dead_letters"]["unexpected"] == 0, figures["dead_letters"]
    lines = samples.read_text().splitlines()
    assert len(lines) == figures["samples"] > 1
    assert set(json.loads(lines[-1])["rss_mb"]) == PROCESSES
    assert done.stderr.count(" s  sent ") == figures["samples"]  # a progress line per sample


def test_summary_slope_leaves_out_the_warm_up_and_counts_dead_letters_beyond_the_malformed() -> None:
    load = Load()
    load.events.sent, load.events.malformed = 1_000, 10
    load.answers["202"] = 50
    # 100 MB taken in the first minute (warm-up), then 1 MB a minute: 60 MB per hour.
    rss = [(0.0, 100.0), (60.0, 200.0), *((60.0 + 60 * m, 200.0 + m) for m in range(1, 11))]
    samples = [Sample(at, {"worker": mb}, {"posko-stream": int(at)}, 12, 1_030, 1_000, 10, 50, 0)
               for at, mb in rss]
    result = summarise(samples, load, warm_up_s=60.0, seconds=660.0, rate=1.5, report_rate=0.15, walls=0,
                       restarts={}, drained=True)
    assert result.rss["worker"].slope_mb_per_h == pytest.approx(60.0)
    assert (result.rss["worker"].first_mb, result.rss["worker"].last_mb, result.rss["worker"].max_mb) == (
        100.0, 210.0, 210.0)
    assert (result.lag["posko-stream"].max, result.lag["posko-stream"].last) == (660, 660)
    assert (result.dead_letters.records, result.dead_letters.unexpected) == (12, 2)
    assert (result.rows_expected, result.rows_stored, result.missing) == (1_040, 1_030, 10)
