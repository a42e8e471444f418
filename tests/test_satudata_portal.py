"""The Satu Data portal as a real process over the real pipeline, through a real CKAN client.

Reports carrying names, phone numbers, e-mails and NIK-like numbers in every field go through
the broker, worker and sink; the portal then answers ckanapi, frictionless, rdflib, shapely,
pyarrow and Chromium, and nothing personal comes out of any endpoint or download.
"""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import ckanapi
import frictionless
import httpx
import msgspec
import pyarrow.parquet as pq
import pytest
import rdflib
import rdflib.namespace as rdf
import shapely.geometry
from playwright.async_api import Browser, async_playwright, expect

from satudata.catalogue import Classification, catalogue
from schemas.events import ReportCategory, ReportStatus
from schemas.incidents import Hazard, IncidentStatus
from schemas.regions import Region
from tests.conftest import Stack, produce, running_stack, settle, wait_for
from tests.gateway_stack import screenshot_dir
from tests.incident_samples import next_version, publish_incidents, singleton_incident
from tests.satudata_stack import (
    AGENCY_TOKEN,
    MIN_COUNT,
    SECRETS,
    background_events,
    personal_report,
    portal,
    records,
    status_change,
)

REPORTS = "statistik-laporan-warga"
PUBLIC = sorted(d.name for d in catalogue().dataset if d.classification is Classification.PUBLIK)
RESTRICTED = "daftar-permohonan-izin"


class Portal(msgspec.Struct):
    """The running portal and the stack under it."""

    stack: Stack
    url: str
    ckan: ckanapi.RemoteCKAN
    agency: ckanapi.RemoteCKAN


@pytest.fixture(scope="module")
def site(kafka_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Portal]:
    """Data with personal details through worker and sink, then the portal over their store."""
    path = tmp_path_factory.mktemp("satudata")
    with running_stack(kafka_env, path) as stack:
        reports = [personal_report(Region.KOTA_JAMBI, ReportCategory.INFRASTRUKTUR, i) for i in range(8)]
        reports += [personal_report(Region.KERINCI, ReportCategory.KESEHATAN, i) for i in range(2)]
        reports += [personal_report(None, ReportCategory.LINGKUNGAN, 99)]  # placed by its location
        changes = [status_change(r, ReportStatus.DIDISPOSISIKAN) for r in reports[:2]]
        events = background_events() + reports
        asyncio.run(produce(stack.settings, records(events, changes)))
        wait_for(lambda: stack.count("SELECT count() FROM posko.citizen_reports") >= len(reports)
                 and stack.count("SELECT count() FROM posko.report_status_changes") >= len(changes), 120,
                 "the reports and status changes in ClickHouse")
        settle(stack)
        with portal(stack, path) as url:
            yield Portal(stack, url, ckanapi.RemoteCKAN(url), ckanapi.RemoteCKAN(url, apikey=AGENCY_TOKEN))


def test_package_list_shows_public_datasets_and_restricted_ones_only_to_an_agency(site: Portal) -> None:
    assert site.ckan.action.package_list() == PUBLIC
    assert site.agency.action.package_list() == sorted([*PUBLIC, RESTRICTED])
    with pytest.raises(ckanapi.NotAuthorized):
        site.ckan.action.package_show(id=RESTRICTED)
    assert site.agency.action.package_show(id=RESTRICTED)["private"] is True
    for exempt in ("kontak-pelapor", "isi-laporan-warga"):
        with pytest.raises(ckanapi.NotFound):
            site.agency.action.package_show(id=exempt)


