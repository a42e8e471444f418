"""Dashboards as code: every panel's SQL against real chdb loaded with all 11 sectors, and the JSON."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from grafana_foundation_sdk.models.dashboard import Panel

from grafana.clickhouse import PLUGIN_ID, ClickHouseQuery, Format, QueryType
from grafana.dashboards import DASHBOARDS_DIR, TIMEZONE, all_dashboards, parse, to_json
from grafana.macros import expand
from grafana.sample import load_history
from schemas.events import Channel, ReportCategory, ReportStatus, ReportStatusChange, StatusStep
from schemas.incidents import (
    Escalation,
    EscalationSubject,
    Hazard,
    Incident,
    IncidentStatus,
    Priority,
    escalation_id,
)
from schemas.regions import Region
from schemas.sectors import Sector
from schemas.workdays import WorkingCalendar
from sinks.clickhouse.incident_rows import escalation_row, incident_rows
from sinks.clickhouse.store import ChdbStore
from sinks.clickhouse.tables import ReportStatusRow, report_status_row
from tests.ranking_samples import ranking_row, region_score

NOW = datetime(2026, 8, 12, 4, 0, tzinfo=UTC)  # Wednesday 11:00 WIB in the karhutla season
RANGES = {"1 jam": timedelta(hours=1), "7 hari": timedelta(days=7)}


def _committed() -> dict[str, dict[str, Any]]:
    return {path.name: json.loads(path.read_text()) for path in sorted(DASHBOARDS_DIR.glob("*.json"))}


def _panels() -> Iterator[tuple[str, dict[str, Any]]]:
    for name, board in _committed().items():
        for panel in board["panels"]:
            yield f"{name}: {panel['title']}", panel


@pytest.fixture(scope="module")
def store(chdb_store: ChdbStore) -> ChdbStore:
    """The real chdb store with the sink's tables, loaded with simulated data for all 11 sectors."""
    load_history(chdb_store, NOW)
    _load_ranking(chdb_store)
    return chdb_store


def _load_ranking(store: ChdbStore) -> None:
    """Scores as the worker writes them (tests/ranking_samples.py stands in): Batang Hari computed
    twice (rank 2, then rank 1), Kerinci rank 2, and a drill's score for Tebo."""
    then, later = NOW - timedelta(minutes=50), NOW - timedelta(minutes=20)
    scores = [
        region_score(Region.BATANG_HARI, Hazard.BANJIR, 2, "RANK-TEST lama", at=then),
        region_score(Region.BATANG_HARI, Hazard.BANJIR, 1, "RANK-TEST 2 insiden Segera", at=later),
        region_score(Region.KERINCI, Hazard.LONGSOR, 2, "RANK-TEST 1 insiden Tinggi", at=later),
        region_score(Region.TEBO, Hazard.KARHUTLA, 3, "RANK-TEST latihan", at=later, drill=True),
    ]
    store.insert_rows("region_ranking", [ranking_row(s) for s in scores])


def test_store_holds_every_sector(store: ChdbStore) -> None:
    sectors = set(store.scalar("SELECT groupUniqArray(sector) FROM posko.sector_indicators")
                  .strip("[]").replace("'", "").split(","))
    # Pelaporan dan Sapa Warga is citizen reports; Perijinan and Kebencanaan also have events.
    assert sectors == {str(s) for s in Sector} - {Sector.PELAPORAN}
    for table in ("citizen_reports", "permit_filings", "disaster_alerts", "alerts"):
        assert int(store.scalar(f"SELECT count() FROM posko.{table}")) > 100, table
    assert int(store.scalar("SELECT uniqExact(region) FROM posko.sector_indicators")) == 11


def _expected_columns(panel: dict[str, Any], sql: str) -> list[str]:
    if panel["type"] == "timeseries":
        return ["time"]
    if panel["type"] == "stat":
        return ["value"]
    return list(dict.fromkeys(re.findall(r"`([^`]+)`", sql)))


@pytest.mark.parametrize("range_name", list(RANGES))
@pytest.mark.parametrize(("where", "panel"), list(_panels()), ids=[w for w, _ in _panels()])
def test_panel_query_returns_rows_with_its_columns(store: ChdbStore, where: str, panel: dict[str, Any],
                                                   range_name: str) -> None:
    [target] = panel["targets"]
    sql = expand(target["rawSql"], NOW - RANGES[range_name], NOW)
    result = json.loads(store.execute(sql, "JSON"))
    columns = [column["name"] for column in result["meta"]]
    assert result["data"], f"{where} returns nothing for {range_name}:\n{sql}"
    expected = _expected_columns(panel, target["rawSql"])
    if panel["type"] == "timeseries":
        assert columns[0] == "time" and columns[-1] == "value", columns
        assert any(row["value"] is not None for row in result["data"])
    else:
        assert columns == expected, where
    if panel["type"] == "stat":
        assert result["data"][0]["value"] is not None, where


