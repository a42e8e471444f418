"""CAP 1.2 (OASIS Common Alerting Protocol): reading alerts and feeds, writing alerts and an Atom feed.

Reading validates each alert against the official `cap12.xsd`. CAP 1.1 alerts are read when,
under the 1.2 namespace, they are valid CAP 1.2 (1.2 only added optional elements). Every
version of an alert maps to one Posko event id: an Update or Cancel takes the id of the
alert it references, so it changes that alert rather than adding one.
"""

from __future__ import annotations

import enum
import re
import uuid
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from functools import cache
from importlib import resources
from typing import TypeVar
from urllib.parse import urljoin

import msgspec
import shapely
from lxml import etree

from posko.errors import PoskoError
from schemas.clock import WIB
from schemas.events import (
    AlertArea,
    AlertCategory,
    AlertStatus,
    Certainty,
    Circle,
    DisasterAlert,
    DisasterAlertEvent,
    MsgType,
    Point,
    Severity,
    Urgency,
)
from schemas.regions import Region, region_at

CAP12 = "urn:oasis:names:tc:emergency:cap:1.2"
CAP11 = "urn:oasis:names:tc:emergency:cap:1.1"
ATOM = "http://www.w3.org/2005/Atom"
CAP_NAMESPACE = uuid.UUID("7d3c5b1a-2f0e-4c8b-9a61-5e4d3c2b1a09")
# Posko's own identifiers: `posko:<event id>` for the first version of an alert,
# `posko:<event id>:<sent>` for its updates; the event id comes back out on import.
_POSKO_ID = re.compile(r"^posko:([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})(?::.*)?$")
# Languages preferred when an alert has an info block per language.
LANGUAGES = ("id", "en")
REGION_GEOCODE = "KEMENDAGRI"


class CapError(PoskoError, ValueError):
    """A document Posko cannot take as CAP; the message says why and what to do."""


class Reference(msgspec.Struct, frozen=True):
    """An earlier message named in `references`: sender, identifier, sent."""

    sender: str
    identifier: str
    sent: str


class CapMessage(msgspec.Struct, frozen=True, kw_only=True):
    """One CAP alert message as read: its header and the event it becomes (None: Cancel without info)."""

    identifier: str
    sender: str
    sent: datetime
    msg_type: MsgType
    version: str
    references: list[Reference] = []
    event: DisasterAlertEvent | None = None

    @property
    def alert_id(self) -> uuid.UUID:
        """The Posko id of the alert this message is about (the first referenced one, or itself)."""
        if self.references:
            first = min(self.references, key=lambda ref: _sort_time(ref.sent))
            return alert_id(first.sender, first.identifier)
        return alert_id(self.sender, self.identifier)


def alert_id(sender: str, identifier: str) -> uuid.UUID:
    """The event id of a CAP alert: Posko's own id back, or a stable id from sender and identifier."""
    if match := _POSKO_ID.match(identifier):
        return uuid.UUID(match.group(1))
    return uuid.uuid5(CAP_NAMESPACE, f"{sender},{identifier}")


def _sort_time(text: str) -> datetime:
    try:
        return datetime.fromisoformat(text).astimezone(UTC)
    except ValueError:
        return datetime.max.replace(tzinfo=UTC)


@cache
def cap12_schema() -> etree.XMLSchema:
    """The official CAP 1.2 XML Schema (bundled copy of cap12.xsd)."""
    data = resources.files("schemas").joinpath("data/cap12.xsd").read_bytes()
    return etree.XMLSchema(etree.fromstring(data))


_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, remove_blank_text=True)


def parse_xml(data: bytes) -> etree._Element:
    """The document's root element; CapError when it is not well-formed XML."""
    try:
        return etree.fromstring(data.lstrip(b"\xef\xbb\xbf"), _PARSER)
    except etree.XMLSyntaxError as exc:
        raise CapError(f"not well-formed XML: {exc}") from exc


def _local(element: etree._Element) -> str:
    return etree.QName(element).localname


