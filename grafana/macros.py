"""Panel SQL as it reaches ClickHouse: Grafana's variables, then the ClickHouse plugin's macros.

The expansions follow the plugin's backend (pkg/macros/macros.go of grafana/clickhouse-datasource):
times become `toDateTime(<unix seconds>)`, `$__timeInterval(col)` rounds to the panel's interval.
Grafana itself runs none of this here; the tests and `posko bench dashboards` use it to run every
panel's query against real ClickHouse (chdb).
"""

from __future__ import annotations

import re
from datetime import datetime

from grafana.queries import DRILL_CHOICES, DRILL_VARIABLE, REGION_VARIABLE
from posko.errors import PoskoError
from schemas.regions import Region

MAX_DATA_POINTS = 1_000  # about a panel's width in pixels: Grafana derives the interval from it
_MACRO = re.compile(r"\$__(\w+?)(?:\(([^()]*)\))?(?=\W|$)")


class UnknownMacro(PoskoError, ValueError):
    """The SQL uses a macro this expansion does not know."""


def expand(sql: str, start: datetime, end: datetime, regions: list[Region] | None = None,
           drills: str = "tanpa") -> str:
    """The SQL for the range [start, end] with the `wilayah` variable set (default: all) and
    `latihan` (default: tanpa, no drills)."""
    if drills not in DRILL_CHOICES:
        raise ValueError(f"latihan must be one of {', '.join(DRILL_CHOICES)}, not {drills!r}")
    chosen = regions if regions is not None else list(Region)
    sql = sql.replace(f"${{{REGION_VARIABLE}:singlequote}}", ",".join(f"'{r}'" for r in chosen))
    sql = sql.replace(f"${{{DRILL_VARIABLE}}}", drills)
    interval = max(1, int((end - start).total_seconds() / MAX_DATA_POINTS))
    frm, to = int(start.timestamp()), int(end.timestamp())

    def macro(match: re.Match[str]) -> str:
        name, arg = match.group(1), match.group(2)
        if name == "timeFilter" and arg:
            return f"{arg} >= toDateTime({frm}) AND {arg} <= toDateTime({to})"
        if name == "timeInterval" and arg:
            return f"toStartOfInterval(toDateTime({arg}), INTERVAL {interval} second)"
        if name == "fromTime":
            return f"toDateTime({frm})"
        if name == "toTime":
            return f"toDateTime({to})"
        raise UnknownMacro(f"$__{name} is not expanded here: use $__timeFilter, $__timeInterval, "
                           "$__fromTime or $__toTime")

    expanded = _MACRO.sub(macro, sql)
    if "$" in expanded:
        raise UnknownMacro(f"a variable is left in the SQL: {expanded}")
    return expanded
