"""The sink writes only the last version of an incident a batch holds, and the same rows as before."""

from __future__ import annotations

import asyncio
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import msgspec
import pytest
from aiokafka import ConsumerRecord, TopicPartition

from posko.settings import load_settings
from schemas.incidents import Incident
from schemas.topics import INCIDENTS
from sinks.clickhouse.migrations import READ_FINAL
from sinks.clickhouse.store import ChdbStore
from sinks.clickhouse.writer import ClickHouseWriter, latest_incidents
from tests.incident_samples import flood_incident, next_version, singleton_incident

DB = "sink_incidents"


@pytest.fixture(scope="module")
def store(chdb_store: ChdbStore) -> ChdbStore:
    """The session's chdb with Posko's tables in a database of this module."""
    migrated = ChdbStore(chdb_store.path, database=DB)
    migrated.migrate()
    return migrated


def _record(offset: int, incident: Incident) -> ConsumerRecord[bytes, bytes]:
    value = msgspec.json.encode(incident)
    return ConsumerRecord(INCIDENTS, 0, offset, 0, 0, str(incident.id).encode(), value, None, 0,
                          len(value), [])


def _write(store: ChdbStore, records: list[ConsumerRecord[bytes, bytes]]) -> None:
    with ThreadPoolExecutor(1) as executor:
        writer = ClickHouseWriter(load_settings({}), store, executor)
        asyncio.run(writer.write({TopicPartition(INCIDENTS, 0): records}))


def test_only_the_last_version_of_each_incident_in_a_batch_is_made_into_rows() -> None:
    flood = flood_incident("sink-latest")
    other = singleton_incident("sink-latest", flood.hazard, "Banjir di Pasar Angso Duo", "15.71.01")
    versions = [flood, other, next_version(flood, title="v2"), next_version(next_version(flood), title="v3"),
                flood]  # the first version redelivered after a crash: older, though it comes last
    kept = latest_incidents([_record(n, v) for n, v in enumerate(versions)])
    assert [(r.offset, msgspec.json.decode(r.value, type=Incident).title) for r in kept] == [
        (1, other.title), (3, "v3")]


def test_a_batch_of_versions_stores_what_its_last_versions_say(store: ChdbStore) -> None:
    flood = flood_incident("sink-batch", items=30)
    smaller = next_version(flood, items=flood.items[:10], title="Banjir — 10 butir")
    _write(store, [_record(0, flood), _record(1, smaller)])
    assert store.scalar(f"SELECT count(), any(title), any(version) FROM {DB}.incidents FINAL "
                        f"WHERE id = '{flood.id}'") == f"1\t{smaller.title}\t{smaller.version}"
    # The signals of the last version only: the earlier version's other 20 items wrote no rows.
    stored = set(store.scalar(f"SELECT groupArray(toString(item_id)) FROM {DB}.incident_signals FINAL "
                              f"WHERE incident_id = '{flood.id}'").strip("[]").replace("'", "").split(","))
    assert stored == {str(item.id) for item in smaller.items}


READERS = ("grafana", "documents", "satudata", "posko", "decision", "sinks/push", "bench")
# A read of an incident table, by any of the names the code gives the database.
_UNFINAL = re.compile(r"(?:FROM|JOIN)\s+(?:posko|\{[a-z_.]+\})\.(?:incidents|incident_signals)\b(?!\s+FINAL)")


def test_every_reader_reads_the_incident_tables_with_final() -> None:
    # The sink leaves replaced versions to the merges (READ_FINAL): a read without FINAL would
    # count an incident once per version still unmerged.
    assert READ_FINAL == {"incidents", "incident_signals"}
    root = Path(__file__).resolve().parent.parent
    found = [f"{path.relative_to(root)}: {match.group(0)}"
             for folder in READERS for path in sorted((root / folder).rglob("*"))
             if path.suffix in (".py", ".json") for match in _UNFINAL.finditer(path.read_text())]
    assert not found, found
    # (the pattern finds what it should: a query written without FINAL)
    assert _UNFINAL.search("SELECT count() FROM {db}.incident_signals WHERE incident_id = 1")
