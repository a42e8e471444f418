"""The event envelope and the typed payloads of every event kind, decoded and validated in one step."""

from __future__ import annotations

import enum
import hashlib
import uuid
from datetime import UTC, datetime, timedelta
from typing import Annotated

import msgspec
from msgspec import Meta
from uuid_utils import compat as uuid_compat

from schemas.regions import Region
from schemas.sectors import Sector

SCHEMA_VERSION = 1

UtcTime = Annotated[datetime, Meta(tz=True)]
Latitude = Annotated[float, Meta(ge=-90, le=90)]
Longitude = Annotated[float, Meta(ge=-180, le=180)]
ShortText = Annotated[str, Meta(min_length=1, max_length=200)]
LongText = Annotated[str, Meta(max_length=5_000)]


class Kind(enum.StrEnum):
    """The event kinds; each has a raw and a clean topic and a ClickHouse table."""

    CITIZEN_REPORT = "citizen_report"
    DISASTER_ALERT = "disaster_alert"
    PERMIT_FILING = "permit_filing"
    SECTOR_INDICATOR = "sector_indicator"


class Point(msgspec.Struct, frozen=True):
    """A WGS84 position."""

    lat: Latitude
    lon: Longitude


# --- Citizen reports (LAPOR!-style complaint channels) ---------------------------------------


class Channel(enum.StrEnum):
    """Where a citizen report came in."""

    WEB = "web"
    SMS = "sms"
    WHATSAPP = "whatsapp"
    LAPOR = "lapor"
    CALL_CENTER = "call_center"
    MOBILE_APP = "mobile_app"
    SOCIAL_MEDIA = "social_media"


class ReportCategory(enum.StrEnum):
    """LAPOR!-style complaint categories."""

    INFRASTRUKTUR = "infrastruktur"
    KESEHATAN = "kesehatan"
    PENDIDIKAN = "pendidikan"
    SOSIAL = "sosial"
    LINGKUNGAN = "lingkungan"
    KEAMANAN = "keamanan"
    BENCANA = "bencana"
    PERIZINAN = "perizinan"
    LAINNYA = "lainnya"


class ReporterContact(msgspec.Struct, frozen=True, omit_defaults=True):
    """How to reach the citizen; personal data, never shown on anything public."""

    name: Annotated[str, Meta(max_length=200)] | None = None
    phone: Annotated[str, Meta(max_length=40)] | None = None
    email: Annotated[str, Meta(max_length=200)] | None = None


class CitizenReport(msgspec.Struct, frozen=True, omit_defaults=True):
    """A complaint or report from a citizen."""

    channel: Channel
    category: ReportCategory
    title: ShortText
    text: Annotated[str, Meta(min_length=1, max_length=5_000)]
    reporter: ReporterContact | None = None


# --- Disaster alerts (aligned with CAP 1.2) --------------------------------------------------


class AlertCategory(enum.StrEnum):
    """CAP 1.2 `category`."""

    GEO = "Geo"
    MET = "Met"
    SAFETY = "Safety"
    SECURITY = "Security"
    RESCUE = "Rescue"
    FIRE = "Fire"
    HEALTH = "Health"
    ENV = "Env"
    TRANSPORT = "Transport"
    INFRA = "Infra"
    CBRNE = "CBRNE"
    OTHER = "Other"


class Urgency(enum.StrEnum):
    """CAP 1.2 `urgency`."""

    IMMEDIATE = "Immediate"
    EXPECTED = "Expected"
    FUTURE = "Future"
    PAST = "Past"
    UNKNOWN = "Unknown"


class Severity(enum.StrEnum):
    """CAP 1.2 `severity`."""

    EXTREME = "Extreme"
    SEVERE = "Severe"
    MODERATE = "Moderate"
    MINOR = "Minor"
    UNKNOWN = "Unknown"


class Certainty(enum.StrEnum):
    """CAP 1.2 `certainty`."""

    OBSERVED = "Observed"
    LIKELY = "Likely"
    POSSIBLE = "Possible"
    UNLIKELY = "Unlikely"
    UNKNOWN = "Unknown"


class AlertStatus(enum.StrEnum):
    """CAP 1.2 `status`: who the alert is for."""

    ACTUAL = "Actual"
    EXERCISE = "Exercise"
    SYSTEM = "System"
    TEST = "Test"
    DRAFT = "Draft"


class MsgType(enum.StrEnum):
    """CAP 1.2 `msgType` of an alert's latest version: new, changed or called off."""

    ALERT = "Alert"
    UPDATE = "Update"
    CANCEL = "Cancel"


