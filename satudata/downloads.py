"""Downloads as CSV, JSON, GeoJSON and Parquet, read from ClickHouse a chunk at a time.

Each chunk is the next POSKO_SATUDATA_CHUNK_ROWS rows after the last key sent (keyset paging
on the dataset's key, never OFFSET), in ClickHouse's own output format where it has one; the
portal holds one chunk at a time, so a download of millions of rows never sits in memory whole.
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from functools import cache
from importlib import resources
from typing import Any

import msgspec
import pyarrow as pa
import pyarrow.ipc
import pyarrow.parquet as pq

from satudata.catalogue import Column, Dataset
from satudata.packages import region_name
from satudata.portal import Portal
from satudata.queries import chunk_sql, key_of, literal

ARROW_SETTINGS = (", output_format_arrow_string_as_string = 1, "
                  "output_format_arrow_low_cardinality_as_dictionary = 0")


class _Feature(msgspec.Struct):
    properties: dict[str, Any]
    geometry: msgspec.Raw


class _Boundaries(msgspec.Struct):
    features: list[_Feature]


@cache
def boundaries() -> list[tuple[str, bytes]]:
    """The 11 kabupaten/kota (code, GeoJSON geometry) in Kemendagri order."""
    raw = resources.files("schemas").joinpath("data/jambi_kabkota_15.geojson").read_bytes()
    found = msgspec.json.decode(raw, type=_Boundaries)
    return sorted((str(f.properties["kode"]), bytes(f.geometry)) for f in found.features)


def key_literal(column: Column, value: Any) -> str:
    """A key value read back from a chunk as a ClickHouse literal of the column's type."""
    if isinstance(value, datetime):
        value = value.isoformat()
    if column.type == "datetime":
        return f"parseDateTime64BestEffort({literal(str(value))}, 3, 'UTC')"
    if column.type == "date":
        return f"toDate({literal(str(value))})"
    if column.type in ("integer", "number") and not column.suppress:
        return literal(float(value) if column.type == "number" else int(value))
    return literal(str(value))


class Chunks:
    """The SQL of a dataset's successive chunks, in key order, optionally of one region."""

    def __init__(self, portal: Portal, dataset: Dataset, region: str | None = None) -> None:
        self.portal = portal
        self.columns = portal.catalogue.columns(dataset)
        self.key = key_of(dataset)
        self.base = portal.sql(dataset)
        self.size = portal.settings.satudata_chunk_rows
        self.where = f"kode_wilayah = {literal(region)}" if region else ""
        self.after: list[str] | None = None
        self.done = False
        self._by_name = {c.name: c for c in self.columns}

    def sql(self) -> str:
        """The next chunk's query."""
        if self.after is None:
            return chunk_sql(self.base, self.key, self.size, self.where)
        keyed = f"({', '.join(self.key)}) > ({', '.join(self.after)})"
        return chunk_sql(self.base, self.key, self.size, f"{self.where} AND {keyed}" if self.where else keyed)

    def advance(self, rows: int, last: dict[str, Any] | None) -> None:
        """Note the rows a chunk had and its last row's values (by column name)."""
        if rows < self.size or last is None:
            self.done = True
            return
        self.after = [key_literal(self._by_name[k], last[k]) for k in self.key]

    async def fetch(self, fmt: str, settings: str = "") -> bytes:
        """The next chunk in a ClickHouse format."""
        sql = self.sql()
        return await self.portal.warehouse.query(sql + settings, fmt)


def last_csv_record(data: bytes) -> list[str] | None:
    """The last record of ClickHouse CSV output (which quotes every string): the one after the last
    newline with an even number of quotes behind it (a newline inside a quoted field has an odd one)."""
    end = len(data) - 1 if data.endswith(b"\n") else len(data)
    if end <= 0:
        return None
    cut = end
    while True:
        cut = data.rfind(b"\n", 0, cut)
        if data.count(b'"', cut + 1, end) % 2 == 0:
            return next(csv.reader(io.StringIO(data[cut + 1:end].decode())))
        if cut < 0:
            return None


