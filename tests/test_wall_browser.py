"""The wall and the responder page in real headless Chromium, against the real gateway and pipeline."""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator
from datetime import timedelta

import msgspec
import pytest
from playwright.async_api import Browser, Locator, Page, async_playwright, expect
from playwright.async_api import TimeoutError as PlaywrightTimeout

from connectors.simulator.run import simulate
from posko.settings import Settings
from schemas.events import (
    AlertCategory,
    Certainty,
    DisasterAlert,
    DisasterAlertEvent,
    Kind,
    Point,
    Severity,
    Urgency,
    new_event_id,
    utc_now,
)
from schemas.identity import Role
from schemas.incidents import (
    Escalation,
    EscalationSubject,
    Hazard,
    Incident,
    IncidentStatus,
    Priority,
    escalation_id,
)
from schemas.regions import Region
from schemas.topics import raw_topic
from tests.conftest import produce
from tests.gateway_stack import GatewayStack, make_alert, own_gateway_stack, publish_alerts, screenshot_dir
from tests.incident_samples import (
    escalation_of,
    flood_incident,
    next_version,
    publish_escalations,
    publish_incidents,
)
from tests.incident_samples import (
    singleton_incident as single,
)

__all__ = ["own_gateway_stack"]


@pytest.fixture(scope="module")
def gateway_stack(own_gateway_stack: GatewayStack) -> GatewayStack:
    """The module's gateway on a broker of its own: its incidents are the only ones shown."""
    return own_gateway_stack

pytestmark = [pytest.mark.integration, pytest.mark.browser]
CHROMIUM = "/usr/bin/chromium"
WAIT_MS = 90_000
WALL = {"width": 1920, "height": 1080}
PHONE = {"width": 412, "height": 915}


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    """Debian's Chromium, headless, driven by Playwright."""
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=CHROMIUM,
                                                    args=["--no-sandbox", "--disable-gpu"])
        yield launched
        await launched.close()


async def open_page(browser: Browser, stack: GatewayStack, path: str, token: str,
                    viewport: dict[str, int]) -> Page:
    """A page of the gateway opened with its token in the URL fragment, once it shows it is live."""
    page = await browser.new_page(viewport=viewport)  # type: ignore[arg-type]
    await page.goto(f"{stack.url}/{path}#token={token}")
    await expect(page.locator("#link-state")).to_have_attribute("data-state", "live", timeout=WAIT_MS)
    return page


def official_alert(marker: str, region: Region, severity: Severity, headline: str,
                   where: Point) -> DisasterAlertEvent:
    """A BPBD warning as a connector would send it onto the raw topic."""
    now = utc_now()
    return DisasterAlertEvent(
        id=new_event_id(), source=marker, occurred_at=now, received_at=now, region=region, location=where,
        payload=DisasterAlert(event="Banjir", category=AlertCategory.MET, urgency=Urgency.IMMEDIATE,
                              severity=severity, certainty=Certainty.OBSERVED, headline=headline,
                              issuer="BPBD Provinsi Jambi",
                              description="Warga diminta mengungsi ke tempat tinggi."),
    )


def _card(page: Page, alert_id: object) -> object:
    return page.locator(f'#alerts [data-alert-id="{alert_id}"]')


