"""The SQL behind every panel, written for the ClickHouse plugin's macros and Grafana's variables.

Every query reads Posko's tables in the `posko` database and filters by the `wilayah` variable
(kabupaten/kota codes). Times are stored in UTC; Grafana shows them in WIB. Indicator queries
look back one extra period before the range (`$__fromTime`/`$__toTime` minus the cadence) so a
daily or monthly figure in effect during the range is shown even when the range is one hour.
"""

from __future__ import annotations

from datetime import timedelta

from schemas.events import FINAL_STATUSES, SLA_PAUSES
from schemas.regions import REGION_NAMES, Region
from schemas.sectors import CADENCE_SPAN, Aggregation, Indicator

DB = "posko"
REGION_VARIABLE = "wilayah"
IN_REGIONS = f"region IN (${{{REGION_VARIABLE}:singlequote}})"
LATEST_LOOKBACK = timedelta(days=62)  # how old a "latest" reading may be (two monthly periods)


def _short(region: Region) -> str:
    return REGION_NAMES[region].removeprefix("Kabupaten ")


def _quoted(values: list[str]) -> str:
    return "[" + ", ".join("'" + v.replace("'", "\\'") + "'" for v in values) + "]"


# The kabupaten/kota name for a region code, as the room says it ("Kerinci", "Kota Jambi").
REGION_LABEL = (f"transform(ifNull(region, ''), {_quoted([str(r) for r in Region])}, "
                f"{_quoted([_short(r) for r in Region])}, 'Provinsi Jambi')")



def status(value: str = "value_now", low: str = "normal_low", high: str = "normal_high") -> str:
    """SQL for a reading's status against its normal range, in Indonesian."""
    return (f"multiIf({low} IS NOT NULL AND {value} < {low}, 'Di bawah normal', "
            f"{high} IS NOT NULL AND {value} > {high}, 'Di atas normal', 'Normal')")


def _seconds(span: timedelta) -> int:
    return int(span.total_seconds())


def lookback(indicator: Indicator) -> int:
    """Seconds before the range to look for the reading in effect: two periods of its cadence."""
    return 2 * _seconds(CADENCE_SPAN[indicator.cadence])


def _combine(aggregation: Aggregation | str, column: str) -> str:
    return {"sum": f"sum({column})", "avg": f"avg({column})", "max": f"max({column})"}[str(aggregation)]


def _combined(column: str, aggregation: str) -> str:
    """Combine a column as each row's catalogue aggregation says (sum, max or average)."""
    return f"multiIf(any({aggregation}) = 'sum', sum({column}), any({aggregation}) = 'max', max({column}), " \
           f"avg({column}))"


# Each level of these subqueries names its results afresh: ClickHouse resolves an alias before
# a column of the same name, so `max(period_end) AS period_end` would nest aggregates.

def _readings(where: str, since: str) -> str:
    """One row per reading (its latest revision: a dinas may resend a corrected figure)."""
    return f"""SELECT indicator, region, site, period_start, period_end,
           argMax(value, received_at) AS reading, any(indicator_name) AS r_name, any(unit) AS r_unit,
           any(aggregation) AS r_agg, any(normal_low) AS r_low, any(normal_high) AS r_high
    FROM {DB}.sector_indicators
    WHERE {where} AND {IN_REGIONS} AND period_end > {since} AND period_end <= $__toTime
    GROUP BY indicator, region, site, period_start, period_end"""


def _latest(where: str, since: str) -> str:
    """Per indicator, region and site: the latest reading up to the end of the range."""
    return f"""SELECT indicator, region, site, argMax(reading, period_end) AS l_value,
           max(period_end) AS l_end,
           any(r_name) AS l_name, any(r_unit) AS l_unit, any(r_agg) AS l_agg, any(r_low) AS l_low,
           any(r_high) AS l_high
    FROM ({_readings(where, since)})
    GROUP BY indicator, region, site"""


def _by_region(where: str, since: str) -> str:
    """Per indicator and region: the latest readings combined across sites as the catalogue says."""
    return f"""SELECT indicator, region, {_combined("l_value", "l_agg")} AS value_now,
           max(l_end) AS period_end,
           any(l_name) AS indicator_name, any(l_unit) AS unit, any(l_low) AS normal_low,
           any(l_high) AS normal_high
    FROM ({_latest(where, since)})
    GROUP BY indicator, region"""


