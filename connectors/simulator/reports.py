"""Simulated citizen reports: which complaint, from where, through which channel, in whose words."""

from __future__ import annotations

import random
import re
from datetime import datetime
from functools import cache

import msgspec

from connectors.simulator import data_files
from connectors.simulator.draws import SOURCE, Table, choice, handed_over, randint, randrange
from connectors.simulator.fields import FIELDS, Fill
from connectors.simulator.places import PLACES, REGIONS, REPORT_REGION_WEIGHTS, point_pools
from schemas.events import (
    Channel,
    CitizenReport,
    CitizenReportEvent,
    Point,
    ReportCategory,
    ReporterContact,
    new_event_id,
)
from schemas.regions import Region


class Template(msgspec.Struct, frozen=True):
    """A report template of data/reports.toml, with its `where` as kabupaten/kota."""

    title: str
    text: str
    where: frozenset[Region] | None
    season: str | None  # "dry"/"wet": more likely in that season, rarer outside it
    weight: float


def load_templates(found: data_files.ReportsFile) -> dict[ReportCategory, tuple[Template, ...]]:
    """The templates of a reports file, refused if they ask for a field the simulator does not fill."""
    templates: dict[ReportCategory, tuple[Template, ...]] = {}
    for category, listed in found.templates.items():
        for number, t in enumerate(listed):
            where = f"reports.toml: templates.{category}[{number}]"
            data_files.check_fields(t.title, FIELDS, f"{where}.title")
            data_files.check_fields(t.text, FIELDS, f"{where}.text")
        templates[category] = tuple(
            Template(t.title, t.text, data_files.regions(t.where, "reports.toml"), t.season, t.weight)
            for t in listed)
    return templates


_C = ReportCategory
TEMPLATES = load_templates(data_files.reports())
CATEGORY_SHARE = {
    _C.INFRASTRUKTUR: 28.0, _C.KESEHATAN: 10.0, _C.PENDIDIKAN: 8.0, _C.SOSIAL: 14.0,
    _C.LINGKUNGAN: 12.0, _C.KEAMANAN: 8.0, _C.BENCANA: 6.0, _C.PERIZINAN: 5.0, _C.LAINNYA: 9.0,
}
CHANNEL_SHARE = {
    Channel.WHATSAPP: 32.0, Channel.LAPOR: 18.0, Channel.SOCIAL_MEDIA: 14.0, Channel.WEB: 10.0,
    Channel.CALL_CENTER: 10.0, Channel.MOBILE_APP: 9.0, Channel.SMS: 7.0,
}
# (location only, both, region only): apps send GPS, SMS and 112 callers name a place.
PLACEMENT = {
    Channel.WHATSAPP: (0.30, 0.45, 0.25), Channel.LAPOR: (0.25, 0.55, 0.20),
    Channel.SOCIAL_MEDIA: (0.25, 0.30, 0.45), Channel.WEB: (0.25, 0.55, 0.20),
    Channel.CALL_CENTER: (0.0, 0.15, 0.85), Channel.MOBILE_APP: (0.50, 0.50, 0.0),
    Channel.SMS: (0.0, 0.10, 0.90),
}
# Chance that the report carries contact details: chat and phone channels always know the number.
CONTACT = {
    Channel.WHATSAPP: 0.9, Channel.SMS: 0.95, Channel.CALL_CENTER: 0.8, Channel.LAPOR: 0.4,
    Channel.WEB: 0.5, Channel.MOBILE_APP: 0.7, Channel.SOCIAL_MEDIA: 0.15,
}
_NAMES = tuple(data_files.reports().reporter_names)
_PHONE_PREFIXES = Table(list(data_files.reports().phone_prefixes.items()))
# A sentence ends at ". " before a capital, but not after "Jl.", "Dr.", "Prof.", "Kol." or an
# initial ("H.A. Thalib").
_SENTENCE_END = re.compile(r"(?<![A-Z])(?<!Jl)(?<!Dr)(?<!Prof)(?<!Kol)\. (?=[A-Z])")

# What a slot of the day hands to `CitizenReports.make`: categories with their template tables
# by region index, and channels with their contact chance and placement.
Categories = Table[tuple[ReportCategory, tuple[Table[Template], ...]]]
Channels = Table[tuple[Channel, float, tuple[float, float, float]]]


@cache
def templates(category: ReportCategory, region: Region, season: str) -> Table[Template]:
    """The templates of a category that fit a region, weighted for the season."""
    pairs = []
    for template in TEMPLATES[category]:
        if template.where is not None and region not in template.where:
            continue
        factor = 1.0
        if template.season is not None and season != "mid":
            factor = 3.0 if template.season == season else 0.25
        pairs.append((template, template.weight * factor))
    return Table(pairs)