async def test_alert_reaches_wall_and_responder_in_scope_not_out_of_scope(
        browser: Browser, gateway_stack: GatewayStack, marker: str) -> None:
    wall = await open_page(browser, gateway_stack, "wall", gateway_stack.token(), WALL)
    jambi = await open_page(browser, gateway_stack, "responder", gateway_stack.token(
        Role.RESPONDER, "TRC BPBD Kota Jambi", regions=[Region.KOTA_JAMBI]), PHONE)
    kerinci = await open_page(browser, gateway_stack, "responder", gateway_stack.token(
        Role.RESPONDER, "TRC BPBD Kerinci", regions=[Region.KERINCI]), PHONE)
    event = official_alert(marker, Region.KOTA_JAMBI, Severity.EXTREME,
                           f"Banjir bandang Kelurahan Legok ({marker})", Point(-1.5862, 103.5740))
    # Through the whole pipeline: raw topic → stream worker → posko.alerts → gateway → browsers.
    await produce(gateway_stack.stack.settings,
                  [(raw_topic(Kind.DISASTER_ALERT), b"15.71", msgspec.json.encode(event))])
    # The wall holds the alert but lists incidents: the worker made this BPBD Awas a Segera
    # incident, and that (not the alert) is listed and flashes.
    await wall.wait_for_function("id => window.poskoWall.alerts.has(id)", arg=str(event.id), timeout=WAIT_MS)
    await wall.wait_for_function(
        "id => [...window.poskoWall.incidents.values()].some(i => i.items.some(t => t.id === id))",
        arg=str(event.id), timeout=WAIT_MS)
    await expect(wall.locator("#flash-kicker")).to_contain_text("INSIDEN BARU · SEGERA")
    await expect(wall.locator("#flash-headline")).to_contain_text("Banjir di Kota Jambi")
    assert event.payload.headline not in await wall.locator("#incidents").inner_text()
    await wall.locator("#flash").click()
    await expect(jambi.locator(f'#alerts [data-alert-id="{event.id}"] .headline')).to_have_text(
        event.payload.headline, timeout=WAIT_MS)
    # The Kerinci responder gets its own alert, sent after, and never the Kota Jambi one.
    theirs = make_alert(marker, region=Region.KERINCI,
                        headline=f"Longsor jalan Sungai Penuh–Tapan ({marker})")
    await publish_alerts(gateway_stack, [theirs])
    await expect(kerinci.locator(f'#alerts [data-alert-id="{theirs.id}"]')).to_have_count(1, timeout=WAIT_MS)
    await expect(kerinci.locator(f'#alerts [data-alert-id="{event.id}"]')).to_have_count(0)
    assert event.payload.headline not in await kerinci.content()
    for page in (wall, jambi, kerinci):
        await page.close()


async def test_responder_acknowledges_and_the_wall_shows_who_and_when(
        browser: Browser, gateway_stack: GatewayStack, marker: str) -> None:
    # Realistic background: simulated events for the counters, and alerts of every severity.
    await simulate(gateway_stack.stack.settings, 400, count=1500, seed=7)
    board = [
        make_alert(marker, Region.KERINCI, Severity.SEVERE, Kind.CITIZEN_REPORT,
                   "Longsor menutup jalan Kayu Aro, 2 rumah tertimbun", Point(-1.7800, 101.2700)),
        make_alert(marker, Region.MERANGIN, Severity.MODERATE, Kind.CITIZEN_REPORT,
                   "Banjir genangi Pasar Bangko setinggi 40 cm", Point(-2.0840, 102.2670)),
        make_alert(marker, Region.TANJUNG_JABUNG_TIMUR, Severity.MINOR, Kind.DISASTER_ALERT,
                   "Peringatan dini gelombang tinggi pesisir Nipah Panjang", Point(-1.0400, 104.1900)),
        make_alert(marker, Region.MUARO_JAMBI, Severity.SEVERE, Kind.DISASTER_ALERT,
                   "Karhutla 12 ha di Kumpeh, asap pekat ke Kota Jambi", Point(-1.4200, 103.8200)),
    ]
    await publish_alerts(gateway_stack, board)
    wall = await open_page(browser, gateway_stack, "wall", gateway_stack.token(), WALL)
    responder = await open_page(browser, gateway_stack, "responder", gateway_stack.token(
        Role.RESPONDER, "Regu TRC BPBD Kota Jambi", regions=[Region.KOTA_JAMBI]), PHONE)
    alert = make_alert(marker, Region.KOTA_JAMBI, Severity.SEVERE, Kind.DISASTER_ALERT,
                       "Tanggul Sungai Batanghari rembes di Pasar Angso Duo", Point(-1.5930, 103.6150),
                       description="Air merembes di tiga titik tanggul. Warga bantaran bersiap mengungsi.")
    await publish_alerts(gateway_stack, [alert])
    card = responder.locator(f'#alerts [data-alert-id="{alert.id}"]')
    await expect(card.locator(".ack-button")).to_have_text("Terima / Acknowledge", timeout=WAIT_MS)
    await responder.screenshot(path=screenshot_dir() / "responder-before-ack.png", full_page=False)
    await card.locator(".note").fill("Tim meluncur, ETA 15 menit")
    await card.locator(".ack-button").click()
    await expect(card.locator(".mine")).to_be_visible(timeout=WAIT_MS)
    reports = wall.locator('#counts tr[data-region="15.71"] td').nth(1)
    await expect(reports).not_to_have_text("0", timeout=WAIT_MS)
    await wall.locator("#flash").evaluate("node => node.hidden = true")
    await wall.screenshot(path=screenshot_dir() / "wall.png")
    await responder.screenshot(path=screenshot_dir() / "responder.png", full_page=False)
    await wall.locator("#lang").click()
    await expect(wall.locator(".incidents-panel h2")).to_contain_text("Open incidents by priority")
    await wall.screenshot(path=screenshot_dir() / "wall-en.png")
    await wall.locator("#lang").click()
    print(f"screenshots in {screenshot_dir()}")
    for page in (wall, responder):
        await page.close()


