"""What every part of the portal shares: the catalogue, ClickHouse, who is asking, what the data covers."""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime
from typing import Any

import msgspec

from posko.errors import PoskoError
from posko.settings import Settings
from satudata.catalogue import Catalogue, Classification, Dataset, catalogue
from satudata.queries import TABLES, dataset_sql
from satudata.warehouse import Warehouse

log = logging.getLogger("posko.satudata")
NOT_YET = "belum tersedia"


class AccessDenied(PoskoError, PermissionError):
    """A `terbatas` dataset was asked for without an agency's token."""


class NotAvailable(PoskoError, LookupError):
    """A dataset's table is not in ClickHouse yet (`belum tersedia`)."""


class Coverage(msgspec.Struct, frozen=True):
    """What a dataset's rows cover, read from ClickHouse."""

    available: bool
    rows: int = 0
    start: str = ""
    end: str = ""
    regions: list[str] = []
    modified: str = ""

    @property
    def status(self) -> str:
        """`tersedia` or `belum tersedia`."""
        return "tersedia" if self.available else NOT_YET


class Portal:
    """The catalogue over Posko's ClickHouse, with the metadata read from the data cached."""

    def __init__(self, settings: Settings, warehouse: Warehouse | None = None,
                 found: Catalogue | None = None) -> None:
        self.settings = settings
        self.catalogue = found or catalogue()
        self.warehouse = warehouse or Warehouse(settings)
        self.min_count = settings.satudata_min_count
        self.agencies = settings.satudata_agencies
        self._coverage: dict[str, Coverage] = {}
        self._read_at = float("-inf")
        self._lock = asyncio.Lock()
        # package_search's package dicts, per coverage read (see satudata.ckan).
        self.package_cache: dict[Any, list[dict[str, Any]]] = {}

    def sql(self, dataset: Dataset) -> str:
        """The dataset's rows, suppressed."""
        return dataset_sql(dataset, self.warehouse.database, self.min_count)

    def agency(self, token: str | None) -> str | None:
        """The agency signed in with `token`, or None."""
        return self.agencies.get(token.strip()) if token else None

    def visible(self, agency: str | None) -> list[Dataset]:
        """The datasets someone sees: publik ones, and terbatas ones for a signed-in agency."""
        return [d for d in self.catalogue.served
                if d.classification is Classification.PUBLIK or agency is not None]

    def check_access(self, dataset: Dataset, agency: str | None) -> None:
        """Raise AccessDenied for a terbatas dataset asked for without a token."""
        if dataset.classification is Classification.TERBATAS and agency is None:
            raise AccessDenied(
                f"Dataset {dataset.name} terbatas untuk perangkat daerah: kirim token Anda di header "
                "Authorization (restricted to agencies: send your token in the Authorization header)")

    async def coverage(self) -> dict[str, Coverage]:
        """Each served dataset's coverage, re-read when older than POSKO_SATUDATA_REFRESH_S."""
        if time.monotonic() - self._read_at < self.settings.satudata_refresh_s:
            return self._coverage
        async with self._lock:
            if time.monotonic() - self._read_at >= self.settings.satudata_refresh_s:
                self._coverage = await self._read_coverage()
                self._read_at = time.monotonic()
        return self._coverage

    async def coverage_of(self, dataset: Dataset) -> Coverage:
        """One dataset's coverage."""
        return (await self.coverage())[dataset.name]

    async def require_available(self, dataset: Dataset) -> None:
        """Raise NotAvailable when the dataset's table is not in ClickHouse yet."""
        if not (await self.coverage_of(dataset)).available:
            raise NotAvailable(
                f"Data {dataset.name} belum tersedia: tabel {TABLES[dataset.kind]} belum ada di "
                f"ClickHouse (not available yet: the table is not in ClickHouse)")

    async def _read_coverage(self) -> dict[str, Coverage]:
        tables = await self.warehouse.tables()
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")
        found: dict[str, Coverage] = {}

        async def one(dataset: Dataset) -> None:
            if TABLES[dataset.kind] not in tables:
                found[dataset.name] = Coverage(False, modified=now)
                return
            period = self.catalogue.kinds[dataset.kind].period
            [row] = await self.warehouse.lists(
                f"SELECT count(), toString(min({period})), toString(max({period})), "
                f"arraySort(groupUniqArray(kode_wilayah)) FROM ({self.sql(dataset)})")
            rows, start, end, regions = row
            old = self._coverage.get(dataset.name)
            changed = old is None or (old.rows, old.end) != (rows, end)
            found[dataset.name] = Coverage(True, int(rows), start if rows else "", end if rows else "",
                                           regions, now if changed or old is None else old.modified)

        await asyncio.gather(*(one(d) for d in self.catalogue.served))
        return found