def test_package_search_filters_facets_sorts_and_pages_as_ckan_does(site: Portal) -> None:
    found = site.ckan.action.package_search(q="harga", rows=3)
    assert found["results"][0]["name"] == "harga-bahan-pokok" and found["count"] >= 1
    hazard = site.ckan.action.package_search(fq="groups:kebencanaan", rows=1000,
                                             **{"facet.field": ["organization", "groups", "res_format",
                                                                "kode_wilayah"]})
    wanted = {d.name for d in catalogue().dataset if d.sector == "kebencanaan" and d.name in PUBLIC}
    assert {p["name"] for p in hazard["results"]} == wanted and hazard["count"] == len(wanted)
    assert hazard["facets"]["groups"] == {"kebencanaan": len(wanted)}
    assert hazard["facets"]["res_format"] == dict.fromkeys(("CSV", "GeoJSON", "JSON", "Parquet"), len(wanted))
    assert hazard["search_facets"]["organization"]["items"][0]["display_name"].endswith("Provinsi Jambi")
    pages = [site.ckan.action.package_search(rows=4, start=start, sort="name asc")
             for start in range(0, len(PUBLIC) + 4, 4)]
    assert [p["name"] for page in pages for p in page["results"]] == PUBLIC
    assert all(page["count"] == len(PUBLIC) for page in pages)
    by_get = ckanapi.RemoteCKAN(site.url, get_only=True).action.package_search(
        fq="organization:disperindag", **{"facet.field": ["organization", "tags"]})
    assert by_get["facets"]["organization"] == {"disperindag": 1}
    assert site.ckan.action.package_search(rows=5000)["count"] == len(PUBLIC)  # rows above 1,000: capped
    with pytest.raises(ckanapi.SearchQueryError):
        site.ckan.action.package_search(sort="nama ke-atas")


def test_show_organizations_groups_and_resources_carry_the_satu_data_metadata(site: Portal) -> None:
    package = site.ckan.action.package_show(id="kinerja-layanan-perizinan")
    assert package["organization"]["name"] == "dpmptsp" and package["license_id"] == "CC-BY-4.0"
    assert package["walidata"].startswith("Dinas Komunikasi") and package["frekuensi"] == "harian"
    assert package["periode_awal"] and package["kode_wilayah"] and "%" in package["satuan"]
    assert [c["id"] for c in package["data_dictionary"]][:3] == ["bulan", "kode_wilayah", "nama_wilayah"]
    assert {r["format"] for r in package["resources"]} == {"CSV", "JSON", "GeoJSON", "Parquet"}
    csv_resource = next(r for r in package["resources"] if r["format"] == "CSV")
    assert site.ckan.action.resource_show(id=csv_resource["id"])["datastore_active"] is True
    organizations = site.ckan.action.organization_list(all_fields=True)
    assert {o["name"] for o in organizations} >= {"bpbd", "dpmptsp", "disperindag", "diskominfo"}
    groups = site.ckan.action.group_list()
    assert "kebencanaan" in groups and "pelaporan" in groups
    with pytest.raises(ckanapi.NotFound):
        site.ckan.action.resource_show(id="tidak-ada")


def test_datastore_search_pages_through_links_to_every_row(site: Portal) -> None:
    package = site.ckan.action.package_show(id="riwayat-peringatan-dini")
    resource = next(r["id"] for r in package["resources"] if r["datastore_active"])
    first = site.ckan.action.datastore_search(resource_id=resource, limit=7)
    total, seen, page = first["total"], list(first["records"]), first
    stored = site.stack.count("SELECT count() FROM posko.disaster_alerts FINAL WHERE status = 'Actual'")
    assert total == stored and total > 7 and first["fields"][0]["id"] == "id_peringatan"
    while page["records"]:
        answer = httpx.get(site.url + page["_links"]["next"], timeout=30).json()
        assert answer["success"], answer
        page = answer["result"]
        seen += page["records"]
    assert len(seen) == total and len({r["id_peringatan"] for r in seen}) == total
    region = site.ckan.action.datastore_search(resource_id=resource, filters={"kode_wilayah": "15.71"},
                                               fields=["id_peringatan", "kode_wilayah"],
                                               sort="waktu_terbit desc", records_format="lists", limit=32_001)
    assert region["limit"] == 32_000 and all(row[1] == "15.71" for row in region["records"])
    with pytest.raises(ckanapi.ValidationError):
        site.ckan.action.datastore_search(resource_id=resource, sort="kata_sandi asc")


def test_a_closed_incident_is_served_with_its_public_summary_only(site: Portal) -> None:
    closed = next_version(singleton_incident("Budi 081234567890", Hazard.BANJIR, "Banjir di Pasar Bangko",
                                             "15.02.02"), status=IncidentStatus.SELESAI)
    asyncio.run(publish_incidents(site.stack.settings, [closed]))
    assert site.ckan.action.package_show(id="insiden-selesai")["status_data"] != "belum tersedia"

    def served() -> list[dict[str, object]]:
        found = site.ckan.action.datastore_search(resource_id="insiden-selesai", limit=1000)["records"]
        return [r for r in found if r.get("id_insiden") == str(closed.id)]

    [row] = wait_for(served, 90, "the closed incident in the dataset")
    assert "081234567890" not in json.dumps(row) and "Budi" not in json.dumps(row)
    assert row["jumlah_laporan"] == f"<{MIN_COUNT}"


