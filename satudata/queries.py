"""The SQL behind each kind of dataset, and the pages, filters and sorts read from it.

Each query gives exactly the dataset's dictionary columns (satudata/datasets.toml), with the
suppression of small counts already applied: every way out (API, downloads, pages) reads the
same suppressed rows, so none can leak a count the others hide.
"""

from __future__ import annotations

from collections.abc import Sequence

from satudata.catalogue import Dataset, catalogue
from schemas.events import FINAL_STATUSES
from schemas.regions import REGION_NAMES

WIB = "'Asia/Jakarta'"
# The tables each kind reads: a dataset whose table is not there yet is `belum tersedia`.
TABLES = {
    "indikator": "sector_indicators",
    "peringatan": "disaster_alerts",
    "laporan": "citizen_reports",
    "perizinan": "permit_filings",
    "daftar_izin": "permit_filings",
    "insiden": "incidents",
}
_FINAL = ", ".join(str(int(status)) for status in sorted(FINAL_STATUSES))


def literal(value: object) -> str:
    """A ClickHouse literal for a str, int, float or None."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int | float):
        return repr(value)
    text = str(value).replace("\\", "\\\\").replace("'", "\\'")
    return f"'{text}'"


def _region_name(expr: str) -> str:
    codes = ", ".join(literal(str(code)) for code in REGION_NAMES)
    names = ", ".join(literal(name) for name in REGION_NAMES.values())
    return f"transform({expr}, [{codes}], [{names}], 'Provinsi Jambi')"


def suppressed(expr: str, min_count: int, keep_zero: bool = False) -> str:
    """`expr` as text, shown as `<min_count` when under it (and, with keep_zero, above 0)."""
    low = f"{expr} > 0 AND {expr} < {min_count}" if keep_zero else f"{expr} < {min_count}"
    return f"if({low}, '<{min_count}', toString({expr}))"


def _indikator(dataset: Dataset, db: str, min_count: int) -> str:
    codes = ", ".join(literal(code) for code in dataset.indicators)
    return f"""SELECT toDate(period_start, {WIB}) AS periode, ifNull(region, '15') AS kode_wilayah,
    {_region_name('kode_wilayah')} AS nama_wilayah, indicator AS kode_indikator,
    any(indicator_name) AS nama_indikator,
    round(multiIf(aggregation = 'sum', sum(value), aggregation = 'max', max(value), avg(value)), 4) AS nilai,
    any(unit) AS satuan, aggregation AS agregasi, count() AS jumlah_bacaan, any(agency) AS produsen
FROM {db}.sector_indicators WHERE indicator IN ({codes})
GROUP BY periode, kode_wilayah, kode_indikator, agregasi"""


def _peringatan(dataset: Dataset, db: str, min_count: int) -> str:
    return f"""SELECT toString(id) AS id_peringatan, ifNull(sent, received_at) AS waktu_terbit,
    event AS kejadian, toString(category) AS kategori, toString(urgency) AS urgensi,
    toString(severity) AS keparahan, toString(certainty) AS kepastian, toString(msg_type) AS jenis_pesan,
    headline AS judul, description AS uraian, instruction AS arahan, toString(issuer) AS penerbit,
    ifNull(region, '15') AS kode_wilayah, {_region_name('kode_wilayah')} AS nama_wilayah,
    arrayStringConcat(area_regions, ',') AS wilayah_terdampak, effective AS berlaku_mulai,
    expires AS berlaku_hingga, toNullable(toFloat64(magnitude)) AS magnitudo,
    toNullable(toFloat64(depth_km)) AS kedalaman_km, lat AS lintang, lon AS bujur
FROM {db}.disaster_alerts FINAL WHERE status = 'Actual'"""


def _laporan(dataset: Dataset, db: str, min_count: int) -> str:
    # Only codes leave this query: month, region, category, status and a count. The reports'
    # titles, texts and reporters are never selected.
    return f"""SELECT bulan, kode_wilayah, {_region_name('kode_wilayah')} AS nama_wilayah, kategori, status,
    {suppressed('n', min_count)} AS jumlah