def test_key_indicators_out_of_range_show_on_the_main_screen(store: ChdbStore) -> None:
    board = _committed()["00-ringkasan.json"]
    panel = next(p for p in board["panels"] if p["title"] == "Indikator kunci di luar rentang normal")
    rows = json.loads(store.execute(expand(panel["targets"][0]["rawSql"], NOW - timedelta(hours=1), NOW),
                                    "JSON"))["data"]
    flagged = {row["Indikator"] for row in rows}
    assert "ISPU PM2.5" in flagged, "August haze must be flagged"
    assert {row["Status"] for row in rows} <= {"Di atas normal", "Di bawah normal"}


def test_committed_json_is_what_the_code_builds() -> None:
    built = {name: to_json(board) for name, board in all_dashboards()}
    committed = {path.name: path.read_text() for path in DASHBOARDS_DIR.glob("*.json")}
    assert set(committed) == set(built), "run `posko dashboards build` and commit grafana/dashboards/"
    for name, text in built.items():
        assert committed[name] == text, f"{name} is stale: run `posko dashboards build` and commit it"


def test_json_reads_back_through_the_sdk_types_unchanged() -> None:
    for path in sorted(DASHBOARDS_DIR.glob("*.json")):
        text = path.read_text()
        board = parse(json.loads(text))
        assert to_json(board) == text, path.name
        assert board.schema_version == 41  # Grafana 12's dashboard schema
        assert board.timezone == TIMEZONE
        assert board.templating.list_val is not None
        # Only the overview shows incidents and escalations: only it has the drill filter.
        drills = ["latihan"] if path.name == "00-ringkasan.json" else []
        assert [v.name for v in board.templating.list_val] == ["wilayah", *drills]
        for panel in board.panels or []:
            assert isinstance(panel, Panel), "no rows: every panel is on the grid"
            for target in panel.targets or []:
                assert isinstance(target, ClickHouseQuery), (path.name, panel.title)
                assert target.datasource.type_val == PLUGIN_ID
                series = panel.type_val == "timeseries"
                assert target.format_val is (Format.TIME_SERIES if series else Format.TABLE)
                assert target.query_type is (QueryType.TIME_SERIES if series else QueryType.TABLE)


def test_one_dashboard_per_sector_plus_the_overview_with_indonesian_titles() -> None:
    boards = _committed()
    assert len(boards) == 12
    titles = [board["title"] for board in boards.values()]
    assert titles[0] == "Posko Jambi · Ringkasan"
    assert titles[1:] == [f"{n} · {name}" for n, name in enumerate([
        "Sosial dan Kependudukan", "Pertanian, Peternakan dan Hortikultura", "Perijinan",
        "Perindustrian dan Perdagangan", "Pendidikan", "Pelaporan dan Sapa Warga", "Pekerjaan Umum",
        "Pariwisata", "Koperasi dan UMKM", "Keuangan Daerah", "Kebencanaan"], start=1)]
    assert len({board["uid"] for board in boards.values()}) == 12


def test_dashboards_directory_is_the_provisioned_one() -> None:
    provider = (Path(__file__).resolve().parents[1] / "grafana" / "provisioning" / "dashboards"
                / "posko.yaml").read_text()
    assert "/var/lib/grafana/dashboards/posko" in provider


def test_bench_dashboards_prints_figures_beside_its_baseline(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "posko.cli", "bench", "dashboards", "--repeats", "1"],
                          capture_output=True, text=True, timeout=600,
                          env={**os.environ, "TMPDIR": str(tmp_path)})
    assert done.returncode == 0, done.stderr
    figures = json.loads(done.stdout)
    assert set(figures["ranges"]) == {"1h", "7d"}
    for name, found in figures["ranges"].items():
        assert found["panels"] == len(list(_panels())), name
        assert found["baseline_median_ms"] > 0 and found["ratio"] > 0


TABLE = "posko.report_status_changes"


def _report_row(tracking: str, agency: str | None, *steps: tuple[str, datetime]) -> list[ReportStatusRow]:
    """A report_status_changes row as the sink writes it (its SLA deadline from the calendar)."""
    history = [StatusStep(ReportStatus(s), at, "officer:test") for s, at in steps]
    change = ReportStatusChange(
        id=uuid.uuid4(), tracking=tracking, report_id=uuid.uuid5(uuid.NAMESPACE_URL, tracking),
        channel=Channel.WEB, category=ReportCategory.INFRASTRUKTUR, region=Region("15.71"),
        status=history[-1].status, changed_at=history[-1].at, changed_by="officer:test",
        history=history, agency=agency)
    return [report_status_row(change, WorkingCalendar())]


