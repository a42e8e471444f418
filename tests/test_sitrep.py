"""Sitrep documents: the timeline read from real chdb, as Markdown and HTML (no broker here;
tests/test_sitrep_stack.py takes the records through the real broker and sink to a PDF)."""

from __future__ import annotations

import uuid
from html.parser import HTMLParser

import pytest

from documents.sitrep import DRILL_BANNER, Format, render
from documents.timeline import EntryKind, Timeline, UnknownIncident, assemble
from sinks.clickhouse.migrations import KEYS, VERSIONED
from sinks.clickhouse.store import ChdbStore
from sinks.clickhouse.writer import ROW_MAKERS
from tests.sitrep_samples import IN_ORDER, T0, Sample, at, drill_incident

DB = "sitrep_unit"


@pytest.fixture(scope="module")
def store(chdb_store: ChdbStore) -> ChdbStore:
    """The session's chdb with Posko's tables in a database of this module."""
    migrated = ChdbStore(chdb_store.path, database=DB)
    migrated.migrate()
    return migrated


def _store(store: ChdbStore, sample: Sample) -> None:
    """The sample's records into the tables as the sink would: its own row makers and inserts."""
    for topic, _, value in sample.records:
        for table, row in ROW_MAKERS[topic](value):
            if table in VERSIONED:
                store.insert_newer(table, [row], KEYS.get(table, "id"))
            else:
                store.insert_new(table, [row])


def _timeline(store: ChdbStore, incident: uuid.UUID) -> Timeline:
    return assemble(lambda sql: store.execute(sql, "JSONEachRow"), incident, DB, now=at(90))


def _in_order(text: str, expected: list[str]) -> list[int]:
    """Where each expected piece is found after the previous one (-1: not there in order)."""
    found, start = [], 0
    for piece in expected:
        start = text.find(piece, start)
        found.append(start)
        if start < 0:
            break
    return found


def test_timeline_holds_each_kind_once_in_time_order(store: ChdbStore) -> None:
    sample = drill_incident()
    _store(store, sample)
    timeline = _timeline(store, sample.incident_id)
    kinds = [e.kind for e in timeline.entries]
    assert kinds == [EntryKind.SINYAL, EntryKind.SINYAL, EntryKind.KEPUTUSAN, EntryKind.STATUS_DARURAT,
                     EntryKind.TUGAS, EntryKind.TUGAS, EntryKind.ESKALASI, EntryKind.TUGAS, EntryKind.SITREP,
                     EntryKind.KEPUTUSAN]
    assert [e.at for e in timeline.entries] == sorted(e.at for e in timeline.entries)
    assert timeline.entries[0].at == T0
    # The refused command is in the annex, not in the timeline; the task is there as it is now.
    [refused] = timeline.refusals
    assert (refused.actor, refused.status, refused.reason) == ("Cici", 404, "tugas ini bukan untuk Anda")
    [task] = timeline.tasks
    assert (task.title, task.status, task.escalation_level) == ("Evakuasi warga RT 03", "selesai", 0)
    assert timeline.incident.drill == 1 and timeline.incident.closed_reason == "Air surut, latihan selesai"


def test_markdown_tells_the_timeline_in_indonesian_and_wib(store: ChdbStore) -> None:
    sample = drill_incident()
    _store(store, sample)
    text = render(_timeline(store, sample.incident_id), Format.MD).decode()
    assert text.startswith("# Laporan Situasi (Sitrep): Latihan banjir Bangko\n")
    assert f"> **{DRILL_BANNER}**" in text
    timeline = text[text.index("## Kronologi"):]
    assert -1 not in _in_order(timeline, IN_ORDER), _in_order(timeline, IN_ORDER)
    # 01:00 UTC is 08:00 WIB; the header says the date in words.
    assert "| 12/08 08:00 | Sinyal | Peringatan: Sungai Batang Merangin meluap (Kabupaten Merangin) |" in text
    assert "- **Mulai:** 12 Agustus 2026 08:00 WIB" in text
    assert "SK 360/Kep.12/BPBD/2026" in timeline and "Budi (petugas lapangan)" in timeline
    assert "## Lampiran: perintah yang ditolak" in text and "404 tidak ditemukan" in text
    assert "Air surut, latihan selesai" in timeline


class _Texts(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.texts: list[str] = []
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)

    def handle_data(self, data: str) -> None:
        self.texts.append(data)


def test_html_escapes_what_people_wrote_and_carries_the_map(store: ChdbStore) -> None:
    sample = drill_incident()
    hostile = '<script>alert("x")</script> | **tebal**'
    records = [(topic, key, value.replace(b"40 KK mengungsi", hostile.replace('"', '\\"').encode()))
               for topic, key, value in sample.records]
    _store(store, Sample(sample.incident_id, sample.task_id, records, sample.audit_ids))
    timeline = _timeline(store, sample.incident_id)
    page = render(timeline, Format.HTML).decode()
    parsed = _Texts()
    parsed.feed(page)
    assert "script" not in parsed.tags
    assert any(hostile in t for t in parsed.texts), "the note is shown as text"
    assert parsed.tags.count("svg") == 1 and parsed.tags.count("path") == 11  # 11 kabupaten/kota
    assert '<path d="M' in page and 'fill="#d73027"' in page  # Merangin filled
    assert "LATIHAN" in page and '<html lang="id">' in page
    markdown = render(timeline, Format.MD).decode()
    assert "\\| **tebal**" in markdown, "a pipe in a note does not break the table"


def test_an_unknown_incident_is_said_so(store: ChdbStore) -> None:
    with pytest.raises(UnknownIncident, match=r"no incident .* is stored"):
        _timeline(store, uuid.uuid4())
