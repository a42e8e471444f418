"""A briefing's facts as the gateway or ClickHouse would give them: a flood in Batang Hari (Segera,
no tanggap darurat yet), a landslide in Kerinci under siaga darurat, an overdue task, a ranking and
recommendations (those standing in for the worker's, tests/ranking_samples.py)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path

import msgspec

from documents.briefing import Emergency, OpenIncident, Situation, TaskState
from schemas.commands import Assignee, AssigneeKind, EmergencyStatus
from schemas.events import utc_now
from schemas.incidents import Hazard, IncidentStatus
from schemas.regions import Region
from schemas.topics import DESK, INCIDENTS
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


def store_situation(path: str, marker: str) -> None:
    """Write the sample's records into a chdb store at `path` as the sink would (its row makers):
    an open Segera flood in Batang Hari and a closed incident, an overdue task, Kerinci's siaga
    darurat, two scores of Batang Hari (the later one ranks it first) and a status recommendation.
    Run in a process of its own: chdb opens one data path per process."""
    from sinks.clickhouse.migrations import KEYS, VERSIONED
    from sinks.clickhouse.store import ChdbStore
    from sinks.clickhouse.writer import ROW_MAKERS
    from tests.desk_samples import emergency, task
    from tests.incident_samples import flood_incident, next_version, singleton_incident
    from tests.ranking_samples import ranking_row, recommendation_row

    flood = flood_incident(marker)
    gone = singleton_incident(marker, Hazard.CUACA, f"Angin kencang Bungo {marker}", "15.08.01")
    late = task(marker, Assignee(AssigneeKind.TEAM, "TRC BPBD Batang Hari"), flood.id,
                due_in=timedelta(hours=-2), region=Region.BATANG_HARI)
    now = utc_now()
    records: list[tuple[str, msgspec.Struct]] = [
        (INCIDENTS, flood), (INCIDENTS, gone), (INCIDENTS, next_version(gone, status=IncidentStatus.SELESAI)),
        (DESK, late), (DESK, emergency(Region.KERINCI, EmergencyStatus.SIAGA_DARURAT))]
    store = ChdbStore(Path(path))
    store.migrate()
    for topic, record in records:
        for table, row in ROW_MAKERS[topic](msgspec.json.encode(record)):
            if table in VERSIONED:
                store.insert_newer(table, [row], KEYS.get(table, "id"))
            else:
                store.insert_new(table, [row])
    hour_ago = now - timedelta(hours=1)
    scores = [region_score(Region.BATANG_HARI, Hazard.BANJIR, 3, f"lama {marker}", at=hour_ago),
              region_score(Region.BATANG_HARI, Hazard.BANJIR, 1, f"1 insiden Segera {marker}", 0.0, flood.id),
              region_score(Region.KERINCI, Hazard.LONGSOR, 2, f"1 insiden Tinggi {marker}")]
    store.insert_rows("region_ranking", [ranking_row(s) for s in scores])
    status = recommendation(Region.BATANG_HARI, Hazard.BANJIR, "banjir.status-tanggap-darurat",
                            f"Putuskan status tanggap darurat {marker}", "Bupati Batang Hari",
                            "TMA Batanghari di atas Siaga 1", flood.id, due_in=timedelta(hours=-1))
    store.insert_rows("recommendations", [recommendation_row(status)])
    store.close()
