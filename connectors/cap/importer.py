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
from schemas.cap import CapError, CapMessage, embedded_alerts, linked_alerts, parse_xml, read_alert
from schemas.events import DisasterAlertEvent, MsgType, Urgency, utc_now

log = logging.getLogger("posko.cap")


class Imported(msgspec.Struct, kw_only=True):
    """What one CAP document gave: events to publish and what could not be read, with why."""

    events: list[DisasterAlertEvent] = []
    problems: list[str] = []
    unchanged: int = 0


class CapImporter:
    """Turns CAP documents into events; remembers the alerts it imported (in a file when given).

    The memory lets a Cancel without an <info> block call off an alert imported before, and
    keeps a feed read again from publishing the same alert twice.
    """

    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        self.alerts: dict[uuid.UUID, DisasterAlertEvent] = {}
        if path is not None:
            stored = load_json(path, list[DisasterAlertEvent]) or []
            self.alerts = {event.id: event for event in stored}

    def read(self, data: bytes, received_at: datetime, source: str = "cap") -> Imported:
        """The events of a CAP alert or of an Atom/RSS feed embedding alerts."""
        result = Imported()
        try:
            elements = embedded_alerts(parse_xml(data))
        except CapError as exc:
            result.problems.append(str(exc))
            return result
        for number, element in enumerate(elements, 1):
            try:
                message = read_alert(element, received_at, source)
                event = self._event(message)
            except CapError as exc:
                where = f"alert {number} of {len(elements)}: " if len(elements) > 1 else ""
                result.problems.append(f"{where}{exc}")
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
    importer = CapImporter(importer_path(settings))
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
                result = importer.read(data, utc_now().replace(microsecond=0), source="cap")
                if not result.events and source.startswith("http"):
                    result = await _follow_links(importer, client, data, result)
                total.events += result.events
                total.unchanged += result.unchanged
                total.problems += [f"{source}: {problem}" for problem in result.problems]
            if total.events:
                await publisher.publish([raw_message(event) for event in total.events])
            importer.save()
            for problem in total.problems:
                log.warning("CAP import: %s", problem)
            if every_s is None:
                return total
            await asyncio.sleep(every_s)


async def _follow_links(importer: CapImporter, client: httpx.AsyncClient, data: bytes,
                        result: Imported) -> Imported:
    """A feed that only links to its alerts (like NWS's index): fetch each linked alert."""
    try:
        links = linked_alerts(parse_xml(data))
    except CapError:
        return result
    for link in links:
        try:
            response = await client.get(link)
            response.raise_for_status()
        except httpx.HTTPError as exc:
            result.problems.append(f"{link}: cannot fetch the linked alert: {exc}")
            continue
        found = importer.read(response.content, utc_now().replace(microsecond=0))
        result.events += found.events
        result.problems += found.problems
        result.unchanged += found.unchanged
    return result
