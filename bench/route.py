"""`posko bench route`: the worker's own CPU per event (decode, validate, place, triage, signal,
pack), single-event records beside batched ones, in one process without Kafka; then the CPU per
signal of correlation (streams/correlate.py) as the worker runs it (nearness indexes, takes
summarised once: Room.defer), beside signals summarised one by one, and beside the baseline: every
signal compared with every open incident, summarised one by one (how it ran before the indexes).

The same simulated events go through `streams.app._route_batch` and `streams.publish._packed` as
the agent runs them: once one event a record (as outside senders write) and once in the batched
records RawPublisher writes (schemas/batch.py). CPU is process time, so it does not count what
other work on the machine takes; Faust, Kafka and the sink are not in it (`posko bench pipeline`
measures those).
"""

from __future__ import annotations

import random
import sys
import time
from collections import defaultdict
from types import SimpleNamespace
from typing import Any

import msgspec

from connectors.publisher import packed
from connectors.simulator.stream import Simulator
from posko.loop import tune_gc
from posko.settings import Settings
from schemas.batch import join
from schemas.events import Kind, utc_now
from schemas.incidents import Signal
from schemas.raw import RawMessage
from schemas.topics import SIGNALS, raw_topic
from streams.app import _route_batch
from streams.correlate import Room
from streams.publish import _packed
from streams.validate import Outgoing, decode_record


class Result(msgspec.Struct):
    """CPU µs per event routed, per record form, and the ratio batched / single."""

    events: int
    records: dict[str, int]
    cpu_us_per_event: dict[str, float]
    ratio: float
    signals: int
    incidents: int
    correlate_us_per_signal: dict[str, float]
    correlate_ratio: float


def _route(records: dict[Kind, list[bytes]]) -> list[bytes]:
    signals = []
    for kind, values in records.items():
        # What the agent reads of Faust's events: the codec's lines and the message.
        taken: list[Any] = [SimpleNamespace(value=decode_record(value), message=SimpleNamespace(
            topic=raw_topic(kind), partition=0, offset=n, key=b"15.71", value=value))
            for n, value in enumerate(values)]
        out, _ = _route_batch(kind, taken)
        by_topic: dict[str, list[Outgoing]] = defaultdict(list)
        for record in out:
            by_topic[record.topic].append(record)
        for topic, group in by_topic.items():
            _packed(topic, group)
        signals += [record.value for record in by_topic.get(SIGNALS, [])]
    return signals


def _correlate(signals: list[Signal], indexed: bool, batch: int) -> tuple[float, int]:
    """CPU µs per signal taken into a room, `batch` at a time settled at once (1: each summarised
    and ranked alone, as the worker takes them), and the incidents it ends with."""
    room = Room()
    if not indexed:  # every open incident is a candidate, as before the indexes
        room._nearby.candidates = lambda signal: None  # type: ignore[method-assign]
    now = utc_now()
    started = time.process_time()
    for start in range(0, len(signals), batch):
        room.defer()
        for signal in signals[start:start + batch]:
            room.take(signal, now)
        room.settle(now)
    return round((time.process_time() - started) * 1e6 / len(signals), 1), len(room.incidents)


def run_route_bench(events: int) -> Result:
    """Route the events in both forms (twice each, the first as warm-up) and print the figures."""
    tune_gc()  # as the worker runs
    simulator, now = Simulator(random.Random(1)), utc_now()
    messages: list[RawMessage] = [m for m in (simulator.raw(now) for _ in range(events)) if m.flaw is None]
    forms: dict[str, dict[Kind, list[bytes]]] = {"single": defaultdict(list), "batched": defaultdict(list)}
    for message in messages:
        forms["single"][message.kind].append(message.value)
    for pack in packed(messages):
        forms["batched"][pack[0].kind].append(join(m.value for m in pack))
    cpu: dict[str, float] = {}
    for _ in range(2):
        for form, records in forms.items():
            started = time.process_time()
            values = _route(records)
            cpu[form] = round((time.process_time() - started) * 1e6 / len(messages), 1)
    print(f"routing {len(messages):,} events: single {cpu['single']} µs/event, batched "
          f"{cpu['batched']} µs/event ({round(cpu['batched'] / cpu['single'], 3)}× the single)",
          file=sys.stderr)
    decoder = msgspec.json.Decoder(Signal)
    signals = [decoder.decode(value) for value in values]
    correlate: dict[str, float] = {}
    # The worker settles each take at once (Room.defer), a take of up to stream_batch signals.
    modes = (("worker", True, Settings().stream_batch), ("one_by_one", True, 1),
             ("every_incident_one_by_one", False, 1))
    for name, indexed, batch in modes:
        correlate[name], incidents = _correlate(signals, indexed, batch)
        print(f"correlating {len(signals):,} signals ({name}): {correlate[name]} µs/signal, "
              f"{incidents:,} incidents", file=sys.stderr)
    result = Result(events=len(messages), records={f: sum(map(len, r.values())) for f, r in forms.items()},
                    cpu_us_per_event=cpu, ratio=round(cpu["batched"] / cpu["single"], 3),
                    signals=len(signals), incidents=incidents, correlate_us_per_signal=correlate,
                    correlate_ratio=round(correlate["worker"] / correlate["every_incident_one_by_one"], 3))
    print(f"correlation as the worker runs it: {result.correlate_ratio}× the CPU of comparing every "
          "open incident", file=sys.stderr)
    print(msgspec.json.encode(result).decode(), flush=True)
    return result
