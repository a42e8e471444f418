"""Simulated sector indicator readings: what each dinas reports, per kabupaten/kota, on its cadence.

Each series (indicator × region × site) reports once per period of its cadence, a little after
the period ends (hourly gauges within minutes, daily figures the next morning, monthly ones days
later). Values follow Jambi's seasons: karhutla hotspots and haze in the dry season (June–
October), a high Batanghari in the wet one, APBD realisation climbing through the fiscal year,
volatile chili prices, no school attendance at weekends.
"""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

from connectors.simulator.draws import SOURCE
from schemas.clock import WIB
from schemas.events import SectorIndicator, SectorIndicatorEvent, new_event_id
from schemas.regions import REGION_NAMES, Region
from schemas.sectors import CATALOGUE, Cadence, Indicator

# How long after a period ends its reading arrives.
REPORT_DELAY: dict[Cadence, timedelta] = {
    Cadence.HOURLY: timedelta(minutes=5),
    Cadence.DAILY: timedelta(hours=9),
    Cadence.WEEKLY: timedelta(days=1),
    Cadence.MONTHLY: timedelta(days=3),
}

_R = Region
_ALL = tuple(Region)
_PLANTATION = (_R.MUARO_JAMBI, _R.BATANG_HARI, _R.TANJUNG_JABUNG_BARAT, _R.TANJUNG_JABUNG_TIMUR,
               _R.BUNGO, _R.TEBO, _R.SAROLANGUN, _R.MERANGIN)
_RUBBER = (_R.BUNGO, _R.TEBO, _R.BATANG_HARI, _R.SAROLANGUN, _R.MERANGIN, _R.MUARO_JAMBI)
_RICE = (_R.KERINCI, _R.TANJUNG_JABUNG_TIMUR, _R.TANJUNG_JABUNG_BARAT, _R.MERANGIN, _R.BUNGO,
         _R.SAROLANGUN, _R.BATANG_HARI, _R.MUARO_JAMBI, _R.TEBO, _R.KOTA_SUNGAI_PENUH)
_COFFEE = (_R.KERINCI, _R.MERANGIN, _R.KOTA_SUNGAI_PENUH)
_PEAT = {_R.MUARO_JAMBI: 1.6, _R.TANJUNG_JABUNG_TIMUR: 1.8, _R.TANJUNG_JABUNG_BARAT: 1.3,
         _R.BATANG_HARI: 0.9, _R.SAROLANGUN: 0.8, _R.TEBO: 0.8, _R.BUNGO: 0.5, _R.MERANGIN: 0.5,
         _R.KERINCI: 0.1, _R.KOTA_JAMBI: 0.05, _R.KOTA_SUNGAI_PENUH: 0.05}

MARKETS: dict[Region, tuple[str, ...]] = {
    _R.KOTA_JAMBI: ("Pasar Angso Duo", "Pasar Talang Banjar", "Pasar Aur Kenali"),
    _R.MUARO_JAMBI: ("Pasar Sengeti",),
    _R.BATANG_HARI: ("Pasar Muara Bulian",),
    _R.TANJUNG_JABUNG_BARAT: ("Pasar Kuala Tungkal",),
    _R.TANJUNG_JABUNG_TIMUR: ("Pasar Muara Sabak",),
    _R.KERINCI: ("Pasar Siulak",),
    _R.KOTA_SUNGAI_PENUH: ("Pasar Sungai Penuh",),
    _R.MERANGIN: ("Pasar Bangko",),
    _R.SAROLANGUN: ("Pasar Sarolangun",),
    _R.BUNGO: ("Pasar Muara Bungo",),
    _R.TEBO: ("Pasar Muara Tebo",),
}
GAUGES: dict[Region, tuple[str, ...]] = {
    _R.TEBO: ("Pos Duga Air Muara Tebo",),
    _R.BATANG_HARI: ("Pos Duga Air Muara Tembesi",),
    _R.MUARO_JAMBI: ("Pos Duga Air Sengeti",),
    _R.KOTA_JAMBI: ("Pos Duga Air Pasar Jambi",),
    _R.TANJUNG_JABUNG_TIMUR: ("Pos Duga Air Muara Sabak",),
}
# Tourist sites with typical daily visitors on a weekday.
SITES: dict[Region, tuple[tuple[str, float], ...]] = {
    _R.MUARO_JAMBI: (("Kawasan Cagar Budaya Candi Muaro Jambi", 900.0),),
    _R.KERINCI: (("Danau Kerinci", 700.0), ("Kebun Teh Kayu Aro", 500.0),
                 ("Danau Gunung Tujuh", 250.0)),
    _R.KOTA_JAMBI: (("Jembatan Gentala Arasy", 1_500.0), ("Danau Sipin", 800.0)),
    _R.MERANGIN: (("Geopark Merangin", 300.0),),
    _R.KOTA_SUNGAI_PENUH: (("Bukit Khayangan", 200.0),),
    _R.TANJUNG_JABUNG_TIMUR: (("Pantai Cemara", 250.0),),
    _R.TEBO: (("Taman Nasional Bukit Tigapuluh", 40.0),),
}


