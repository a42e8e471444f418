"""The CAP importer: CAP 1.2 alerts and feeds (files, URLs, pushes) as disaster alert events."""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import datetime
from pathlib import Path

import httpx
import msgspec

from connectors.fetch import ConditionalFetcher
from connectors.publisher import RawPublisher, raw_message
from connectors.state import load_json, save_json, state_path
from posko.settings import Settings
from schemas.cap import (
    CapError,
    CapMessage,
    area_touches,
    embedded_alerts,
    linked_alerts,
    parse_xml,
    read_alert,
)
from schemas.events import DisasterAlertEvent, MsgType, Urgency, utc_now
from schemas.regions import Region, parse_regions, regions_shape

log = logging.getLogger("posko.cap")


class Imported(msgspec.Struct, kw_only=True):
    """What one CAP document gave: events to publish and what could not be read, with why."""

    events: list[DisasterAlertEvent] = []
    problems: list[str] = []
    unchanged: int = 0
    # Alerts left out because their area does not touch POSKO_CAP_AREA.
    outside: int = 0
    # A feed embedding no alert: the CAP documents it links to (fetched when importing).
    linked: list[str] = []
    # Linked documents fetched (and read, or named in `problems`).
    followed: int = 0

    def add(self, other: Imported) -> None:
        """Count another document's result into this one."""
        self.events += other.events
        self.problems += other.problems
        self.unchanged += other.unchanged
        self.outside += other.outside
        self.followed += other.followed


class CapImporter:
    """Turns CAP documents into events; remembers the alerts it imported (in a file when given).

    The memory lets a Cancel without an <info> block call off an alert imported before, and
    keeps a feed read again from publishing the same alert twice.
    """

    def __init__(self, path: Path | None = None, area: list[Region] | None = None) -> None:
        self.path = path
        # Only alerts touching these kabupaten/kota are kept (None: every alert).
        self.area = area
        self._shape = regions_shape(area) if area else None
        self.alerts: dict[uuid.UUID, DisasterAlertEvent] = {}
        if path is not None:
            stored = load_json(path, list[DisasterAlertEvent]) or []
            self.alerts = {event.id: event for event in stored}

    def read(self, data: bytes, received_at: datetime, source: str = "cap", base: str = "") -> Imported:
        """The events of a CAP alert or of an Atom/RSS feed embedding alerts; the links of a feed
        that only links to them (resolved against `base`, the feed's URL)."""
        result = Imported()
        try:
            root = parse_xml(data)
            elements = embedded_alerts(root)
        except CapError as exc:
            result.problems.append(str(exc))
            return result
        if not elements:
            result.linked = linked_alerts(root, base)
        for number, element in enumerate(elements, 1):
            try:
                message = read_alert(element, received_at, source)
                event = self._event(message)
            except CapError as exc:
                where = f"alert {number} of {len(elements)}: " if len(elements) > 1 else ""
                result.problems.append(f"{where}{exc}")
                continue
            if self._shape is not None and self.area and area_touches(
                    event.payload.area, event.location, self.area, self._shape) is False:
                result.outside += 1
                continue
            known = self.alerts.get(event.id)
            if known is not None and _not_newer(event, known):
                result.unchanged += 1
                continue
            self.alerts[event.id] = event
            result.events.append(event)
        return result

    def _event(self, message: CapMessage) -> DisasterAlertEvent:
        if message.event is not None:
            return message.event
        # A Cancel without info: the alert it calls off, marked cancelled.
        known = self.alerts.get(message.alert_id)
        if known is None:
            raise CapError(f"Cancel {message.identifier} has no <info> block and refers to an alert "
                           "Posko has not imported: nothing to cancel (send the alert first, or a "
                           "Cancel with its <info>)")
        payload = msgspec.structs.replace(known.payload, msg_type=MsgType.CANCEL, sent=message.sent,
                                          urgency=Urgency.PAST)
        return msgspec.structs.replace(known, payload=payload, received_at=utc_now())

    def save(self) -> None:
        """Write what was imported to the file, when there is one."""
        if self.path is None:
            return
        save_json(self.path, list(self.alerts.values()))


def _not_newer(event: DisasterAlertEvent, known: DisasterAlertEvent) -> bool:
    sent, known_sent = event.payload.sent, known.payload.sent
    if sent is not None and known_sent is not None and sent != known_sent:
        return sent < known_sent
    return event.payload == known.payload


def cap_area(settings: Settings) -> list[Region] | None:
    """The kabupaten/kota of POSKO_CAP_AREA (None when unset: every alert is kept)."""
    if not settings.cap_area.strip():
        return None
    try:
        return parse_regions(settings.cap_area)
    except ValueError as exc:
        raise CapError(f"POSKO_CAP_AREA={settings.cap_area!r}: {exc}") from exc


def importer_path(settings: Settings) -> Path:
    """Where the CAP importer remembers the alerts it imported."""
    return state_path(settings, "cap-alerts.json")


async def read_source(source: str, fetcher: ConditionalFetcher) -> bytes | None:
    """A CAP document from a file or an http(s) URL (None: unchanged since the last fetch)."""
    if not source.startswith(("http://", "https://")):
        return await asyncio.to_thread(Path(source).read_bytes)
    response = await fetcher.get(source)
    if response is None:
        return None
    fetcher.used(source, response)
    return response.content


async def import_sources(settings: Settings, sources: list[str], every_s: float | None = None) -> Imported:
    """Import CAP files and feed URLs onto Kafka, once or every `every_s` seconds; the last round's result."""
    importer = CapImporter(importer_path(settings), cap_area(settings))
    async with httpx.AsyncClient(timeout=30.0, follow_redirects=True) as client, \
            RawPublisher(settings) as publisher:
        fetcher = ConditionalFetcher(client)
        while True:
            total = Imported()
            for source in sources:
                try:
                    data = await read_source(source, fetcher)
                except (OSError, httpx.HTTPError) as exc:
                    total.problems.append(f"{source}: cannot read it: {exc}")
                    continue
                if data is None:
                    continue
                result = importer.read(data, utc_now().replace(microsecond=0), source="cap",
                                       base=source if source.startswith("http") else "")
                for link in result.linked:
                    result.add(await _follow(importer, fetcher, link))
                result.problems = [f"{source}: {problem}" for problem in result.problems]
                total.add(result)
            if total.events:
                await publisher.publish([raw_message(event) for event in total.events])
            importer.save()
            for problem in total.problems:
                log.warning("CAP import: %s", problem)
            if every_s is None:
                return total
            await asyncio.sleep(every_s)


async def _follow(importer: CapImporter, fetcher: ConditionalFetcher, link: str) -> Imported:
    """One CAP document a feed links to (BMKG's RSS, NWS's index), fetched only when it changed."""
    result = Imported(followed=1)
    if not link.startswith(("http://", "https://")):
        result.problems.append(f"{link}: a linked alert must be an http(s) URL")
        return result
    try:
        response = await fetcher.get(link)
    except httpx.HTTPError as exc:
        result.problems.append(f"{link}: cannot fetch the linked alert: {exc}")
        return result
    if response is None:
        return result  # not modified since it was read
    found = importer.read(response.content, utc_now().replace(microsecond=0), source="cap")
    if found.linked or (not found.events and not found.unchanged and not found.outside
                        and not found.problems):
        found.problems.append("the link does not lead to a CAP alert")
    else:
        fetcher.used(link, response)
    found.problems = [f"{link}: {problem}" for problem in found.problems]
    found.followed = 1
    return found
