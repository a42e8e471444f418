"""The fan-out benchmark's baseline: posko.alerts from Kafka to every client with bare `websockets.broadcast`.

No auth, no scope, no queue, no journal: what pushing the same messages costs at the least.
Run as `python -m bench.broadcast_server BOOTSTRAP HOST PORT`.
"""

from __future__ import annotations

import sys
from http import HTTPStatus

from aiokafka import AIOKafkaConsumer
from websockets.asyncio.server import ServerConnection, broadcast, serve
from websockets.http11 import Request, Response

from schemas.topics import ALERTS


async def run_broadcast_server(bootstrap: str, host: str, port: int) -> None:
    """Serve until killed."""
    clients: set[ServerConnection] = set()
    ready = False

    async def handler(ws: ServerConnection) -> None:
        clients.add(ws)
        try:
            await ws.wait_closed()
        finally:
            clients.discard(ws)

    def health(connection: ServerConnection, request: Request) -> Response | None:
        if request.path == "/healthz":
            return connection.respond(HTTPStatus.OK if ready else HTTPStatus.SERVICE_UNAVAILABLE, "ok\n")
        return None

    consumer = AIOKafkaConsumer(ALERTS, bootstrap_servers=bootstrap, enable_auto_commit=False,
                                fetch_max_wait_ms=20, auto_offset_reset="latest",
                                group_id=f"bench-broadcast-{port}")
    await consumer.start()
    seq = 0
    async with serve(handler, host, port, process_request=health, compression=None):
        while True:
            batch = await consumer.getmany(timeout_ms=200)
            ready = ready or bool(consumer.assignment())
            for records in batch.values():
                for record in records:
                    seq += 1
                    value = (record.value or b"").decode()
                    broadcast(clients, f'{{"type":"alert","seq":{seq},"alert":{value}}}')


if __name__ == "__main__":
    from posko.loop import run_async

    run_async(run_broadcast_server(sys.argv[1], sys.argv[2], int(sys.argv[3])))
