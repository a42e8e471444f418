"""A query type for the official ClickHouse datasource plugin (grafana-clickhouse-datasource).

The foundation SDK ships query types for Prometheus, Loki and friends but not for ClickHouse;
this is the small part of the plugin's query model Posko uses: raw SQL in the SQL editor, with
the plugin's macros (`$__timeFilter(col)`, `$__timeInterval(col)`, `$__fromTime`, `$__toTime`).
"""

from __future__ import annotations

import enum
from typing import Any, Self

from grafana_foundation_sdk.cog import builder as cogbuilder
from grafana_foundation_sdk.cog import runtime as cogruntime
from grafana_foundation_sdk.cog import variants as cogvariants
from grafana_foundation_sdk.models import common

PLUGIN_ID = "grafana-clickhouse-datasource"
DATASOURCE_UID = "posko-clickhouse"  # fixed by grafana/provisioning/datasources/clickhouse.yaml


class Format(enum.IntEnum):
    """How the plugin shapes the result (grafana-plugin-sdk-go sqlutil.FormatQueryOption)."""

    TIME_SERIES = 0
    TABLE = 1
    LOGS = 2
    TRACE = 3


class QueryType(enum.StrEnum):
    """The plugin's query type: which visualisation options the editor offers."""

    TABLE = "table"
    TIME_SERIES = "timeSeries"
    LOGS = "logs"
    TRACES = "traces"


def datasource_ref() -> common.DataSourceRef:
    """The provisioned ClickHouse datasource."""
    return common.DataSourceRef(type_val=PLUGIN_ID, uid=DATASOURCE_UID)


class ClickHouseQuery(cogvariants.Dataquery):
    """One raw-SQL query of the ClickHouse plugin."""

    def __init__(self, ref_id: str = "A", raw_sql: str = "", format_val: Format = Format.TABLE,
                 query_type: QueryType = QueryType.TABLE,
                 datasource: common.DataSourceRef | None = None) -> None:
        self.ref_id = ref_id
        self.raw_sql = raw_sql
        self.format_val = format_val
        self.query_type = query_type
        self.datasource = datasource or datasource_ref()

    def to_json(self) -> dict[str, object]:
        """The query as the plugin stores it in dashboard JSON."""
        return {
            "datasource": self.datasource.to_json(),
            "editorType": "sql",
            "format": int(self.format_val),
            "queryType": str(self.query_type),
            "rawSql": self.raw_sql,
            "refId": self.ref_id,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Self:
        """Read a query back from dashboard JSON (unknown editor types are refused)."""
        if data.get("editorType", "sql") != "sql":
            raise ValueError(f"only SQL-editor queries are supported, got {data.get('editorType')!r}")
        return cls(
            ref_id=data["refId"], raw_sql=data["rawSql"], format_val=Format(data["format"]),
            query_type=QueryType(data["queryType"]),
            datasource=common.DataSourceRef.from_json(data["datasource"]),
        )


class ClickHouseQueryBuilder(cogbuilder.Builder[ClickHouseQuery]):
    """Builds a ClickHouse query for a panel's targets."""

    def __init__(self, raw_sql: str, ref_id: str = "A") -> None:
        self._internal = ClickHouseQuery(ref_id=ref_id, raw_sql=raw_sql)

    def build(self) -> ClickHouseQuery:
        """The query."""
        return self._internal

    def time_series(self) -> Self:
        """Shape the result as time series (a `time` column first; string columns become labels)."""
        self._internal.format_val = Format.TIME_SERIES
        self._internal.query_type = QueryType.TIME_SERIES
        return self

    def table(self) -> Self:
        """Shape the result as a table."""
        self._internal.format_val = Format.TABLE
        self._internal.query_type = QueryType.TABLE
        return self


def register() -> None:
    """Teach the SDK's JSON reader the ClickHouse query type (next to its built-in plugins)."""
    cogruntime.register_dataquery_variant(
        cogruntime.DataqueryConfig(identifier=PLUGIN_ID, from_json_hook=ClickHouseQuery.from_json)
    )