def categories(season: str, night: bool, office: bool) -> Categories:
    """How likely each category is: after dark people report danger, not school fees."""
    weights = dict(CATEGORY_SHARE)
    if night:
        for cat, factor in ((_C.KEAMANAN, 2.5), (_C.BENCANA, 1.5), (_C.PENDIDIKAN, 0.3),
                            (_C.PERIZINAN, 0.3), (_C.SOSIAL, 0.6)):
            weights[cat] *= factor
    elif office:
        weights[_C.PERIZINAN] *= 1.3
        weights[_C.PENDIDIKAN] *= 1.2
    if season == "dry":
        weights[_C.LINGKUNGAN] *= 1.4
    return Table([((c, tuple(templates(c, r, season) for r in REGIONS)), w) for c, w in weights.items()])


def channels(night: bool) -> Channels:
    """How likely each channel is: 112 and chat stay open at night; office web portals do not."""
    weights = dict(CHANNEL_SHARE)
    if night:
        for channel, factor in ((Channel.CALL_CENTER, 1.5), (Channel.SOCIAL_MEDIA, 1.3),
                                (Channel.WEB, 0.6), (Channel.LAPOR, 0.7)):
            weights[channel] *= factor
    return Table([((c, CONTACT[c], PLACEMENT[c]), w) for c, w in weights.items()])


class CitizenReports:
    """Draws citizen reports from a shared random generator."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        pools = point_pools()
        self._regions = Table([((i, r, PLACES[r], pools[r]), REPORT_REGION_WEIGHTS[r])
                               for i, r in enumerate(REGIONS)])

    def make(self, now: datetime, categories: Categories, channels: Channels,
             greeting: str) -> CitizenReportEvent:
        """One report received at `now`, from the slot's categories and channels."""
        rng = self._rng
        index, region, place, pool = self._regions.pick(rng)
        category, by_region = categories.pick(rng)
        channel, contact, placement = channels.pick(rng)
        template = by_region[index].pick(rng)
        fill = Fill(rng, region, place)
        title = template.title.format_map(fill)
        text = template.text.format_map(fill)
        text = self._voice(channel, text, greeting)
        reporter = self._reporter(channel) if rng.random() < contact else None
        where, location = self._placed(region, pool, placement)
        return CitizenReportEvent(
            id=new_event_id(), source=SOURCE, occurred_at=handed_over(rng, now), received_at=now,
            region=where, location=location,
            payload=CitizenReport(channel, category, title, text, reporter),
        )

    def _placed(self, region: Region, pool: tuple[Point, ...], mode: tuple[float, float, float]
                ) -> tuple[Region | None, Point | None]:
        rng = self._rng
        roll = rng.random()
        if roll < mode[0]:
            return None, choice(rng, pool)
        if roll < mode[0] + mode[1]:
            return region, choice(rng, pool)
        return region, None

    def _voice(self, channel: Channel, text: str, greeting: str) -> str:
        """How the same complaint reads when typed into each channel."""
        rng = self._rng
        if channel is Channel.WHATSAPP:
            opener = choice(rng, ("Assalamualaikum, izin melapor. ", f"Selamat {greeting} Pak/Bu, ",
                                  "Izin lapor Pak, ", ""))
            if opener.endswith(", ") and text[1:2].islower():  # "Pak, lampu…" not "Pak, Lampu…"
                text = text[0].lower() + text[1:]
            return opener + text + choice(rng, ("", " Terima kasih.", " Mohon dibantu 🙏"))
        if channel is Channel.SOCIAL_MEDIA:
            return choice(rng, ("Mohon perhatian Pak Gubernur. ", "Tolong viralkan. ", "")) + text
        if channel is Channel.CALL_CENTER:
            return "Pelapor via Call Center 112 menyampaikan: " + text
        if channel is Channel.SMS:  # SMS reports are one sentence
            return _SENTENCE_END.split(text, maxsplit=1)[0].rstrip(".") + "."
        return text + choice(rng, ("", " Terima kasih.", " Mohon segera ditindaklanjuti."))

    def _reporter(self, channel: Channel) -> ReporterContact:
        rng = self._rng
        name = choice(rng, _NAMES)
        phone = _PHONE_PREFIXES.pick(rng) + str(randrange(rng, 10_000_000, 100_000_000))
        if rng.random() < 0.15:
            phone = "+62" + phone[1:]
        if channel is Channel.SOCIAL_MEDIA:
            return ReporterContact(name=name)
        if channel is Channel.SMS and rng.random() < 0.5:
            return ReporterContact(phone=phone)  # only the sender's number is known
        email = None
        if channel in (Channel.WEB, Channel.LAPOR, Channel.MOBILE_APP) and rng.random() < 0.5:
            handle = name.lower().replace(". ", "").replace(" ", ".")
            email = f"{handle}{randint(rng, 1, 99)}@{choice(rng, ('gmail.com', 'yahoo.co.id'))}"
        return ReporterContact(name=name, phone=phone, email=email)
