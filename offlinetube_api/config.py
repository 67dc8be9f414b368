"""Service configuration, read from `OFFLINETUBE_*` environment variables."""

import ipaddress
import json
import re
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit, urlunsplit

from pydantic import AnyHttpUrl, Field, IPvAnyNetwork, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from offlinetube_api.security.private_files import private_folder

# Served while no key is required and OFFLINETUBE_ALLOWED_HOSTS is not given.
LOCAL_HOSTS = ("localhost", "127.0.0.1", "[::1]")
# Media, downloads and thumbnails are for the service's user to write and anyone to read.
PUBLIC_FOLDER_MODE = 0o755
# The most downloads one process runs at once.
MAX_DOWNLOAD_SLOTS = 64
# How often procrastinate's workers (distributed mode) write their heartbeat, in seconds.
HEARTBEAT_INTERVAL_S = 10.0


class AuthMode(StrEnum):
    """`on`: API keys required. `off`: open, even on a non-loopback address. Unset: required
    as soon as a key exists; open otherwise, but only on a loopback address."""

    ON = "on"
    OFF = "off"


class TranscodeMode(StrEnum):
    """`auto`: a download made with the default format that no browser can play (HEVC only,
    MPEG-4 Part 2 in AVI, ...) is re-encoded to H.264/AAC MP4. `never`: it is kept as it is."""

    AUTO = "auto"
    NEVER = "never"


