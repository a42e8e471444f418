"""`posko dashboards publish` against a stand-in for Grafana's HTTP API (no Grafana server runs here)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import msgspec
import pytest
from click.testing import CliRunner

from grafana.dashboards import DASHBOARDS_DIR
from posko.cli import main

TOKEN = "glsa_test_token"


class Request(msgspec.Struct):
    """One request the stand-in received."""

    method: str
    path: str
    authorization: str
    body: dict[str, object] | None


class RecordingGrafana(ThreadingHTTPServer):
    """A stand-in for Grafana's folder and dashboard API: records requests, checks the token.

    Named as a stand-in: Grafana itself cannot be installed on these machines.
    """

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.requests: list[Request] = []
        self.folders: set[str] = set()

    @property
    def url(self) -> str:
        """Where it listens."""
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(BaseHTTPRequestHandler):
    server: RecordingGrafana

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""

    def _answer(self, status: int, body: dict[str, object]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _record(self) -> Request | None:
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length)) if length else None
        request = Request(self.command, self.path, self.headers.get("Authorization", ""), body)
        self.server.requests.append(request)
        if request.authorization != f"Bearer {TOKEN}":
            self._answer(401, {"message": "Unauthorized"})
            return None
        return request

    def do_GET(self) -> None:
        """Folders by uid."""
        if (request := self._record()) is None:
            return
        uid = request.path.rsplit("/", 1)[-1]
        if uid in self.server.folders:
            self._answer(200, {"uid": uid, "title": "Posko Jambi"})
        else:
            self._answer(404, {"message": "folder not found"})

    def do_POST(self) -> None:
        """Create a folder, save a dashboard."""
        if (request := self._record()) is None or request.body is None:
            return
        if request.path == "/api/folders":
            self.server.folders.add(str(request.body["uid"]))
            self._answer(200, {"uid": request.body["uid"]})
        elif request.path == "/api/dashboards/db":
            board = request.body["dashboard"]
            assert isinstance(board, dict)
            self._answer(200, {"status": "success", "uid": board["uid"], "version": 1})
        else:
            self._answer(404, {"message": "not found"})


@pytest.fixture
def grafana() -> Iterator[RecordingGrafana]:
    """The stand-in, serving on a free port."""
    server = RecordingGrafana()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_publish_creates_the_folder_and_overwrites_every_dashboard(grafana: RecordingGrafana) -> None:
    result = CliRunner().invoke(main, ["dashboards", "publish", "--url", grafana.url, "--token", TOKEN])
    assert result.exit_code == 0, result.output
    saved = [r for r in grafana.requests if r.path == "/api/dashboards/db"]
    committed = {json.loads(p.read_text())["uid"] for p in DASHBOARDS_DIR.glob("*.json")}
    assert len(committed) == 12
    assert {r.body["dashboard"]["uid"] for r in saved if r.body} == committed  # type: ignore[index]
    assert all(r.body and r.body["overwrite"] is True and r.body["folderUid"] == "posko" for r in saved)
    assert next(r.path for r in grafana.requests if r.method == "POST") == "/api/folders"
    assert "published 12 dashboards" in result.output

    grafana.requests.clear()  # a second run finds the folder and only overwrites
    again = CliRunner().invoke(main, ["dashboards", "publish", "--url", grafana.url, "--token", TOKEN])
    assert again.exit_code == 0, again.output
    assert not [r for r in grafana.requests if r.path == "/api/folders"]


def test_publish_with_a_wrong_token_says_what_to_do(grafana: RecordingGrafana) -> None:
    result = CliRunner().invoke(main, ["dashboards", "publish", "--url", grafana.url, "--token", "wrong"])
    assert result.exit_code == 1
    assert "refused the token (401)" in result.output
    assert "service account token" in result.output


def test_build_check_passes_on_the_committed_dashboards() -> None:
    result = CliRunner().invoke(main, ["dashboards", "build", "--check"])
    assert result.exit_code == 0, result.output
    assert "up to date" in result.output
