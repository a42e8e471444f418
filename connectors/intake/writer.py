"""Writing the intake's records for sure: one Kafka transaction per group of concurrent requests.

A caller returns only once its records are committed (acks=all, idempotent producer) and, with
`visible`, readable by read_committed readers (the commit markers written). Requests
arriving while a transaction commits wait and go together in the next one (group commit), so
throughput grows with concurrency.

When Kafka does not answer within the timeout every waiting caller gets `KafkaUnavailable`,
and the producer is dropped: the next one, with the same transactional id, fences it and
aborts its open transaction. So records of a failed call never become visible to
`read_committed` readers (the ledger, the relay, the sink), even if the broker had appended them.

Between transactions the writer asks the broker for metadata every HEALTH_CHECK_S, so `ready`
(and /healthz) turns false within seconds of Kafka going away, not at the next failed request.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence

import aiokafka.producer.sender
import msgspec
from aiokafka import AIOKafkaProducer, TopicPartition
from aiokafka.errors import KafkaTimeoutError, ProducerFenced, RequestTimedOutError

from posko.errors import PoskoError
from posko.settings import Settings

log = logging.getLogger("posko.intake")

MAX_GROUP = 500  # requests per transaction
WARM_UP_S = 60.0
# A load balancer polls /healthz every few seconds: a check each second keeps it that fresh, and a
# broker that does not answer a metadata request within HEALTH_TIMEOUT_S counts as gone.
HEALTH_CHECK_S = 1.0
HEALTH_TIMEOUT_S = 2.0
TRANSACTION_TIMEOUT_MS = 10_000
# A transaction begun right after a commit meets CONCURRENT_TRANSACTIONS while the broker writes
# the previous commit's markers (about 2-5 ms here), and aiokafka 0.14 then waits a fixed 20 ms,
# whatever retry_backoff_ms says (aiokafka/producer/sender.py:40, BACKOFF_OVERRIDE, KAFKA-5477):
# that wait was most of each transaction (bench intake: 41 transactions/s). Retry after 2 ms.
CONCURRENT_TRANSACTIONS_BACKOFF_S = 0.002
aiokafka.producer.sender.BACKOFF_OVERRIDE = CONCURRENT_TRANSACTIONS_BACKOFF_S


class Record(msgspec.Struct, frozen=True, array_like=True):
    """One Kafka record to write."""

    topic: str
    key: bytes
    value: bytes


class KafkaUnavailable(PoskoError, RuntimeError):
    """Kafka did not take the records (in time, or at all); nothing of them is committed."""

    def __init__(self, message: str, timed_out: bool) -> None:
        super().__init__(message)
        self.timed_out = timed_out


class _Waiting(msgspec.Struct):
    records: Sequence[Record]
    done: asyncio.Future[None]


class TransactionalWriter:
    """Commits record groups in Kafka transactions, batching concurrent callers."""

    def __init__(self, settings: Settings, transactional_id: str,
                 visible: Callable[[dict[TopicPartition, int]], Awaitable[None]] | None = None) -> None:
        self.settings = settings
        self.transactional_id = transactional_id
        self._visible = visible  # awaited after a commit with the last offset written per partition
        self.timeout_s = settings.intake_kafka_timeout_s
        self._queue: asyncio.Queue[_Waiting] = asyncio.Queue()
        self._producer: AIOKafkaProducer | None = None
        self._starting = asyncio.Lock()
        self._answering = False  # the broker answered the last metadata request
        self.transactions = 0

    @property
    def ready(self) -> bool:
        """True while a transactional producer is up and the broker answered the last check."""
        return self._producer is not None and self._answering

    async def write(self, records: Sequence[Record]) -> None:
        """Return once the records are committed; raise KafkaUnavailable if they could not be."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        await self._queue.put(_Waiting(records, done))
        await done

    async def run(self, stop: asyncio.Event) -> None:
        """Commit waiting groups until `stop` is set."""
        warming = asyncio.create_task(self._keep_producer(stop))
        checking = asyncio.create_task(self._check_broker(stop))
        try:
            while not stop.is_set():
                try:
                    first = await asyncio.wait_for(self._queue.get(), 0.5)
                except TimeoutError:
                    continue
                group = [first]
                while len(group) < MAX_GROUP and not self._queue.empty():
                    group.append(self._queue.get_nowait())
                await self._commit(group)
        finally:
            await asyncio.gather(warming, checking)
            await self._drop_producer()

    async def _keep_producer(self, stop: asyncio.Event) -> None:
        # Starting the first transactional producer of a fresh cluster creates its transaction
        # log, which can take longer than a request may wait: start (and restart) it ahead.
        while not stop.is_set():
            if self._producer is None:
                try:
                    await asyncio.wait_for(self._ready_producer(), WARM_UP_S)
                except Exception as exc:
                    log.warning("cannot start the Kafka producer yet: %r", exc)
            await asyncio.sleep(1.0)

    async def _check_broker(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            producer = self._producer
            answering = False
            if producer is not None:
                try:
                    await asyncio.wait_for(producer.client.fetch_all_metadata(), HEALTH_TIMEOUT_S)
                    answering = True
                except Exception as exc:
                    if self._answering:
                        log.warning("Kafka stopped answering: %r", exc)
            elif self._answering:
                log.warning("Kafka producer is down")
            self._answering = answering
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), HEALTH_CHECK_S)

    async def _commit(self, group: list[_Waiting]) -> None:
        try:
            written = await asyncio.wait_for(self._transaction(group), self.timeout_s)
        except Exception as exc:
            timed_out = isinstance(exc, TimeoutError | KafkaTimeoutError | RequestTimedOutError)
            if isinstance(exc, ProducerFenced):
                log.error("another intake took transactional id %s: two intakes run with the same "
                          "POSKO_INTAKE_INSTANCE; give each its own (0-31), else they refuse each "
                          "other's reports", self.transactional_id)
            log.warning("Kafka did not commit %d requests (%s): %r", len(group),
                        f"no answer within {self.timeout_s:g} s" if timed_out else "failed", exc)
            self._answering = False
            problem = KafkaUnavailable("Kafka did not commit the records", timed_out)
            for waiting in group:  # answered first: stopping the producer can take seconds more
                if not waiting.done.done():
                    waiting.done.set_exception(problem)
            await self._drop_producer()
            return
        self.transactions += 1
        if self._visible is not None:
            await self._visible(written)
        for waiting in group:
            if not waiting.done.done():
                waiting.done.set_result(None)

    async def _transaction(self, group: list[_Waiting]) -> dict[TopicPartition, int]:
        producer = await self._ready_producer()
        await producer.begin_transaction()
        futures = [await producer.send(record.topic, record.value, key=record.key or None)
                   for waiting in group for record in waiting.records]
        written: dict[TopicPartition, int] = {}
        for metadata in await asyncio.gather(*futures):
            tp = TopicPartition(metadata.topic, metadata.partition)
            written[tp] = max(written.get(tp, -1), metadata.offset)
        await producer.commit_transaction()
        return written

    async def _ready_producer(self) -> AIOKafkaProducer:
        async with self._starting:
            return self._producer or await self._start_producer()

    async def _start_producer(self) -> AIOKafkaProducer:
        producer = AIOKafkaProducer(
            bootstrap_servers=self.settings.bootstrap_servers,
            acks="all",
            enable_idempotence=True,
            transactional_id=self.transactional_id,
            # A killed intake's open transaction holds back every read_committed reader of its
            # partitions (the other intakes' ledgers, the relay, the sink) until the coordinator
            # aborts it: keep that short. A transaction lasts milliseconds, at most timeout_s.
            transaction_timeout_ms=max(TRANSACTION_TIMEOUT_MS, int(2_000 * self.timeout_s)),
            # Retries other than the first partition's (CONCURRENT_TRANSACTIONS_BACKOFF_S): the
            # default 100 ms would be most of a request's latency.
            retry_backoff_ms=10,
            request_timeout_ms=max(1_000, int(self.timeout_s * 1000)),
        )
        try:
            await producer.start()
        except BaseException:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(producer.stop(), 2.0)
            raise
        self._producer = producer
        return producer

    async def _drop_producer(self) -> None:
        producer, self._producer = self._producer, None
        if producer is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(producer.stop(), 2.0)