def embedded_alerts(root: etree._Element) -> list[etree._Element]:
    """The CAP alerts in a document: the root itself, or those embedded in an Atom or RSS feed."""
    if _local(root) == "alert":
        return [root]
    if _local(root) in ("feed", "rss", "RDF"):
        return [e for e in root.iter() if isinstance(e.tag, str) and _local(e) == "alert"
                and etree.QName(e).namespace in (CAP12, CAP11)]
    raise CapError(f"the root element is <{_local(root)}>: expected a CAP <alert>, an Atom <feed> or RSS")


def linked_alerts(root: etree._Element, base: str = "") -> list[str]:
    """URLs of CAP alerts a feed links to without embedding them, resolved against `base`.

    Atom: `<link>` elements typed as CAP (NWS's index). RSS 2.0: each `<item>`'s `<link>` text,
    or an `<enclosure>` typed as CAP: a CAP feed over RSS links every item to its alert
    (BMKG's "Peringatan Dini Cuaca" feed, `…/CBT20260216004_alert.xml`).
    """
    links = []
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue
        name, parent = _local(element), element.getparent()
        if name == "link" and "cap" in (element.get("type") or "") and element.get("href"):
            links.append(element.get("href"))
        elif name == "enclosure" and "cap" in (element.get("type") or "") and element.get("url"):
            links.append(element.get("url"))
        elif (name == "link" and parent is not None and _local(parent) == "item"
              and etree.QName(element).namespace is None and (element.text or "").strip()):
            links.append((element.text or "").strip())
    return list(dict.fromkeys(urljoin(base, link) for link in links if link))


def _as_cap12(alert: etree._Element) -> tuple[etree._Element, str]:
    namespace = etree.QName(alert).namespace
    if namespace == CAP12:
        return alert, "1.2"
    if namespace != CAP11:
        raise CapError(f"<alert> in namespace {namespace!r}: Posko reads CAP 1.2 ({CAP12}) and 1.1")
    # CAP 1.2 only added optional elements to 1.1: a 1.1 alert under the 1.2 namespace that
    # validates is read as 1.2; one that does not is refused below with the schema's reasons.
    copy = etree.fromstring(etree.tostring(alert))
    for element in copy.iter():
        if isinstance(element.tag, str) and etree.QName(element).namespace == CAP11:
            element.tag = f"{{{CAP12}}}{_local(element)}"
    etree.cleanup_namespaces(copy)
    return copy, "1.1"


def validate(alert: etree._Element) -> str:
    """Check one alert against cap12.xsd; return the CAP version it was written in."""
    cap12, version = _as_cap12(alert)
    schema = cap12_schema()
    if not schema.validate(etree.ElementTree(cap12)):
        errors = "; ".join(f"line {e.line}: {e.message}" for e in list(schema.error_log)[:5])
        hint = " (CAP 1.1 that is not valid as 1.2: ask the sender for CAP 1.2)" if version == "1.1" else ""
        raise CapError(f"not a valid CAP 1.2 alert{hint}: {errors}")
    return version


def _text(parent: etree._Element, name: str) -> str:
    found = parent.find(f"{{{CAP12}}}{name}")
    return (found.text or "").strip() if found is not None else ""


def _all(parent: etree._Element, name: str) -> list[etree._Element]:
    return parent.findall(f"{{{CAP12}}}{name}")


def cap_time(text: str) -> datetime:
    """A CAP dateTime (always with an offset) in UTC."""
    return datetime.fromisoformat(text).astimezone(UTC)


def format_cap_time(moment: datetime) -> str:
    """A time as CAP writes it: to the second, in WIB with its +07:00 offset."""
    return moment.astimezone(WIB).isoformat(timespec="seconds")


def _pairs(parent: etree._Element, name: str) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for element in _all(parent, name):
        key, value = _text(element, "valueName"), _text(element, "value")
        pairs.setdefault(key.lower(), value)
    return pairs


def _points(text: str) -> list[Point]:
    points = []
    for pair in text.split():
        lat, lon = pair.split(",")
        points.append(Point(float(lat), float(lon)))
    return points


_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
_MILES_KM = 1.609344


