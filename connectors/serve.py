"""The connectors' HTTP service: the CAP feed and push endpoint and the OSS-RBA endpoints."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import uvicorn
from litestar import Litestar, Router

from connectors.cap.routes import cap_router
from connectors.oss.permits import oss_router
from connectors.publisher import PUBLISHER, RawPublisher
from posko.settings import Settings


def connector_routers(settings: Settings) -> list[Router]:
    """Every connector route; their POST handlers use the RawPublisher in app.state['raw_publisher']."""
    return [cap_router(settings), oss_router(settings)]


def publisher_lifespan(
    settings: Settings,
) -> Callable[[Litestar], AbstractAsyncContextManager[None]]:
    """A Litestar lifespan that holds a started RawPublisher in the app state while the app runs."""

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        async with RawPublisher(settings) as publisher:
            app.state[PUBLISHER] = publisher
            yield

    return lifespan


def create_connectors_app(settings: Settings) -> Litestar:
    """The connectors' ASGI app."""
    return Litestar(route_handlers=connector_routers(settings), lifespan=[publisher_lifespan(settings)])


def serve_connectors(settings: Settings) -> None:
    """Serve the connectors' HTTP endpoints with uvicorn until stopped."""
    uvicorn.run(create_connectors_app(settings), host=settings.connectors_host,
                port=settings.connectors_port, log_level="warning")
