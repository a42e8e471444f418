"""CAP over HTTP: the Atom feed and CAP 1.2 document of every alert, and a CAP push endpoint."""

from __future__ import annotations

import asyncio
import uuid
from typing import Annotated

import msgspec
from litestar import Request, Response, Router, get, post
from litestar.exceptions import HTTPException
from litestar.params import Parameter

from connectors.cap.importer import CapImporter, importer_path
from connectors.publisher import PUBLISHER, RawPublisher, raw_message
from posko.settings import Settings
from schemas.cap import atom_feed, export_alert
from schemas.events import DisasterAlertEvent, utc_now
from sinks.clickhouse.client import run_sql
from sinks.clickhouse.store import StoreError
from sinks.clickhouse.tables import DisasterAlertRow, disaster_alert_event

ATOM_TYPE = "application/atom+xml; charset=utf-8"
CAP_TYPE = "application/cap+xml; charset=utf-8"
FEED_SIZE = 100
MAX_FEED_SIZE = 1000
_rows = msgspec.json.Decoder(DisasterAlertRow)


class ImportAnswer(msgspec.Struct):
    """What a CAP push became: the alert ids published, repeats, and what was refused and why."""

    published: list[uuid.UUID]
    unchanged: int
    problems: list[str]


def stored_alerts(settings: Settings, where: str = "", limit: int = FEED_SIZE) -> list[DisasterAlertEvent]:
    """The newest alerts in ClickHouse (one row per alert: its latest version)."""
    sql = (f"SELECT * FROM posko.disaster_alerts {where} ORDER BY version DESC LIMIT {limit} "
           "SETTINGS date_time_output_format = 'iso'")
    try:
        data = run_sql(settings, sql, "JSONEachRow", open_directly=False)
    except (StoreError, ConnectionError, OSError) as exc:
        raise HTTPException(status_code=503, detail=f"the alert store is not available ({exc}); "
                            "start the ClickHouse sink (posko sink) and try again") from exc
    return [disaster_alert_event(_rows.decode(line)) for line in data.splitlines() if line.strip()]


def cap_router(settings: Settings) -> Router:
    """The CAP routes: GET /v1/cap/alerts.atom, GET /v1/cap/alerts/{id}.xml, POST /v1/cap/alerts."""
    importer = CapImporter(importer_path(settings))
    lock = asyncio.Lock()

    @get("/alerts.atom", media_type=ATOM_TYPE, sync_to_thread=False)
    async def alerts_atom(
        request: Request, limit: Annotated[int, Parameter(ge=1, le=MAX_FEED_SIZE)] = FEED_SIZE,
    ) -> Response[bytes]:
        """The newest alerts (by their latest version) as an Atom feed, each entry carrying its CAP alert."""
        events = await asyncio.to_thread(stored_alerts, settings, "", limit)
        base = str(request.base_url).rstrip("/")
        body = atom_feed(events, settings.cap_sender, f"{base}/v1/cap/alerts.atom",
                         base + "/v1/cap/alerts/{id}.xml")
        return Response(body, media_type=ATOM_TYPE)

    @get("/alerts/{name:str}", media_type=CAP_TYPE, sync_to_thread=False)
    async def alert_xml(name: str) -> Response[bytes]:
        """One alert's latest version as a CAP 1.2 document: /v1/cap/alerts/<id>.xml."""
        try:
            alert_id = uuid.UUID(name.removesuffix(".xml")) if name.endswith(".xml") else None
        except ValueError:
            alert_id = None
        found = [] if alert_id is None else await asyncio.to_thread(
            stored_alerts, settings, f"WHERE id = '{alert_id}'", 1)
        if not found:
            raise HTTPException(status_code=404, detail=f"no alert {name}: alerts are listed in "
                                "/v1/cap/alerts.atom, each at /v1/cap/alerts/<id>.xml")
        return Response(export_alert(found[0], settings.cap_sender), media_type=CAP_TYPE)

    @post("/alerts", status_code=202, sync_to_thread=False)
    async def push_alert(request: Request) -> ImportAnswer:
        """Take a CAP 1.2 alert (or an Atom/RSS feed of them) and publish it; 400 says what is wrong."""
        content_type = request.headers.get("content-type", "").split(";")[0].strip()
        if content_type not in ("application/cap+xml", "application/xml", "text/xml",
                                "application/atom+xml", "application/rss+xml"):
            raise HTTPException(status_code=415, detail=f"content type {content_type or 'none'!r}: "
                                "send CAP as application/cap+xml (or application/xml)")
        body = await request.body()
        publisher: RawPublisher = request.app.state[PUBLISHER]
        async with lock:  # one importer memory: pushes are read one after another
            result = importer.read(body, utc_now().replace(microsecond=0), source="cap")
            if not result.events and result.problems:
                raise HTTPException(status_code=400, detail="; ".join(result.problems))
            if result.events:
                await publisher.publish([raw_message(event) for event in result.events])
            await asyncio.to_thread(importer.save)
        return ImportAnswer([e.id for e in result.events], result.unchanged, result.problems)

    return Router("/v1/cap", route_handlers=[alerts_atom, alert_xml, push_alert])