def test_overdue_reports_count_working_days_over_a_weekend_and_independence_day(store: ChdbStore) -> None:
    # Received Friday 14 Aug 2026 10:00 WIB: Sat, Sun and Mon 17 Aug (Hari Kemerdekaan) are off,
    # so verification is due at the end of Thursday 20 Aug (23:59:59.999 WIB), not on Monday.
    received = datetime(2026, 8, 14, 3, 0, tzinfo=UTC)
    rows = [
        _report_row("SLA-TEST-A", None, ("diterima", received)),
        _report_row("SLA-TEST-B", None, ("diterima", received),
                    ("diverifikasi", received + timedelta(days=1))),
        # Disposed Tuesday 18 Aug: 19, 20, 21, 24 Aug, then 25 Aug (Maulid Nabi) is off: due 26 Aug.
        _report_row("SLA-TEST-C", "Dinas PUPR", ("diterima", received),
                    ("didisposisikan", datetime(2026, 8, 18, 2, 0, tzinfo=UTC))),
    ]
    # Every status change is a row: the report's latest one decides (as the sink stores them).
    for row in rows:
        store.insert_new("report_status_changes", row)
    store.insert_new("report_status_changes", _report_row("SLA-TEST-A", None, ("diterima", received)))
    board = _committed()["00-ringkasan.json"]
    panel = next(p for p in board["panels"] if p["title"] == "Laporan warga lewat SLA")
    count = next(p for p in board["panels"] if p["title"] == "Laporan lewat SLA")

    def run(target: dict[str, Any], at: datetime) -> list[dict[str, Any]]:
        # The panel's SQL over this test's reports only (the store also holds the sample's).
        sql = expand(target["targets"][0]["rawSql"], at - timedelta(hours=1), at).replace(
            f"{TABLE} FINAL", f"(SELECT * FROM {TABLE} FINAL WHERE startsWith(tracking, 'SLA-TEST-'))")
        assert "SLA-TEST-" in sql, sql
        data: list[dict[str, Any]] = json.loads(store.execute(sql, "JSON"))["data"]
        return data

    def overdue(at: datetime) -> dict[str, dict[str, Any]]:
        return {row["Nomor pelacakan"]: row for row in run(panel, at)}

    def counted(at: datetime) -> int:
        return int(run(count, at)[0]["value"])

    # Monday 17 Aug and Thursday 20 Aug 23:59 WIB: within the 3 working days.
    for at in (datetime(2026, 8, 17, 5, 0, tzinfo=UTC), datetime(2026, 8, 20, 16, 59, 59, tzinfo=UTC)):
        assert overdue(at) == {} and counted(at) == 0, at
    # Friday 21 Aug 00:00 WIB: A is late; B was verified; C's follow-up runs to 26 Aug.
    friday = datetime(2026, 8, 20, 17, 0, tzinfo=UTC)
    late = overdue(friday)
    assert list(late) == ["SLA-TEST-A"]
    assert late["SLA-TEST-A"]["Batas SLA"].startswith("2026-08-20 16:59:59.999")
    assert late["SLA-TEST-A"]["Status"] == "diterima" and late["SLA-TEST-A"]["Kategori"] == "infrastruktur"
    assert late["SLA-TEST-A"]["Kabupaten/Kota"] == "Kota Jambi" and late["SLA-TEST-A"]["Terlambat (jam)"] == 0
    assert counted(friday) == 1
    # Tuesday 25 Aug is Maulid Nabi: C is not late yet; on Thursday 27 Aug 00:00 WIB it is.
    assert list(overdue(datetime(2026, 8, 25, 16, 0, tzinfo=UTC))) == ["SLA-TEST-A"]
    thursday = overdue(datetime(2026, 8, 26, 17, 0, tzinfo=UTC))
    assert sorted(thursday) == ["SLA-TEST-A", "SLA-TEST-C"]
    assert thursday["SLA-TEST-C"]["Tahap"] == "Tindak lanjut (5 hari kerja)"
    assert thursday["SLA-TEST-A"]["Terlambat (jam)"] == 6 * 24
    assert counted(datetime(2026, 8, 26, 17, 0, tzinfo=UTC)) == 2


