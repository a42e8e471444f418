"""The gateway's plain HTTP: the pages, /healthz, the websocket's origin check, and sitreps.

`GET /sitrep/<incident id>.pdf` (or `.html`, `.md`) answers the incident's situation report
(documents/), for the console's button; `GET /briefing.pdf` (or `.html`, `.md`; `?since=<ISO time>`
of the last briefing, default 24 h ago; `&lang=en`; `&fragment=1` for the page's part of HTML) the
briefing of what the gateway holds, for the /briefing page. Both requests carry the holder's
credential as `Authorization: Bearer pk_…`, and only the room (officers, supervisors, admins, the
wall) gets one.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from http import HTTPStatus
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlsplit

import msgspec
from websockets.asyncio.server import ServerConnection
from websockets.datastructures import Headers
from websockets.http11 import Request, Response

from posko.credentials import CredentialRing
from posko.settings import Settings
from sinks.push.static import pages

if TYPE_CHECKING:
    from documents.briefing import Situation

TEXT = "text/plain; charset=utf-8"
_SITREP = re.compile(r"/sitrep/([0-9a-fA-F-]{36})\.(pdf|html|md)")
_BRIEFING = re.compile(r"/briefing\.(pdf|html|md)")
BRIEFING_SINCE = timedelta(hours=24)  # the last briefing, when the request does not say
_TYPES = {"pdf": "application/pdf", "html": "text/html; charset=utf-8", "md": "text/markdown; charset=utf-8"}
_encode = msgspec.json.Encoder().encode


def response(status: HTTPStatus, content_type: str, body: bytes) -> Response:
    """An HTTP response that no cache keeps and no browser sniffs."""
    headers = Headers()
    headers["Content-Type"] = content_type
    headers["Content-Length"] = str(len(body))
    headers["Cache-Control"] = "no-cache"
    headers["X-Content-Type-Options"] = "nosniff"
    return Response(status.value, status.phrase, headers, body)


class Http:
    """What the gateway answers over plain HTTP on its port."""

    def __init__(self, settings: Settings, credentials: CredentialRing,
                 health: Callable[[], dict[str, object]],
                 situation: Callable[[datetime], Situation] | None = None) -> None:
        self.settings, self.credentials, self.health = settings, credentials, health
        self.situation = situation  # the briefing's facts from the gateway's boards
        self._pages = pages()
        self._origins = {o.strip().rstrip("/") for o in settings.gateway_origins.split(",") if o.strip()}
        # One document at a time: rendering is CPU work, and the gateway's loop must keep pushing.
        self._rendering = asyncio.Semaphore(1)

    async def process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        """Check the origin of websocket requests; answer every other path with a page, a sitrep
        or a 404."""
        path = urlsplit(request.path).path
        if path == "/ws":
            origin = request.headers.get("Origin")
            if origin is not None and not self.origin_allowed(origin, request.headers.get("Host")):
                return response(HTTPStatus.FORBIDDEN, TEXT,
                                f"origin {origin} is not allowed: open the wall from this gateway, "
                                "or add the origin to POSKO_GATEWAY_ORIGINS\n".encode())
            return None
        if path == "/":
            redirect = response(HTTPStatus.FOUND, TEXT, b"see /wall\n")
            redirect.headers["Location"] = "/wall"
            return redirect
        if path == "/healthz":
            return response(HTTPStatus.OK, "application/json", _encode(self.health()))
        if path.startswith("/sitrep/"):
            return await self.sitrep(path, request)
        if _BRIEFING.fullmatch(path):
            return await self.briefing(path, request)
        page = self._pages.get(path)
        if page is None:
            return response(HTTPStatus.NOT_FOUND, TEXT,
                            f"no page at {path}: the wall is at /wall, the console at /console, "
                            "the responder page at /responder, the briefing at /briefing\n".encode())
        return response(HTTPStatus.OK, page[0], page[1])

    def origin_allowed(self, origin: str, host: str | None) -> bool:
        """Same-origin pages and the configured origins may open the websocket."""
        origin = origin.rstrip("/")
        return origin in self._origins or (host is not None and urlsplit(origin).netloc == host)

    async def sitrep(self, path: str, request: Request) -> Response:
        """An incident's sitrep for a holder of the room."""
        match = _SITREP.fullmatch(path)
        if match is None:
            return response(HTTPStatus.NOT_FOUND, TEXT, b"sitrep ada di /sitrep/<id insiden>.pdf|html|md / "
                                                        b"a sitrep is at /sitrep/<incident id>.pdf|html|md\n")
        if (refused := await self.refuse_outside_room(request, "sitrep", "sitreps")) is not None:
            return refused
        incident, fmt = uuid.UUID(match.group(1)), match.group(2)
        from documents.timeline import UnknownIncident  # the documents are loaded on first use

        try:
            async with self._rendering:
                body = await asyncio.to_thread(self._render, incident, fmt)
        except UnknownIncident:
            return response(HTTPStatus.NOT_FOUND, TEXT, f"insiden {incident} tidak tersimpan / no incident "
                                                        "of that id is stored (yet)\n".encode())
        except Exception as exc:  # the sink is not running, or ClickHouse is away
            problem = f"sitrep tidak dapat dibuat sekarang / cannot make the sitrep now: {exc}\n"
            return response(HTTPStatus.SERVICE_UNAVAILABLE, TEXT, problem.encode())
        made = response(HTTPStatus.OK, _TYPES[fmt], body)
        made.headers["Content-Disposition"] = f'inline; filename="sitrep-{incident}.{fmt}"'
        return made

    async def refuse_outside_room(self, request: Request, what_id: str, what_en: str) -> Response | None:
        """The refusal of a document request without a credential of the room; None when it has one."""
        presented = request.headers.get("Authorization", "")
        if not presented.startswith("Bearer "):
            return response(HTTPStatus.UNAUTHORIZED, TEXT, b"kredensial diperlukan / send the credential as "
                                                           b"Authorization: Bearer pk_...\n")
        checked = await asyncio.to_thread(self.credentials.check, presented.removeprefix("Bearer "))
        if checked.principal is None:
            return response(HTTPStatus.UNAUTHORIZED, TEXT, f"{checked.problem}\n".encode())
        if not checked.principal.sees_everything:
            refusal = (f"{what_id} hanya untuk ruang komando / {what_en} are for the command room "
                       "(officer, supervisor, admin)\n")
            return response(HTTPStatus.FORBIDDEN, TEXT, refusal.encode())
        return None

    async def briefing(self, path: str, request: Request) -> Response:
        """The briefing of what the gateway holds now, for a holder of the room."""
        match = _BRIEFING.fullmatch(path)
        assert match is not None and self.situation is not None
        if (refused := await self.refuse_outside_room(request, "briefing", "briefings")) is not None:
            return refused
        query = parse_qs(urlsplit(request.path).query)
        since_text = query.get("since", [""])[0]
        try:
            since = datetime.fromisoformat(since_text) if since_text else datetime.now(UTC) - BRIEFING_SINCE
        except ValueError:
            problem = (f"since={since_text!r} bukan waktu ISO 8601 / is not an ISO 8601 time: "
                       "e.g. since=2026-08-12T08:00:00%2B07:00\n")
            return response(HTTPStatus.BAD_REQUEST, TEXT, problem.encode())
        if since.tzinfo is None:
            since = since.replace(tzinfo=UTC)
        from documents.briefing import Format, Lang, present, render, to_html  # loaded on first use

        lang = Lang.EN if query.get("lang", [""])[0] == "en" else Lang.ID
        fmt = Format(match.group(1))
        facts = self.situation(since)  # on the loop: the boards change only there
        fragment = fmt is Format.HTML and query.get("fragment", [""])[0] == "1"
        try:
            async with self._rendering:
                body = await asyncio.to_thread(
                    lambda: to_html(present(facts, lang), fragment=True).encode() if fragment
                    else render(facts, fmt, lang))
        except Exception as exc:  # Typst failed: say so rather than drop the connection
            problem = f"briefing tidak dapat dibuat sekarang / cannot make the briefing now: {exc}\n"
            return response(HTTPStatus.SERVICE_UNAVAILABLE, TEXT, problem.encode())
        made = response(HTTPStatus.OK, _TYPES[fmt], body)
        stamp = facts.now.astimezone(UTC).strftime("%Y%m%d-%H%M")
        made.headers["Content-Disposition"] = f'inline; filename="briefing-{stamp}.{fmt}"'
        return made

    def _render(self, incident: uuid.UUID, fmt: str) -> bytes:
        from documents.sitrep import Format, render
        from documents.timeline import assemble
        from sinks.clickhouse.client import run_sql, store_database

        settings = self.settings
        timeline = assemble(lambda sql: run_sql(settings, sql, "JSONEachRow", open_directly=False), incident,
                            store_database(settings.clickhouse_url))
        return render(timeline, Format(fmt))
