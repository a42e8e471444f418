"""The intake's connection limits over raw sockets: slow and silent clients are closed, and
connections beyond the cap are refused (`posko intake` as a process on the session broker)."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from posko.credentials import CredentialStore
from posko.net import free_port
from posko.services import Service
from posko.settings import load_settings
from schemas.events import Channel
from schemas.identity import Role
from tests.conftest import wait_for

HEADER_TIMEOUT_S = 3.0
BODY_TIMEOUT_S = 3.0
MAX_CONNECTIONS = 4
# How much later than its deadline a busy 2-core machine may close a connection.
LATE_S = 3.0


class GuardedIntake:
    """`posko intake` with short read deadlines and a small connection cap."""

    def __init__(self, port: int, key: str) -> None:
        self.port = port
        self.key = key

    def connect(self) -> socket.socket:
        """A raw TCP connection to the intake."""
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=5)
        sock.settimeout(1.0)
        return sock


@pytest.fixture(scope="module")
def guarded(kafka_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[GuardedIntake]:
    """The intake on a free port with HEADER_TIMEOUT_S, BODY_TIMEOUT_S and MAX_CONNECTIONS."""
    path = tmp_path_factory.mktemp("intake-connections")
    env = {**kafka_env, "POSKO_INTAKE_PORT": str(free_port()),
           "POSKO_INTAKE_HEADER_TIMEOUT_S": str(HEADER_TIMEOUT_S),
           "POSKO_INTAKE_BODY_TIMEOUT_S": str(BODY_TIMEOUT_S),
           "POSKO_INTAKE_MAX_CONNECTIONS": str(MAX_CONNECTIONS)}
    settings = load_settings(env)
    key = CredentialStore(Path(settings.home)).issue(f"web-{path.name}", Role.CHANNEL, channel=Channel.WEB)[1]
    service = Service("intake", path, env)
    service.start()
    running = GuardedIntake(settings.intake_port, key)
    try:
        wait_for(lambda: _healthz(running) == 200, 90,
                 lambda: f"the intake to answer /healthz\n{service.tail()}")
        yield running
    finally:
        service.stop()


def _healthz(intake: GuardedIntake) -> int:
    try:
        return httpx.get(f"http://127.0.0.1:{intake.port}/healthz", timeout=5).status_code
    except httpx.TransportError:
        return 0


def _until_closed(sock: socket.socket, trickle: bytes = b"", within_s: float = 60.0) -> tuple[float, bytes]:
    """Send `trickle` one byte a second until the server closes; the seconds it took and what it said."""
    started = time.monotonic()
    answer = b""
    for position in range(len(trickle) + int(within_s)):
        if position < len(trickle):
            try:
                sock.send(trickle[position:position + 1])
            except OSError:  # closed between two bytes
                return time.monotonic() - started, answer
        try:
            data = sock.recv(4096)  # waits up to 1 s: the pace of the trickle
        except TimeoutError:
            continue
        except ConnectionResetError:
            return time.monotonic() - started, answer
        if not data:
            return time.monotonic() - started, answer
        answer += data
    pytest.fail(f"the intake kept the connection open for {time.monotonic() - started:.0f} s "
                f"(header deadline {HEADER_TIMEOUT_S:g} s, body deadline {BODY_TIMEOUT_S:g} s)")


def test_connection_sending_its_headers_one_byte_a_second_is_closed_at_the_header_deadline(
        guarded: GuardedIntake) -> None:
    with guarded.connect() as sock:
        took, answer = _until_closed(sock, b"GET /healthz HTTP/1.1\r\nHost: posko\r\nX-Slow: " + b"a" * 60)
    assert took < HEADER_TIMEOUT_S + LATE_S, took
    assert answer.startswith(b"HTTP/1.1 408 "), answer
    assert b'"error":"request_timeout"' in answer and b"did not arrive within 3 s" in answer


def test_connection_sending_nothing_is_closed_at_the_header_deadline(guarded: GuardedIntake) -> None:
    with guarded.connect() as sock:
        took, answer = _until_closed(sock)
    assert took < HEADER_TIMEOUT_S + LATE_S, took
    assert answer == b""  # nothing was asked, nothing is answered


def test_body_sent_one_byte_a_second_gets_408_at_the_body_deadline(guarded: GuardedIntake) -> None:
    headers = (f"POST /v1/reports HTTP/1.1\r\nHost: posko\r\nAuthorization: Bearer {guarded.key}\r\n"
               "Content-Type: application/json\r\nContent-Length: 200\r\n\r\n").encode()
    with guarded.connect() as sock:
        sock.sendall(headers)
        took, answer = _until_closed(sock, b'{"channel": "web", "title": "' + b"x" * 170)
    assert took < BODY_TIMEOUT_S + LATE_S, took
    assert answer.startswith(b"HTTP/1.1 408 "), answer
    assert b'"error":"request_timeout"' in answer and b"body did not arrive within 3 s" in answer


def test_connections_beyond_the_cap_get_503_until_others_close(guarded: GuardedIntake) -> None:
    holders = [guarded.connect() for _ in range(MAX_CONNECTIONS)]
    try:
        with guarded.connect() as sock:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: posko\r\n\r\n")
            _, answer = _until_closed(sock, within_s=HEADER_TIMEOUT_S)
        assert answer.startswith(b"HTTP/1.1 503 "), answer
        assert b'"error":"too_many_connections"' in answer and b"limit of 4 open connections" in answer
    finally:
        for holder in holders:
            holder.close()
    wait_for(lambda: _healthz(guarded) == 200, 10, "a request to be served once the holders closed")

