"""The Faust apps of `posko worker`, each in a process of its own.

- **route** (group posko-stream): one agent per raw topic validates, enriches and routes events;
  the event counts and the citizen reports' SLA clocks.
- **room** (group posko-room, streams/room.py): correlation of posko.signals into incidents, the
  officers' commands, escalations and decision support.

`posko worker` runs route and starts room as its child process, so the two use both cores and a
backlog of signals to correlate never holds up the events on their way to the rows (they shared
one event loop before). `posko worker --part route|room` runs one of them alone.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, cast

import faust
import mode.loop
import msgspec
from faust.serializers import codecs
from faust.streams import Stream
from faust.types import EventT

from posko.kafka.offsets import adopt_offsets
from posko.kafka.watchdog import CommitWatchdog
from posko.loop import tune_gc
from posko.settings import Settings
from schemas.events import Kind, utc_now
from schemas.topics import COMMANDS, SIGNALS, raw_topic
from streams.commits import RawCommits
from streams.faust_workarounds import changelog_partition_of, deliver_eagerly, take_weighed, unacked_topic
from streams.parts import start_room
from streams.places import NOWHERE, Places
from streams.publish import publish
from streams.room import Correlation
from streams.sla import register_sla_clocks
from streams.validate import (
    LETTERS_PER_RECORD,
    Line,
    Outgoing,
    Rejected,
    Routed,
    dead_letter,
    decode_record,
    letter_for_the_rest,
    route,
)

log = logging.getLogger("posko.stream")

APP_ID = "posko-stream"  # the route part's consumer group
ROOM_ID = "posko-room"  # the room part's
PARTS = ("route", "room")
CODEC = "posko-event"
COMMIT_EVERY_S = 1.0


class EventCodec(codecs.Codec):
    """Faust codec decoding a raw record (one event, or a batch of them one a line) with msgspec;
    a bad event decodes to `Rejected`, never raises."""

    def _loads(self, s: bytes) -> list[Line]:
        # Faust throws a codec's exception into the agent, which ends it (faust/channels.py
        # on_value_decode_error): whatever the bytes, the message must come out as a value.
        try:
            return decode_record(s)
        except Exception as exc:
            return [Line(None, Rejected(f"cannot be decoded: {exc!r}"), s)]

    def _dumps(self, s: Any) -> bytes:
        return msgspec.json.encode(s)


codecs.register(CODEC, EventCodec())


def create_app(settings: Settings, part: str = "route") -> faust.App:
    """The stream processor app of one part (PARTS) for these settings."""
    deliver_eagerly()
    group = APP_ID if part == "route" else ROOM_ID
    app = faust.App(
        group,
        broker=f"kafka://{settings.bootstrap_servers}",
        store="memory://",
        datadir=str(Path(settings.home) / "faust"),
        web_enabled=False,
        topic_partitions=settings.partitions,
        topic_replication_factor=settings.replication_factor,
        producer_acks=-1,
        # Kafka batches of up to 512 KiB, not Faust's 16 KiB: a batched events record is often
        # larger than 16 KiB, and every Kafka batch of a partition waits for the one before it.
        producer_max_batch_size=512 * 1024,
        consumer_auto_offset_reset="earliest",
        # Each rebalance is a chance for Faust to drop or stall in-flight records (see
        # CommitWatchdog); a static member that restarts gets its partitions back without one.
        consumer_group_instance_id=instance_of(settings, part),
        # Records buffered per partition before Faust pauses fetching it. A batched record holds
        # up to 2,000 events, so 256 records are plenty; a large buffer made the rewinds of
        # streams/commits.py wait for thousands of records fetched before the seek (a bench
        # drain stalled 60 s and the watchdog ended the worker).
        stream_buffer_maxsize=256,
        broker_commit_every=settings.stream_batch * 5,
        # A crashed worker's partitions go to the others (or to its restart) after this, not
        # after Faust's default minute.
        broker_session_timeout=10.0,
        broker_heartbeat_interval=2.0,
        key_serializer="raw",
        value_serializer="raw",
    )
    commits = RawCommits(app, settings, group, committed_topics(part))
    app.timer(COMMIT_EVERY_S)(commits.commit)
    if part == "room":
        Correlation(app, settings, commits)
        return app
    # Events counted per "region|kind", kept in a changelog topic so a restart recovers them.
    counts = app.Table(
        "event_counts", default=int, partitions=settings.partitions,
        # Faust's annotations allow only models as value_type; JSON-serialised ints work.
        schema=faust.Schema(key_type=str, value_type=int,  # type: ignore[arg-type]
                            key_serializer="raw", value_serializer="json"),
    )

    def make_agent(kind: Kind) -> Any:
        async def validate(stream: Stream[Any]) -> None:
            # Takes of up to stream_batch events, however many records hold them (a batched
            # record holds up to 2,000; Faust's take_events counts records and waited for each
            # take that was not full). A take is a few thousand events at most: the event loop
            # (Kafka's heartbeats and fetches, the commit timer) never waits long for one.
            async for taken in take_weighed(stream, settings.stream_batch, 0.05, _events_in):
                batch, processed = await commits.in_order(taken)
                records, tallies = _route_batch(kind, batch)
                await publish(app, records)
                # Each partition's counts are written while one of its events is current,
                # so they are changelogged to that partition.
                for event, tally in tallies.values():
                    with changelog_partition_of(stream, event):
                        for key, n in tally.items():
                            counts[key] += n
                commits.done(processed)  # only now may their offsets be committed

        validate.__name__ = f"validate_{kind}"
        return validate

    for kind in Kind:
        # Faust does not commit raw offsets, RawCommits does (see streams/commits.py).
        topic = unacked_topic(app, raw_topic(kind), value_serializer=CODEC, key_serializer="raw",
                              partitions=settings.partitions)
        app.agent(topic, name=f"validate_{kind}")(make_agent(kind))
    register_sla_clocks(app, settings)  # citizen report SLA clocks (streams/sla.py)
    return app


def _route_batch(
    kind: Kind, batch: Sequence[EventT[Any]]
) -> tuple[list[Outgoing], dict[int, tuple[EventT[Any], Counter[str]]]]:
    records: list[Outgoing] = []
    tallies: dict[int, tuple[EventT[Any], Counter[str]]] = {}
    now = utc_now()  # one clock reading per batch: times are checked to minutes, not microseconds
    decoded = []
    for event in batch:
        message = event.message
        # Faust hands a null value (a tombstone) over as None without calling the codec
        # (faust/serializers/registry.py loads_value): it is an empty message like b"".
        value: Any = decode_record(None) if message.value is None else event.value
        # No codec makes anything but a list of lines: anything else fails below, as processing.
        lines = value if isinstance(value, list) else [Line(None, value, message.value)]
        decoded.append(cast(list[Line], lines))
    try:
        places = Places(_points(decoded))  # every event's place in one lookup
    except Exception as exc:  # never the batch for one point: each is looked up alone, in route
        log.warning("the batch's places could not be looked up together (%r)", exc)
        places = NOWHERE
    for event, lines in zip(batch, decoded, strict=True):
        message = event.message
        letters = 0
        rest: list[tuple[int, bytes | None, str]] = []  # bad lines past LETTERS_PER_RECORD
        for line in lines:
            try:
                routed = route(kind, line.value, message.topic, message.partition, message.offset,
                               message.key, line.raw, now, line.position, places)
            except Exception as exc:  # one bad event never stops the agent
                where = "" if line.position is None else f" line {line.position}"
                log.warning("%s/%s/%s%s could not be processed (%r): sent to the DLQ", message.topic,
                            message.partition, message.offset, where, exc)
                reason = f"processing failed: {exc!r}"
                routed = Routed([dead_letter(reason, message.topic, message.partition, message.offset,
                                             message.key, line.raw, line.position)], refused=reason)
            if routed.refused is not None:
                letters += 1
                if letters > LETTERS_PER_RECORD and line.position is not None:
                    rest.append((line.position, line.raw, routed.refused))
                    continue
            records.extend(routed.out)
            if routed.counted:
                _, tally = tallies.setdefault(message.partition, (event, Counter()))
                tally[routed.counted] += 1
        if rest:
            records.append(letter_for_the_rest(rest, message.topic, message.partition, message.offset,
                                               message.key))
    return records, tallies


def _events_in(value: Any) -> int:
    return len(value) if isinstance(value, list) else 1


def _points(decoded: list[list[Line]]) -> Iterator[tuple[float, float]]:
    for lines in decoded:
        for line in lines:
            if (where := getattr(line.value, "location", None)) is not None:
                yield where.lat, where.lon


def committed_topics(part: str = "route") -> list[str]:
    """The topics whose offsets a part commits itself: route the raw topics, room posko.signals
    and posko.commands."""
    return [raw_topic(kind) for kind in Kind] if part == "route" else [SIGNALS, COMMANDS]


def instance_of(settings: Settings, part: str) -> str | None:
    """The part's static group member id, from POSKO_WORKER_INSTANCE (None: a dynamic member)."""
    if not settings.worker_instance:
        return None
    return settings.worker_instance if part == "route" else f"{settings.worker_instance}-room"


def run_worker(settings: Settings, loglevel: str = "warn", part: str | None = None) -> None:
    """Run the stream worker until it is stopped (SIGINT/SIGTERM): one part, or (None) route
    here and room in a child process (streams/parts.py)."""
    if part is None:
        start_room(loglevel)
        part = "route"
    elif part == "room":
        # Before the room had a group of its own, posko-stream committed the signals and commands.
        asyncio.run(adopt_offsets(settings, APP_ID, ROOM_ID, committed_topics("room")))
    try:
        mode.loop.use("uvloop")
    except ImportError:  # pragma: no cover - uvloop is not on every platform
        pass
    app = create_app(settings, part)
    tune_gc()
    worker = faust.Worker(app, loglevel=loglevel, quiet=True)
    group = APP_ID if part == "route" else ROOM_ID
    CommitWatchdog(settings, group, committed_topics(part), lambda: app.consumer.assignment()).start()
    # Debug records cost per message even when no handler prints them.
    for name in ("aiokafka", "faust", "mode"):
        logging.getLogger(name).setLevel(max(logging.INFO, logging.getLevelName(loglevel.upper())))
    worker.execute_from_commandline()
