"""The 11 sectors of the command room and the indicators the provincial agencies report for them."""

from __future__ import annotations

import enum
from datetime import timedelta

import msgspec


class Sector(enum.StrEnum):
    """The Jambi Data Analytic Center's sector dashboards, in the room's order."""

    SOSIAL_KEPENDUDUKAN = "sosial_kependudukan"
    PERTANIAN = "pertanian"
    PERIJINAN = "perijinan"
    INDUSTRI_PERDAGANGAN = "industri_perdagangan"
    PENDIDIKAN = "pendidikan"
    PELAPORAN = "pelaporan"
    PEKERJAAN_UMUM = "pekerjaan_umum"
    PARIWISATA = "pariwisata"
    KOPERASI_UMKM = "koperasi_umkm"
    KEUANGAN_DAERAH = "keuangan_daerah"
    KEBENCANAAN = "kebencanaan"


SECTOR_NAMES: dict[Sector, str] = {
    Sector.SOSIAL_KEPENDUDUKAN: "Sosial dan Kependudukan",
    Sector.PERTANIAN: "Pertanian, Peternakan dan Hortikultura",
    Sector.PERIJINAN: "Perijinan",
    Sector.INDUSTRI_PERDAGANGAN: "Perindustrian dan Perdagangan",
    Sector.PENDIDIKAN: "Pendidikan",
    Sector.PELAPORAN: "Pelaporan dan Sapa Warga",
    Sector.PEKERJAAN_UMUM: "Pekerjaan Umum",
    Sector.PARIWISATA: "Pariwisata",
    Sector.KOPERASI_UMKM: "Koperasi dan UMKM",
    Sector.KEUANGAN_DAERAH: "Keuangan Daerah",
    Sector.KEBENCANAAN: "Kebencanaan",
}


class Aggregation(enum.StrEnum):
    """How readings of one period combine across sites and kabupaten/kota."""

    SUM = "sum"  # counts and volumes add up (visitors, tonnes, rupiah)
    AVG = "avg"  # rates and prices average (percentages, Rp/kg)
    MAX = "max"  # the worst place matters (river level, air quality)


class Cadence(enum.StrEnum):
    """How often an agency reports an indicator; each reading covers one such period."""

    HOURLY = "jam"
    DAILY = "hari"
    WEEKLY = "minggu"
    MONTHLY = "bulan"


# The longest a period of each cadence lasts: how far back a dashboard looks for the reading
# in effect at the start of its time range.
CADENCE_SPAN: dict[Cadence, timedelta] = {
    Cadence.HOURLY: timedelta(hours=1),
    Cadence.DAILY: timedelta(days=1),
    Cadence.WEEKLY: timedelta(days=7),
    Cadence.MONTHLY: timedelta(days=31),
}


class Indicator(msgspec.Struct, frozen=True, kw_only=True):
    """One indicator of the catalogue: what it measures and what is normal for it."""

    code: str
    sector: Sector
    name: str  # Indonesian, as the room's screens show it
    unit: str
    aggregation: Aggregation
    cadence: Cadence
    agency: str  # the dinas that reports it
    # What a reading can physically be; outside it the reading is rejected as wrong.
    valid_low: float = 0.0
    valid_high: float | None = None
    # What the room considers normal; outside it the reading is flagged on the dashboards.
    normal_low: float | None = None
    normal_high: float | None = None
    # Shown on the overview screen when out of its normal range.
    key: bool = False
    # Where readings come from when it is per site (market, gauge, tourist site).
    site_kind: str | None = None


def _i(code: str, sector: Sector, name: str, unit: str, aggregation: Aggregation, cadence: Cadence,
       agency: str, **more: object) -> Indicator:
    return msgspec.convert({"code": code, "sector": sector, "name": name, "unit": unit,
                            "aggregation": aggregation, "cadence": cadence, "agency": agency, **more},
                           Indicator)


_S = Sector
_A = Aggregation
_C = Cadence
PERCENT = {"valid_high": 100.0}

