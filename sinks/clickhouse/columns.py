"""Rows as Arrow tables: the columnar form the sink inserts, one Arrow column per row field.

ClickHouse reads an Arrow table column by column and casts each column to its table's type
(Nullable, LowCardinality, DateTime64(3, 'UTC'), arrays), so the sink pays no JSON encoding and
no text parsing per value (bench/sink_insert.py measures it against JSONEachRow).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from functools import cache
from typing import Any

import msgspec
import pyarrow as pa
from msgspec import inspect

# Times go as microseconds in UTC; ClickHouse keeps the milliseconds of DateTime64(3), as it did
# from the ISO text before (the digits after the third are dropped, not rounded).
_TIME = pa.timestamp("us", tz="UTC")


class Column(msgspec.Struct, frozen=True):
    """How one field of a row type becomes an Arrow column."""

    name: str
    type: pa.DataType
    # Applied to every value before Arrow sees it (None: the values go as they are).
    convert: Callable[[Any], Any] | None = None
    # Only a field that may be None is a nullable Arrow column: ClickHouse fills the NULLs of a
    # nullable column bound for a non-Nullable one with the column's DEFAULT, and so computes
    # that DEFAULT for every row (dead_letters' raw_size decodes raw_base64), a value or not.
    nullable: bool = False


def _uuid_hex(value: uuid.UUID | None) -> str | None:
    # 32 hex digits: ClickHouse parses them into UUID on every path (chdb's Python() and a
    # server's FORMAT Arrow). Raw 16 bytes would be read in ClickHouse's own byte order, not RFC 4122's.
    return None if value is None else value.hex


def _column(name: str, info: inspect.Type, row_type: type) -> Column:
    if isinstance(info, inspect.UnionType):
        present = [t for t in info.types if not isinstance(t, inspect.NoneType)]
        if len(present) != 1:
            raise TypeError(f"{row_type.__name__}.{name}: a column holds one type (or None), "
                            f"not {info}")
        return msgspec.structs.replace(_column(name, present[0], row_type), nullable=True)
    if isinstance(info, inspect.UUIDType):
        return Column(name, pa.string(), _uuid_hex)
    if isinstance(info, inspect.DateTimeType):
        return Column(name, _TIME)
    if isinstance(info, inspect.StrType):
        return Column(name, pa.string())
    if isinstance(info, inspect.IntType):
        return Column(name, pa.int64())
    if isinstance(info, inspect.FloatType):
        return Column(name, pa.float64())
    if isinstance(info, inspect.BoolType):
        return Column(name, pa.bool_())
    if isinstance(info, inspect.ListType) and isinstance(info.item_type, inspect.StrType):
        return Column(name, pa.list_(pa.string()))
    raise TypeError(f"{row_type.__name__}.{name}: no Arrow column for {info}; add it to "
                    "sinks/clickhouse/columns.py with a round trip in tests/test_sink_columns.py")


@cache
def columns_of(row_type: type[msgspec.Struct]) -> tuple[Column, ...]:
    """The Arrow columns of a row type, in its fields' order."""
    info = inspect.type_info(row_type)
    assert isinstance(info, inspect.StructType)
    return tuple(_column(field.name, field.type, row_type) for field in info.fields)


@cache
def schema_of(row_type: type[msgspec.Struct]) -> pa.Schema:
    """The Arrow schema of a row type's tables."""
    return pa.schema([pa.field(c.name, c.type, nullable=c.nullable) for c in columns_of(row_type)])


def arrow_table(rows: Sequence[msgspec.Struct]) -> pa.Table:
    """The rows, all of one row type, as an Arrow table with a column per field."""
    row_type = type(rows[0])
    if any(type(row) is not row_type for row in rows):
        kinds = sorted({type(row).__name__ for row in rows})
        raise TypeError(f"rows of one table must be of one type, not {', '.join(kinds)}")
    columns = columns_of(row_type)
    values = zip(*map(msgspec.structs.astuple, rows), strict=True)
    arrays = []
    for column, column_values in zip(columns, values, strict=True):
        if column.convert is not None:
            column_values = tuple(map(column.convert, column_values))
        arrays.append(pa.array(column_values, type=column.type))
    return pa.Table.from_arrays(arrays, schema=schema_of(row_type))

