"""The earthquake poller: fetches BMKG's feeds (and USGS's, when set) with conditional requests
and publishes one alert per earthquake across all of them."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from pathlib import Path

import httpx
import msgspec

from connectors.bmkg.quakes import QuakeBook
from connectors.fetch import ConditionalFetcher
from connectors.publisher import RawPublisher, raw_message
from connectors.state import state_path
from posko.settings import Settings
from schemas.bmkg import BmkgFormatError, Sighting, decode_bmkg
from schemas.events import utc_now
from schemas.usgs import UsgsFormatError, decode_usgs, is_usgs, parse_area

log = logging.getLogger("posko.bmkg")


class PollReport(msgspec.Struct, kw_only=True):
    """What one poll of every feed did."""

    fetched: list[str] = []
    not_modified: list[str] = []
    failed: dict[str, str] = {}
    published: int = 0
    # USGS quakes skipped for lying outside POSKO_USGS_AREA.
    outside: int = 0


class BmkgPoller:
    """Polls BMKG's feeds and USGS's; each earthquake becomes one alert, updated when a feed says more."""

    def __init__(self, settings: Settings, client: httpx.AsyncClient, book: QuakeBook) -> None:
        self.urls = settings.bmkg_urls + settings.usgs_urls
        try:
            self.usgs_area = parse_area(settings.usgs_area)
        except ValueError as exc:
            raise UsgsFormatError(f"POSKO_USGS_AREA: {exc}") from exc
        self.fetcher = ConditionalFetcher(client, book_path(settings).with_name("bmkg-validators.json"))
        self.book = book

    async def _fetch(self, url: str, report: PollReport) -> list[Sighting]:
        try:
            response = await self.fetcher.get(url)
            if response is None:
                report.not_modified.append(url)
                return []
            if is_usgs(response.content):
                feed = decode_usgs(response.content, self.usgs_area)
                report.outside += feed.outside
                sightings = feed.sightings
            else:
                sightings = decode_bmkg(response.content)
        except (httpx.HTTPError, BmkgFormatError, UsgsFormatError) as exc:
            report.failed[url] = str(exc) or type(exc).__name__
            log.warning("earthquake feed %s: %s", url, report.failed[url])
            return []
        self.fetcher.used(url, response)
        report.fetched.append(url)
        return sightings

    async def poll(self, publisher: RawPublisher) -> PollReport:
        """Fetch every feed once, publish new and changed quakes, then remember them."""
        report = PollReport()
        found = await asyncio.gather(*(self._fetch(url, report) for url in self.urls))
        sightings: Sequence[Sighting] = [s for group in found for s in group]
        events = self.book.record(sightings, utc_now().replace(microsecond=0))
        if events:
            await publisher.publish([raw_message(event) for event in events])
        self.book.save()  # after Kafka has them: a crash before resends rather than loses
        self.fetcher.save()
        report.published = len(events)
        return report


def book_path(settings: Settings) -> Path:
    """Where the poller remembers the quakes it published."""
    return state_path(settings, "bmkg-quakes.json")


async def run_bmkg(settings: Settings, once: bool = False) -> PollReport:
    """Poll BMKG every bmkg_poll_s seconds (or once); return the last poll's report."""
    book = QuakeBook(book_path(settings))
    async with httpx.AsyncClient(timeout=30.0, follow_redirects=True) as client, \
            RawPublisher(settings) as publisher:
        poller = BmkgPoller(settings, client, book)
        while True:
            report = await poller.poll(publisher)
            log.info("BMKG poll: %d fetched, %d not modified, %d failed, %d alerts published",
                     len(report.fetched), len(report.not_modified), len(report.failed), report.published)
            if once:
                return report
            await asyncio.sleep(settings.bmkg_poll_s)

