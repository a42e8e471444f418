"""Decision support in real headless Chromium against the real broker, worker, sink and gateway:
the console turns a recommendation into a task in one click or dismisses it with a reason, and
shows the region ranking; the /briefing page shows the situation, the ranked regions with their
reasons, the decisions pending and what is overdue, in Bahasa Indonesia and English, and its PDF
reads back with pdftotext.

The scores and recommendations are produced by the test onto posko.ranking, standing in for the
worker's ranking (the same records and keys); the incidents, tasks and statuses onto their topics
as the correlator and the desk write them.
"""

from __future__ import annotations

import asyncio
import urllib.error
import urllib.request
import uuid
from datetime import timedelta
from pathlib import Path

import msgspec
import pytest
from playwright.async_api import Browser, expect

from schemas.commands import (
    Assignee,
    AssigneeKind,
    Command,
    CreateTask,
    DismissRecommendation,
    EmergencyStatus,
)
from schemas.events import Kind, Point, Severity
from schemas.identity import Role
from schemas.incidents import Hazard
from schemas.regions import Region
from schemas.topics import COMMANDS, raw_topic
from tests.conftest import produce, read_topic, wait_for
from tests.desk_samples import emergency, publish_desk, task
from tests.gateway_stack import GatewayStack, own_gateway_stack, screenshot_dir
from tests.incident_samples import flood_incident, publish_incidents, singleton_incident
from tests.ranking_samples import publish_ranking, recommendation, region_score
from tests.test_console_browser import DESK, WAIT_MS, browser, open_page
from tests.test_wall_browser import official_alert

__all__ = ["browser", "own_gateway_stack"]

pytestmark = [pytest.mark.integration, pytest.mark.browser]
SCREEN = {"width": 1920, "height": 1080}


def _commands(stack: GatewayStack) -> list[Command]:
    records = asyncio.run(read_topic(stack.stack.settings, COMMANDS))
    return [msgspec.json.decode(value, type=Command) for _, value in records if value is not None]


async def _pdftotext(path: Path) -> str:
    read = await asyncio.create_subprocess_exec("pdftotext", str(path), "-", stdout=asyncio.subprocess.PIPE)
    return " ".join((await read.communicate())[0].decode().split())  # lines wrap in the tables


async def test_the_briefing_page_shows_the_ranked_regions_decisions_and_overdue_and_its_pdf(
        browser: Browser, own_gateway_stack: GatewayStack, marker: str, tmp_path: Path) -> None:
    stack = own_gateway_stack
    settings = stack.stack.settings
    flood = flood_incident(marker)
    slide = singleton_incident(marker, Hazard.LONGSOR, f"Longsor Kayu Aro {marker}", "15.01.01")
    await publish_incidents(settings, [flood, slide])
    late = task(marker, Assignee(AssigneeKind.TEAM, "TRC BPBD Batang Hari"), flood.id,
                due_in=timedelta(hours=-2), region=Region.BATANG_HARI)
    await publish_desk(settings, [late, emergency(Region.KERINCI, EmergencyStatus.SIAGA_DARURAT)])
    status = recommendation(Region.BATANG_HARI, Hazard.BANJIR, "banjir.status-tanggap-darurat",
                            f"Putuskan status tanggap darurat {marker}", "Bupati Batang Hari",
                            "TMA Batanghari di atas Siaga 1", flood.id, due_in=timedelta(hours=-1))
    first = region_score(Region.BATANG_HARI, Hazard.BANJIR, 1, f"1 insiden Segera {marker}", 0.0, flood.id)
    second = region_score(Region.KERINCI, Hazard.LONGSOR, 2, f"1 insiden Rendah {marker}")
    await publish_ranking(settings, [first, second, status])

    _, page = await open_page(browser, stack, "briefing", stack.token(), SCREEN)
    ranking = page.locator("#part-ranking")
    await expect(ranking).to_contain_text(f"1 insiden Segera {marker}", timeout=WAIT_MS)
    rows = ranking.locator("tbody tr")
    await expect(rows.nth(0)).to_contain_text("Kabupaten Batang Hari")
    await expect(rows.nth(1)).to_contain_text("Kabupaten Kerinci")
    # Each part's evidence; no risk index is invented where none is published.
    await expect(ranking).to_contain_text("indeks risiko BNPB belum tersedia")
    decisions = page.locator("#part-decisions")
    await expect(decisions).to_contain_text("Tetapkan status tanggap darurat?")
    await expect(decisions).to_contain_text(f"Putuskan status tanggap darurat {marker}")
    overdue = page.locator("#part-overdue")
    await expect(overdue).to_contain_text(late.title)
    await expect(overdue).to_contain_text(status.action)
    await expect(page.locator("#part-incidents")).to_contain_text(flood.title)
    await expect(page.locator("#part-emergencies")).to_contain_text("Siaga darurat")
    await expect(page.locator("#part-changes")).to_contain_text("Insiden baru")
    await page.screenshot(path=str(screenshot_dir() / "briefing.png"))

    # Live: a new score comes over the websocket and the page shows it without a reload.
    again = region_score(Region.KERINCI, Hazard.LONGSOR, 2, f"longsor susulan {marker}")
    await publish_ranking(settings, [again])
    await expect(ranking).to_contain_text(f"longsor susulan {marker}", timeout=WAIT_MS)

    # The PDF button saves the same briefing.
    async with page.expect_download(timeout=WAIT_MS) as download:
        await page.locator("#pdf").click()
    text = await _pdftotext(Path(await (await download.value).path()))
    for expected in ("Briefing Situasi", "Peringkat wilayah", f"longsor susulan {marker}", late.title,
                     "Tetapkan status tanggap darurat?", "Kabupaten Batang Hari"):
        assert expected in text, (expected, text[:3000])

    # In English, and a later "last briefing" leaves the older changes out.
    await page.locator("#lang").click()
    await expect(page.locator("#part-ranking h2")).to_have_text("Regions in ranked order", timeout=WAIT_MS)
    await page.locator("#since").fill("2099-01-01T00:00")
    await page.locator("#since").dispatch_event("change")
    await expect(page.locator("#part-changes")).to_contain_text("None.", timeout=WAIT_MS)
    await page.screenshot(path=str(screenshot_dir() / "briefing-en.png"))
    await page.locator("#since-24").click()


