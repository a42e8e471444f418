"""The sink's insert path: every table's row type goes in as Arrow and comes out as it went; batches
count events."""

from __future__ import annotations

import struct
import tempfile
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec
import pytest
from aiokafka import ConsumerRecord
from clickhouse_connect.driver.query import arrow_buffer
from msgspec import inspect

from schemas.batch import join
from schemas.events import Kind
from schemas.topics import DLQ, INCIDENTS, events_topic
from sinks.clickhouse.columns import arrow_table
from sinks.clickhouse.desk_rows import AuditRow, EmergencyRow, NoteRow, TaskProgressRow, TaskRow
from sinks.clickhouse.incident_rows import EscalationRow, IncidentRow, IncidentSignalRow
from sinks.clickhouse.migrations import KEYS, VERSIONED
from sinks.clickhouse.ranking_rows import RecommendationRow, RegionRankingRow
from sinks.clickhouse.store import ChdbStore
from sinks.clickhouse.tables import (
    AckRow,
    AlertRow,
    CitizenReportRow,
    DeadLetterRow,
    DisasterAlertRow,
    PermitFilingRow,
    ReporterContactRow,
    ReportStatusRow,
    SectorIndicatorRow,
)
from sinks.clickhouse.writer import events_in

DB = "posko_columns"
ROW_TYPES: dict[str, type[msgspec.Struct]] = {
    "citizen_reports": CitizenReportRow, "reporter_contacts": ReporterContactRow,
    "disaster_alerts": DisasterAlertRow, "permit_filings": PermitFilingRow,
    "sector_indicators": SectorIndicatorRow, "alerts": AlertRow, "acks": AckRow,
    "dead_letters": DeadLetterRow, "report_status_changes": ReportStatusRow,
    "incidents": IncidentRow, "incident_signals": IncidentSignalRow, "escalations": EscalationRow,
    "audit_log": AuditRow, "tasks": TaskRow, "task_progress": TaskProgressRow,
    "emergency_status": EmergencyRow, "incident_notes": NoteRow,
    "region_ranking": RegionRankingRow, "recommendations": RecommendationRow,
}
# Text that a format could mangle: quotes, backslashes, control characters, a NUL, non-Latin script.
TEXT = 'Banjir "Sungai" Batang Hari\n\tbaris\\2 \'kutip\' — ñ 🌊 \x00 ᮞᮥᮔ᮪ᮓ'
# Microseconds that DateTime64(3) cuts to milliseconds, and one near the start of the epoch.
TIMES = (datetime(2026, 8, 17, 10, 11, 12, 345678, tzinfo=UTC),
         datetime(1970, 1, 2, 0, 0, 0, 1000, tzinfo=UTC))
INT_MAX = {"UInt8": 2**8 - 1, "UInt16": 2**16 - 1, "UInt32": 2**32 - 1, "UInt64": 2**63 - 1}
# ClickHouse's JSON output as msgspec reads it back: plain numbers, ISO times with a Z.
READ_BACK = ("SETTINGS output_format_json_quote_64bit_integers = 0, "
             "output_format_json_quote_64bit_floats = 0, date_time_output_format = 'iso'")


@pytest.fixture(scope="module")
def store(chdb_store: ChdbStore) -> ChdbStore:
    """The session's chdb with Posko's tables in a database of this module."""
    migrated = ChdbStore(chdb_store.path, database=DB)
    migrated.migrate()
    return migrated


def _column_types(store: ChdbStore, table: str) -> dict[str, str]:
    described = store.execute(f"DESCRIBE TABLE {DB}.{table}", "TabSeparated").decode().splitlines()
    return {line.split("\t")[0]: line.split("\t")[1] for line in described}


def _value(info: inspect.Type, column_type: str, full: bool) -> Any:
    """A value of a field: `full` the largest and most awkward one, else None or the emptiest."""
    if isinstance(info, inspect.UnionType):
        present = next(t for t in info.types if not isinstance(t, inspect.NoneType))
        return _value(present, column_type, full) if full else None
    base = column_type.removeprefix("LowCardinality(").removeprefix("Nullable(").rstrip(")")
    if isinstance(info, inspect.UUIDType):
        return uuid.uuid4()
    if isinstance(info, inspect.DateTimeType):
        return TIMES[0] if full else TIMES[1]
    if isinstance(info, inspect.StrType):
        return TEXT if full else ""
    if isinstance(info, inspect.IntType):
        return INT_MAX[base] if full else 0
    if isinstance(info, inspect.FloatType):
        return (6.25 if base == "Float32" else -1.5e300) if full else 0.1
    if isinstance(info, inspect.ListType):
        return ["15.01", TEXT] if full else []
    raise AssertionError(f"no sample value for {info} ({column_type}): add one here")