def indicator_now(indicator: Indicator) -> str:
    """Stat: the indicator for the selected kabupaten/kota now (the latest readings combined)."""
    since = f"$__toTime - INTERVAL {lookback(indicator)} SECOND"
    return f"""SELECT round({_combine(indicator.aggregation, "value_now")}, 2) AS value
FROM ({_by_region(f"indicator = '{indicator.code}'", since)})"""


def indicator_series(indicator: Indicator) -> str:
    """Time series: the indicator per kabupaten/kota over the range, by period start."""
    since = f"$__fromTime - INTERVAL {lookback(indicator)} SECOND"
    return f"""SELECT $__timeInterval(period_start) AS time, {REGION_LABEL} AS wilayah,
       round({_combined("reading", "r_agg")}, 2) AS value
FROM ({_readings(f"indicator = '{indicator.code}'", since)})
GROUP BY time, wilayah
ORDER BY time"""


def sector_table(codes: list[str]) -> str:
    """Table: the latest value of each of the sector's indicators per kabupaten/kota, with status."""
    where = "indicator IN (" + ", ".join(f"'{c}'" for c in codes) + ")"
    since = f"$__toTime - INTERVAL {_seconds(LATEST_LOOKBACK)} SECOND"
    order = "indexOf(" + _quoted(codes) + ", indicator)"
    return f"""SELECT {REGION_LABEL} AS `Kabupaten/Kota`, indicator_name AS `Indikator`,
       round(value_now, 2) AS `Nilai`, unit AS `Satuan`, {status()} AS `Status`,
       formatDateTime(period_end - INTERVAL 1 SECOND, '%d-%m-%Y', 'Asia/Jakarta') AS `Periode s.d.`
FROM ({_by_region(where, since)})
ORDER BY `Kabupaten/Kota`, {order}"""


def per_site_table(indicator: Indicator) -> str:
    """Table: the latest reading at each site (market, gauge, tourist site) with its status."""
    since = f"$__toTime - INTERVAL {lookback(indicator)} SECOND"
    return f"""SELECT {REGION_LABEL} AS `Kabupaten/Kota`, site AS `Lokasi`, round(l_value, 2) AS `Nilai`,
       l_unit AS `Satuan`, {status("l_value", "l_low", "l_high")} AS `Status`
FROM ({_latest(f"indicator = '{indicator.code}'", since)})
ORDER BY `Kabupaten/Kota`, `Lokasi`"""


def site_totals(indicator: Indicator) -> str:
    """Table: the indicator summed per site over the periods the range touches (visitors per site)."""
    since = f"$__fromTime - INTERVAL {_seconds(CADENCE_SPAN[indicator.cadence])} SECOND"
    return f"""SELECT site AS `Lokasi`, {REGION_LABEL} AS `Kabupaten/Kota`, sum(reading) AS `Jumlah`
FROM ({_readings(f"indicator = '{indicator.code}'", since)})
GROUP BY site, region
ORDER BY `Jumlah` DESC"""


def out_of_range(codes: list[str]) -> str:
    """Table: key indicators whose latest value per kabupaten/kota is outside its normal range."""
    where = "indicator IN (" + ", ".join(f"'{c}'" for c in codes) + ")"
    since = f"$__toTime - INTERVAL {_seconds(LATEST_LOOKBACK)} SECOND"
    return f"""SELECT {REGION_LABEL} AS `Kabupaten/Kota`, indicator_name AS `Indikator`,
       round(value_now, 2) AS `Nilai`, unit AS `Satuan`, {status()} AS `Status`,
       concat(ifNull(toString(normal_low), '…'), ' – ', ifNull(toString(normal_high), '…'))
           AS `Rentang normal`
FROM ({_by_region(where, since)})
WHERE {status()} != 'Normal'
ORDER BY `Kabupaten/Kota`, `Indikator`"""


# --- Operational feeds: alerts, citizen reports, permits ----------------------------------------

