"""The portal's datasets: their definitions (satudata/datasets.toml) as msgspec Structs."""

from __future__ import annotations

import enum
import tomllib
import uuid
from functools import cache
from importlib import resources
from typing import Literal

import msgspec

from posko.errors import PoskoError
from schemas.sectors import INDICATORS, SECTOR_NAMES, Sector

# Names of every dataset, organization and resource id derive from this namespace (uuid5), so
# ids are the same on every machine and after every restart.
NAMESPACE = uuid.UUID("0b6f3c9a-6a1e-4d0e-9c55-5a7d1f2e8b40")
FORMATS = ("CSV", "JSON", "GeoJSON", "Parquet")
LICENCES = {
    "CC-BY-4.0": ("Creative Commons Attribution 4.0", "https://creativecommons.org/licenses/by/4.0/"),
    "CC0-1.0": ("Creative Commons CCZero 1.0", "https://creativecommons.org/publicdomain/zero/1.0/"),
}


class CatalogueError(PoskoError, ValueError):
    """The dataset definitions are wrong; the message names the dataset and field."""


class Classification(enum.StrEnum):
    """Who may see a dataset (Satu Data: data terbuka, terbatas, dikecualikan)."""

    PUBLIK = "publik"
    TERBATAS = "terbatas"
    DIKECUALIKAN = "dikecualikan"


ColumnType = Literal["string", "integer", "number", "date", "datetime"]


class Column(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One column of a dataset's data dictionary."""

    name: str
    type: ColumnType
    title: str
    description: str
    unit: str = ""
    suppress: bool = False  # a count: under the threshold it is shown as `<N`


class Kind(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The columns shared by every dataset of one kind, and their stable order."""

    key: list[str]
    columns: list[Column]
    period: str = ""


class Organization(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A producing agency (produsen data): a CKAN organization."""

    name: str
    title: str

    @property
    def id(self) -> str:
        """Its stable CKAN id."""
        return str(uuid.uuid5(NAMESPACE, "organization:" + self.name))


class Dataset(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One dataset: its metadata and where its rows come from."""

    name: str
    kind: str
    title: str
    title_en: str
    notes: str
    notes_en: str
    organization: str
    sector: Sector
    frequency: Literal["real-time", "harian", "mingguan", "bulanan"]
    classification: Classification = Classification.PUBLIK
    licence: str = ""
    tags: list[str] = []
    indicators: list[str] = []

    @property
    def id(self) -> str:
        """Its stable CKAN id."""
        return str(uuid.uuid5(NAMESPACE, "dataset:" + self.name))

    def resource_id(self, fmt: str) -> str:
        """The stable id of its resource in `fmt` (CSV is the one with a datastore)."""
        return str(uuid.uuid5(NAMESPACE, f"resource:{self.name}:{fmt.lower()}"))

    @property
    def units(self) -> list[str]:
        """The units its values are in."""
        if self.indicators:
            return sorted({INDICATORS[code].unit for code in self.indicators})
        return sorted({column.unit for column in catalogue().kinds[self.kind].columns if column.unit})


class Catalogue(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Every dataset, the agencies and the columns of each kind."""

    walidata: str
    walidata_email: str
    publisher: str
    licence: str
    organization: list[Organization]
    kinds: dict[str, Kind]
    dataset: list[Dataset]

    def columns(self, dataset: Dataset) -> list[Column]:
        """The dataset's data dictionary."""
        return self.kinds[dataset.kind].columns

    def licence_of(self, dataset: Dataset) -> str:
        """The dataset's licence id (the catalogue's unless it says otherwise)."""
        return dataset.licence or self.licence

    def organization_of(self, dataset: Dataset) -> Organization:
        """The dataset's producing agency."""
        return next(o for o in self.organization if o.name == dataset.organization)

    @property
    def served(self) -> list[Dataset]:
        """The datasets the portal serves to someone (not `dikecualikan`)."""
        return [d for d in self.dataset if d.classification is not Classification.DIKECUALIKAN]

    def find(self, name_or_id: str) -> Dataset | None:
        """A served dataset by name or id (never a `dikecualikan` one)."""
        return next((d for d in self.served if name_or_id in (d.name, d.id)), None)

    def find_resource(self, resource_id: str) -> tuple[Dataset, str] | None:
        """The served dataset and format of a resource id (or of a dataset name: its CSV)."""
        for dataset in self.served:
            if resource_id == dataset.name:
                return dataset, "CSV"
            for fmt in FORMATS:
                if resource_id == dataset.resource_id(fmt):
                    return dataset, fmt
        return None


def check(found: Catalogue) -> None:
    """Raise CatalogueError for a definition that cannot be published as written."""
    names = [d.name for d in found.dataset]
    orgs = {o.name for o in found.organization}
    if len(set(names)) != len(names):
        raise CatalogueError(f"datasets.toml: a dataset name is used twice: {sorted(names)}")
    for dataset in found.dataset:
        where = f"datasets.toml: dataset {dataset.name!r}"
        if dataset.kind not in found.kinds:
            raise CatalogueError(f"{where}: unknown kind {dataset.kind!r}")
        if dataset.organization not in orgs:
            raise CatalogueError(f"{where}: unknown organization {dataset.organization!r}")
        if (licence := found.licence_of(dataset)) not in LICENCES:
            raise CatalogueError(f"{where}: unknown licence {licence!r}")
        if unknown := [code for code in dataset.indicators if code not in INDICATORS]:
            raise CatalogueError(f"{where}: indicators not in the sector catalogue: {unknown}")
        if (dataset.kind == "indikator") != bool(dataset.indicators):
            raise CatalogueError(f"{where}: `indicators` is for (and needed by) kind indikator")
        kind = found.kinds[dataset.kind]
        names_ = [c.name for c in kind.columns]
        if missing := [k for k in kind.key if k not in names_]:
            raise CatalogueError(f"{where}: key columns not in the dictionary: {missing}")


@cache
def catalogue() -> Catalogue:
    """The catalogue shipped in satudata/datasets.toml, checked."""
    text = resources.files("satudata").joinpath("datasets.toml").read_text(encoding="utf-8")
    try:
        found = msgspec.convert(tomllib.loads(text), Catalogue)
    except (tomllib.TOMLDecodeError, msgspec.ValidationError) as exc:
        raise CatalogueError(f"satudata/datasets.toml: {exc}") from exc
    check(found)
    return found


def group_name(sector: Sector) -> str:
    """The CKAN group (a sector) name."""
    return sector.value.replace("_", "-")


def group_title(sector: Sector) -> str:
    """The sector's title."""
    return SECTOR_NAMES[sector]
