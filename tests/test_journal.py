"""The gateway's journal: consecutive seqs, what a resuming client may be given, and what not."""

from __future__ import annotations

from sinks.push.journal import Entry, Journal


def _filled(size: int, count: int, max_bytes: int = 1 << 20, data: bytes = b"{}") -> Journal:
    journal = Journal(size, max_bytes)
    for _ in range(count):
        seq = journal.next_seq()
        journal.append(Entry(seq, None, data))
    return journal


def test_resume_within_the_ring_replays_exactly_the_later_entries() -> None:
    journal = _filled(10, 25)
    after = journal.last_seq - 4
    assert journal.can_resume(after)
    assert [e.seq for e in journal.since(after)] == [after + i for i in range(1, 5)]
    assert list(journal.since(journal.last_seq)) == []
    assert journal.missed_since(after) == 4


def test_resume_from_before_the_ring_or_another_run_is_refused() -> None:
    journal = _filled(10, 25)
    assert journal.can_resume(journal.oldest_seq - 1)
    assert not journal.can_resume(journal.oldest_seq - 2)  # fell out of the ring
    assert not journal.can_resume(12345)  # a seq from an earlier gateway run
    assert journal.missed_since(12345) is None
    assert not journal.can_resume(journal.last_seq + 1)  # a seq this gateway never gave


def test_the_ring_holds_at_most_its_bytes_and_resumes_within_them() -> None:
    journal = _filled(10_000, 100, max_bytes=10_000, data=b"x" * 1_000)  # a hundred large messages
    assert len(journal.entries) == 10 and journal.bytes == 10_000
    assert journal.can_resume(journal.last_seq - 10)
    assert not journal.can_resume(journal.last_seq - 11)  # fell out of the ring's bytes
    assert [e.seq for e in journal.since(journal.last_seq - 3)] == [journal.last_seq - i for i in (2, 1, 0)]
    journal.append(Entry(journal.next_seq(), None, b"y" * 50_000))  # larger than the bound: kept alone
    assert [e.data[:1] for e in journal.entries] == [b"y"] and journal.bytes == 50_000
