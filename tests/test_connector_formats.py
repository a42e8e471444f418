"""The connectors' formats against the real files in shared/fixtures: BMKG, CAP 1.2, OSS-RBA, the dry run."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import msgspec
import pytest
from click.testing import CliRunner
from lxml import etree

from connectors.bmkg.quakes import QuakeBook
from connectors.cap.importer import CapImporter
from connectors.check import FileFormat, recognise
from connectors.oss.permits import LicenseStatusPush, NibPush, OssError, PermitBook
from posko.cli import main
from schemas.bmkg import BmkgFormatError, decode_bmkg, quake_alert
from schemas.cap import (
    CapError,
    alert_id,
    atom_feed,
    cap12_schema,
    embedded_alerts,
    export_alert,
    parse_xml,
    read_alert,
)
from schemas.events import (
    DisasterAlertEvent,
    MsgType,
    PermitStatus,
    Point,
    Region,
    Severity,
    Urgency,
    utc_now,
)
from schemas.usgs import UsgsFormatError, decode_usgs, parse_area

NOW = datetime(2026, 11, 28, 3, 0, 0, tzinfo=UTC)
FLORES = "bmkg/gempaterkini_2021-12-14_flores_M7.4_with_duplicates.json"
KERINCI_QUAKE = (b'{"Infogempa":{"gempa":{"DateTime":"2026-11-27T21:14:05+00:00",'
                 b'"Coordinates":"-1.90,101.30","Lintang":"1.90 LS","Bujur":"101.30 BT",'
                 b'"Magnitude":"5.2","Kedalaman":"12 km",'
                 b'"Wilayah":"Pusat gempa berada di darat 10 km BaratLaut Sungai Penuh",'
                 b'"Potensi":"Tidak berpotensi tsunami","Dirasakan":"IV Sungai Penuh, III Kerinci"}}}')


def _cap_files(fixtures_dir: Path) -> list[Path]:
    return sorted((fixtures_dir / "cap").glob("*.xml"))


# --- BMKG ------------------------------------------------------------------------------------


def test_each_bmkg_format_puts_the_epicentre_in_the_right_order(fixtures_dir: Path) -> None:
    [ternate] = decode_bmkg((fixtures_dir / "bmkg/autogempa_2021-10-04_ternate.xml").read_bytes())
    assert ternate.location == Point(1.04, 126.96)  # Lintang 1.04 LU, Bujur 126.96 BT
    assert ternate.occurred_at == datetime(2021, 10, 4, 10, 59, 19, tzinfo=UTC)
    assert (ternate.magnitude, ternate.depth_km, ternate.mmi) == (4.7, 17, 3)
    [dompu] = decode_bmkg((fixtures_dir / "bmkg/autogempa_2021-10-05_dompu.json").read_bytes())
    assert dompu.location == Point(-8.15, 118.10)  # Coordinates "-8.15,118.10" is lat,lon
    [inatews] = decode_bmkg(
        (fixtures_dir / "bmkg/inatews_datagempa_2023-04-25_tsunami_PD1_M7.3.json").read_bytes())
    assert inatews.location == Point(-0.93, 98.39)  # point "98.39,-0.93" is lon,lat
    assert inatews.occurred_at == datetime(2023, 4, 24, 20, 0, 57, tzinfo=UTC)  # 03:00:57 WIB
    assert inatews.tsunami and inatews.depth_km == 84
    region, alert = quake_alert(inatews, NOW)
    assert region is None and alert.severity is Severity.EXTREME and alert.urgency is Urgency.IMMEDIATE
    assert alert.distance_km is not None and 200 < alert.distance_km < 400  # off Mentawai
    assert "WASPADA SUMUT NIAS-SELATAN PULAU TANABALA" in alert.description


def test_felt_reports_give_the_highest_mmi(fixtures_dir: Path) -> None:
    quakes = decode_bmkg((fixtures_dir / "bmkg/derived_gempadirasakan_2025-06-17.json").read_bytes())
    by_time = {q.occurred_at: q for q in quakes}
    assert by_time[datetime(2025, 6, 12, 17, 49, 43, tzinfo=UTC)].mmi == 4  # III-IV Situbondo
    assert by_time[datetime(2025, 6, 17, 14, 6, 16, tzinfo=UTC)].mmi == 3  # II - III Seluma


def test_quake_inside_jambi_gets_its_region_and_no_distance() -> None:
    [quake] = decode_bmkg(KERINCI_QUAKE)
    region, alert = quake_alert(quake, NOW)
    assert region is Region.KERINCI
    assert alert.area.regions == [Region.KERINCI] and alert.distance_km is None
    assert alert.severity is Severity.MODERATE


def test_flores_duplicates_become_one_alert(fixtures_dir: Path) -> None:
    book = QuakeBook()
    events = book.record(decode_bmkg((fixtures_dir / FLORES).read_bytes()), NOW)
    assert len(events) == 12  # 15 entries: the M7.4 three times, and its first M7.5 solution
    flores = [e for e in events if e.payload.magnitude and e.payload.magnitude >= 7]
    assert len(flores) == 1
    [quake] = flores
    assert quake.occurred_at == datetime(2021, 12, 14, 3, 20, 23, tzinfo=UTC)
    assert quake.location == Point(-7.59, 122.24) and quake.payload.magnitude == 7.4
    assert quake.payload.severity is Severity.EXTREME
    assert book.record(decode_bmkg((fixtures_dir / FLORES).read_bytes()), NOW + timedelta(minutes=1)) == []


def test_same_quake_in_another_feed_updates_the_alert(fixtures_dir: Path, tmp_path: Path) -> None:
    book = QuakeBook(tmp_path / "book.json")
    [first] = [e for e in book.record(decode_bmkg((fixtures_dir / FLORES).read_bytes()), NOW)
               if e.payload.magnitude == 7.4]
    book.save()
    felt = (b'<Infogempa><gempa><DateTime>2021-12-14T03:20:23+00:00</DateTime><point><coordinates>'
            b'122.24,-7.59</coordinates></point><Magnitude>7.4</Magnitude><Kedalaman>10 km</Kedalaman>'
            b'<Wilayah>113 km BaratLaut LARANTUKA-NTT</Wilayah><Dirasakan>V Larantuka</Dirasakan>'
            b'</gempa></Infogempa>')
    reopened = QuakeBook(tmp_path / "book.json")  # a restarted poller keeps the ids
    [update] = reopened.record(decode_bmkg(felt), NOW + timedelta(minutes=1))
    assert update.id == first.id
    assert update.payload.sent == NOW + timedelta(minutes=1)
    assert "V Larantuka" in update.payload.description
    assert "Potensi tsunami" in update.payload.description  # kept from the earlier feed


USGS = "usgs/significant_month_2023-10-11.geojson"
# BMKG's report of the USGS fixture's M6.4 off Sarangani (us6000lcri, 2023-10-04 11:21:48.436 UTC,
# 5.3416 N 126.0595 E, 121.7 km, mww): no BMKG fixture has a quake USGS's has, so this one is
# built from the USGS values the way BMKG's solutions differ from USGS's (2 s later, 10 km away,
# its own magnitude type and depth), in the autogempa JSON envelope.
SARANGANI_BMKG = (b'{"Infogempa":{"gempa":{"Tanggal":"04 Okt 2023","Jam":"18:21:50 WIB",'
                  b'"DateTime":"2023-10-04T11:21:50+00:00","Coordinates":"5.40,126.13","Lintang":"5.40 LU",'
                  b'"Bujur":"126.13 BT","Magnitude":"6.1","Kedalaman":"110 km",'
                  b'"Wilayah":"Pusat gempa berada di laut 155 km BaratLaut Melonguane",'
                  b'"Potensi":"Tidak berpotensi tsunami","Dirasakan":"III Melonguane"}}}')


def test_usgs_feed_gives_one_alert_per_quake_inside_the_area(fixtures_dir: Path) -> None:
    data = (fixtures_dir / USGS).read_bytes()
    everywhere = decode_usgs(data)
    assert (len(everywhere.sightings), everywhere.outside, everywhere.not_quakes) == (18, 0, 0)
    assert len(QuakeBook().record(everywhere.sightings, NOW)) == 18  # 18 distinct quakes
    feed = decode_usgs(data, parse_area("90,-15,145,10"))
    assert (len(feed.sightings), feed.outside) == (1, 17)
    [quake] = QuakeBook().record(feed.sightings, NOW)
    assert quake.source == "usgs" and quake.payload.issuer == "USGS"
    assert quake.occurred_at == datetime(2023, 10, 4, 11, 21, 48, 436000, tzinfo=UTC)  # epoch ms
    assert quake.location == Point(5.3416, 126.0595) and quake.payload.depth_km == 121.7
    assert quake.payload.magnitude == 6.4 and quake.payload.severity is Severity.SEVERE
    assert quake.payload.headline == "Gempa M6.4 66 km E of Sarangani, Philippines"
    assert "Magnitudo 6.4 (mww) menurut USGS. Tingkat PAGER USGS: green." in quake.payload.description
    assert quake.region is None and quake.payload.distance_km is not None and quake.payload.distance_km > 1500
    with pytest.raises(UsgsFormatError, match="FeatureCollection"):
        decode_usgs(b'{"type":"Feature","features":[]}')
    with pytest.raises(ValueError, match="min_lon,min_lat,max_lon,max_lat"):
        parse_area("90,-15,145")


def test_same_quake_from_bmkg_and_usgs_is_one_alert_in_bmkg_terms(fixtures_dir: Path) -> None:
    usgs = decode_usgs((fixtures_dir / USGS).read_bytes(), parse_area("90,-15,145,10")).sightings
    bmkg = decode_bmkg(SARANGANI_BMKG)
    book = QuakeBook()
    [first] = book.record(usgs, NOW)
    [update] = book.record(bmkg, NOW + timedelta(minutes=1))  # BMKG's report replaces USGS's values
    assert update.id == first.id and update.source == "bmkg" and update.payload.issuer == "BMKG"
    assert update.payload.magnitude == 6.1 and "Melonguane" in update.payload.headline
    assert "USGS" not in update.payload.description
    assert book.record(usgs, NOW + timedelta(minutes=2)) == []  # USGS again: BMKG's alert stands
    # Both in one poll (BMKG's feeds come first), and the other way round: one alert each time.
    for sightings in ([*bmkg, *usgs], [*usgs, *bmkg]):
        [alert] = QuakeBook().record(sightings, NOW)
        assert alert.payload.issuer == "BMKG" and alert.payload.magnitude == 6.1
    # An M4 aftershock within the same minute and 100 km is a quake of its own.
    aftershock = msgspec.structs.replace(bmkg[0], magnitude=4.2, occurred_at=bmkg[0].occurred_at
                                         + timedelta(seconds=20), location=Point(5.45, 126.2))
    assert len(QuakeBook().record([*bmkg, aftershock], NOW)) == 2


def test_check_says_how_many_usgs_quakes_it_skipped_and_why(fixtures_dir: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["connectors", "check", str(fixtures_dir / USGS)],
                                env={"POSKO_HOME": str(tmp_path)})
    assert result.exit_code == 0, result.stderr
    assert ("USGS GeoJSON, 1 reports of 1 new or changed earthquakes; skipped 17 outside "
            "POSKO_USGS_AREA (90,-15,145,10) → 1 event(s)") in result.stderr
    [line] = [line for line in result.stdout.splitlines() if line.startswith("{")]
    assert msgspec.json.decode(line, type=DisasterAlertEvent).payload.issuer == "USGS"


def test_unreadable_bmkg_document_says_why() -> None:
    with pytest.raises(BmkgFormatError, match="Magnitude"):
        decode_bmkg(b'{"Infogempa":{"gempa":{"DateTime":"2021-10-05T11:00:27+00:00",'
                    b'"Coordinates":"-8.15,118.10","Magnitude":"besar","Kedalaman":"20 km"}}}')


# --- CAP 1.2 ---------------------------------------------------------------------------------


def test_bundled_cap_schema_is_the_fixture_file(fixtures_dir: Path) -> None:
    bundled = Path(__file__).resolve().parents[1] / "schemas/data/cap12.xsd"
    assert bundled.read_bytes() == (fixtures_dir / "cap/cap12.xsd").read_bytes()


def test_every_cap_fixture_imports_with_its_values(fixtures_dir: Path) -> None:
    events = {}
    for path in _cap_files(fixtures_dir):
        [element] = embedded_alerts(parse_xml(path.read_bytes()))
        message = read_alert(element, NOW)
        assert message.event is not None, path.name
        events[path.name] = message.event
    banten = events["bmkg_nowcast_cap_banten_2026-02-16.xml"]
    assert banten.occurred_at == datetime(2026, 2, 16, 16, 0, tzinfo=UTC)  # effective 23:00 WIB
    assert banten.payload.severity is Severity.MODERATE and len(banten.payload.area.polygons) == 2
    assert banten.payload.area.polygons[0][0] == Point(-5.981, 105.994)  # "lat,lon" pairs
    gdacs = events["gdacs_EQ_1279931_alert.xml"]
    assert (gdacs.payload.magnitude, gdacs.payload.depth_km) == (4.6, 19.09)
    assert gdacs.payload.sent == datetime(2021, 8, 3, 5, 28, 23, tzinfo=UTC)
    nws = events["oasiscap_nws-5c2cf27b1f56885d61654dc47fa411d5.xml"]  # CAP 1.1, read as 1.2
    assert nws.payload.severity is Severity.SEVERE and nws.payload.event == "Blizzard Warning"
    update = events["oasiscap_v1dot2_appendix_adot3.xml"]
    assert update.payload.msg_type is MsgType.UPDATE
    assert update.id == alert_id("trinet@caltech.edu", "TRI13970876.1")  # the referenced alert
    assert update.location == Point(32.9525, -115.5527)
    amber = events["oasiscap_v1dot2_appendix_adot4.xml"]
    assert amber.payload.headline == "Amber Alert in Los Angeles County"  # en-US info chosen


def test_invalid_cap_is_refused_with_the_schema_reason(fixtures_dir: Path) -> None:
    data = (fixtures_dir / "cap/oasiscap_v1dot2_appendix_adot1.xml").read_bytes()
    broken = data.replace(b"<sender>hsas@dhs.gov</sender>", b"")
    with pytest.raises(CapError, match=r"not a valid CAP 1\.2 alert.*sender"):
        read_alert(parse_xml(broken), NOW)
    with pytest.raises(CapError, match="Ack message"):
        read_alert(parse_xml(data.replace(b"<msgType>Alert</msgType>", b"<msgType>Ack</msgType>")), NOW)
    with pytest.raises(CapError, match=r"CAP 1\.1 that is not valid as 1\.2"):
        nws = (fixtures_dir / "cap/oasiscap_nws-5c2cf27b1f56885d61654dc47fa411d5.xml").read_bytes()
        read_alert(parse_xml(nws.replace(b"<urgency>Expected</urgency>", b"")), NOW)


def _all_alerts(fixtures_dir: Path) -> list[DisasterAlertEvent]:
    alerts = []
    for path in _cap_files(fixtures_dir):
        message = read_alert(parse_xml(path.read_bytes()), NOW)
        assert message.event is not None
        alerts.append(message.event)
    book = QuakeBook()
    for path in sorted((fixtures_dir / "bmkg").iterdir()):
        alerts += book.record(decode_bmkg(path.read_bytes()), NOW)
    alerts += book.record(decode_bmkg(KERINCI_QUAKE), NOW)
    return alerts


def test_exported_cap_validates_and_imports_as_the_same_alert(fixtures_dir: Path) -> None:
    alerts = _all_alerts(fixtures_dir)
    assert len(alerts) == 31 + 7  # quakes after dedup (with Kerinci), CAP alerts
    for event in alerts:
        document = export_alert(event, "pusdalops@jambiprov.go.id")
        assert cap12_schema().validate(etree.fromstring(document)), (event.id, cap12_schema().error_log)
        again = read_alert(parse_xml(document), event.received_at, source=event.source).event
        assert again == event


def test_atom_feed_embeds_every_alert_as_valid_cap(fixtures_dir: Path) -> None:
    alerts = _all_alerts(fixtures_dir)
    feed = atom_feed(alerts, "pusdalops@jambiprov.go.id", "http://x/v1/cap/alerts.atom",
                     "http://x/v1/cap/alerts/{id}.xml")
    imported = CapImporter().read(feed, NOW)
    assert imported.problems == []
    assert {e.id: e.payload for e in imported.events} == {e.id: e.payload for e in alerts}


def test_update_and_cancel_change_the_imported_alert(fixtures_dir: Path) -> None:
    importer = CapImporter()
    original = (fixtures_dir / "cap/bmkg_nowcast_cap_banten_2026-02-16.xml").read_bytes()
    [alert] = importer.read(original, NOW).events
    assert importer.read(original, NOW).unchanged == 1  # read again: nothing new
    reference = b"<references>cuaca.ekstrem@bmkg.go.id,2.49.0.1.360.0.2026.02.16.16.36.004," \
                b"2026-02-16T22:50:00+07:00</references>\n  <info>"
    update = (original.replace(b"<msgType>Alert</msgType>", b"<msgType>Update</msgType>")
              .replace(b"<identifier>2.49.0.1.360.0.2026.02.16.16.36.004", b"<identifier>upd-1")
              .replace(b"<sent>2026-02-16T22:50:00+07:00", b"<sent>2026-02-16T23:20:00+07:00")
              .replace(b"<severity>Moderate", b"<severity>Severe").replace(b"<info>", reference, 1))
    [updated] = importer.read(update, NOW).events
    assert updated.id == alert.id and updated.payload.severity is Severity.SEVERE
    cancel = (b'<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>cancel-1</identifier>'
              b"<sender>cuaca.ekstrem@bmkg.go.id</sender><sent>2026-02-16T23:40:00+07:00</sent>"
              b"<status>Actual</status><msgType>Cancel</msgType><scope>Public</scope>"
              b"<references>cuaca.ekstrem@bmkg.go.id,2.49.0.1.360.0.2026.02.16.16.36.004,"
              b"2026-02-16T22:50:00+07:00 cuaca.ekstrem@bmkg.go.id,upd-1,2026-02-16T23:20:00+07:00"
              b"</references></alert>")
    [cancelled] = importer.read(cancel, NOW).events
    assert cancelled.id == alert.id and cancelled.payload.msg_type is MsgType.CANCEL
    assert cancelled.payload.severity is Severity.SEVERE  # the info of the version it calls off
    assert importer.read(original, NOW).unchanged == 1  # the older version does not come back
    unknown = CapImporter().read(cancel, NOW)
    assert unknown.events == [] and "nothing to cancel" in unknown.problems[0]


# --- OSS-RBA ---------------------------------------------------------------------------------


NIB = {"dataNIB": {"nib": "9120001234567", "jenis_pelaku_usaha": "01", "kd_daerah": "1571",
                   "data_proyek": [{"id_proyek": "P-1", "kbli": "47111",
                                    "data_lokasi_proyek": [{"proyek_daerah_id": "1501012001"}]}],
                   "data_checklist": [{"id_izin": "I-2026-0001", "kd_izin": "032000000001",
                                       "nama_izin": "Sertifikat Standar Usaha Toko Swalayan"}]}}


def _status(code: str, at: str) -> LicenseStatusPush:
    template = {"IZINSTATUS": {"nib": "9120001234567", "id_izin": "I-2026-0001", "kd_status": code,
                               "tgl_status": at, "keterangan": f"status {code}"}}
    return msgspec.convert(template, LicenseStatusPush)


def test_oss_fixture_templates_decode(fixtures_dir: Path) -> None:
    push = msgspec.json.decode((fixtures_dir / "oss/receiveLicenseStatus_request_template.json").read_bytes(),
                               type=LicenseStatusPush)
    assert push.izin_status.kd_status == ""
    msgspec.json.decode((fixtures_dir / "oss/receiveNIB_request_template.json").read_bytes(), type=NibPush)


def test_sla_clock_follows_the_status_codes() -> None:
    book = PermitBook(sla_hours=120)
    assert book.register(msgspec.convert(NIB, NibPush)) == ["I-2026-0001"]
    start = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # 09:00 WIB

    def deadline(code: int, wib: str) -> datetime | None:
        event = book.status(_status(str(code), wib), NOW)
        assert event.payload.status is PermitStatus(code) and event.region is Region.KERINCI
        return event.payload.sla_deadline

    assert deadline(10, "2026-03-02 09:00:00") == start + timedelta(hours=120)
    assert deadline(41, "2026-03-02 19:00:00") is None  # stopped after 10 h
    assert deadline(42, "2026-03-03 05:00:00") == start + timedelta(hours=20 + 110)  # resumed
    assert deadline(43, "2026-03-04 09:00:00") is None
    assert deadline(44, "2026-03-05 09:00:00") == start + timedelta(hours=72 + 120)  # from zero
    assert deadline(50, "2026-03-06 09:00:00") is None  # decided


def test_oss_status_of_an_unregistered_licence_says_what_to_send() -> None:
    with pytest.raises(OssError, match="send that, then this status again"):
        PermitBook(sla_hours=120).status(_status("10", "2026-03-02 09:00:00"), NOW)
    book = PermitBook(sla_hours=120)
    book.register(msgspec.convert(NIB, NibPush))
    with pytest.raises(OssError, match="Lampiran 10"):
        book.status(_status("99", "2026-03-02 09:00:00"), NOW)


# --- The dry run -----------------------------------------------------------------------------


def test_check_recognises_each_fixture_format(fixtures_dir: Path) -> None:
    expected = {
        "bmkg/autogempa_2021-10-04_ternate.xml": FileFormat.BMKG_XML,
        "bmkg/autogempa_2021-10-05_dompu.json": FileFormat.BMKG_JSON,
        "bmkg/inatews_datagempa_2023-04-25_tsunami_PD1_M7.3.json": FileFormat.INATEWS,
        "cap/gdacs_EQ_1279931_alert.xml": FileFormat.CAP_ALERT,
        "usgs/significant_month_2023-10-11.geojson": FileFormat.USGS,
        "oss/receiveLicenseStatus_request_template.json": FileFormat.OSS_STATUS,
        "oss/receiveNIB_request_template.json": FileFormat.OSS_NIB,
        "cap/cap12.xsd": None,
        "regions/jambi_kode_wilayah_crosswalk.csv": None,
    }
    for name, fmt in expected.items():
        assert recognise((fixtures_dir / name).read_bytes()) == fmt, name


def test_check_prints_one_line_per_event_and_explains_the_rest(fixtures_dir: Path, tmp_path: Path) -> None:
    feed = tmp_path / "feed.atom"
    feed.write_bytes(atom_feed(_all_alerts(fixtures_dir)[:3], "a@b", "http://x/f", "http://x/{id}"))
    files = [*sorted((fixtures_dir / "bmkg").iterdir()), *_cap_files(fixtures_dir),
             fixtures_dir / "oss/receiveLicenseStatus_request_template.json", feed]
    result = CliRunner().invoke(main, ["connectors", "check", *map(str, files)],
                                env={"POSKO_HOME": str(tmp_path)})
    assert result.exit_code == 1  # the OSS template has empty values
    lines = [line for line in result.stdout.splitlines() if line.startswith("{")]
    events = [msgspec.json.decode(line, type=DisasterAlertEvent) for line in lines]
    assert len(events) == len({e.id for e in events}) == 30 + 7  # quakes after dedup, CAP alerts
    assert "kd_status '' is not a status code of Lampiran 10" in result.stderr
    assert "CAP 1.1 (read as CAP 1.2)" in result.stderr
    assert "15 reports of 12 new or changed earthquakes" in result.stderr
    assert utc_now() > max(e.received_at for e in events) - timedelta(minutes=1)


NOWCAST_RSS = Path(__file__).parent / "fixtures" / "bmkg_nowcast_rss_2026-02-16.xml"


def test_check_says_how_many_cap_documents_an_rss_feed_links_to(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["connectors", "check", str(NOWCAST_RSS)],
                                env={"POSKO_HOME": str(tmp_path)})
    assert result.exit_code == 0, result.stderr
    assert ("CAP feed (Atom/RSS), links to 3 CAP document(s) and embeds none: a dry run does not "
            "fetch them (posko connectors cap URL imports them) → 0 event(s)") in result.stderr


def test_check_with_an_area_says_how_many_alerts_fall_outside_it(fixtures_dir: Path, tmp_path: Path) -> None:
    banten = fixtures_dir / "cap/bmkg_nowcast_cap_banten_2026-02-16.xml"
    result = CliRunner().invoke(main, ["connectors", "check", str(banten)],
                                env={"POSKO_HOME": str(tmp_path), "POSKO_CAP_AREA": "15"})
    assert result.exit_code == 0, result.stderr
    assert "CAP 1.2; 1 outside POSKO_CAP_AREA → 0 event(s)" in result.stderr
    wrong = CliRunner().invoke(main, ["connectors", "check", str(banten)],
                               env={"POSKO_HOME": str(tmp_path), "POSKO_CAP_AREA": "16"})
    assert wrong.exit_code == 1 and "'16' is not a Kemendagri code of Jambi" in wrong.output


# --- The versioned insert's benchmark ---------------------------------------------------------


def test_alert_versions_bench_runs_and_keeps_one_row_per_alert(capsys: pytest.CaptureFixture[str]) -> None:
    from bench.alert_versions import Result, run_alert_versions_bench

    run_alert_versions_bench(batches=2, batch_rows=50)  # asserts one row per alert after updates
    result = msgspec.json.decode(capsys.readouterr().out, type=Result)
    assert result.baseline_insert_new_rows_per_s > 0 and result.ratio_updates > 0
