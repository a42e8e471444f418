"""Conditional HTTP GET: fetch a document again only when its server says it changed."""

from __future__ import annotations

from pathlib import Path

import httpx
import msgspec

from connectors.state import load_json, save_json

USER_AGENT = "Posko/0.1 (Pusdalops Provinsi Jambi)"


class Validators(msgspec.Struct):
    """What a server said about the copy we have (ETag, Last-Modified), for a conditional request."""

    etag: str = ""
    last_modified: str = ""


class ConditionalFetcher:
    """GETs documents with If-None-Match / If-Modified-Since from the last copy that was used.

    With a path, the validators are kept in that file, so a poller run again (`--once` from
    cron, or after a restart) still asks only for what changed.
    """

    def __init__(self, client: httpx.AsyncClient, path: Path | None = None) -> None:
        self.client = client
        self.path = path
        self.validators: dict[str, Validators] = {}
        if path is not None:
            self.validators = load_json(path, dict[str, Validators]) or {}

    async def get(self, url: str) -> httpx.Response | None:
        """The document, or None when it has not changed (304); httpx.HTTPError on failure."""
        seen = self.validators.get(url, Validators())
        headers = {"User-Agent": USER_AGENT}
        if seen.etag:
            headers["If-None-Match"] = seen.etag
        if seen.last_modified:
            headers["If-Modified-Since"] = seen.last_modified
        response = await self.client.get(url, headers=headers)
        if response.status_code == 304:
            return None
        response.raise_for_status()
        return response

    def used(self, url: str, response: httpx.Response) -> None:
        """Remember a response's validators once its document was read (a bad copy is fetched again)."""
        self.validators[url] = Validators(response.headers.get("ETag", ""),
                                          response.headers.get("Last-Modified", ""))

    def save(self) -> None:
        """Write the validators to the file, when there is one."""
        if self.path is None:
            return
        save_json(self.path, self.validators)
