"""The officer console, the responder's phone and the wall in real headless Chromium, against the
real broker, worker (the desk decides), sink and gateway: a task from an incident the stream
correlated, to the phone and to selesai, progress on the wall, two officers in conflict, and a
responder who neither sees nor touches a task that is not theirs."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import msgspec
import pytest
from playwright.async_api import Browser, BrowserContext, Page, async_playwright, expect

from schemas.events import Kind, Point, Severity
from schemas.identity import Role
from schemas.regions import Region
from schemas.topics import raw_topic
from sinks.push.protocol import CommandResult, Snapshot
from tests.conftest import produce, wait_for
from tests.gateway_stack import GatewayStack, open_client, own_gateway_stack, receive_until, screenshot_dir
from tests.test_wall_browser import official_alert

__all__ = ["own_gateway_stack"]

pytestmark = [pytest.mark.integration, pytest.mark.browser]
CHROMIUM = "/usr/bin/chromium"
WAIT_MS = 90_000
DESK = {"width": 1680, "height": 1000}
WALL = {"width": 1920, "height": 1080}
PHONE = {"width": 412, "height": 915}
# Where the responder's phone says it is: by the Batanghari in Kota Jambi.
HERE = {"latitude": -1.5862, "longitude": 103.574}
# Fill the reassign name of the task row titled args[0] and keep that row's button: its handler
# holds the version the row was drawn at, as a button an officer is about to press does.
HOLD_REASSIGN = """([title, name]) => {
  const row = [...document.querySelectorAll("#tasks .task")].find((r) => r.textContent.includes(title));
  row.querySelector(".reassign-name").value = name;
  window.heldReassign = row.querySelector(".reassign");
  return row.dataset.version;
}"""


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    """Debian's Chromium, headless, driven by Playwright."""
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=CHROMIUM,
                                                    args=["--no-sandbox", "--disable-gpu"])
        yield launched
        await launched.close()


async def open_page(browser: Browser, stack: GatewayStack, path: str, token: str, viewport: dict[str, int],
                    located: bool = False) -> tuple[BrowserContext, Page]:
    """A page in a context of its own (a person's own browser), once it shows it is live."""
    options: dict[str, object] = {"viewport": viewport}
    if located:
        options.update(permissions=["geolocation"], geolocation=HERE)
    context = await browser.new_context(**options)  # type: ignore[arg-type]
    page = await context.new_page()
    await page.goto(f"{stack.url}/{path}#token={token}")
    await expect(page.locator("#link-state")).to_have_attribute("data-state", "live", timeout=WAIT_MS)
    return context, page


async def give_task(console: Page, title: str, name: str) -> None:
    """Fill the selected incident's task form and give it."""
    form = console.locator("#task-form")
    await form.locator('[name="title"]').fill(title)
    await form.locator('[name="kind"]').select_option("responder")
    await form.locator('[name="name"]').fill(name)
    await form.locator('[name="priority"]').select_option("segera")
    await form.locator('button[type="submit"]').click()


