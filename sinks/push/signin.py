"""Who stays signed in: the gateway re-reads the credential store every REFRESH_S and closes the
connections of credentials revoked or expired since they connected."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable

from posko.credentials import REFRESH_S, CredentialRing
from sinks.push.client import POLICY_VIOLATION, Client

log = logging.getLogger("posko.gateway")


async def watch_credentials(credentials: CredentialRing, clients: Iterable[Client],
                            stop: asyncio.Event) -> None:
    """Until `stop`: re-read the credentials every REFRESH_S, close the connections of revoked or
    expired ones (1008, with the reason)."""
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), REFRESH_S)
        try:
            await asyncio.to_thread(credentials.refresh, True)
        except Exception as exc:  # a locked or missing store: keep the last picture, say so
            log.warning("credentials not re-read (%s); retrying", exc)
            continue
        for client in list(clients):
            if problem := credentials.problem(client.principal):
                client.close(POLICY_VIOLATION, problem)
