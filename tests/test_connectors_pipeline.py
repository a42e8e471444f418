"""BMKG and CAP fixtures through their connectors, the real broker, worker and sink, into ClickHouse rows;
the connectors' HTTP service (CAP feed, CAP push, OSS-RBA) as a real process."""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import msgspec
import pytest
from lxml import etree

from connectors.bmkg.poller import PollReport, run_bmkg
from connectors.cap.importer import import_sources
from posko.net import free_port
from posko.settings import Settings, load_settings
from schemas.cap import alert_id, cap12_schema, parse_xml, read_alert
from tests.conftest import Stack, running_stack, settle, wait_for
from tests.test_connector_formats import KERINCI_QUAKE, SARANGANI_BMKG, USGS

BMKG_FILES = {
    "autogempa.json": "autogempa_2021-10-05_dompu.json",
    "autogempa.xml": "autogempa_2021-10-04_ternate.xml",
    "gempaterkini.json": "gempaterkini_2021-12-14_flores_M7.4_with_duplicates.json",
    "gempadirasakan.json": "derived_gempadirasakan_2025-06-17.json",
    "datagempa.json": "inatews_datagempa_2023-04-25_tsunami_PD1_M7.3.json",
}
FLORES_FELT = (b'{"Infogempa":{"gempa":{"DateTime":"2021-12-14T03:20:23+00:00","Coordinates":"-7.59,122.24",'
               b'"Magnitude":"7.4","Kedalaman":"10 km","Wilayah":"113 km BaratLaut LARANTUKA-NTT",'
               b'"Dirasakan":"V Larantuka, IV Maumere"}}}')
BANTEN = "2.49.0.1.360.0.2026.02.16.16.36.004"
BANTEN_REF = f"cuaca.ekstrem@bmkg.go.id,{BANTEN},2026-02-16T22:50:00+07:00"
CANCEL = (f'<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>cancel-1</identifier>'
          f"<sender>cuaca.ekstrem@bmkg.go.id</sender><sent>2026-02-16T23:40:00+07:00</sent>"
          f"<status>Actual</status><msgType>Cancel</msgType><scope>Public</scope>"
          f"<references>{BANTEN_REF}</references></alert>").encode()


class Mirror:
    """A real HTTP server standing in for BMKG: serves documents with ETag and Last-Modified."""

    def __init__(self, documents: dict[str, bytes]) -> None:
        self.documents = documents
        self.requests: list[tuple[str, dict[str, str], int]] = []
        mirror = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                data = mirror.documents.get(self.path.lstrip("/"))
                if data is None:
                    self.send_error(404)
                    mirror.requests.append((self.path, dict(self.headers), 404))
                    return
                etag = '"' + hashlib.sha1(data).hexdigest() + '"'
                modified = formatdate(1_700_000_000 + len(data), usegmt=True)
                fresh = (self.headers.get("If-None-Match") == etag
                         and self.headers.get("If-Modified-Since") == modified)
                mirror.requests.append((self.path, dict(self.headers), 304 if fresh else 200))
                self.send_response(304 if fresh else 200)
                self.send_header("ETag", etag)
                self.send_header("Last-Modified", modified)
                self.send_header("Content-Length", "0" if fresh else str(len(data)))
                self.end_headers()
                if not fresh:
                    self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        """Stop serving."""
        self.server.shutdown()
        self.server.server_close()


class Landed(msgspec.Struct):
    """The module's one run: what the connectors reported, and the stack the events went through."""

    stack: Stack
    settings: Settings
    polls: list[PollReport]
    mirror_requests: list[tuple[str, dict[str, str], int]]


def _rows(stack: Stack, sql: str) -> list[list[str]]:
    return [line.split("\t") for line in stack.sql(sql).splitlines() if line]


