"""`posko bench …`: the benchmarks, each run beside its baseline."""

from __future__ import annotations

from pathlib import Path

import click

from posko.cli.base import settings


@click.group()
def bench() -> None:
    """Benchmarks, each beside its baseline."""


@bench.command("pipeline")
@click.option("--events", default=100_000, show_default=True, help="Events to push through.")
def bench_pipeline(events: int) -> None:
    """Events/s raw → ClickHouse and latency percentiles, beside a bare aiokafka consumer."""
    from bench.pipeline import run_pipeline_bench

    run_pipeline_bench(settings(), events)


@bench.command("route")
@click.option("--events", default=20_000, show_default=True, help="Simulated events to route.")
def bench_route(events: int) -> None:
    """The worker's CPU per event routed, single-event records beside batched ones (no Kafka)."""
    from bench.route import run_route_bench

    run_route_bench(events)


@bench.command("dashboards")
@click.option("--repeats", default=3, show_default=True, help="Runs per query (the median is kept).")
def bench_dashboards(repeats: int) -> None:
    """Every dashboard panel's SQL on simulated history (chdb), beside a plain scan of its table."""
    from bench.dashboards import run_dashboards_bench

    run_dashboards_bench(repeats)


@bench.command("fanout")
@click.option("--clients", default="100,500,1000", show_default=True,
              help="Numbers of connected clients to measure, comma-separated.")
@click.option("--rate", default=10.0, show_default=True, help="Alerts per second.")
@click.option("--seconds", default=15.0, show_default=True, help="How long to produce at each step.")
@click.option("--flood", type=float, default=None,
              help="Instead: the walls' latency while an officer sends this many acks/s of random "
                   "alert ids, with the gateway's message limit off and on, beside no flood.")
def bench_fanout(clients: str, rate: float, seconds: float, flood: float | None) -> None:
    """Kafka → websocket latency through the gateway, beside bare websockets.broadcast."""
    from bench.fanout import run_fanout_bench
    from bench.flood import run_flood_bench

    try:
        counts = [int(n) for n in clients.split(",") if n.strip()]
    except ValueError as exc:
        raise click.BadParameter("--clients takes numbers separated by commas, e.g. 100,500,1000") from exc
    if not counts or min(counts) < 1 or rate <= 0 or seconds <= 0:
        raise click.BadParameter("--clients, --rate and --seconds must be positive")
    if flood is not None:
        if flood <= 0:
            raise click.BadParameter("--flood takes a positive number of acknowledgements per second")
        run_flood_bench(settings(), counts, rate, seconds, flood)
        return
    run_fanout_bench(settings(), counts, rate, seconds)


@bench.command("intake")
@click.option("--reports", default=5_000, show_default=True, help="Reports to submit (and to send bare).")
@click.option("--clients", default=50, show_default=True, help="Concurrent HTTP clients.")
@click.option("--keys/--no-keys", default=True, show_default=True,
              help="Send each report with an Idempotency-Key of its own, as channels do.")
@click.option("--load", type=click.Choice(["wrk", "aiohttp"]), default=None,
              help="The HTTP clients: wrk (C, the default where installed) or aiohttp (in this process).")
def bench_intake(reports: int, clients: int, keys: bool, load: str | None) -> None:
    """Accepted reports/s and latency through one intake and two, beside the bare producer."""
    from bench.intake import run_intake_bench

    run_intake_bench(settings(), reports, clients, keys, load)


@bench.command("alert-versions")
@click.option("--batches", default=10, show_default=True)
@click.option("--batch-rows", default=2_000, show_default=True)
def bench_alert_versions(batches: int, batch_rows: int) -> None:
    """The sink's versioned alert insert (new rows, updates) beside its plain insert."""
    from bench.alert_versions import run_alert_versions_bench

    run_alert_versions_bench(batches, batch_rows)


@bench.command("sink")
@click.option("--events", default=100_000, show_default=True, help="Simulated events per run.")
@click.option("--sizes", default="1000,10000,100000", show_default=True,
              help="Events per sink batch to measure, comma-separated.")
def bench_sink(events: int, sizes: str) -> None:
    """The sink's insert paths on chdb (Arrow, the server's Arrow bytes) beside JSONEachRow."""
    from bench.sink_insert import run_sink_insert_bench

    try:
        counts = [int(n) for n in sizes.split(",") if n.strip()]
    except ValueError as exc:
        raise click.BadParameter("--sizes takes numbers separated by commas, e.g. 1000,10000") from exc
    if events < 1 or not counts or min(counts) < 1:
        raise click.BadParameter("--events and --sizes must be positive")
    run_sink_insert_bench(events, counts)