class Settings(BaseSettings):
    """Every knob of the service; a bad value fails at start-up, not later."""

    model_config = SettingsConfigDict(env_prefix="OFFLINETUBE_", env_file=".env", extra="ignore")

    host: str = "127.0.0.1"
    port: int = Field(default=8001, ge=1, le=65535)
    downloads_dir: Path = Path("downloads")
    thumbnails_dir: Path = Path("thumbnails")
    data_dir: Path = Path("data")
    max_concurrent_downloads: int = Field(default=3, ge=1, le=MAX_DOWNLOAD_SLOTS)
    cors_origins: Annotated[list[str], NoDecode] = ["*"]
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    max_retries: int = Field(default=3, ge=0, le=20)
    retry_backoff_seconds: float = Field(default=5.0, gt=0, le=3600)
    playlist_limit: int = Field(default=50, ge=1, le=10_000)
    min_free_bytes: int = Field(default=1024**3, ge=0)
    webhook_url: AnyHttpUrl | None = None
    webhook_secret: SecretStr | None = None
    shutdown_timeout: float = Field(default=10.0, gt=0, le=600)
    auth: AuthMode | None = None
    allow_private_urls: bool = False
    signed_url_ttl_seconds: int = Field(default=6 * 3600, ge=60)
    rate_limit_per_minute: int = Field(default=30, ge=1)
    max_queued: int = Field(default=1000, ge=1)
    transcode: TranscodeMode = TranscodeMode.AUTO
    # Let the SSRF guard admit these addresses or networks (CIDR), e.g. one LAN media server.
    allow_private_networks: Annotated[list[IPvAnyNetwork], NoDecode] = []
    max_filesize: int | None = Field(default=None, gt=0)  # bytes; unset: no cap
    header_timeout: float = Field(default=10.0, gt=0, le=600)
    max_connections_per_client: int = Field(default=100, ge=1)
    max_event_streams: int = Field(default=200, ge=1)
    max_event_streams_per_client: int = Field(default=20, ge=1)
    forwarded_allow_ips: Annotated[list[str], NoDecode] = []
    allowed_hosts: Annotated[list[str] | None, NoDecode] = None
    # Unset: SQLite in the data folder and the in-process queue (embedded mode).
    # `postgresql://user@host:5432/db`: PostgreSQL and procrastinate's queue (distributed mode).
    database_url: SecretStr | None = None
    # Task events kept for clients that resume a stream (`Last-Event-ID`): the newest this
    # many, and none older than this many days.
    event_retention: int = Field(default=100_000, ge=1_000)
    event_retention_days: float = Field(default=7.0, gt=0)
    stalled_after_seconds: float = Field(default=30.0, ge=2 * HEARTBEAT_INTERVAL_S)
    """Distributed mode: a worker whose last heartbeat is older than this is taken for lost
    (killed, its host gone), and its downloads run again on another worker. The upkeep that
    decides it runs on any host, so give every host the same value.

    procrastinate's workers write a heartbeat every HEARTBEAT_INTERVAL_S (10) seconds
    (procrastinate 3.10's default `update_heartbeat_interval`, passed as such by
    queue/worker.py), and each beat is written after that sleep, so a live worker's last
    beat is up to 10 s old plus however late the write is (a busy event loop, a slow
    database). At 10 s or less, a live worker would be taken for lost between two beats and
    its downloads run a second time on another host; at least two intervals leave one whole
    beat of slack. The default, three intervals, is procrastinate's own
    (`stalled_worker_timeout`)."""

    @field_validator("database_url", mode="after")
    @classmethod
    def postgresql_only(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            scheme = value.get_secret_value().split("://", 1)[0].lower()
            if scheme not in ("postgresql", "postgres"):
                raise ValueError("must be a postgresql://user@host:port/database URL, or unset")
        return value

    @property
    def distributed(self) -> bool:
        """PostgreSQL and procrastinate rather than SQLite and the in-process queue."""
        return self.database_url is not None

    @field_validator("log_level", mode="before")
    @classmethod
    def lower_case_level(cls, value: object) -> object:
        return value.lower() if isinstance(value, str) else value

    @field_validator("cors_origins", mode="before")
    @classmethod
    def split_origins(cls, value: object) -> object:
        """Accept `a,b` as well as a JSON list, since that is how people write it in a shell."""
        return _split_list(value)

    @field_validator("forwarded_allow_ips", mode="before")
    @classmethod
    def split_addresses(cls, value: object) -> object:
        """`*`, addresses and networks, written like OFFLINETUBE_CORS_ORIGINS."""
        addresses = _split_list(value)
        if isinstance(addresses, list):
            for address in addresses:
                if address != "*":
                    ipaddress.ip_network(str(address), strict=False)  # ValueError names it
        return addresses

    @field_validator("allowed_hosts", mode="before")
    @classmethod
    def split_hosts(cls, value: object) -> object:
        hosts = _split_list(value)
        if hosts == []:
            raise ValueError("name at least one host, or `*` for any")
        return hosts

    @field_validator("allow_private_networks", mode="before")
    @classmethod
    def split_networks(cls, value: object) -> object:
        """`192.168.1.10,10.0.0.0/24`, as written in a shell."""
        if isinstance(value, str):
            return [network.strip() for network in value.split(",") if network.strip()]
        return value

    @property
    def database_path(self) -> Path:
        return self.data_dir / "offlinetube.sqlite3"

    def create_folders(self) -> None:
        for folder in (self.downloads_dir, self.thumbnails_dir):
            folder.mkdir(mode=PUBLIC_FOLDER_MODE, parents=True, exist_ok=True)
        private_folder(self.data_dir)


def _split_list(value: object) -> object:
    """Accept `a,b` as well as a JSON list, since that is how people write it in a shell."""
    if isinstance(value, str):
        stripped = value.strip()
        if stripped.startswith("["):
            return json.loads(stripped)
        return [item.strip() for item in stripped.split(",") if item.strip()]
    return value


def redacted(url: str) -> str:
    """`url` without its password, for logs and messages."""
    try:
        parts = urlsplit(url)
    except ValueError:  # malformed (an unclosed IPv6 bracket): all after `//` up to `@` goes
        return re.sub(r"//[^/]*@", "//***@", url, count=1)
    if parts.password is None:
        return url
    host = parts.netloc.rpartition("@")[2]
    user = f"{parts.username}:***@" if parts.username else ":***@"
    return urlunsplit(parts._replace(netloc=f"{user}{host}"))
