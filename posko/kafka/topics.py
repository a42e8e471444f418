"""Creating the topic catalogue on the broker, idempotently."""

from __future__ import annotations

from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from posko.settings import Settings
from schemas.topics import TopicSpec, catalogue


async def create_topics(settings: Settings) -> tuple[list[TopicSpec], list[TopicSpec]]:
    """Create the catalogue's missing topics; return (created, already present)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.bootstrap_servers)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        wanted = catalogue(settings.partitions)
        missing = [spec for spec in wanted if spec.name not in existing]
        if missing:
            await admin.create_topics(
                [
                    NewTopic(spec.name, spec.partitions, settings.replication_factor,
                             topic_configs=spec.config)
                    for spec in missing
                ]
            )
        present = [spec for spec in wanted if spec.name in existing]
        return missing, present
    finally:
        await admin.close()
