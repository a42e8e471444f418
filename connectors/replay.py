"""`posko replay`: a JSON Lines or CSV file published as raw events, for loading history and drills.

JSON Lines: one event envelope per line, as on posko.raw.<kind>. CSV: one event per row, with the
columns of the kind's ClickHouse table (what `posko sql "SELECT * …" --format CSVWithNames`
writes): envelope fields by name, `lat`/`lon` as the location, every other column a payload
field (cells holding a JSON object or array are read as JSON, empty cells are left out, times
without an offset are UTC, as ClickHouse writes them).

Missing `kind`, `id` (a fresh UUIDv7), `source` (`replay:<file name>`) and `received_at` (now)
are filled in. Nothing is skipped: a line that is not a valid event is still sent, as it is,
so the stream puts it in posko.dlq with the reason; it is also reported here by line number.
"""

from __future__ import annotations

import asyncio
import csv
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from connectors.publisher import RawPublisher
from posko.settings import Settings
from schemas.events import EVENT_TYPES, Event, Kind, kind_of, new_event_id, utc_now
from schemas.raw import RawMessage
from schemas.regions import region_at

BATCH = 1_000
TICK_S = 0.05
_ENVELOPE = {"id", "kind", "source", "occurred_at", "received_at", "region", "schema_version"}
_NOT_PAYLOAD = {"ingested_at", "lat", "lon"}
_NAIVE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?$")
_decoder = msgspec.json.Decoder(Event)


class InvalidLine(msgspec.Struct, frozen=True):
    """A line that is not a valid event, and why."""

    line: int
    reason: str


class ReplayResult(msgspec.Struct):
    """What a replay sent."""

    sent: int = 0
    invalid: list[InvalidLine] = []


class Line(msgspec.Struct, frozen=True):
    """One line of the file as it will be sent."""

    number: int
    message: RawMessage
    problem: str | None


def _with_defaults(data: dict[str, Any], kind: Kind, source: str) -> dict[str, Any]:
    now = utc_now().isoformat()
    return {"kind": str(kind), "id": str(new_event_id()), "source": source, "received_at": now, **data}


def _checked(number: int, kind: Kind, value: bytes) -> Line:
    try:
        event = _decoder.decode(value)
    except (msgspec.DecodeError, UnicodeDecodeError) as exc:
        return Line(number, RawMessage(kind, b"", value, None), f"not a valid {kind} event: {exc}")
    if (actual := kind_of(event)) is not kind:
        return Line(number, RawMessage(kind, b"", value, None), f"a {actual} event, but --kind is {kind}")
    region = event.region or (region_at(event.location.lat, event.location.lon) if event.location else None)
    return Line(number, RawMessage(kind, (region or "").encode(), value, None), None)


def _json_lines(path: Path, kind: Kind) -> Iterator[Line]:
    source = f"replay:{path.name}"[:200]
    with path.open("rb") as lines:
        for number, raw in enumerate(lines, start=1):
            text = raw.strip()
            if not text:
                continue
            try:
                data = msgspec.json.decode(text)
            except msgspec.DecodeError as exc:
                yield Line(number, RawMessage(kind, b"", text, None), f"not valid JSON: {exc}")
                continue
            if not isinstance(data, dict):
                yield Line(number, RawMessage(kind, b"", text, None), "not a JSON object")
                continue
            yield _checked(number, kind, msgspec.json.encode(_with_defaults(data, kind, source)))


def _cell(value: str) -> Any:
    if _NAIVE_TIME.match(value):
        return value.replace(" ", "T") + "Z"  # ClickHouse writes UTC times without an offset
    if value[:1] in ("{", "["):
        try:
            return msgspec.json.decode(value)
        except msgspec.DecodeError:
            return value
    return value


def _csv_rows(path: Path, kind: Kind) -> Iterator[Line]:
    source = f"replay:{path.name}"[:200]
    with path.open(newline="", encoding="utf-8", errors="replace") as handle:
        reader = csv.DictReader(handle)
        for row in reader:
            number = reader.line_num
            if None in row:
                cells = {str(name): value for name, value in row.items()}
                yield Line(number, RawMessage(kind, b"", msgspec.json.encode(cells), None),
                           f"more cells than the {len(reader.fieldnames or [])} columns of the header")
                continue
            cells = {name: _cell(value) for name, value in row.items() if value not in ("", None)}
            data: dict[str, Any] = {k: v for k, v in cells.items() if k in _ENVELOPE}
            if "lat" in cells and "lon" in cells:
                data["location"] = {"lat": cells["lat"], "lon": cells["lon"]}
            data["payload"] = {k: v for k, v in cells.items() if k not in _ENVELOPE | _NOT_PAYLOAD}
            data = _with_defaults(data, kind, source)
            try:
                # CSV has only text: convert to the kind's types the way the schema reads them.
                typed = msgspec.convert(data, EVENT_TYPES[kind], strict=False)
            except msgspec.ValidationError as exc:
                yield Line(number, RawMessage(kind, b"", msgspec.json.encode(data), None),
                           f"not a valid {kind} event: {exc}")
                continue
            yield _checked(number, kind, msgspec.json.encode(typed))


def read_file(path: Path, kind: Kind, fmt: str = "auto") -> Iterator[Line]:
    """The file's lines as raw messages, each with its problem if it is not a valid event."""
    is_csv = fmt == "csv" or (fmt == "auto" and path.suffix.lower() == ".csv")
    return _csv_rows(path, kind) if is_csv else _json_lines(path, kind)


def _count_lines(path: Path) -> int:
    with path.open("rb") as handle:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 20), b""))


async def replay_file(settings: Settings, path: Path, kind: Kind, *, rate: float | None = None,
                      fmt: str = "auto", show_progress: bool = True) -> ReplayResult:
    """Publish every line of the file to posko.raw.<kind>; return what was sent and what was invalid."""
    result = ReplayResult()
    lines = read_file(path, kind, fmt)
    started = time.monotonic()
    columns = (TextColumn("[b]replay[/b] {task.description}"), BarColumn(), MofNCompleteColumn(),
               TextColumn("{task.fields[invalid]} invalid"), TimeRemainingColumn())
    with Progress(*columns, disable=not show_progress, transient=False) as progress:
        task = progress.add_task(path.name, total=_count_lines(path), invalid=0)
        async with RawPublisher(settings) as publisher:
            batch: list[Line] = []
            exhausted = False
            while not exhausted:
                elapsed = time.monotonic() - started + TICK_S
                due = BATCH if rate is None else int(rate * elapsed) - result.sent
                while len(batch) < min(due, BATCH):
                    line = next(lines, None)
                    if line is None:
                        exhausted = True
                        break
                    batch.append(line)
                if batch:
                    await publisher.publish([line.message for line in batch])
                    result.sent += len(batch)
                    result.invalid.extend(InvalidLine(line.number, line.problem) for line in batch
                                          if line.problem is not None)
                    progress.update(task, completed=batch[-1].number, invalid=len(result.invalid))
                    batch = []
                if rate is not None and not exhausted:
                    await asyncio.sleep(TICK_S)
    return result