async def csv_chunks(portal: Portal, dataset: Dataset) -> AsyncIterator[bytes]:
    """The dataset as CSV with a header line."""
    chunks = Chunks(portal, dataset)
    names = [c.name for c in chunks.columns]
    yield (",".join(names) + "\n").encode()
    while not chunks.done:
        data = await chunks.fetch("CSV")
        if data:
            yield data
        last = last_csv_record(data)
        # Records are at most the lines: fewer lines than a chunk is the last chunk.
        chunks.advance(data.count(b"\n"), dict(zip(names, last, strict=True)) if last else None)


async def _json_rows(chunks: Chunks) -> AsyncIterator[bytes]:
    while not chunks.done:
        data = await chunks.fetch("JSONEachRow")
        lines = data.splitlines()
        if lines:
            yield b",\n".join(lines)
        chunks.advance(len(lines), msgspec.json.decode(lines[-1]) if lines else None)


async def json_chunks(portal: Portal, dataset: Dataset) -> AsyncIterator[bytes]:
    """The dataset as one JSON array of row objects."""
    yield b"[\n"
    first = True
    async for part in _json_rows(Chunks(portal, dataset)):
        yield part if first else b",\n" + part
        first = False
    yield b"\n]\n"


async def geojson_chunks(portal: Portal, dataset: Dataset) -> AsyncIterator[bytes]:
    """A FeatureCollection of the 11 kabupaten/kota, each with its boundary and its rows."""
    yield b'{"type": "FeatureCollection", "name": ' + msgspec.json.encode(dataset.name) + b', "features": [\n'
    for index, (code, geometry) in enumerate(boundaries()):
        head = msgspec.json.encode({"kode_wilayah": code, "nama_wilayah": region_name(code)})[:-1]
        yield (b",\n" if index else b"") + b'{"type": "Feature", "geometry": ' + geometry + \
            b', "properties": ' + head + b', "baris": ['
        count, first = 0, True
        chunks = Chunks(portal, dataset, region=code)
        async for part in _json_rows(chunks):
            count += part.count(b"\n") + 1
            yield part if first else b",\n" + part
            first = False
        yield b'], "jumlah_baris": ' + str(count).encode() + b"}}"
    yield b"\n]}\n"


class _Drain:
    """A file-like sink whose written bytes are taken out after each row group."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.closed = False
        self.position = 0

    def write(self, data: Any) -> int:
        block = bytes(data)
        self.parts.append(block)
        self.position += len(block)
        return len(block)

    def tell(self) -> int:
        return self.position

    def flush(self) -> None:
        pass

    def close(self) -> None:
        self.closed = True

    def take(self) -> bytes:
        data, self.parts = b"".join(self.parts), []
        return data


async def parquet_chunks(portal: Portal, dataset: Dataset) -> AsyncIterator[bytes]:
    """The dataset as one Parquet file, a row group per chunk."""
    chunks = Chunks(portal, dataset)
    sink = _Drain()
    writer: pq.ParquetWriter | None = None
    while not chunks.done:
        data = await chunks.fetch("ArrowStream", ARROW_SETTINGS)
        table = pyarrow.ipc.open_stream(data).read_all() if data else None
        if table is None:
            break
        if writer is None:
            writer = pq.ParquetWriter(sink, table.schema, compression="zstd")
        if table.num_rows:
            writer.write_table(table)
        yield sink.take()
        last = {name: table.column(name)[-1].as_py() for name in chunks.key} if table.num_rows else None
        chunks.advance(table.num_rows, last)
    if writer is None:  # not even a schema came back: an empty file with the dictionary's columns
        writer = pq.ParquetWriter(sink, _empty_schema(chunks.columns))
    writer.close()
    yield sink.take()


def _empty_schema(columns: Sequence[Column]) -> pa.Schema:
    types = {"string": pa.string(), "integer": pa.int64(), "number": pa.float64(), "date": pa.date32(),
             "datetime": pa.timestamp("ms", tz="UTC")}
    return pa.schema([(c.name, pa.string() if c.suppress else types[c.type]) for c in columns])


STREAMS = {"csv": csv_chunks, "json": json_chunks, "geojson": geojson_chunks, "parquet": parquet_chunks}