class Series(NamedTuple):
    """One stream of readings: an indicator for one place."""

    indicator: Indicator
    region: Region
    site: str | None
    base: float


def period_of(cadence: Cadence, at: datetime) -> tuple[datetime, datetime]:
    """The period (start, end) of a cadence that contains `at`, with boundaries in WIB."""
    local = at.astimezone(WIB)
    if cadence is Cadence.HOURLY:
        start = local.replace(minute=0, second=0, microsecond=0)
        end = start + timedelta(hours=1)
    elif cadence is Cadence.DAILY:
        start = local.replace(hour=0, minute=0, second=0, microsecond=0)
        end = start + timedelta(days=1)
    elif cadence is Cadence.WEEKLY:
        start = (local - timedelta(days=local.weekday())).replace(hour=0, minute=0, second=0,
                                                                  microsecond=0)
        end = start + timedelta(days=7)
    else:
        start = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        end = (start + timedelta(days=32)).replace(day=1)
    return start.astimezone(UTC), end.astimezone(UTC)


def _series() -> list[Series]:
    found: list[Series] = []
    for indicator in CATALOGUE:
        for region, site, base in _places(indicator):
            found.append(Series(indicator, region, site, base))
    return found


def _places(indicator: Indicator) -> list[tuple[Region, str | None, float]]:
    """Where an indicator is measured and its typical level there."""
    code = indicator.code
    big = {_R.KOTA_JAMBI: 3.0, _R.MUARO_JAMBI: 1.6, _R.MERANGIN: 1.4, _R.BUNGO: 1.3, _R.TEBO: 1.3,
           _R.SAROLANGUN: 1.2, _R.BATANG_HARI: 1.1, _R.TANJUNG_JABUNG_BARAT: 1.3,
           _R.TANJUNG_JABUNG_TIMUR: 0.9, _R.KERINCI: 1.0, _R.KOTA_SUNGAI_PENUH: 0.4}
    scaled = {"bpnt_keluarga_penerima": 9_000.0, "akta_kelahiran_terbit": 45.0, "nib_terbit": 25.0,
              "siswa_putus_sekolah": 20.0, "jalan_rusak_berat": 9.0, "umkm_terdaftar": 18.0,
              "kur_tersalur": 2_600.0, "penerimaan_pajak_daerah": 550.0}
    if code in ("produksi_tbs_sawit", "produksi_karet", "produksi_padi", "produksi_kopi"):
        regions, base = {"produksi_tbs_sawit": (_PLANTATION, 3_200.0), "produksi_karet": (_RUBBER, 260.0),
                         "produksi_padi": (_RICE, 5_500.0), "produksi_kopi": (_COFFEE, 650.0)}[code]
        return [(r, None, base * (1.6 if r is _R.KERINCI and code != "produksi_tbs_sawit" else 1.0))
                for r in regions]
    if indicator.site_kind == "pasar":
        middle = {"harga_beras_medium": 13_600.0, "harga_cabai_merah": 42_000.0,
                  "harga_bawang_merah": 36_000.0, "harga_minyak_goreng": 15_600.0,
                  "harga_gula_pasir": 17_600.0}[code]
        highland = code in ("harga_cabai_merah", "harga_bawang_merah")
        return [(r, m, middle * (0.85 if highland and r in (_R.KERINCI, _R.KOTA_SUNGAI_PENUH) else 1.0))
                for r, markets in MARKETS.items() for m in markets]
    if code == "tinggi_muka_air":
        return [(r, g, {_R.KOTA_JAMBI: 9.0, _R.MUARO_JAMBI: 8.5}.get(r, 7.5))
                for r, gauges in GAUGES.items() for g in gauges]
    if code == "kunjungan_wisatawan":
        return [(r, name, visitors) for r, sites in SITES.items() for name, visitors in sites]
    if code in scaled:
        return [(r, None, scaled[code] * big[r]) for r in _ALL]
    return [(r, None, 0.0) for r in _ALL]


