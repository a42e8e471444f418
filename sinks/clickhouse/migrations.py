"""ClickHouse tables' DDL, as numbered migrations the store applies in order."""

from __future__ import annotations

_ENVELOPE = """
    id UUID,
    source LowCardinality(String),
    occurred_at DateTime64(3, 'UTC'),
    received_at DateTime64(3, 'UTC'),
    ingested_at DateTime64(3, 'UTC') DEFAULT now64(3),
    region LowCardinality(Nullable(String)),
    lat Nullable(Float64),
    lon Nullable(Float64),
    schema_version UInt16,"""

# Rows are deduplicated on insert by the sink (event id); ReplacingMergeTree on `id` is the
# backstop should two writers ever race. Partitions by month keep one id in one partition.
_ENGINE = """
ENGINE = ReplacingMergeTree(ingested_at)
PARTITION BY toYYYYMM(occurred_at)
ORDER BY id"""

# Each migration is a list of idempotent statements; `{db}` is the database name.
MIGRATIONS: list[tuple[int, str, list[str]]] = [
    (1, "event tables, alerts and dead letters", [
        "CREATE DATABASE IF NOT EXISTS {db}",
        "CREATE TABLE IF NOT EXISTS {db}.schema_migrations (version UInt32, "
        "description String, applied_at DateTime64(3, 'UTC') DEFAULT now64(3)) "
        "ENGINE = ReplacingMergeTree ORDER BY version",
        f"""CREATE TABLE IF NOT EXISTS {{db}}.citizen_reports ({_ENVELOPE}
    channel LowCardinality(String),
    category LowCardinality(String),
    title String,
    text String,
    INDEX occurred occurred_at TYPE minmax GRANULARITY 1
){_ENGINE}""",
        # Reporter contacts are personal data: a table of their own, so that dashboards and
        # read-only users are given the reports without them.
        """CREATE TABLE IF NOT EXISTS {db}.reporter_contacts (
    id UUID,
    occurred_at DateTime64(3, 'UTC'),
    ingested_at DateTime64(3, 'UTC') DEFAULT now64(3),
    name Nullable(String),
    phone Nullable(String),
    email Nullable(String)
) ENGINE = ReplacingMergeTree(ingested_at) PARTITION BY toYYYYMM(occurred_at) ORDER BY id""",
        f"""CREATE TABLE IF NOT EXISTS {{db}}.disaster_alerts ({_ENVELOPE}
    event String,
    category LowCardinality(String),
    urgency LowCardinality(String),
    severity LowCardinality(String),
    certainty LowCardinality(String),
    headline String,
    description String,
    instruction String,
    issuer LowCardinality(String),
    area_description String,
    area_regions Array(LowCardinality(String)),
    area_polygons String,
    area_circles String,
    effective Nullable(DateTime64(3, 'UTC')),
    expires Nullable(DateTime64(3, 'UTC')),
    magnitude Nullable(Float32),
    depth_km Nullable(Float32),
    INDEX occurred occurred_at TYPE minmax GRANULARITY 1
){_ENGINE}""",
        f"""CREATE TABLE IF NOT EXISTS {{db}}.permit_filings ({_ENVELOPE}
    permit_id String,
    nib String,
    permit_type LowCardinality(String),
    kbli LowCardinality(String),
    applicant_type LowCardinality(String),
    status UInt8,
    status_name LowCardinality(String),
    sla_deadline Nullable(DateTime64(3, 'UTC')),
    agency LowCardinality(String),
    note String,
    INDEX occurred occurred_at TYPE minmax GRANULARITY 1
){_ENGINE}""",
        """CREATE TABLE IF NOT EXISTS {db}.alerts (
    id UUID,
    event_kind LowCardinality(String),
    source LowCardinality(String),
    occurred_at DateTime64(3, 'UTC'),
    ingested_at DateTime64(3, 'UTC') DEFAULT now64(3),
    region LowCardinality(Nullable(String)),
    lat Nullable(Float64),
    lon Nullable(Float64),
    severity LowCardinality(String),
    urgency LowCardinality(String),
    headline String,
    description String,
    reason String
) ENGINE = ReplacingMergeTree(ingested_at) PARTITION BY toYYYYMM(occurred_at) ORDER BY id""",
        """CREATE TABLE IF NOT EXISTS {db}.dead_letters (
    id UUID,
    failed_at DateTime64(3, 'UTC'),
    ingested_at DateTime64(3, 'UTC') DEFAULT now64(3),
    reason String,
    topic LowCardinality(String),
    partition UInt32,
    offset UInt64,
    key Nullable(String),
    raw_text String,
    raw_base64 String
) ENGINE = ReplacingMergeTree(ingested_at) PARTITION BY toYYYYMM(failed_at) ORDER BY id""",
    ]),
    (2, "acknowledgements of alerts", [
        """CREATE TABLE IF NOT EXISTS {db}.acks (
    id UUID,
    alert_id UUID,
    region LowCardinality(Nullable(String)),
    event_kind LowCardinality(String),
    severity LowCardinality(String),
    acked_by String,
    role LowCardinality(String),
    note String,
    acked_at DateTime64(3, 'UTC'),
    ingested_at DateTime64(3, 'UTC') DEFAULT now64(3),
    INDEX alert alert_id TYPE bloom_filter GRANULARITY 1
) ENGINE = ReplacingMergeTree(ingested_at) PARTITION BY toYYYYMM(acked_at) ORDER BY id""",
    ]),
    (3, "sector indicators", [
        # The catalogue's name, aggregation and normal range are stored with each reading:
        # dashboards need no second source, and a reading keeps the range it was judged by.
        f"""CREATE TABLE IF NOT EXISTS {{db}}.sector_indicators ({_ENVELOPE}
    sector LowCardinality(String),
    sector_name LowCardinality(String),
    indicator LowCardinality(String),
    indicator_name LowCardinality(String),
    value Float64,
    unit LowCardinality(String),
    aggregation LowCardinality(String),
    normal_low Nullable(Float64),
    normal_high Nullable(Float64),
    period_start DateTime64(3, 'UTC'),
    period_end DateTime64(3, 'UTC'),
    agency LowCardinality(String),
    site LowCardinality(String),
    INDEX occurred occurred_at TYPE minmax GRANULARITY 1,
    INDEX period period_end TYPE minmax GRANULARITY 1
){_ENGINE}""",
    ]),
    (4, "citizen report status changes", [
        """CREATE TABLE IF NOT EXISTS {db}.report_status_changes (
    id UUID,
    tracking String,
    report_id UUID,
    channel LowCardinality(String),
    category LowCardinality(String),
    region LowCardinality(Nullable(String)),
    status LowCardinality(String),
    changed_at DateTime64(3, 'UTC'),
    ingested_at DateTime64(3, 'UTC') DEFAULT now64(3),
    changed_by String,
    note String
) ENGINE = ReplacingMergeTree(ingested_at) PARTITION BY toYYYYMM(changed_at) ORDER BY id""",
    ]),
    # Alerts change under one id (a BMKG quake seen again, a CAP Update or Cancel): `version`
    # orders the versions, the sink stores a newer one in place of the old (VERSIONED below).
    (5, "alert versions: status, msgType, sent, distance to Jambi", [
        "ALTER TABLE {db}.disaster_alerts ADD COLUMN IF NOT EXISTS status LowCardinality(String) "
        "DEFAULT 'Actual'",
        "ALTER TABLE {db}.disaster_alerts ADD COLUMN IF NOT EXISTS msg_type LowCardinality(String) "
        "DEFAULT 'Alert'",
        "ALTER TABLE {db}.disaster_alerts ADD COLUMN IF NOT EXISTS sent Nullable(DateTime64(3, 'UTC'))",
        "ALTER TABLE {db}.disaster_alerts ADD COLUMN IF NOT EXISTS distance_km Nullable(Float32)",
        "ALTER TABLE {db}.disaster_alerts ADD COLUMN IF NOT EXISTS version DateTime64(3, 'UTC') "
        "DEFAULT received_at",
        "ALTER TABLE {db}.alerts ADD COLUMN IF NOT EXISTS version DateTime64(3, 'UTC') "
        "DEFAULT occurred_at",
    ]),
    # A dead letter keeps the first 256 KiB of a larger message (schemas/events.py): its real
    # size and digest say what it was. Rows from before held the whole message.
    (6, "dead letters: size and SHA-256 of the original message", [
        "ALTER TABLE {db}.dead_letters ADD COLUMN IF NOT EXISTS raw_size UInt64 "
        "DEFAULT length(base64Decode(raw_base64))",
        "ALTER TABLE {db}.dead_letters ADD COLUMN IF NOT EXISTS raw_sha256 String "
        "DEFAULT lower(hex(SHA256(base64Decode(raw_base64))))",
    ]),
    # The LAPOR! deadline a status change leaves running (schemas/report_sla.py), in working
    # days: the sink computes it with the stream's calendar, so SQL only compares. Rows from
    # before have none (not shown as overdue).
    (7, "citizen report SLA: the stage and working-day deadline of each status change", [
        "ALTER TABLE {db}.report_status_changes ADD COLUMN IF NOT EXISTS sla_stage "
        "LowCardinality(String) DEFAULT ''",
        "ALTER TABLE {db}.report_status_changes ADD COLUMN IF NOT EXISTS sla_due "
        "Nullable(DateTime64(3, 'UTC'))",
    ]),
    # Incidents change under one id, `version` counting up: the sink keeps the newest row per id
    # (VERSIONED). No partitions: a province has hundreds of incidents, and a merge may move an
    # incident's first_at, which would put its versions in two partitions that never replace.
    (8, "incidents, their signals and escalations", [
        """CREATE TABLE IF NOT EXISTS {db}.incidents (
    id UUID,
    version UInt64,
    hazard LowCardinality(String),
    title String,
    priority LowCardinality(String),
    status LowCardinality(String),
    regions Array(LowCardinality(String)),
    kecamatan Array(String),
    centre_lat Nullable(Float64),
    centre_lon Nullable(Float64),
    radius_km Float64,
    first_at DateTime64(3, 'UTC'),
    last_at DateTime64(3, 'UTC'),
    signal_count UInt32,
    report_count UInt32,
    victims UInt8,
    updated_at DateTime64(3, 'UTC'),
    official UInt8,
    surge UInt8,
    why String,
    acked_by String,
    acked_at Nullable(DateTime64(3, 'UTC')),
    merged_into Nullable(UUID),
    opened_at DateTime64(3, 'UTC'),
    escalation_level UInt8,
    ingested_at DateTime64(3, 'UTC') DEFAULT now64(3)
) ENGINE = ReplacingMergeTree(version) ORDER BY id""",
        # One row per signal, of the latest incident holding it: keyed by the signal, versioned
        # by the incident's updated_at, so a signal a merge moved belongs to the incident it
        # moved to (the merged one's last version, which points elsewhere, writes no rows).
        """CREATE TABLE IF NOT EXISTS {db}.incident_signals (
    signal_id UUID,
    incident_id UUID,
    item_id UUID,
    kind LowCardinality(String),
    event_kind LowCardinality(String),
    hazard LowCardinality(String),
    priority LowCardinality(String),
    region LowCardinality(Nullable(String)),
    kecamatan Nullable(String),
    lat Nullable(Float64),
    lon Nullable(Float64),
    headline String,
    occurred_at DateTime64(3, 'UTC'),
    item_last_at DateTime64(3, 'UTC'),
    item_count UInt32,
    victims UInt8,
    incident_version UInt64,
    version DateTime64(3, 'UTC'),
    ingested_at DateTime64(3, 'UTC') DEFAULT now64(3),
    INDEX incident incident_id TYPE bloom_filter GRANULARITY 1
) ENGINE = ReplacingMergeTree(version) ORDER BY signal_id""",
        """CREATE TABLE IF NOT EXISTS {db}.escalations (
    id UUID,
    subject LowCardinality(String),
    subject_id String,
    level UInt16,
    role LowCardinality(String),
    regions Array(LowCardinality(String)),
    priority LowCardinality(Nullable(String)),
    headline String,
    reason String,
    due_at DateTime64(3, 'UTC'),
    fired_at DateTime64(3, 'UTC'),
    late_s Float64,
    ingested_at DateTime64(3, 'UTC') DEFAULT now64(3)
) ENGINE = ReplacingMergeTree(ingested_at) PARTITION BY toYYYYMM(fired_at) ORDER BY id""",
    ]),
    # The room's commands and the desk's state (schemas/commands.py). The audit log is append-only:
    # one row per command decided, its id the command's, deduplicated on insert like events.
    # Tasks are versions of one task like incidents (VERSIONED); their history, regions'
    # emergency statuses and notes are rows of their own, each once (ids derived where a record
    # has none: schemas' uuid5 of what the row is about, sinks/clickhouse/desk_rows.py).
    (9, "audit log, tasks and their progress, emergency statuses, incident notes; drills", [
        """CREATE TABLE IF NOT EXISTS {db}.audit_log (
    id UUID,
    action LowCardinality(String),
    target String,
    incident_id Nullable(UUID),
    actor String,
    role LowCardinality(String),
    credential String,
    origin String,
    issued_at DateTime64(3, 'UTC'),
    decided_at DateTime64(3, 'UTC'),
    accepted UInt8,
    status UInt16,
    reason String,
    before String,
    after String,
    command String,
    drill UInt8,
    ingested_at DateTime64(3, 'UTC') DEFAULT now64(3),
    INDEX incident incident_id TYPE bloom_filter GRANULARITY 1
) ENGINE = ReplacingMergeTree(ingested_at) PARTITION BY toYYYYMM(decided_at) ORDER BY id""",
        """CREATE TABLE IF NOT EXISTS {db}.tasks (
    id UUID,
    version UInt64,
    title String,
    assignee_kind LowCardinality(String),
    assignee String,
    priority LowCardinality(String),
    due_at DateTime64(3, 'UTC'),
    status LowCardinality(String),
    incident_id Nullable(UUID),
    report Nullable(String),
    details String,
    region LowCardinality(Nullable(String)),
    lat Nullable(Float64),
    lon Nullable(Float64),
    created_by String,
    created_at DateTime64(3, 'UTC'),
    updated_at DateTime64(3, 'UTC'),
    drill UInt8,
    escalation_level UInt8,
    ingested_at DateTime64(3, 'UTC') DEFAULT now64(3)
) ENGINE = ReplacingMergeTree(version) ORDER BY id""",
        """CREATE TABLE IF NOT EXISTS {db}.task_progress (
    id UUID,
    task_id UUID,
    incident_id Nullable(UUID),
    command_id UUID,
    action LowCardinality(String),
    status LowCardinality(String),
    by String,
    role LowCardinality(String),
    at DateTime64(3, 'UTC'),
    note String,
    reason String,
    lat Nullable(Float64),
    lon Nullable(Float64),
    assignee String,
    drill UInt8,
    ingested_at DateTime64(3, 'UTC') DEFAULT now64(3),
    INDEX task task_id TYPE bloom_filter GRANULARITY 1
) ENGINE = ReplacingMergeTree(ingested_at) PARTITION BY toYYYYMM(at) ORDER BY id""",
        """CREATE TABLE IF NOT EXISTS {db}.emergency_status (
    id UUID,
    region LowCardinality(String),
    version UInt64,
    status LowCardinality(String),
    decided_at DateTime64(3, 'UTC'),
    decree Nullable(String),
    decided_by String,
    incident_id Nullable(UUID),
    note String,
    updated_at DateTime64(3, 'UTC'),
    drill UInt8,
    ingested_at DateTime64(3, 'UTC') DEFAULT now64(3)
) ENGINE = ReplacingMergeTree(ingested_at) ORDER BY id""",
        """CREATE TABLE IF NOT EXISTS {db}.incident_notes (
    id UUID,
    incident_id UUID,
    text String,
    sitrep UInt8,
    by String,
    role LowCardinality(String),
    at DateTime64(3, 'UTC'),
    drill UInt8,
    ingested_at DateTime64(3, 'UTC') DEFAULT now64(3),
    INDEX incident incident_id TYPE bloom_filter GRANULARITY 1
) ENGINE = ReplacingMergeTree(ingested_at) PARTITION BY toYYYYMM(at) ORDER BY id""",
        "ALTER TABLE {db}.incidents ADD COLUMN IF NOT EXISTS drill UInt8 DEFAULT 0 AFTER escalation_level",
        "ALTER TABLE {db}.incidents ADD COLUMN IF NOT EXISTS manual UInt8 DEFAULT 0 AFTER drill",
        "ALTER TABLE {db}.incidents ADD COLUMN IF NOT EXISTS closed_by String DEFAULT '' AFTER manual",
        "ALTER TABLE {db}.incidents ADD COLUMN IF NOT EXISTS closed_reason String DEFAULT '' "
        "AFTER closed_by",
        "ALTER TABLE {db}.escalations ADD COLUMN IF NOT EXISTS drill UInt8 DEFAULT 0 AFTER late_s",
    ]),
    (10, "decision support: regions' scores per hazard, and recommendations (every version)", [
        # One row per version of a region's score: the briefing compares now with then.
        """CREATE TABLE IF NOT EXISTS {db}.region_ranking (
    id UUID,
    region LowCardinality(String),
    hazard LowCardinality(String),
    score Float64,
    rank UInt16,
    risiko Float64,
    bahaya Float64,
    dampak Float64,
    kapasitas Float64,
    parts String,
    computed_at DateTime64(3, 'UTC'),
    drill UInt8,
    ingested_at DateTime64(3, 'UTC') DEFAULT now64(3),
    INDEX place (region, hazard) TYPE bloom_filter GRANULARITY 1
) ENGINE = ReplacingMergeTree(ingested_at) PARTITION BY toYYYYMM(computed_at) ORDER BY id""",
        """CREATE TABLE IF NOT EXISTS {db}.recommendations (
    id UUID,
    recommendation_id UUID,
    incident_id Nullable(UUID),
    region LowCardinality(String),
    hazard LowCardinality(String),
    rule LowCardinality(String),
    action String,
    assignee String,
    why String,
    due_at DateTime64(3, 'UTC'),
    status LowCardinality(String),
    task_id Nullable(UUID),
    dismissed_by String,
    dismissed_reason String,
    updated_at DateTime64(3, 'UTC'),
    drill UInt8,
    ingested_at DateTime64(3, 'UTC') DEFAULT now64(3),
    INDEX recommendation recommendation_id TYPE bloom_filter GRANULARITY 1
) ENGINE = ReplacingMergeTree(ingested_at) PARTITION BY toYYYYMM(updated_at) ORDER BY id""",
    ]),
    # Batched records (schemas/batch.py): a bad event of a batch is dead-lettered alone, with its
    # line in the record. NULL for a record of one event, and for rows from before.
    (11, "dead letters: the line of a bad event in a batched record", [
        "ALTER TABLE {db}.dead_letters ADD COLUMN IF NOT EXISTS position Nullable(UInt32)",
    ]),
]

# Tables whose rows are versions of one thing: the sink keeps the newest row per id.
VERSIONED = frozenset({"disaster_alerts", "alerts", "incidents", "incident_signals", "tasks"})
# The column that names the thing, where it is not `id`.
KEYS = {"incident_signals": "signal_id"}
# Versioned tables every reader reads with FINAL (dashboards, documents, Satu Data): a replaced
# version is left to the ReplacingMergeTree's merges, not deleted at once. Every incident version
# replaces rows, and the lightweight DELETE that hid them cost 0.2-1.1 s a batch (docs/pipeline.md).
READ_FINAL = frozenset({"incidents", "incident_signals"})
