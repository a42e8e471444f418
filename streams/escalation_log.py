"""What posko.escalations says has fired: the record that makes an escalation step happen once."""

from __future__ import annotations

import logging
import time
import uuid

import msgspec
from aiokafka import AIOKafkaConsumer, TopicPartition

from posko.kafka.offsets import reader
from posko.settings import Settings
from schemas.incidents import Escalation, EscalationSubject
from schemas.topics import ESCALATIONS

log = logging.getLogger("posko.stream")

_decoder = msgspec.json.Decoder(Escalation)


class FiredSteps:
    """The ids of the escalation steps of one subject kind on posko.escalations, read to its end."""

    def __init__(self, settings: Settings, subject: EscalationSubject) -> None:
        self.settings, self.subject = settings, subject
        self.ids: set[uuid.UUID] = set()
        self._consumer: AIOKafkaConsumer | None = None
        self._tps: list[TopicPartition] = []

    async def start(self) -> None:
        """Open the reader at the start of posko.escalations."""
        consumer = reader(self.settings, auto_offset_reset="earliest", isolation_level="read_committed")
        await consumer.start()
        self._consumer = consumer
        # The catalogue gives posko.escalations one partition (schemas/topics.py).
        self._tps = [TopicPartition(ESCALATIONS, 0)]
        consumer.assign(self._tps)
        await consumer.seek_to_beginning(*self._tps)

    async def catch_up(self, within_s: float | None = None) -> None:
        """Read every step written so far (by this worker before a crash, or by another one);
        with `within_s`, a RuntimeError saying how far it got when that is not enough."""
        consumer = self._consumer
        assert consumer is not None, "start() first"
        ends = await consumer.end_offsets(self._tps)
        deadline = None if within_s is None else time.monotonic() + within_s
        while any([await consumer.position(tp) < end for tp, end in ends.items()]):
            if deadline is not None and time.monotonic() > deadline:
                at = {tp.partition: await consumer.position(tp) for tp in self._tps}
                raise RuntimeError(f"could not read {ESCALATIONS} back within {within_s:g} s "
                                   f"(at {at} of {ends})")
            batch = await consumer.getmany(timeout_ms=1000)
            for records in batch.values():
                for record in records:
                    self._note(record.value)

    def _note(self, value: bytes | None) -> None:
        try:
            step = _decoder.decode(value or b"")
        except msgspec.DecodeError as exc:
            log.warning("an unreadable record on %s is skipped: %s", ESCALATIONS, exc)
            return
        if step.subject is self.subject:
            self.ids.add(step.id)

    async def stop(self) -> None:
        """Close the reader."""
        if self._consumer is not None:
            await self._consumer.stop()
            self._consumer = None
