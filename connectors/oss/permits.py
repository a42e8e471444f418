"""OSS-RBA pushes: receiveNIB registers a licence application, receiveLicenseStatus moves it along.

Each status push becomes a `PermitFiling` event whose SLA deadline follows the status codes
of Lampiran 10: 41 stops the clock and 42 resumes it; 43 stops it and 44 restarts it from
zero; a decision (50, 57, 90, 93) ends it.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import msgspec
from litestar import Request, Response, Router, post

from connectors.publisher import PUBLISHER, RawPublisher, raw_message
from connectors.state import load_json, save_json, state_path
from posko.errors import PoskoError
from posko.settings import Settings
from schemas.clock import WIB, wib_to_utc
from schemas.events import (
    FINAL_STATUSES,
    SLA_PAUSES,
    SLA_RESTARTS,
    SLA_RESUMES,
    ApplicantType,
    PermitFiling,
    PermitFilingEvent,
    PermitStatus,
    utc_now,
)
from schemas.regions import Region

SOURCE = "oss-rba"
OSS_NAMESPACE = uuid.UUID("c1a4e0f2-3b7d-4e52-8f19-6a2d0b9e4c37")
APPLICANT_TYPES = {
    "01": ApplicantType.BADAN_USAHA, "02": ApplicantType.PERSEORANGAN,
    "03": ApplicantType.KANTOR_PERWAKILAN, "04": ApplicantType.BADAN_USAHA_LUAR_NEGERI,
}


class OssError(PoskoError, ValueError):
    """A push Posko cannot use; the message says what is wrong and what to send instead."""


# --- The pushes as OSS sends them (only the fields Posko uses) -------------------------------


class _Lokasi(msgspec.Struct):
    proyek_daerah_id: str = ""


class _Proyek(msgspec.Struct):
    id_proyek: str = ""
    kbli: str = ""
    data_lokasi_proyek: list[_Lokasi] = []


class _Checklist(msgspec.Struct):
    id_izin: str = ""
    kd_izin: str = ""
    nama_izin: str = ""


class DataNib(msgspec.Struct):
    """receiveNIB's `dataNIB`: the business, its projects and the licences it applies for."""

    nib: str
    id_izin: str = ""
    kd_izin: str = ""
    kd_daerah: str = ""
    perseroan_daerah_id: str = ""
    jenis_pelaku_usaha: str = ""
    data_proyek: list[_Proyek] = []
    data_checklist: list[_Checklist] = []


class NibPush(msgspec.Struct):
    """A receiveNIB request body."""

    data_nib: DataNib = msgspec.field(name="dataNIB")


class IzinStatus(msgspec.Struct):
    """receiveLicenseStatus's `IZINSTATUS`: one status change of one licence."""

    nib: str
    id_izin: str
    kd_status: str
    tgl_status: str
    kd_izin: str = ""
    id_proyek: str = ""
    kd_instansi: str = ""
    nama_status: str = ""
    keterangan: str = ""


class LicenseStatusPush(msgspec.Struct):
    """A receiveLicenseStatus request body."""

    izin_status: IzinStatus = msgspec.field(name="IZINSTATUS")


# --- What Posko keeps per application --------------------------------------------------------


class SlaClock(msgspec.Struct, kw_only=True):
    """The SLA clock of one application: time left, and since when it runs (None: stopped)."""

    remaining_s: float
    running_since: datetime | None = None

    @property
    def deadline(self) -> datetime | None:
        """When the SLA lapses, or None while the clock is stopped."""
        if self.running_since is None:
            return None
        return self.running_since + timedelta(seconds=self.remaining_s)

    def follow(self, status: PermitStatus, at: datetime, sla_s: float) -> SlaClock:
        """The clock after `status` at `at`."""
        if status in FINAL_STATUSES:
            return SlaClock(remaining_s=self._left(at))
        if status in SLA_PAUSES:
            return SlaClock(remaining_s=self._left(at))
        if status in SLA_RESTARTS:
            return SlaClock(remaining_s=sla_s, running_since=at)
        if status in SLA_RESUMES and self.running_since is None:
            return SlaClock(remaining_s=self.remaining_s, running_since=at)
        return self

    def _left(self, at: datetime) -> float:
        if self.running_since is None:
            return self.remaining_s
        return max(0.0, self.remaining_s - (at - self.running_since).total_seconds())