_SEVERITY_RANK = "indexOf(['Extreme', 'Severe', 'Moderate', 'Minor', 'Unknown'], severity)"
_FINAL = ", ".join(str(int(s)) for s in sorted(FINAL_STATUSES))
_PAUSED = ", ".join(str(int(s)) for s in sorted(SLA_PAUSES))


def alerts_now() -> str:
    """Table: alerts in the range, most severe and newest first."""
    return f"""SELECT occurred_at AS `Waktu`, {REGION_LABEL} AS `Kabupaten/Kota`, severity AS `Tingkat`,
       headline AS `Peringatan`, reason AS `Alasan`, source AS `Sumber`
FROM {DB}.alerts FINAL
WHERE $__timeFilter(occurred_at) AND ({IN_REGIONS} OR region IS NULL)
ORDER BY {_SEVERITY_RANK}, occurred_at DESC
LIMIT 100"""


def alert_count() -> str:
    """Stat: alerts in the range."""
    return f"""SELECT count() AS value FROM {DB}.alerts FINAL
WHERE $__timeFilter(occurred_at) AND ({IN_REGIONS} OR region IS NULL)"""


def alerts_by_severity() -> str:
    """Time series: alerts per interval by severity."""
    return f"""SELECT $__timeInterval(occurred_at) AS time, severity, count() AS value
FROM {DB}.alerts FINAL
WHERE $__timeFilter(occurred_at) AND ({IN_REGIONS} OR region IS NULL)
GROUP BY time, severity
ORDER BY time"""


def active_disaster_alerts() -> str:
    """Table: official disaster alerts in effect at the end of the range."""
    return f"""SELECT effective AS `Berlaku sejak`, expires AS `Sampai`, {REGION_LABEL} AS `Kabupaten/Kota`,
       event AS `Kejadian`, severity AS `Tingkat`, headline AS `Judul`, issuer AS `Penerbit`
FROM {DB}.disaster_alerts FINAL
WHERE occurred_at <= $__toTime AND occurred_at > $__toTime - INTERVAL 2 DAY
  AND ifNull(expires, occurred_at + INTERVAL 6 HOUR) > $__toTime AND ({IN_REGIONS} OR region IS NULL)
ORDER BY {_SEVERITY_RANK}, occurred_at DESC"""


def disaster_events() -> str:
    """Table: official disaster alerts in the range per kind of event and kabupaten/kota."""
    return f"""SELECT event AS `Kejadian`, {REGION_LABEL} AS `Kabupaten/Kota`, count() AS `Jumlah`,
       max(occurred_at) AS `Terakhir`
FROM {DB}.disaster_alerts FINAL
WHERE $__timeFilter(occurred_at) AND ({IN_REGIONS} OR region IS NULL)
GROUP BY event, region
ORDER BY `Jumlah` DESC"""


def reports_by_channel() -> str:
    """Time series: citizen reports per interval by channel."""
    return f"""SELECT $__timeInterval(occurred_at) AS time, channel, count() AS value
FROM {DB}.citizen_reports FINAL
WHERE $__timeFilter(occurred_at) AND {IN_REGIONS}
GROUP BY time, channel
ORDER BY time"""


def reports_by_category() -> str:
    """Table: citizen reports in the range per kabupaten/kota and category."""
    return f"""SELECT {REGION_LABEL} AS `Kabupaten/Kota`, category AS `Kategori`, count() AS `Laporan`
FROM {DB}.citizen_reports FINAL
WHERE $__timeFilter(occurred_at) AND {IN_REGIONS}
GROUP BY region, category
ORDER BY `Kabupaten/Kota`, `Laporan` DESC"""


def report_count() -> str:
    """Stat: citizen reports in the range."""
    return f"""SELECT count() AS value FROM {DB}.citizen_reports FINAL
WHERE $__timeFilter(occurred_at) AND {IN_REGIONS}"""


def urgent_reports() -> str:
    """Table: citizen reports the stream found urgent, newest first (no personal data)."""
    return f"""SELECT occurred_at AS `Waktu`, {REGION_LABEL} AS `Kabupaten/Kota`, severity AS `Tingkat`,
       headline AS `Laporan`, reason AS `Alasan`
FROM {DB}.alerts FINAL
WHERE event_kind = 'citizen_report' AND $__timeFilter(occurred_at) AND {IN_REGIONS}
ORDER BY occurred_at DESC
LIMIT 100"""