class Circle(msgspec.Struct, frozen=True):
    """A CAP circle: centre and radius in kilometres."""

    center: Point
    radius_km: Annotated[float, Meta(ge=0)]


class AlertArea(msgspec.Struct, frozen=True, omit_defaults=True):
    """Where an alert applies: region codes and/or CAP polygons and circles."""

    description: LongText = ""
    regions: list[Region] = []
    polygons: list[list[Point]] = []
    circles: list[Circle] = []


class DisasterAlert(msgspec.Struct, frozen=True, omit_defaults=True):
    """An official warning or incident, shaped like a CAP 1.2 `info` block."""

    event: ShortText
    category: AlertCategory
    urgency: Urgency
    severity: Severity
    certainty: Certainty
    headline: ShortText
    issuer: ShortText
    description: LongText = ""
    instruction: LongText = ""
    area: AlertArea = AlertArea()
    effective: UtcTime | None = None
    expires: UtcTime | None = None
    magnitude: Annotated[float, Meta(ge=0, le=10)] | None = None
    depth_km: Annotated[float, Meta(ge=0, le=1000)] | None = None
    # An alert changes over time under one event id: `sent` is when this version was issued
    # (CAP `sent`), newer versions replace older ones; Cancel calls the alert off.
    status: AlertStatus = AlertStatus.ACTUAL
    msg_type: MsgType = MsgType.ALERT
    sent: UtcTime | None = None
    # How far the event is from Jambi's border, when it is outside the province.
    distance_km: Annotated[float, Meta(ge=0)] | None = None


# --- Permit filings (OSS-RBA) ----------------------------------------------------------------


class PermitStatus(enum.IntEnum):
    """OSS-RBA licence status codes (Pedoman Integrasi, Lampiran 10)."""

    PROSES_PENAPISAN = 5
    TELAH_MELENGKAPI_PERSYARATAN = 9
    DOKUMEN_LENGKAP = 10
    DOKUMEN_BELUM_LENGKAP = 11
    PEMENUHAN_KOMITMEN = 12
    VALIDASI = 20
    VERIFIKASI_PEMBAYARAN = 30
    KONFIRMASI_PEMBAYARAN = 31
    MENUNGGU_VERIFIKASI_BUKTI_BAYAR_PNBP = 32
    PERSETUJUAN_PEMBAYARAN = 33
    PERBAIKAN_KONFIRMASI_PEMBAYARAN = 34
    INSPEKSI = 40
    KONFIRMASI_PERSYARATAN = 41
    DATA_KONFIRMASI_PERSYARATAN = 42
    RE_KONFIRMASI_PERSYARATAN = 43
    DATA_RE_KONFIRMASI_PERSYARATAN = 44
    PERSYARATAN_TERVERIFIKASI = 45
    PENGAMBILAN_NOMOR = 49
    DISETUJUI = 50
    TERBIT_SEMENTARA = 52
    DISETUJUI_OTOMATIS = 57
    PERINGATAN = 60
    PENGHENTIAN_SEMENTARA = 70
    PENGENAAN_DENDA = 80
    DITOLAK = 90
    PENOLAKAN_PERSYARATAN = 93