@bench.command("opendata")
@click.option("--rows", default=1_000_000, show_default=True, help="Rows of the dataset downloaded as CSV.")
@click.option("--clients", default=50, show_default=True, help="Concurrent API clients.")
@click.option("--requests", default=1_000, show_default=True, help="Requests of each API action.")
def bench_opendata(rows: int, clients: int, requests: int) -> None:
    """The Satu Data portal: package_search and datastore_search latency, CSV download rows/s and
    memory, beside a plain chdb SELECT … FORMAT CSV of the same rows."""
    from bench.opendata import run_opendata_bench

    if min(rows, clients, requests) < 1:
        raise click.BadParameter("--rows, --clients and --requests must be positive")
    run_opendata_bench(settings(), rows, clients, requests)


@bench.command("correlation")
@click.option("--seeds", type=int, default=3, show_default=True,
              help="How many seeds of each scenario to score.")
@click.option("--no-live", is_flag=True, help="Only the grouping figures, without the live latency run.")
def bench_correlation(seeds: int, no_live: bool) -> None:
    """Signals in and incidents out per scenario, grouping precision/recall, signal → incident latency."""
    from bench.correlation import run_correlation_bench

    run_correlation_bench(settings(), seeds, live=not no_live)


@bench.command("command")
@click.option("--officers", default=50, show_default=True, help="Officers sending acts, each on a socket.")
@click.option("--pages", default=1000, show_default=True, help="Pages connected (walls and one responder).")
@click.option("--rate", default=10.0, show_default=True, help="Acts per second (half commands, half acks).")
@click.option("--seconds", default=30.0, show_default=True, help="How long to send.")
def bench_command(officers: int, pages: int, rate: float, seconds: float) -> None:
    """An officer's command to the wall and the responder's page, beside an acknowledgement's."""
    from bench.command import run_command_bench

    if min(officers, pages - 1) < 1 or rate <= 0 or seconds <= 0:
        raise click.BadParameter("--officers, --rate and --seconds must be positive, --pages at least 2")
    run_command_bench(settings(), officers, pages, rate, seconds)


@bench.command("dss")
@click.option("--seeds", type=int, default=3, show_default=True,
              help="How many seeds of each scenario to score.")
@click.option("--no-live", is_flag=True,
              help="Only the ranking and recall figures, without the live latency run.")
def bench_dss(seeds: int, no_live: bool) -> None:
    """Decision support: precision at 3 of the ranking beside ranking by alert count, recall of the
    due playbook actions, and signal → updated ranking latency."""
    from bench.dss import run_dss_bench

    if seeds < 1:
        raise click.BadParameter("--seeds must be at least 1")
    run_dss_bench(settings(), seeds, live=not no_live)


@bench.command("soak")
@click.option("--minutes", default=60.0, show_default=True, help="How long to run the load.")
@click.option("--rate", type=float, default=None,
              help="Simulated events/s [default: twice the busiest minute of the flood scenario "
                   "banjir-batanghari at real speed].")
@click.option("--report-share", default=0.1, show_default=True,
              help="Citizen reports POSTed to the intake, as a share of --rate.")
@click.option("--walls", default=20, show_default=True, help="Wall clients connected to the gateway.")
@click.option("--every", default=10.0, show_default=True, help="Seconds between samples.")
@click.option("--warm-up", type=float, default=None,
              help="Seconds left out of the RSS slopes [default: 10% of the run, at most 300].")
@click.option("--malformed", default=0.01, show_default=True,
              help="Share of deliberately malformed events (they go to the DLQ, counted apart).")
@click.option("--samples", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also write every sample to this file as JSON Lines.")
def bench_soak(minutes: float, rate: float | None, report_share: float, walls: int, every: float,
               warm_up: float | None, malformed: float, samples: Path | None) -> None:
    """The whole stack at a steady rate: RSS of every process over time (slope per hour), consumer
    lag, DLQ growth, events sent against rows stored."""
    from bench.soak import default_rate, run_soak_bench

    if minutes <= 0 or every <= 0 or (rate is not None and rate <= 0) or walls < 0:
        raise click.BadParameter("--minutes, --every dan --rate harus lebih dari 0, --walls tidak negatif "
                                 "/ --minutes, --every and --rate must be positive, --walls not negative")
    if not 0 <= report_share <= 1 or not 0 <= malformed <= 1:
        raise click.BadParameter("--report-share dan --malformed harus antara 0 dan 1 "
                                 "/ --report-share and --malformed must be between 0 and 1")
    run_soak_bench(settings(), minutes, rate if rate is not None else default_rate(), report_share, walls,
                   every, warm_up, malformed, samples)