class SectorFeed:
    """Readings of every catalogued indicator for Jambi's 11 kabupaten/kota, as they fall due."""

    def __init__(self, rng: random.Random) -> None:
        """A feed drawing every value from `rng`."""
        self._rng = rng
        self._series = _series()
        self._level: dict[int, float] = {}  # the last value of random-walk series (prices)
        self._reported: dict[int, datetime] = {}  # the end of the last period reported per series

    @property
    def series(self) -> list[Series]:
        """Every series the feed reports."""
        return self._series

    def due(self, now: datetime) -> list[SectorIndicatorEvent]:
        """The readings that have arrived by `now` and were not returned yet (a new feed: the latest)."""
        return self._arrived(now, None)

    def between(self, since: datetime, until: datetime) -> list[SectorIndicatorEvent]:
        """Every reading arriving in (since, until], for a history; later calls continue from it."""
        return self._arrived(until, since)

    def _arrived(self, until: datetime, since: datetime | None) -> list[SectorIndicatorEvent]:
        readings: list[SectorIndicatorEvent] = []
        for index, series in enumerate(self._series):
            cadence = series.indicator.cadence
            delay = REPORT_DELAY[cadence]
            latest = period_of(cadence, until - delay)[0]  # the last period end that has arrived
            floor = self._reported.get(index)
            if floor is None:
                floor = since - delay if since is not None else latest - timedelta(microseconds=1)
            ends: list[datetime] = []
            end = latest
            while end > floor:
                ends.append(end)
                end = period_of(cadence, end - timedelta(microseconds=1))[0]
            for end in reversed(ends):
                start = period_of(cadence, end - timedelta(microseconds=1))[0]
                if (reading := self._reading(index, series, start, end, end + delay)) is not None:
                    readings.append(reading)
            self._reported[index] = max(latest, floor)
        readings.sort(key=lambda r: r.received_at)
        return readings

    def _reading(self, index: int, series: Series, start: datetime, end: datetime,
                 arrived: datetime) -> SectorIndicatorEvent | None:
        value = self._value(index, series, start)
        if value is None:
            return None
        indicator = series.indicator
        jitter = timedelta(seconds=self._rng.uniform(0, 240))
        return SectorIndicatorEvent(
            id=new_event_id(), source=SOURCE, occurred_at=arrived - timedelta(minutes=4) + jitter,
            received_at=arrived + jitter, region=series.region,
            payload=SectorIndicator(
                sector=indicator.sector, indicator=indicator.code, value=value, unit=indicator.unit,
                period_start=start, period_end=end,
                agency=f"{indicator.agency} {REGION_NAMES[series.region]}", site=series.site,
            ),
        )

    def _value(self, index: int, series: Series, start: datetime) -> float | None:
        rng = self._rng
        local = start.astimezone(WIB)
        dry = 6 <= local.month <= 10
        code = series.indicator.code
        region = series.region
        weekend = local.weekday() >= 5
        if code in ("kehadiran_siswa", "kehadiran_guru") and weekend:
            return None  # schools are closed
        if series.indicator.site_kind == "pasar":
            level = self._level.get(index, series.base)
            volatile = code in ("harga_cabai_merah", "harga_bawang_merah")
            shock = rng.gauss(0, 0.06 if volatile else 0.008)
            if volatile and rng.random() < 0.03:
                shock += rng.uniform(0.1, 0.3)  # a harvest failure upriver, or Ramadan demand
            level = level * (1 + shock) + 0.15 * (series.base - level)
            self._level[index] = level
            return float(round(level / 50) * 50)
        if code == "tinggi_muka_air":
            season = -1.5 if dry else 1.8
            level = self._level.get(index, series.base + season)
            level += 0.1 * (series.base + season - level) + rng.gauss(0, 0.08)
            if not dry and rng.random() < 0.002:
                level += rng.uniform(1.0, 3.0)  # upstream rain in Kerinci and West Sumatra
            self._level[index] = level
            return round(max(1.0, level), 2)
        if code == "ispu_pm25":
            peat = _PEAT[region]
            mean = (35 + 90 * peat) if dry else 25 + 5 * peat
            return float(max(5, min(500, round(rng.lognormvariate(math.log(mean), 0.35)))))
        if code in ("titik_panas", "titik_panas_gambut"):
            peat = _PEAT[region] * (0.5 if code == "titik_panas_gambut" else 1.0)
            mean = (6.0 if dry else 0.25) * peat
            return float(_poisson(rng, mean))
        if code in ("realisasi_pendapatan", "realisasi_belanja"):
            year = (local - datetime(local.year, 1, 1, tzinfo=WIB)).days / 365
            curve = year ** (1.4 if code == "realisasi_belanja" else 1.05)
            return round(min(100.0, 100 * curve * rng.uniform(0.88, 1.02)), 2)
        percent = {"bansos_pkh_tersalur": (92, 5), "rekam_ktp_el": (98.2, 0.8), "kehadiran_siswa": (94, 2.5),
                   "kehadiran_guru": (96, 2), "jalan_mantap": (78, 6), "okupansi_hotel": (52, 12),
                   "koperasi_aktif": (64, 8)}
        if code in percent:
            mean, sd = percent[code]
            if code == "okupansi_hotel" and region not in (_R.KOTA_JAMBI, _R.KOTA_SUNGAI_PENUH, _R.BUNGO):
                mean -= 15
            return round(max(0.0, min(100.0, rng.gauss(mean, sd))), 1)
        if code == "progres_fisik_proyek":
            weeks = (local - datetime(local.year, 1, 1, tzinfo=WIB)).days / 7
            return round(max(0.0, min(100.0, 100 * (weeks / 48) ** 1.3 + rng.gauss(0, 4))), 1)
        if code == "harga_tbs_sawit":
            return float(round(rng.gauss(3_050, 150) / 10) * 10)
        if code == "kasus_penyakit_ternak":
            return float(_poisson(rng, 1.5))
        if code == "kunjungan_wisatawan":
            factor = 2.6 if weekend else 1.0
            return float(max(0, round(rng.gauss(series.base * factor, series.base * 0.2))))
        if code in ("produksi_tbs_sawit", "produksi_karet"):
            return round(max(0.0, rng.gauss(series.base, series.base * 0.12)), 1)
        if code == "produksi_padi":  # two harvests: March–April and August–September
            harvest = 2.2 if local.month in (3, 4, 8, 9) else 0.5
            return round(max(0.0, rng.gauss(series.base * harvest, series.base * 0.15)), 1)
        if code == "produksi_kopi":  # the Kerinci coffee harvest peaks April–July
            harvest = 1.8 if 4 <= local.month <= 7 else 0.6
            return round(max(0.0, rng.gauss(series.base * harvest, series.base * 0.1)), 1)
        # counts: around the region's typical level
        if series.indicator.unit in ("dokumen", "NIB", "unit", "siswa", "KPM"):
            weekday_factor = 0.2 if weekend and series.indicator.cadence is Cadence.DAILY else 1.0
            return float(_poisson(rng, series.base * weekday_factor)) if series.base < 200 else \
                float(round(rng.gauss(series.base, series.base * 0.05)))
        return round(max(0.0, rng.gauss(series.base, series.base * 0.15)), 1)


def _poisson(rng: random.Random, mean: float) -> int:
    """A Poisson draw (Knuth); means here are small."""
    if mean <= 0:
        return 0
    if mean > 30:
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    limit, k, p = math.exp(-mean), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1

