"""Realistic raw events for Jambi's 11 kabupaten/kota: citizen reports, BMKG/BPBD alerts, OSS permits.

Pure generation, no I/O: given a seeded `random.Random` the content is reproducible (only the
UUIDv7 event ids, which come from `new_event_id()`, differ between runs). Everything that costs
time (points inside each region, weight tables, template lists) is computed once, so `raw()`
stays well above the rate a connector needs.
"""

from __future__ import annotations

import math
import random
import re
from bisect import bisect_right
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any, Generic, NamedTuple, TypeVar

import msgspec

from connectors.simulator.sectors import SectorFeed
from schemas.clock import WIB
from schemas.events import (
    AlertArea,
    AlertCategory,
    ApplicantType,
    Certainty,
    Channel,
    Circle,
    CitizenReport,
    CitizenReportEvent,
    DisasterAlert,
    DisasterAlertEvent,
    Event,
    Kind,
    PermitFiling,
    PermitFilingEvent,
    PermitStatus,
    Point,
    ReportCategory,
    ReporterContact,
    SectorIndicatorEvent,
    Severity,
    Urgency,
    new_event_id,
)
from schemas.raw import Flaw, RawMessage
from schemas.regions import REGION_NAMES, Region, boundaries, region_at

SOURCE = "simulator"

T = TypeVar("T")


class _Table(Generic[T]):
    """Weighted choice by bisecting cumulative weights: several times faster than rng.choices."""

    __slots__ = ("cum", "items", "total")

    def __init__(self, pairs: Sequence[tuple[T, float]]) -> None:
        self.items = [item for item, weight in pairs if weight > 0]
        self.cum: list[float] = []
        total = 0.0
        for _, weight in pairs:
            if weight > 0:
                total += weight
                self.cum.append(total)
        if not self.items:
            raise ValueError("a weighted table needs at least one positive weight")
        self.total = total

    def pick(self, rng: random.Random) -> T:
        return self.items[bisect_right(self.cum, rng.random() * self.total)]


@cache
def _table_of(pairs: tuple[tuple[Any, float], ...]) -> _Table[Any]:
    return _Table(pairs)


def _pick(rng: random.Random, pairs: tuple[tuple[T, float], ...]) -> T:
    """A weighted choice from literal pairs, their table built once."""
    picked: T = _table_of(pairs).pick(rng)
    return picked


# random.choice/randint/randrange go through _randbelow and cost three times as much as one
# random() call; these stay deterministic for a seeded rng and are plenty uniform here.
def _choice(rng: random.Random, seq: Sequence[T]) -> T:
    return seq[int(rng.random() * len(seq))]


def _randint(rng: random.Random, low: int, high: int) -> int:
    return low + int(rng.random() * (high - low + 1))


