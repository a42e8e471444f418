"""The simulator's data files (places, report templates, permit kinds): read once, checked on load.

Each file is decoded straight into the Structs below, so a wrong type, a missing or unknown key,
an empty list or an unknown region code is refused with the file and the field it is in.
"""

from __future__ import annotations

import string
import tomllib
from collections.abc import Callable, Iterable, Iterator
from functools import cache
from importlib import resources
from typing import Annotated, Any, Literal, TypeVar

import msgspec
from msgspec import Meta

from posko.errors import PoskoError
from schemas.events import ApplicantType, ReportCategory
from schemas.regions import Region

T = TypeVar("T")
Names = Annotated[list[str], Meta(min_length=1)]
Weight = Annotated[float, Meta(gt=0)]
DATA = "connectors/simulator/data"


class DataFileError(PoskoError, ValueError):
    """A data file of the simulator is not as it should be; the message names the file and the field."""


class PlaceData(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One kabupaten/kota: the names the simulator writes into its reports and alerts."""

    short: str
    population_thousands: Weight
    hospital: str
    school_code: str
    pdam: str
    streets: Names
    landmarks: Names
    rivers: Names
    kecamatan: Annotated[dict[str, list[str]], Meta(min_length=1)]
    steep_roads: list[str] = []


class PlacesFile(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """data/places.toml."""

    groups: dict[str, Annotated[list[Region], Meta(min_length=1)]]
    regions: dict[Region, PlaceData]


class TemplateData(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A citizen report template: {fields} in its title and text are filled from the place."""

    title: str
    text: str
    where: Names | None = None  # groups of places.toml or region codes
    season: Literal["dry", "wet"] | None = None
    weight: Weight = 1.0


class ReportsFile(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """data/reports.toml."""

    durations: Names
    reporter_names: Names
    phone_prefixes: Annotated[dict[str, Weight], Meta(min_length=1)]
    templates: dict[ReportCategory, Annotated[list[TemplateData], Meta(min_length=1)]]


class PermitKindData(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A kind of licence application: what, under which KBLI, by whom, where and decided by whom."""

    permit_type: str
    kbli: Annotated[str, Meta(pattern=r"^\d{5}$")]
    usaha: Names
    applicants: str  # a mix of [applicants]
    level: str  # "kab": the kabupaten/kota's DPMPTSP, "prov": the province's, else the agency
    weight: Weight
    where: Names | None = None


class PermitsFile(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """data/permits.toml."""

    missing_documents: Names
    refusals: Names
    company_words: Annotated[list[str], Meta(min_length=2)]
    applicants: dict[str, Annotated[dict[ApplicantType, Weight], Meta(min_length=1)]]
    kinds: Annotated[list[PermitKindData], Meta(min_length=1)]


def packaged(name: str) -> bytes:
    """The bytes of a data file as shipped in the package."""
    return resources.files("connectors.simulator").joinpath("data", name).read_bytes()


# A part of a file that can be checked on its own: where it is, its value, and its type.
Part = tuple[str, Any, Any]


def _decode(data: bytes, name: str, as_type: type[T], parts: Callable[[dict[str, Any]], Iterator[Part]]) -> T:
    try:
        return msgspec.toml.decode(data, type=as_type)
    except msgspec.ValidationError as exc:
        # msgspec's paths leave out dict keys (`$.regions[...].short`): check the file's entries
        # one by one to say which one is wrong.
        for where, value, part_type in parts(tomllib.loads(data.decode())):
            try:
                msgspec.convert(value, part_type)
            except msgspec.ValidationError as found:
                message = str(found).replace("`$", f"`{where}", 1)
                raise DataFileError(f"{DATA}/{name}: {message}" + (
                    "" if where in message else f" - in `{where}`")) from exc
        raise DataFileError(f"{DATA}/{name}: {exc}") from exc
    except msgspec.DecodeError as exc:
        raise DataFileError(f"{DATA}/{name}: {exc}") from exc


def _entries(raw: dict[str, Any], key: str) -> dict[str, Any]:
    found = raw.get(key)
    return found if isinstance(found, dict) else {}


def _places_parts(raw: dict[str, Any]) -> Iterator[Part]:
    for name, codes in _entries(raw, "groups").items():
        yield f"groups.{name}", codes, list[Region]
    regions = _entries(raw, "regions")
    yield "regions", list(regions), list[Region]
    for code, entry in regions.items():
        yield f'regions."{code}"', entry, PlaceData


def _reports_parts(raw: dict[str, Any]) -> Iterator[Part]:
    for prefix, weight in _entries(raw, "phone_prefixes").items():
        yield f'phone_prefixes."{prefix}"', weight, Weight
    templates = _entries(raw, "templates")
    yield "templates", list(templates), list[ReportCategory]
    for category, listed in templates.items():
        for number, template in enumerate(listed if isinstance(listed, list) else []):
            yield f"templates.{category}[{number}]", template, TemplateData


def _permits_parts(raw: dict[str, Any]) -> Iterator[Part]:
    for name, mix in _entries(raw, "applicants").items():
        yield f"applicants.{name}", list(mix) if isinstance(mix, dict) else mix, list[ApplicantType]
        yield f"applicants.{name}", mix, dict[str, Weight]


def parse_places(data: bytes) -> PlacesFile:
    """places.toml, checked: every kabupaten/kota is there."""
    found = _decode(data, "places.toml", PlacesFile, _places_parts)
    missing = [region.value for region in Region if region not in found.regions]
    if missing:
        raise DataFileError(f"{DATA}/places.toml: regions: no entry for {', '.join(missing)}; "
                            "every kabupaten/kota needs its places")
    return found


def parse_reports(data: bytes) -> ReportsFile:
    """reports.toml, checked: templates for every category, `where` naming known places."""
    found = _decode(data, "reports.toml", ReportsFile, _reports_parts)
    missing = [category.value for category in ReportCategory if category not in found.templates]
    if missing:
        raise DataFileError(f"{DATA}/reports.toml: templates: no templates for {', '.join(missing)}")
    for category, templates in found.templates.items():
        for number, template in enumerate(templates):
            regions(template.where, f"reports.toml: templates.{category}[{number}].where")
    return found


def parse_permits(data: bytes) -> PermitsFile:
    """permits.toml, checked: each kind's applicant mix and `where` exist."""
    found = _decode(data, "permits.toml", PermitsFile, _permits_parts)
    for number, kind in enumerate(found.kinds):
        if kind.applicants not in found.applicants:
            raise DataFileError(f"{DATA}/permits.toml: kinds[{number}].applicants: no mix "
                                f"{kind.applicants!r}; the mixes are {', '.join(found.applicants)}")
        regions(kind.where, f"permits.toml: kinds[{number}].where")
    return found


# Loaded once per process, on first use.
@cache
def places() -> PlacesFile:
    """The packaged places.toml."""
    return parse_places(packaged("places.toml"))


@cache
def reports() -> ReportsFile:
    """The packaged reports.toml."""
    return parse_reports(packaged("reports.toml"))


@cache
def permits() -> PermitsFile:
    """The packaged permits.toml."""
    return parse_permits(packaged("permits.toml"))


def regions(where: Iterable[str] | None, field: str) -> frozenset[Region] | None:
    """The kabupaten/kota a `where` list names (groups of places.toml or codes); None: everywhere."""
    if where is None:
        return None
    groups = places().groups
    found: set[Region] = set()
    for name in where:
        if name in groups:
            found.update(groups[name])
        elif name in Region._value2member_map_:
            found.add(Region(name))
        else:
            raise DataFileError(f"{DATA}/{field}: {name!r} is neither a group of places.toml "
                                f"({', '.join(groups)}) nor a Kemendagri code like 15.71")
    return frozenset(found)


def check_fields(text: str, known: Iterable[str], field: str) -> None:
    """Refuse a template whose {fields} are not all known (or that formats them)."""
    allowed = set(known)
    try:
        parts = list(string.Formatter().parse(text))
    except ValueError as exc:
        raise DataFileError(f"{DATA}/{field}: {exc} (write a literal brace as {{{{ or }}}})") from exc
    for _, name, spec, conversion in parts:
        if name is None:
            continue
        if name not in allowed:
            raise DataFileError(f"{DATA}/{field}: {{{name}}} is not a template field; the fields are "
                                f"{', '.join('{' + k + '}' for k in sorted(allowed))}")
        if spec or conversion:
            extra = f"!{conversion}" if conversion else f":{spec}"
            raise DataFileError(f"{DATA}/{field}: {{{name}}} is filled as it is: drop the {extra}")