def _magnitude_depth(params: dict[str, str]) -> tuple[float | None, float | None]:
    """Magnitude and depth (km) from the usual parameters: Magnitude/Depth, or GDACS hazardcomponents."""
    magnitude = depth = None
    if found := _NUMBER.search(params.get("magnitude", "")):
        magnitude = float(found.group())
    if found := _NUMBER.search(params.get("depth", "")):
        depth = float(found.group())
        if re.search(r"\bmi", params["depth"]):
            depth = round(depth * _MILES_KM, 2)
    components = params.get("hazardcomponents", "")
    if magnitude is None and (found := re.search(r"magnitude=(-?\d+(?:\.\d+)?)", components)):
        magnitude = float(found.group(1))
    if depth is None and (found := re.search(r"depth=(-?\d+(?:\.\d+)?)", components)):
        depth = float(found.group(1))
    magnitude = magnitude if magnitude is not None and 0 <= magnitude <= 10 else None
    depth = depth if depth is not None and 0 <= depth <= 1000 else None
    return magnitude, depth


def _choose_info(infos: Sequence[etree._Element]) -> etree._Element:
    def rank(info: etree._Element) -> int:
        language = (_text(info, "language") or "en-US").lower()
        return next((i for i, lang in enumerate(LANGUAGES) if language.startswith(lang)), len(LANGUAGES))

    return min(infos, key=rank)


def _area(info: etree._Element) -> AlertArea:
    descriptions, regions, polygons, circles = [], [], [], []
    for area in _all(info, "area"):
        if desc := _text(area, "areaDesc"):
            descriptions.append(desc)
        for polygon in _all(area, "polygon"):
            if points := _points(polygon.text or ""):
                polygons.append(points)
        for circle in _all(area, "circle"):
            centre, _, radius = (circle.text or "").strip().partition(" ")
            lat, lon = centre.split(",")
            circles.append(Circle(Point(float(lat), float(lon)), float(radius or 0)))
        for geocode in _all(area, "geocode"):
            value = _text(geocode, "value")
            if value in Region._value2member_map_ and Region(value) not in regions:
                regions.append(Region(value))
    return AlertArea(description="; ".join(descriptions)[:5000], regions=regions, polygons=polygons,
                     circles=circles)


def area_touches(area: AlertArea, location: Point | None, regions: Sequence[Region],
                 shape: shapely.Geometry) -> bool | None:
    """Whether an alert's area touches the regions (`shape` their union, lon/lat): by region codes,
    else polygons and circles, else location; None when the alert says nowhere."""
    if area.regions:
        return bool(set(area.regions) & set(regions))
    parts = [shapely.Polygon([(p.lon, p.lat) for p in polygon]) for polygon in area.polygons
             if len(polygon) >= 3]
    # A circle's radius in degrees of latitude: generous east-west, which only errs on keeping.
    parts += [shapely.Point(c.center.lon, c.center.lat).buffer(max(c.radius_km, 0.1) / 111.0)
              for c in area.circles]
    if not parts and location is not None:
        parts = [shapely.Point(location.lon, location.lat)]
    if not parts:
        return None
    return any(shape.intersects(part.buffer(0) if not part.is_valid else part) for part in parts)


def _location(params: dict[str, str], area: AlertArea) -> Point | None:
    if location := params.get("location"):
        lat, lon = location.split(",")
        return Point(float(lat), float(lon))
    if area.circles:
        return area.circles[0].center
    if area.polygons:
        centroid = shapely.Polygon([(p.lon, p.lat) for p in area.polygons[0]]).centroid
        return Point(round(centroid.y, 5), round(centroid.x, 5))
    return None


E = TypeVar("E", bound=enum.Enum)


def _enum(kind: type[E], text: str, what: str) -> E:
    try:
        return kind(text)
    except ValueError as exc:
        raise CapError(f"{what} {text!r} is not one Posko knows") from exc