async def test_wall_reloaded_mid_stream_shows_everything_without_gap(
        browser: Browser, gateway_stack: GatewayStack, marker: str) -> None:
    wall = await open_page(browser, gateway_stack, "wall", gateway_stack.token(), WALL)
    stream = [make_alert(marker, region=list(Region)[i % 11], severity=Severity.MINOR) for i in range(60)]

    async def paced() -> None:
        for i in range(0, len(stream), 3):
            await publish_alerts(gateway_stack, stream[i:i + 3])
            await asyncio.sleep(0.1)  # a steady stream, not a test wait

    producing = asyncio.create_task(paced())
    has_all = "ids => ids.every(id => window.poskoWall.alerts.has(id))"
    await wall.wait_for_function(has_all, arg=[str(stream[5].id)], timeout=WAIT_MS)
    await wall.reload()
    await producing
    await expect(wall.locator("#link-state")).to_have_attribute("data-state", "live", timeout=WAIT_MS)
    wanted = [str(a.id) for a in stream]
    with contextlib.suppress(PlaywrightTimeout):
        await wall.wait_for_function(has_all, arg=wanted, timeout=WAIT_MS)
    missing = await wall.evaluate("ids => ids.filter(id => !window.poskoWall.alerts.has(id))", wanted)
    assert missing == []
    assert await wall.locator("#notice").text_content() == ""  # no gap was announced
    await wall.close()


async def test_bad_token_is_refused_with_a_reason(browser: Browser, gateway_stack: GatewayStack) -> None:
    page = await browser.new_page(viewport=WALL)  # type: ignore[arg-type]
    await page.goto(f"{gateway_stack.url}/wall#token=bukan-token-yang-sah")
    await expect(page.locator("#link-state")).to_have_attribute("data-state", "refused", timeout=WAIT_MS)
    await expect(page.locator("#token-reason")).to_contain_text("Token ditolak")
    await expect(page.locator("#token-reason")).to_contain_text("unknown credential")
    await expect(page.locator("#token-box")).to_be_visible()
    await page.screenshot(path=screenshot_dir() / "wall-refused.png")
    await page.close()