# Normal ranges follow the national reference prices (HET/HAP of Bapanas and Kemendag for
# zone 2, Sumatra outside Lampung and South Sumatra), ISPU categories, BWS Sumatera VI gauge
# thresholds and the provincial targets; they are the room's working thresholds.
CATALOGUE: tuple[Indicator, ...] = (
    # 1 Sosial dan Kependudukan
    _i("bansos_pkh_tersalur", _S.SOSIAL_KEPENDUDUKAN, "Penyaluran bansos PKH", "%", _A.AVG, _C.MONTHLY,
       "Dinas Sosial", normal_low=85.0, key=True, **PERCENT),
    _i("bpnt_keluarga_penerima", _S.SOSIAL_KEPENDUDUKAN, "Keluarga penerima BPNT", "KPM", _A.SUM,
       _C.MONTHLY, "Dinas Sosial"),
    _i("rekam_ktp_el", _S.SOSIAL_KEPENDUDUKAN, "Perekaman KTP-el", "%", _A.AVG, _C.MONTHLY,
       "Dinas Dukcapil", normal_low=97.0, **PERCENT),
    _i("akta_kelahiran_terbit", _S.SOSIAL_KEPENDUDUKAN, "Akta kelahiran terbit", "dokumen", _A.SUM,
       _C.DAILY, "Dinas Dukcapil"),
    # 2 Pertanian, Peternakan dan Hortikultura
    _i("produksi_tbs_sawit", _S.PERTANIAN, "Produksi TBS kelapa sawit", "ton", _A.SUM, _C.DAILY,
       "Dinas Perkebunan", normal_low=500.0),
    _i("produksi_karet", _S.PERTANIAN, "Produksi karet (slab)", "ton", _A.SUM, _C.DAILY,
       "Dinas Perkebunan", normal_low=80.0),
    _i("harga_tbs_sawit", _S.PERTANIAN, "Harga TBS sawit penetapan", "Rp/kg", _A.AVG, _C.WEEKLY,
       "Dinas Perkebunan", normal_low=2_500.0, key=True),
    _i("produksi_padi", _S.PERTANIAN, "Produksi padi (GKG)", "ton", _A.SUM, _C.MONTHLY,
       "Dinas TPHP"),
    _i("produksi_kopi", _S.PERTANIAN, "Produksi kopi (Kerinci dan Merangin)", "ton", _A.SUM,
       _C.MONTHLY, "Dinas Perkebunan"),
    _i("kasus_penyakit_ternak", _S.PERTANIAN, "Kasus penyakit ternak (PMK, LSD, ASF)", "kasus", _A.SUM,
       _C.DAILY, "Dinas Peternakan dan Keswan", normal_high=5.0, key=True),
    # 3 Perijinan (the permit filings are its operational feed)
    _i("nib_terbit", _S.PERIJINAN, "NIB terbit (OSS-RBA)", "NIB", _A.SUM, _C.DAILY, "DPMPTSP"),
    # 4 Perindustrian dan Perdagangan: SP2KP market prices
    _i("harga_beras_medium", _S.INDUSTRI_PERDAGANGAN, "Harga beras medium", "Rp/kg", _A.AVG, _C.DAILY,
       "Disperindag", normal_low=11_500.0, normal_high=13_900.0, key=True, site_kind="pasar"),
    _i("harga_cabai_merah", _S.INDUSTRI_PERDAGANGAN, "Harga cabai merah keriting", "Rp/kg", _A.AVG,
       _C.DAILY, "Disperindag", normal_low=25_000.0, normal_high=55_000.0, key=True, site_kind="pasar"),
    _i("harga_bawang_merah", _S.INDUSTRI_PERDAGANGAN, "Harga bawang merah", "Rp/kg", _A.AVG, _C.DAILY,
       "Disperindag", normal_low=25_000.0, normal_high=41_500.0, key=True, site_kind="pasar"),
    _i("harga_minyak_goreng", _S.INDUSTRI_PERDAGANGAN, "Harga minyak goreng (MinyaKita)", "Rp/liter",
       _A.AVG, _C.DAILY, "Disperindag", normal_low=14_000.0, normal_high=15_700.0, key=True,
       site_kind="pasar"),
    _i("harga_gula_pasir", _S.INDUSTRI_PERDAGANGAN, "Harga gula pasir", "Rp/kg", _A.AVG, _C.DAILY,
       "Disperindag", normal_low=16_000.0, normal_high=18_500.0, key=True, site_kind="pasar"),
    # 5 Pendidikan
    _i("kehadiran_siswa", _S.PENDIDIKAN, "Kehadiran siswa", "%", _A.AVG, _C.DAILY, "Dinas Pendidikan",
       normal_low=90.0, key=True, **PERCENT),
    _i("kehadiran_guru", _S.PENDIDIKAN, "Kehadiran guru", "%", _A.AVG, _C.DAILY, "Dinas Pendidikan",
       normal_low=93.0, **PERCENT),
    _i("siswa_putus_sekolah", _S.PENDIDIKAN, "Siswa putus sekolah", "siswa", _A.SUM, _C.MONTHLY,
       "Dinas Pendidikan", normal_high=60.0),
    # 7 Pekerjaan Umum
    _i("jalan_mantap", _S.PEKERJAAN_UMUM, "Jalan provinsi kondisi mantap", "%", _A.AVG, _C.MONTHLY,
       "Dinas PUPR", normal_low=75.0, key=True, **PERCENT),
    _i("jalan_rusak_berat", _S.PEKERJAAN_UMUM, "Jalan rusak berat", "km", _A.SUM, _C.MONTHLY,
       "Dinas PUPR", normal_high=40.0),
    _i("progres_fisik_proyek", _S.PEKERJAAN_UMUM, "Progres fisik proyek APBD", "%", _A.AVG, _C.WEEKLY,
       "Dinas PUPR", **PERCENT),
    # 8 Pariwisata
    _i("kunjungan_wisatawan", _S.PARIWISATA, "Kunjungan wisatawan", "orang", _A.SUM, _C.DAILY,
       "Dinas Pariwisata", site_kind="objek wisata"),
    _i("okupansi_hotel", _S.PARIWISATA, "Tingkat penghunian kamar hotel", "%", _A.AVG, _C.DAILY,
       "Dinas Pariwisata", normal_low=35.0, **PERCENT),
    # 9 Koperasi dan UMKM
    _i("umkm_terdaftar", _S.KOPERASI_UMKM, "UMKM baru terdaftar", "unit", _A.SUM, _C.DAILY,
       "Dinas Koperasi dan UKM"),
    _i("kur_tersalur", _S.KOPERASI_UMKM, "KUR tersalur", "Rp juta", _A.SUM, _C.DAILY,
       "Dinas Koperasi dan UKM"),
    _i("koperasi_aktif", _S.KOPERASI_UMKM, "Koperasi aktif", "%", _A.AVG, _C.MONTHLY,
       "Dinas Koperasi dan UKM", normal_low=60.0, **PERCENT),
    # 10 Keuangan Daerah
    _i("realisasi_pendapatan", _S.KEUANGAN_DAERAH, "Realisasi pendapatan APBD", "%", _A.AVG, _C.DAILY,
       "BPKAD", valid_high=150.0),
    _i("realisasi_belanja", _S.KEUANGAN_DAERAH, "Realisasi belanja APBD", "%", _A.AVG, _C.DAILY,
       "BPKAD", valid_high=150.0, key=True),
    _i("penerimaan_pajak_daerah", _S.KEUANGAN_DAERAH, "Penerimaan pajak daerah", "Rp juta", _A.SUM,
       _C.DAILY, "Bapenda"),
    # 11 Kebencanaan
    _i("titik_panas", _S.KEBENCANAAN, "Titik panas (karhutla)", "titik", _A.SUM, _C.DAILY, "BPBD",
       normal_high=5.0, key=True),
    _i("titik_panas_gambut", _S.KEBENCANAAN, "Titik panas di lahan gambut", "titik", _A.SUM, _C.DAILY,
       "BPBD", normal_high=2.0),
    _i("tinggi_muka_air", _S.KEBENCANAAN, "Tinggi muka air Sungai Batanghari", "m", _A.MAX, _C.HOURLY,
       "BPBD", valid_high=30.0, normal_high=12.0, key=True, site_kind="pos duga air"),
    _i("ispu_pm25", _S.KEBENCANAAN, "ISPU PM2.5", "ISPU", _A.MAX, _C.HOURLY, "DLH", valid_high=500.0,
       normal_high=100.0, key=True),
)

INDICATORS: dict[str, Indicator] = {indicator.code: indicator for indicator in CATALOGUE}


def indicators_of(sector: Sector) -> list[Indicator]:
    """The catalogue's indicators for one sector, in catalogue order."""
    return [indicator for indicator in CATALOGUE if indicator.sector is sector]


def out_of_range(indicator: Indicator, value: float) -> str | None:
    """Why a value is not a possible reading of the indicator, or None when it is."""
    high = indicator.valid_high
    if value < indicator.valid_low or (high is not None and value > high):
        bounds = f"{indicator.valid_low:g}–{high:g}" if high is not None else f">= {indicator.valid_low:g}"
        return (f"value {value:g} {indicator.unit} is impossible for {indicator.code} "
                f"(valid: {bounds} {indicator.unit})")
    return None