def _rows(store: ChdbStore, table: str) -> list[msgspec.Struct]:
    """Two rows of the table's type: one with every field at its fullest, one at its emptiest."""
    row_type = ROW_TYPES[table]
    types = _column_types(store, table)
    info = inspect.type_info(row_type)
    assert isinstance(info, inspect.StructType)
    return [row_type(**{f.name: _value(f.type, types[f.name], full) for f in info.fields})
            for full in (True, False)]


def _as_stored(row: msgspec.Struct, types: dict[str, str]) -> msgspec.Struct:
    """The row as ClickHouse keeps it: times to the millisecond, Float32 rounded to 32 bits."""
    changes: dict[str, Any] = {}
    for name in row.__struct_fields__:
        value = getattr(row, name)
        if isinstance(value, datetime):
            changes[name] = value.replace(microsecond=value.microsecond // 1000 * 1000)
        elif isinstance(value, float) and "Float32" in types[name]:
            changes[name] = struct.unpack("f", struct.pack("f", value))[0]
    return msgspec.structs.replace(row, **changes)


def _stored(store: ChdbStore, table: str, rows: list[msgspec.Struct]) -> list[msgspec.Struct]:
    key = KEYS.get(table, "id")
    wanted = ", ".join(f"'{getattr(row, key)}'" for row in rows)
    out = store.execute(f"SELECT * EXCEPT ingested_at FROM {DB}.{table} WHERE {key} IN ({wanted}) "
                        f"{READ_BACK}", "JSONEachRow")
    found = [msgspec.json.decode(line, type=ROW_TYPES[table]) for line in out.splitlines()]
    order = [getattr(row, key) for row in rows]
    return sorted(found, key=lambda row: order.index(getattr(row, key)))


def test_every_table_has_a_row_type_checked_here(store: ChdbStore) -> None:
    tables = set(store.execute(f"SHOW TABLES FROM {DB}").decode().split()) - {"schema_migrations"}
    assert {t for t in tables if not t.startswith("_staging_")} == set(ROW_TYPES)


@pytest.mark.parametrize("table", list(ROW_TYPES))
def test_rows_come_back_as_inserted_once_through_the_stores_columnar_insert(store: ChdbStore,
                                                                           table: str) -> None:
    rows = _rows(store, table)
    insert = store.insert_newer if table in VERSIONED else store.insert_new
    insert(table, rows, *([KEYS[table]] if table in KEYS else []))
    insert(table, rows, *([KEYS[table]] if table in KEYS else []))  # redelivered: no second rows
    types = _column_types(store, table)
    assert _stored(store, table, rows) == [_as_stored(row, types) for row in rows]


@pytest.mark.parametrize("table", list(ROW_TYPES))
def test_rows_come_back_as_inserted_through_the_servers_arrow_format(store: ChdbStore, table: str) -> None:
    # ServerStore sends clickhouse-connect's insert_arrow bytes with INSERT … FORMAT Arrow; no
    # server runs here, so chdb reads the very same bytes with the same ClickHouse input format.
    rows = _rows(store, table)
    names, block = arrow_buffer(arrow_table(rows))
    data: Any = block  # a pyarrow Buffer, typed by clickhouse-connect as bytes or a file
    with tempfile.TemporaryDirectory(prefix="posko-arrow-") as tmp:
        path = Path(tmp) / "rows.arrow"
        path.write_bytes(bytes(data))
        columns = ", ".join(f"`{name}`" for name in names)
        store.execute(f"INSERT INTO {DB}.{table} ({columns}) FROM INFILE '{path}' FORMAT Arrow")
    types = _column_types(store, table)
    assert _stored(store, table, rows) == [_as_stored(row, types) for row in rows]


def test_rows_of_two_types_in_one_table_are_refused_with_their_names() -> None:
    ack = AckRow(id=uuid.uuid4(), alert_id=uuid.uuid4(), region=None, event_kind="", severity="",
                 acked_by="", role="", note="", acked_at=TIMES[0])
    contact = ReporterContactRow(id=uuid.uuid4(), occurred_at=TIMES[0], name=None, phone=None, email=None)
    with pytest.raises(TypeError, match="AckRow, ReporterContactRow"):
        arrow_table([ack, contact])


def _record(topic: str, value: bytes | None) -> ConsumerRecord[bytes, bytes]:
    return ConsumerRecord(topic, 0, 0, 0, 0, None, value, None, 0, len(value or b""), [])


def test_the_sink_counts_the_events_of_batched_records_toward_its_batch() -> None:
    batch = join([b'{"n":1}', b'{"n":2}', b'{"n":3}'])
    assert events_in(_record(events_topic(Kind.CITIZEN_REPORT), batch)) == 3
    assert events_in(_record(events_topic(Kind.PERMIT_FILING), b'{"n":1}')) == 1
    # Other topics carry one record a row (an alert, a dead letter), whatever their bytes hold.
    assert events_in(_record(DLQ, batch)) == 1
    assert events_in(_record(INCIDENTS, None)) == 1