@pytest.fixture(scope="module")
def landed(kafka_env: dict[str, str], fixtures_dir: Path,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[Landed]:
    """Three BMKG polls (new, unchanged, one quake felt) and every CAP fixture plus an Update and Cancel."""
    home = tmp_path_factory.mktemp("connectors")
    documents = {name: (fixtures_dir / "bmkg" / file).read_bytes() for name, file in BMKG_FILES.items()}
    documents["gempaterkini.xml"] = KERINCI_QUAKE  # served under an XML name: read by content
    mirror = Mirror(documents)
    with running_stack(kafka_env, home) as stack:
        settings = load_settings({
            **stack.env, "POSKO_HOME": str(home / "state"), "POSKO_BMKG_URL": mirror.url,
            "POSKO_BMKG_FEEDS": "autogempa.json,autogempa.xml,gempaterkini.json,gempadirasakan.json,"
                                "gempaterkini.xml",
            "POSKO_BMKG_INATEWS_URL": mirror.url + "datagempa.json",
        })
        try:
            polls = [asyncio.run(run_bmkg(settings, once=True)) for _ in range(2)]
            mirror.documents["autogempa.json"] = FLORES_FELT
            polls.append(asyncio.run(run_bmkg(settings, once=True)))
        finally:
            mirror.close()
        cap_files = [str(p) for p in sorted((fixtures_dir / "cap").glob("*.xml"))]
        first = asyncio.run(import_sources(settings, cap_files))
        assert (len(first.events), first.problems) == (7, [])
        update = (fixtures_dir / "cap/bmkg_nowcast_cap_banten_2026-02-16.xml").read_bytes()
        update = (update.replace(b"<msgType>Alert</msgType>", b"<msgType>Update</msgType>")
                  .replace(BANTEN.encode(), b"update-1")
                  .replace(b"<sent>2026-02-16T22:50:00", b"<sent>2026-02-16T23:20:00")
                  .replace(b"<severity>Moderate", b"<severity>Severe")
                  .replace(b"<info>", f"<references>{BANTEN_REF}</references><info>".encode(), 1))
        (home / "update.xml").write_bytes(update)
        (home / "cancel.xml").write_bytes(CANCEL)
        for name in ("update.xml", "cancel.xml"):  # one after the other: two versions on Kafka
            assert len(asyncio.run(import_sources(settings, [str(home / name)])).events) == 1
        wait_for(lambda: stack.count("SELECT count() FROM posko.disaster_alerts WHERE source = 'bmkg'") >= 31,
                 120, "the BMKG alerts in ClickHouse")
        wait_for(lambda: stack.sql(f"SELECT msg_type FROM posko.disaster_alerts WHERE id = "
                                   f"'{alert_id('cuaca.ekstrem@bmkg.go.id', BANTEN)}'") == "Cancel",
                 120, "the CAP Cancel in ClickHouse")
        wait_for(lambda: stack.count("SELECT count() FROM posko.disaster_alerts "
                                     "WHERE description LIKE '%V Larantuka%'") == 1, 120, "the Flores update")
        settle(stack)
        yield Landed(stack, settings, polls, mirror.requests)


def test_first_poll_publishes_every_quake_once(landed: Landed) -> None:
    first = landed.polls[0]
    assert len(first.fetched) == 6 and first.failed == {}
    assert first.published == 1 + 1 + 12 + 15 + 1 + 1  # Flores: 15 entries, 12 quakes


def test_unchanged_feeds_are_not_fetched_again(landed: Landed) -> None:
    second = landed.polls[1]
    assert len(second.not_modified) == 6 and second.published == 0
    later = [(path, headers, status) for path, headers, status in landed.mirror_requests[6:12]]
    assert all(status == 304 for _, _, status in later)
    assert all("If-None-Match" in headers and "If-Modified-Since" in headers for _, headers, _ in later)


def test_every_bmkg_quake_is_one_row_with_time_place_and_severity(landed: Landed) -> None:
    rows = _rows(landed.stack, "SELECT occurred_at, lat, lon, magnitude, depth_km, severity, urgency, "
                 "ifNull(region, '-'), isNull(distance_km) FROM posko.disaster_alerts WHERE source = 'bmkg' "
                 "ORDER BY occurred_at")
    assert len(rows) == 31
    found = {row[0]: row[1:] for row in rows}
    assert found["2021-10-04 10:59:19.000"] == ["1.04", "126.96", "4.7", "17", "Minor", "Past", "-", "0"]
    assert found["2021-10-05 11:00:27.000"] == ["-8.15", "118.1", "4.5", "20", "Minor", "Past", "-", "0"]
    assert found["2023-04-24 20:00:57.000"] == ["-0.93", "98.39", "7.3", "84", "Extreme", "Immediate", "-",
                                                "0"]
    assert found["2021-12-04 23:47:58.000"] == ["3.99", "128", "6.2", "156", "Severe", "Past", "-", "0"]
    assert found["2025-06-12 17:49:43.000"] == ["-7.87", "113.76", "3.6", "2", "Minor", "Past", "-", "0"]
    assert found["2026-11-27 21:14:05.000"] == ["-1.9", "101.3", "5.2", "12", "Moderate", "Past", "15.01",
                                                "1"]


def test_flores_duplicates_are_one_alert_updated_in_place(landed: Landed) -> None:
    rows = _rows(landed.stack, "SELECT id, occurred_at, lat, lon, magnitude, severity, urgency, description "
                 "FROM posko.disaster_alerts WHERE occurred_at BETWEEN '2021-12-14 03:19:00' "
                 "AND '2021-12-14 03:22:00'")
    assert len(rows) == 1
    [[event_id, occurred_at, lat, lon, magnitude, severity, urgency, description]] = rows
    assert (occurred_at, lat, lon, magnitude) == ("2021-12-14 03:20:23.000", "-7.59", "122.24", "7.4")
    assert (severity, urgency) == ("Extreme", "Immediate")
    assert "V Larantuka" in description and "Potensi tsunami" in description
    assert landed.polls[2].published == 1  # the third poll: only the felt report is new
    alert_rows = _rows(landed.stack, f"SELECT description FROM posko.alerts WHERE id = '{event_id}'")
    assert len(alert_rows) == 1 and "V Larantuka" in alert_rows[0][0]


def test_every_cap_fixture_lands_with_its_values(landed: Landed) -> None:
    rows = _rows(landed.stack, "SELECT headline, occurred_at, severity, msg_type, ifNull(magnitude, -1) "
                 "FROM posko.disaster_alerts WHERE source = 'cap' ORDER BY occurred_at")
    assert len(rows) == 7
    by_headline = {row[0]: row[1:] for row in rows}
    gdacs = next(v for k, v in by_headline.items() if k.startswith("Green earthquake alert"))
    assert gdacs == ["2021-08-03 05:28:23.000", "Minor", "Alert", "4.6"]
    blizzard = by_headline[next(k for k in by_headline if k.startswith("Blizzard Warning"))]
    assert blizzard[:3] == ["2021-12-27 16:08:00.000", "Severe", "Alert"]  # CAP 1.1
    assert by_headline["EQ 3.4 Imperial County CA"][2] == "Update"


def test_update_and_cancel_change_the_cap_alert(landed: Landed) -> None:
    banten = alert_id("cuaca.ekstrem@bmkg.go.id", BANTEN)
    rows = _rows(landed.stack,
                 f"SELECT severity, msg_type, sent FROM posko.disaster_alerts WHERE id = '{banten}'")
    assert rows == [["Severe", "Cancel", "2026-02-16 16:40:00.000"]]
    reasons = _rows(landed.stack, f"SELECT reason FROM posko.alerts WHERE id = '{banten}'")
    assert reasons == [["peringatan resmi Badan Meteorologi Klimatologi dan Geofisika (dibatalkan)"]]


@pytest.fixture(scope="module")
def service(landed: Landed, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`posko connectors serve` as a real process on a free port, with its base URL."""
    port = free_port()
    env = {**landed.stack.env, "POSKO_HOME": landed.settings.home, "POSKO_CONNECTORS_PORT": str(port)}
    log = (tmp_path_factory.mktemp("serve") / "serve.log").open("wb")
    process = subprocess.Popen([sys.executable, "-m", "posko.cli", "connectors", "serve"],
                               env={**os.environ, **env}, stdout=log,
                               stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"

    def answering() -> bool:
        try:
            return "alerts.atom" in httpx.get(f"{base}/v1/cap/alerts/{uuid.UUID(int=0)}.xml").text
        except httpx.HTTPError:
            return False

    try:
        wait_for(answering, 60, "posko connectors serve to answer")
        yield base
    finally:
        process.terminate()
        process.wait(30)
        log.close()


def test_atom_feed_carries_every_stored_alert_as_valid_cap(landed: Landed, service: str) -> None:
    assert httpx.get(f"{service}/v1/cap/alerts.atom?limit=0").status_code == 400
    response = httpx.get(f"{service}/v1/cap/alerts.atom?limit=1000")
    assert response.status_code == 200 and response.headers["content-type"].startswith("application/atom+xml")
    feed = parse_xml(response.content)
    alerts = feed.findall(".//{urn:oasis:names:tc:emergency:cap:1.2}alert")
    # Other tests' simulated alerts can be in this store too.
    assert len(alerts) == min(1000, landed.stack.count("SELECT count() FROM posko.disaster_alerts"))
    for alert in alerts:
        assert cap12_schema().validate(etree.ElementTree(alert)), cap12_schema().error_log
    imported = {m.event.id: m.event for m in (read_alert(a, datetime.now(UTC)) for a in alerts) if m.event}
    mine = _rows(landed.stack, "SELECT id, severity, msg_type FROM posko.disaster_alerts "
                 "WHERE source IN ('bmkg', 'cap')")
    assert len(mine) == 31 + 7
    for event_id, severity, msg_type in mine:
        payload = imported[uuid.UUID(event_id)].payload
        assert (payload.severity, payload.msg_type) == (severity, msg_type)


def test_one_alert_as_cap_and_unknown_alert_is_404(landed: Landed, service: str) -> None:
    banten = alert_id("cuaca.ekstrem@bmkg.go.id", BANTEN)
    response = httpx.get(f"{service}/v1/cap/alerts/{banten}.xml")
    assert response.status_code == 200
    message = read_alert(parse_xml(response.content), datetime.now(UTC))
    assert message.event is not None and message.event.id == banten
    assert message.msg_type == "Cancel"
    missing = httpx.get(f"{service}/v1/cap/alerts/{alert_id('x', 'y')}.xml")
    assert missing.status_code == 404 and "alerts.atom" in missing.text


def test_cap_push_refuses_bad_input_with_reasons(service: str) -> None:
    wrong_type = httpx.post(f"{service}/v1/cap/alerts", content=b"{}",
                            headers={"content-type": "application/json"})
    assert wrong_type.status_code == 415 and "application/cap+xml" in wrong_type.text
    empty_alert = b"<alert xmlns='urn:oasis:names:tc:emergency:cap:1.2'/>"
    invalid = httpx.post(f"{service}/v1/cap/alerts", content=empty_alert,
                         headers={"content-type": "application/cap+xml"})
    assert invalid.status_code == 400 and "not a valid CAP 1.2 alert" in invalid.text


def test_oss_status_push_lands_as_permit_filing_with_sla(landed: Landed, service: str) -> None:
    nib = {"dataNIB": {"nib": "9120001234567", "jenis_pelaku_usaha": "01", "kd_daerah": "1571",
                       "data_proyek": [{"kbli": "47111"}],
                       "data_checklist": [{"id_izin": "I-PIPE-1", "nama_izin": "Izin Usaha Toko"}]}}
    status = {"IZINSTATUS": {"nib": "9120001234567", "id_izin": "I-PIPE-1", "kd_status": "10",
                             "tgl_status": "2026-03-02 09:00:00", "keterangan": "Dokumen lengkap"}}
    unknown = httpx.post(f"{service}/v1/oss/receiveLicenseStatus", json=status)
    assert unknown.status_code == 400 and "receiveNIB" in unknown.text
    assert httpx.post(f"{service}/v1/oss/receiveNIB", json=nib).status_code == 200
    accepted = httpx.post(f"{service}/v1/oss/receiveLicenseStatus", json=status)
    assert accepted.status_code == 200
    assert accepted.json()["responreceiveLicenseStatus"]["sla_deadline"] == "2026-03-07T02:00:00+00:00"
    wait_for(lambda: landed.stack.sql("SELECT region, status, sla_deadline FROM posko.permit_filings "
                                      "WHERE permit_id = 'I-PIPE-1'") == "15.71\t10\t2026-03-07 02:00:00.000",
             120, "the permit filing in ClickHouse")




NOWCAST = Path(__file__).parent / "fixtures"
BMKG_NOWCAST = b"https://www.bmkg.go.id/alerts/nowcast/id/"
JAMBI_POLYGON = b"-1.58,103.55 -1.58,103.65 -1.65,103.65 -1.65,103.55 -1.58,103.55"


def _nowcast_over_jambi(banten: bytes) -> bytes:
    """BMKG's Banten nowcast moved over Kota Jambi (the fixtures hold no real Jambi nowcast)."""
    moved = re.sub(rb"<polygon>[^<]*</polygon>", b"", banten)
    return (moved.replace(BANTEN.encode(), b"derived-CJA20260216001")
            .replace(b"<areaDesc>Banten</areaDesc>", b"<areaDesc>Jambi</areaDesc><polygon>" + JAMBI_POLYGON
                     + b"</polygon>")
            .replace(b"wilayah Banten", b"wilayah Jambi").replace(b"Petir di Banten", b"Petir di Jambi"))


@pytest.fixture()
def nowcast_mirror(fixtures_dir: Path) -> Iterator[Mirror]:
    """BMKG's real nowcast RSS on a local server, its items linking to CAP documents beside it.

    Banten and Jawa Tengah are the real documents of the feed's first two items; Sumatera Utara's
    is missing (404); a fourth item, added, links by a relative URL to the Banten alert moved over
    Kota Jambi.
    """
    mirror = Mirror({})
    base = (mirror.url + "alerts/nowcast/id/").encode()
    feed = (NOWCAST / "bmkg_nowcast_rss_2026-02-16.xml").read_bytes().replace(BMKG_NOWCAST, base)
    feed = feed.replace(b"    </channel>", b"<item><title>Hujan Lebat disertai Petir di Jambi</title>"
                        b"<link>CJA20260216001_alert.xml</link></item>\n    </channel>")
    banten = (fixtures_dir / "cap/bmkg_nowcast_cap_banten_2026-02-16.xml").read_bytes()
    mirror.documents.update({
        "alerts/nowcast/id/rss.xml": feed,
        "alerts/nowcast/id/CBT20260216004_alert.xml": banten,
        "alerts/nowcast/id/CJG20260216005_alert.xml":
            (NOWCAST / "bmkg_nowcast_cap_jateng_2026-02-16.xml").read_bytes(),
        "alerts/nowcast/id/CJA20260216001_alert.xml": _nowcast_over_jambi(banten),
    })
    yield mirror
    mirror.close()


def test_rss_feed_of_cap_links_imports_the_linked_alerts_touching_the_area(
        landed: Landed, nowcast_mirror: Mirror, tmp_path: Path) -> None:
    feed = nowcast_mirror.url + "alerts/nowcast/id/rss.xml"
    jambi = alert_id("cuaca.ekstrem@bmkg.go.id", "derived-CJA20260216001")
    jateng = alert_id("cuaca.ekstrem@bmkg.go.id", "2.49.0.1.360.0.2026.02.16.16.45.005")
    env = {**landed.stack.env, "POSKO_HOME": str(tmp_path / "jambi"), "POSKO_CAP_AREA": "15"}
    done = _posko("connectors", "cap", feed, env=env)
    assert done.returncode == 1, done.stderr  # Sumatera Utara's document is missing
    assert ("1 alerts published, 0 already imported, 4 linked CAP documents followed, "
            "2 outside POSKO_CAP_AREA=15") in done.stdout
    assert "CSU20260216005_alert.xml: cannot fetch the linked alert" in done.stderr
    wait_for(lambda: _rows(landed.stack, f"SELECT region, headline FROM posko.disaster_alerts "
                                         f"WHERE id = '{jambi}'")
             == [["15.71", "Hujan Lebat disertai Petir di Jambi"]], 120,
             "the linked alert over Kota Jambi in ClickHouse")
    assert _rows(landed.stack, f"SELECT count() FROM posko.disaster_alerts WHERE id = '{jateng}'") == [["0"]]
    # Without an area every linked alert is kept.
    everything = _posko("connectors", "cap", feed, env={**env, "POSKO_HOME": str(tmp_path / "all"),
                                                        "POSKO_CAP_AREA": ""})
    assert "3 alerts published, 0 already imported, 4 linked CAP documents followed" in everything.stdout
    wait_for(lambda: landed.stack.count(f"SELECT count() FROM posko.disaster_alerts WHERE id = '{jateng}'")
             == 1, 120, "the linked Jawa Tengah alert in ClickHouse")


def test_usgs_feed_beside_bmkg_gives_one_alert_per_quake(landed: Landed, fixtures_dir: Path,
                                                         tmp_path: Path) -> None:
    mirror = Mirror({"autogempa.json": SARANGANI_BMKG,
                     "significant_month.geojson": (fixtures_dir / USGS).read_bytes()})
    env = {**landed.stack.env, "POSKO_HOME": str(tmp_path), "POSKO_BMKG_URL": mirror.url,
           "POSKO_BMKG_FEEDS": "autogempa.json", "POSKO_BMKG_INATEWS_URL": "",
           "POSKO_USGS_URL": mirror.url + "significant_month.geojson"}
    try:
        done = _posko("connectors", "bmkg", "--once", env=env)
        again = _posko("connectors", "bmkg", "--once", env=env)
    finally:
        mirror.close()
    assert done.returncode == 0, done.stderr
    assert ("2 fetched, 0 not modified, 0 failed, 1 alerts published, 17 USGS quakes outside "
            "POSKO_USGS_AREA") in done.stdout
    assert "0 fetched, 2 not modified, 0 failed, 0 alerts published" in again.stdout
    near = "WHERE abs(lat - 5.37) < 0.1 AND abs(lon - 126.1) < 0.1"
    alert = f"SELECT issuer, magnitude, source FROM posko.disaster_alerts {near}"
    wait_for(lambda: _rows(landed.stack, alert) == [["BMKG", "6.1", "bmkg"]], 120,
             "the one alert of the quake BMKG and USGS both reported")
    assert landed.stack.count(f"SELECT count() FROM posko.disaster_alerts FINAL {near}") == 1


def _posko(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "posko.cli", *args], capture_output=True, text=True,
                          env={**os.environ, **env}, timeout=300, check=False)


def test_bmkg_command_names_the_feeds_it_cannot_reach(kafka_env: dict[str, str], tmp_path: Path) -> None:
    nowhere = f"http://127.0.0.1:{free_port()}/"
    env = {**kafka_env, "POSKO_HOME": str(tmp_path), "POSKO_BMKG_URL": nowhere,
           "POSKO_BMKG_FEEDS": "autogempa.json", "POSKO_BMKG_INATEWS_URL": ""}
    done = _posko("connectors", "bmkg", "--once", env=env)
    assert done.returncode == 1
    assert "0 fetched, 0 not modified, 1 failed, 0 alerts published" in done.stdout
    assert f"{nowhere}autogempa.json" in done.stderr


def test_cap_command_explains_a_file_it_cannot_import(kafka_env: dict[str, str], tmp_path: Path,
                                                      fixtures_dir: Path) -> None:
    env = {**kafka_env, "POSKO_HOME": str(tmp_path)}
    done = _posko("connectors", "cap", str(fixtures_dir / "cap/cap12.xsd"), env=env)
    assert done.returncode == 1
    assert "the root element is <schema>: expected a CAP <alert>" in done.stderr
