"""The Satu Data catalogue and its SQL, on chdb in this process: definitions, dictionaries, suppression."""

from __future__ import annotations

import json
import uuid

import pytest

from satudata.catalogue import Classification, catalogue
from satudata.downloads import last_csv_record
from satudata.queries import dataset_sql
from satudata.search import SearchQueryError, parse, sort_key
from schemas.sectors import CATALOGUE
from sinks.clickhouse.store import ChdbStore

DB = "satudata_catalogue"
@pytest.fixture(scope="module")
def store(chdb_store: ChdbStore) -> ChdbStore:
    """The session's chdb with Posko's tables in a database of this module."""
    migrated = ChdbStore(chdb_store.path, database=DB)
    migrated.migrate()
    return migrated


def test_every_sector_indicator_is_in_exactly_one_dataset() -> None:
    families = [code for d in catalogue().dataset for code in d.indicators]
    assert sorted(families) == sorted(i.code for i in CATALOGUE)


def test_every_dataset_has_its_metadata_and_a_complete_dictionary() -> None:
    found = catalogue()
    for dataset in found.dataset:
        assert dataset.title and dataset.notes and dataset.title_en and dataset.notes_en, dataset.name
        assert found.organization_of(dataset).title.endswith("Provinsi Jambi"), dataset.name
        assert found.licence_of(dataset) == "CC-BY-4.0"
        for column in found.columns(dataset):
            assert column.title and column.description, (dataset.name, column.name)
    assert {d.classification for d in found.dataset} == set(Classification)
    assert all(d.classification is not Classification.DIKECUALIKAN for d in found.served)


def test_each_query_gives_exactly_the_dictionary_columns(store: ChdbStore) -> None:
    found = catalogue()
    for dataset in found.served:
        out = store.execute(f"SELECT * FROM ({dataset_sql(dataset, DB, 5)}) LIMIT 0", "JSONCompact")
        names = [m["name"] for m in json.loads(out)["meta"]]
        assert names == [c.name for c in found.columns(dataset)], dataset.name


def test_no_query_reads_a_personal_column() -> None:
    for dataset in catalogue().served:
        sql = dataset_sql(dataset, DB, 5)
        for column in ("reporter_contacts", " text", "title AS", "changed_by", "note", " nib", "tracking"):
            assert column not in sql, (dataset.name, column)


def test_small_report_counts_and_victims_are_shown_as_under_the_threshold(store: ChdbStore) -> None:
    rows = [("15.71", "infrastruktur")] * 7 + [("15.01", "kesehatan")] * 2
    values = ", ".join(
        f"('{uuid.uuid4()}', 'uji', now64(3), now64(3), '{region}', 1, 'web', '{category}', 'judul', 'isi')"
        for region, category in rows)
    store.execute(f"INSERT INTO {DB}.citizen_reports (id, source, occurred_at, received_at, region, "
                  f"schema_version, channel, category, title, text) VALUES {values}")
    reports = next(d for d in catalogue().dataset if d.name == "statistik-laporan-warga")
    got = store.execute(f"SELECT kode_wilayah, kategori, status, jumlah FROM ({dataset_sql(reports, DB, 5)}) "
                        "ORDER BY kode_wilayah", "TabSeparated").decode().split("\n")
    assert got[:2] == ["15.01\tkesehatan\tditerima\t<5", "15.71\tinfrastruktur\tditerima\t7"]
    store.execute(f"INSERT INTO {DB}.incidents (id, version, hazard, title, priority, status, regions, "
                  "kecamatan, centre_lat, centre_lon, radius_km, first_at, last_at, signal_count, "
                  "report_count, victims, updated_at, opened_at) VALUES "
                  f"('{uuid.uuid4()}', 1, 'banjir', 'Budi 0812', 'tinggi', "
                  "'selesai', ['15.04', '15.05'], ['Muara Bulian'], -1.7123, 103.2789, 5, now64(3), "
                  "now64(3), 9, 3, 0, now64(3), now64(3))")
    # A closed drill (latihan) is no open data: the dataset leaves it out (one row is read below).
    store.execute(f"INSERT INTO {DB}.incidents (id, version, hazard, title, priority, status, regions, "
                  "first_at, last_at, signal_count, updated_at, opened_at, drill) VALUES "
                  f"('{uuid.uuid4()}', 1, 'gempa', 'Latihan', 'segera', 'selesai', ['15.71'], now64(3), "
                  "now64(3), 1, now64(3), now64(3), 1)")
    incidents = next(d for d in catalogue().dataset if d.name == "insiden-selesai")
    row = json.loads(store.execute(f"SELECT * FROM ({dataset_sql(incidents, DB, 5)})", "JSONEachRow"))
    assert row["ringkasan"] == "Banjir di Kabupaten Batang Hari, Kabupaten Muaro Jambi"
    assert (row["jumlah_laporan"], row["korban"], row["lintang_pusat"]) == ("<5", "0", -1.71)
    assert "Budi" not in json.dumps(row)


def test_search_reads_ckan_query_syntax_and_refuses_unknown_fields() -> None:
    clauses = parse('harga +organization:disperindag -tags:"karhutla" groups:(kebencanaan OR pertanian)')
    assert [(c.field, c.values, c.negated) for c in clauses] == [
        (None, ["harga"], False), ("organization", ["disperindag"], False), ("tags", ["karhutla"], True),
        ("groups", ["kebencanaan", "pertanian"], False)]
    assert parse("*:*") == []
    assert sort_key("score desc, name asc") == [("score", True), ("name", False)]
    with pytest.raises(SearchQueryError, match="tidak dikenal"):
        parse("sandi:rahasia")
    with pytest.raises(SearchQueryError, match="urutan"):
        sort_key("name sideways")


def test_the_last_csv_record_is_found_past_quoted_newlines() -> None:
    data = b'1,"a"\n2,"b\nc, ""d"""\n'
    assert last_csv_record(data) == ["2", 'b\nc, "d"']
    assert last_csv_record(b"") is None
