"""The command room's Grafana dashboards as code: one per sector and an overview for the main screen."""

from __future__ import annotations

import json
from collections.abc import Iterator
from itertools import count
from pathlib import Path
from typing import Any

from grafana_foundation_sdk.builders import dashboard as dash
from grafana_foundation_sdk.builders import stat, table, timeseries
from grafana_foundation_sdk.cog import builder as cogbuilder
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models import dashboard as model

from grafana import queries
from grafana.clickhouse import ClickHouseQueryBuilder, datasource_ref
from schemas.regions import Region
from schemas.sectors import CATALOGUE, SECTOR_NAMES, Cadence, Indicator, Sector, indicators_of

DASHBOARDS_DIR = Path(__file__).resolve().parent / "dashboards"
TIMEZONE = "Asia/Jakarta"
FOLDER_TAGS = ["posko"]
OVERVIEW_UID = "posko-ringkasan"
ALL = "$__all"

Panel = cogbuilder.Builder[model.Panel]


def sector_uid(sector: Sector) -> str:
    """The dashboard uid of a sector."""
    return f"posko-{sector.value.replace('_', '-')}"


def sector_number(sector: Sector) -> int:
    """The sector's number in the room (1 Sosial dan Kependudukan … 11 Kebencanaan)."""
    return list(Sector).index(sector) + 1


def _region_variable() -> dash.CustomVariable:
    options = [model.VariableOption(selected=True, text="All", value=ALL)] + [
        model.VariableOption(selected=False, text=queries._short(r), value=str(r)) for r in Region
    ]
    values = ", ".join(f"{queries._short(r)} : {r}" for r in Region)
    return (
        dash.CustomVariable(queries.REGION_VARIABLE)
        .label("Kabupaten/Kota")
        .values(values)
        .multi(True)
        .include_all(True)
        .allow_custom_value(False)
        .current(model.VariableOption(selected=True, text=["All"], value=[ALL]))
        .options(options)
    )


def _drill_variable() -> dash.CustomVariable:
    # Drills stay off the room's screens unless asked for: tanpa latihan is the default.
    options = [model.VariableOption(selected=value == "tanpa", text=text, value=value)
               for value, text in queries.DRILL_CHOICES.items()]
    return (
        dash.CustomVariable(queries.DRILL_VARIABLE)
        .label("Latihan")
        .values(", ".join(f"{text} : {value}" for value, text in queries.DRILL_CHOICES.items()))
        .multi(False)
        .include_all(False)
        .allow_custom_value(False)
        .current(model.VariableOption(selected=True, text="Tanpa latihan", value="tanpa"))
        .options(options)
    )


def _unit(indicator: Indicator) -> str:
    return "percent" if indicator.unit == "%" else f"suffix: {indicator.unit}"


def _normal_thresholds(indicator: Indicator) -> dash.ThresholdsConfig:
    steps = [model.Threshold(value=None, color="green")]
    if indicator.normal_low is not None:
        steps = [model.Threshold(value=None, color="red"), model.Threshold(value=indicator.normal_low,
                                                                         color="green")]
    if indicator.normal_high is not None:
        steps.append(model.Threshold(value=indicator.normal_high, color="red"))
    return dash.ThresholdsConfig().mode(model.ThresholdsMode.ABSOLUTE).steps(steps)


def _count_thresholds(warn_at: float) -> dash.ThresholdsConfig:
    return dash.ThresholdsConfig().mode(model.ThresholdsMode.ABSOLUTE).steps(
        [model.Threshold(value=None, color="green"), model.Threshold(value=warn_at, color="orange")])


def _stat(title: str, sql: str, *, unit: str = "none", thresholds: dash.ThresholdsConfig | None = None,
          description: str = "", width: int = 6) -> stat.Panel:
    panel = (
        stat.Panel().title(title).description(description).datasource(datasource_ref())
        .with_target(ClickHouseQueryBuilder(sql).table()).unit(unit).height(4).span(width)
    )
    return panel.thresholds(thresholds) if thresholds is not None else panel


def _table(title: str, sql: str, *, width: int = 24, height: int = 9, description: str = "") -> table.Panel:
    return (
        table.Panel().title(title).description(description).datasource(datasource_ref())
        .with_target(ClickHouseQueryBuilder(sql).table()).height(height).span(width)
    )


def _series(title: str, sql: str, *, unit: str = "none", width: int = 12,
            thresholds: dash.ThresholdsConfig | None = None) -> timeseries.Panel:
    panel = (
        timeseries.Panel().title(title).datasource(datasource_ref())
        .with_target(ClickHouseQueryBuilder(sql).time_series()).unit(unit).height(8).span(width)
        .line_width(2).fill_opacity(10).span_nulls(True)
    )
    return panel.thresholds(thresholds) if thresholds is not None else panel