async def test_an_officer_gives_a_task_the_responder_does_it_and_the_wall_shows_the_progress(
        browser: Browser, own_gateway_stack: GatewayStack, marker: str) -> None:
    stack = own_gateway_stack
    officer = stack.token(Role.OFFICER, "Petugas Sari")
    _, console = await open_page(browser, stack, "console", officer, DESK)
    dodi = stack.token(Role.OFFICER, "Petugas Dodi")
    _, other_console = await open_page(browser, stack, "console", dodi, DESK)
    _, wall = await open_page(browser, stack, "wall", stack.token(), WALL)
    andi_token = stack.token(Role.RESPONDER, "Andi", regions=[Region.KOTA_JAMBI])
    _, phone = await open_page(browser, stack, "responder", andi_token, PHONE, located=True)
    budi_token = stack.token(Role.RESPONDER, "Budi", regions=[Region.KOTA_JAMBI])
    _, budi = await open_page(browser, stack, "responder", budi_token, PHONE)

    # Correlated signals: a BPBD warning through the whole pipeline becomes a Segera incident.
    event = official_alert(marker, Region.KOTA_JAMBI, Severity.EXTREME, f"Banjir Kelurahan Legok ({marker})",
                           Point(-1.5862, 103.5740))
    raw = msgspec.json.encode(event)
    await produce(stack.stack.settings, [(raw_topic(Kind.DISASTER_ALERT), b"15.71", raw)])
    find = ("id => { const i = [...window.poskoConsole.incidents.values()]"
            ".find(i => i.items.some(t => t.id === id)); return i ? i.id : null; }")
    handle = await console.wait_for_function(find, arg=str(event.id), timeout=WAIT_MS)
    incident_id = await handle.json_value()
    await console.locator(f'#incidents [data-incident-id="{incident_id}"]').click()
    await expect(console.locator("#detail .items")).to_contain_text("Legok", timeout=WAIT_MS)

    # The task, from the console to the phone. How soon is measured, not asserted here (a shared
    # CI machine is no stopwatch): `posko bench command` reports it beside the acknowledgement path.
    title = f"Evakuasi warga RT 05 {marker}"
    await give_task(console, title, "Andi")
    card = phone.locator("#tasks .task", has_text=title)
    await expect(card).to_be_visible(timeout=WAIT_MS)
    await expect(console.locator("#results li").first).to_contain_text("BERHASIL")
    await expect(budi.locator("#tasks")).not_to_contain_text(title)  # Budi's scope, not his task
    await expect(wall.locator(f'#incidents [data-incident-id="{incident_id}"] .task-progress')).to_have_text(
        "Tugas: 0 dari 1 selesai", timeout=WAIT_MS)

    # The responder moves it: berangkat, then selesai with a note; the phone's location goes along.
    await card.locator('[data-move="berangkat"]').click()
    await expect(card).to_have_attribute("data-status", "berangkat", timeout=WAIT_MS)
    await card.locator(".task-note").fill("12 warga dievakuasi ke masjid")
    await card.locator('[data-move="selesai"]').click()
    await expect(card).to_have_attribute("data-status", "selesai", timeout=WAIT_MS)
    await expect(wall.locator(f'#incidents [data-incident-id="{incident_id}"] .task-progress')).to_have_text(
        "Tugas: 1 dari 1 selesai", timeout=WAIT_MS)
    task_id = await card.get_attribute("data-task-id")
    done = await console.evaluate("id => window.poskoConsole.tasks.get(id)", task_id)
    last = done["history"][-1]
    assert (done["status"], last["by"], last["note"]) == ("selesai", "Andi", "12 warga dievakuasi ke masjid")
    assert last["location"] == {"lat": HERE["latitude"], "lon": HERE["longitude"]}
    await wall.screenshot(path=str(screenshot_dir() / "wall-task-progress.png"))
    await phone.screenshot(path=str(screenshot_dir() / "responder-tasks.png"))

    # Two officers reassign one task at once, both from version 1: one applied, one conflict.
    second = f"Dirikan dapur umum {marker}"
    await give_task(console, second, "Andi")
    await other_console.locator(f'#incidents [data-incident-id="{incident_id}"]').click()
    rows = [page.locator("#tasks .task", has_text=second) for page in (console, other_console)]
    for row in rows:
        await expect(row).to_have_attribute("data-version", "1", timeout=WAIT_MS)
    # Each officer's button is the one drawn at version 1: the first command's result may reach
    # the other console and redraw its row before its press, and the press must still say v1.
    for page, name in zip((console, other_console), ["Andi", "Budi"], strict=True):
        held = await page.evaluate(HOLD_REASSIGN, [second, name])
        assert held == "1", f"the row of {second!r} was at version {held} before the press"
    await asyncio.gather(*(page.evaluate("window.heldReassign.click()") for page in (console, other_console)))
    texts = []
    for page in (console, other_console):
        # The reassignment's own line, once drawn (the pages draw a press's line a moment after
        # it: the first line may still be an older result, or none), then decided.
        line = page.locator("#results li", has_text="Alihkan").first
        await expect(line).to_be_visible(timeout=WAIT_MS)
        await expect(line).not_to_contain_text("menunggu", timeout=WAIT_MS)
        texts.append(await line.inner_text())
    assert sorted("BERHASIL" in x for x in texts) == [False, True], texts
    conflict = next(x for x in texts if "BERHASIL" not in x)
    assert "KONFLIK" in conflict and "diubah orang lain (versi 1 → 2)" in conflict, conflict
    await console.screenshot(path=str(screenshot_dir() / "console-conflict.png"))

    # A responder does not see a task outside its scope, and a command on it is refused.
    ws = await open_client(stack, stack.token(Role.RESPONDER, "Citra", regions=[Region.KERINCI]))
    snapshot = next(m for m in await receive_until(ws, lambda got: any(isinstance(m, Snapshot) for m in got))
                    if isinstance(m, Snapshot))
    assert snapshot.tasks == []
    await ws.send(msgspec.json.encode({"type": "command", "ref": "c-1", "page": "responder", "action": {
        "action": "report_progress", "task_id": task_id, "status": "di_lokasi"}}).decode())
    got = await receive_until(ws, lambda got: any(isinstance(m, CommandResult) for m in got))
    result = next(m for m in got if isinstance(m, CommandResult))
    assert (result.status, result.accepted) == (404, False) and "bukan untuk Anda" in result.reason
    await ws.close()

    # The audit log in ClickHouse holds every step with the people's names, the refusals too.
    steps = f"""SELECT actor, action, accepted, status FROM posko.audit_log WHERE target = '{task_id}'
                ORDER BY decided_at, issued_at FORMAT TabSeparated"""
    expected = [["Petugas Sari", "create_task", "1", "200"], ["Andi", "report_progress", "1", "200"],
                ["Andi", "report_progress", "1", "200"], ["Citra", "report_progress", "0", "404"]]

    def audited() -> list[list[str]] | None:
        found = [row.split("\t") for row in stack.stack.sql(steps).splitlines()]
        return found if found == expected else None

    def described() -> str:
        return f"the audit log of {task_id}: {expected}, found {stack.stack.sql(steps)!r}"

    audit_rows = await asyncio.to_thread(wait_for, audited, 60, described)
    assert audit_rows == expected

    # The sitrep button gives the incident's timeline as a PDF, the task and its progress in it.
    async with console.expect_download(timeout=WAIT_MS) as download:
        await console.locator("#detail .sitrep-link").click()
    pdf = await (await download.value).path()
    read = await asyncio.create_subprocess_exec("pdftotext", str(pdf), "-", stdout=asyncio.subprocess.PIPE)
    text = " ".join((await read.communicate())[0].decode().split())  # lines wrap in the table
    assert title in text and "12 warga dievakuasi ke masjid" in text, text[:2000]
