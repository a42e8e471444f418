"""The kabupaten/kota reference data: population, area and (where published) BNPB's risk index.

Read from a CSV the operator can replace (`posko dss reference FILE`): the installed
`<POSKO_HOME>/dss/kabkota_reference.csv` wins over the packaged decision/data/kabkota_reference.csv
(see decision/data/README.md for where its figures come from). Every row is checked; a bad one is
refused with its line and column.
"""

from __future__ import annotations

import csv
import enum
import io
from importlib import resources
from pathlib import Path
from typing import Annotated

import msgspec
from msgspec import Meta

from posko.errors import PoskoError
from schemas.regions import Region

COLUMNS = ("code", "name", "population", "population_year", "area_km2", "irbi_score", "irbi_class",
           "irbi_year", "hazard_classes", "sources")
INSTALLED = "dss/kabkota_reference.csv"  # under POSKO_HOME


class ReferenceError(PoskoError, ValueError):
    """A reference file that cannot be used: which line and column, and what to fix."""


class RiskClass(enum.StrEnum):
    """BNPB's IRBI classes."""

    RENDAH = "rendah"
    SEDANG = "sedang"
    TINGGI = "tinggi"


class RegionReference(msgspec.Struct, frozen=True, kw_only=True):
    """One kabupaten/kota's row of the reference data."""

    code: Region
    name: Annotated[str, Meta(min_length=1)]
    population: Annotated[int, Meta(gt=0)]
    population_year: Annotated[int, Meta(ge=1900, le=2100)]
    area_km2: Annotated[float, Meta(gt=0)]
    irbi_score: Annotated[float, Meta(ge=0, le=300)] | None = None
    irbi_class: RiskClass | None = None
    irbi_year: Annotated[int, Meta(ge=2000, le=2100)] | None = None
    hazard_classes: str = ""
    sources: Annotated[str, Meta(min_length=1)]

    @property
    def density(self) -> float:
        """People per km²."""
        return self.population / self.area_km2


Reference = dict[Region, RegionReference]
_INTS = ("population", "population_year", "irbi_year")
_FLOATS = ("area_km2", "irbi_score")


def parse_reference(text: str, where: str) -> Reference:
    """The rows of a reference CSV, every region once; ReferenceError names the line and column."""
    reader = csv.DictReader(io.StringIO(text))
    header = tuple(reader.fieldnames or ())
    missing = [c for c in COLUMNS if c not in header]
    unknown = [c for c in header if c not in COLUMNS]
    if missing or unknown:
        raise ReferenceError(f"{where}:1: kolom {', '.join(missing)} tidak ada / missing columns "
                             f"{missing}; unknown columns {unknown}. Columns: {', '.join(COLUMNS)}")
    rows: Reference = {}
    for row in reader:
        line = reader.line_num
        values: dict[str, object] = {}
        for column in COLUMNS:
            raw = (row.get(column) or "").strip()
            try:
                if raw == "":
                    continue
                values[column] = int(raw) if column in _INTS else float(raw) if column in _FLOATS else raw
            except ValueError:
                raise ReferenceError(f"{where}:{line}: kolom {column}: {raw!r} bukan angka / not a number "
                                     f"in column {column}") from None
        try:
            entry = msgspec.convert(values, RegionReference)
        except msgspec.ValidationError as exc:
            column = _column_of(str(exc))
            raise ReferenceError(f"{where}:{line}: kolom {column}: {exc} / fix column {column} "
                                 "on this line") from None
        if entry.code in rows:
            raise ReferenceError(f"{where}:{line}: kolom code: {entry.code} sudah ada di baris lain / "
                                 "the region appears twice")
        rows[entry.code] = entry
    absent = [r for r in Region if r not in rows]
    if absent:
        raise ReferenceError(f"{where}: kabupaten/kota {', '.join(absent)} tidak ada / every one of the "
                             f"11 regions needs a row (missing {', '.join(absent)})")
    return rows


def _column_of(message: str) -> str:
    """The column a msgspec validation message is about (`… at $.population`)."""
    return message.rsplit("$.", 1)[-1] if "$." in message else "?"


def packaged_reference() -> str:
    """The reference CSV shipped with Posko."""
    return resources.files("decision").joinpath("data/kabkota_reference.csv").read_text("utf-8")


def load_reference(home: str | Path) -> Reference:
    """The reference in effect: the installed file under POSKO_HOME, else the packaged one."""
    installed = Path(home) / INSTALLED
    if installed.is_file():
        return parse_reference(installed.read_text("utf-8"), str(installed))
    return parse_reference(packaged_reference(), "decision/data/kabkota_reference.csv")


def install_reference(source: Path, home: str | Path) -> Path:
    """Validate a CSV and install it under POSKO_HOME, where it wins over the packaged one."""
    try:
        text = source.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ReferenceError(f"{source}: tidak dapat dibaca / cannot be read: {exc}") from None
    parse_reference(text, str(source))
    target = Path(home) / INSTALLED
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".csv.partial")
    partial.write_text(text, "utf-8")
    partial.replace(target)  # atomic: the worker never reads half a file
    return target