async def test_page_closed_for_too_many_messages_says_so_and_does_not_reconnect_at_once(
        browser: Browser, gateway_stack: GatewayStack) -> None:
    page = await browser.new_page(viewport=PHONE)  # type: ignore[arg-type]
    # Count the sockets the page opens, and keep the last one to flood through.
    await page.add_init_script("""
        window.poskoSockets = [];
        const Native = window.WebSocket;
        window.WebSocket = class extends Native {
          constructor(...args) { super(...args); window.poskoSockets.push(this); }
        };
    """)
    token = gateway_stack.token(Role.RESPONDER, "Regu Pembanjir", regions=[Region.KOTA_JAMBI])
    await page.goto(f"{gateway_stack.url}/responder#token={token}")
    await expect(page.locator("#link-state")).to_have_attribute("data-state", "live", timeout=WAIT_MS)
    await page.evaluate("""() => {
        const ws = window.poskoSockets.at(-1);
        for (let i = 0; i < 500; i++) ws.send(JSON.stringify({type: "ack", alert_id: crypto.randomUUID()}));
    }""")
    state = page.locator("#link-state")
    await expect(state).to_have_attribute("data-state", "flooded", timeout=WAIT_MS)
    await expect(state).to_contain_text("TERLALU BANYAK PESAN")
    # It waits out the gateway's cooldown instead of reconnecting within half a second.
    assert await page.evaluate("window.poskoSockets.length") == 1
    await page.screenshot(path=screenshot_dir() / "responder-flooded.png")
    await page.close()


def _row(page: Page, incident_id: object) -> Locator:
    """An incident's row (wall) or card (responder page)."""
    return page.locator(f'#incidents [data-incident-id="{incident_id}"]')


async def close_open_incidents(wall: Page, settings: Settings) -> None:
    """Close every incident the wall shows (other tests' on the session broker), so this test's
    are the only ones listed; waits until the wall shows none.

    Closes again whatever the wall shows after a round: other tests' incidents can still arrive
    (the worker correlating their leftover signals, a newer version than the one closed)."""
    deadline = asyncio.get_running_loop().time() + WAIT_MS / 1000
    while True:
        shown = await wall.evaluate("JSON.stringify([...window.poskoWall.incidents.values()])")
        incidents = msgspec.json.decode(shown, type=list[Incident])
        if not incidents:
            return
        left_s = deadline - asyncio.get_running_loop().time()
        if left_s <= 0:
            pytest.fail(f"timed out after {WAIT_MS / 1000:.0f} s waiting for the wall to show no open "
                        f"incident; still open: {[(str(i.id), i.version, i.title) for i in incidents[:5]]}")
        await publish_incidents(settings, [next_version(i, status=IncidentStatus.SELESAI) for i in incidents])
        with contextlib.suppress(PlaywrightTimeout):
            await wall.wait_for_function("window.poskoWall.incidents.size === 0",
                                         timeout=min(10_000, left_s * 1000))


async def _mine(wall: Page, marker: str) -> list[str]:
    """The wall's incident rows of this test, top to bottom."""
    return await wall.evaluate(
        """marker => [...document.querySelectorAll('#incidents .incident')]
             .filter(n => n.querySelector('.title').textContent.endsWith(marker))
             .map(n => n.dataset.incidentId)""", marker)


