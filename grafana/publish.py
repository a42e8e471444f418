"""Pushing the committed dashboards to a running Grafana through its HTTP API (grafana-client)."""

from __future__ import annotations

import json
from pathlib import Path

from grafana_client import GrafanaApi
from grafana_client.client import GrafanaClientError, GrafanaException, GrafanaUnauthorizedError

from grafana.dashboards import DASHBOARDS_DIR
from posko.errors import PoskoError

FOLDER_UID = "posko"
FOLDER_TITLE = "Posko Jambi"


class PublishError(PoskoError, RuntimeError):
    """Grafana refused the dashboards or cannot be reached; the message says what to do."""


def publish(url: str, token: str, directory: Path = DASHBOARDS_DIR) -> list[str]:
    """Create the Posko folder if needed and overwrite every dashboard in it; return their uids."""
    files = sorted(directory.glob("*.json"))
    if not files:
        raise PublishError(f"no dashboards in {directory}: run `posko dashboards build` first")
    api = GrafanaApi.from_url(url, credential=token or None)
    try:
        _ensure_folder(api)
        published = []
        for path in files:
            board = json.loads(path.read_text())
            board.pop("id", None)  # Grafana matches on uid; a numeric id would be another instance's
            api.dashboard.update_dashboard({
                "dashboard": board, "folderUid": FOLDER_UID, "overwrite": True,
                "message": f"posko dashboards publish ({path.name})",
            })
            published.append(str(board["uid"]))
        return published
    except GrafanaUnauthorizedError as exc:
        raise PublishError(f"Grafana at {url} refused the token (401): give a service account token "
                           "with the Editor role (--token or POSKO_GRAFANA_TOKEN)") from exc
    except GrafanaException as exc:
        raise PublishError(f"Grafana at {url} answered {exc.status_code}: {exc.message}") from exc
    except OSError as exc:
        raise PublishError(f"cannot reach Grafana at {url}: {exc}") from exc


def _ensure_folder(api: GrafanaApi) -> None:
    try:
        api.folder.get_folder(FOLDER_UID)
    except GrafanaClientError as exc:
        if exc.status_code != 404:
            raise
        api.folder.create_folder(FOLDER_TITLE, uid=FOLDER_UID)