def read_alert(alert: etree._Element, received_at: datetime, source: str = "cap") -> CapMessage:
    """One validated CAP alert element as a message and, when it carries info, the event it becomes."""
    version = validate(alert)
    alert, _ = _as_cap12(alert)
    sender, identifier = _text(alert, "sender"), _text(alert, "identifier")
    sent = cap_time(_text(alert, "sent"))
    msg_type_text = _text(alert, "msgType")
    if msg_type_text in ("Ack", "Error"):
        raise CapError(f"alert {identifier} is an {msg_type_text} message: it answers another "
                       "message and carries no alert to import")
    msg_type = MsgType(msg_type_text)
    references = []
    for ref in _text(alert, "references").split():
        parts = ref.split(",")
        if len(parts) != 3:
            raise CapError(f"references entry {ref!r} is not sender,identifier,sent")
        references.append(Reference(*parts))
    message = CapMessage(identifier=identifier, sender=sender, sent=sent, msg_type=msg_type,
                         version=version, references=references)
    infos = _all(alert, "info")
    if not infos:
        if msg_type is not MsgType.CANCEL:
            raise CapError(f"alert {identifier} has no <info> block: nothing to show")
        return message
    info = _choose_info(infos)
    params = _pairs(info, "parameter")
    area = _area(info)
    location = _location(params, area)
    magnitude, depth = _magnitude_depth(params)
    distance = _NUMBER.search(params.get("distancetojambi", ""))
    onset, effective = _text(info, "onset"), _text(info, "effective")
    expires = _text(info, "expires")
    payload = DisasterAlert(
        event=_text(info, "event")[:200] or "Peringatan",
        category=_enum(AlertCategory, _text(info, "category"), "category"),
        urgency=_enum(Urgency, _text(info, "urgency"), "urgency"),
        severity=_enum(Severity, _text(info, "severity"), "severity"),
        certainty=_enum(Certainty, _text(info, "certainty"), "certainty"),
        headline=(_text(info, "headline") or _text(info, "event"))[:200] or identifier[:200],
        issuer=(_text(info, "senderName") or sender)[:200],
        description=_text(info, "description")[:5000],
        instruction=_text(info, "instruction")[:5000],
        area=area,
        effective=cap_time(effective) if effective else None,
        expires=cap_time(expires) if expires else None,
        magnitude=magnitude, depth_km=depth,
        status=_enum(AlertStatus, _text(alert, "status"), "status"),
        msg_type=msg_type, sent=sent,
        distance_km=float(distance.group()) if distance else None,
    )
    region = region_at(location.lat, location.lon) if location else None
    event = DisasterAlertEvent(
        id=message.alert_id, source=source,
        occurred_at=cap_time(onset) if onset else payload.effective or sent,
        received_at=received_at, region=region or (area.regions[0] if area.regions else None),
        location=location, payload=payload,
    )
    return msgspec.structs.replace(message, event=event)


# --- Writing ---------------------------------------------------------------------------------


def _sub(parent: etree._Element, name: str, text: str | None = None) -> etree._Element:
    element = etree.SubElement(parent, f"{{{CAP12}}}{name}")
    if text is not None:
        element.text = text
    return element


def _pair(parent: etree._Element, name: str, key: str, value: str) -> None:
    element = _sub(parent, name)
    _sub(element, "valueName", key)
    _sub(element, "value", value)


def cap_identifier(event: DisasterAlertEvent) -> str:
    """The CAP identifier of this version of an alert."""
    if event.payload.msg_type is MsgType.ALERT:
        return f"posko:{event.id}"
    sent = event.payload.sent or event.received_at
    return f"posko:{event.id}:{sent.astimezone(UTC):%Y%m%dT%H%M%SZ}"