async def test_wall_lists_incidents_by_priority_opens_their_signals_and_flashes_only_for_raised_urgent(
        browser: Browser, gateway_stack: GatewayStack, marker: str) -> None:
    settings = gateway_stack.stack.settings
    wall = await open_page(browser, gateway_stack, "wall", gateway_stack.token(), WALL)
    await close_open_incidents(wall, settings)
    singles = [
        single(marker, Hazard.KEBAKARAN, "Kebakaran rumah di Rimbo Tengah", "15.08.01", raised=True),
        single(marker, Hazard.LONGSOR, "Tebing longsor kecil di Jangkat", "15.02.01", minutes_ago=90),
        single(marker, Hazard.CUACA, "Pohon tumbang di Telanaipura", "15.71.01", minutes_ago=12),
        single(marker, Hazard.BANJIR, "Genangan di Pasar Bangko", "15.02.02", Priority.SEDANG, raised=True),
    ]
    # Raised, but Rendah or Sedang: listed, no flash. Tinggi but not raised: no flash either.
    quiet_high = single(marker, Hazard.LONGSOR, "Longsor jalan Kayu Aro", "15.01.01", Priority.TINGGI)
    await publish_incidents(settings, [*singles, quiet_high])
    await expect(_row(wall, quiet_high.id)).to_have_count(1, timeout=WAIT_MS)
    await wall.wait_for_function("n => document.querySelectorAll('#incidents .incident').length >= n",
                                 arg=len(singles) + 1, timeout=WAIT_MS)
    await expect(wall.locator("#flash")).to_be_hidden()
    assert await wall.evaluate("window.poskoWall.flashes") == []

    flood = flood_incident(marker)
    await publish_incidents(settings, [flood])
    await expect(wall.locator("#flash")).to_be_visible(timeout=WAIT_MS)
    await expect(wall.locator("#flash-headline")).to_have_text(flood.title)
    await expect(wall.locator("#flash-kicker")).to_contain_text("INSIDEN BARU · SEGERA")
    await wall.screenshot(path=screenshot_dir() / "wall-incident-flash.png")
    await wall.locator("#flash").click()
    assert await wall.evaluate("window.poskoWall.flashes") == [str(flood.id)]

    # By priority: Segera, Tinggi, Sedang, then the Rendah ones, latest signal first.
    ranked = [flood, quiet_high, singles[3], singles[2], singles[0], singles[1]]
    assert await _mine(wall, marker) == [str(i.id) for i in ranked]
    header = wall.locator(".incidents-panel h2")
    await expect(header).to_contain_text("Insiden terbuka menurut prioritas")
    assert "peringatan" not in (await header.inner_text()).lower()
    assert "alert" not in (await header.inner_text()).lower()
    row = _row(wall, flood.id)
    await expect(row.locator(".prio span").first).to_have_text("SEGERA")
    counted = f"{flood.signal_count} sinyal · {flood.report_count} laporan"
    await expect(row.locator(".n-signals")).to_have_text(counted)
    await expect(row.locator(".where")).to_contain_text("Batang Hari · Muaro Jambi")
    await expect(row.locator(".victims")).to_contain_text("KORBAN")
    await expect(row.locator(".when")).to_contain_text("WIB")
    await expect(row.locator(".ack")).to_have_text("BELUM DITERIMA")
    await expect(wall.locator(f'#map .marker[data-incident-id="{flood.id}"]')).to_have_count(1)
    await expect(wall.locator(f'#map .extent[data-incident-id="{flood.id}"]')).to_have_count(1)
    batang_hari = wall.locator('#map .region[data-region="15.04"]')
    await expect(batang_hari).to_have_attribute("data-priority", "segera")

    await row.click()  # opens into its signals
    items = row.locator(".items .item")
    await expect(items).to_have_count(len(flood.items))
    await expect(row.locator(".items")).to_contain_text("BPBD Muaro Jambi: Awas banjir Jambi Luar Kota")
    await expect(row.locator(".item-count").first).to_have_text(re.compile(r"×\d"))

    await publish_escalations(settings, [escalation_of(flood)])
    await expect(wall.locator("#escalations")).to_contain_text(f"Eskalasi ke supervisor: {flood.title}",
                                                               timeout=WAIT_MS)
    # The Tinggi incident raised to Segera flashes; its next version, not raised, does not again.
    risen = next_version(quiet_high, priority=Priority.SEGERA, raised=True)
    calm = next_version(risen, raised=False, signal_count=2)
    await publish_incidents(settings, [risen, calm])
    await wall.wait_for_function("id => window.poskoWall.incidents.get(id)?.version === 3",
                                 arg=str(quiet_high.id), timeout=WAIT_MS)
    assert await wall.evaluate("window.poskoWall.flashes") == [str(flood.id), str(quiet_high.id)]
    await expect(wall.locator("#flash-kicker")).to_contain_text("PRIORITAS NAIK · SEGERA")
    await wall.locator("#flash").click()
    await wall.screenshot(path=screenshot_dir() / "wall-incidents.png")
    await wall.close()


