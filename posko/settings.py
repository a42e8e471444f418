"""One settings Struct for every service, read from POSKO_* variables and an optional TOML file."""

from __future__ import annotations

import os
import tomllib
from datetime import date
from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit

import msgspec

from posko.errors import PoskoError
from schemas.workdays import parse_dates


class SettingsError(PoskoError, ValueError):
    """A setting has a value Posko cannot use; the message says which and why."""


class Settings(msgspec.Struct, kw_only=True, frozen=True, forbid_unknown_fields=True):
    """Where Posko keeps its state and how it reaches Kafka and ClickHouse."""

    # State: the local broker's log directory, the chdb store, Faust's data.
    home: str = str(Path.home() / ".local" / "share" / "posko")
    # An existing Kafka cluster (kafka://host:port[,host:port]); empty runs the local broker.
    kafka: str = ""
    kafka_host: str = "127.0.0.1"
    kafka_port: int = 9092
    kafka_controller_port: int = 9093
    kafka_heap: str = "1g"
    # chdb:///path (embedded) or clickhouse://user:pass@host:8123/db; empty is chdb under home.
    clickhouse: str = ""
    partitions: int = 6
    replication_factor: int = 1
    # The sink flushes a batch at this many events (lines of batched records) or after this many
    # milliseconds. ClickHouse asks for inserts of 10k-100k rows, about one a second per table;
    # half a second keeps produce-to-row latency well under a second at any rate (docs/settings.md).
    sink_batch_rows: int = 100_000
    sink_flush_ms: int = 500
    # The room's state (incidents, their signals, the desk, the ranking) is written at most this
    # often: Grafana and the documents read it, the wall does not, and every insert costs chdb
    # 25-40 ms whatever its size.
    sink_room_flush_ms: int = 2_000
    # Faust's worker takes up to this many events from a raw topic at a time.
    stream_batch: int = 2_000
    # A worker or sink whose partitions have events waiting but whose commits have not moved for
    # this long exits so that its supervisor restarts it (see posko.kafka.watchdog).
    stall_s: float = 60.0
    # This worker's stable name in its consumer group (Kafka static membership): a restarted
    # worker takes its partitions back without a rebalance. Unique per worker; empty: dynamic.
    worker_instance: str = ""
    # The push gateway (wall, responders): where it listens and how it treats clients.
    gateway_host: str = "127.0.0.1"
    gateway_port: int = 8765
    # Browser origins allowed besides the gateway's own (comma-separated, e.g. https://posko.jambiprov.go.id).
    gateway_origins: str = ""
    gateway_max_message_bytes: int = 16_384
    # Messages one client may send (token bucket): on average per second, and at once. The pages
    # send an `auth` and then one `ack` per press of "Terima"; a person clearing a backlog presses
    # a few a second for a short while, never 2 a second for long, and 20 covers a screenful of
    # alerts acknowledged in a row. More closes the connection (4429) for a cooldown. 0: no limit.
    gateway_client_rate: float = 2.0
    gateway_client_burst: int = 20
    # Messages waiting for one client before it is skipped forward (gap + fresh snapshot).
    gateway_client_queue: int = 256
    # Messages kept for clients resuming after a reconnect: at most this many, and at most this
    # many MiB of them (an incident's version is up to ~50 kB in the simulator's runs: 10,000 of
    # them could take 500 MB; a 60-minute soak grew the gateway by 270 MB before the byte bound).
    gateway_ring: int = 10_000
    gateway_ring_mb: int = 64
    # Alerts in the snapshot a client gets on connect, and how often counters are re-read.
    gateway_snapshot_alerts: int = 200
    gateway_ping_s: float = 15.0
    gateway_counts_ms: int = 2_000
    # Where `posko dashboards publish` pushes the dashboards, and its service account token.
    grafana_url: str = "http://127.0.0.1:3000"
    grafana_token: str = ""
    # The citizen report intake API: where it listens, the largest body it reads, and how long
    # it waits for Kafka before answering 503.
    intake_host: str = "127.0.0.1"
    intake_port: int = 8088
    intake_max_body_bytes: int = 64 * 1024
    intake_kafka_timeout_s: float = 5.0
    # How long a connection may take to send a request's line and headers (a channel's are under
    # 2 KB, one or two TCP segments: 10 s covers a few lost-packet retransmissions), and its
    # body once the headers are in (at most intake_max_body_bytes: 30 s is a 64 KiB body at about
    # 2 KB/s). Slower clients are closed so that they cannot hold connections (slowloris).
    intake_header_timeout_s: float = 10.0
    intake_body_timeout_s: float = 30.0
    # Open connections beyond this get 503: ten times the 50 concurrent clients of the intake
    # benchmark, and well under the usual 1,024 file descriptors of a service, which also holds
    # Kafka connections.
    intake_max_connections: int = 500
    # Intakes side by side behind one address (docs/intake.md#two-intakes-behind-one-address):
    # this one's slot, unique among them (0-31: the first symbol of its tracking numbers and
    # its Kafka transactional id), and how many share each channel's rate limit.
    intake_instance: Annotated[int, msgspec.Meta(ge=0, le=31)] = 0
    intake_instances: Annotated[int, msgspec.Meta(ge=1, le=32)] = 1
    # BMKG earthquake feeds: a base URL (or a mirror of it), the feed files under it, the
    # InaTEWS warning document, and the seconds between polls.
    bmkg_url: str = "https://data.bmkg.go.id/DataMKG/TEWS/"
    bmkg_feeds: str = ("autogempa.json,gempaterkini.json,gempadirasakan.json,"
                       "autogempa.xml,gempaterkini.xml,gempadirasakan.xml")
    bmkg_inatews_url: str = "https://bmkg-content-inatews.storage.googleapis.com/datagempa.json"
    bmkg_poll_s: float = 60.0
    # USGS earthquake GeoJSON feeds the same poller reads beside BMKG's, so that a quake both
    # report is one alert (comma-separated; empty: none), e.g.
    # https://earthquake.usgs.gov/earthquakes/feed/v1.0/summary/4.5_day.geojson; and the box
    # (min lon, min lat, max lon, max lat) outside which their quakes are skipped. The summary
    # feeds are worldwide; BMKG's own feeds report Indonesia and its neighbours (Philippines,
    # Timor-Leste, Papua New Guinea), about 90-145° E and 15° S-10° N.
    usgs_url: str = ""
    usgs_area: str = "90,-15,145,10"
    # CAP: the sender named in exported alerts, and CAP/Atom/RSS feeds to import (comma list).
    cap_sender: str = "pusdalops@jambiprov.go.id"
    cap_feeds: str = ""
    # Keep only imported CAP alerts whose area touches these Kemendagri codes (`15`: the whole
    # province; or kabupaten/kota codes, comma-separated), e.g. for BMKG's national nowcast
    # feed. Empty: every alert (an alert that names no area at all is always kept).
    cap_area: str = ""
    # `posko connectors serve`: where the CAP feed and the OSS endpoint listen.
    connectors_host: str = "127.0.0.1"
    connectors_port: int = 8090
    # OSS-RBA: the SLA of a licence application, in hours of the clock.
    oss_sla_hours: float = 120.0
    # The Satu Data portal (`posko satudata serve`): where it listens; its public address for the
    # links it publishes (DCAT, Data Packages, CKAN resource URLs; empty: the address a request
    # came to); counts below `satudata_min_count` in a kabupaten/kota cell are shown as `<N`;
    # `terbatas` datasets are served only with one of these tokens (`agency:token`, comma-
    # separated; the token goes in the Authorization header, as CKAN API tokens do).
    satudata_host: str = "127.0.0.1"
    satudata_port: int = 8100
    satudata_url: str = ""
    satudata_min_count: int = 5
    satudata_tokens: str = ""
    # Downloads read ClickHouse this many rows at a time; metadata from data is re-read this often.
    satudata_chunk_rows: int = 50_000
    satudata_refresh_s: float = 60.0
    # Correlation (docs/settings.md says where each default comes from). Signals nearer than this
    # join one incident: a kecamatan of Jambi spans about 19 km (50,058 km² over 144 kecamatan).
    correlate_distance_km: float = 15.0
    # Per hazard, how long after its last signal an incident still takes new ones (hours).
    correlate_windows: str = "banjir:12,karhutla:36,gempa:6,longsor:6,cuaca:3,kebakaran:2,lainnya:6"
    # Reports at least this alike (word pairs shared, Jaccard) from one kecamatan are one item.
    duplicate_similarity: float = 0.8
    # A surge of ordinary reports of one category in one kecamatan: at least this many in the
    # window, and this many times the usual rate (learnt over surge_baseline_days).
    surge_window_min: float = 60.0
    surge_min_reports: int = 10
    surge_ratio: float = 4.0
    surge_baseline_days: float = 7.0
    # Escalation of a Segera incident nobody acknowledged: seconds after it became Segera, and who
    # is told then; Tinggi waits escalation_tinggi_factor times as long.
    escalation_steps: str = "300:petugas piket,900:supervisor,1800:kepala BPBD"
    escalation_tinggi_factor: float = 2.0
    escalation_check_s: float = 1.0
    # Decision support: the weight of each part of a region's score (docs/settings.md says why).
    dss_weights: str = "risiko:0.15,bahaya:0.45,dampak:0.25,kapasitas:0.15"
    # Citizen report SLAs count working days: these collective leave days (cuti bersama, ISO
    # dates, comma-separated) are off as well as weekends and national holidays.
    cuti_bersama: str = ""
    # Seconds added to the stream's clock for the SLA clocks (drills and tests only).
    clock_offset_s: float = 0.0

    @property
    def local_kafka(self) -> bool:
        """True when Posko runs its own broker rather than using a configured cluster."""
        return not self.kafka

    @property
    def bootstrap_servers(self) -> str:
        """The host:port list the Kafka clients connect to."""
        if not self.kafka:
            return f"{self.kafka_host}:{self.kafka_port}"
        parts = urlsplit(self.kafka)
        if parts.scheme != "kafka" or not parts.netloc:
            raise SettingsError(
                f"POSKO_KAFKA={self.kafka!r} is not a Kafka URL; write kafka://host:port"
            )
        return parts.netloc

    @property
    def clickhouse_url(self) -> str:
        """The ClickHouse location, defaulting to an embedded chdb store under home."""
        return self.clickhouse or f"chdb://{Path(self.home) / 'clickhouse'}"

    @property
    def bmkg_urls(self) -> list[str]:
        """Every BMKG document the poller fetches: the feeds under bmkg_url, then InaTEWS."""
        base = self.bmkg_url if self.bmkg_url.endswith("/") else self.bmkg_url + "/"
        urls = [base + name.strip() for name in self.bmkg_feeds.split(",") if name.strip()]
        return urls + ([self.bmkg_inatews_url] if self.bmkg_inatews_url else [])

    @property
    def usgs_urls(self) -> list[str]:
        """The USGS GeoJSON feeds the earthquake poller fetches."""
        return [url.strip() for url in self.usgs_url.split(",") if url.strip()]

    @property
    def satudata_agencies(self) -> dict[str, str]:
        """The agency each `terbatas` token belongs to, by token."""
        agencies: dict[str, str] = {}
        for entry in filter(None, (part.strip() for part in self.satudata_tokens.split(","))):
            agency, sep, token = entry.partition(":")
            if not sep or not agency.strip() or len(token.strip()) < 16:
                raise SettingsError(
                    f"POSKO_SATUDATA_TOKENS entry {agency.strip() or entry!r} is not agency:token "
                    "with a token of at least 16 characters")
            agencies[token.strip()] = agency.strip()
        return agencies

    @property
    def cuti_bersama_dates(self) -> list[date]:
        """The collective leave days of POSKO_CUTI_BERSAMA."""
        try:
            return parse_dates(self.cuti_bersama)
        except ValueError as exc:
            raise SettingsError(f"POSKO_CUTI_BERSAMA: {exc}") from exc

    @property
    def kafka_dir(self) -> Path:
        """The local broker's directory: its config, logs and pid file."""
        return Path(self.home) / "kafka"


def _from_env(environ: dict[str, str]) -> dict[str, str]:
    fields = set(Settings.__struct_fields__)
    found = {}
    for name, value in environ.items():
        if name.startswith("POSKO_") and (key := name[6:].lower()) in fields:
            found[key] = value
    return found


def load_settings(environ: dict[str, str] | None = None) -> Settings:
    """Settings from POSKO_CONFIG (a TOML file, if set) overlaid by POSKO_* variables."""
    env = dict(os.environ if environ is None else environ)
    raw: dict[str, object] = {}
    if config := env.get("POSKO_CONFIG"):
        try:
            raw.update(tomllib.loads(Path(config).read_text()))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise SettingsError(f"cannot read POSKO_CONFIG={config}: {exc}") from exc
    raw.update(_from_env(env))
    try:
        return msgspec.convert(raw, Settings, strict=False)
    except msgspec.ValidationError as exc:
        raise SettingsError(f"invalid setting: {exc}") from exc