def _drill_incident(title: str, drill: bool) -> tuple[Incident, Escalation]:
    """An open incident in Kerinci and its escalation, as the worker would write them."""
    at = NOW - timedelta(minutes=30)
    incident = Incident(
        id=uuid.uuid4(), version=1, hazard=Hazard.BANJIR, title=title, priority=Priority.SEGERA,
        status=IncidentStatus.BARU, regions=[Region("15.01")], first_at=at, last_at=at, items=[],
        signal_count=0, opened_at=at, updated_at=at, drill=drill, manual=True)
    escalation = Escalation(
        id=escalation_id(str(incident.id), 1), subject=EscalationSubject.INCIDENT,
        subject_id=str(incident.id), level=1, role="supervisor", regions=[Region("15.01")],
        headline=title, reason="belum diterima", due_at=at, fired_at=at + timedelta(minutes=10),
        drill=drill)
    return incident, escalation


def test_drills_are_left_out_unless_the_latihan_variable_asks_for_them(store: ChdbStore) -> None:
    real, real_step = _drill_incident("DRILL-TEST banjir sungguhan", drill=False)
    drill, drill_step = _drill_incident("DRILL-TEST banjir latihan", drill=True)
    for incident, step in ((real, real_step), (drill, drill_step)):
        for table, row in incident_rows(incident):
            store.insert_newer(table, [row])
        store.insert_new("escalations", [escalation_row(step)])
    board = _committed()["00-ringkasan.json"]
    [variable] = [v for v in board["templating"]["list"] if v["name"] == "latihan"]
    assert variable["current"]["value"] == "tanpa", "drills are off the screens by default"
    tables = {"Insiden terbuka": "Insiden", "Eskalasi terakhir": "Perihal"}

    def shown(title: str, drills: str) -> dict[str, str]:
        panel = next(p for p in board["panels"] if p["title"] == title)
        sql = expand(panel["targets"][0]["rawSql"], NOW - timedelta(hours=1), NOW,
                     regions=[Region("15.01")], drills=drills)
        rows = json.loads(store.execute(sql, "JSON"))["data"]
        return {row[tables[title]]: row["Latihan"] for row in rows
                if row[tables[title]].startswith("DRILL-TEST")}

    for title in tables:
        assert shown(title, "tanpa") == {real.title: ""}, title
        assert shown(title, "hanya") == {drill.title: "LATIHAN"}, title
        assert shown(title, "semua") == {real.title: "", drill.title: "LATIHAN"}, title
    counts = next(p for p in board["panels"] if p["title"] == "Insiden terbuka menurut prioritas")

    def segera(drills: str) -> int:
        sql = expand(counts["targets"][0]["rawSql"], NOW - timedelta(hours=1), NOW,
                     regions=[Region("15.01")], drills=drills)
        rows = json.loads(store.execute(sql, "JSON"))["data"]
        return sum(int(row["Insiden"]) for row in rows if row["Prioritas"] == "Segera")

    assert segera("semua") == segera("tanpa") + 1 == segera("hanya") + segera("tanpa")


def test_the_ranking_panel_shows_each_region_and_hazard_once_latest_first_with_its_reasons(
        store: ChdbStore) -> None:
    board = _committed()["00-ringkasan.json"]
    panel = next(p for p in board["panels"] if p["title"] == "Peringkat wilayah")

    def shown(drills: str) -> list[tuple[str, int, str, str]]:
        sql = expand(panel["targets"][0]["rawSql"], NOW - timedelta(hours=1), NOW, drills=drills)
        rows = json.loads(store.execute(sql, "JSON"))["data"]
        return [(row["Kabupaten/Kota"], int(row["Peringkat"]), row["Bahaya"], row["Latihan"]) for row in rows
                if "RANK-TEST" in row["Alasan"]]

    assert shown("tanpa") == [("Batang Hari", 1, "Banjir", ""), ("Kerinci", 2, "Tanah longsor", "")]
    assert shown("hanya") == [("Tebo", 3, "Karhutla", "LATIHAN")]
    sql = expand(panel["targets"][0]["rawSql"], NOW - timedelta(hours=1), NOW)
    why = json.loads(store.execute(sql, "JSON"))["data"][0]["Alasan"]
    assert "bahaya +0.36: RANK-TEST 2 insiden Segera" in why and "RANK-TEST lama" not in why
    assert "indeks risiko BNPB belum tersedia" in why  # no risk index invented
    # The range's end is the time shown: before the second computation, the first one's rank.
    earlier = expand(panel["targets"][0]["rawSql"], NOW - timedelta(hours=1), NOW - timedelta(minutes=30))
    rows = json.loads(store.execute(earlier, "JSON"))["data"]
    assert [(r["Kabupaten/Kota"], int(r["Peringkat"])) for r in rows if "RANK-TEST lama" in r["Alasan"]] == [
        ("Batang Hari", 2)]
