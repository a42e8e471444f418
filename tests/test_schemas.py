"""Schemas against the real files in shared/fixtures: regions, BMKG feeds, OSS status codes."""

from __future__ import annotations

import csv
import re
from datetime import UTC, datetime
from pathlib import Path

import msgspec
import pytest

from schemas.bmkg import decode_bmkg, quake_alert
from schemas.events import (
    PERMIT_STATUS_NAMES,
    AlertCategory,
    CitizenReport,
    CitizenReportEvent,
    DisasterAlertEvent,
    Event,
    PermitStatus,
    Point,
    Severity,
    new_event_id,
    utc_now,
)
from schemas.regions import REGION_NAMES, Region, boundaries, decode_boundaries, region_at
from schemas.topics import catalogue


def test_bundled_boundaries_are_the_fixture_file(fixtures_dir: Path) -> None:
    bundled = Path(__file__).resolve().parents[1] / "schemas/data/jambi_kabkota_15.geojson"
    assert bundled.read_bytes() == (fixtures_dir / "regions/jambi_kabkota_15.geojson").read_bytes()


def test_eleven_regions_match_the_kemendagri_crosswalk(fixtures_dir: Path) -> None:
    with (fixtures_dir / "regions/jambi_kode_wilayah_crosswalk.csv").open() as f:
        crosswalk = {row["kode_kemendagri"]: row["nama"] for row in csv.DictReader(f)}
    assert {r.value for r in Region} == set(crosswalk)
    assert {r.value: REGION_NAMES[r] for r in Region} == crosswalk
    assert set(boundaries().regions) == set(Region)


@pytest.mark.parametrize(
    ("place", "lat", "lon", "region"),
    [
        ("Kantor Gubernur Jambi, Telanaipura", -1.6101, 103.5889, Region.KOTA_JAMBI),
        ("Candi Muaro Jambi", -1.4767, 103.6711, Region.MUARO_JAMBI),
        ("Sungai Penuh town centre", -2.0631, 101.3950, Region.KOTA_SUNGAI_PENUH),
        ("Danau Kerinci", -2.1500, 101.5000, Region.KERINCI),
        ("Bangko, Merangin", -2.0833, 102.2833, Region.MERANGIN),
        ("Muara Bulian, Batang Hari", -1.7000, 103.2600, Region.BATANG_HARI),
        ("Kuala Tungkal, Tanjung Jabung Barat", -0.8167, 103.4667, Region.TANJUNG_JABUNG_BARAT),
        ("Muara Bungo", -1.4833, 102.1167, Region.BUNGO),
        ("Muara Tebo", -1.4833, 102.4333, Region.TEBO),
        ("Sarolangun town", -2.3000, 102.7000, Region.SAROLANGUN),
        ("Muara Sabak, Tanjung Jabung Timur", -1.1200, 103.8200, Region.TANJUNG_JABUNG_TIMUR),
    ],
)
def test_point_lookup_places_known_coordinates(
    place: str, lat: float, lon: float, region: Region
) -> None:
    assert region_at(lat, lon) == region, place


def test_points_outside_jambi_have_no_region() -> None:
    assert region_at(-6.1754, 106.8272) is None  # Monas, Jakarta
    assert region_at(-0.9471, 100.4172) is None  # Padang


class _Props(msgspec.Struct):
    kode: str


class _Feature(msgspec.Struct):
    properties: _Props
    geometry: msgspec.Raw


class _Collection(msgspec.Struct):
    features: list[_Feature]


def test_every_kecamatan_falls_in_its_kabupaten(fixtures_dir: Path) -> None:
    import shapely
    from shapely.geometry import shape

    data = (fixtures_dir / "regions/jambi_kecamatan_15.geojson").read_bytes()
    kecamatan = msgspec.json.decode(data, type=_Collection).features
    assert len(kecamatan) == 144
    misplaced = []
    for feature in kecamatan:
        inner = shapely.point_on_surface(shape(msgspec.json.decode(feature.geometry)))
        parent = feature.properties.kode[:5]
        if region_at(inner.y, inner.x) != parent:
            misplaced.append(feature.properties.kode)
    # The boundaries are simplified, so a sliver kecamatan may fall across a line; not more.
    assert len(misplaced) <= 3, misplaced


def test_decode_boundaries_refuses_an_unknown_code() -> None:
    bad = b'{"features":[{"properties":{"kode":"16.01","nama":"X","centroid_lat":0,' \
          b'"centroid_lng":0},"geometry":{"type":"Point","coordinates":[0,0]}}]}'
    with pytest.raises(ValueError, match=r"16\.01"):
        decode_boundaries(bad)