def _applications() -> str:
    """Each permit application's latest state up to the end of the range."""
    return f"""SELECT permit_id, last_region AS region, last_status AS status,
           last_status_name AS status_name, last_deadline AS sla_deadline, last_type AS permit_type
    FROM (
        SELECT permit_id, argMax(region, occurred_at) AS last_region,
               argMax(status, occurred_at) AS last_status,
               argMax(status_name, occurred_at) AS last_status_name,
               argMax(sla_deadline, occurred_at) AS last_deadline,
               argMax(permit_type, occurred_at) AS last_type
        FROM {DB}.permit_filings FINAL
        WHERE occurred_at <= $__toTime
        GROUP BY permit_id)
    WHERE {IN_REGIONS}"""


_OVERDUE = (f"status NOT IN ({_FINAL}) AND status NOT IN ({_PAUSED}) AND sla_deadline IS NOT NULL "
            "AND sla_deadline < $__toTime")


def permits_in_process() -> str:
    """Stat: applications not decided yet at the end of the range."""
    return f"""SELECT count() AS value FROM ({_applications()}) WHERE status NOT IN ({_FINAL})"""


def permits_overdue_count() -> str:
    """Stat: applications past their SLA deadline, clock running, at the end of the range."""
    return f"""SELECT count() AS value FROM ({_applications()}) WHERE {_OVERDUE}"""


def permits_overdue_by_region() -> str:
    """Table: per kabupaten/kota, applications in process and those past the SLA."""
    return f"""SELECT {REGION_LABEL} AS `Kabupaten/Kota`, countIf(status NOT IN ({_FINAL})) AS `Dalam proses`,
       countIf({_OVERDUE}) AS `Lewat SLA`
FROM ({_applications()})
GROUP BY region
ORDER BY `Lewat SLA` DESC, `Kabupaten/Kota`"""


def permits_overdue_list() -> str:
    """Table: the applications longest past their SLA."""
    return f"""SELECT permit_id AS `Nomor permohonan`, {REGION_LABEL} AS `Kabupaten/Kota`,
       permit_type AS `Jenis izin`, status_name AS `Status`, sla_deadline AS `Batas SLA`,
       dateDiff('hour', sla_deadline, $__toTime) AS `Terlambat (jam)`
FROM ({_applications()})
WHERE {_OVERDUE}
ORDER BY sla_deadline
LIMIT 50"""


def _reports() -> str:
    """Each intake report's latest status up to the end of the range, and the SLA deadline it
    leaves running (working days, computed by the sink with the stream's calendar)."""
    return f"""SELECT tracking, last_region AS region, last_category AS category, last_status AS status,
           last_stage AS sla_stage, last_due AS sla_due
    FROM (
        SELECT tracking, argMax(region, changed_at) AS last_region,
               argMax(category, changed_at) AS last_category,
               argMax(status, changed_at) AS last_status, argMax(sla_stage, changed_at) AS last_stage,
               argMax(sla_due, changed_at) AS last_due
        FROM {DB}.report_status_changes FINAL
        WHERE changed_at <= $__toTime
        GROUP BY tracking)
    WHERE {IN_REGIONS}"""


# Past the LAPOR! deadline its status leaves running: not verified 3 working days after receipt,
# or not followed up 5 working days after disposition (schemas/report_sla.py).
_REPORT_OVERDUE = "sla_due IS NOT NULL AND sla_due < $__toTime"


def reports_overdue_count() -> str:
    """Stat: citizen reports past their SLA deadline (in working days) at the end of the range."""
    return f"""SELECT count() AS value FROM ({_reports()}) WHERE {_REPORT_OVERDUE}"""


def reports_overdue_list() -> str:
    """Table: the citizen reports longest past their SLA deadline, with how late (no personal data)."""
    return f"""SELECT tracking AS `Nomor pelacakan`, {REGION_LABEL} AS `Kabupaten/Kota`,
       category AS `Kategori`, status AS `Status`,
       if(sla_stage = 'verifikasi', 'Verifikasi (3 hari kerja)', 'Tindak lanjut (5 hari kerja)') AS `Tahap`,
       sla_due AS `Batas SLA`, intDiv(dateDiff('second', sla_due, $__toTime), 3600) AS `Terlambat (jam)`
FROM ({_reports()})
WHERE {_REPORT_OVERDUE}
ORDER BY sla_due
LIMIT 50"""


