"""The wall in Chromium during the Batanghari flood played through the whole pipeline: incidents,
not alerts."""

from __future__ import annotations

import msgspec
import pytest
from playwright.async_api import Browser, expect

from connectors.simulator.run import play_scenario
from schemas.incidents import Incident
from tests.gateway_stack import GatewayStack, own_gateway_stack, screenshot_dir
from tests.test_wall_browser import browser

pytestmark = [pytest.mark.integration, pytest.mark.browser]

WAIT_MS = 120_000


__all__ = ["browser", "own_gateway_stack"]


async def test_the_flood_is_one_segera_incident_at_the_top_of_the_wall(
        browser: Browser, own_gateway_stack: GatewayStack) -> None:
    flood_gateway = own_gateway_stack
    settings = flood_gateway.stack.settings
    wall = await browser.new_page(viewport={"width": 1920, "height": 1080})
    await wall.goto(f"{flood_gateway.url}/wall#token={flood_gateway.token()}")
    await expect(wall.locator("#link-state")).to_have_attribute("data-state", "live", timeout=WAIT_MS)
    await play_scenario(settings, "banjir-batanghari", speed=36_000, seed=4)

    # Every alert of the flood (about 160: BPBD warnings and urgent reports) is in one incident.
    first = wall.locator("#incidents .incident").first
    await expect(first.locator(".prio span").first).to_have_text("SEGERA", timeout=WAIT_MS)
    await expect(first.locator(".title")).to_contain_text("Banjir", timeout=WAIT_MS)
    await expect(first.locator(".where")).to_contain_text("Batang Hari", timeout=WAIT_MS)
    await wall.wait_for_function(
        """() => [...window.poskoWall.incidents.values()].some(i => i.report_count >= 150)""",
        timeout=WAIT_MS)
    await expect(first.locator(".victims")).to_contain_text("KORBAN")
    await expect(wall.locator(".incidents-panel h2")).to_contain_text("Insiden terbuka")
    await first.click()
    # The flood may still be growing: wait until the open card lists every item the wall holds
    # for it, read in one moment of the page.
    await wall.wait_for_function(
        """() => {
          const node = document.querySelector("#incidents .incident.is-open");
          const incident = node && window.poskoWall.incidents.get(node.dataset.incidentId);
          return incident && node.querySelectorAll(".items .item").length === incident.items.length;
        }""", timeout=WAIT_MS)
    shown = msgspec.json.decode(
        await wall.evaluate("JSON.stringify([...window.poskoWall.incidents.values()])"),
        type=list[Incident])
    flood = max(shown, key=lambda i: i.signal_count)
    assert len(shown) * 20 <= flood.signal_count, f"{len(shown)} items on the wall"
    assert await first.get_attribute("data-incident-id") == str(flood.id)
    assert await first.locator(".items .item").count() >= 20
    await wall.screenshot(path=screenshot_dir() / "wall-flood.png")
    await wall.close()
