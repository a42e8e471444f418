"""A briefing's facts as the gateway or ClickHouse would give them: a flood in Batang Hari (Segera,
no tanggap darurat yet), a landslide in Kerinci under siaga darurat, an overdue task, a ranking and
recommendations (those standing in for the worker's, tests/ranking_samples.py)."""

from __future__ import annotations

import uuid
from datetime import timedelta

from documents.briefing import Emergency, OpenIncident, Situation, TaskState
from schemas.events import utc_now
from schemas.incidents import Hazard
from schemas.regions import Region
from tests.ranking_samples import recommendation, region_score


def situation(marker: str) -> Situation:
    """The sample situation, its titles ending with `marker`."""
    now = utc_now()
    flood = OpenIncident(
        id=uuid.uuid4(), title=f"Banjir Muara Bulian {marker}", hazard="banjir", priority="segera",
        status="ditangani", regions=["15.04"], opened_at=now - timedelta(hours=3), updated_at=now)
    slide = OpenIncident(
        id=uuid.uuid4(), title=f"Longsor Kayu Aro {marker}", hazard="longsor", priority="tinggi",
        status="dipantau", regions=["15.01"], opened_at=now - timedelta(days=2), updated_at=now)
    closed = OpenIncident(
        id=uuid.uuid4(), title=f"Angin kencang Bungo {marker}", hazard="cuaca", priority="sedang",
        status="selesai", regions=["15.08"], opened_at=now - timedelta(days=1),
        updated_at=now - timedelta(hours=2))
    return Situation(
        now=now, since=now - timedelta(hours=24), incidents=[slide, flood], closed=[closed],
        emergencies=[Emergency(region="15.01", status="siaga_darurat", decided_at=now - timedelta(hours=5),
                               decree="188.4/KEP.12/BPBD/2026")],
        tasks=[TaskState(title=f"Kaji cepat Muara Bulian {marker}", assignee="TRC BPBD Batang Hari",
                         priority="segera", status="berangkat", due_at=now - timedelta(hours=1),
                         updated_at=now - timedelta(hours=2))],
        ranking=[region_score(Region.BATANG_HARI, Hazard.BANJIR, 1, f"1 insiden Segera {marker}"),
                 region_score(Region.KERINCI, Hazard.LONGSOR, 2, f"1 insiden Tinggi {marker}")],
        recommendations=[
            recommendation(Region.BATANG_HARI, Hazard.BANJIR, "banjir.status-tanggap-darurat",
                           f"Putuskan status tanggap darurat {marker}", "Bupati Batang Hari",
                           "TMA Batanghari di atas Siaga 1", flood.id, due_in=timedelta(hours=2)),
            recommendation(Region.BATANG_HARI, Hazard.BANJIR, "banjir.posko-pengungsian",
                           f"Buka posko pengungsian {marker}", "Dinas Sosial", "12 rumah terendam", flood.id,
                           due_in=timedelta(hours=-1)),
        ],
        events={"citizen_report": 14, "disaster_alert": 3, "sector_indicator": 40},
    )