def _dashboard(uid: str, title: str, tags: list[str], panels: list[Panel], time_from: str,
               description: str, *, drills: bool = False) -> model.Dashboard:
    board = (
        dash.Dashboard(title).uid(uid).description(description).tags(FOLDER_TAGS + tags)
        .timezone(TIMEZONE).week_start("monday").time(time_from, "now").refresh("1m")
        .editable().with_variable(_region_variable())
        .link(dash.DashboardLink("Sektor lain").type(model.DashboardLinkType.DASHBOARDS)
              .tags(FOLDER_TAGS).as_dropdown(True).include_vars(True).keep_time(True))
    )
    if drills:  # the dashboard shows incidents or escalations
        board.with_variable(_drill_variable())
    ids = count(1)
    for panel in panels:
        board.with_panel(panel.id(next(ids)))  # type: ignore[attr-defined]
    return board.build()


def _indicator_panels(sector: Sector) -> list[Panel]:
    indicators = indicators_of(sector)
    panels: list[Panel] = []
    for indicator in indicators:
        normal = _range_text(indicator)
        panels.append(_stat(
            indicator.name, queries.indicator_now(indicator), unit=_unit(indicator),
            thresholds=_normal_thresholds(indicator), width=max(4, 24 // max(1, min(len(indicators), 6))),
            description=f"{indicator.agency}; dilaporkan per {indicator.cadence.value}; "
                        f"{_aggregation_text(indicator)}{normal}",
        ))
    if indicators:
        panels.append(_table("Nilai terkini per kabupaten/kota",
                             queries.sector_table([i.code for i in indicators]), height=10))
    for indicator in indicators:
        if indicator.site_kind is not None and indicator.code != "kunjungan_wisatawan":
            panels.append(_table(f"{indicator.name} per {indicator.site_kind}",
                                 queries.per_site_table(indicator), width=12, height=10))
        if indicator.cadence is not Cadence.MONTHLY:
            panels.append(_series(f"{indicator.name} ({indicator.unit})", queries.indicator_series(indicator),
                                  unit=_unit(indicator)))
    return panels


def _range_text(indicator: Indicator) -> str:
    if indicator.normal_low is None and indicator.normal_high is None:
        return ""
    low = f"{indicator.normal_low:g}" if indicator.normal_low is not None else "…"
    high = f"{indicator.normal_high:g}" if indicator.normal_high is not None else "…"
    return f"; normal {low} – {high} {indicator.unit}"


def _aggregation_text(indicator: Indicator) -> str:
    how = {"sum": "dijumlahkan", "avg": "dirata-ratakan", "max": "nilai tertinggi"}[indicator.aggregation]
    return f"{how} antar lokasi dan kabupaten/kota"


def _operational_panels(sector: Sector) -> list[Panel]:
    if sector is Sector.PERIJINAN:
        return [
            _stat("Permohonan dalam proses", queries.permits_in_process(), width=8),
            _stat("Permohonan lewat SLA", queries.permits_overdue_count(), width=8,
                  thresholds=_count_thresholds(1),
                  description="Belum diputus, jam SLA berjalan (tidak sedang konfirmasi persyaratan), "
                              "dan batas SLA sudah lewat"),
            _stat("Laporan warga kategori perizinan", _category_count("perizinan"), width=8),
            _table("Permohonan per kabupaten/kota", queries.permits_overdue_by_region(), width=10),
            _table("Permohonan paling lama lewat SLA", queries.permits_overdue_list(), width=14),
            _series("Perubahan status izin", queries.permit_status_changes(), width=24),
        ]
    if sector is Sector.PELAPORAN:
        return [
            _stat("Laporan warga", queries.report_count(), width=12),
            _stat("Laporan mendesak", _urgent_count(), width=12, thresholds=_count_thresholds(1)),
            _series("Laporan warga per kanal", queries.reports_by_channel(), width=24),
            _table("Laporan per kabupaten/kota dan kategori", queries.reports_by_category(), width=12,
                   height=12),
            _table("Laporan mendesak terbaru", queries.urgent_reports(), width=12, height=12),
        ]
    if sector is Sector.KEBENCANAAN:
        return [
            _table("Peringatan bencana yang berlaku", queries.active_disaster_alerts(), height=8),
            _series("Peringatan per tingkat", queries.alerts_by_severity(), width=12),
            _table("Kejadian bencana per kabupaten/kota", queries.disaster_events(), width=12, height=8),
        ]
    if sector is Sector.PARIWISATA:
        visitors = next(i for i in indicators_of(sector) if i.code == "kunjungan_wisatawan")
        return [_table("Kunjungan per objek wisata", queries.site_totals(visitors), height=8)]
    return []


def _category_count(category: str) -> str:
    return (f"SELECT count() AS value FROM {queries.DB}.citizen_reports FINAL WHERE category = '{category}' "
            f"AND $__timeFilter(occurred_at) AND {queries.IN_REGIONS}")


def _urgent_count() -> str:
    return (f"SELECT count() AS value FROM {queries.DB}.alerts FINAL WHERE event_kind = 'citizen_report' "
            f"AND $__timeFilter(occurred_at) AND {queries.IN_REGIONS}")


def sector_dashboard(sector: Sector) -> model.Dashboard:
    """The dashboard of one sector: its operational feed and its indicators."""
    name = SECTOR_NAMES[sector]
    panels = _operational_panels(sector) + _indicator_panels(sector)
    return _dashboard(
        sector_uid(sector), f"{sector_number(sector)} · {name}", ["sektor"], panels, "now-7d",
        f"Sektor {name}: data terkini per kabupaten/kota Provinsi Jambi (waktu WIB)",
    )


def overview_dashboard() -> model.Dashboard:
    """The main screen: open incidents, escalations, alerts, overdue reports and permits, key indicators."""
    key = [i.code for i in CATALOGUE if i.key]
    panels: list[Panel] = [
        _stat("Peringatan", queries.alert_count(), thresholds=_count_thresholds(1), width=5),
        _stat("Laporan warga", queries.report_count(), width=4),
        _stat("Laporan lewat SLA", queries.reports_overdue_count(), thresholds=_count_thresholds(1),
              width=5, description="Laporan warga yang belum diverifikasi 3 hari kerja setelah diterima, "
                                   "atau belum ditindaklanjuti 5 hari kerja setelah didisposisikan"),
        _stat("Izin lewat SLA", queries.permits_overdue_count(), thresholds=_count_thresholds(1), width=5),
        _stat("Indikator kunci di luar normal", queries.abnormal_count(key), thresholds=_count_thresholds(1),
              width=5),
        _table("Insiden terbuka menurut prioritas", queries.open_incidents_by_priority(), width=6, height=10,
               description="Insiden (sinyal menurut bahaya, tempat dan waktu) yang belum selesai"),
        _table("Insiden terbuka", queries.open_incidents(), width=18, height=10,
               description="Latihan ditandai LATIHAN; variabel Latihan memilih tanpa, hanya atau semua"),
        _table("Peringkat wilayah", queries.region_ranking(), height=10,
               description="Kabupaten/kota yang perlu ditangani lebih dahulu, per bahaya: skor dan "
                           "alasan tiap bagian (risiko dasar, bahaya saat ini, dampak, kapasitas respons)"),
        _table("Eskalasi terakhir", queries.latest_escalations(), height=8,
               description="Insiden tak diterima tepat waktu, laporan lewat SLA dan tugas lewat tenggat, "
                           "terbaru dahulu"),
        _table("Peringatan sekarang", queries.alerts_now(), height=10),
        _table("Ringkasan per kabupaten/kota", queries.region_summary(key), height=13),
        _table("Indikator kunci di luar rentang normal", queries.out_of_range(key), width=14, height=10),
        _table("Izin paling lama lewat SLA", queries.permits_overdue_list(), width=10, height=10),
        _table("Laporan warga lewat SLA", queries.reports_overdue_list(), height=10,
               description="Hari kerja WIB, tanpa akhir pekan, libur nasional dan cuti bersama; "
                           "batas dalam WIB"),
        _series("Peringatan per tingkat", queries.alerts_by_severity(), width=24),
    ]
    return _dashboard(OVERVIEW_UID, "Posko Jambi · Ringkasan", ["ringkasan"], panels, "now-24h",
                      "Layar utama ruang komando: peringatan, laporan dan izin lewat SLA, indikator kunci",
                      drills=True)


def all_dashboards() -> Iterator[tuple[str, model.Dashboard]]:
    """(file name, dashboard) for the overview and the 11 sectors."""
    yield "00-ringkasan.json", overview_dashboard()
    for sector in Sector:
        yield f"{sector_number(sector):02d}-{sector.value.replace('_', '-')}.json", sector_dashboard(sector)


def to_json(board: model.Dashboard) -> str:
    """The dashboard JSON exactly as committed: indented, keys in the SDK's order, a final newline."""
    return json.dumps(board, cls=JSONEncoder, indent=2, ensure_ascii=False) + "\n"


def build(directory: Path = DASHBOARDS_DIR) -> list[Path]:
    """Write every dashboard's JSON under `directory`; remove stale ones; return the files."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, board in all_dashboards():
        path = directory / name
        path.write_text(to_json(board))
        written.append(path)
    for stale in set(directory.glob("*.json")) - set(written):
        stale.unlink()
    return written


def parse(data: dict[str, Any]) -> model.Dashboard:
    """Read dashboard JSON through the SDK's types (ClickHouse queries included)."""
    from grafana_foundation_sdk.cog.plugins import register_default_plugins

    from grafana.clickhouse import register

    register_default_plugins()
    register()
    return model.Dashboard.from_json(data)