PERMIT_STATUS_NAMES: dict[PermitStatus, str] = {
    PermitStatus.PROSES_PENAPISAN: "Proses Penapisan",
    PermitStatus.TELAH_MELENGKAPI_PERSYARATAN: "Telah Melengkapi Persyaratan",
    PermitStatus.DOKUMEN_LENGKAP: "Dokumen Lengkap",
    PermitStatus.DOKUMEN_BELUM_LENGKAP: "Dokumen Belum Lengkap",
    PermitStatus.PEMENUHAN_KOMITMEN: "Pemenuhan Komitmen",
    PermitStatus.VALIDASI: "Validasi",
    PermitStatus.VERIFIKASI_PEMBAYARAN: "Verifikasi Pembayaran",
    PermitStatus.KONFIRMASI_PEMBAYARAN: "Konfirmasi Pembayaran",
    PermitStatus.MENUNGGU_VERIFIKASI_BUKTI_BAYAR_PNBP: "Menunggu Verifikasi Bukti Bayar PNBP",
    PermitStatus.PERSETUJUAN_PEMBAYARAN: "Persetujuan Pembayaran",
    PermitStatus.PERBAIKAN_KONFIRMASI_PEMBAYARAN: "Perbaikan Konfirmasi Pembayaran",
    PermitStatus.INSPEKSI: "Inspeksi",
    PermitStatus.KONFIRMASI_PERSYARATAN: "Konfirmasi Persyaratan",
    PermitStatus.DATA_KONFIRMASI_PERSYARATAN: "Data Konfirmasi Persyaratan",
    PermitStatus.RE_KONFIRMASI_PERSYARATAN: "Re-Konfirmasi Persyaratan",
    PermitStatus.DATA_RE_KONFIRMASI_PERSYARATAN: "Data Re-Konfirmasi Persyaratan",
    PermitStatus.PERSYARATAN_TERVERIFIKASI: "Persyaratan terverifikasi",
    PermitStatus.PENGAMBILAN_NOMOR: "Pengambilan Nomor",
    PermitStatus.DISETUJUI: "Disetujui",
    PermitStatus.TERBIT_SEMENTARA: "Terbit Sementara",
    PermitStatus.DISETUJUI_OTOMATIS: "Disetujui secara otomatis oleh sistem OSS (fiktif positif)",
    PermitStatus.PERINGATAN: "Peringatan",
    PermitStatus.PENGHENTIAN_SEMENTARA: "Penghentian Sementara Kegiatan Berusaha",
    PermitStatus.PENGENAAN_DENDA: "Pengenaan Denda Administratif",
    PermitStatus.DITOLAK: "Ditolak",
    PermitStatus.PENOLAKAN_PERSYARATAN: "Penolakan Persyaratan",
}

# How a status moves the SLA clock (Lampiran 10): 41 stops it, 42 resumes it,
# 43 stops it and 44 restarts it from zero; decisions end it.
SLA_PAUSES = frozenset({PermitStatus.KONFIRMASI_PERSYARATAN, PermitStatus.RE_KONFIRMASI_PERSYARATAN})
SLA_RESUMES = frozenset({PermitStatus.DATA_KONFIRMASI_PERSYARATAN})
SLA_RESTARTS = frozenset({PermitStatus.DATA_RE_KONFIRMASI_PERSYARATAN})
FINAL_STATUSES = frozenset(
    {
        PermitStatus.DISETUJUI,
        PermitStatus.DISETUJUI_OTOMATIS,
        PermitStatus.DITOLAK,
        PermitStatus.PENOLAKAN_PERSYARATAN,
    }
)


class ApplicantType(enum.StrEnum):
    """OSS-RBA `jenis pelaku usaha` (Lampiran 18)."""

    BADAN_USAHA = "badan_usaha"
    PERSEORANGAN = "perseorangan"
    KANTOR_PERWAKILAN = "kantor_perwakilan"
    BADAN_USAHA_LUAR_NEGERI = "badan_usaha_luar_negeri"


class PermitFiling(msgspec.Struct, frozen=True, omit_defaults=True):
    """A status change of a business licence application in OSS-RBA."""

    permit_id: ShortText
    nib: Annotated[str, Meta(pattern=r"^\d{13}$")]
    permit_type: ShortText
    kbli: Annotated[str, Meta(pattern=r"^\d{5}$")]
    applicant_type: ApplicantType
    status: PermitStatus
    sla_deadline: UtcTime | None = None
    agency: ShortText = "DPMPTSP Provinsi Jambi"
    note: LongText = ""


# --- Sector indicators (periodic measurements from the dinas) --------------------------------


class SectorIndicator(msgspec.Struct, frozen=True, omit_defaults=True):
    """One reading of a catalogued indicator (`schemas.sectors`) for one period and place."""

    sector: Sector
    indicator: Annotated[str, Meta(pattern=r"^[a-z0-9_]{1,64}$")]
    value: float
    unit: Annotated[str, Meta(min_length=1, max_length=20)]
    period_start: UtcTime
    period_end: UtcTime
    agency: ShortText
    site: ShortText | None = None  # the market, river gauge or tourist site, when per site


# --- The envelope ----------------------------------------------------------------------------


class Envelope(msgspec.Struct, frozen=True, kw_only=True, tag_field="kind", omit_defaults=True):
    """What every event carries, whatever its kind."""

    id: uuid.UUID
    source: ShortText
    occurred_at: UtcTime
    received_at: UtcTime
    region: Region | None = None
    location: Point | None = None
    schema_version: Annotated[int, Meta(ge=1, le=SCHEMA_VERSION)] = SCHEMA_VERSION


class CitizenReportEvent(Envelope, frozen=True, kw_only=True, tag="citizen_report"):
    """A citizen report in its envelope."""

    payload: CitizenReport


