"""Simulated OSS-RBA licence applications, moved through their statuses with the SLA rules of Lampiran 10."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from functools import cache

import msgspec

from connectors.simulator import data_files
from connectors.simulator.draws import SOURCE, Table, choice, handed_over, pick, randrange
from connectors.simulator.places import BY_POPULATION, point_pools
from schemas.clock import WIB
from schemas.events import ApplicantType, PermitFiling, PermitFilingEvent, PermitStatus, Point, new_event_id
from schemas.regions import REGION_NAMES, Region


class PermitKind(msgspec.Struct, frozen=True):
    """A kind of application of data/permits.toml, with its applicant mix and `where` resolved."""

    permit_type: str
    kbli: str  # KBLI 2020 five-digit code
    usaha: tuple[str, ...]  # what is being licensed, as an OSS note would describe it
    applicants: tuple[tuple[ApplicantType, float], ...]
    where: frozenset[Region] | None
    level: str  # "kab": DPMPTSP of the kabupaten/kota, "prov": the province, else that agency
    weight: float


def _kinds_of(found: data_files.PermitsFile) -> tuple[PermitKind, ...]:
    return tuple(
        PermitKind(kind.permit_type, kind.kbli, tuple(kind.usaha),
                   tuple(found.applicants[kind.applicants].items()),
                   data_files.regions(kind.where, "permits.toml"), kind.level, kind.weight)
        for kind in found.kinds)


_PERMITS = _kinds_of(data_files.permits())
_MISSING = tuple(data_files.permits().missing_documents)
_REFUSALS = tuple(data_files.permits().refusals)
_COMPANY_WORDS = tuple(data_files.permits().company_words)

_S = PermitStatus
# Who moves an application on: verifiers work office hours, applicants and OSS any time.
_BY_VERIFIER = frozenset({_S.VALIDASI, _S.KONFIRMASI_PERSYARATAN, _S.RE_KONFIRMASI_PERSYARATAN,
                          _S.DISETUJUI, _S.DITOLAK})
_NEXT: dict[PermitStatus, tuple[tuple[PermitStatus, float], ...]] = {
    _S.DOKUMEN_LENGKAP: ((_S.VALIDASI, 0.8), (_S.KONFIRMASI_PERSYARATAN, 0.2)),
    _S.VALIDASI: ((_S.DISETUJUI, 0.75), (_S.DITOLAK, 0.1), (_S.KONFIRMASI_PERSYARATAN, 0.15)),
    _S.KONFIRMASI_PERSYARATAN: ((_S.DATA_KONFIRMASI_PERSYARATAN, 0.9), (_S.DITOLAK, 0.1)),
    _S.DATA_KONFIRMASI_PERSYARATAN: ((_S.VALIDASI, 0.5), (_S.DISETUJUI, 0.35),
                                     (_S.RE_KONFIRMASI_PERSYARATAN, 0.15)),
    _S.RE_KONFIRMASI_PERSYARATAN: ((_S.DATA_RE_KONFIRMASI_PERSYARATAN, 0.92), (_S.DITOLAK, 0.08)),
    _S.DATA_RE_KONFIRMASI_PERSYARATAN: ((_S.VALIDASI, 0.45), (_S.DISETUJUI, 0.45),
                                        (_S.DITOLAK, 0.1)),
}
_SLA_RUNNING = frozenset({_S.DOKUMEN_LENGKAP, _S.VALIDASI, _S.DATA_KONFIRMASI_PERSYARATAN,
                          _S.DATA_RE_KONFIRMASI_PERSYARATAN})
_FINAL = frozenset({_S.DISETUJUI, _S.DISETUJUI_OTOMATIS, _S.DITOLAK})
_BACKLOG = ((_S.DOKUMEN_LENGKAP, 25.0), (_S.VALIDASI, 40.0), (_S.KONFIRMASI_PERSYARATAN, 15.0),
            (_S.DATA_KONFIRMASI_PERSYARATAN, 10.0), (_S.RE_KONFIRMASI_PERSYARATAN, 5.0),
            (_S.DATA_RE_KONFIRMASI_PERSYARATAN, 5.0))
_SLA_WORKING_DAYS = 5
_MAX_OPEN = 400  # applications in flight; beyond this the simulator only advances them


def add_working_days(start: datetime, days: int) -> datetime:
    """`days` working days later (Mon–Fri in WIB; public holidays are ignored)."""
    out = start
    while days > 0:
        out += timedelta(days=1)
        if out.astimezone(WIB).weekday() < 5:
            days -= 1
    return out


@cache
def _permit_kinds(region: Region) -> Table[PermitKind]:
    return Table([(k, k.weight) for k in _PERMITS if k.where is None or region in k.where])


class _Application:
    """One OSS-RBA application the simulator is moving through its statuses."""

    __slots__ = ("agency", "applicant_type", "kbli", "last_at", "location", "nib", "paused_at",
                 "permit_id", "permit_type", "region", "sla_deadline", "status", "usaha")

    def __init__(self, permit_id: str, nib: str, kind: PermitKind, applicant: ApplicantType,
                 agency: str, usaha: str, region: Region | None, location: Point | None,
                 status: PermitStatus, at: datetime) -> None:
        self.permit_id, self.nib = permit_id, nib
        self.permit_type, self.kbli = kind.permit_type, kind.kbli
        self.applicant_type, self.agency, self.usaha = applicant, agency, usaha
        self.region, self.location = region, location
        self.status = status
        self.last_at = at
        self.sla_deadline = add_working_days(at, _SLA_WORKING_DAYS)
        self.paused_at: datetime | None = None


class PermitFilings:
    """Keeps up to _MAX_OPEN applications in flight and files their status changes."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self._pools = point_pools()
        self._open: list[_Application] = []
        self._backlog_seeded = False

    def make(self, now: datetime, office: bool) -> PermitFilingEvent:
        """One status change received at `now`: a new application or a step of an open one."""
        rng = self._rng
        if not self._backlog_seeded:
            self._seed_backlog(now)
        at = handed_over(rng, now)
        p_new = 0.3 if office else 0.65
        app: _Application | None = None
        status: PermitStatus | None = None
        if self._open and (len(self._open) >= _MAX_OPEN or rng.random() >= p_new):
            for _ in range(3):  # outside office hours only applicant or system steps happen
                index = randrange(rng, 0, len(self._open))
                candidate = self._open[index]
                status = self._next_status(candidate, at, office)
                if status is not None:
                    app = candidate
                    if status in _FINAL:
                        self._open[index] = self._open[-1]
                        self._open.pop()
                    break
        if app is None or status is None:
            app = self._new_application(at, _S.DOKUMEN_LENGKAP)
            status = _S.DOKUMEN_LENGKAP
            if len(self._open) < _MAX_OPEN:
                self._open.append(app)
        else:
            at = min(now, max(at, app.last_at))  # a status never predates the one before it
            self._move(app, status, at)
        return PermitFilingEvent(
            id=new_event_id(), source=SOURCE, occurred_at=at, received_at=now,
            region=app.region, location=app.location,
            payload=PermitFiling(
                permit_id=app.permit_id, nib=app.nib, permit_type=app.permit_type,
                kbli=app.kbli, applicant_type=app.applicant_type, status=status,
                sla_deadline=app.sla_deadline, agency=app.agency,
                note=self._note(app, status),
            ),
        )

    def _new_application(self, at: datetime, status: PermitStatus) -> _Application:
        rng = self._rng
        region = BY_POPULATION.pick(rng)
        kind = _permit_kinds(region).pick(rng)
        applicant = pick(rng, kind.applicants)
        if kind.level == "kab":
            agency = f"DPMPTSP {REGION_NAMES[region]}"
        elif kind.level == "prov":
            agency = "DPMPTSP Provinsi Jambi"
        else:
            agency = kind.level
        day = at.astimezone(WIB).strftime("%Y%m%d")
        permit_id = f"I-{day}{randrange(rng, 10**6, 10**7)}"
        nib = choice(rng, ("9120", "8120", "0220")) + f"{randrange(rng, 0, 10**9):09d}"
        usaha = choice(rng, kind.usaha)
        if applicant is not ApplicantType.PERSEORANGAN:
            words = rng.sample(_COMPANY_WORDS, 2)
            usaha = f"{usaha} ({choice(rng, ('PT', 'PT', 'CV'))} {words[0]} {words[1]})"
        # Business addresses are geocoded in OSS; some arrive with coordinates only.
        roll = rng.random()
        where: Region | None = region
        location = None
        if roll < 0.1:
            where, location = None, choice(rng, self._pools[region])
        elif roll < 0.7:
            location = choice(rng, self._pools[region])
        return _Application(permit_id, nib, kind, applicant, agency, usaha, where, location,
                            status, at)

    def _seed_backlog(self, now: datetime) -> None:
        """Applications already in flight when the simulator starts, some past their SLA."""
        rng = self._rng
        self._backlog_seeded = True
        for _ in range(60):
            submitted = now - timedelta(days=rng.uniform(0.2, 10.0))
            app = self._new_application(submitted, pick(rng, _BACKLOG))
            if app.status in (_S.KONFIRMASI_PERSYARATAN, _S.RE_KONFIRMASI_PERSYARATAN):
                paused = submitted + (now - submitted) * rng.uniform(0.2, 0.9)
                app.paused_at = app.last_at = paused
            self._open.append(app)

    def _next_status(self, app: _Application, at: datetime, office: bool) -> PermitStatus | None:
        rng = self._rng
        if app.status in _SLA_RUNNING and at > app.sla_deadline and rng.random() < 0.7:
            return _S.DISETUJUI_OTOMATIS  # nobody decided in time: OSS approves (fiktif positif)
        status = pick(rng, _NEXT[app.status])
        if status in _BY_VERIFIER and not office:
            return None
        return status

    def _move(self, app: _Application, status: PermitStatus, at: datetime) -> None:
        """Apply the SLA rules of Lampiran 10 while moving to `status`."""
        if status in (_S.KONFIRMASI_PERSYARATAN, _S.RE_KONFIRMASI_PERSYARATAN):
            app.paused_at = at
        elif status is _S.DATA_KONFIRMASI_PERSYARATAN and app.paused_at is not None:
            app.sla_deadline += max(timedelta(0), at - app.paused_at)
            app.paused_at = None
        elif status is _S.DATA_RE_KONFIRMASI_PERSYARATAN:
            app.sla_deadline = add_working_days(at, _SLA_WORKING_DAYS)
            app.paused_at = None
        app.status = status
        app.last_at = at

    def _note(self, app: _Application, status: PermitStatus) -> str:
        rng = self._rng
        if status is _S.DOKUMEN_LENGKAP:
            step = "Permohonan diajukan melalui OSS-RBA; dokumen persyaratan telah diunggah."
        elif status is _S.VALIDASI:
            step = f"Dokumen sedang divalidasi verifikator {app.agency}."
        elif status is _S.KONFIRMASI_PERSYARATAN:
            step = f"Verifikator meminta perbaikan: {choice(rng, _MISSING)}."
        elif status is _S.DATA_KONFIRMASI_PERSYARATAN:
            step = "Pelaku usaha telah mengunggah perbaikan; jangka waktu verifikasi berjalan lagi."
        elif status is _S.RE_KONFIRMASI_PERSYARATAN:
            step = f"Perbaikan belum memenuhi syarat, konfirmasi ulang: {choice(rng, _MISSING)}."
        elif status is _S.DATA_RE_KONFIRMASI_PERSYARATAN:
            step = "Data re-konfirmasi diunggah; jangka waktu verifikasi dihitung ulang."
        elif status is _S.DISETUJUI:
            step = "Perizinan berusaha disetujui dan diterbitkan melalui OSS-RBA."
        elif status is _S.DISETUJUI_OTOMATIS:
            step = ("Batas waktu verifikasi terlampaui tanpa keputusan; perizinan disetujui "
                    "otomatis oleh sistem OSS.")
        else:
            step = f"Permohonan ditolak: {choice(rng, _REFUSALS)}."
        return f"{app.usaha}. {step}"