def _randrange(rng: random.Random, start: int, stop: int, step: int = 1) -> int:
    return start + step * int(rng.random() * ((stop - start + step - 1) // step))


def _rupiah(amount: int) -> str:
    return f"{amount:,}".replace(",", ".")


# --- Places ------------------------------------------------------------------------------


class _Place(NamedTuple):
    short: str  # how people name the kabupaten/kota in speech ("Muaro Jambi", "Kota Jambi")
    kecamatan: tuple[tuple[str, tuple[str, ...]], ...]  # kecamatan → some of its desa/kelurahan
    streets: tuple[str, ...]
    landmarks: tuple[str, ...]
    rivers: tuple[str, ...]
    hospital: str
    school_code: str  # the Roman suffix of Jambi's SD numbering ("SD Negeri 47/IV")
    pdam: str


_PLACES: dict[Region, _Place] = {
    Region.KOTA_JAMBI: _Place(
        "Kota Jambi",
        (
            ("Telanaipura", ("Pematang Sulur", "Simpang IV Sipin", "Buluran Kenali", "Telanaipura")),
            ("Danau Sipin", ("Legok", "Murni", "Solok Sipin", "Sungai Putri")),
            ("Kota Baru", ("Simpang III Sipin", "Suka Karya", "Kenali Asam Bawah", "Paal Lima")),
            ("Alam Barajo", ("Mayang Mangurai", "Bagan Pete", "Kenali Besar", "Rawasari")),
            ("Jambi Selatan", ("Thehok", "Tambak Sari", "Pakuan Baru", "Wijaya Pura")),
            ("Paal Merah", ("Talang Bakung", "Lingkar Selatan", "Paal Merah", "Eka Jaya")),
            ("Jelutung", ("Jelutung", "Kebun Handil", "Cempaka Putih", "Payo Lebar")),
            ("Pasar Jambi", ("Orang Kayo Hitam", "Pasar Jambi", "Beringin", "Sungai Asam")),
            ("Jambi Timur", ("Talang Banjar", "Sulanjana", "Tanjung Pinang", "Rajawali")),
            ("Pelayangan", ("Tahtul Yaman", "Jelmu", "Mudung Laut", "Arab Melayu")),
            ("Danau Teluk", ("Olak Kemang", "Pasir Panjang", "Tanjung Raden", "Ulu Gedong")),
        ),
        (
            "Jl. Jenderal Sudirman", "Jl. Gatot Subroto", "Jl. Hayam Wuruk", "Jl. Sultan Thaha",
            "Jl. Kapten Pattimura", "Jl. Prof. Dr. Sri Soedewi", "Jl. Lingkar Selatan",
            "Jl. Lingkar Barat", "Jl. Orang Kayo Hitam", "Jl. H.O.S. Cokroaminoto",
            "Jl. Kol. Abunjani", "Jl. M.H. Thamrin", "Jl. Slamet Riyadi", "Jl. Soekarno-Hatta",
            "Jl. Marsda Surya Dharma", "Jl. Yos Sudarso",
        ),
        (
            "Simpang Kawat", "Simpang Rimbo", "Pasar Angso Duo", "Tanggo Rajo",
            "Jembatan Gentala Arasy", "Danau Sipin", "Terminal Alam Barajo", "Pasar Talang Banjar",
        ),
        ("Sungai Batanghari", "Danau Sipin", "Sungai Asam"),
        "RSUD Raden Mattaher",
        "IV",
        "Perumda Air Minum Tirta Mayang",
    ),
    Region.MUARO_JAMBI: _Place(
        "Muaro Jambi",
        (
            ("Sekernan", ("Sengeti", "Sekernan", "Tantan")),
            ("Jambi Luar Kota", ("Mendalo Darat", "Mendalo Indah", "Pijoan", "Simpang Sungai Duren")),
            ("Sungai Gelam", ("Sungai Gelam", "Kebon IX", "Tangkit Baru")),
            ("Kumpeh Ulu", ("Kasang Pudak", "Pudak", "Muara Kumpeh")),
            ("Kumpeh", ("Puding", "Sogo", "Sponjen", "Tanjung")),
            ("Maro Sebo", ("Muaro Jambi", "Danau Lamo")),
            ("Mestong", ("Sebapo", "Pondok Meja")),
            ("Taman Rajo", ("Rukam",)),
            ("Sungai Bahar", ()),
            ("Bahar Selatan", ()),
            ("Bahar Utara", ()),
        ),
        (
            "Jl. Lintas Timur Sumatera", "Jl. Jambi–Muara Bulian", "Jl. Lintas Sengeti",
            "Jl. Jambi–Suak Kandis", "jalan poros desa", "Jl. Lintas Jambi–Palembang",
        ),
        (
            "Kawasan Candi Muaro Jambi", "Kampus Universitas Jambi Mendalo", "Pasar Sengeti",
            "Simpang Pijoan",
        ),
        ("Sungai Batanghari", "Sungai Kumpeh"),
        "RSUD Ahmad Ripin",
        "IX",
        "PDAM Tirta Muaro Jambi",
    ),
    Region.BATANG_HARI: _Place(
        "Batang Hari",
        (
            ("Muara Bulian", ("Rengas Condong", "Muara Bulian", "Teratai", "Sridadi")),
            ("Muara Tembesi", ("Pasar Muara Tembesi", "Kampung Baru")),
            ("Pemayung", ("Kubu Kandang", "Teluk")),
            ("Bajubang", ("Bajubang", "Mekar Jaya")),
            ("Mersam", ("Mersam", "Kembang Paseban")),
            ("Maro Sebo Ulu", ("Simpang Sungai Rengas",)),
            ("Maro Sebo Ilir", ("Terusan",)),
            ("Bathin XXIV", ("Jebak",)),
        ),
        ("Jl. Jambi–Muara Bulian", "Jl. Lintas Muara Bulian–Muara Tembesi", "jalan poros desa",
         "Jl. Gajah Mada Muara Bulian"),
        ("Pasar Muara Bulian", "Jembatan Muara Tembesi", "lapangan minyak Bajubang"),
        ("Sungai Batanghari", "Sungai Tembesi"),
        "RSUD Hamba",
        "I",
        "PDAM Tirta Batanghari",
    ),
    Region.TANJUNG_JABUNG_BARAT: _Place(
        "Tanjung Jabung Barat",
        (
            ("Tungkal Ilir", ("Tungkal Harapan", "Tungkal III", "Patunas", "Sriwijaya")),
            ("Betara", ("Teluk Pengkah",)),
            ("Pengabuan", ("Teluk Nilau",)),
            ("Bram Itam", ("Bram Itam Kiri", "Bram Itam Kanan")),
            ("Senyerang", ("Senyerang",)),
            ("Tungkal Ulu", ("Pelabuhan Dagang",)),
            ("Merlung", ("Merlung",)),
            ("Batang Asam", ("Dusun Kebun",)),
            ("Seberang Kota", ()),
            ("Kuala Betara", ()),
        ),
        ("Jl. Lintas Kuala Tungkal–Jambi", "Jl. Jenderal Sudirman Kuala Tungkal", "jalan poros desa"),
        ("Pelabuhan Roro Kuala Tungkal", "Pasar Parit Gompong", "Pasar Kuala Tungkal"),
        ("Sungai Pengabuan", "Sungai Betara", "parit"),
        "RSUD K.H. Daud Arif",
        "V",
        "PDAM Tirta Pengabuan",
    ),
    Region.TANJUNG_JABUNG_TIMUR: _Place(
        "Tanjung Jabung Timur",
        (
            ("Muara Sabak Timur", ("Muara Sabak Ilir", "Kampung Singkep")),
            ("Muara Sabak Barat", ("Talang Babat", "Parit Culum")),
            ("Nipah Panjang", ("Nipah Panjang I", "Nipah Panjang II")),
            ("Mendahara", ("Mendahara Ilir",)),
            ("Dendang", ("Rantau Indah",)),
            ("Sadu", ("Sungai Lokan", "Remau Bakau Tuo")),
            ("Berbak", ("Simpang", "Rantau Makmur")),
            ("Geragai", ("Pandan Jaya",)),
            ("Rantau Rasau", ()),
            ("Kuala Jambi", ("Kampung Laut",)),
        ),
        ("Jl. Lintas Jambi–Muara Sabak", "jalan poros desa",
         "Jl. Lintas Timur Muara Sabak"),
        ("Pelabuhan Muara Sabak", "Taman Nasional Berbak", "Pantai Cemara", "Pasar Nipah Panjang"),
        ("Sungai Batanghari", "Sungai Berbak", "parit"),
        "RSUD Nurdin Hamzah",
        "X",
        "PDAM Tirta Pinang",
    ),
    Region.KERINCI: _Place(
        "Kerinci",
        (
            ("Siulak", ("Siulak Deras", "Siulak Mukai")),
            ("Kayu Aro", ("Bedeng VIII", "Sungai Tanduk")),
            ("Gunung Tujuh", ("Pelompek", "Sungai Jernih")),
            ("Danau Kerinci", ("Tanjung Tanah",)),
            ("Keliling Danau", ("Jujun",)),
            ("Sitinjau Laut", ("Hiang",)),
            ("Air Hangat", ("Semurup",)),
            ("Gunung Raya", ("Lempur",)),
            ("Batang Merangin", ("Tamiai",)),
            ("Gunung Kerinci", ()),
            ("Depati Tujuh", ()),
        ),
        ("Jl. Lintas Kerinci–Bangko", "Jl. Sungai Penuh–Kersik Tuo", "Jl. Raya Siulak",
         "jalan poros desa", "Jl. Lingkar Danau Kerinci"),
        ("Danau Kerinci", "Gunung Kerinci", "Kebun Teh Kayu Aro", "Danau Gunung Tujuh",
         "kawasan TNKS"),
        ("Danau Kerinci", "Sungai Batang Merangin", "Sungai Siulak"),
        "RSUD Mayjen H.A. Thalib",
        "III",
        "PDAM Tirta Sakti",
    ),
    Region.KOTA_SUNGAI_PENUH: _Place(
        "Sungai Penuh",
        (
            ("Sungai Penuh", ("Pasar Sungai Penuh", "Dusun Baru", "Sungai Penuh")),
            ("Pondok Tinggi", ("Pondok Tinggi",)),
            ("Hamparan Rawang", ("Rawang",)),
            ("Pesisir Bukit", ("Koto Keras",)),
            ("Kumun Debai", ("Kumun", "Debai")),
            ("Koto Baru", ("Koto Baru",)),
            ("Tanah Kampung", ()),
            ("Sungai Bungkal", ("Sungai Bungkal",)),
        ),
        ("Jl. Muradi", "Jl. Depati Parbo", "Jl. Sungai Penuh–Tapan", "Jl. Jenderal Sudirman"),
        ("Masjid Agung Pondok Tinggi", "Bukit Khayangan", "Pasar Sungai Penuh"),
        ("Sungai Batang Merao", "Danau Kerinci"),
        "RSUD Mayjen H.A. Thalib",
        "",
        "PDAM Tirta Khayangan",
    ),
    Region.MERANGIN: _Place(
        "Merangin",
        (
            ("Bangko", ("Pasar Atas Bangko", "Dusun Bangko", "Pematang Kandis")),
            ("Bangko Barat", ()),
            ("Tabir", ("Pasar Rantau Panjang",)),
            ("Pamenang", ("Pamenang",)),
            ("Jangkat", ("Muara Madras",)),
            ("Lembah Masurai", ()),
            ("Sungai Manau", ()),
            ("Muara Siau", ()),
            ("Renah Pembarap", ()),
            ("Sungai Tenang", ()),
            ("Nalo Tantan", ()),
            ("Margo Tabir", ()),
        ),
        ("Jl. Lintas Tengah Sumatera", "Jl. Jenderal Sudirman Bangko", "Jl. Bangko–Kerinci",
         "jalan poros desa"),
        ("Geopark Merangin", "Danau Depati Empat", "Pasar Bangko", "Terminal Bangko"),
        ("Sungai Merangin", "Sungai Tabir", "Sungai Masumai"),
        "RSUD Kol. Abundjani",
        "VI",
        "PDAM Tirta Merangin",
    ),
    Region.SAROLANGUN: _Place(
        "Sarolangun",
        (
            ("Sarolangun", ("Sarolangun Kembang", "Pasar Sarolangun", "Aur Gading")),
            ("Pauh", ()),
            ("Mandiangin", ()),
            ("Pelawan", ()),
            ("Singkut", ()),
            ("Limun", ()),
            ("Batang Asai", ()),
            ("Air Hitam", ("Bukit Suban",)),
            ("Bathin VIII", ("Limbur Tembesi",)),
            ("Cermin Nan Gedang", ()),
        ),
        ("Jl. Lintas Tengah Sumatera", "Jl. Lintas Sarolangun–Bangko", "jalan poros desa",
         "Jl. Lintas Sarolangun–Muara Tembesi"),
        ("Pasar Sarolangun", "Taman Nasional Bukit Duabelas", "Jembatan Beatrix"),
        ("Sungai Batang Tembesi", "Sungai Batang Asai", "Sungai Limun"),
        "RSUD Prof. Dr. H.M. Chatib Quzwain",
        "VII",
        "PDAM Tirta Sako Batuah",
    ),
    Region.BUNGO: _Place(
        "Bungo",
        (
            ("Rimbo Tengah", ()),
            ("Pasar Muara Bungo", ()),
            ("Bungo Dani", ()),
            ("Tanah Tumbuh", ()),
            ("Jujuhan", ()),
            ("Pelepat", ()),
            ("Pelepat Ilir", ("Kuamang Kuning",)),
            ("Rantau Pandan", ()),
            ("Limbur Lubuk Mengkuang", ()),
            ("Tanah Sepenggal", ()),
        ),
        ("Jl. Lintas Sumatera", "Jl. Lintas Muara Bungo–Tebo", "jalan poros desa",
         "Jl. Diponegoro Muara Bungo"),
        ("Pasar Atas Muara Bungo", "Bandara Muara Bungo", "Terminal Muara Bungo"),
        ("Sungai Batang Bungo", "Sungai Batang Tebo", "Sungai Jujuhan", "Sungai Pelepat"),
        "RSUD H. Hanafie",
        "II",
        "PDAM Tirta Pusaka",
    ),
    Region.TEBO: _Place(
        "Tebo",
        (
            ("Tebo Tengah", ("Muara Tebo",)),
            ("Rimbo Bujang", ("Wirotho Agung", "Tirta Kencana")),
            ("Rimbo Ilir", ()),
            ("Rimbo Ulu", ()),
            ("Tebo Ilir", ()),
            ("Tebo Ulu", ()),
            ("Sumay", ()),
            ("VII Koto", ()),
            ("Serai Serumpun", ()),
            ("Muara Tabir", ()),
        ),
        ("Jl. Lintas Sumatera", "Jl. Lintas Muara Tebo–Rimbo Bujang", "jalan poros desa"),
        ("Pasar Muara Tebo", "Pasar Rimbo Bujang", "Taman Nasional Bukit Tigapuluh"),
        ("Sungai Batanghari", "Sungai Batang Tebo", "Sungai Sumay"),
        "RSUD Sultan Thaha Saifuddin",
        "VIII",
        "PDAM Tirta Muaro Tebo",
    ),
}

# Census 2020 population in thousands (BPS), the base of every regional weight.
_POPULATION: dict[Region, float] = {
    Region.KERINCI: 250, Region.MERANGIN: 354, Region.SAROLANGUN: 290,
    Region.BATANG_HARI: 302, Region.MUARO_JAMBI: 402, Region.TANJUNG_JABUNG_BARAT: 317,
    Region.TANJUNG_JABUNG_TIMUR: 230, Region.BUNGO: 362, Region.TEBO: 338,
    Region.KOTA_JAMBI: 606, Region.KOTA_SUNGAI_PENUH: 97,
}
# City people file far more online complaints per head than villages with weak signal.
_REPORT_REGION_WEIGHTS = {
    r: p * (1.6 if r is Region.KOTA_JAMBI else 1.0) for r, p in _POPULATION.items()
}

_RURAL = frozenset(Region) - {Region.KOTA_JAMBI}
_HIGHLAND = frozenset({Region.KERINCI, Region.KOTA_SUNGAI_PENUH, Region.MERANGIN})
_PEAT = frozenset({
    Region.MUARO_JAMBI, Region.TANJUNG_JABUNG_TIMUR, Region.TANJUNG_JABUNG_BARAT,
    Region.BATANG_HARI, Region.SAROLANGUN,
})
# Along the Batanghari and its big tributaries (Tembesi, Tebo, Bungo, Merangin).
_RIVERINE = frozenset({
    Region.KOTA_JAMBI, Region.MUARO_JAMBI, Region.BATANG_HARI, Region.TEBO, Region.BUNGO,
    Region.SAROLANGUN, Region.MERANGIN, Region.TANJUNG_JABUNG_TIMUR,
})
_BATANGHARI = frozenset({
    Region.KOTA_JAMBI, Region.MUARO_JAMBI, Region.BATANG_HARI, Region.TEBO,
    Region.TANJUNG_JABUNG_TIMUR,
})
# Illegal gold mining (PETI) with dompeng dredges muddies the upper tributaries.
# Roads through hills and river cuttings, where landslides close traffic after heavy rain.
_STEEP_ROADS: dict[Region, tuple[str, ...]] = {
    Region.KERINCI: ("Jl. Lintas Kerinci–Bangko", "Jl. Sungai Penuh–Kersik Tuo",
                     "Jl. Lintas Siulak–Kayu Aro"),
    Region.KOTA_SUNGAI_PENUH: ("Jl. Sungai Penuh–Tapan", "jalan menuju Bukit Khayangan"),
    Region.MERANGIN: ("Jl. Bangko–Kerinci", "Jl. Lintas Muara Madras–Jangkat"),
    Region.SAROLANGUN: ("Jl. Lintas Batang Asai",),
    Region.BUNGO: ("Jl. Lintas Muara Bungo–Dharmasraya",),
}
_PETI = frozenset({Region.SAROLANGUN, Region.MERANGIN, Region.BUNGO, Region.TEBO})
# Where coal trucks run to the river ports and jam the roads.
_COAL_ROUTE = frozenset({
    Region.SAROLANGUN, Region.BATANG_HARI, Region.MUARO_JAMBI, Region.KOTA_JAMBI,
    Region.BUNGO, Region.TEBO,
})
_PLANTATION = frozenset(Region) - {Region.KOTA_JAMBI, Region.KOTA_SUNGAI_PENUH, Region.KERINCI}
_COAL = frozenset({
    Region.SAROLANGUN, Region.BUNGO, Region.TEBO, Region.BATANG_HARI, Region.MUARO_JAMBI,
    Region.MERANGIN,
})


# --- Points inside each region -----------------------------------------------------------

_POOL_SIZE = 512
_POOL_SEED = 1571  # the pool is fixed for every simulator so construction stays cheap


# Where each simulated location lies, as `region_at` said when it was accepted: keying a
# region-less event is then a dict lookup instead of a polygon query in the hot path.
_PLACED: dict[tuple[float, float], Region] = {}


@cache
def _point_pools() -> dict[Region, tuple[Point, ...]]:
    """GPS-rounded points near each centroid that `region_at` places in that region."""
    found = boundaries()
    rng = random.Random(_POOL_SEED)
    pools: dict[Region, tuple[Point, ...]] = {}
    for region, polygon in zip(found.regions, found.polygons, strict=True):
        lat0, lon0 = found.centroids[region]
        min_lon, min_lat, max_lon, max_lat = polygon.bounds
        sigma_lat, sigma_lon = (max_lat - min_lat) / 4, (max_lon - min_lon) / 4
        points: list[Point] = []
        for _ in range(_POOL_SIZE * 8):
            lat = round(rng.gauss(lat0, sigma_lat), 5)
            lon = round(rng.gauss(lon0, sigma_lon), 5)
            if region_at(lat, lon) == region:
                points.append(Point(lat, lon))
                _PLACED[lat, lon] = region
                if len(points) == _POOL_SIZE:
                    break
        if not points:  # a sliver region: the centroid is the best we can say
            points.append(Point(round(lat0, 5), round(lon0, 5)))
            _PLACED[points[0].lat, points[0].lon] = region
        pools[region] = tuple(points)
    return pools


# --- Time of day -------------------------------------------------------------------------

# Relative citizen-report volume per WIB hour: quiet after midnight, a peak mid-morning,
# a second smaller one after maghrib when people are home with their phones.
_HOURLY = (
    0.12, 0.08, 0.06, 0.06, 0.10, 0.25, 0.45, 0.70, 0.90, 1.00, 1.00, 0.95,
    0.80, 0.85, 0.90, 0.85, 0.75, 0.65, 0.60, 0.70, 0.75, 0.65, 0.45, 0.25,
)
_KIND_SHARE = {Kind.CITIZEN_REPORT: 70.0, Kind.PERMIT_FILING: 22.0, Kind.DISASTER_ALERT: 8.0}


def _is_office(local: datetime) -> bool:
    return local.weekday() < 5 and 8 <= local.hour < 16


def _season(month: int) -> str:
    """Jambi's dry season (karhutla) runs June–October, the wet one November–April."""
    if 6 <= month <= 10:
        return "dry"
    if month == 5:
        return "mid"
    return "wet"


def _kind_rates(local: datetime) -> dict[Kind, float]:
    hourly = _HOURLY[local.hour] * (0.8 if local.weekday() >= 5 else 1.0)
    office = _is_office(local)
    permits = 1.0 if office else (0.12 if 6 <= local.hour < 22 else 0.02)
    return {
        Kind.CITIZEN_REPORT: _KIND_SHARE[Kind.CITIZEN_REPORT] * hourly,
        Kind.PERMIT_FILING: _KIND_SHARE[Kind.PERMIT_FILING] * permits,
        # Hazards keep no office hours, but a flat rate would make night streams mostly alerts.
        Kind.DISASTER_ALERT: _KIND_SHARE[Kind.DISASTER_ALERT] * max(hourly, 0.12),
    }


def _as_utc(now: datetime) -> datetime:
    return now.replace(tzinfo=UTC) if now.tzinfo is None else now.astimezone(UTC)


# --- Citizen report templates ------------------------------------------------------------


class _Template(NamedTuple):
    title: str
    text: str
    where: frozenset[Region] | None = None
    season: str | None = None  # "dry"/"wet": more likely in that season, rarer outside it
    weight: float = 1.0


_C = ReportCategory
_REPORTS: dict[ReportCategory, tuple[_Template, ...]] = {
    _C.INFRASTRUKTUR: (
        _Template(
            "Jalan rusak dan berlubang di {jalan}",
            "Jalan di {jalan}, {desa}, Kecamatan {kec} rusak parah dan banyak lubang sedalam "
            "{cm} cm. Sudah {lama} tidak diperbaiki, sudah ada pengendara motor yang jatuh, "
            "apalagi kalau malam dan hujan lubangnya tidak kelihatan. Mohon segera diperbaiki.",
            weight=3.0,
        ),
        _Template(
            "Lampu jalan mati di {jalan}",
            "Lampu penerangan jalan umum di sepanjang {jalan} dekat {tempat} mati sudah {lama}. "
            "Malam hari gelap gulita, rawan kecelakaan dan rawan begal. Mohon Dinas Perhubungan "
            "segera memperbaiki.",
            weight=2.0,
        ),
        _Template(
            "Drainase tersumbat di {desa}",
            "Parit/drainase di {rt} {desa}, Kecamatan {kec} tersumbat sampah dan lumpur. Hujan "
            "sebentar saja air langsung meluap ke jalan dan masuk ke halaman rumah warga. Mohon "
            "dinormalisasi sebelum musim hujan.",
            season="wet", weight=2.0,
        ),
        _Template(
            "Jembatan gantung rusak di {desa}",
            "Jembatan gantung penghubung {desa}, Kecamatan {kec} papannya banyak yang lapuk dan "
            "kawat penahannya sudah kendor. Anak sekolah setiap hari menyeberang {sungai} lewat "
            "jembatan ini. Mohon diperbaiki sebelum ada korban.",
            where=_RURAL,
        ),
        _Template(
            "Badan jalan amblas di {jalan}",
            "Badan jalan {jalan} di Kecamatan {kec} amblas sebagian, tinggal separuh yang bisa "
            "dilewati. Truk sawit masih terus lewat. Mohon dipasang rambu dan segera ditangani "
            "Dinas PUPR.",
            where=_RURAL,
        ),
        _Template(
            "Antrean truk batu bara bikin macet {jalan}",
            "Truk angkutan batu bara antre berkilo-kilometer di {jalan} sejak sore, jalan macet "
            "total berjam-jam dan aspal makin hancur. Warga yang mau ke rumah sakit pun tidak "
            "bisa lewat. Kapan jalan khusus batu bara selesai?",
            where=_COAL_ROUTE,
        ),
        _Template(
            "Air PDAM tidak mengalir di {desa}",
            "Air {pdam} di {rt} {desa} sudah {lama} tidak mengalir, kalaupun hidup airnya keruh "
            "dan berbau. Kami tetap bayar tagihan tiap bulan. Mohon ditindaklanjuti.",
            season="dry",
        ),
        _Template(
            "Listrik sering padam di {desa}",
            "Listrik PLN di {desa}, Kecamatan {kec} hampir tiap hari padam berjam-jam tanpa "
            "pemberitahuan. Alat elektronik warga banyak yang rusak. Mohon dicarikan solusi.",
        ),
    ),
    _C.KESEHATAN: (
        _Template(
            "Kasus DBD meningkat di {desa}",
            "Di lingkungan {rt} {desa} sudah ada {n} warga kena demam berdarah dalam {lama} ini, "
            "satu anak sampai dirawat di {rs}. Mohon Dinas Kesehatan segera melakukan fogging "
            "dan pemberantasan sarang nyamuk.",
            season="wet", weight=2.0,
        ),
        _Template(
            "Pelayanan Puskesmas {kec} lambat",
            "Antrean di Puskesmas {kec} sangat panjang, dokter baru datang jam 10. Pasien lansia "
            "harus menunggu berjam-jam dan obat sering kosong. Mohon pelayanan diperbaiki.",
            weight=2.0,
        ),
        _Template(
            "Pasien BPJS disuruh beli obat sendiri di {rs}",
            "Keluarga kami peserta BPJS Kesehatan PBI tapi disuruh membeli obat sendiri di luar "
            "{rs} dengan alasan stok kosong. Kami orang tidak mampu. Mohon penjelasan.",
        ),
        _Template(
            "Posyandu di {desa} tidak aktif",
            "Posyandu di {desa} sudah {lama} tidak ada kegiatan penimbangan balita dan "
            "pemberian makanan tambahan, padahal katanya ada program penurunan stunting.",
        ),
        _Template(
            "Banyak warga terserang ISPA akibat asap",
            "Sejak kabut asap datang, Puskesmas {kec} penuh pasien ISPA, kebanyakan anak-anak "
            "dan lansia. Mohon dibagikan masker dan disiapkan posko kesehatan.",
            where=_PEAT | {Region.KOTA_JAMBI}, season="dry",
        ),
    ),
    _C.PENDIDIKAN: (
        _Template(
            "Atap ruang kelas {sekolah} bocor",
            "Atap dua ruang kelas di {sekolah}, {desa} bocor parah dan plafonnya sudah mau "
            "runtuh. Murid terpaksa belajar bergantian di ruang guru. Mohon segera direhab.",
            weight=2.0,
        ),
        _Template(
            "Pungutan uang seragam di {smp}",
            "Anak saya di {smp} diminta membayar uang seragam dan uang komite Rp{biaya}, padahal "
            "katanya sekolah negeri gratis. Mohon ditinjau.",
        ),
        _Template(
            "Dana PIP belum cair",
            "Dana Program Indonesia Pintar (PIP) untuk anak saya kelas {kelas} di {sekolah} belum "
            "cair padahal namanya sudah terdaftar. Kata pihak sekolah disuruh tunggu saja.",
        ),
        _Template(
            "Anak tidak diterima di SMP terdekat",
            "Anak kami tidak diterima di {smp} lewat jalur domisili, padahal rumah kami hanya "
            "{jarak} meter dari sekolah. Yang rumahnya lebih jauh malah diterima. Mohon dicek.",
        ),
        _Template(
            "Honor guru honorer belum dibayar",
            "Guru honorer di {sekolah} sudah {bulan} bulan belum menerima honor. Mohon perhatian "
            "Dinas Pendidikan {kab}.",
        ),
    ),
    _C.SOSIAL: (
        _Template(
            "Bansos PKH belum cair",
            "Saya terdaftar sebagai penerima PKH di {desa}, Kecamatan {kec} tapi bantuan tahap "
            "ini belum cair, sedangkan tetangga sudah. Mohon dicek datanya.",
            weight=3.0,
        ),
        _Template(
            "Bantuan sembako BPNT belum masuk",
            "Bantuan sembako (BPNT) bulan ini belum masuk ke kartu KKS kami. Sudah tanya ke "
            "pendamping tapi belum ada jawaban.",
            weight=2.0,
        ),
        _Template(
            "Penerima bansos tidak tepat sasaran di {desa}",
            "Warga mampu di {rt} {desa} dapat bantuan, sedangkan lansia dan janda miskin malah "
            "tidak terdaftar di DTSEN. Mohon pendataan ulang yang adil.",
            weight=2.0,
        ),
        _Template(
            "Lansia hidup sebatang kara di rumah hampir roboh",
            "Ada seorang nenek hidup sendirian di rumah papan yang hampir roboh di {rt} {desa}, "
            "Kecamatan {kec}. Mohon dibantu program bedah rumah dan bantuan makan.",
        ),
        _Template(
            "BLT Dana Desa belum dibagikan",
            "BLT Dana Desa di {desa} untuk tiga bulan terakhir belum dibagikan. Warga bertanya "
            "tapi kepala desa selalu bilang belum turun.",
            where=_RURAL,
        ),
    ),
    _C.LINGKUNGAN: (
        _Template(
            "Sampah menumpuk di {jalan}",
            "Sampah di TPS dekat {tempat}, {jalan} sudah {lama} tidak diangkut. Baunya "
            "menyengat dan sampahnya meluber ke badan jalan. Mohon DLH segera mengangkut.",
            weight=3.0,
        ),
        _Template(
            "Kabut asap makin tebal di {kab}",
            "Kabut asap di {kab} makin tebal sejak pagi, jarak pandang pendek dan bau asap masuk "
            "ke rumah. Anak-anak mulai batuk. Mohon pemerintah segera menangani karhutla.",
            where=_PEAT | {Region.KOTA_JAMBI, Region.TEBO}, season="dry", weight=2.0,
        ),
        _Template(
            "Pencemaran Sungai Batanghari di {desa}",
            "Air Sungai Batanghari di {desa} keruh kecokelatan dan berbau, diduga dari aktivitas "
            "PETI di hulu. Warga yang masih mandi dan mencuci di sungai mengeluh gatal-gatal.",
            where=_BATANGHARI, weight=1.5,
        ),
        _Template(
            "PETI masih marak di {sungai}",
            "Aktivitas penambangan emas tanpa izin (PETI) pakai dompeng masih marak di {sungai}, "
            "Kecamatan {kec}. Air sungai jadi keruh, ikan hilang, dan tebing sungai runtuh.",
            where=_PETI, weight=1.5,
        ),
        _Template(
            "Limbah pabrik kelapa sawit dibuang ke sungai",
            "Limbah pabrik kelapa sawit dekat {desa} dibuang ke anak sungai. Airnya hitam dan "
            "ikan banyak yang mati. Mohon DLH turun mengecek.",
            where=_PLANTATION,
        ),
        _Template(
            "Debu angkutan batu bara di {jalan}",
            "Debu dari truk batu bara di {jalan} masuk ke rumah dan warung warga setiap hari. "
            "Truk tidak ditutup terpal. Mohon ditertibkan.",
            where=_COAL_ROUTE, season="dry",
        ),
    ),
    _C.KEAMANAN: (
        _Template(
            "Rawan begal di {jalan}",
            "Sudah {n} kali terjadi begal di {jalan} dekat {tempat} dalam {lama}. Jalannya gelap "
            "dan sepi. Mohon patroli polisi ditingkatkan pada malam hari.",
            weight=2.0,
        ),
        _Template(
            "Balap liar tiap malam di {jalan}",
            "Tiap malam minggu ada balap liar di {jalan}, knalpot brong sampai subuh, sangat "
            "mengganggu dan membahayakan pengguna jalan.",
        ),
        _Template(
            "Buah sawit warga sering dicuri",
            "Buah sawit di kebun warga {desa}, Kecamatan {kec} sering dicuri pada malam hari. "
            "Sudah lapor ke polsek tapi belum ada tindakan.",
            where=_PLANTATION,
        ),
        _Template(
            "Dugaan peredaran narkoba di {desa}",
            "Diduga ada peredaran narkoba di sekitar {rt} {desa}. Banyak pemuda dari luar "
            "nongkrong sampai subuh. Mohon ditindak.",
        ),
        _Template(
            "Pencurian motor di {tempat}",
            "Motor saya hilang di parkiran {tempat} siang tadi. Di sana tidak ada petugas parkir "
            "resmi dan CCTV. Sudah beberapa kali kejadian serupa.",
        ),
    ),
    _C.BENCANA: (
        _Template(
            "Banjir merendam rumah warga di {desa}",
            "Sejak tadi malam air {sungai} naik dan merendam rumah warga di {rt} {desa}, "
            "Kecamatan {kec} setinggi {cm} cm. Warga butuh perahu dan bantuan makanan.",
            where=_RIVERINE, season="wet", weight=2.5,
        ),
        _Template(
            "Longsor menutup {jalan_bukit}",
            "Tebing di {jalan_bukit} wilayah Kecamatan {kec} longsor dan menutup badan jalan setelah "
            "hujan deras. Kendaraan tidak bisa lewat. Mohon alat berat segera dikirim.",
            where=_HIGHLAND, season="wet", weight=2.0,
        ),
        _Template(
            "Kebakaran lahan gambut di {desa}",
            "Ada api dan asap tebal dari lahan gambut di {desa}, Kecamatan {kec}, sudah merembet "
            "sekitar {ha} hektare. Warga sudah coba memadamkan tapi sumber air jauh. Mohon "
            "Manggala Agni dan BPBD segera turun.",
            where=_PEAT, season="dry", weight=2.5,
        ),
        _Template(
            "Angin puting beliung merusak rumah di {desa}",
            "Angin puting beliung disertai hujan deras sore tadi merusak atap sekitar {n} rumah "
            "di {desa}, Kecamatan {kec}. Untung tidak ada korban jiwa.",
        ),
        _Template(
            "Pohon tumbang menutup {jalan}",
            "Pohon besar tumbang di {jalan} dekat {tempat} akibat hujan dan angin kencang, "
            "menutup separuh jalan dan menimpa kabel listrik. Mohon segera dievakuasi.",
            season="wet",
        ),
        _Template(
            "Tebing Sungai Batanghari longsor, rumah warga terancam",
            "Tebing Sungai Batanghari di {desa} longsor lagi, sudah {n} rumah panggung yang "
            "tinggal beberapa meter dari bibir sungai. Warga takut tidur di rumah.",
            where=_BATANGHARI,
        ),
    ),
    _C.PERIZINAN: (
        _Template(
            "Pengurusan PBG lama sekali",
            "Sudah {lama} saya mengajukan Persetujuan Bangunan Gedung (PBG) lewat SIMBG untuk "
            "rumah di {desa}, tapi statusnya masih verifikasi terus. Mohon kejelasan.",
            weight=2.0,
        ),
        _Template(
            "Gagal membuat NIB di OSS",
            "Saya pelaku UMKM di {desa}, mau membuat NIB di OSS tapi selalu gagal di tahap "
            "pemilihan KBLI. Sudah ke Mal Pelayanan Publik {kab} disuruh coba lagi di rumah.",
        ),
        _Template(
            "Dugaan pungli pengurusan izin usaha",
            "Ada oknum yang meminta uang pelicin Rp{biaya} untuk mempercepat sertifikat standar "
            "usaha rumah makan saya. Bukannya izin di OSS gratis?",
        ),
        _Template(
            "Bangunan ruko tanpa izin di {jalan}",
            "Ada bangunan ruko baru di {jalan} yang tidak memasang papan PBG dan menutup saluran "
            "air. Mohon dicek perizinannya.",
        ),
    ),
    _C.LAINNYA: (
        _Template(
            "Pembuatan KTP-el lama di Disdukcapil {kab}",
            "Sudah {lama} merekam KTP-el di Disdukcapil {kab} tapi sampai sekarang belum jadi, "
            "alasannya blanko habis. Padahal perlu untuk daftar kerja.",
            weight=2.0,
        ),
        _Template(
            "Harga elpiji 3 kg mahal di {desa}",
            "Harga gas elpiji 3 kg di pengecer {desa} sudah Rp{harga_elpiji}, jauh di atas HET, "
            "itu pun sering kosong. Mohon operasi pasar.",
            weight=2.0,
        ),
        _Template(
            "Antrean solar mengular di SPBU {jalan}",
            "Antrean solar di SPBU {jalan} mengular sampai ke badan jalan, kebanyakan truk. "
            "Kendaraan lain jadi susah lewat dan rawan kecelakaan.",
        ),
        _Template(
            "Tidak ada sinyal di {desa}",
            "Di {desa}, Kecamatan {kec} sampai sekarang belum ada sinyal internet. Anak-anak "
            "harus naik ke bukit untuk mengerjakan tugas sekolah.",
            where=_RURAL,
        ),
        _Template(
            "Harga karet anjlok di tingkat petani",
            "Harga getah karet di tingkat petani {kec} turun jadi Rp{harga_karet}/kg, tidak "
            "cukup untuk kebutuhan sehari-hari. Mohon pemerintah membantu petani karet.",
            where=_PLANTATION,
        ),
        _Template(
            "Terima kasih, jalan sudah diperbaiki",
            "Terima kasih kepada Pemerintah {kab} dan Dinas PUPR, jalan di {jalan} yang kami "
            "laporkan bulan lalu sudah diperbaiki. Semoga dirawat terus.",
        ),
    ),
}

_CATEGORY_SHARE = {
    _C.INFRASTRUKTUR: 28.0, _C.KESEHATAN: 10.0, _C.PENDIDIKAN: 8.0, _C.SOSIAL: 14.0,
    _C.LINGKUNGAN: 12.0, _C.KEAMANAN: 8.0, _C.BENCANA: 6.0, _C.PERIZINAN: 5.0, _C.LAINNYA: 9.0,
}
_CHANNEL_SHARE = {
    Channel.WHATSAPP: 32.0, Channel.LAPOR: 18.0, Channel.SOCIAL_MEDIA: 14.0, Channel.WEB: 10.0,
    Channel.CALL_CENTER: 10.0, Channel.MOBILE_APP: 9.0, Channel.SMS: 7.0,
}
# (location only, both, region only): apps send GPS, SMS and 112 callers name a place.
_PLACEMENT = {
    Channel.WHATSAPP: (0.30, 0.45, 0.25), Channel.LAPOR: (0.25, 0.55, 0.20),
    Channel.SOCIAL_MEDIA: (0.25, 0.30, 0.45), Channel.WEB: (0.25, 0.55, 0.20),
    Channel.CALL_CENTER: (0.0, 0.15, 0.85), Channel.MOBILE_APP: (0.50, 0.50, 0.0),
    Channel.SMS: (0.0, 0.10, 0.90),
}
# Chance that the report carries contact details: chat and phone channels always know the number.
_CONTACT = {
    Channel.WHATSAPP: 0.9, Channel.SMS: 0.95, Channel.CALL_CENTER: 0.8, Channel.LAPOR: 0.4,
    Channel.WEB: 0.5, Channel.MOBILE_APP: 0.7, Channel.SOCIAL_MEDIA: 0.15,
}

_LAMA = ("3 hari", "seminggu", "dua minggu", "hampir sebulan", "lebih dari sebulan", "3 bulan")
_NAMES = (
    "Ahmad Fauzi", "Siti Rahmah", "M. Ridwan", "Dedi Saputra", "Nurhayati", "Hendra Gunawan",
    "Rina Marlina", "Yusuf Hamdani", "Desi Ratnasari", "Andi Pratama", "Sri Wahyuni",
    "Budi Santoso", "Fitri Handayani", "Rahmat Hidayat", "Eka Putri", "Zulkifli", "Syafrizal",
    "Erwin Syahputra", "Novi Yanti", "Hasan Basri", "Masnah", "Junaidi", "Agus Salim",
    "Yuliana", "Iskandar", "Darmawati", "Firdaus", "Nuraini", "Muhammad Ikhsan", "Lestari",
)
# Telkomsel, Indosat, XL, Tri and Smartfren prefixes; Telkomsel dominates outside the cities.
_PHONE_PREFIXES = _Table([
    ("0812", 18.0), ("0813", 12.0), ("0821", 10.0), ("0822", 10.0), ("0823", 6.0),
    ("0852", 10.0), ("0853", 8.0), ("0857", 5.0), ("0856", 4.0), ("0819", 3.0),
    ("0878", 3.0), ("0877", 2.0), ("0896", 3.0), ("0895", 2.0), ("0838", 2.0), ("0882", 2.0),
])


# A sentence ends at ". " before a capital, but not after "Jl.", "Dr.", "Prof.", "Kol." or an
# initial ("H.A. Thalib").
_SENTENCE_END = re.compile(r"(?<![A-Z])(?<!Jl)(?<!Dr)(?<!Prof)(?<!Kol)\. (?=[A-Z])")


def _greeting(hour: int) -> str:
    if 4 <= hour < 11:
        return "pagi"
    if hour < 15:
        return "siang"
    if hour < 18:
        return "sore"
    return "malam"


class _Fill(dict[str, str]):
    """Template fields drawn only when a template asks for them (saves random calls)."""

    __slots__ = ("kec", "place", "region", "rng")

    def __init__(self, rng: random.Random, region: Region, place: _Place | None = None) -> None:
        super().__init__()
        self.rng = rng
        self.region = region
        self.place = place or _PLACES[region]
        self.kec: tuple[str, tuple[str, ...]] | None = None

    def _kecamatan(self) -> tuple[str, tuple[str, ...]]:
        if self.kec is None:
            self.kec = _choice(self.rng, self.place.kecamatan)
        return self.kec

    def __missing__(self, key: str) -> str:
        rng, place = self.rng, self.place
        value: str
        if key == "kec":
            value = self._kecamatan()[0]
        elif key == "desa":
            kec, villages = self._kecamatan()
            # Many desa share their kecamatan's name; without known villages use that.
            value = _choice(rng, villages) if villages else kec
        elif key == "kab":
            value = place.short
        elif key == "jalan":
            value = _choice(rng, place.streets)
            if value[0].islower():  # "jalan poros desa" needs the desa to mean anything
                value = f"{value} {self['desa']}"
        elif key == "jalan_bukit":
            value = _choice(rng, _STEEP_ROADS.get(self.region) or place.streets)
        elif key == "tempat":
            value = _choice(rng, place.landmarks)
        elif key == "sungai":
            value = _choice(rng, place.rivers)
        elif key == "rs":
            value = place.hospital
        elif key == "pdam":
            value = place.pdam
        elif key == "sekolah":
            number = _randint(rng, 1, 220 if self.region is Region.KOTA_JAMBI else 120)
            code = f"/{place.school_code}" if place.school_code else ""
            value = f"SD Negeri {number}{code} {place.short}"
        elif key == "smp":
            value = f"SMP Negeri {_randint(rng, 1, 25)} {place.short}"
        elif key == "rt":
            value = f"RT {_randint(rng, 1, 40):02d}"
        elif key == "n":
            value = str(_randint(rng, 2, 9))
        elif key == "cm":
            value = str(_randrange(rng, 20, 100, 10))
        elif key == "ha":
            value = str(_randint(rng, 2, 40))
        elif key == "lama":
            value = _choice(rng, _LAMA)
        elif key == "bulan":
            value = str(_randint(rng, 2, 7))
        elif key == "kelas":
            value = str(_randint(rng, 1, 6))
        elif key == "jarak":
            value = str(_randrange(rng, 150, 950, 50))
        elif key == "biaya":
            value = _rupiah(_choice(rng, (250, 350, 500, 750, 1200)) * 1000)
        elif key == "harga_elpiji":
            value = _rupiah(_randrange(rng, 28, 42) * 1000)
        elif key == "harga_karet":
            value = _rupiah(_randrange(rng, 70, 110) * 100)
        else:
            raise KeyError(key)
        self[key] = value
        return value


# --- Permit templates --------------------------------------------------------------------


class _PermitKind(NamedTuple):
    permit_type: str
    kbli: str  # KBLI 2020 five-digit code
    usaha: tuple[str, ...]  # what is being licensed, as an OSS note would describe it
    applicants: tuple[tuple[ApplicantType, float], ...]
    where: frozenset[Region] | None
    level: str  # "kab": DPMPTSP of the kabupaten/kota, "prov": the province, else that agency
    weight: float


_PERSON = ((ApplicantType.PERSEORANGAN, 80.0), (ApplicantType.BADAN_USAHA, 20.0))
_COMPANY = ((ApplicantType.BADAN_USAHA, 95.0), (ApplicantType.BADAN_USAHA_LUAR_NEGERI, 2.0),
            (ApplicantType.KANTOR_PERWAKILAN, 3.0))
_MIXED = ((ApplicantType.BADAN_USAHA, 55.0), (ApplicantType.PERSEORANGAN, 45.0))

_PERMITS: tuple[_PermitKind, ...] = (
    _PermitKind("Persetujuan Bangunan Gedung", "41011",
                ("Pembangunan rumah tinggal 2 lantai", "Pembangunan perumahan subsidi 48 unit",
                 "Pembangunan rumah toko 3 pintu"), _MIXED, None, "kab", 8.0),
    _PermitKind("Persetujuan Bangunan Gedung", "47111",
                ("Pembangunan gedung minimarket",), _COMPANY, None, "kab", 2.0),
    _PermitKind("Sertifikat Laik Fungsi", "55110",
                ("Hotel 6 lantai",), _COMPANY, frozenset({Region.KOTA_JAMBI}), "kab", 0.5),
    _PermitKind("Sertifikat Standar Usaha", "56101",
                ("Rumah makan pindang patin", "Restoran masakan Padang", "Kedai kopi"),
                _PERSON, None, "kab", 7.0),
    _PermitKind("Sertifikat Standar Usaha", "47111",
                ("Minimarket waralaba",), _COMPANY, None, "kab", 3.0),
    _PermitKind("Sertifikat Standar Usaha", "10710",
                ("Usaha roti dan kue rumahan", "Produksi kue tradisional"), _PERSON, None,
                "kab", 3.0),
    _PermitKind("Sertifikat Standar Usaha", "49431",
                ("Angkutan barang umum 12 unit truk",), _COMPANY, None, "prov", 2.0),
    _PermitKind("Sertifikat Standar Usaha", "16101",
                ("Sawmill kayu karet",), _MIXED, _RURAL, "kab", 1.0),
    _PermitKind("Sertifikat Laik Higiene Sanitasi", "56101",
                ("Rumah makan", "Usaha katering"), _PERSON, None, "kab", 2.0),
    _PermitKind("Persetujuan Kesesuaian Kegiatan Pemanfaatan Ruang", "47300",
                ("Pembangunan SPBU",), _COMPANY, None, "kab", 1.0),
    _PermitKind("Persetujuan Kesesuaian Kegiatan Pemanfaatan Ruang", "68111",
                ("Kawasan perumahan 120 unit",), _COMPANY, None, "kab", 2.0),
    _PermitKind("Izin Usaha Perkebunan", "01262",
                ("Kebun kelapa sawit 1.250 ha", "Kebun kelapa sawit plasma 800 ha"),
                _COMPANY, _PLANTATION, "kab", 2.5),
    _PermitKind("Izin Usaha Perkebunan", "01291",
                ("Kebun karet 600 ha",), _COMPANY, _PLANTATION, "kab", 1.0),
    _PermitKind("Izin Usaha Industri", "10431",
                ("Pabrik kelapa sawit kapasitas 45 ton TBS/jam",
                 "Pabrik kelapa sawit kapasitas 30 ton TBS/jam"), _COMPANY, _PLANTATION,
                "prov", 1.0),
    _PermitKind("Persetujuan Lingkungan", "10431",
                ("Addendum AMDAL pabrik kelapa sawit",), _COMPANY, _PLANTATION, "prov", 1.0),
    _PermitKind("Persetujuan Lingkungan", "01262",
                ("UKL-UPL kebun kelapa sawit",), _COMPANY, _PLANTATION, "prov", 1.0),
    # Coal mining licences are the ministry's since UU 3/2020, even for mines in Jambi.
    _PermitKind("Izin Usaha Pertambangan", "05100",
                ("IUP Operasi Produksi batu bara 1.900 ha", "IUP Eksplorasi batu bara 2.400 ha"),
                _COMPANY, _COAL, "Kementerian ESDM", 1.0),
)

_MISSING = (
    "gambar rencana teknis belum ditandatangani tenaga ahli",
    "bukti penguasaan lahan (sertifikat/SKT) belum diunggah",
    "dokumen UKL-UPL belum sesuai format",
    "titik koordinat lokasi usaha berada di luar PKKPR",
    "hasil uji laboratorium air limbah belum dilampirkan",
    "SPPL belum ditandatangani pelaku usaha",
)
_REFUSALS = (
    "lokasi usaha tidak sesuai Rencana Tata Ruang Wilayah (RTRW)",
    "pelaku usaha tidak melengkapi persyaratan dalam batas waktu",
    "lokasi tumpang tindih dengan perizinan lain",
    "lahan berada di kawasan hutan atau fungsi lindung gambut",
)
_COMPANY_WORDS = (
    "Sawit", "Batanghari", "Sumber", "Makmur", "Lestari", "Agro", "Sentosa", "Mandiri",
    "Tungkal", "Sejahtera", "Kencana", "Bumi", "Persada", "Karya", "Jaya", "Swarna",
)

_S = PermitStatus
# Who moves an application on: verifiers work office hours, applicants and OSS any time.
_BY_VERIFIER = frozenset({_S.VALIDASI, _S.KONFIRMASI_PERSYARATAN, _S.RE_KONFIRMASI_PERSYARATAN,
                          _S.DISETUJUI, _S.DITOLAK})
_NEXT: dict[PermitStatus, tuple[tuple[PermitStatus, float], ...]] = {
    _S.DOKUMEN_LENGKAP: ((_S.VALIDASI, 0.8), (_S.KONFIRMASI_PERSYARATAN, 0.2)),
    _S.VALIDASI: ((_S.DISETUJUI, 0.75), (_S.DITOLAK, 0.1), (_S.KONFIRMASI_PERSYARATAN, 0.15)),
    _S.KONFIRMASI_PERSYARATAN: ((_S.DATA_KONFIRMASI_PERSYARATAN, 0.9), (_S.DITOLAK, 0.1)),
    _S.DATA_KONFIRMASI_PERSYARATAN: ((_S.VALIDASI, 0.5), (_S.DISETUJUI, 0.35),
                                     (_S.RE_KONFIRMASI_PERSYARATAN, 0.15)),
    _S.RE_KONFIRMASI_PERSYARATAN: ((_S.DATA_RE_KONFIRMASI_PERSYARATAN, 0.92), (_S.DITOLAK, 0.08)),
    _S.DATA_RE_KONFIRMASI_PERSYARATAN: ((_S.VALIDASI, 0.45), (_S.DISETUJUI, 0.45),
                                        (_S.DITOLAK, 0.1)),
}
_SLA_RUNNING = frozenset({_S.DOKUMEN_LENGKAP, _S.VALIDASI, _S.DATA_KONFIRMASI_PERSYARATAN,
                          _S.DATA_RE_KONFIRMASI_PERSYARATAN})
_FINAL = frozenset({_S.DISETUJUI, _S.DISETUJUI_OTOMATIS, _S.DITOLAK})
_SLA_WORKING_DAYS = 5
_MAX_OPEN = 400  # applications in flight; beyond this the simulator only advances them


def _add_working_days(start: datetime, days: int) -> datetime:
    """`days` working days later (Mon–Fri in WIB; public holidays are ignored)."""
    out = start
    while days > 0:
        out += timedelta(days=1)
        if out.astimezone(WIB).weekday() < 5:
            days -= 1
    return out


class _Application:
    """One OSS-RBA application the simulator is moving through its statuses."""

    __slots__ = ("agency", "applicant_type", "kbli", "last_at", "location", "nib", "paused_at",
                 "permit_id", "permit_type", "region", "sla_deadline", "status", "usaha")

    def __init__(self, permit_id: str, nib: str, kind: _PermitKind, applicant: ApplicantType,
                 agency: str, usaha: str, region: Region | None, location: Point | None,
                 status: PermitStatus, at: datetime) -> None:
        self.permit_id, self.nib = permit_id, nib
        self.permit_type, self.kbli = kind.permit_type, kind.kbli
        self.applicant_type, self.agency, self.usaha = applicant, agency, usaha
        self.region, self.location = region, location
        self.status = status
        self.last_at = at
        self.sla_deadline = _add_working_days(at, _SLA_WORKING_DAYS)
        self.paused_at: datetime | None = None


def _pairs(weights: dict[Region, float]) -> tuple[tuple[Region, float], ...]:
    return tuple(weights.items())


# --- Disaster alerts ---------------------------------------------------------------------

_GEMPA_REGIONS = _pairs({
    Region.KERINCI: 45.0, Region.MERANGIN: 35.0, Region.KOTA_SUNGAI_PENUH: 15.0,
    Region.SAROLANGUN: 5.0,
})
_FLOOD_REGIONS = _pairs({
    Region.KOTA_JAMBI: 20.0, Region.MUARO_JAMBI: 18.0, Region.BATANG_HARI: 16.0,
    Region.TEBO: 10.0, Region.BUNGO: 9.0, Region.SAROLANGUN: 9.0, Region.MERANGIN: 8.0,
    Region.TANJUNG_JABUNG_TIMUR: 6.0, Region.TANJUNG_JABUNG_BARAT: 4.0,
})
_FIRE_REGIONS = _pairs({
    Region.MUARO_JAMBI: 30.0, Region.TANJUNG_JABUNG_TIMUR: 25.0,
    Region.TANJUNG_JABUNG_BARAT: 18.0, Region.BATANG_HARI: 8.0, Region.SAROLANGUN: 7.0,
    Region.TEBO: 6.0, Region.MERANGIN: 3.0, Region.BUNGO: 3.0,
})
_LANDSLIDE_REGIONS = _pairs({
    Region.KERINCI: 40.0, Region.MERANGIN: 30.0, Region.KOTA_SUNGAI_PENUH: 20.0,
    Region.SAROLANGUN: 5.0, Region.BUNGO: 5.0,
})
_HAZE_REGIONS = _pairs({
    Region.KOTA_JAMBI: 35.0, Region.MUARO_JAMBI: 25.0, Region.TANJUNG_JABUNG_TIMUR: 15.0,
    Region.TANJUNG_JABUNG_BARAT: 10.0, Region.BATANG_HARI: 15.0,
})
# Alert type weights by season: floods and landslides in the rains, fire and haze in the dry.
_ALERT_MIX = {
    "dry": {"gempa": 20.0, "banjir": 6.0, "karhutla": 34.0, "cuaca": 18.0, "longsor": 5.0,
            "puting_beliung": 7.0, "kerinci": 2.0, "asap": 12.0},
    "wet": {"gempa": 20.0, "banjir": 30.0, "karhutla": 4.0, "cuaca": 26.0, "longsor": 14.0,
            "puting_beliung": 9.0, "kerinci": 2.0, "asap": 1.0},
    "mid": {"gempa": 20.0, "banjir": 15.0, "karhutla": 15.0, "cuaca": 24.0, "longsor": 9.0,
            "puting_beliung": 9.0, "kerinci": 2.0, "asap": 5.0},
}
_BULAN = ("Jan", "Feb", "Mar", "Apr", "Mei", "Jun", "Jul", "Agu", "Sep", "Okt", "Nov", "Des")
_COMPASS = ("Utara", "TimurLaut", "Timur", "Tenggara", "Selatan", "BaratDaya", "Barat", "BaratLaut")
_KERINCI_SUMMIT = (-1.697, 101.264)
_PAIRED = {Region.KERINCI: Region.KOTA_SUNGAI_PENUH, Region.KOTA_SUNGAI_PENUH: Region.KERINCI,
           Region.KOTA_JAMBI: Region.MUARO_JAMBI, Region.MUARO_JAMBI: Region.KOTA_JAMBI}


def _near(region: Region, target: tuple[float, float]) -> Point:
    """The target, or the first point inside the region on the way to its centroid.

    Gunung Kerinci's summit sits on the Jambi–Sumatera Barat border, just outside the polygon.
    """
    lat0, lon0 = boundaries().centroids[region]
    for step in range(51):
        t = step / 50
        lat = round(target[0] + t * (lat0 - target[0]), 5)
        lon = round(target[1] + t * (lon0 - target[1]), 5)
        if region_at(lat, lon) is region:
            _PLACED[lat, lon] = region
            return Point(lat, lon)
    return _point_pools()[region][0]


def _bpbd(region: Region) -> str:
    return f"BPBD {REGION_NAMES[region]}"


class _Slot(NamedTuple):
    """Everything that depends only on the WIB hour, weekday class and month."""

    kinds: _Table[Kind]
    categories: _Table[tuple[ReportCategory, tuple[_Table[_Template], ...]]]  # by region index
    channels: _Table[tuple[Channel, float, tuple[float, float, float]]]
    alerts: _Table[str]
    office: bool
    season: str
    greeting: str


_REGIONS = tuple(Region)  # hot-path tables are indexed by position: enum hashing is slow


@cache
def _slot(month: int, weekend: bool, hour: int) -> _Slot:
    weekday = 5 if weekend else 2
    local = datetime(2026, month, 2 + weekday, hour, tzinfo=WIB)  # any date with that weekday
    while local.weekday() != weekday:
        local += timedelta(days=1)
    season = _season(month)
    night = hour >= 22 or hour < 5
    office = _is_office(local)
    categories = dict(_CATEGORY_SHARE)
    if night:  # after dark people report danger and disturbance, not school fees
        for cat, factor in ((_C.KEAMANAN, 2.5), (_C.BENCANA, 1.5), (_C.PENDIDIKAN, 0.3),
                            (_C.PERIZINAN, 0.3), (_C.SOSIAL, 0.6)):
            categories[cat] *= factor
    elif office:
        categories[_C.PERIZINAN] *= 1.3
        categories[_C.PENDIDIKAN] *= 1.2
    if season == "dry":
        categories[_C.LINGKUNGAN] *= 1.4
    channels = dict(_CHANNEL_SHARE)
    if night:  # 112 and chat stay open at night; office web portals do not
        for channel, factor in ((Channel.CALL_CENTER, 1.5), (Channel.SOCIAL_MEDIA, 1.3),
                                (Channel.WEB, 0.6), (Channel.LAPOR, 0.7)):
            channels[channel] *= factor
    alerts = dict(_ALERT_MIX[season])
    if 13 <= hour < 19:  # convective storms build in the afternoon
        alerts["cuaca"] *= 2.0
    return _Slot(
        _Table(list(_kind_rates(local).items())),
        _Table([((c, tuple(_templates(c, r, season) for r in _REGIONS)), w)
                for c, w in categories.items()]),
        _Table([((c, _CONTACT[c], _PLACEMENT[c]), w) for c, w in channels.items()]),
        _Table(list(alerts.items())), office, season,
        _greeting(hour),
    )


@cache
def _templates(category: ReportCategory, region: Region, season: str) -> _Table[_Template]:
    pairs = []
    for template in _REPORTS[category]:
        if template.where is not None and region not in template.where:
            continue
        factor = 1.0
        if template.season is not None and season != "mid":
            factor = 3.0 if template.season == season else 0.25
        pairs.append((template, template.weight * factor))
    return _Table(pairs)


@cache
def _permit_kinds(region: Region) -> _Table[_PermitKind]:
    return _Table([(k, k.weight) for k in _PERMITS if k.where is None or region in k.where])


_SEVERITY_ORDER = (Severity.MINOR, Severity.MODERATE, Severity.SEVERE, Severity.EXTREME)


class Simulator:
    """Realistic raw events for Jambi's 11 kabupaten/kota."""

    def __init__(self, rng: random.Random | None = None, malformed_ratio: float = 0.0) -> None:
        """A generator drawing every choice from `rng`; `malformed_ratio` of `raw()` is bad."""
        if not 0.0 <= malformed_ratio <= 1.0:
            raise ValueError(f"malformed_ratio must be within [0, 1], got {malformed_ratio}")
        self._rng = rng or random.Random()
        self._malformed_ratio = malformed_ratio
        self._pools = _point_pools()
        self._regions = _Table([((i, r, _PLACES[r], self._pools[r]), _REPORT_REGION_WEIGHTS[r])
                                for i, r in enumerate(_REGIONS)])
        self._permit_regions = _Table(list(_POPULATION.items()))
        self._open: list[_Application] = []
        self._backlog_seeded = False
        self._summit = _near(Region.KERINCI, _KERINCI_SUMMIT)
        self._flaws = _Table([(Flaw.BROKEN_JSON, 30.0), (Flaw.WRONG_TYPES, 25.0),
                              (Flaw.UNKNOWN_REGION, 20.0), (Flaw.OVERSIZED_TEXT, 10.0),
                              (Flaw.UNKNOWN_KIND, 15.0)])
        self._builders: dict[str, Callable[[datetime, _Slot], DisasterAlertEvent]] = {
            "gempa": self._gempa, "banjir": self._banjir, "karhutla": self._karhutla,
            "cuaca": self._cuaca, "longsor": self._longsor, "puting_beliung": self._puting_beliung,
            "kerinci": self._gunung_kerinci, "asap": self._asap,
        }
        # Sector indicators come on the agencies' cadence, not the event rate: raw() hands out
        # the readings that fell due before the next random event.
        self._sector_feed = SectorFeed(random.Random(self._rng.getrandbits(64)))
        self._due: list[SectorIndicatorEvent] = []
        self._feed_checked: datetime | None = None

    # --- public -------------------------------------------------------------------------

    def event(self, now: datetime) -> Event:
        """One valid event received at `now`."""
        now = _as_utc(now)
        local = now.astimezone(WIB)
        slot = _slot(local.month, local.weekday() >= 5, local.hour)
        kind = slot.kinds.pick(self._rng)
        if kind is Kind.CITIZEN_REPORT:
            return self._report(now, slot)
        if kind is Kind.PERMIT_FILING:
            return self._permit(now, slot)
        return self._alert(now, slot)

    def indicators(self, now: datetime) -> list[SectorIndicatorEvent]:
        """Sector indicator readings that arrived by `now` and were not handed out yet."""
        return self._sector_feed.due(_as_utc(now))

    def indicator_history(self, since: datetime, until: datetime) -> list[SectorIndicatorEvent]:
        """Every sector indicator reading that arrived in (since, until], oldest first."""
        return self._sector_feed.between(_as_utc(since), _as_utc(until))

    def raw(self, now: datetime) -> RawMessage:
        """What a connector writes: valid, or malformed with probability `malformed_ratio`."""
        if self._malformed_ratio and self._rng.random() < self._malformed_ratio:
            return self.malformed(now)
        now = _as_utc(now)
        if self._feed_checked is None or now - self._feed_checked >= _FEED_CHECK:
            self._feed_checked = now
            self._due.extend(reversed(self._sector_feed.due(now)))
        event: Event = self._due.pop() if self._due else self.event(now)
        return RawMessage(_KIND_OF[type(event)], _key(event), msgspec.json.encode(event), None)

    def malformed(self, now: datetime, flaw: Flaw | None = None) -> RawMessage:
        """A message the pipeline must reject, with the given (or a random) flaw."""
        rng = self._rng
        flaw = flaw or self._flaws.pick(rng)
        event = self.event(now)
        kind = _KIND_OF[type(event)]
        key = _key(event)
        good = msgspec.json.encode(event)
        doc: dict[str, Any] = msgspec.to_builtins(event)
        payload: dict[str, Any] = doc["payload"]
        if flaw is Flaw.BROKEN_JSON:
            value = self._broken(good, doc)
        elif flaw is Flaw.WRONG_TYPES:
            self._wrong_types(kind, doc, payload)
            value = msgspec.json.encode(doc)
        elif flaw is Flaw.UNKNOWN_REGION:
            code = _choice(rng, ("15.99", "99.01", "15.10", "1571", "15.73"))
            doc["region"] = code
            key = code.encode()
            value = msgspec.json.encode(doc)
        elif flaw is Flaw.OVERSIZED_TEXT:
            field = {Kind.CITIZEN_REPORT: "text", Kind.DISASTER_ALERT: "description",
                     Kind.PERMIT_FILING: "note"}[kind]
            # A forwarded chat log or a pasted document: the same text over and over.
            seed = str(payload.get(field) or payload.get("headline") or payload["permit_type"])
            repeats = 6_000 // (len(seed) + 1) + 1 + _randint(rng, 0, 10)
            payload[field] = " ".join([seed] * repeats)
            value = msgspec.json.encode(doc)
        else:
            doc["kind"] = _choice(rng, ("laporan_hoaks", "pengaduan", "aduan_warga",
                                      "izin_usaha", "peringatan_dini"))
            value = msgspec.json.encode(doc)
        return RawMessage(kind, key, value, flaw)

    # --- malformed helpers ------------------------------------------------------------------

    def _broken(self, good: bytes, doc: dict[str, Any]) -> bytes:
        rng = self._rng
        variant = rng.random()
        if variant < 0.5:  # cut off mid-message (a connector died while writing)
            return good[: _randint(rng, 1, len(good) - 2)]
        if variant < 0.7:  # two messages glued together without a separator
            return good + good
        if variant < 0.85:  # a Python repr written instead of JSON (single quotes)
            return str(doc).encode()
        # A raw line break inside a string, as hand-built JSON from a form often has.
        return good.replace(b'"source":"', b'"source":"\r\n', 1)

    def _wrong_types(self, kind: Kind, doc: dict[str, Any], payload: dict[str, Any]) -> None:
        rng = self._rng
        if kind is Kind.CITIZEN_REPORT:
            variant = _randrange(rng, 0, 3)
            if variant == 0:
                payload["title"] = _randint(rng, 1, 99_999)
            elif variant == 1 and doc.get("location"):
                location = doc["location"]  # an Indonesian decimal comma, as text
                doc["location"] = {"lat": f"{location['lat']}".replace(".", ","),
                                   "lon": f"{location['lon']}".replace(".", ",")}
            else:
                payload["channel"] = _randint(rng, 1, 7)
        elif kind is Kind.DISASTER_ALERT:
            if rng.random() < 0.6:
                payload["magnitude"] = _choice(rng, ("lima", "4,7 SR", "M 3.9"))
            else:
                payload["area"] = {"regions": doc.get("region") or "15.01"}
        elif rng.random() < 0.5:
            payload["nib"] = int(payload["nib"])  # a spreadsheet turned the NIB into a number
        else:
            payload["status"] = _choice(rng, ("Disetujui", "Validasi", "Ditolak"))

    # --- places -----------------------------------------------------------------------------

    def _point(self, region: Region) -> Point:
        return _choice(self._rng, self._pools[region])

    def _placed(self, region: Region, pool: tuple[Point, ...], mode: tuple[float, float, float]
                ) -> tuple[Region | None, Point | None]:
        rng = self._rng
        roll = rng.random()
        if roll < mode[0]:
            return None, _choice(rng, pool)
        if roll < mode[0] + mode[1]:
            return region, _choice(rng, pool)
        return region, None

    def _occurred(self, now: datetime) -> datetime:
        # Sources hand events over seconds to minutes after they happen.
        return now - timedelta(seconds=self._rng.expovariate(1 / 45.0) + 0.5)

    # --- citizen reports --------------------------------------------------------------------

    def _report(self, now: datetime, slot: _Slot) -> CitizenReportEvent:
        rng = self._rng
        index, region, place, pool = self._regions.pick(rng)
        category, templates = slot.categories.pick(rng)
        channel, contact, placement = slot.channels.pick(rng)
        template = templates[index].pick(rng)
        fill = _Fill(rng, region, place)
        title = template.title.format_map(fill)
        text = template.text.format_map(fill)
        text = self._voice(channel, text, slot.greeting)
        reporter = self._reporter(channel) if rng.random() < contact else None
        where, location = self._placed(region, pool, placement)
        return CitizenReportEvent(
            id=new_event_id(), source=SOURCE, occurred_at=self._occurred(now), received_at=now,
            region=where, location=location,
            payload=CitizenReport(channel, category, title, text, reporter),
        )

    def _voice(self, channel: Channel, text: str, greeting: str) -> str:
        """How the same complaint reads when typed into each channel."""
        rng = self._rng
        if channel is Channel.WHATSAPP:
            opener = _choice(rng, ("Assalamualaikum, izin melapor. ", f"Selamat {greeting} Pak/Bu, ",
                                   "Izin lapor Pak, ", ""))
            if opener.endswith(", ") and text[1:2].islower():  # "Pak, lampu…" not "Pak, Lampu…"
                text = text[0].lower() + text[1:]
            return opener + text + _choice(rng, ("", " Terima kasih.", " Mohon dibantu 🙏"))
        if channel is Channel.SOCIAL_MEDIA:
            return _choice(rng, ("Mohon perhatian Pak Gubernur. ", "Tolong viralkan. ", "")) + text
        if channel is Channel.CALL_CENTER:
            return "Pelapor via Call Center 112 menyampaikan: " + text
        if channel is Channel.SMS:  # SMS reports are one sentence
            return _SENTENCE_END.split(text, maxsplit=1)[0].rstrip(".") + "."
        return text + _choice(rng, ("", " Terima kasih.", " Mohon segera ditindaklanjuti."))

    def _reporter(self, channel: Channel) -> ReporterContact:
        rng = self._rng
        name = _choice(rng, _NAMES)
        phone = _PHONE_PREFIXES.pick(rng) + str(_randrange(rng, 10_000_000, 100_000_000))
        if rng.random() < 0.15:
            phone = "+62" + phone[1:]
        if channel is Channel.SOCIAL_MEDIA:
            return ReporterContact(name=name)
        if channel is Channel.SMS and rng.random() < 0.5:
            return ReporterContact(phone=phone)  # only the sender's number is known
        email = None
        if channel in (Channel.WEB, Channel.LAPOR, Channel.MOBILE_APP) and rng.random() < 0.5:
            handle = name.lower().replace(". ", "").replace(" ", ".")
            email = f"{handle}{_randint(rng, 1, 99)}@{_choice(rng, ('gmail.com', 'yahoo.co.id'))}"
        return ReporterContact(name=name, phone=phone, email=email)

    # --- permits ----------------------------------------------------------------------------

    def _permit(self, now: datetime, slot: _Slot) -> PermitFilingEvent:
        rng = self._rng
        if not self._backlog_seeded:
            self._seed_backlog(now)
        at = self._occurred(now)
        p_new = 0.3 if slot.office else 0.65
        app: _Application | None = None
        status: PermitStatus | None = None
        if self._open and (len(self._open) >= _MAX_OPEN or rng.random() >= p_new):
            for _ in range(3):  # outside office hours only applicant or system steps happen
                index = _randrange(rng, 0, len(self._open))
                candidate = self._open[index]
                status = self._next_status(candidate, at, slot.office)
                if status is not None:
                    app = candidate
                    if status in _FINAL:
                        self._open[index] = self._open[-1]
                        self._open.pop()
                    break
        if app is None or status is None:
            app = self._new_application(at, _S.DOKUMEN_LENGKAP)
            status = _S.DOKUMEN_LENGKAP
            if len(self._open) < _MAX_OPEN:
                self._open.append(app)
        else:
            at = min(now, max(at, app.last_at))  # a status never predates the one before it
            self._move(app, status, at)
        return PermitFilingEvent(
            id=new_event_id(), source=SOURCE, occurred_at=at, received_at=now,
            region=app.region, location=app.location,
            payload=PermitFiling(
                permit_id=app.permit_id, nib=app.nib, permit_type=app.permit_type,
                kbli=app.kbli, applicant_type=app.applicant_type, status=status,
                sla_deadline=app.sla_deadline, agency=app.agency,
                note=self._permit_note(app, status),
            ),
        )

    def _new_application(self, at: datetime, status: PermitStatus) -> _Application:
        rng = self._rng
        region = self._permit_regions.pick(rng)
        kind = _permit_kinds(region).pick(rng)
        applicant = _pick(rng, kind.applicants)
        if kind.level == "kab":
            agency = f"DPMPTSP {REGION_NAMES[region]}"
        elif kind.level == "prov":
            agency = "DPMPTSP Provinsi Jambi"
        else:
            agency = kind.level
        day = at.astimezone(WIB).strftime("%Y%m%d")
        permit_id = f"I-{day}{_randrange(rng, 10**6, 10**7)}"
        nib = _choice(rng, ("9120", "8120", "0220")) + f"{_randrange(rng, 0, 10**9):09d}"
        usaha = _choice(rng, kind.usaha)
        if applicant is not ApplicantType.PERSEORANGAN:
            words = rng.sample(_COMPANY_WORDS, 2)
            usaha = f"{usaha} ({_choice(rng, ('PT', 'PT', 'CV'))} {words[0]} {words[1]})"
        # Business addresses are geocoded in OSS; some arrive with coordinates only.
        roll = rng.random()
        where: Region | None = region
        location = None
        if roll < 0.1:
            where, location = None, self._point(region)
        elif roll < 0.7:
            location = self._point(region)
        return _Application(permit_id, nib, kind, applicant, agency, usaha, where, location,
                            status, at)

    def _seed_backlog(self, now: datetime) -> None:
        """Applications already in flight when the simulator starts, some past their SLA."""
        rng = self._rng
        self._backlog_seeded = True
        statuses = ((_S.DOKUMEN_LENGKAP, 25.0), (_S.VALIDASI, 40.0),
                    (_S.KONFIRMASI_PERSYARATAN, 15.0), (_S.DATA_KONFIRMASI_PERSYARATAN, 10.0),
                    (_S.RE_KONFIRMASI_PERSYARATAN, 5.0), (_S.DATA_RE_KONFIRMASI_PERSYARATAN, 5.0))
        for _ in range(60):
            submitted = now - timedelta(days=rng.uniform(0.2, 10.0))
            app = self._new_application(submitted, _pick(rng, statuses))
            if app.status in (_S.KONFIRMASI_PERSYARATAN, _S.RE_KONFIRMASI_PERSYARATAN):
                paused = submitted + (now - submitted) * rng.uniform(0.2, 0.9)
                app.paused_at = app.last_at = paused
            self._open.append(app)

    def _next_status(self, app: _Application, at: datetime, office: bool) -> PermitStatus | None:
        rng = self._rng
        if app.status in _SLA_RUNNING and at > app.sla_deadline and rng.random() < 0.7:
            return _S.DISETUJUI_OTOMATIS  # nobody decided in time: OSS approves (fiktif positif)
        status = _pick(rng, _NEXT[app.status])
        if status in _BY_VERIFIER and not office:
            return None
        return status

    def _move(self, app: _Application, status: PermitStatus, at: datetime) -> None:
        """Apply the SLA rules of Lampiran 10 while moving to `status`."""
        if status in (_S.KONFIRMASI_PERSYARATAN, _S.RE_KONFIRMASI_PERSYARATAN):
            app.paused_at = at
        elif status is _S.DATA_KONFIRMASI_PERSYARATAN and app.paused_at is not None:
            app.sla_deadline += max(timedelta(0), at - app.paused_at)
            app.paused_at = None
        elif status is _S.DATA_RE_KONFIRMASI_PERSYARATAN:
            app.sla_deadline = _add_working_days(at, _SLA_WORKING_DAYS)
            app.paused_at = None
        app.status = status
        app.last_at = at

    def _permit_note(self, app: _Application, status: PermitStatus) -> str:
        rng = self._rng
        if status is _S.DOKUMEN_LENGKAP:
            step = "Permohonan diajukan melalui OSS-RBA; dokumen persyaratan telah diunggah."
        elif status is _S.VALIDASI:
            step = f"Dokumen sedang divalidasi verifikator {app.agency}."
        elif status is _S.KONFIRMASI_PERSYARATAN:
            step = f"Verifikator meminta perbaikan: {_choice(rng, _MISSING)}."
        elif status is _S.DATA_KONFIRMASI_PERSYARATAN:
            step = "Pelaku usaha telah mengunggah perbaikan; jangka waktu verifikasi berjalan lagi."
        elif status is _S.RE_KONFIRMASI_PERSYARATAN:
            step = f"Perbaikan belum memenuhi syarat, konfirmasi ulang: {_choice(rng, _MISSING)}."
        elif status is _S.DATA_RE_KONFIRMASI_PERSYARATAN:
            step = "Data re-konfirmasi diunggah; jangka waktu verifikasi dihitung ulang."
        elif status is _S.DISETUJUI:
            step = "Perizinan berusaha disetujui dan diterbitkan melalui OSS-RBA."
        elif status is _S.DISETUJUI_OTOMATIS:
            step = ("Batas waktu verifikasi terlampaui tanpa keputusan; perizinan disetujui "
                    "otomatis oleh sistem OSS.")
        else:
            step = f"Permohonan ditolak: {_choice(rng, _REFUSALS)}."
        return f"{app.usaha}. {step}"

    # --- disaster alerts --------------------------------------------------------------------

    def _alert(self, now: datetime, slot: _Slot) -> DisasterAlertEvent:
        return self._builders[slot.alerts.pick(self._rng)](now, slot)

    def _severity(self, weights: tuple[float, float, float, float]) -> Severity:
        return _pick(self._rng, tuple(zip(_SEVERITY_ORDER, weights, strict=True)))

    def _official(self, now: datetime, region: Region, location: Point | None,
                  alert: DisasterAlert) -> DisasterAlertEvent:
        return DisasterAlertEvent(id=new_event_id(), source=SOURCE, occurred_at=now,
                                  received_at=now, region=region, location=location,
                                  payload=alert)

    def _area(self, region: Region, description: str, circle: Circle | None = None,
              with_pair: bool = False) -> AlertArea:
        regions = [region]
        if with_pair and region in _PAIRED:
            regions.append(_PAIRED[region])
        return AlertArea(description=description, regions=regions,
                         circles=[circle] if circle else [])

    def _gempa(self, now: datetime, slot: _Slot) -> DisasterAlertEvent:
        rng = self._rng
        region = _pick(rng, _GEMPA_REGIONS)
        point = self._point(region)
        # Gutenberg–Richter with b = 1: each magnitude step is ten times rarer.
        magnitude = 5.5
        for _ in range(5):
            candidate = 2.5 + rng.expovariate(math.log(10))
            if candidate <= 5.5:
                magnitude = candidate
                break
        magnitude = round(magnitude, 1)
        # Mostly shallow Sumatran-fault quakes; some from the deeper subducting slab.
        depth = float(_randint(rng, 5, 30) if rng.random() < 0.8 else _randint(rng, 60, 180))
        lat0, lon0 = boundaries().centroids[region]
        dy = (point.lat - lat0) * 111.0
        dx = (point.lon - lon0) * 111.0 * math.cos(math.radians(point.lat))
        distance = max(1, round(math.hypot(dx, dy)))
        bearing = (math.degrees(math.atan2(dx, dy)) + 360) % 360
        direction = _COMPASS[int((bearing + 22.5) // 45) % 8]
        local = now.astimezone(WIB)
        stamp = (f"{local.day:02d}-{_BULAN[local.month - 1]}-{local.year % 100:02d} "
                 f"{local:%H:%M:%S} WIB")
        name = _PLACES[region].short.upper()
        headline = (f"Gempa Mag:{magnitude:.1f}, {stamp}, Lok:{abs(point.lat):.2f} LS - "
                    f"{point.lon:.2f} BT ({distance} km {direction} {name}-JAMBI), "
                    f"Kedlmn:{depth:.0f} Km")
        felt = magnitude >= 3.5
        if magnitude >= 5.0:
            mmi, severity = "IV-V", Severity.SEVERE
        elif magnitude >= 4.5:
            mmi, severity = "III-IV", Severity.MODERATE
        elif magnitude >= 4.0:
            mmi, severity = "III", Severity.MODERATE
        else:
            mmi, severity = "II-III", Severity.MINOR
        description = f"Pusat gempa berada di darat {distance} km {direction} {name.title()}."
        if felt:
            description += f" Dirasakan (MMI): {mmi} {_PLACES[region].short}."
        radius = round(10 * (magnitude - 2.0) ** 2, 1)
        alert = DisasterAlert(
            event="Gempabumi", category=AlertCategory.GEO,
            urgency=Urgency.IMMEDIATE if magnitude >= 4.0 else Urgency.PAST,
            severity=severity, certainty=Certainty.OBSERVED, headline=headline, issuer="BMKG",
            description=description,
            instruction=("Hati-hati terhadap gempabumi susulan yang mungkin terjadi."
                         if felt else ""),
            area=self._area(region, f"{REGION_NAMES[region]} dan sekitarnya",
                            Circle(point, radius), with_pair=felt),
            effective=now, expires=now + timedelta(hours=_choice(rng, (2, 3, 6))),
            magnitude=magnitude, depth_km=depth,
        )
        return self._official(now, region, point, alert)

    def _banjir(self, now: datetime, slot: _Slot) -> DisasterAlertEvent:
        rng = self._rng
        region = _pick(rng, _FLOOD_REGIONS)
        fill = _Fill(rng, region)
        level = _pick(rng, (("Waspada", 60.0), ("Siaga", 30.0), ("Awas", 10.0)))
        if level == "Waspada":
            severity = self._severity((60, 40, 0, 0))
            urgency = Urgency.EXPECTED
        elif level == "Siaga":
            severity = self._severity((0, 60, 40, 0))
            urgency = _pick(rng, ((Urgency.EXPECTED, 1.0), (Urgency.IMMEDIATE, 1.0)))
        else:
            severity = self._severity((0, 0, 70, 30))
            urgency = Urgency.IMMEDIATE
        river = "Sungai Batanghari" if region in _BATANGHARI else fill["sungai"]
        if river == "parit":  # tidal canals do not get flood warnings; their river does
            river = _PLACES[region].rivers[0]
        issuer = "BPBD Provinsi Jambi" if rng.random() < 0.5 else _bpbd(region)
        rise = _randrange(rng, 20, 160, 5)
        families = _randrange(rng, 20, 900 if level == "Awas" else 300, 5)
        headline = f"Status {level} banjir: {river} meluap di Kecamatan {fill['kec']}, {fill['kab']}"
        description = (f"Tinggi muka air {river} naik {rise} cm dalam 24 jam terakhir. "
                       f"Permukiman di {fill['desa']}, Kecamatan {fill['kec']} tergenang "
                       f"{fill['cm']} cm; sekitar {families} KK terdampak.")
        instruction = (f"Warga di bantaran {river} diimbau mengamankan dokumen penting dan "
                       "barang berharga, mematikan listrik bila air masuk rumah, dan bersiap "
                       "mengungsi ke posko yang disiapkan. Hubungi Call Center 112 bila "
                       "membutuhkan evakuasi.")
        point = self._point(region) if rng.random() < 0.6 else None
        alert = DisasterAlert(
            event="Banjir", category=AlertCategory.MET, urgency=urgency, severity=severity,
            certainty=Certainty.OBSERVED if level != "Waspada" else Certainty.LIKELY,
            headline=headline, issuer=issuer, description=description, instruction=instruction,
            area=self._area(region, f"Kecamatan {fill['kec']}, {REGION_NAMES[region]}",
                            with_pair=True),
            effective=now, expires=now + timedelta(hours=_choice(rng, (6, 12, 24))),
        )
        return self._official(now, region, point, alert)

    def _karhutla(self, now: datetime, slot: _Slot) -> DisasterAlertEvent:
        rng = self._rng
        region = _pick(rng, _FIRE_REGIONS)
        fill = _Fill(rng, region)
        point = self._point(region)
        instruction = ("Dilarang membuka lahan dengan cara membakar (UU No. 32 Tahun 2009). "
                       "Laporkan titik api ke posko satgas karhutla atau Call Center 112. "
                       "Kurangi aktivitas di luar ruangan dan gunakan masker.")
        if rng.random() < 0.6:  # satellite hotspots, not yet confirmed on the ground
            count = min(60, 1 + int(rng.expovariate(1 / 5.0)))
            severity = (Severity.MINOR if count < 5 else
                        Severity.MODERATE if count < 15 else Severity.SEVERE)
            alert = DisasterAlert(
                event="Titik Panas", category=AlertCategory.FIRE, urgency=Urgency.EXPECTED,
                severity=severity, certainty=Certainty.LIKELY,
                headline=f"{count} titik panas terdeteksi di Kecamatan {fill['kec']}, "
                         f"{fill['kab']}",
                issuer="BMKG",
                description=(f"Pantauan satelit Terra/Aqua, SNPP dan NOAA-20 mendeteksi {count} "
                             f"titik panas dengan tingkat kepercayaan tinggi di Kecamatan "
                             f"{fill['kec']}, {REGION_NAMES[region]}, sebagian di lahan gambut."),
                instruction=instruction,
                area=self._area(region, f"Kecamatan {fill['kec']}, {REGION_NAMES[region]}",
                                Circle(point, round(rng.uniform(1.0, 5.0), 1))),
                effective=now, expires=now + timedelta(hours=_choice(rng, (6, 12))),
            )
        else:  # a fire the BPBD team has reached
            hectares = round(rng.lognormvariate(1.8, 1.1), 1)
            area = f"{hectares:g}".replace(".", ",")  # Indonesian decimal comma
            severity = (Severity.MINOR if hectares < 5 else Severity.MODERATE if hectares < 25
                        else Severity.SEVERE if hectares < 150 else Severity.EXTREME)
            alert = DisasterAlert(
                event="Kebakaran Hutan dan Lahan", category=AlertCategory.FIRE,
                urgency=Urgency.IMMEDIATE, severity=severity, certainty=Certainty.OBSERVED,
                headline=f"Kebakaran lahan gambut ±{area} ha di {fill['desa']}, "
                         f"Kecamatan {fill['kec']}",
                issuer=_bpbd(region),
                description=(f"Tim gabungan BPBD, Manggala Agni, TNI dan Polri melakukan "
                             f"pemadaman di {fill['desa']}, Kecamatan {fill['kec']}. Api "
                             f"membakar lahan gambut ±{area} ha; sumber air terbatas."),
                instruction=instruction,
                area=self._area(region, f"{fill['desa']}, Kecamatan {fill['kec']}",
                                Circle(point, round(max(0.5, math.sqrt(hectares) / 10), 1))),
                effective=now, expires=now + timedelta(hours=_choice(rng, (6, 12))),
            )
        return self._official(now, region, point, alert)

    def _cuaca(self, now: datetime, slot: _Slot) -> DisasterAlertEvent:
        rng = self._rng
        region = self._permit_regions.pick(rng)
        place = _PLACES[region]
        kecamatan = [k for k, _ in rng.sample(place.kecamatan, min(3, len(place.kecamatan)))]
        hours = _choice(rng, (2, 3))
        local = now.astimezone(WIB)
        until = local + timedelta(hours=hours)
        severity = self._severity((50, 40, 10, 0))
        alert = DisasterAlert(
            event="Hujan Lebat disertai Petir dan Angin Kencang", category=AlertCategory.MET,
            urgency=Urgency.IMMEDIATE if rng.random() < 0.6 else Urgency.EXPECTED,
            severity=severity, certainty=Certainty.LIKELY,
            headline=(f"Peringatan Dini Cuaca Provinsi Jambi: hujan sedang hingga lebat disertai "
                      f"petir dan angin kencang di {place.short}"),
            issuer="BMKG",
            description=(f"Pada pukul {local:%H.%M} WIB berpotensi terjadi hujan sedang hingga "
                         f"lebat yang dapat disertai kilat/petir dan angin kencang di wilayah "
                         f"{', '.join(kecamatan)} ({place.short}). Kondisi ini diperkirakan "
                         f"masih dapat berlangsung hingga pukul {until:%H.%M} WIB."),
            instruction=("Masyarakat diimbau waspada terhadap dampak yang dapat ditimbulkan "
                         "seperti banjir, genangan, tanah longsor, pohon tumbang, dan jalan "
                         "licin."),
            area=self._area(region, f"Kecamatan {', '.join(kecamatan)}, {REGION_NAMES[region]}",
                            with_pair=True),
            effective=now, expires=now + timedelta(hours=hours),
        )
        return self._official(now, region, None, alert)

    def _longsor(self, now: datetime, slot: _Slot) -> DisasterAlertEvent:
        rng = self._rng
        region = _pick(rng, _LANDSLIDE_REGIONS)
        fill = _Fill(rng, region)
        road = fill["jalan_bukit"]
        point = self._point(region)
        length = _randrange(rng, 10, 120, 5)
        alert = DisasterAlert(
            event="Tanah Longsor", category=AlertCategory.GEO, urgency=Urgency.IMMEDIATE,
            severity=self._severity((35, 45, 17, 3)), certainty=Certainty.OBSERVED,
            headline=f"Tanah longsor menutup {road}, Kecamatan {fill['kec']}",
            issuer=_bpbd(region),
            description=(f"Longsor terjadi setelah hujan deras; material tanah dan batu menutup "
                         f"badan jalan sepanjang {length} meter dan kendaraan belum dapat "
                         f"melintas. Alat berat Dinas PUPR sedang dikerahkan."),
            instruction=("Pengguna jalan diimbau mencari jalur alternatif dan tidak melintas "
                         "saat hujan deras. Warga di lereng curam agar waspada longsor susulan."),
            area=self._area(region, f"Kecamatan {fill['kec']}, {REGION_NAMES[region]}"),
            effective=now, expires=now + timedelta(hours=_choice(rng, (6, 12))),
        )
        return self._official(now, region, point, alert)

    def _puting_beliung(self, now: datetime, slot: _Slot) -> DisasterAlertEvent:
        rng = self._rng
        region = self._permit_regions.pick(rng)
        fill = _Fill(rng, region)
        houses = _randint(rng, 2, 40)
        alert = DisasterAlert(
            event="Angin Puting Beliung", category=AlertCategory.MET,
            urgency=Urgency.PAST if rng.random() < 0.5 else Urgency.IMMEDIATE,
            severity=self._severity((55, 35, 9, 1)), certainty=Certainty.OBSERVED,
            headline=f"Angin puting beliung merusak {houses} rumah di {fill['desa']}, "
                     f"Kecamatan {fill['kec']}",
            issuer=_bpbd(region),
            description=(f"Angin puting beliung disertai hujan deras merusak atap {houses} rumah "
                         f"warga di {fill['desa']}. Tim BPBD melakukan kaji cepat dan "
                         f"menyalurkan terpal."),
            instruction="Warga diimbau menjauhi pohon besar dan baliho saat angin kencang.",
            area=self._area(region, f"{fill['desa']}, Kecamatan {fill['kec']}"),
            effective=now, expires=now + timedelta(hours=3),
        )
        return self._official(now, region, self._point(region), alert)

    def _gunung_kerinci(self, now: datetime, slot: _Slot) -> DisasterAlertEvent:
        rng = self._rng
        region = Region.KERINCI
        point = self._summit
        height = _randrange(rng, 100, 900, 50)
        alert = DisasterAlert(
            event="Erupsi Gunung Kerinci", category=AlertCategory.GEO, urgency=Urgency.EXPECTED,
            severity=Severity.MODERATE, certainty=Certainty.OBSERVED,
            headline=f"Gunung Kerinci Level II (Waspada): erupsi, tinggi kolom abu ±{height} m "
                     f"di atas puncak",
            issuer="PVMBG",
            description=(f"Terjadi erupsi Gunung Kerinci dengan tinggi kolom abu ±{height} m di "
                         f"atas puncak, condong ke arah timur. Status tetap Level II (Waspada)."),
            instruction=("Masyarakat, pendaki, dan wisatawan tidak mendekati kawah dalam radius "
                         "3 km. Bila terjadi hujan abu gunakan masker dan pelindung mata."),
            area=self._area(region, "Gunung Kerinci dan sekitarnya", Circle(point, 3.0),
                            with_pair=True),
            effective=now, expires=now + timedelta(hours=12),
        )
        return self._official(now, region, point, alert)

    def _asap(self, now: datetime, slot: _Slot) -> DisasterAlertEvent:
        rng = self._rng
        region = _pick(rng, _HAZE_REGIONS)
        value = int(rng.lognormvariate(math.log(140), 0.35))
        if value <= 200:
            label, severity = "Tidak Sehat", Severity.MODERATE
        elif value <= 300:
            label, severity = "Sangat Tidak Sehat", Severity.SEVERE
        else:
            label, severity = "Berbahaya", Severity.EXTREME
        if value <= 100:
            label, severity = "Sedang", Severity.MINOR
        alert = DisasterAlert(
            event="Kabut Asap", category=AlertCategory.ENV, urgency=Urgency.IMMEDIATE,
            severity=severity, certainty=Certainty.OBSERVED,
            headline=f"Kualitas udara {_PLACES[region].short} kategori {label} (ISPU {value})",
            issuer="DLH Provinsi Jambi",
            description=(f"Indeks Standar Pencemar Udara parameter PM2.5 di "
                         f"{REGION_NAMES[region]} mencapai {value} ({label}) akibat kabut asap "
                         f"kebakaran hutan dan lahan."),
            instruction=("Kurangi aktivitas di luar ruangan, gunakan masker, dan segera ke "
                         "fasilitas kesehatan bila mengalami sesak napas."),
            area=self._area(region, REGION_NAMES[region], with_pair=True),
            effective=now, expires=now + timedelta(hours=_choice(rng, (3, 6))),
        )
        return self._official(now, region, None, alert)


_KIND_OF: dict[type, Kind] = {
    CitizenReportEvent: Kind.CITIZEN_REPORT,
    DisasterAlertEvent: Kind.DISASTER_ALERT,
    PermitFilingEvent: Kind.PERMIT_FILING,
    SectorIndicatorEvent: Kind.SECTOR_INDICATOR,
}
_FEED_CHECK = timedelta(seconds=30)


def _key(event: Event) -> bytes:
    """The region code, or the region of the location when the source sent none."""
    if event.region is not None:
        return event.region.encode()
    if event.location is not None:
        location = event.location
        found = _PLACED.get((location.lat, location.lon)) or region_at(location.lat, location.lon)
        return found.encode() if found else b""
    return b""