class DisasterAlertEvent(Envelope, frozen=True, kw_only=True, tag="disaster_alert"):
    """A disaster alert in its envelope."""

    payload: DisasterAlert


class PermitFilingEvent(Envelope, frozen=True, kw_only=True, tag="permit_filing"):
    """A permit filing status change in its envelope."""

    payload: PermitFiling


class SectorIndicatorEvent(Envelope, frozen=True, kw_only=True, tag="sector_indicator"):
    """A sector indicator reading in its envelope."""

    payload: SectorIndicator


Event = CitizenReportEvent | DisasterAlertEvent | PermitFilingEvent | SectorIndicatorEvent

EVENT_TYPES: dict[Kind, type[Envelope]] = {
    Kind.CITIZEN_REPORT: CitizenReportEvent,
    Kind.DISASTER_ALERT: DisasterAlertEvent,
    Kind.PERMIT_FILING: PermitFilingEvent,
    Kind.SECTOR_INDICATOR: SectorIndicatorEvent,
}


def kind_of(event: Envelope) -> Kind:
    """The kind of an event, from its tag."""
    return Kind(str(type(event).__struct_config__.tag))


def new_event_id() -> uuid.UUID:
    """A fresh UUIDv7: assigned once at the edge, the idempotency key everywhere after."""
    return uuid_compat.uuid7()


def utc_now() -> datetime:
    """The current time, timezone-aware in UTC."""
    return datetime.now(UTC)


# Plausible event times. Clocks of phones and sensors run minutes ahead; more than this is a
# wrong clock or a typo, and an event "from the future" would sort first on the wall for ever.
MAX_CLOCK_SKEW = timedelta(minutes=15)
# Nothing Posko handles happened before this: the province's digital records (and every feed it
# reads) start after it, while a year 1900 or 0001 is a default value, not a date.
EARLIEST_OCCURRED_AT = datetime(2000, 1, 1, tzinfo=UTC)
# An official warning's `occurred_at` is its CAP onset, which may lie ahead: BMKG's early
# warnings look up to a week ahead (its weekly outlook); a later onset is not a warning yet.
ALERT_ONSET_AHEAD = timedelta(days=7)


def occurred_at_problem(
    occurred_at: datetime, now: datetime | None = None, ahead: timedelta = MAX_CLOCK_SKEW
) -> str | None:
    """Why `occurred_at` cannot be when an event happened (or, `ahead`, will), or None."""
    now = now or utc_now()
    if occurred_at > now + ahead:
        span = f"{ahead.days} days" if ahead.days else f"{ahead.seconds // 60} minutes"
        return (f"occurred_at {occurred_at.isoformat()} is in the future (more than "
                f"{span} after now, {now.isoformat(timespec='seconds')}): "
                "check the sender's clock and time zone")
    if occurred_at < EARLIEST_OCCURRED_AT:
        return (f"occurred_at {occurred_at.isoformat()} is before "
                f"{EARLIEST_OCCURRED_AT.date().isoformat()}: send the real time of the event")
    return None


# --- What the stream emits beside clean events ----------------------------------------------


class Alert(msgspec.Struct, frozen=True, kw_only=True):
    """Something the command room must see now; public (no personal data)."""

    id: uuid.UUID
    event_kind: Kind
    source: str
    occurred_at: UtcTime
    region: Region | None
    location: Point | None
    severity: Severity
    urgency: Urgency
    headline: str
    description: str
    reason: str
    # The version of what the alert is about: a newer one replaces the stored row.
    version: UtcTime | None = None


class DeadLetter(msgspec.Struct, frozen=True, kw_only=True):
    """A message the pipeline could not use, with the original bytes (or their start) and why."""

    id: uuid.UUID
    reason: str
    topic: str
    partition: int
    offset: int
    key: bytes | None
    # The original bytes, whole up to DEAD_LETTER_RAW_BYTES; of a larger message, its first ones.
    raw: bytes
    failed_at: UtcTime
    # The original message's size and SHA-256 (hex). Letters written before they existed leave
    # them out, and carry the whole message.
    raw_size: int | None = None
    raw_sha256: str | None = None
    # The event's line in a batched record (schemas/batch.py), from 1; `raw` is that line alone.
    # None for a record of one event (or one that could not be split into lines).
    position: int | None = None

    @property
    def complete(self) -> bool:
        """Whether `raw` is the whole original message (it can be replayed as it is)."""
        return self.raw_size is None or self.raw_size == len(self.raw)


