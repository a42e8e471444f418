"""What the intake API reads and answers: request and response bodies."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import ClassVar, Literal

import msgspec

from schemas.events import (
    Channel,
    CitizenReport,
    LongText,
    Point,
    ReportCategory,
    ReportStatus,
    ReportStatusChange,
    ShortText,
    UtcTime,
)
from schemas.regions import Region

STATUS_LABELS: dict[ReportStatus, str] = {
    ReportStatus.DITERIMA: "Laporan diterima",
    ReportStatus.DIVERIFIKASI: "Laporan diverifikasi",
    ReportStatus.DIDISPOSISIKAN: "Laporan didisposisikan ke instansi terkait",
    ReportStatus.DITINDAKLANJUTI: "Laporan sedang ditindaklanjuti",
    ReportStatus.SELESAI: "Laporan selesai ditangani",
}


class ReportSubmission(CitizenReport, frozen=True, forbid_unknown_fields=True):
    """A citizen report as a channel submits it: the CitizenReport fields, and where and when."""

    # A report is placed by its region, or by a location (inside Jambi); the OpenAPI schema says so.
    AT_LEAST_ONE_OF: ClassVar[tuple[str, ...]] = ("region", "location")

    region: Region | None = None
    location: Point | None = None
    occurred_at: UtcTime | None = None

    def report(self) -> CitizenReport:
        """The CitizenReport part."""
        return CitizenReport(channel=self.channel, category=self.category, title=self.title,
                             text=self.text, reporter=self.reporter)


class Accepted(msgspec.Struct, frozen=True):
    """A report is on Kafka; quote the tracking number to follow it."""

    tracking: str
    id: uuid.UUID
    status: ReportStatus
    status_url: str
    message: str


class StatusUpdate(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """An officer moves a report along the workflow."""

    status: ReportStatus
    note: LongText = ""
    # With didisposisikan: the agency the report goes to (its follow-up SLA escalates there).
    agency: ShortText | None = None


class StepView(msgspec.Struct, frozen=True):
    """One step of a report's follow-up."""

    status: ReportStatus
    label: str
    at: datetime
    note: str


class ReportView(msgspec.Struct, frozen=True):
    """A report's follow-up as citizens and channels see it (no personal data)."""

    tracking: str
    id: uuid.UUID
    status: ReportStatus
    label: str
    channel: Channel
    category: ReportCategory
    region: Region | None
    updated_at: datetime
    history: list[StepView]
    agency: str | None = None

    @classmethod
    def of(cls, change: ReportStatusChange) -> ReportView:
        """The view of a report's latest status change."""
        return cls(
            tracking=change.tracking, id=change.report_id, status=change.status,
            label=STATUS_LABELS[change.status], channel=change.channel, category=change.category,
            region=change.region, updated_at=change.changed_at,
            history=[StepView(step.status, STATUS_LABELS[step.status], step.at, step.note)
                     for step in change.history],
            agency=change.agency,
        )


class Problem(msgspec.Struct, frozen=True, omit_defaults=True):
    """What was wrong with a request and what to do about it."""

    status: int
    error: str
    message: str
    field: str | None = None


HealthStatus = Literal["ok", "starting", "kafka_unavailable"]


class Health(msgspec.Struct, frozen=True):
    """Whether the intake can take reports."""

    status: HealthStatus
    reports_known: int
