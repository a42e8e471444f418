"""The report SLA clocks in the real worker on the real broker: once per step, also across SIGKILL."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timedelta

import msgspec

from schemas.events import Channel, ReportCategory, ReportStatus, ReportStatusChange, StatusStep, utc_now
from schemas.incidents import Escalation, EscalationSubject
from schemas.regions import Region
from schemas.topics import ESCALATIONS, REPORT_STATUS
from tests.conftest import Stack, produce, read_topic, wait_for

_escalation = msgspec.json.Decoder(Escalation)


def change(
    tracking: str, *steps: tuple[ReportStatus, datetime], agency: str | None = None
) -> ReportStatusChange:
    """A report's status record with these steps of history (the last is its status)."""
    status, at = steps[-1]
    return ReportStatusChange(
        id=uuid.uuid4(), tracking=tracking, report_id=uuid.uuid5(uuid.NAMESPACE_URL, tracking),
        channel=Channel.WEB, category=ReportCategory.INFRASTRUKTUR, region=Region("15.71"),
        status=status, changed_at=at, changed_by="officer:test",
        history=[StatusStep(s, t, "officer:test") for s, t in steps], agency=agency)


def write(stack: Stack, *changes: ReportStatusChange) -> None:
    asyncio.run(produce(stack.settings, [(REPORT_STATUS, c.tracking.encode(), msgspec.json.encode(c))
                                         for c in changes]))


def escalations(stack: Stack, prefix: str) -> list[Escalation]:
    """The report SLA escalations of this test's reports on posko.escalations."""
    records = asyncio.run(read_topic(stack.settings, ESCALATIONS))
    found = [_escalation.decode(value or b"") for _, value in records]
    return [e for e in found if e.subject is EscalationSubject.REPORT_SLA and e.subject_id.startswith(prefix)]


def probe_every_partition(stack: Stack, prefix: str) -> list[tuple[str, str, int]]:
    """Write a late report to every partition of posko.report_status and wait for their steps:
    then the worker has read every partition back to its end, and what it fired is final."""
    partitions, probes, n = stack.settings.partitions, [], 0
    seen: set[int] = set()
    while len(seen) < partitions:
        probe = change(f"{prefix}-probe{n}", (ReportStatus.DITERIMA, utc_now() - timedelta(days=10)))
        [(_, partition, _)] = asyncio.run(produce(stack.settings, [
            (REPORT_STATUS, probe.tracking.encode(), msgspec.json.encode(probe))]))
        seen.add(partition)
        probes.append((probe.tracking, "verifikasi", 1))
        n += 1
    wait_for(lambda: set(probes) <= set(steps(stack, prefix)), 120,
             lambda: f"the probes on every partition to escalate: {steps(stack, prefix)}\n{stack.log_tail()}")
    return probes


def steps(stack: Stack, prefix: str) -> list[tuple[str, str, int]]:
    return sorted((e.subject_id, e.stage, e.level) for e in escalations(stack, prefix))


def test_backdated_reports_escalate_once_per_stage_and_one_verified_in_time_never(
    stack: Stack, marker: str
) -> None:
    now = utc_now()
    ago = lambda days: now - timedelta(days=days)  # noqa: E731
    late, disposed, verified = f"{marker}-A", f"{marker}-B", f"{marker}-C"
    write(stack,
          # received 20 days ago, never verified: its verification is late
          change(late, (ReportStatus.DITERIMA, ago(20))),
          # verified in time, disposed 20 days ago, never followed up: its follow-up is late
          change(disposed, (ReportStatus.DITERIMA, ago(22)), (ReportStatus.DIVERIFIKASI, ago(21)),
                 (ReportStatus.DIDISPOSISIKAN, ago(20)), agency="Dinas PUPR Kota Jambi"),
          # received an hour ago and verified at once: no deadline passed
          change(verified, (ReportStatus.DITERIMA, now - timedelta(hours=1)),
                 (ReportStatus.DIVERIFIKASI, now - timedelta(minutes=50))))
    expected = [(late, "verifikasi", 1), (disposed, "tindak_lanjut", 1)]
    wait_for(lambda: steps(stack, marker) == expected, 90,
             lambda: f"one escalation per late stage {expected}: {steps(stack, marker)}\n{stack.log_tail()}")
    by_report = {e.subject_id: e for e in escalations(stack, marker)}
    follow_up = by_report[disposed]
    assert follow_up.role == "Dinas PUPR Kota Jambi"
    assert follow_up.regions == [Region("15.71")]
    assert follow_up.late_s > 10 * 86_400 and follow_up.due_at < now
    assert by_report[late].role == "petugas verifikasi"
    # The reports seen again (a restart reads the topic from the beginning) fire nothing more.
    write(stack, change(late, (ReportStatus.DITERIMA, ago(20))))
    stack.kill("worker")
    stack.start("worker")
    probes = probe_every_partition(stack, marker)
    assert steps(stack, marker) == sorted([*expected, *probes])

def test_worker_killed_between_two_steps_fires_each_exactly_once(stack: Stack, marker: str) -> None:
    now = utc_now()
    tracking = f"{marker}-A"
    received = now - timedelta(days=30)
    write(stack, change(tracking, (ReportStatus.DITERIMA, received)))
    wait_for(lambda: steps(stack, marker) == [(tracking, "verifikasi", 1)], 90,
             lambda: f"the verification step: {steps(stack, marker)}\n{stack.log_tail()}")
    stack.kill("worker")  # right after the first step, before the second is due
    # Disposed while the worker is down, to an agency, and its follow-up deadline passed too.
    write(stack, change(tracking, (ReportStatus.DITERIMA, received),
                        (ReportStatus.DIDISPOSISIKAN, now - timedelta(days=20)), agency="BPBD Kota Jambi"))
    # Another report whose deadline passes while the worker is down.
    other = f"{marker}-B"
    write(stack, change(other, (ReportStatus.DITERIMA, now - timedelta(days=10))))
    stack.start("worker")
    expected = [(tracking, "tindak_lanjut", 1), (tracking, "verifikasi", 1), (other, "verifikasi", 1)]
    wait_for(lambda: set(expected) <= set(steps(stack, marker)), 120,
             lambda: f"the restarted worker's steps {expected}: {steps(stack, marker)}\n{stack.log_tail()}")
    stack.kill("worker")  # again, straight after it fired
    stack.start("worker")
    # Once the restarted worker has read every partition back, the steps are still there once each.
    probes = probe_every_partition(stack, marker)
    assert steps(stack, marker) == sorted([*expected, *probes])
