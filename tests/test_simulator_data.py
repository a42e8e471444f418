"""The simulator's data files: the shipped ones are complete, a bad one is refused with file and field."""

from __future__ import annotations

import pytest

from connectors.simulator.data_files import (
    DataFileError,
    packaged,
    parse_permits,
    parse_places,
    parse_reports,
    permits,
    places,
    reports,
)
from connectors.simulator.rates import slot
from connectors.simulator.reports import load_templates
from schemas.events import ReportCategory
from schemas.regions import Region


def _edited(name: str, old: str, new: str) -> bytes:
    text = packaged(name).decode()
    assert old in text, f"{old!r} is not in {name} any more: update the test"
    return text.replace(old, new, 1).encode()


def test_shipped_files_name_every_region_and_fill_every_hour_of_the_year() -> None:
    assert set(places().regions) == set(Region)
    assert set(reports().templates) == set(ReportCategory)
    assert permits().kinds
    for month in range(1, 13):
        for weekend in (False, True):
            for hour in range(24):  # every category has a template in every region and season
                slot(month, weekend, hour)


def test_a_wrong_type_names_the_file_and_the_field() -> None:
    bad = _edited("places.toml", "population_thousands = 606", 'population_thousands = "banyak"')
    with pytest.raises(DataFileError, match=r"simulator/data/places\.toml: Expected `float`, got `str` - at "
                                            r"`regions\.\"15\.71\"\.population_thousands`"):
        parse_places(bad)


def test_an_unknown_key_is_refused_rather_than_ignored() -> None:
    bad = _edited("places.toml", 'hospital = "RSUD Raden Mattaher"', 'rumah_sakit = "RSUD Raden Mattaher"')
    with pytest.raises(DataFileError, match=r"places\.toml: .*rumah_sakit"):
        parse_places(bad)


def test_a_missing_kabupaten_is_named() -> None:
    text = packaged("places.toml").decode()
    start = text.index('[regions."15.72"]')
    end = text.index('[regions."15.02"]')
    with pytest.raises(DataFileError, match=r"places\.toml: regions: no entry for 15\.72"):
        parse_places((text[:start] + text[end:]).encode())


def test_an_unknown_group_in_where_names_the_template() -> None:
    bad = _edited("reports.toml", 'where = ["peat", "15.71"]', 'where = ["gambut", "15.71"]')
    with pytest.raises(DataFileError, match=r"templates\.\w+\[\d+\]\.where: 'gambut' is neither"):
        parse_reports(bad)


def test_an_unknown_template_field_is_refused_with_the_fields_there_are() -> None:
    bad = _edited("reports.toml", "Jalan rusak dan berlubang di {jalan}", "Jalan rusak di {jaln}")
    with pytest.raises(DataFileError, match=r"templates\.infrastruktur\[0\]\.title: \{jaln\} .*\{jalan\}"):
        load_templates(parse_reports(bad))


def test_a_permit_kind_with_an_unknown_applicant_mix_is_named() -> None:
    bad = _edited("permits.toml", 'applicants = "mixed"', 'applicants = "campuran"')
    with pytest.raises(DataFileError, match=r"permits\.toml: kinds\[0\]\.applicants: no mix 'campuran'"):
        parse_permits(bad)


def test_a_kbli_that_is_not_five_digits_is_refused() -> None:
    bad = _edited("permits.toml", 'kbli = "41011"', 'kbli = "4101"')
    with pytest.raises(DataFileError, match=r"permits\.toml: .*kinds\[0\]\.kbli"):
        parse_permits(bad)
