"""`posko bench opendata`: the Satu Data portal under load, beside plain chdb in the same run.

The bench process holds a chdb store of its own (as the sink would) and answers SQL on its
socket; the portal runs as `posko satudata serve`, a child process reading through that socket.
Figures: package_search and datastore_search p50/p99 with N concurrent clients, and a CSV
download of a 1,000,000-row dataset (rows/s and the portal's peak memory) beside
`SELECT … FORMAT CSV` of the same rows straight from chdb.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from bench.home import bench_env
from posko.net import free_port
from posko.settings import Settings
from sinks.clickhouse.sql_server import serve_sql
from sinks.clickhouse.store import ChdbStore, socket_path

ALERTS_DATASET = "riwayat-peringatan-dini"
INDICATOR_DATASET = "harga-bahan-pokok"
_REGIONS = "['15.01','15.02','15.03','15.04','15.05','15.06','15.07','15.08','15.09','15.71','15.72']"


@contextlib.contextmanager
def served_store(url: str) -> Iterator[ChdbStore]:
    """A migrated chdb store at a chdb:// URL, answering SQL on its socket from a thread of ours."""
    store = ChdbStore(Path(url.removeprefix("chdb://")))
    store.migrate()
    executor = ThreadPoolExecutor(1, thread_name_prefix="clickhouse")
    loop = asyncio.new_event_loop()
    started = threading.Event()
    sock = socket_path(url)
    assert sock is not None

    stop = asyncio.Event()

    async def main() -> None:
        server = await serve_sql(store, executor, sock)
        started.set()
        async with server:
            await stop.wait()

    thread = threading.Thread(target=loop.run_until_complete, args=(main(),), daemon=True)
    thread.start()
    started.wait(30)
    try:
        yield store
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(10)
        sock.unlink(missing_ok=True)
        executor.shutdown()
        store.close()


def load_alerts(store: ChdbStore, rows: int) -> None:
    """`rows` official alerts across the 11 kabupaten/kota and two years (synthetic, generated in SQL)."""
    store.execute(f"""INSERT INTO posko.disaster_alerts (id, source, occurred_at, received_at, region,
        lat, lon, schema_version, event, category, urgency, severity, certainty, headline, description,
        instruction, issuer, area_description, area_regions, area_polygons, area_circles, status, msg_type,
        sent, version)
    SELECT generateUUIDv4(number), 'bench', t, t, r, -1.6 + (number % 97) / 100,
        103.6 + (number % 89) / 100, 1, 'Banjir', 'Met', 'Expected', 'Moderate', 'Likely',
        concat('Peringatan dini banjir ', toString(number)),
        'Curah hujan tinggi diperkirakan terjadi.', 'Waspadai genangan dan longsor.', 'BPBD Provinsi Jambi',
        'Kabupaten', [r], '[]', '[]', 'Actual', 'Alert', t, t
    FROM (SELECT number, toDateTime64('2024-01-01 00:00:00', 3, 'UTC') + toIntervalSecond(number * 61) AS t,
          {_REGIONS}[number % 11 + 1] AS r
          FROM numbers({rows}))""")


def load_prices(store: ChdbStore, days: int) -> None:
    """Daily market prices of the five staples in every kabupaten/kota for `days` days."""
    store.execute(f"""INSERT INTO posko.sector_indicators (id, source, occurred_at, received_at, region,
        schema_version, sector, sector_name, indicator, indicator_name, value, unit, aggregation,
        period_start, period_end, agency, site)
    SELECT generateUUIDv4(number), 'bench', d, d, r, 1, 'industri_perdagangan',
        'Perindustrian dan Perdagangan',
        i, i, 10000 + number % 5000, 'Rp/kg', 'avg', d, d + toIntervalDay(1), 'Disperindag', 'Pasar'
    FROM (SELECT number,
          toDateTime64('2024-01-01 00:00:00', 3, 'UTC') + toIntervalDay(intDiv(number, 55)) AS d,
          {_REGIONS}[number % 11 + 1] AS r,
          ['harga_beras_medium','harga_cabai_merah','harga_bawang_merah','harga_minyak_goreng',
           'harga_gula_pasir'][intDiv(number, 11) % 5 + 1] AS i
          FROM numbers({days * 55}))""")


def _peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


