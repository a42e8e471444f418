"""The commit watchdog: which readings of a group's offsets count as a stall."""

from __future__ import annotations

from aiokafka import TopicPartition

from posko.kafka.offsets import Position
from posko.kafka.watchdog import CommitWatchdog
from posko.settings import load_settings

RAW = TopicPartition("posko.raw.citizen_report", 0)
OTHER = TopicPartition("posko.raw.citizen_report", 1)


def watchdog(assigned: set[TopicPartition]) -> CommitWatchdog:
    return CommitWatchdog(load_settings({"POSKO_STALL_S": "60"}), "posko-stream",
                          ["posko.raw.citizen_report"], lambda: assigned)


def test_partition_with_events_waiting_and_no_commit_stalls_after_stall_s() -> None:
    dog = watchdog({RAW})
    assert dog.observe({RAW: Position(10, 50)}, 0) == []
    assert dog.observe({RAW: Position(10, 50)}, 10) == []
    assert dog.observe({RAW: Position(10, 60)}, 69) == []
    assert dog.observe({RAW: Position(10, 60)}, 70) == [RAW]


def test_moving_commits_or_no_backlog_are_not_a_stall() -> None:
    dog = watchdog({RAW})
    for second in range(0, 300, 10):
        assert dog.observe({RAW: Position(second, second + 100)}, second) == []
    idle = watchdog({RAW})
    for second in range(0, 300, 10):
        assert idle.observe({RAW: Position(500, 500)}, second) == []


def test_a_partition_held_by_another_member_is_not_watched() -> None:
    dog = watchdog({OTHER})
    for second in range(0, 300, 10):
        assert dog.observe({RAW: Position(10, 50), OTHER: Position(second, second)}, second) == []


def test_a_member_without_partitions_watches_the_whole_group() -> None:
    dog = watchdog(set())
    dog.observe({RAW: Position(10, 50)}, 0)
    dog.observe({RAW: Position(10, 50)}, 10)
    assert dog.observe({RAW: Position(10, 50)}, 80) == [RAW]