def test_every_data_package_validates_with_frictionless(site: Portal) -> None:
    for name in PUBLIC:
        if name == "insiden-selesai" and site.ckan.action.package_show(id=name)["status_data"] != "tersedia":
            continue
        report = frictionless.validate(f"{site.url}/dataset/{name}/datapackage.json")
        assert report.valid, (name, report.flatten(["type", "note", "fieldName"])[:5])


def test_the_dcat_catalogue_parses_and_names_every_public_dataset(site: Portal) -> None:
    for path, fmt in (("/catalog.jsonld", "json-ld"), ("/catalog.ttl", "turtle")):
        graph = rdflib.Graph().parse(data=httpx.get(site.url + path, timeout=30).text, format=fmt)
        datasets = set(graph.subjects(rdf.RDF.type, rdf.DCAT.Dataset))
        assert {str(d).rsplit("/", 1)[1] for d in datasets} == set(PUBLIC), path
        for dataset in datasets:
            assert graph.value(dataset, rdf.DCTERMS.title) and graph.value(dataset, rdf.DCTERMS.license)
            assert len(list(graph.objects(dataset, rdf.DCAT.distribution))) == 4


def _download(site: Portal, name: str, ext: str, token: str | None = None) -> bytes:
    headers = {"Authorization": token} if token else {}
    answer = httpx.get(f"{site.url}/dataset/{name}/download/{name}.{ext}", headers=headers, timeout=60)
    assert answer.status_code == 200, (name, ext, answer.text[:300])
    return answer.content


def test_downloads_stream_every_row_in_each_format(site: Portal) -> None:
    name = "indikator-kebencanaan"  # hundreds of rows, read 7 at a time
    expected = site.stack.count(
        "SELECT count() FROM (SELECT DISTINCT toDate(period_start, 'Asia/Jakarta'), ifNull(region, '15'), "
        "indicator FROM posko.sector_indicators "
        "WHERE indicator IN ('titik_panas', 'titik_panas_gambut', 'tinggi_muka_air'))")
    assert expected > 20
    lines = _download(site, name, "csv").decode().splitlines()
    assert lines[0].startswith("periode,kode_wilayah") and len(lines) - 1 == expected
    assert len(json.loads(_download(site, name, "json"))) == expected
    assert pq.read_table(io.BytesIO(_download(site, name, "parquet"))).num_rows == expected
    collection = json.loads(_download(site, name, "geojson"))
    assert len(collection["features"]) == 11
    for feature in collection["features"]:
        shape = shapely.geometry.shape(feature["geometry"])
        assert not shape.is_empty and shape.area > 0  # (the source boundaries are not all OGC-valid)
        assert feature["properties"]["jumlah_baris"] == len(feature["properties"]["baris"])
    in_regions = sum(f["properties"]["jumlah_baris"] for f in collection["features"])
    assert in_regions == sum(1 for line in lines[1:] if line.split(",")[1] != "15")


def test_small_report_counts_are_suppressed(site: Portal) -> None:
    rows = site.ckan.action.datastore_search(resource_id=REPORTS, limit=100)["records"]
    cells = {(r["kode_wilayah"], r["kategori"], r["status"]): r["jumlah"] for r in rows}
    assert cells[("15.71", "infrastruktur", "diterima")] == "6"
    assert cells[("15.71", "infrastruktur", "didisposisikan")] == f"<{MIN_COUNT}"
    assert cells[("15.01", "kesehatan", "diterima")] == f"<{MIN_COUNT}"
    assert f"<{MIN_COUNT}" in _download(site, REPORTS, "csv").decode()