async def test_responder_acknowledges_an_incident_in_scope_and_the_wall_shows_who(
        browser: Browser, gateway_stack: GatewayStack, marker: str) -> None:
    flood = flood_incident(marker)
    elsewhere = single(marker, Hazard.LONGSOR, "Longsor jalan Sungai Penuh", "15.72.01",
                                   Priority.TINGGI)
    wall = await open_page(browser, gateway_stack, "wall", gateway_stack.token(), WALL)
    await close_open_incidents(wall, gateway_stack.stack.settings)
    responder = await open_page(browser, gateway_stack, "responder", gateway_stack.token(
        Role.RESPONDER, "TRC BPBD Batang Hari", regions=[Region.BATANG_HARI]), PHONE)
    await publish_incidents(gateway_stack.stack.settings, [flood, elsewhere])
    await publish_escalations(gateway_stack.stack.settings, [escalation_of(flood, role="kepala BPBD")])
    card = _row(responder, flood.id)
    await expect(card.locator(".incident-ack")).to_have_text("Terima insiden / Acknowledge", timeout=WAIT_MS)
    escalated = "Eskalasi ke kepala BPBD"
    await expect(responder.locator("#escalations")).to_contain_text(escalated, timeout=WAIT_MS)
    await expect(_row(wall, elsewhere.id)).to_have_count(1, timeout=WAIT_MS)
    await expect(_row(responder, elsewhere.id)).to_have_count(0)
    await card.locator(".incident-ack").click()
    await expect(card.locator(".mine")).to_be_visible(timeout=WAIT_MS)
    wall_ack = wall.locator(f'#incidents [data-incident-id="{flood.id}"] .ack')
    await expect(wall_ack).to_contain_text("Diterima oleh TRC BPBD Batang Hari", timeout=WAIT_MS)
    await expect(wall_ack).to_contain_text("WIB")
    await responder.screenshot(path=screenshot_dir() / "responder-incident.png", full_page=False)
    for page in (wall, responder):
        await page.close()


async def test_reports_past_their_sla_show_on_the_wall_with_how_late(
        browser: Browser, gateway_stack: GatewayStack, marker: str) -> None:
    now = utc_now()
    tracking = f"LPR-{marker[-8:].upper()}"
    late = Escalation(
        id=escalation_id(tracking, 1, "tindak_lanjut"), subject=EscalationSubject.REPORT_SLA,
        subject_id=tracking, level=1, role="Dinas PUPR Kota Jambi", regions=[Region.KOTA_JAMBI],
        headline=f"Jalan berlubang di Jl. Sudirman {marker}", stage="tindak_lanjut",
        reason="belum ditindaklanjuti 5 hari kerja setelah disposisi", due_at=now - timedelta(hours=26),
        fired_at=now, late_s=26 * 3600.0)
    wall = await open_page(browser, gateway_stack, "wall", gateway_stack.token(), WALL)
    await publish_escalations(gateway_stack.stack.settings, [late])
    row = wall.locator(f'#overdue [data-tracking="{tracking}"]')
    await expect(row).to_contain_text(f"{tracking} · Jalan berlubang", timeout=WAIT_MS)
    await expect(row).to_contain_text("terlambat 1 hari 2 jam")
    await expect(row).to_contain_text("Dinas PUPR Kota Jambi")
    # Not an incident's escalation: the list of those does not hold it.
    await expect(wall.locator(f'#escalations [data-escalation-id="{late.id}"]')).to_have_count(0)
    await wall.screenshot(path=screenshot_dir() / "wall-overdue.png")
    await wall.close()
