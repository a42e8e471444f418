"""Decision support, pure: the reference data and playbooks refused with line and reason when bad,
the ranking of the scenarios' regions with its reasons, and recommendations that fire on their rule,
are covered by a task, and stay dismissed."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import msgspec
import pytest
from click.testing import CliRunner

from bench.dss_replay import START, new_board, open_recommendations, replay, top_regions
from decision.playbooks import PlaybookError, load_playbooks, packaged_playbooks, parse_playbook
from decision.ranking import NO_RISK_INDEX, WeightsError, parse_weights
from decision.reference import (
    ReferenceError,
    install_reference,
    load_reference,
    packaged_reference,
    parse_reference,
)
from posko.cli import main
from schemas.commands import (
    Actor,
    Assignee,
    AssigneeKind,
    CloseIncident,
    Command,
    CreateTask,
    DismissRecommendation,
    EmergencyStatus,
    SetEmergencyStatus,
)
from schemas.decision import Factor, RankingRecord, RecommendationStatus, RegionScore
from schemas.events import new_event_id
from schemas.identity import Role
from schemas.incidents import Hazard, Priority
from schemas.regions import Region
from streams.desk import Desk
from tests.conftest import FIXTURES

OFFICER = Actor(name="Rina (petugas jaga)", role=Role.OFFICER, credential="c1")
TRC = Assignee(AssigneeKind.TEAM, "TRC BPBD Batang Hari")

# --- reference data ---------------------------------------------------------------------------


def test_the_packaged_reference_is_the_fixture_with_every_region_and_no_invented_risk_index() -> None:
    assert packaged_reference() == (FIXTURES / "dss" / "jambi_kabkota_reference.csv").read_text()
    rows = parse_reference(packaged_reference(), "packaged")
    assert set(rows) == set(Region)
    assert sum(r.population for r in rows.values()) == 3_834_439  # the province total (SOURCES.md)
    assert all(r.irbi_score is None and r.irbi_class is None and r.sources.startswith("https://")
               for r in rows.values())


@pytest.mark.parametrize(("change", "where"), [
    (("457238", "banyak"), ":6: kolom population"),
    (("5159.623", "-1"), ":6: kolom area_km2"),
    (("15.05,", "15.99,"), ":6: kolom code"),
    (("15.05,Kabupaten Muaro Jambi", "15.04,Kabupaten Muaro Jambi"), ":6: kolom code"),
])
def test_a_bad_reference_row_is_refused_with_its_line_and_column(change: tuple[str, str], where: str) -> None:
    text = packaged_reference().replace(*change)
    with pytest.raises(ReferenceError, match=where):
        parse_reference(text, "kabkota.csv")


def test_an_installed_reference_wins_over_the_packaged_one(tmp_path: Path) -> None:
    own = tmp_path / "own.csv"
    own.write_text(packaged_reference().replace("649656", "650000"))
    installed = install_reference(own, tmp_path / "home")
    assert installed == tmp_path / "home" / "dss" / "kabkota_reference.csv"
    assert load_reference(tmp_path / "home")[Region.KOTA_JAMBI].population == 650_000
    assert load_reference(tmp_path / "elsewhere")[Region.KOTA_JAMBI].population == 649_656
    own.write_text(packaged_reference().replace("649656", "x"))
    with pytest.raises(ReferenceError, match=r"own\.csv:11: kolom population"):
        install_reference(own, tmp_path / "home")
    assert load_reference(tmp_path / "home")[Region.KOTA_JAMBI].population == 650_000  # kept


def test_weights_are_read_from_settings_and_bad_ones_say_the_form() -> None:
    assert parse_weights("risiko:0.1,bahaya:0.5,dampak:0.3,kapasitas:0.1")[Factor.BAHAYA] == 0.5
    for bad in ("risiko:0.1,bahaya:0.5", "risiko:x,bahaya:1,dampak:1,kapasitas:1", "korban:1",
                "risiko:-1,bahaya:1,dampak:1,kapasitas:1"):
        with pytest.raises(WeightsError, match="POSKO_DSS_WEIGHTS"):
            parse_weights(bad)


# --- playbooks --------------------------------------------------------------------------------

GOOD = """name = "banjir"
title = "Banjir"
hazard = "banjir"
sources = ["https://example.org/sop"]

[[rules]]
id = "kaji-cepat"
action = "Kaji cepat"
trigger = "warning"
level = "Siaga"
due = "24h"
source = "SOP"