def permit_status_changes() -> str:
    """Time series: permit status changes per interval by status."""
    return f"""SELECT $__timeInterval(occurred_at) AS time, status_name, count() AS value
FROM {DB}.permit_filings FINAL
WHERE $__timeFilter(occurred_at) AND {IN_REGIONS}
GROUP BY time, status_name
ORDER BY time"""


def region_summary(key_codes: list[str]) -> str:
    """Table for the main screen: per kabupaten/kota, alerts, reports, overdue permits, indicators."""
    where = "indicator IN (" + ", ".join(f"'{c}'" for c in key_codes) + ")"
    since = f"$__toTime - INTERVAL {_seconds(LATEST_LOOKBACK)} SECOND"
    return f"""SELECT {REGION_LABEL} AS `Kabupaten/Kota`, sumIf(n, what = 'alert') AS `Peringatan`,
       sumIf(n, what = 'urgent') AS `Laporan mendesak`, sumIf(n, what = 'report') AS `Laporan warga`,
       sumIf(n, what = 'late') AS `Laporan lewat SLA`, sumIf(n, what = 'overdue') AS `Izin lewat SLA`,
       sumIf(n, what = 'abnormal') AS `Indikator di luar normal`
FROM (
    SELECT region, 'alert' AS what, count() AS n FROM {DB}.alerts FINAL
    WHERE event_kind = 'disaster_alert' AND $__timeFilter(occurred_at) AND {IN_REGIONS} GROUP BY region
    UNION ALL
    SELECT region, 'urgent' AS what, count() AS n FROM {DB}.alerts FINAL
    WHERE event_kind = 'citizen_report' AND $__timeFilter(occurred_at) AND {IN_REGIONS} GROUP BY region
    UNION ALL
    SELECT region, 'report' AS what, count() AS n FROM {DB}.citizen_reports FINAL
    WHERE $__timeFilter(occurred_at) AND {IN_REGIONS} GROUP BY region
    UNION ALL
    SELECT region, 'late' AS what, count() AS n FROM ({_reports()}) WHERE {_REPORT_OVERDUE} GROUP BY region
    UNION ALL
    SELECT region, 'overdue' AS what, count() AS n FROM ({_applications()}) WHERE {_OVERDUE} GROUP BY region
    UNION ALL
    SELECT region, 'abnormal' AS what, count() AS n FROM ({_by_region(where, since)})
    WHERE {status()} != 'Normal' GROUP BY region
)
GROUP BY region
ORDER BY `Kabupaten/Kota`"""


def abnormal_count(key_codes: list[str]) -> str:
    """Stat: key indicator readings (per kabupaten/kota) outside their normal range now."""
    where = "indicator IN (" + ", ".join(f"'{c}'" for c in key_codes) + ")"
    since = f"$__toTime - INTERVAL {_seconds(LATEST_LOOKBACK)} SECOND"
    return f"""SELECT count() AS value FROM ({_by_region(where, since)}) WHERE {status()} != 'Normal'"""


# --- Incidents and escalations ----------------------------------------------------------------

_PRIORITY_RANK = "indexOf(['segera', 'tinggi', 'sedang', 'rendah'], priority)"
_PRIORITY_LABEL = ("transform(priority, ['segera', 'tinggi', 'sedang', 'rendah'], "
                   "['Segera', 'Tinggi', 'Sedang', 'Rendah'], priority)")
# Drills (latihan) in the incident panels: the `latihan` variable says tanpa (none, the default),
# hanya (drills only) or semua (both); every incident and escalation row carries `drill`.
DRILL_VARIABLE = "latihan"
DRILL_CHOICES = {"tanpa": "Tanpa latihan", "hanya": "Hanya latihan", "semua": "Semua"}
DRILL_FILTER = (f"multiIf('${{{DRILL_VARIABLE}}}' = 'hanya', drill = 1, '${{{DRILL_VARIABLE}}}' = 'semua', "
                "1, drill = 0)")
