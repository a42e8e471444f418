"""Simulated disaster alerts as BMKG, BPBD, PVMBG and DLH issue them: quakes, floods, fires, haze."""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from datetime import datetime, timedelta

from connectors.simulator.draws import SOURCE, Table, choice, pick, randint, randrange
from connectors.simulator.fields import Fill
from connectors.simulator.places import BY_POPULATION, PLACES, group, near, point_pools
from schemas.clock import WIB
from schemas.events import (
    AlertArea,
    AlertCategory,
    Certainty,
    Circle,
    DisasterAlert,
    DisasterAlertEvent,
    Point,
    Severity,
    Urgency,
    new_event_id,
)
from schemas.regions import REGION_NAMES, Region, boundaries


def _pairs(weights: dict[Region, float]) -> tuple[tuple[Region, float], ...]:
    return tuple(weights.items())


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
ALERT_MIX = {
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

_BATANGHARI = group("batanghari")
_SEVERITY_ORDER = (Severity.MINOR, Severity.MODERATE, Severity.SEVERE, Severity.EXTREME)


def alert_kinds(season: str, hour: int) -> Table[str]:
    """Which alert comes, by weight, in a season at a WIB hour."""
    weights = dict(ALERT_MIX[season])
    if 13 <= hour < 19:  # convective storms build in the afternoon
        weights["cuaca"] *= 2.0
    return Table(list(weights.items()))


def _bpbd(region: Region) -> str:
    return f"BPBD {REGION_NAMES[region]}"


class DisasterAlerts:
    """Draws disaster alerts from a shared random generator."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self._pools = point_pools()
        self._summit = near(Region.KERINCI, _KERINCI_SUMMIT)
        self._builders: dict[str, Callable[[datetime], DisasterAlertEvent]] = {
            "gempa": self._gempa, "banjir": self._banjir, "karhutla": self._karhutla,
            "cuaca": self._cuaca, "longsor": self._longsor, "puting_beliung": self._puting_beliung,
            "kerinci": self._gunung_kerinci, "asap": self._asap,
        }

    def make(self, now: datetime, kinds: Table[str]) -> DisasterAlertEvent:
        """One alert issued at `now`, of a kind drawn from `kinds`."""
        return self._builders[kinds.pick(self._rng)](now)

    def _point(self, region: Region) -> Point:
        return choice(self._rng, self._pools[region])

    def _severity(self, weights: tuple[float, float, float, float]) -> Severity:
        return pick(self._rng, tuple(zip(_SEVERITY_ORDER, weights, strict=True)))

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

    def _gempa(self, now: datetime) -> DisasterAlertEvent:
        rng = self._rng
        region = pick(rng, _GEMPA_REGIONS)
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
        depth = float(randint(rng, 5, 30) if rng.random() < 0.8 else randint(rng, 60, 180))
        lat0, lon0 = boundaries().centroids[region]
        dy = (point.lat - lat0) * 111.0
        dx = (point.lon - lon0) * 111.0 * math.cos(math.radians(point.lat))
        distance = max(1, round(math.hypot(dx, dy)))
        bearing = (math.degrees(math.atan2(dx, dy)) + 360) % 360
        direction = _COMPASS[int((bearing + 22.5) // 45) % 8]
        local = now.astimezone(WIB)
        stamp = (f"{local.day:02d}-{_BULAN[local.month - 1]}-{local.year % 100:02d} "
                 f"{local:%H:%M:%S} WIB")
        name = PLACES[region].short.upper()
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
            description += f" Dirasakan (MMI): {mmi} {PLACES[region].short}."
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
            effective=now, expires=now + timedelta(hours=choice(rng, (2, 3, 6))),
            magnitude=magnitude, depth_km=depth,
        )
        return self._official(now, region, point, alert)

    def _banjir(self, now: datetime) -> DisasterAlertEvent:
        rng = self._rng
        region = pick(rng, _FLOOD_REGIONS)
        fill = Fill(rng, region)
        level = pick(rng, (("Waspada", 60.0), ("Siaga", 30.0), ("Awas", 10.0)))
        if level == "Waspada":
            severity = self._severity((60, 40, 0, 0))
            urgency = Urgency.EXPECTED
        elif level == "Siaga":
            severity = self._severity((0, 60, 40, 0))
            urgency = pick(rng, ((Urgency.EXPECTED, 1.0), (Urgency.IMMEDIATE, 1.0)))
        else:
            severity = self._severity((0, 0, 70, 30))
            urgency = Urgency.IMMEDIATE
        river = "Sungai Batanghari" if region in _BATANGHARI else fill["sungai"]
        if river == "parit":  # tidal canals do not get flood warnings; their river does
            river = PLACES[region].rivers[0]
        issuer = "BPBD Provinsi Jambi" if rng.random() < 0.5 else _bpbd(region)
        rise = randrange(rng, 20, 160, 5)
        families = randrange(rng, 20, 900 if level == "Awas" else 300, 5)
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
            effective=now, expires=now + timedelta(hours=choice(rng, (6, 12, 24))),
        )
        return self._official(now, region, point, alert)

    def _karhutla(self, now: datetime) -> DisasterAlertEvent:
        rng = self._rng
        region = pick(rng, _FIRE_REGIONS)
        fill = Fill(rng, region)
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
                effective=now, expires=now + timedelta(hours=choice(rng, (6, 12))),
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
                effective=now, expires=now + timedelta(hours=choice(rng, (6, 12))),
            )
        return self._official(now, region, point, alert)

    def _cuaca(self, now: datetime) -> DisasterAlertEvent:
        rng = self._rng
        region = BY_POPULATION.pick(rng)
        place = PLACES[region]
        kecamatan = [k for k, _ in rng.sample(place.kecamatan, min(3, len(place.kecamatan)))]
        hours = choice(rng, (2, 3))
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

    def _longsor(self, now: datetime) -> DisasterAlertEvent:
        rng = self._rng
        region = pick(rng, _LANDSLIDE_REGIONS)
        fill = Fill(rng, region)
        road = fill["jalan_bukit"]
        point = self._point(region)
        length = randrange(rng, 10, 120, 5)
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
            effective=now, expires=now + timedelta(hours=choice(rng, (6, 12))),
        )
        return self._official(now, region, point, alert)

    def _puting_beliung(self, now: datetime) -> DisasterAlertEvent:
        rng = self._rng
        region = BY_POPULATION.pick(rng)
        fill = Fill(rng, region)
        houses = randint(rng, 2, 40)
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

    def _gunung_kerinci(self, now: datetime) -> DisasterAlertEvent:
        rng = self._rng
        region = Region.KERINCI
        point = self._summit
        height = randrange(rng, 100, 900, 50)
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

    def _asap(self, now: datetime) -> DisasterAlertEvent:
        rng = self._rng
        region = pick(rng, _HAZE_REGIONS)
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
            headline=f"Kualitas udara {PLACES[region].short} kategori {label} (ISPU {value})",
            issuer="DLH Provinsi Jambi",
            description=(f"Indeks Standar Pencemar Udara parameter PM2.5 di "
                         f"{REGION_NAMES[region]} mencapai {value} ({label}) akibat kabut asap "
                         f"kebakaran hutan dan lahan."),
            instruction=("Kurangi aktivitas di luar ruangan, gunakan masker, dan segera ke "
                         "fasilitas kesehatan bila mengalami sesak napas."),
            area=self._area(region, REGION_NAMES[region], with_pair=True),
            effective=now, expires=now + timedelta(hours=choice(rng, (3, 6))),
        )
        return self._official(now, region, None, alert)
