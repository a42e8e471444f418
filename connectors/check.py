"""A dry run for integrators: what each file would become as events, and what cannot be read and why."""

from __future__ import annotations

import enum
import uuid
from pathlib import Path

import msgspec
from lxml import etree

from connectors.bmkg.quakes import QuakeBook
from connectors.cap.importer import CapImporter
from connectors.oss.permits import LicenseStatusPush, NibPush, OssError, PermitBook
from schemas.bmkg import BmkgFormatError, decode_bmkg, feed_format
from schemas.cap import CAP11, CAP12, CapError, embedded_alerts, parse_xml
from schemas.events import Envelope, utc_now
from schemas.regions import Region
from schemas.usgs import Area, UsgsFormatError, decode_usgs, is_usgs


class FileFormat(enum.StrEnum):
    """The formats `posko connectors check` recognises."""

    BMKG_JSON = "BMKG JSON"
    BMKG_XML = "BMKG XML"
    INATEWS = "InaTEWS JSON"
    USGS = "USGS GeoJSON"
    CAP_ALERT = "CAP alert"
    CAP_FEED = "CAP feed (Atom/RSS)"
    OSS_STATUS = "OSS receiveLicenseStatus"
    OSS_NIB = "OSS receiveNIB"


UNKNOWN = ("not a format Posko reads: expected BMKG Infogempa JSON or XML, an InaTEWS warning "
           "JSON, a USGS earthquake GeoJSON feed, a CAP 1.2 <alert> or an Atom/RSS feed embedding "
           "CAP alerts, or an OSS-RBA receiveLicenseStatus / receiveNIB request body")


class FileReport(msgspec.Struct, kw_only=True):
    """What one file is and became."""

    path: str
    format: FileFormat | None
    events: int = 0
    problems: list[str] = []
    note: str = ""


def recognise(data: bytes) -> FileFormat | None:
    """The format of a document, from its content (not its name)."""
    bmkg = feed_format(data)
    if bmkg is not None:
        return {"BMKG JSON": FileFormat.BMKG_JSON, "BMKG XML": FileFormat.BMKG_XML,
                "InaTEWS JSON": FileFormat.INATEWS}[bmkg.value]
    if is_usgs(data):
        return FileFormat.USGS
    head = data.lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"<"):
        try:
            root = etree.QName(parse_xml(data))
        except CapError:
            return None
        if root.localname == "alert" and root.namespace in (CAP12, CAP11):
            return FileFormat.CAP_ALERT
        return FileFormat.CAP_FEED if root.localname in ("feed", "rss", "RDF") else None
    if b'"IZINSTATUS"' in head:
        return FileFormat.OSS_STATUS
    if b'"dataNIB"' in head:
        return FileFormat.OSS_NIB
    return None


class Checker:
    """Reads files as the connectors would, keeping their memories across files; sends nothing."""

    def __init__(self, sla_hours: float, cap_area: list[Region] | None = None,
                 usgs_area: Area | None = None) -> None:
        self.quakes = QuakeBook()
        self.usgs_area = usgs_area
        self.cap = CapImporter(area=cap_area)
        self.permits = PermitBook(sla_hours)
        self.events: dict[uuid.UUID, Envelope] = {}  # one per event id: its latest version
        self.now = utc_now().replace(microsecond=0)

    def check(self, path: Path) -> FileReport:
        """Read one file; its events join `events`."""
        try:
            data = path.read_bytes()
        except OSError as exc:
            return FileReport(path=str(path), format=None, problems=[f"cannot read the file: {exc}"])
        fmt = recognise(data)
        report = FileReport(path=str(path), format=fmt)
        try:
            found = self._events(fmt, data, report)
        except (BmkgFormatError, UsgsFormatError, CapError, OssError, msgspec.DecodeError) as exc:
            report.problems.append(str(exc))
            return report
        report.events = len(found)
        for event in found:
            self.events[event.id] = event
        if not found and not report.problems and not report.note:
            report.note = "nothing in it becomes an event"  # never 0 events without a reason
        return report

    def _events(self, fmt: FileFormat | None, data: bytes, report: FileReport) -> list[Envelope]:
        if fmt is None:
            raise CapError(UNKNOWN)
        if fmt in (FileFormat.BMKG_JSON, FileFormat.BMKG_XML, FileFormat.INATEWS):
            sightings = decode_bmkg(data)
            events = self.quakes.record(sightings, self.now)
            report.note = f"{len(sightings)} reports of {len(events)} new or changed earthquakes"
            return list(events)
        if fmt is FileFormat.USGS:
            feed = decode_usgs(data, self.usgs_area)
            events = self.quakes.record(feed.sightings, self.now)
            skipped = []
            if feed.outside:
                skipped.append(f"{feed.outside} outside POSKO_USGS_AREA ({self.usgs_area})")
            if feed.not_quakes:
                skipped.append(f"{feed.not_quakes} not earthquakes or without magnitude or position")
            report.note = (f"{len(feed.sightings)} reports of {len(events)} new or changed earthquakes"
                           + (f"; skipped {', '.join(skipped)}" if skipped else ""))
            return list(events)
        if fmt in (FileFormat.CAP_ALERT, FileFormat.CAP_FEED):
            versions = {_version(alert) for alert in embedded_alerts(parse_xml(data))}
            result = self.cap.read(data, self.now)
            report.problems += result.problems
            if result.linked:
                report.note = (f"links to {len(result.linked)} CAP document(s) and embeds none: a dry "
                               "run does not fetch them (posko connectors cap URL imports them)")
            elif not versions:
                report.note = "neither embeds nor links to CAP alerts"
            else:
                report.note = f"CAP {', '.join(sorted(versions))}" + (
                    " (read as CAP 1.2)" if "1.1" in versions else "")
            if result.unchanged:
                report.note += f"; {result.unchanged} already seen"
            if result.outside:
                report.note += f"; {result.outside} outside POSKO_CAP_AREA"
            return list(result.events)
        if fmt is FileFormat.OSS_NIB:
            ids = self.permits.register(msgspec.json.decode(data, type=NibPush))
            report.note = f"registers licences {', '.join(ids)} (no event until a status arrives)"
            return []
        return [self.permits.status(msgspec.json.decode(data, type=LicenseStatusPush), self.now)]


def _version(alert: object) -> str:
    namespace = getattr(alert, "tag", "")
    return "1.1" if CAP11 in namespace else "1.2"


def encode_event(event: Envelope) -> bytes:
    """One event as a JSON line."""
    return msgspec.json.encode(event)


def summary(report: FileReport) -> str:
    """One human line about a file."""
    what = report.format.value if report.format else "unknown format"
    line = f"{report.path}: {what}"
    if report.note:
        line += f", {report.note}"
    line += f" → {report.events} event(s)"
    for problem in report.problems:
        line += f"\n  cannot read: {problem}"
    return line