FROM (SELECT formatDateTime(toStartOfMonth(r.occurred_at, {WIB}), '%Y-%m') AS bulan,
        ifNull(r.region, '15') AS kode_wilayah, toString(r.category) AS kategori,
        if(s.status = '', 'diterima', s.status) AS status, count() AS n
    FROM {db}.citizen_reports AS r
    LEFT JOIN (SELECT report_id, toString(argMax(status, changed_at)) AS status
               FROM {db}.report_status_changes GROUP BY report_id) AS s ON r.id = s.report_id
    GROUP BY bulan, kode_wilayah, kategori, status)"""


def _permits(db: str) -> str:
    return f"""SELECT permit_id, ifNull(any(region), '15') AS kode_wilayah, any(permit_type) AS jenis_izin,
        any(kbli) AS kbli, any(applicant_type) AS jenis_pelaku, min(occurred_at) AS diajukan,
        argMax(status_name, occurred_at) AS status_terakhir, max(sla_deadline) AS batas,
        countIf(status IN ({_FINAL})) > 0 AS selesai,
        minIf(occurred_at, status IN ({_FINAL})) AS diputus
    FROM {db}.permit_filings GROUP BY permit_id"""


def _perizinan(dataset: Dataset, db: str, min_count: int) -> str:
    return f"""SELECT formatDateTime(toStartOfMonth(diajukan, {WIB}), '%Y-%m') AS bulan, kode_wilayah,
    {_region_name('kode_wilayah')} AS nama_wilayah, toString(jenis_izin) AS jenis_izin,
    count() AS jumlah_permohonan, countIf(selesai) AS jumlah_selesai,
    countIf(selesai AND batas IS NOT NULL AND diputus <= batas) AS selesai_tepat_waktu,
    countIf(batas IS NOT NULL AND ((selesai AND diputus > batas) OR (NOT selesai AND now64(3) > batas)))
        AS melewati_sla,
    round(100 * selesai_tepat_waktu / nullIf(jumlah_selesai, 0), 1) AS persen_tepat_waktu,
    round(avgIf(dateDiff('second', diajukan, diputus) / 3600, selesai), 1) AS rata_rata_jam_selesai
FROM ({_permits(db)}) GROUP BY bulan, kode_wilayah, jenis_izin"""


def _daftar_izin(dataset: Dataset, db: str, min_count: int) -> str:
    # No NIB and no note: the list is for agencies, and still carries no business identity.
    return f"""SELECT permit_id AS id_izin, diajukan, kode_wilayah,
    {_region_name('kode_wilayah')} AS nama_wilayah,
    toString(jenis_izin) AS jenis_izin, toString(kbli) AS kbli, toString(jenis_pelaku) AS jenis_pelaku_usaha,
    toString(status_terakhir) AS status_terakhir, batas AS batas_sla,
    if(selesai, toNullable(diputus), NULL) AS diputus
FROM ({_permits(db)})"""


def _insiden(dataset: Dataset, db: str, min_count: int) -> str:
    # The incident's title is free text and may quote a report: the summary is built from codes.
    names = _region_name("r")
    return f"""SELECT toString(id) AS id_insiden,
    concat(upper(substring(toString(hazard), 1, 1)), substring(toString(hazard), 2), ' di ',
           arrayStringConcat(arrayMap(r -> {names}, regions), ', ')) AS ringkasan,
    toString(hazard) AS jenis_bencana, toString(priority) AS prioritas,
    if(empty(regions), '15', toString(regions[1])) AS kode_wilayah,
    {_region_name('kode_wilayah')} AS nama_wilayah,
    arrayStringConcat(regions, ',') AS wilayah_terdampak, arrayStringConcat(kecamatan, ', ') AS kecamatan,
    round(centre_lat, 2) AS lintang_pusat, round(centre_lon, 2) AS bujur_pusat, radius_km,
    first_at AS mulai, last_at AS berakhir, toUInt64(signal_count) AS jumlah_sinyal,
    {suppressed('report_count', min_count, keep_zero=True)} AS jumlah_laporan,
    {suppressed('victims', min_count, keep_zero=True)} AS korban
FROM {db}.incidents FINAL WHERE status = 'selesai' AND drill = 0"""


_BUILDERS = {"indikator": _indikator, "peringatan": _peringatan, "laporan": _laporan,
             "perizinan": _perizinan, "daftar_izin": _daftar_izin, "insiden": _insiden}


def dataset_sql(dataset: Dataset, db: str, min_count: int) -> str:
    """The SELECT giving the dataset's rows (suppressed), in no particular order."""
    return _BUILDERS[dataset.kind](dataset, db, min_count)


def key_of(dataset: Dataset) -> list[str]:
    """The columns that order the dataset's rows stably (and identify a row)."""
    return catalogue().kinds[dataset.kind].key


def chunk_sql(base: str, key: Sequence[str], limit: int, where: str = "") -> str:
    """The first `limit` rows of `base` in key order that satisfy `where` (keyset paging puts the
    last key sent in `where`)."""
    clause = f" WHERE {where}" if where else ""
    return (f"SELECT * FROM ({base}){clause} ORDER BY {', '.join(key)} LIMIT {limit} {OUTPUT_SETTINGS}")


# ISO 8601 times (UTC, `Z`), numbers as numbers in JSON, empty cells for NULL in CSV.
OUTPUT_SETTINGS = ("SETTINGS date_time_output_format = 'iso', output_format_json_quote_64bit_integers = 0, "
                   "format_csv_null_representation = ''")