[[rules]]
id = "status"
action = "Keputusan status"
trigger = "after"
after = "kaji-cepat"
due = "24h"
source = "SOP"
"""


def test_the_packaged_playbooks_cover_every_hazard_and_cite_their_guidance() -> None:
    playbooks = {p.name: p for p in load_playbooks("/nonexistent")}
    assert set(playbooks) == {"banjir", "karhutla", "longsor", "gempa", "erupsi", "cuaca"}
    assert playbooks["erupsi"].hazard is Hazard.LAINNYA and playbooks["erupsi"].words
    assert all(p.sources and all(r.source for r in p.rules) for p in playbooks.values())
    assert all("# " in text.splitlines()[0] for text in packaged_playbooks().values())  # cited atop
    assert parse_playbook(GOOD, "banjir.toml").rules[1].delay == timedelta(hours=24)


@pytest.mark.parametrize(("change", "line", "reason"), [
    (('due = "24h"\nsource', 'due = "24 jam"\nsource'), 11, "due"),
    (('hazard = "banjir"', 'hazard = "tsunami"'), 3, "hazard"),
    (('trigger = "after"', 'trigger = "sesudah"'), 17, "trigger"),
    (('level = "Siaga"', 'level = "Siaga"\nwarna = "merah"'), 11, "unknown field `warna`"),
    (('after = "kaji-cepat"', 'after = "kaji-cepet"'), 15, "after must name an earlier rule"),
    (('level = "Siaga"\n', ''), 7, "a warning trigger needs a level"),
    (('action = "Kaji cepat"', 'action = "Kaji cepat'), 8, "not valid TOML"),
])
def test_a_bad_playbook_is_refused_with_its_line_and_reason(change: tuple[str, str], line: int,
                                                              reason: str) -> None:
    text = GOOD.replace(*change, 1)
    assert text != GOOD
    with pytest.raises(PlaybookError) as refused:
        parse_playbook(text, "banjir.toml")
    message = str(refused.value)
    assert (f"banjir.toml:{line}:" in message or f"line {line}" in message) and reason in message, message


def test_an_operators_playbook_replaces_the_packaged_one_of_its_name(tmp_path: Path) -> None:
    folder = tmp_path / "dss" / "playbooks"
    folder.mkdir(parents=True)
    (folder / "banjir.toml").write_text(GOOD)
    playbooks = {p.name: p for p in load_playbooks(tmp_path)}
    assert [r.id for r in playbooks["banjir"].rules] == ["kaji-cepat", "status"]
    assert "karhutla" in playbooks
    (folder / "banjir.toml").write_text(GOOD.replace('due = "24h"', 'due = "sehari"', 1))
    with pytest.raises(PlaybookError, match=r"playbooks/banjir.toml:11:"):
        load_playbooks(tmp_path)


# --- the ranking ------------------------------------------------------------------------------


def test_the_flooded_regencies_rank_first_with_reasons_naming_the_signals() -> None:
    replayed = replay("banjir-batanghari")
    scores = list(replayed.board.scores.values())
    assert set(top_regions(scores, 2)) == {Region.BATANG_HARI, Region.MUARO_JAMBI}
    first = min(scores, key=lambda s: s.rank if s.rank else 99)
    assert first.hazard is Hazard.BANJIR and first.rank == 1
    parts = {p.factor: p for p in first.parts}
    assert set(parts) == set(Factor) and abs(first.score - sum(p.points for p in first.parts)) < 1e-3
    assert NO_RISK_INDEX in parts[Factor.RISIKO].why
    bahaya = parts[Factor.BAHAYA]
    assert "segera" in bahaya.why and "Tinggi muka air" in bahaya.why
    assert "naik" in bahaya.why or "turun" in bahaya.why  # the trend of the gauge
    assert bahaya.value > 0.65  # Segera, and the gauge above normal
    assert abs(bahaya.points - bahaya.value * bahaya.weight) < 1e-3
    kinds = {e.kind for e in bahaya.evidence}
    assert {"incident", "indicator", "signal"} <= kinds
    assert any("Siaga" in e.text or "Awas" in e.text for e in bahaya.evidence if e.kind == "signal")
    assert "dengan korban" in parts[Factor.DAMPAK].why and parts[Factor.DAMPAK].evidence


@pytest.mark.parametrize("name", ["banjir-batanghari", "banjir-dan-longsor", "gempa-kerinci", "karhutla"])
def test_the_regions_a_happening_hits_rank_in_the_top_three(name: str) -> None:
    replayed = replay(name)
    top = top_regions(list(replayed.board.scores.values()))
    assert set(top[:len(replayed.affected)]) <= replayed.affected or set(top) >= replayed.affected


def test_the_score_changes_only_when_the_situation_does() -> None:
    replayed = replay("karhutla")
    room, board = replayed.room, replayed.board
    assert board.update(room.incidents, {}, {}, {}, None, replayed.end + timedelta(minutes=5)) == []
    # Only the regions touched are recomputed; an untouched region keeps its record.
    assert board.update(room.incidents, {}, {}, {}, [Region.KERINCI], replayed.end) == []


# --- recommendations --------------------------------------------------------------------------


def test_an_action_is_recommended_only_once_its_rule_fires() -> None:
    early = open_recommendations(replay("banjir-batanghari", until_h=1.5).board)
    late = replay("banjir-batanghari")
    later = open_recommendations(late.board)
    assert (Region.BATANG_HARI, "banjir.kaji-cepat") not in early  # Siaga comes at 2.6 h
    assert (Region.BATANG_HARI, "banjir.evakuasi") not in early  # the river is below 14.87 m
    assert {(Region.BATANG_HARI, "banjir.kaji-cepat"), (Region.BATANG_HARI, "banjir.evakuasi"),
            (Region.MUARO_JAMBI, "banjir.korban")} <= later
    [rec] = [r for r in late.board.recommendations.values()
             if (r.region, r.rule) == (Region.BATANG_HARI, "banjir.kaji-cepat")]
    assert "Siaga" in rec.why and "detik.com" in rec.why
    [siaga] = [i for inc in late.room.incidents.values() for i in inc.items
               if i.headline.startswith("Status Siaga") and i.region == Region.BATANG_HARI]
    assert rec.due_at == siaga.first_at + timedelta(hours=24)


def command(action: object) -> Command:
    return msgspec.convert({"id": str(new_event_id()), "actor": msgspec.to_builtins(OFFICER),
                            "origin": "test", "issued_at": START.isoformat(),
                            "action": msgspec.to_builtins(action)}, Command)


def test_a_task_carrying_a_recommendation_or_naming_its_action_covers_it() -> None:
    replayed = replay("banjir-batanghari")
    room, board = replayed.room, replayed.board
    desk = Desk(room)
    desk.recommendations = board.recommendations
    recs = {(r.region, r.rule): r for r in board.recommendations.values()}
    kaji = recs[(Region.BATANG_HARI, "banjir.kaji-cepat")]
    given = desk.decide(command(CreateTask(
        title="Tindak lanjut", assignee=TRC, priority=Priority.SEGERA, due_at=kaji.due_at,
        incident_id=kaji.incident_id, region=kaji.region, recommendation_id=kaji.id)), replayed.end)
    evakuasi = recs[(Region.MUARO_JAMBI, "banjir.evakuasi")]
    by_title = desk.decide(command(CreateTask(
        title="Evakuasi warga Kumpeh Ulu", assignee=TRC, priority=Priority.SEGERA, due_at=evakuasi.due_at,
        incident_id=evakuasi.incident_id, region=Region.MUARO_JAMBI)), replayed.end)
    assert given.entry.accepted and by_title.entry.accepted
    changed = board.update(room.incidents, desk.tasks, desk.emergencies, desk.notes,
                           [Region.BATANG_HARI, Region.MUARO_JAMBI], replayed.end)
    now = {(r.region, r.rule): r for r in board.recommendations.values()}
    assert now[(kaji.region, kaji.rule)].status is RecommendationStatus.DITUGASKAN
    assert str(now[(kaji.region, kaji.rule)].task_id) == given.entry.target  # the task's id
    assert now[(evakuasi.region, evakuasi.rule)].status is RecommendationStatus.DITUGASKAN
    assert now[(Region.BATANG_HARI, "banjir.evakuasi")].status is RecommendationStatus.TERBUKA
    assert {r.id for r in changed if not isinstance(r, RegionScore)} >= {kaji.id, evakuasi.id}
    # The capacity part sees the region has a task now.
    assert "belum ada tugas" not in {p.factor: p for p in board.scores[(kaji.region, Hazard.BANJIR)].parts}[
        Factor.KAPASITAS].why


def test_an_emergency_status_covers_the_status_decision() -> None:
    replayed = replay("banjir-batanghari")
    desk = Desk(replayed.room)
    decided = desk.decide(command(SetEmergencyStatus(
        region=Region.BATANG_HARI, status=EmergencyStatus.SIAGA_DARURAT, decided_at=START,
        decree="360/Kep.12/BPBD/2026")), replayed.end)
    assert decided.entry.accepted
    replayed.board.update(replayed.room.incidents, {}, desk.emergencies, {}, [Region.BATANG_HARI],
                          replayed.end)
    recs = {(r.region, r.rule): r.status for r in replayed.board.recommendations.values()}
    assert recs[(Region.BATANG_HARI, "banjir.keputusan-status")] is RecommendationStatus.DITUGASKAN
    assert recs[(Region.MUARO_JAMBI, "banjir.keputusan-status")] is RecommendationStatus.TERBUKA


def test_a_dismissed_recommendation_stays_dismissed_and_is_refused_twice() -> None:
    replayed = replay("gempa-kerinci")
    room, board = replayed.room, replayed.board
    desk = Desk(room)
    desk.recommendations = board.recommendations
    [rec] = [r for r in board.recommendations.values()
             if (r.region, r.rule) == (Region.KOTA_SUNGAI_PENUH, "gempa.bangunan")]
    dismiss = command(DismissRecommendation(recommendation_id=rec.id, reason="Sudah diperiksa PUPR kemarin"))
    first = desk.decide(dismiss, replayed.end)
    assert first.entry.accepted and first.entry.target == str(rec.id)
    assert first.entry.incident_id == rec.incident_id and '"diabaikan"' in first.entry.after
    [dismissed] = first.ranking
    assert dismissed.status is RecommendationStatus.DIABAIKAN and dismissed.dismissed_by == OFFICER.name
    assert desk.decide(dismiss, replayed.end).entry.accepted  # read again after a crash: applied once
    again = desk.decide(command(DismissRecommendation(recommendation_id=rec.id, reason="lagi")), replayed.end)
    assert (again.entry.accepted, again.entry.status) == (False, 409)
    unknown = desk.decide(command(DismissRecommendation(recommendation_id=new_event_id(), reason="x")),
                          replayed.end)
    assert unknown.entry.status == 404
    board.update(room.incidents, {}, {}, {}, None, replayed.end + timedelta(hours=1))
    assert board.recommendations[rec.id].status is RecommendationStatus.DIABAIKAN
    # Restored on a fresh board (as after a restart): still dismissed.
    fresh = new_board()
    records: list[RankingRecord] = [*board.scores.values(), *board.recommendations.values()]
    for record in records:
        fresh.restore(record)
    fresh.update(room.incidents, {}, {}, {}, None, replayed.end + timedelta(hours=2))
    assert fresh.recommendations[rec.id].status is RecommendationStatus.DIABAIKAN
    assert fresh.recommendations[rec.id].dismissed_reason == "Sudah diperiksa PUPR kemarin"


def test_the_dss_commands_install_a_good_reference_and_refuse_bad_files_with_the_line(tmp_path: Path) -> None:
    env = {"POSKO_HOME": str(tmp_path / "home")}
    runner = CliRunner()
    bad = tmp_path / "bad.csv"
    bad.write_text(packaged_reference().replace("457238", "banyak"))
    refused = runner.invoke(main, ["dss", "reference", str(bad)], env=env)
    assert refused.exit_code == 1 and "bad.csv:6: kolom population" in refused.output
    assert not (tmp_path / "home" / "dss").exists()
    good = tmp_path / "good.csv"
    good.write_text(packaged_reference())
    installed = runner.invoke(main, ["dss", "reference", str(good)], env=env)
    assert installed.exit_code == 0 and "11 kabupaten/kota" in installed.output
    assert (tmp_path / "home" / "dss" / "kabkota_reference.csv").read_text() == packaged_reference()
    in_effect = runner.invoke(main, ["dss", "playbooks", "check"], env=env)
    assert in_effect.exit_code == 0 and in_effect.output.endswith("6 playbook sah / valid\n")
    folder = tmp_path / "playbooks"
    folder.mkdir()
    (folder / "banjir.toml").write_text(GOOD.replace('due = "24h"', 'due = "sehari"', 1))
    checked = runner.invoke(main, ["dss", "playbooks", "check", str(folder)], env=env)
    assert checked.exit_code == 1 and "banjir.toml:11:" in checked.output and "30m, 6h, 1d" in checked.output


def test_the_open_recommendations_of_a_closed_incident_are_withdrawn() -> None:
    replayed = replay("banjir-batanghari")
    room, board = replayed.room, replayed.board
    desk = Desk(room)
    kaji = next(r for r in board.recommendations.values()
                if (r.region, r.rule) == (Region.BATANG_HARI, "banjir.kaji-cepat"))
    assert kaji.status is RecommendationStatus.TERBUKA and kaji.incident_id is not None
    closed = desk.decide(command(CloseIncident(incident_id=kaji.incident_id, reason="air sudah surut")),
                         replayed.end)
    assert closed.entry.accepted, closed.entry.reason
    changed = board.update(room.incidents, desk.tasks, desk.emergencies, desk.notes, None, replayed.end)
    of_it = [r for r in board.recommendations.values() if r.incident_id == kaji.incident_id]
    assert of_it and all(r.status is not RecommendationStatus.TERBUKA for r in of_it)
    assert board.recommendations[kaji.id].status is RecommendationStatus.SELESAI
    assert kaji.id in {r.id for r in changed if not isinstance(r, RegionScore)}
