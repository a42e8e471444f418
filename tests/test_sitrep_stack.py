"""The room's record through the real broker and the real sink into chdb, and `posko sitrep` on it.

The test stands in for the worker's desk (streams/desk.py): it writes the Task, AuditEntry,
IncidentNote, RegionEmergency, Escalation and Incident records of a drill to posko.desk,
posko.audit, posko.escalations and posko.incidents as the worker would, each of them twice
(a redelivery), and lets the real sink store them.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from posko.kafka.offsets import group_positions, group_state
from schemas.topics import AUDIT, DESK, ESCALATIONS, INCIDENTS
from tests.conftest import Stack, produce, wait_for
from tests.sitrep_samples import IN_ORDER, drill_incident


@pytest.fixture
def sink(kafka_env: dict[str, str], tmp_path: Path) -> Iterator[Stack]:
    """The real sink alone (no worker: the test writes what the worker would) on a fresh chdb."""
    env = {**kafka_env, "POSKO_CLICKHOUSE": f"chdb://{tmp_path / 'clickhouse'}"}
    running = Stack(env, tmp_path)
    state = lambda: asyncio.run(group_state(running.settings, "posko-clickhouse"))  # noqa: E731
    wait_for(lambda: state()[1] == 0, 60, lambda: f"earlier sinks to leave the group: {state()}")
    running.start("sink")
    try:
        wait_for(lambda: running.count("SELECT count() FROM posko.schema_migrations") > 0, 60,
                 "the sink to answer SQL")
        wait_for(lambda: state() == ("Stable", 1), 90, lambda: f"the sink's group stable: {state()}")
        yield running
    finally:
        running.stop()


def test_room_record_is_stored_once_and_the_sitrep_pdf_tells_it_in_order(sink: Stack, tmp_path: Path) -> None:
    sample = drill_incident()
    asyncio.run(produce(sink.settings, sample.records))
    asyncio.run(produce(sink.settings, sample.records))  # delivered again: no second row
    inc, task = f"toUUID('{sample.incident_id}')", f"toUUID('{sample.task_id}')"
    ids = ", ".join(f"toUUID('{i}')" for i in sample.audit_ids)
    expected = {
        f"SELECT count() FROM posko.audit_log WHERE id IN ({ids})": 8,
        f"SELECT count() FROM posko.audit_log WHERE id IN ({ids}) AND accepted = 0 AND status = 404": 1,
        f"SELECT count() FROM posko.task_progress WHERE task_id = {task}": 3,
        f"SELECT count() FROM posko.tasks WHERE id = {task}": 1,
        f"SELECT count() FROM posko.tasks WHERE id = {task} AND version = 3 AND status = 'selesai'": 1,
        f"SELECT count() FROM posko.incident_notes WHERE incident_id = {inc} AND sitrep = 1": 1,
        f"SELECT count() FROM posko.emergency_status WHERE incident_id = {inc}": 1,
        f"SELECT count() FROM posko.escalations WHERE subject_id = '{sample.task_id}' AND drill = 1": 1,
        f"SELECT count() FROM posko.incidents WHERE id = {inc} AND drill = 1 AND status = 'selesai'": 1,
    }

    def lag() -> int:
        topics = {"posko-clickhouse": [AUDIT, DESK, ESCALATIONS, INCIDENTS]}
        positions = asyncio.run(group_positions(sink.settings, topics))
        return sum(p.lag for tps in positions.values() for p in tps.values())

    # Both deliveries stored and committed: the counts are final, not on their way up.
    wait_for(lambda: lag() == 0, 90, lambda: f"the sink to commit both deliveries (lag {lag()})")
    assert {q: sink.count(q) for q in expected} == expected

    pdf = tmp_path / "sitrep.pdf"
    done = subprocess.run([sys.executable, "-m", "posko.cli", "sitrep", str(sample.incident_id),
                           "--format", "pdf", "--output", str(pdf)],
                          capture_output=True, text=True, timeout=120, env={**os.environ, **sink.env})
    assert done.returncode == 0, done.stderr
    assert pdf.read_bytes().startswith(b"%PDF-")
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True,
                          check=True).stdout
    assert "Laporan Situasi (Sitrep)" in text and "LATIHAN — bukan kejadian sungguhan" in text
    timeline = " ".join(text[text.index("Kronologi"):].split())  # cells may wrap: one line of words
    found, start = [], 0
    for piece in IN_ORDER:
        start = timeline.find(piece, start)
        found.append(start)
        assert start >= 0, f"{piece!r} missing or out of order after {found}:\n{timeline}"
    assert "12/08 08:00" in timeline and "perintah yang ditolak" in timeline
    subprocess.run(["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "1", str(pdf), str(tmp_path / "page")],
                   check=True)
    assert (tmp_path / "page-1.png").stat().st_size > 10_000

    unknown = subprocess.run([sys.executable, "-m", "posko.cli", "sitrep", str(sample.task_id), "-o", "-"],
                             capture_output=True, text=True, timeout=120, env={**os.environ, **sink.env})
    assert unknown.returncode == 1 and "no incident" in unknown.stderr
