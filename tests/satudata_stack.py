"""A running Satu Data portal over a real worker and sink, fed data with personal details in it."""

from __future__ import annotations

import contextlib
import os
import random
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import msgspec

from connectors.simulator.stream import Simulator
from posko.net import free_port
from schemas.events import (
    Channel,
    CitizenReport,
    CitizenReportEvent,
    Event,
    Kind,
    Point,
    ReportCategory,
    ReporterContact,
    ReportStatus,
    ReportStatusChange,
    StatusStep,
    kind_of,
    new_event_id,
    utc_now,
)
from schemas.regions import Region
from schemas.topics import REPORT_STATUS, raw_topic
from tests.conftest import Stack, wait_for

# Personal details a report may carry, in every field it has: none may leave the portal.
NAME = "Siti Rahmawati Nurhaliza"
PHONE = "081234567890"
PHONE_INTL = "+62 812-3456-7890"
NIK = "1571024507900003"
EMAIL = "siti.rahma@contoh.id"
OFFICER = "Andi Saputra Wibisono"
SECRETS = (NAME, "Rahmawati", "Nurhaliza", PHONE, PHONE_INTL, "812-3456", "81234567890", NIK, EMAIL, OFFICER,
           "Wibisono", "Gang Mawar")
TOKEN = "dpmptsp:rahasia-dpmptsp-0123456789"
AGENCY_TOKEN = TOKEN.split(":", 1)[1]
MIN_COUNT = 5


def personal_report(region: Region | None, category: ReportCategory, index: int) -> CitizenReportEvent:
    """A report with a name, phones, an e-mail and a NIK-like number in every text field."""
    now = utc_now()
    return CitizenReportEvent(
        id=new_event_id(), source=f"wa-{PHONE}", occurred_at=now, received_at=now, region=region,
        location=Point(-1.61, 103.61) if region is None else None,
        payload=CitizenReport(
            channel=Channel.WHATSAPP, category=category,
            title=f"{NAME} NIK {NIK} melapor #{index}",
            text=f"Saya {NAME}, NIK {NIK}, rumah di Gang Mawar. Hubungi {PHONE_INTL} / {PHONE} / {EMAIL}.",
            reporter=ReporterContact(name=NAME, phone=PHONE_INTL, email=EMAIL)))


def status_change(report: CitizenReportEvent, status: ReportStatus) -> ReportStatusChange:
    """An officer's status change whose name and note carry personal details too."""
    now = utc_now()
    step = StatusStep(status=status, at=now, by=OFFICER, note=f"Sudah menelepon {NAME} di {PHONE}")
    return ReportStatusChange(
        id=new_event_id(), tracking=f"LPR-{NIK}", report_id=report.id, channel=report.payload.channel,
        category=report.payload.category, region=report.region, status=status, changed_at=now,
        changed_by=OFFICER, note=f"NIK {NIK}, telepon {PHONE}", history=[step])


def background_events() -> list[Event]:
    """Sector readings, official alerts and permit filings from the simulator (no reports)."""
    simulator = Simulator(random.Random(20260601))
    now = utc_now()
    events: list[Event] = list(simulator.indicator_history(now - timedelta(days=2), now)[:600])
    wanted = {Kind.DISASTER_ALERT: 40, Kind.PERMIT_FILING: 120}
    while any(wanted.values()):
        event = simulator.event(now)
        if wanted.get(kind := kind_of(event), 0) > 0:
            wanted[kind] -= 1
            events.append(event)
    return events


def records(events: list[Event], changes: list[ReportStatusChange]) -> list[tuple[str, bytes, bytes | None]]:
    """(topic, key, value) of the events on their raw topics and the changes on posko.report_status."""
    found: list[tuple[str, bytes, bytes | None]] = [
        (raw_topic(kind_of(e)), (e.region or "").encode(), msgspec.json.encode(e)) for e in events]
    found += [(REPORT_STATUS, c.tracking.encode(), msgspec.json.encode(c)) for c in changes]
    return found


@contextlib.contextmanager
def portal(stack: Stack, logs: Path) -> Iterator[str]:
    """`posko satudata serve` as a process on the stack's store; its URL once /healthz answers."""
    port = free_port()
    env = {**os.environ, **stack.env, "POSKO_SATUDATA_PORT": str(port), "POSKO_SATUDATA_TOKENS": TOKEN,
           "POSKO_SATUDATA_MIN_COUNT": str(MIN_COUNT), "POSKO_SATUDATA_CHUNK_ROWS": "7",
           "POSKO_SATUDATA_REFRESH_S": "3600"}
    log = logs / "satudata.log"
    with log.open("ab") as out:
        process = subprocess.Popen([sys.executable, "-m", "posko.cli", "satudata", "serve"], env=env,
                                   stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"

    def healthy() -> bool:
        assert process.poll() is None, log.read_text()
        with contextlib.suppress(httpx.HTTPError):
            return httpx.get(url + "/healthz", timeout=5).status_code == 200
        return False

    try:
        wait_for(healthy, 60, lambda: f"the portal to answer /healthz\n{log.read_text()[-2000:]}")
        yield url
    finally:
        process.terminate()
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
