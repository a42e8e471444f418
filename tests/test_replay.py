"""`posko replay`: JSON Lines and CSV files into the pipeline, invalid lines reported and dead-lettered."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from connectors.publisher import MessageRefused, RawPublisher
from connectors.replay import read_file
from posko.settings import Settings
from schemas.batch import lines
from schemas.events import Kind
from schemas.raw import RawMessage
from schemas.topics import raw_topic
from tests.conftest import Stack, read_topic, wait_for


def _report(source: str, title: str, **changes: object) -> dict[str, object]:
    return {"source": source, "occurred_at": "2026-11-01T02:00:00Z", "region": "15.71",
            "payload": {"channel": "lapor", "category": "pendidikan", "title": title,
                        "text": "Atap ruang kelas SDN 47 bocor saat hujan."}, **changes}


def test_replayed_lines_land_and_invalid_ones_are_reported_and_dead_lettered(
        stack: Stack, marker: str, tmp_path: Path) -> None:
    jsonl = tmp_path / "history.jsonl"
    lines = [json.dumps(_report(marker, f"Sekolah rusak {n}")) for n in range(4)]
    lines += [f'{{"source": "{marker}", "payload": ', "",
              json.dumps(_report(marker, "Wilayah salah", region="15.99"))]
    jsonl.write_text("\n".join(lines) + "\n")
    csv = tmp_path / "history.csv"
    csv.write_text("source,occurred_at,region,lat,lon,channel,category,title,text\n"
                   f"{marker},2026-11-02 03:04:05.000,,-1.61,103.61,sms,sosial,Bansos,Bansos belum cair\n"
                   f"{marker},2026-11-02 03:05:00.000,15.04,,,sms,sosial,Bansos,\"Antre, sejak pagi\"\n")
    env = {**os.environ, **stack.env}

    done = subprocess.run([sys.executable, "-m", "posko.cli", "replay", str(jsonl), "--kind",
                           "citizen_report"], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "sent 6 events" in done.stdout and "2 invalid" in done.stdout
    assert "line 5: not valid JSON" in done.stderr
    assert ("line 7: not a valid citizen_report event: Invalid enum value '15.99' - at `$.region`"
            in done.stderr)

    done = subprocess.run([sys.executable, "-m", "posko.cli", "replay", str(csv), "--kind", "citizen_report",
                           "--rate", "20"], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "sent 2 events" in done.stdout and "0 invalid" in done.stdout, done.stderr

    count = f"SELECT count() FROM posko.citizen_reports WHERE source = '{marker}'"
    wait_for(lambda: stack.count(count) == 6, 150, lambda: f"6 replayed reports (have {stack.count(count)})")
    letters = f"SELECT count() FROM posko.dead_letters WHERE position(raw_text, '{marker}') > 0"
    wait_for(lambda: stack.count(letters) == 2, 60, "the 2 invalid lines in the DLQ")
    located = stack.sql(f"SELECT region, toString(occurred_at) FROM posko.citizen_reports "
                        f"WHERE source = '{marker}' AND lat IS NOT NULL")
    assert located == "15.71\t2026-11-02 03:04:05.000"


def test_csv_exported_from_clickhouse_reads_back_as_events(tmp_path: Path) -> None:
    exported = tmp_path / "reports.csv"
    exported.write_text(
        '"id","source","occurred_at","received_at","ingested_at","region","lat","lon","schema_version",'
        '"channel","category","title","text"\n'
        '"0196a7c0-0000-7000-8000-000000000001","simulator","2026-11-01 02:00:00.000",'
        '"2026-11-01 02:00:01.000","2026-11-01 02:00:02.000","15.08",\\N,\\N,1,"web","sosial","Judul","Isi"\n'
        .replace("\\N", ""))
    [line] = list(read_file(exported, Kind.CITIZEN_REPORT))
    assert line.problem is None, line.problem
    assert line.message.key == b"15.08"
    event = json.loads(line.message.value)
    assert event["id"] == "0196a7c0-0000-7000-8000-000000000001"
    assert event["occurred_at"] == "2026-11-01T02:00:00Z"
    assert event["payload"] == {"channel": "web", "category": "sosial", "title": "Judul", "text": "Isi"}


def test_a_message_larger_than_kafka_takes_is_refused_with_a_reason_and_the_rest_are_sent(
        settings: Settings, marker: str) -> None:
    small = [RawMessage(Kind.CITIZEN_REPORT, b"15.71", f'{{"source":"{marker}","n":{n}}}'.encode())
             for n in range(3)]
    huge = RawMessage(Kind.CITIZEN_REPORT, b"15.71", b'{"x":"' + b"a" * 2_000_000 + b'"}')

    async def publish() -> None:
        async with RawPublisher(settings) as publisher:
            await asyncio.wait_for(publisher.publish([small[0], huge, *small[1:]]), 60)

    with pytest.raises(MessageRefused, match=r"1 of 4 message\(s\) not sent: larger than Kafka takes"):
        asyncio.run(publish())
    # The small ones went as a batch or two (schemas/batch.py); every one of them is there.
    sent = [line for _, v in asyncio.run(read_topic(settings, raw_topic(Kind.CITIZEN_REPORT)))
            if v for _, line in lines(v) if marker.encode() in line]
    assert sent == [m.value for m in small]