def test_bmkg_autogempa_decodes_to_an_alert(fixtures_dir: Path) -> None:
    [quake] = decode_bmkg((fixtures_dir / "bmkg/autogempa_2021-10-05_dompu.json").read_bytes())
    assert quake.occurred_at == datetime(2021, 10, 5, 11, 0, 27, tzinfo=UTC)
    assert quake.location == Point(-8.15, 118.10)
    assert quake.magnitude == 4.5 and quake.depth_km == 20
    region, alert = quake_alert(quake, utc_now())
    assert region is None  # Dompu is in NTB, not Jambi
    assert alert.category is AlertCategory.GEO and alert.issuer == "BMKG"
    event = DisasterAlertEvent(
        id=new_event_id(), source="bmkg", occurred_at=quake.occurred_at, received_at=utc_now(),
        location=quake.location, payload=alert,
    )
    assert msgspec.json.decode(msgspec.json.encode(event), type=Event) == event


def test_bmkg_feeds_with_fifteen_quakes_decode(fixtures_dir: Path) -> None:
    for name in ("gempaterkini_2021-12-14_flores_M7.4_with_duplicates.json",
                 "derived_gempadirasakan_2025-06-17.json"):
        assert len(decode_bmkg((fixtures_dir / "bmkg" / name).read_bytes())) == 15
    flores = decode_bmkg(
        (fixtures_dir / "bmkg/gempaterkini_2021-12-14_flores_M7.4_with_duplicates.json").read_bytes())
    big = [q for q in flores if q.magnitude == 7.4]
    assert len(big) == 3  # the feed repeats it; deduplication is the connector's job
    assert all(quake_alert(q, utc_now())[1].severity is Severity.EXTREME for q in big)  # tsunami
    assert big[0].location == Point(-7.59, 122.24)


def test_permit_statuses_follow_oss_lampiran_10(fixtures_dir: Path) -> None:
    text = (fixtures_dir / "oss/oss_pia_lampiran_footer.md").read_text()
    section = text.split("Lampiran 10")[1].split("Lampiran 11")[0]
    rows = re.findall(r"^\|\s*(\d+)\s*\|\s*([^|]+?)\s*\|", section, re.M)
    codes = {int(code): name for code, name in rows}
    assert {s.value for s in PermitStatus} == set(codes)
    for status, name in PERMIT_STATUS_NAMES.items():
        assert codes[status.value].startswith(name), (status, codes[status.value])


def test_envelope_rejects_naive_times_and_bad_points() -> None:
    event = CitizenReportEvent(
        id=new_event_id(), source="t", occurred_at=utc_now(), received_at=utc_now(),
        region=Region.KOTA_JAMBI,
        payload=CitizenReport(channel="web", category="infrastruktur",  # type: ignore[arg-type]
                              title="Jalan rusak", text="Jalan berlubang di Jl. Sudirman"),
    )
    raw = msgspec.json.encode(event)
    assert msgspec.json.decode(raw, type=Event) == event
    naive = raw.replace(b'Z"', b'"', 1)
    with pytest.raises(msgspec.ValidationError, match="timezone"):
        msgspec.json.decode(naive, type=Event)
    far = msgspec.json.encode({**msgspec.json.decode(raw), "location": {"lat": 95, "lon": 0}})
    with pytest.raises(msgspec.ValidationError, match=r"\$\.location\.lat"):
        msgspec.json.decode(far, type=Event)


def test_topic_catalogue_names_every_stage() -> None:
    names = {spec.name for spec in catalogue(6)}
    assert {"posko.raw.citizen_report", "posko.events.disaster_alert", "posko.alerts",
            "posko.dlq", "posko.signals", "posko.incidents", "posko.escalations", "posko.commands",
            "posko.desk", "posko.audit", "posko.ranking"} <= names
    # Correlation's and the desk's topics have one partition (incidents cross kabupaten; commands
    # are decided in one order); the rest follow the setting.
    single = {"posko.signals", "posko.incidents", "posko.escalations", "posko.commands", "posko.desk",
              "posko.audit", "posko.ranking"}
    assert all(spec.partitions == (1 if spec.name in single else 6) for spec in catalogue(6))


def test_occurred_at_far_from_now_is_implausible_with_a_reason() -> None:
    from datetime import UTC, datetime, timedelta

    from schemas.events import occurred_at_problem

    now = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)
    assert occurred_at_problem(now, now) is None
    assert occurred_at_problem(now + timedelta(minutes=10), now) is None  # clock skew
    assert occurred_at_problem(datetime(2001, 5, 1, tzinfo=UTC), now) is None
    assert "future" in (occurred_at_problem(datetime(9999, 12, 31, tzinfo=UTC), now) or "")
    assert "future" in (occurred_at_problem(now + timedelta(hours=1), now) or "")
    assert "before 2000" in (occurred_at_problem(datetime(1900, 1, 1, tzinfo=UTC), now) or "")