def alert_element(event: DisasterAlertEvent, sender: str) -> etree._Element:
    """A DisasterAlert as a CAP 1.2 <alert> element (valid against cap12.xsd)."""
    alert = event.payload
    root = etree.Element(f"{{{CAP12}}}alert", nsmap={None: CAP12})
    _sub(root, "identifier", cap_identifier(event))
    _sub(root, "sender", sender)
    _sub(root, "sent", format_cap_time(alert.sent or event.received_at))
    _sub(root, "status", alert.status)
    _sub(root, "msgType", alert.msg_type)
    _sub(root, "scope", "Public")
    if alert.msg_type is not MsgType.ALERT:
        _sub(root, "references", f"{sender},posko:{event.id},{format_cap_time(event.occurred_at)}")
    info = _sub(root, "info")
    _sub(info, "category", alert.category)
    _sub(info, "event", alert.event)
    _sub(info, "urgency", alert.urgency)
    _sub(info, "severity", alert.severity)
    _sub(info, "certainty", alert.certainty)
    if alert.effective:
        _sub(info, "effective", format_cap_time(alert.effective))
    _sub(info, "onset", format_cap_time(event.occurred_at))
    if alert.expires:
        _sub(info, "expires", format_cap_time(alert.expires))
    _sub(info, "senderName", alert.issuer)
    _sub(info, "headline", alert.headline)
    if alert.description:
        _sub(info, "description", alert.description)
    if alert.instruction:
        _sub(info, "instruction", alert.instruction)
    if alert.magnitude is not None:
        _pair(info, "parameter", "Magnitude", repr(alert.magnitude))
    if alert.depth_km is not None:
        _pair(info, "parameter", "Depth", f"{alert.depth_km!r} km")
    if alert.distance_km is not None:
        _pair(info, "parameter", "DistanceToJambi", f"{alert.distance_km!r} km")
    if event.location is not None:
        _pair(info, "parameter", "Location", f"{event.location.lat!r},{event.location.lon!r}")
    area = _sub(info, "area")
    _sub(area, "areaDesc", alert.area.description)
    for polygon in alert.area.polygons:
        _sub(area, "polygon", " ".join(f"{p.lat!r},{p.lon!r}" for p in polygon))
    for circle in alert.area.circles:
        _sub(area, "circle", f"{circle.center.lat!r},{circle.center.lon!r} {circle.radius_km!r}")
    for region in alert.area.regions:
        _pair(area, "geocode", REGION_GEOCODE, str(region))
    return root


def export_alert(event: DisasterAlertEvent, sender: str) -> bytes:
    """A DisasterAlert as a CAP 1.2 XML document."""
    return etree.tostring(alert_element(event, sender), xml_declaration=True, encoding="UTF-8",
                          pretty_print=True)


def atom_feed(events: Iterable[DisasterAlertEvent], sender: str, feed_url: str, alert_url: str) -> bytes:
    """An Atom feed of alerts, each entry embedding its CAP 1.2 alert; `alert_url` has an {id} field."""
    events = list(events)
    feed = etree.Element(f"{{{ATOM}}}feed", nsmap={None: ATOM})
    etree.SubElement(feed, f"{{{ATOM}}}id").text = feed_url
    etree.SubElement(feed, f"{{{ATOM}}}title").text = "Posko Provinsi Jambi: peringatan (CAP 1.2)"
    newest = max((e.payload.sent or e.received_at for e in events), default=datetime(2000, 1, 1, tzinfo=UTC))
    etree.SubElement(feed, f"{{{ATOM}}}updated").text = format_cap_time(newest)
    etree.SubElement(feed, f"{{{ATOM}}}link", rel="self", href=feed_url)
    author = etree.SubElement(feed, f"{{{ATOM}}}author")
    etree.SubElement(author, f"{{{ATOM}}}name").text = sender
    for event in events:
        entry = etree.SubElement(feed, f"{{{ATOM}}}entry")
        etree.SubElement(entry, f"{{{ATOM}}}id").text = f"urn:uuid:{event.id}"
        etree.SubElement(entry, f"{{{ATOM}}}title").text = event.payload.headline
        etree.SubElement(entry, f"{{{ATOM}}}updated").text = format_cap_time(
            event.payload.sent or event.received_at)
        etree.SubElement(entry, f"{{{ATOM}}}link", rel="alternate", type="application/cap+xml",
                         href=alert_url.format(id=event.id))
        content = etree.SubElement(entry, f"{{{ATOM}}}content", type="application/cap+xml")
        content.append(alert_element(event, sender))
    return etree.tostring(feed, xml_declaration=True, encoding="UTF-8", pretty_print=True)
