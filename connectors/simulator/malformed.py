"""Malformed raw records, one per kind of flaw the pipeline must reject (and send to the DLQ)."""

from __future__ import annotations

import random
from typing import Any

import msgspec

from connectors.simulator.draws import Table, choice, randint, randrange
from connectors.simulator.places import region_key
from schemas.events import Event, Kind, kind_of
from schemas.raw import Flaw, RawMessage


class Malformer:
    """Spoils valid events the ways real sources do, drawing from a shared random generator."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self._flaws = Table([(Flaw.BROKEN_JSON, 30.0), (Flaw.WRONG_TYPES, 25.0),
                             (Flaw.UNKNOWN_REGION, 20.0), (Flaw.OVERSIZED_TEXT, 10.0),
                             (Flaw.UNKNOWN_KIND, 15.0)])

    def flaw(self) -> Flaw:
        """A flaw, as often as sources make it."""
        return self._flaws.pick(self._rng)

    def spoil(self, event: Event, flaw: Flaw) -> RawMessage:
        """The event as a record with that flaw."""
        rng = self._rng
        kind = kind_of(event)
        key = region_key(event)
        good = msgspec.json.encode(event)
        doc: dict[str, Any] = msgspec.to_builtins(event)
        payload: dict[str, Any] = doc["payload"]
        if flaw is Flaw.BROKEN_JSON:
            value = self._broken(good, doc)
        elif flaw is Flaw.WRONG_TYPES:
            self._wrong_types(kind, doc, payload)
            value = msgspec.json.encode(doc)
        elif flaw is Flaw.UNKNOWN_REGION:
            code = choice(rng, ("15.99", "99.01", "15.10", "1571", "15.73"))
            doc["region"] = code
            key = code.encode()
            value = msgspec.json.encode(doc)
        elif flaw is Flaw.OVERSIZED_TEXT:
            field = {Kind.CITIZEN_REPORT: "text", Kind.DISASTER_ALERT: "description",
                     Kind.PERMIT_FILING: "note"}[kind]
            # A forwarded chat log or a pasted document: the same text over and over.
            seed = str(payload.get(field) or payload.get("headline") or payload["permit_type"])
            repeats = 6_000 // (len(seed) + 1) + 1 + randint(rng, 0, 10)
            payload[field] = " ".join([seed] * repeats)
            value = msgspec.json.encode(doc)
        else:
            doc["kind"] = choice(rng, ("laporan_hoaks", "pengaduan", "aduan_warga",
                                      "izin_usaha", "peringatan_dini"))
            value = msgspec.json.encode(doc)
        return RawMessage(kind, key, value, flaw)

    def _broken(self, good: bytes, doc: dict[str, Any]) -> bytes:
        rng = self._rng
        variant = rng.random()
        if variant < 0.5:  # cut off mid-message (a connector died while writing)
            return good[: randint(rng, 1, len(good) - 2)]
        if variant < 0.7:  # two messages glued together without a separator
            return good + good
        if variant < 0.85:  # a Python repr written instead of JSON (single quotes)
            return str(doc).encode()
        # A raw line break inside a string, as hand-built JSON from a form often has.
        return good.replace(b'"source":"', b'"source":"\r\n', 1)

    def _wrong_types(self, kind: Kind, doc: dict[str, Any], payload: dict[str, Any]) -> None:
        rng = self._rng
        if kind is Kind.CITIZEN_REPORT:
            variant = randrange(rng, 0, 3)
            if variant == 0:
                payload["title"] = randint(rng, 1, 99_999)
            elif variant == 1 and doc.get("location"):
                location = doc["location"]  # an Indonesian decimal comma, as text
                doc["location"] = {"lat": f"{location['lat']}".replace(".", ","),
                                   "lon": f"{location['lon']}".replace(".", ",")}
            else:
                payload["channel"] = randint(rng, 1, 7)
        elif kind is Kind.DISASTER_ALERT:
            if rng.random() < 0.6:
                payload["magnitude"] = choice(rng, ("lima", "4,7 SR", "M 3.9"))
            else:
                payload["area"] = {"regions": doc.get("region") or "15.01"}
        elif rng.random() < 0.5:
            payload["nib"] = int(payload["nib"])  # a spreadsheet turned the NIB into a number
        else:
            payload["status"] = choice(rng, ("Disetujui", "Validasi", "Ditolak"))