@contextlib.contextmanager
def portal_process(env: dict[str, str], log: Path) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """`posko satudata serve` as a child process, once /healthz answers 200."""
    port = free_port()
    env = {**os.environ, **env, "POSKO_SATUDATA_PORT": str(port)}
    with log.open("ab") as out:
        process = subprocess.Popen([sys.executable, "-m", "posko.cli", "satudata", "serve"], env=env,
                                   stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(url + "/healthz", timeout=5).status_code == 200:
                    break
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError(f"the portal did not start:\n{log.read_text()[-2000:]}")
            time.sleep(0.2)
        yield process, url
    finally:
        process.terminate()
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


async def _latencies(url: str, paths: list[str], clients: int) -> list[float]:
    """Seconds per request, `clients` at a time, over `paths`; every answer must be a CKAN success."""
    queue: asyncio.Queue[str] = asyncio.Queue()
    for path in paths:
        queue.put_nowait(path)
    took: list[float] = []
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=url, timeout=120, limits=limits) as client:

        async def worker() -> None:
            while not queue.empty():
                path = queue.get_nowait()
                started = time.perf_counter()
                answer = await client.get(path)
                took.append(time.perf_counter() - started)
                if answer.status_code != 200 or not answer.json()["success"]:
                    raise RuntimeError(f"{path}: {answer.status_code} {answer.text[:300]}")

        await asyncio.gather(*(worker() for _ in range(clients)))
    return took


def _percentiles(took: list[float]) -> dict[str, float]:
    ordered = sorted(took)
    return {"p50_ms": round(statistics.median(ordered) * 1000, 1),
            "p99_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000, 1),
            "requests": len(ordered)}


def _download_rows(url: str, path: str) -> tuple[int, float, int]:
    """Rows (lines less the header), seconds and bytes of one streamed download."""
    started = time.perf_counter()
    lines = size = 0
    with httpx.stream("GET", url + path, timeout=600) as answer:
        answer.raise_for_status()
        for chunk in answer.iter_bytes():
            lines += chunk.count(b"\n")
            size += len(chunk)
    return lines - 1, time.perf_counter() - started, size


def run_opendata_bench(base: Settings, rows: int, clients: int, requests: int) -> dict[str, object]:
    """Run the whole benchmark and print (and return) its figures as JSON."""
    from satudata.catalogue import catalogue
    from satudata.queries import dataset_sql, key_of

    with tempfile.TemporaryDirectory(prefix="posko-bench-opendata-") as home:
        url = f"chdb://{home}/clickhouse"
        env, _ = bench_env(base, home, POSKO_CLICKHOUSE=url, POSKO_SATUDATA_REFRESH_S="3600")
        with served_store(url) as store:
            started = time.perf_counter()
            load_alerts(store, rows)
            load_prices(store, 365)
            print(json.dumps({"loaded_rows": rows, "load_s": round(time.perf_counter() - started, 1)}),
                  flush=True)
            alerts = next(d for d in catalogue().dataset if d.name == ALERTS_DATASET)
            with portal_process(env, Path(home) / "satudata.log") as (process, portal):
                searches = [f"/api/3/action/package_search?q={q}&rows=10&facet.field=%5B%22organization%22,"
                            f"%22groups%22,%22res_format%22%5D" for q in ("harga", "", "banjir", "laporan")]
                pages = [f"/api/3/action/datastore_search?resource_id={INDICATOR_DATASET}&limit=100"
                         f"&offset={(i * 100) % 20_000}" for i in range(requests)]
                asyncio.run(_latencies(portal, searches[:2] + pages[:2], 2))  # warm: coverage is read once
                search = _percentiles(asyncio.run(_latencies(portal, searches * (requests // 4), clients)))
                datastore = _percentiles(asyncio.run(_latencies(portal, pages, clients)))
                idle_mb = _rss_mb(process.pid)
                Path(f"/proc/{process.pid}/clear_refs").write_text("5")  # peak RSS from here on (Linux)
                csv_rows, csv_s, csv_bytes = _download_rows(
                    portal, f"/dataset/{ALERTS_DATASET}/download/{ALERTS_DATASET}.csv")
                peak_mb = _peak_rss_mb(process.pid)
            started = time.perf_counter()
            plain = store.execute(f"SELECT * FROM ({dataset_sql(alerts, 'posko', 5)}) "
                                  f"ORDER BY {', '.join(key_of(alerts))} "
                                  "SETTINGS date_time_output_format = 'iso'", "CSV")
            plain_s = time.perf_counter() - started
            plain_rows = plain.count(b"\n")
    figures: dict[str, object] = {
        "clients": clients,
        "package_search": search,
        "datastore_search": datastore,
        "csv_download": {"rows": csv_rows, "seconds": round(csv_s, 2), "rows_per_s": round(csv_rows / csv_s),
                         "mb": round(csv_bytes / 1e6, 1), "portal_rss_before_mb": round(idle_mb, 1),
                         "portal_peak_rss_mb": round(peak_mb, 1)},
        "baseline_chdb_select_csv": {"rows": plain_rows, "seconds": round(plain_s, 2),
                                     "rows_per_s": round(plain_rows / plain_s),
                                     "mb_held_whole": round(len(plain) / 1e6, 1)},
    }
    figures["csv_ratio_to_baseline"] = round((csv_rows / csv_s) / (plain_rows / plain_s), 3)
    print(json.dumps(figures, indent=2), flush=True)
    return figures