_DRILL_MARK = "if(drill = 1, 'LATIHAN', '') AS `Latihan`"
IN_INCIDENT_REGIONS = f"(hasAny(regions, [${{{REGION_VARIABLE}:singlequote}}]) OR empty(regions))"
_REGION_LABELS = (f"arrayStringConcat(arrayMap(r -> transform(r, {_quoted([str(r) for r in Region])}, "
                  f"{_quoted([_short(r) for r in Region])}, r), regions), ', ')")
# Incidents open at the end of the range: the newest version of each (FINAL), not closed.
_OPEN_INCIDENTS = (f"FROM {DB}.incidents FINAL WHERE status != 'selesai' AND opened_at <= $__toTime "
                   f"AND {IN_INCIDENT_REGIONS} AND {DRILL_FILTER}")


def open_incidents_by_priority() -> str:
    """Bar gauge / table: incidents open now per priority, Segera first."""
    return f"""SELECT {_PRIORITY_LABEL} AS `Prioritas`, count() AS `Insiden`
{_OPEN_INCIDENTS}
GROUP BY priority
ORDER BY {_PRIORITY_RANK}"""


def open_incidents() -> str:
    """Table: incidents open now, by priority then the latest signal."""
    return f"""SELECT {_DRILL_MARK}, {_PRIORITY_LABEL} AS `Prioritas`, hazard AS `Bahaya`, title AS `Insiden`,
       {_REGION_LABELS} AS `Kabupaten/Kota`, signal_count AS `Sinyal`, report_count AS `Laporan`,
       if(victims = 1, 'ya', '') AS `Korban`, status AS `Status`, acked_by AS `Diterima oleh`,
       last_at AS `Sinyal terakhir`
{_OPEN_INCIDENTS}
ORDER BY {_PRIORITY_RANK}, last_at DESC
LIMIT 100"""


def latest_escalations() -> str:
    """Table: the latest escalation steps up to the end of the range."""
    return f"""SELECT {_DRILL_MARK}, fired_at AS `Waktu`, role AS `Kepada`, headline AS `Perihal`,
       reason AS `Alasan`, level AS `Tingkat`, {_REGION_LABELS} AS `Kabupaten/Kota`
FROM {DB}.escalations FINAL
WHERE fired_at <= $__toTime AND {IN_INCIDENT_REGIONS} AND {DRILL_FILTER}
ORDER BY fired_at DESC
LIMIT 20"""


# Decision support's ranking (posko.region_ranking, written by the ClickHouse sink from posko.ranking):
# one row per computation, so the latest of each region and hazard is taken by computed_at, whatever
# the table's engine merges. `parts` is the score's parts as JSON (schemas/decision.py ScorePart).
_HAZARDS = {"banjir": "Banjir", "longsor": "Tanah longsor", "gempa": "Gempa bumi", "karhutla": "Karhutla",
            "cuaca": "Cuaca ekstrem", "kebakaran": "Kebakaran", "lainnya": "Lainnya"}
_HAZARD_LABEL = f"transform(hazard, {_quoted(list(_HAZARDS))}, {_quoted(list(_HAZARDS.values()))}, hazard)"
_PARTS_WHY = ("arrayStringConcat(arrayMap(p -> concat(JSONExtractString(p, 'factor'), ' +', "
              "toString(round(JSONExtractFloat(p, 'points'), 2)), ': ', JSONExtractString(p, 'why')), "
              "arrayFilter(p -> JSONExtractFloat(p, 'points') > 0, JSONExtractArrayRaw(parts))), '; ')")


def region_ranking() -> str:
    """Table: the kabupaten/kota in ranked order, each with its hazard, score and its parts' why."""
    return f"""SELECT {_DRILL_MARK}, rank AS `Peringkat`, {REGION_LABEL} AS `Kabupaten/Kota`,
       {_HAZARD_LABEL} AS `Bahaya`, round(score, 2) AS `Skor`, {_PARTS_WHY} AS `Alasan`,
       computed_at AS `Dihitung`
FROM (SELECT * FROM {DB}.region_ranking WHERE computed_at <= $__toTime
      ORDER BY computed_at DESC LIMIT 1 BY region, hazard)
WHERE score > 0 AND {IN_REGIONS} AND {DRILL_FILTER}
ORDER BY rank, score DESC
LIMIT 30"""
