"""Template fields ({kec}, {jalan}, {harga_karet}, …): drawn for a place only when a template asks."""

from __future__ import annotations

import random
from collections.abc import Callable

from connectors.simulator import data_files
from connectors.simulator.draws import choice, randint, randrange
from connectors.simulator.places import PLACES, Place
from schemas.regions import Region

DURATIONS = tuple(data_files.reports().durations)


def rupiah(amount: int) -> str:
    """An amount as Indonesians write it: 1.250.000."""
    return f"{amount:,}".replace(",", ".")


class Fill(dict[str, str]):
    """The fields of one report or alert: each drawn on first use, the same wherever it is used again."""

    __slots__ = ("kec", "place", "region", "rng")

    def __init__(self, rng: random.Random, region: Region, place: Place | None = None) -> None:
        super().__init__()
        self.rng = rng
        self.region = region
        self.place = place or PLACES[region]
        self.kec: tuple[str, tuple[str, ...]] | None = None

    def kecamatan(self) -> tuple[str, tuple[str, ...]]:
        """The kecamatan of this report (drawn once), with some of its desa."""
        if self.kec is None:
            self.kec = choice(self.rng, self.place.kecamatan)
        return self.kec

    def __missing__(self, key: str) -> str:
        value = _FIELDS[key](self)
        self[key] = value
        return value


def _desa(fill: Fill) -> str:
    kec, villages = fill.kecamatan()
    # Many desa share their kecamatan's name; without known villages use that.
    return choice(fill.rng, villages) if villages else kec


def _jalan(fill: Fill) -> str:
    street = choice(fill.rng, fill.place.streets)
    if street[0].islower():  # "jalan poros desa" needs the desa to mean anything
        street = f"{street} {fill['desa']}"
    return street


def _sekolah(fill: Fill) -> str:
    number = randint(fill.rng, 1, 220 if fill.region is Region.KOTA_JAMBI else 120)
    code = f"/{fill.place.school_code}" if fill.place.school_code else ""
    return f"SD Negeri {number}{code} {fill.place.short}"


_FIELDS: dict[str, Callable[[Fill], str]] = {
    "kec": lambda f: f.kecamatan()[0],
    "desa": _desa,
    "kab": lambda f: f.place.short,
    "jalan": _jalan,
    "jalan_bukit": lambda f: choice(f.rng, f.place.steep_roads or f.place.streets),
    "tempat": lambda f: choice(f.rng, f.place.landmarks),
    "sungai": lambda f: choice(f.rng, f.place.rivers),
    "rs": lambda f: f.place.hospital,
    "pdam": lambda f: f.place.pdam,
    "sekolah": _sekolah,
    "smp": lambda f: f"SMP Negeri {randint(f.rng, 1, 25)} {f.place.short}",
    "rt": lambda f: f"RT {randint(f.rng, 1, 40):02d}",
    "n": lambda f: str(randint(f.rng, 2, 9)),
    "cm": lambda f: str(randrange(f.rng, 20, 100, 10)),
    "ha": lambda f: str(randint(f.rng, 2, 40)),
    "lama": lambda f: choice(f.rng, DURATIONS),
    "bulan": lambda f: str(randint(f.rng, 2, 7)),
    "kelas": lambda f: str(randint(f.rng, 1, 6)),
    "jarak": lambda f: str(randrange(f.rng, 150, 950, 50)),
    "biaya": lambda f: rupiah(choice(f.rng, (250, 350, 500, 750, 1200)) * 1000),
    "harga_elpiji": lambda f: rupiah(randrange(f.rng, 28, 42) * 1000),
    "harga_karet": lambda f: rupiah(randrange(f.rng, 70, 110) * 100),
}
FIELDS = frozenset(_FIELDS)