def test_briefing_documents_are_for_the_room_only(own_gateway_stack: GatewayStack) -> None:
    stack = own_gateway_stack

    def get(path: str, token: str | None) -> int:
        request = urllib.request.Request(f"{stack.url}{path}",
                                         headers={"Authorization": f"Bearer {token}"} if token else {})
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return int(response.status)
        except urllib.error.HTTPError as exc:
            return exc.code

    responder = stack.token(Role.RESPONDER, "Andi", regions=[Region.KOTA_JAMBI])
    assert get("/briefing.md", None) == 401
    assert get("/briefing.md", responder) == 403
    assert get("/briefing.md?since=kemarin", stack.token(Role.OFFICER, "Petugas")) == 400
    assert get("/briefing.md", stack.token(Role.SUPERVISOR, "Supervisor")) == 200


async def test_a_recommendation_becomes_a_task_in_one_click_or_is_dismissed_with_a_reason(
        browser: Browser, own_gateway_stack: GatewayStack, marker: str) -> None:
    stack = own_gateway_stack
    _, console = await open_page(browser, stack, "console", stack.token(Role.OFFICER, "Petugas Sari"), DESK)
    # A BPBD warning through the whole pipeline: the worker's own incident, so its desk takes the task.
    event = official_alert(marker, Region.BATANG_HARI, Severity.EXTREME, f"Banjir Muara Bulian ({marker})",
                           Point(-1.70, 103.26))
    raw = msgspec.json.encode(event)
    await produce(stack.stack.settings, [(raw_topic(Kind.DISASTER_ALERT), b"15.04", raw)])
    find = ("id => { const i = [...window.poskoConsole.incidents.values()]"
            ".find(i => i.items.some(t => t.id === id)); return i ? i.id : null; }")
    incident_id = uuid.UUID(await (await console.wait_for_function(find, arg=str(event.id), timeout=WAIT_MS))
                            .json_value())
    assess = recommendation(Region.BATANG_HARI, Hazard.BANJIR, "banjir.kaji-cepat",
                            f"Kaji cepat ke lokasi terdampak {marker}", "TRC BPBD Batang Hari",
                            "Peringatan Siaga BPBD Batang Hari", incident_id, due_in=timedelta(hours=3))
    shelter = recommendation(Region.BATANG_HARI, Hazard.BANJIR, "banjir.posko-pengungsian",
                             f"Buka posko pengungsian {marker}", "Dinas Sosial", "TMA Batanghari 11,2 m",
                             incident_id)
    first = region_score(Region.BATANG_HARI, Hazard.BANJIR, 1, f"1 insiden Segera {marker}", 0.0, incident_id)
    await publish_ranking(stack.stack.settings, [first, assess, shelter])

    await expect(console.locator("#ranking")).to_contain_text(f"1 insiden Segera {marker}", timeout=WAIT_MS)
    await console.locator(f'#incidents [data-incident-id="{incident_id}"]').click()
    rec = console.locator(f'#recs [data-recommendation-id="{assess.id}"]')
    await expect(rec).to_contain_text("Peringatan Siaga BPBD Batang Hari", timeout=WAIT_MS)
    await expect(rec).to_contain_text("banjir.kaji-cepat")
    await rec.locator(".make-task").click()

    other = console.locator(f'#recs [data-recommendation-id="{shelter.id}"]')
    await other.locator(".dismiss").click()  # no reason yet: nothing is sent
    await other.locator(".dismiss-reason").fill("Posko pengungsian sudah dibuka kecamatan")
    await other.locator(".dismiss").click()
    await console.screenshot(path=str(screenshot_dir() / "console-recommendations.png"))

    def sent() -> list[Command] | None:
        mine = [c for c in _commands(stack)
                if (isinstance(c.action, CreateTask) and c.action.recommendation_id == assess.id)
                or (isinstance(c.action, DismissRecommendation) and c.action.recommendation_id == shelter.id)]
        return mine if len(mine) >= 2 else None

    commands = await asyncio.to_thread(wait_for, sent, 60, lambda: "create_task, dismiss on posko.commands")
    assert commands is not None
    created = next(c.action for c in commands if isinstance(c.action, CreateTask))
    assert (created.title, created.assignee, created.due_at, created.incident_id, created.region) == (
        assess.action, Assignee(AssigneeKind.TEAM, "TRC BPBD Batang Hari"), assess.due_at, incident_id,
        Region.BATANG_HARI)
    dismissals = [c.action for c in commands if isinstance(c.action, DismissRecommendation)]
    # Once (the click without a reason sent nothing), with its reason.
    assert [d.reason for d in dismissals] == ["Posko pengungsian sudah dibuka kecamatan"]
    assert all(c.actor.name == "Petugas Sari" for c in commands)
    # The desk applies the task. (The recommendation's status follows from the worker's ranking;
    # until that lands on this branch, the worker does not know dismiss_recommendation: this test
    # runs last in its module.)
    task_card = console.locator("#tasks .task", has_text=assess.action)
    await expect(task_card).to_be_visible(timeout=WAIT_MS)