def _everything(site: Portal) -> dict[str, str]:
    """Every answer of every endpoint for every dataset (as an agency sees them too), as text."""
    answers: dict[str, str] = {}
    for client, token in ((site.ckan, None), (site.agency, AGENCY_TOKEN)):
        for name in client.action.package_list():
            package = client.action.package_show(id=name)
            answers[f"show {name}"] = json.dumps(package)
            if package["status_data"] != "tersedia":
                continue
            answers[f"datastore {name}"] = json.dumps(client.action.datastore_search(
                resource_id=name, limit=32_000, q=""))
            for ext in ("csv", "json", "geojson"):
                answers[f"{ext} {name}"] = _download(site, name, ext, token).decode()
            table = pq.read_table(io.BytesIO(_download(site, name, "parquet", token)))
            answers[f"parquet {name}"] = json.dumps(table.to_pylist(), default=str)
            answers[f"datapackage {name}"] = httpx.get(
                f"{site.url}/dataset/{name}/datapackage.json", headers={"Authorization": AGENCY_TOKEN},
                timeout=30).text
            answers[f"page {name}"] = httpx.get(f"{site.url}/dataset/{name}", timeout=30).text
        answers["search"] = json.dumps(client.action.package_search(rows=1000, **{"facet.field": ["tags"]}))
    for path in ("/", "/?lang=en", "/api", "/catalog.jsonld", "/catalog.ttl", "/?q=Siti"):
        answers[path] = httpx.get(site.url + path, timeout=30).text
    return answers


def test_nothing_personal_leaves_any_endpoint_or_download(site: Portal) -> None:
    stored = site.stack.sql("SELECT title, text FROM posko.citizen_reports") + \
        site.stack.sql("SELECT name, phone FROM posko.reporter_contacts") + \
        site.stack.sql("SELECT changed_by, note FROM posko.report_status_changes")
    assert all(secret in stored for secret in ("Rahmawati", "081234567890", "1571024507900003", "Wibisono"))
    leaks: dict[str, list[str]] = {}
    answers = _everything(site)
    assert len(answers) > 60
    for where, text in answers.items():
        if found := [s for s in SECRETS if s.lower() in text.lower()]:
            leaks[where] = found
    assert leaks == {}


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    """Debian's Chromium, headless, driven by Playwright."""
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path="/usr/bin/chromium",
                                                    args=["--no-sandbox", "--disable-gpu"])
        yield launched
        await launched.close()


async def test_a_person_searches_opens_a_dataset_and_downloads_its_csv(site: Portal, browser: Browser,
                                                                         tmp_path: Path) -> None:
    shots = screenshot_dir()
    page = await browser.new_page(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    await page.goto(site.url + "/")
    await expect(page.locator("html")).to_have_attribute("lang", "id")
    await page.get_by_label("Kata kunci").fill("harga")
    await page.get_by_role("button", name="Cari").click()
    await expect(page.locator("#found")).to_contain_text("dataset ditemukan")
    await page.locator('[data-facet="organization"][data-value="disperindag"]').click()
    await expect(page.locator(".dataset-card")).to_have_count(1)
    await page.screenshot(path=str(shots / "satudata-search.png"), full_page=True)
    await page.get_by_role("link", name="Harga Bahan Pokok di Pasar per Kabupaten/Kota").click()
    await expect(page.locator("h1")).to_have_text("Harga Bahan Pokok di Pasar per Kabupaten/Kota")
    await expect(page.locator("#preview tbody tr").first).to_be_visible()
    await expect(page.locator("figure.chart svg")).to_be_visible()
    await page.screenshot(path=str(shots / "satudata-dataset.png"), full_page=True)
    async with page.expect_download() as waiting:
        await page.locator('a[data-format="CSV"]').click()
    download = await waiting.value
    saved = tmp_path / download.suggested_filename
    await download.save_as(saved)
    assert saved.name == "harga-bahan-pokok.csv"
    assert saved.read_text().startswith("periode,kode_wilayah,nama_wilayah,kode_indikator")
    await page.locator("#lang-switch").click()
    await expect(page.locator("h1")).to_have_text("Staple food prices in markets by regency/city")
    await expect(page.locator("html")).to_have_attribute("lang", "en")
    await page.close()
    phone = await browser.new_page(viewport={"width": 390, "height": 844})
    await phone.goto(site.url + "/dataset/statistik-laporan-warga")
    width = await phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, "the page scrolls sideways on a phone"
    await expect(phone.locator(".downloads a").first).to_be_visible()
    await phone.screenshot(path=str(shots / "satudata-phone.png"), full_page=True)
    await phone.close()