class Permit(msgspec.Struct, kw_only=True):
    """A licence application registered by receiveNIB, with its SLA clock once it has a status."""

    permit_id: str
    nib: str
    permit_type: str
    kbli: str
    applicant_type: ApplicantType
    region: Region | None
    clock: SlaClock | None = None
    last_status: PermitStatus | None = None


def _region(*codes: str) -> Region | None:
    """The kabupaten/kota of the first Kemendagri code given ('1571', '15.71', '1571010…')."""
    for code in codes:
        digits = re.sub(r"\D", "", code)
        if len(digits) >= 4 and (candidate := f"{digits[:2]}.{digits[2:4]}") in Region._value2member_map_:
            return Region(candidate)
    return None


def oss_time(text: str) -> datetime:
    """An OSS date-time ('2026-03-02 09:15:00', WIB unless it says otherwise) in UTC."""
    text = text.strip()
    found = wib_to_utc(text, "%Y-%m-%d %H:%M:%S", "%Y-%m-%d", "%d-%m-%Y %H:%M:%S", "%d-%m-%Y")
    if found is not None:
        return found
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError as exc:
        raise OssError(f"tgl_status {text!r} is not a date-time: use YYYY-MM-DD HH:MM:SS (WIB)") from exc
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=WIB)).astimezone(UTC)


class PermitBook:
    """The applications OSS registered, with their SLA clocks; kept in a file when given."""

    def __init__(self, sla_hours: float, path: Path | None = None) -> None:
        self.sla_s = sla_hours * 3600
        self.path = path
        self.permits: dict[str, Permit] = {}
        if path is not None:
            self.permits = load_json(path, dict[str, Permit]) or {}

    def register(self, push: NibPush) -> list[str]:
        """Remember the licences a receiveNIB push applies for; return their ids."""
        data = push.data_nib
        if not re.fullmatch(r"\d{13}", data.nib):
            raise OssError(f"dataNIB.nib {data.nib!r} is not a 13-digit NIB")
        applicant = APPLICANT_TYPES.get(data.jenis_pelaku_usaha.zfill(2))
        if applicant is None:
            raise OssError(f"dataNIB.jenis_pelaku_usaha {data.jenis_pelaku_usaha!r} is not a code of "
                           "Lampiran 18 (01 Badan Usaha, 02 Perseorangan, 03 Kantor Perwakilan, "
                           "04 Badan Usaha Luar Negeri)")
        kbli = next((p.kbli for p in data.data_proyek if re.fullmatch(r"\d{5}", p.kbli)), None)
        if kbli is None:
            raise OssError("dataNIB.data_proyek has no project with a 5-digit kbli")
        locations = [loc.proyek_daerah_id for p in data.data_proyek for loc in p.data_lokasi_proyek]
        region = _region(*locations, data.kd_daerah, data.perseroan_daerah_id)
        licences = [(c.id_izin, c.nama_izin or c.kd_izin) for c in data.data_checklist if c.id_izin]
        if data.id_izin:
            licences.append((data.id_izin, data.kd_izin))
        if not licences:
            raise OssError("dataNIB names no licence: give id_izin or data_checklist[].id_izin")
        for permit_id, permit_type in licences:
            known = self.permits.get(permit_id)
            self.permits[permit_id] = Permit(
                permit_id=permit_id, nib=data.nib, permit_type=(permit_type or "izin")[:200], kbli=kbli,
                applicant_type=applicant, region=region, clock=known.clock if known else None,
                last_status=known.last_status if known else None,
            )
        return [permit_id for permit_id, _ in licences]

    def status(self, push: LicenseStatusPush, received_at: datetime) -> PermitFilingEvent:
        """The PermitFiling event of a status push, with the application's SLA clock moved."""
        izin = push.izin_status
        try:
            status = PermitStatus(int(izin.kd_status))
        except ValueError as exc:
            raise OssError(f"kd_status {izin.kd_status!r} is not a status code of Lampiran 10") from exc
        permit = self.permits.get(izin.id_izin)
        if permit is None:
            raise OssError(f"licence id_izin {izin.id_izin!r} (NIB {izin.nib!r}) is not registered: "
                           "OSS sends receiveNIB for it first; send that, then this status again")
        if permit.nib != izin.nib:
            raise OssError(f"licence {izin.id_izin} belongs to NIB {permit.nib}, not {izin.nib}")
        at = oss_time(izin.tgl_status)
        clock = permit.clock or SlaClock(remaining_s=self.sla_s, running_since=at)
        permit.clock = clock.follow(status, at, self.sla_s)
        permit.last_status = status
        stopped = permit.clock.deadline is None and status not in FINAL_STATUSES
        note = izin.keterangan.strip()
        if stopped:
            note = f"{note} (SLA dihentikan sementara)".strip()
        filing = PermitFiling(
            permit_id=permit.permit_id, nib=permit.nib, permit_type=permit.permit_type, kbli=permit.kbli,
            applicant_type=permit.applicant_type, status=status, sla_deadline=permit.clock.deadline,
            note=note[:5000],
        )
        event_id = uuid.uuid5(OSS_NAMESPACE, f"{izin.id_izin}|{status}|{izin.tgl_status}")
        return PermitFilingEvent(id=event_id, source=SOURCE, occurred_at=at, received_at=received_at,
                                 region=permit.region, payload=filing)

    def save(self) -> None:
        """Write the book to its file, when it has one."""
        if self.path is None:
            return
        save_json(self.path, self.permits)


