"""The gateway's plain HTTP: the pages, /healthz, the websocket's origin check, and sitreps.

`GET /sitrep/<incident id>.pdf` (or `.html`, `.md`) answers the incident's situation report
(documents/), for the console's button: the request carries the holder's credential as
`Authorization: Bearer pk_…`, and only the room (officers, supervisors, admins, the wall) gets one.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Callable
from http import HTTPStatus
from urllib.parse import urlsplit

import msgspec
from websockets.asyncio.server import ServerConnection
from websockets.datastructures import Headers
from websockets.http11 import Request, Response

from posko.credentials import CredentialRing
from posko.settings import Settings
from sinks.push.static import pages

TEXT = "text/plain; charset=utf-8"
_SITREP = re.compile(r"/sitrep/([0-9a-fA-F-]{36})\.(pdf|html|md)")
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
                 health: Callable[[], dict[str, object]]) -> None:
        self.settings, self.credentials, self.health = settings, credentials, health
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
        page = self._pages.get(path)
        if page is None:
            return response(HTTPStatus.NOT_FOUND, TEXT,
                            f"no page at {path}: the wall is at /wall, the console at /console, "
                            "the responder page at /responder\n".encode())
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
        presented = request.headers.get("Authorization", "")
        if not presented.startswith("Bearer "):
            return response(HTTPStatus.UNAUTHORIZED, TEXT, b"kredensial diperlukan / send the credential as "
                                                           b"Authorization: Bearer pk_...\n")
        checked = await asyncio.to_thread(self.credentials.check, presented.removeprefix("Bearer "))
        if checked.principal is None:
            return response(HTTPStatus.UNAUTHORIZED, TEXT, f"{checked.problem}\n".encode())
        if not checked.principal.sees_everything:
            return response(HTTPStatus.FORBIDDEN, TEXT, b"sitrep hanya untuk ruang komando / sitreps are for "
                                                        b"the command room (officer, supervisor, admin)\n")
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

    def _render(self, incident: uuid.UUID, fmt: str) -> bytes:
        from documents.sitrep import Format, render
        from documents.timeline import assemble
        from sinks.clickhouse.client import run_sql, store_database

        settings = self.settings
        timeline = assemble(lambda sql: run_sql(settings, sql, "JSONEachRow", open_directly=False), incident,
                            store_database(settings.clickhouse_url))
        return render(timeline, Format(fmt))
