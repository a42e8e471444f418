"""The Kafka topic catalogue: every topic Posko uses, its key, partitions and retention."""

from __future__ import annotations

import msgspec

from schemas.events import Kind
from schemas.regions import PROVINCE_CODE

DAY_MS = 24 * 60 * 60 * 1000

DLQ = "posko.dlq"
ALERTS = "posko.alerts"
ACKS = "posko.acks"
# Citizen report follow-up: one record per status change, keyed by tracking number, compacted
# so the latest state of every report stays readable after any restart.
REPORT_STATUS = "posko.report_status"
# Correlation reads every signal and every act on an incident in one order, so its topics have one
# partition: a province's signals are a few per second at most, and incidents cross kabupaten.
SIGNALS = "posko.signals"
# The key of a posko.signals record about more than one region (a batch of several regions'
# signals, an acknowledgement of an incident): the province's code.
SIGNALS_KEY = PROVINCE_CODE.encode()
# One record per change of an incident, keyed by its id, compacted: the latest of every incident
# stays readable, and it is the changelog the worker rebuilds its incident table from.
INCIDENTS = "posko.incidents"
# One record per escalation step (incidents nobody took on, reports past their SLA).
ESCALATIONS = "posko.escalations"
# What people do (schemas/commands.py): one partition, so the desk decides them in one order.
COMMANDS = "posko.commands"
# The desk's state, one record per change (tasks, emergency statuses, notes), compacted: the
# changelog the worker rebuilds its desk table from, and what the gateway shows.
DESK = "posko.desk"
# Every command as decided (applied or refused), kept: the audit trail.
AUDIT = "posko.audit"
# Decision support (schemas/decision.py): each region's score per hazard and each recommendation,
# latest kept (compacted); the worker rebuilds its dismissals from it after a restart.
RANKING = "posko.ranking"


def raw_topic(kind: Kind) -> str:
    """Where connectors write events of a kind, unvalidated."""
    return f"posko.raw.{kind}"


def events_topic(kind: Kind) -> str:
    """Where the stream writes validated, enriched events of a kind."""
    return f"posko.events.{kind}"


# The topics whose records carry batches, one event or signal a line (schemas/batch.py); alerts,
# dead letters and the room's other topics stay one a record.
BATCHED = frozenset({*(events_topic(kind) for kind in Kind), SIGNALS})
# Batched topics read in one order (correlation's): a batch holds consecutive records whatever
# their keys, where elsewhere a batch holds one key's records.
IN_ORDER = frozenset({SIGNALS})


class TopicSpec(msgspec.Struct, frozen=True):
    """One topic of the catalogue."""

    name: str
    partitions: int
    key: str
    retention_ms: int
    cleanup_policy: str
    description: str

    @property
    def config(self) -> dict[str, str]:
        """The topic-level Kafka configuration."""
        return {"retention.ms": str(self.retention_ms), "cleanup.policy": self.cleanup_policy}


def catalogue(partitions: int = 6) -> list[TopicSpec]:
    """All topics, with `partitions` for the region-keyed ones."""
    topics = []
    for kind in Kind:
        topics.append(
            TopicSpec(raw_topic(kind), partitions, "region code", 7 * DAY_MS, "delete",
                      f"{kind} events as sources send them, not yet validated")
        )
        topics.append(
            TopicSpec(events_topic(kind), partitions, "region code", 30 * DAY_MS, "delete",
                      f"validated {kind} events with the region filled in")
        )
    topics.append(
        TopicSpec(ALERTS, partitions, "region code", 30 * DAY_MS, "delete",
                  "disaster alerts and urgent citizen reports for the wall and responders")
    )
    topics.append(
        TopicSpec(ACKS, partitions, "region code", 30 * DAY_MS, "delete",
                  "acknowledgements of alerts by responders and officers, from the push gateway")
    )
    topics.append(
        TopicSpec(DLQ, partitions, "source topic", 30 * DAY_MS, "delete",
                  "messages that failed decoding or validation, with the original bytes and why")
    )
    topics.append(
        TopicSpec(REPORT_STATUS, partitions, "tracking number", -1, "compact",
                  "citizen report status changes (diterima … selesai), latest per report kept")
    )
    topics.append(
        TopicSpec(SIGNALS, 1, "region code", 7 * DAY_MS, "delete",
                  "what correlation reads: signals of alerts, reports and indicators, and acks of incidents")
    )
    topics.append(
        TopicSpec(INCIDENTS, 1, "incident id", -1, "compact",
                  "incidents (signals grouped by hazard, place and time), latest version per incident kept")
    )
    topics.append(
        TopicSpec(ESCALATIONS, 1, "incident id or report tracking number", 90 * DAY_MS, "delete",
                  "escalation steps: incidents nobody acknowledged in time, reports past their SLA")
    )
    topics.append(
        TopicSpec(COMMANDS, 1, "incident, task or region the command is about", 90 * DAY_MS, "delete",
                  "commands of officers, responders and agencies, in the order the desk decides them")
    )
    topics.append(
        TopicSpec(DESK, 1, "task:<id>, emergency:<region> or note:<id>", -1, "compact",
                  "tasks, regions' emergency statuses and incident notes, latest version of each kept")
    )
    topics.append(
        TopicSpec(AUDIT, 1, "command id", -1, "delete",
                  "every command as decided, applied or refused, with the state before and after")
    )
    topics.append(
        TopicSpec(RANKING, 1, "score:<region>|<hazard> or rec:<id>", -1, "compact",
                  "decision support: regions' scores per hazard with their parts, and recommendations")
    )
    return topics