def book_path(settings: Settings) -> Path:
    """Where the OSS endpoint keeps the registered applications."""
    return state_path(settings, "oss-permits.json")


def _answer(operation: str, code: int, text: str, **extra: object) -> Response[dict[str, object]]:
    # OSS answers with `respon<operation>` holding `kode` and `keterangan` (Lampiran 9).
    return Response({f"respon{operation}": {"kode": code, "keterangan": text, **extra}}, status_code=code)


def oss_router(settings: Settings) -> Router:
    """POST /v1/oss/receiveNIB and /v1/oss/receiveLicenseStatus, shaped like OSS-RBA's."""
    book = PermitBook(settings.oss_sla_hours, book_path(settings))
    lock = asyncio.Lock()

    @post("/receiveNIB", sync_to_thread=False)
    async def receive_nib(request: Request) -> Response[dict[str, object]]:
        """Register the licences of a business (NIB) so their status pushes can be read."""
        try:
            push = msgspec.json.decode(await request.body(), type=NibPush)
            async with lock:
                ids = book.register(push)
                await asyncio.to_thread(book.save)
        except (msgspec.DecodeError, OssError) as exc:
            return _answer("receiveNIB", 400, f"Data Parameter Salah: {exc}")
        return _answer("receiveNIB", 200, "Sukses", id_izin=ids)

    @post("/receiveLicenseStatus", sync_to_thread=False)
    async def receive_license_status(request: Request) -> Response[dict[str, object]]:
        """A licence status change: published as a PermitFiling event before the answer."""
        publisher: RawPublisher = request.app.state[PUBLISHER]
        try:
            push = msgspec.json.decode(await request.body(), type=LicenseStatusPush)
            async with lock:
                event = book.status(push, utc_now())
                await publisher.publish([raw_message(event)])
                await asyncio.to_thread(book.save)
        except (msgspec.DecodeError, OssError) as exc:
            return _answer("receiveLicenseStatus", 400, f"Data Parameter Salah: {exc}")
        deadline = event.payload.sla_deadline
        return _answer("receiveLicenseStatus", 200, "Sukses", id_event=str(event.id),
                       sla_deadline=deadline.isoformat() if deadline else None)

    return Router("/v1/oss", route_handlers=[receive_nib, receive_license_status])
