"""Serving the intake: deadlines for reading a request, and a cap on open connections.

uvicorn (0.54) times out only idle keep-alive connections, and every byte received resets that
timer, so a client sending its headers one byte a second, or connecting and sending nothing,
holds a connection as long as it likes; enough of them exhaust the server (slowloris). See
https://github.com/Kludex/uvicorn/issues/157 (closed without a header or body read timeout).
ASGI code runs only once the headers are in, so the header deadline and the connection cap live
in uvicorn's HTTP protocol (httptools, pinned in pyproject.toml); the body deadline wraps the ASGI
`receive`, so the app answers 408 in its own shape.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import msgspec
from litestar.exceptions import HTTPException
from litestar.types import ASGIApp, Receive, Scope, Send
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from connectors.intake.models import Problem
from posko.settings import Settings

log = logging.getLogger("posko.intake")
REFUSED_LOG_EVERY_S = 10.0


Headers = list[tuple[bytes, bytes]]


def _problem_response(problem: Problem, *headers: tuple[bytes, bytes]) -> tuple[Headers, bytes]:
    body = msgspec.json.encode(problem)
    return [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
            (b"connection", b"close"), *headers], body


def guarded_protocol(settings: Settings) -> type[HttpToolsProtocol]:
    """uvicorn's httptools protocol with the header deadline and connection cap of `settings`."""
    header_timeout_s = settings.intake_header_timeout_s
    max_connections = settings.intake_max_connections
    headers, body = _problem_response(Problem(
        503, "too_many_connections", f"the intake has its limit of {max_connections} open connections; "
        "send it again in a second (Retry-After)"), (b"retry-after", b"1"))

    async def at_capacity(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 503, "headers": headers})
        await send({"type": "http.response.body", "body": body, "more_body": False})

    refused_logged_at = [float("-inf")]
    timeout_headers, timeout_body = _problem_response(Problem(
        408, "request_timeout", f"the request line and headers did not arrive within {header_timeout_s:g} s; "
        "send the whole request at once"))
    timed_out = b"".join([b"HTTP/1.1 408 Request Timeout\r\n",
                          *(name + b": " + value + b"\r\n" for name, value in timeout_headers),
                          b"\r\n", timeout_body])

    class GuardedHttpToolsProtocol(HttpToolsProtocol):
        """A connection must send a request's headers within the deadline, and be within the cap."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._deadline: asyncio.TimerHandle | None = None
            self._in_request = False  # headers are in, the response is not complete yet
            self._begun = False  # bytes of a request whose headers are not complete yet came

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            if len(self.connections) > max_connections:
                # Answered once its headers are in (a response before the request would reach
                # most clients as a reset connection); the header deadline still applies.
                self.app = at_capacity
                now = self.loop.time()
                if now - refused_logged_at[0] > REFUSED_LOG_EVERY_S:  # not one line per connection
                    refused_logged_at[0] = now
                    log.warning("refusing connections: %d open, the limit is %d "
                                "(POSKO_INTAKE_MAX_CONNECTIONS)", len(self.connections), max_connections)
            self._arm()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

        def data_received(self, data: bytes) -> None:
            if self._deadline is None and not self._in_request:
                self._arm()  # bytes of the next request on a kept-alive connection
            super().data_received(data)

        def on_message_begin(self) -> None:
            super().on_message_begin()
            self._begun = True

        def on_headers_complete(self) -> None:
            self._disarm()
            self._in_request, self._begun = True, False
            super().on_headers_complete()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            if not self.pipeline:
                self._in_request = False
                if self._begun:
                    self._arm()

        def _arm(self) -> None:
            self._disarm()
            self._deadline = self.loop.call_later(header_timeout_s, self._expired)

        def _disarm(self) -> None:
            if self._deadline is not None:
                self._deadline.cancel()
                self._deadline = None

        def _expired(self) -> None:
            self._deadline = None
            if self.transport.is_closing():
                return
            log.info("closing a connection from %s: no complete request headers within %g s",
                     self.client, header_timeout_s)
            if self._begun:
                self.transport.write(timed_out)
            self.transport.close()

    return GuardedHttpToolsProtocol


class BodyDeadline:
    """ASGI middleware: a request's body must arrive within `timeout_s` of its headers, else 408."""

    def __init__(self, app: ASGIApp, timeout_s: float) -> None:
        self.app = app
        self.timeout_s = timeout_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Run the app with a `receive` that gives up at the deadline."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        deadline = asyncio.get_running_loop().time() + self.timeout_s
        # uvicorn's httptools cycle (the bound `receive`) knows when the whole body is in: then
        # `receive` does not wait, and the deadline (a Timeout a request, 3 % of the intake's CPU)
        # is not needed. Another server, or a later uvicorn without the attribute: always timed.
        cycle = getattr(receive, "__self__", None)
        complete = False

        async def receive_in_time() -> Any:
            nonlocal complete
            if complete or getattr(cycle, "more_body", True) is False:
                return await receive()
            try:
                async with asyncio.timeout_at(deadline):
                    message = await receive()
            except TimeoutError:
                raise HTTPException(
                    status_code=408, headers={"Connection": "close"},
                    detail=f"the body did not arrive within {self.timeout_s:g} s of the headers; "
                           "send the whole request at once") from None
            complete = message["type"] != "http.request" or not message.get("more_body", False)
            return message

        await self.app(scope, receive_in_time, send)
