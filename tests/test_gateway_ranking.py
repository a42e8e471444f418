"""Decision support through the real gateway (real broker): scores and recommendations read from
posko.ranking reach officers and walls, in snapshots and live, and never responders or agencies.

The records are produced by the test, standing in for the worker's ranking (streams/), which
writes the same RankingRecords with the same keys.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta

import msgspec
import pytest

from schemas.commands import Assignee, AssigneeKind
from schemas.decision import RecommendationStatus
from schemas.identity import Role
from schemas.incidents import Hazard
from schemas.regions import Region
from sinks.push.protocol import RankingMessage, RecommendationMessage, ServerMessage, Snapshot, TaskMessage
from sinks.push.snapshot import SNAPSHOT_BYTES, fit_snapshot
from tests.desk_samples import publish_desk, task, to_responder
from tests.gateway_stack import GatewayStack, open_client, own_gateway_stack, receive_until
from tests.ranking_samples import publish_ranking, recommendation, region_score

__all__ = ["own_gateway_stack"]

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def gateway_stack(own_gateway_stack: GatewayStack) -> GatewayStack:
    """The module's gateway on a broker of its own: its ranking is the only one shown."""
    return own_gateway_stack


def _snapshot(got: list[ServerMessage]) -> Snapshot:
    found = [m for m in got if isinstance(m, Snapshot)]
    assert found, f"no snapshot in {[type(m).__name__ for m in got]}"
    return found[-1]


def _has_task(task_id: uuid.UUID) -> Callable[[list[ServerMessage]], bool]:
    return lambda got: any(isinstance(m, TaskMessage) and m.task.id == task_id for m in got)


def _is_snapshot(got: list[ServerMessage]) -> bool:
    return any(isinstance(m, Snapshot) for m in got)


async def test_ranking_and_recommendations_reach_the_room_not_the_field(gateway_stack: GatewayStack,
                                                                         marker: str) -> None:
    settings = gateway_stack.stack.settings
    officer = await open_client(gateway_stack, gateway_stack.token(Role.OFFICER, "Petugas Piket"))
    wall = await open_client(gateway_stack, gateway_stack.token())
    responder = await open_client(gateway_stack, gateway_stack.token(
        Role.RESPONDER, "TRC BPBD Batang Hari", regions=[Region.BATANG_HARI]))
    agency = await open_client(gateway_stack, gateway_stack.token(Role.AGENCY, "Admin Dinsos",
                                                                  agency="Dinas Sosial"))
    for ws in (officer, wall, responder, agency):
        await receive_until(ws, _is_snapshot)

    flood = region_score(Region.BATANG_HARI, Hazard.BANJIR, 1, f"2 insiden Segera {marker}")
    slide = region_score(Region.KERINCI, Hazard.LONGSOR, 2, f"1 insiden Tinggi {marker}")
    assess = recommendation(Region.BATANG_HARI, Hazard.BANJIR, "banjir.kaji-cepat",
                            f"Kaji cepat ke lokasi terdampak {marker}", "TRC BPBD",
                            "Peringatan Siaga BPBD 08:10 WIB")
    status = recommendation(Region.BATANG_HARI, Hazard.BANJIR, "banjir.status",
                            "Putuskan status tanggap darurat", "Bupati Batang Hari", "2 insiden Segera",
                            due_in=timedelta(hours=-1))
    await publish_ranking(settings, [flood, slide, assess, status])

    def has_live(got: list[ServerMessage]) -> bool:
        scores = {m.score.region for m in got if isinstance(m, RankingMessage)}
        recs = {m.recommendation.id for m in got if isinstance(m, RecommendationMessage)}
        return {Region.BATANG_HARI, Region.KERINCI} <= scores and {assess.id, status.id} <= recs

    for ws in (officer, wall):
        got = await receive_until(ws, has_live)
        pushed = next(m for m in got
                      if isinstance(m, RankingMessage) and m.score.region == Region.BATANG_HARI)
        assert [p.why for p in pushed.score.parts][1] == f"2 insiden Segera {marker}"

    # The assessment is tasked: it leaves the open ones (its new version is pushed to the room).
    tasked = msgspec.structs.replace(assess, status=RecommendationStatus.DITUGASKAN,
                                     updated_at=assess.updated_at + timedelta(seconds=1))
    await publish_ranking(settings, [tasked])
    await receive_until(officer, lambda got: any(
        isinstance(m, RecommendationMessage) and m.recommendation.status is RecommendationStatus.DITUGASKAN
        for m in got))

    # Snapshots of new connections: the room's carry the ranking in rank order and the open ones.
    for role in (Role.OFFICER, Role.SUPERVISOR, Role.WALL):
        ws = await open_client(gateway_stack, gateway_stack.token(role, f"Ruang {role}"))
        snapshot = _snapshot(await receive_until(ws, _is_snapshot))
        assert [(s.region, s.rank) for s in snapshot.ranking][:2] == [(Region.BATANG_HARI, 1),
                                                                       (Region.KERINCI, 2)]
        assert [r.id for r in snapshot.recommendations] == [status.id]  # the tasked one is not open
        await ws.close()

    # The field gets none of it, live or in a snapshot. A task for each, sent after the room had the
    # ranking, comes to them after anything the gateway would have pushed of it (one queue, in order).
    responder_again = await open_client(gateway_stack, gateway_stack.token(
        Role.RESPONDER, "TRC BPBD Batang Hari", regions=[Region.BATANG_HARI]))
    snapshot = _snapshot(await receive_until(responder_again, _is_snapshot))
    assert snapshot.ranking == [] and snapshot.recommendations == []
    theirs = task(marker, to_responder("TRC BPBD Batang Hari"))
    dinsos = task(marker, Assignee(AssigneeKind.AGENCY, "Dinas Sosial"))
    await publish_desk(settings, [theirs, dinsos])
    for ws, mine in ((responder, theirs), (agency, dinsos)):
        got = await receive_until(ws, _has_task(mine.id))
        assert not any(isinstance(m, RankingMessage | RecommendationMessage) for m in got)
    for ws in (officer, wall, responder, agency, responder_again):
        await ws.close()


def test_a_snapshot_too_big_drops_recommendations_and_ranking_before_incidents() -> None:
    recs = [recommendation(Region.BATANG_HARI, Hazard.BANJIR, f"banjir.r{i}", "x" * 3000, "TRC BPBD", "y")
            for i in range(400)]
    scores = [region_score(Region.KERINCI, Hazard.LONGSOR, i, "z" * 2000) for i in range(200)]
    big = Snapshot(seq=1, alerts=[], acks=[], counts=None, regions={}, ranking=scores, recommendations=recs)
    assert len(msgspec.json.encode(big)) > SNAPSHOT_BYTES
    fitted = fit_snapshot(big)
    assert len(msgspec.json.encode(fitted)) <= SNAPSHOT_BYTES
    assert fitted.recommendations == recs[: len(fitted.recommendations)]  # the soonest due kept
    assert fitted.ranking == scores[: len(fitted.ranking)]