# What a dead letter keeps. posko.dlq carries `raw` in base64 (+33 %): whatever size a raw topic
# accepts (1 MB by default, more if a cluster allows it), the letter must still fit on posko.dlq.
# 256 KiB is the whole of any message the schemas can accept (three 5,000-character texts even
# in \uXXXX escapes, plus CAP polygons) and gives a letter under 360 KB.
DEAD_LETTER_RAW_BYTES = 256 * 1024
DEAD_LETTER_KEY_BYTES = 1024  # keys are region codes; a longer one is kept only in part
DEAD_LETTER_REASON_CHARS = 2000


DEAD_LETTER_NAMESPACE = uuid.UUID("5f0c2f4e-6d43-4a59-9b8e-3c1d8a0e7b21")


def dead_letter_id(topic: str, partition: int, offset: int, position: int | None = None) -> uuid.UUID:
    """The same id for the same source message (and line of a batch), so a redelivered failure
    is stored once."""
    line = "" if position is None else f"/{position}"
    return uuid.uuid5(DEAD_LETTER_NAMESPACE, f"{topic}/{partition}/{offset}{line}")


def new_dead_letter(
    reason: str, topic: str, partition: int, offset: int, key: bytes | None, raw: bytes | None,
    keep: int = DEAD_LETTER_RAW_BYTES, position: int | None = None,
) -> DeadLetter:
    """The dead letter of a source message (or of line `position` of a batched one), keeping at
    most `keep` of its bytes (and its size and digest)."""
    raw = raw or b""
    if len(reason) > DEAD_LETTER_REASON_CHARS:
        reason = reason[: DEAD_LETTER_REASON_CHARS - 1] + "…"
    return DeadLetter(
        id=dead_letter_id(topic, partition, offset, position), reason=reason, topic=topic,
        partition=partition, offset=offset, position=position,
        key=key[:DEAD_LETTER_KEY_BYTES] if key is not None else None,
        raw=raw[:keep], failed_at=utc_now(), raw_size=len(raw),
        raw_sha256=hashlib.sha256(raw).hexdigest(),
    )


class Acknowledgement(msgspec.Struct, frozen=True, kw_only=True):
    """A responder or officer confirming they have taken on an alert; shown on every wall."""

    id: uuid.UUID
    alert_id: uuid.UUID
    # The alert's region, kind and severity: who may see the acknowledgement follows from them.
    region: Region | None
    event_kind: Kind
    severity: Severity
    acked_by: Annotated[str, Meta(min_length=1, max_length=200)]
    role: Annotated[str, Meta(max_length=20)]
    note: Annotated[str, Meta(max_length=500)] = ""
    acked_at: UtcTime


# --- Citizen report follow-up (LAPOR!-style workflow) ----------------------------------------


class ReportStatus(enum.StrEnum):
    """Where a citizen report is on the LAPOR!-style workflow, in order."""

    DITERIMA = "diterima"
    DIVERIFIKASI = "diverifikasi"
    DIDISPOSISIKAN = "didisposisikan"
    DITINDAKLANJUTI = "ditindaklanjuti"
    SELESAI = "selesai"


REPORT_STATUS_ORDER: tuple[ReportStatus, ...] = tuple(ReportStatus)


class StatusStep(msgspec.Struct, frozen=True, omit_defaults=True):
    """One move of a report along the workflow."""

    status: ReportStatus
    at: UtcTime
    by: ShortText
    note: LongText = ""


class ReportStatusChange(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """A report's status changed; carries the whole follow-up so far (the topic is compacted).

    The first change of a report (diterima) also carries the report itself: it is the one
    record the intake writes before answering, and the intake's relay forwards the report to
    posko.raw.citizen_report from there (a transactional outbox on Kafka).
    """

    id: uuid.UUID
    tracking: ShortText
    report_id: uuid.UUID
    channel: Channel
    category: ReportCategory
    region: Region | None = None
    status: ReportStatus
    changed_at: UtcTime
    changed_by: ShortText
    note: LongText = ""
    history: list[StatusStep]
    # The agency the report was disposed to (set with didisposisikan, kept by later changes):
    # whom its follow-up SLA escalates to. Records before it leave it out.
    agency: ShortText | None = None
    # "<api key id>:<Idempotency-Key>" and the SHA-256 of the submission as decoded (so a retry
    # differing in whitespace or key order is the same; the raw body's in records before), so a
    # retried submission finds its tracking number again after a restart. Never in ClickHouse.
    idempotency: str | None = None
    body_sha256: str | None = None
    report: CitizenReportEvent | None = None
