"""Service configuration, read from `OFFLINETUBE_*` environment variables."""

import difflib
import ipaddress
import json
import os
import re
import tempfile
from collections.abc import Callable, Mapping
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit, urlunsplit

from pydantic import (
    AnyHttpUrl,
    Field,
    IPvAnyNetwork,
    SecretStr,
    ValidationInfo,
    field_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from offlinetube_api.js_runtime import NO_RUNTIME
from offlinetube_api.logs import LogFormat
from offlinetube_api.proxy_rules import ProxyRules, parse_proxy_rules
from offlinetube_api.security.private_files import private_folder
from offlinetube_api.webhook_events import TASK_EVENTS, WebhookEvent

# Served while no key is required and OFFLINETUBE_ALLOWED_HOSTS is not given.
LOCAL_HOSTS = ("localhost", "127.0.0.1", "[::1]")
# Media, downloads and thumbnails are for the service's user to write and anyone to read.
PUBLIC_FOLDER_MODE = 0o755
# The most downloads one process runs at once.
MAX_DOWNLOAD_SLOTS = 64
# The password of a proxy URL in OFFLINETUBE_PROXY (`socks5://user:password@host`).
_PROXY_PASSWORD = re.compile(r"(://[^/@,]*:)[^/@,]*@")
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
    log_format: LogFormat = LogFormat.TEXT
    # Off by default: a line per request cost a sixth of the CPU a thumbnail takes (bench/notes.md),
    # and the task log tells what happened to each download without it.
    access_log: bool = False
    max_retries: int = Field(default=3, ge=0, le=20)
    retry_backoff_seconds: float = Field(default=5.0, gt=0, le=3600)
    # Per-site cool-down (worker/site_gate.py): after a 429 or a bot check, no download of that
    # site starts for this long, doubled at each repeat up to the ceiling.
    cooldown_seconds: float = Field(default=60.0, gt=0, le=86_400)
    cooldown_max_seconds: float = Field(default=3600.0, gt=0, le=7 * 86_400)
    max_per_site: int = Field(default=2, ge=1, le=MAX_DOWNLOAD_SLOTS)
    # Seconds yt-dlp waits between the requests of one download (its --sleep-requests).
    sleep_interval: float | None = Field(default=None, gt=0, le=600)
    playlist_limit: int = Field(default=50, ge=1, le=10_000)
    min_free_bytes: int = Field(default=1024**3, ge=0)
    webhook_url: AnyHttpUrl | None = None
    webhook_secret: SecretStr | None = None
    # Which notifications go to the webhook URL (webhook_events.py), `a,b` or a JSON list.
    webhook_events: Annotated[list[WebhookEvent], NoDecode] = list(TASK_EVENTS)
    shutdown_timeout: float = Field(default=10.0, gt=0, le=600)
    auth: AuthMode | None = None
    allow_private_urls: bool = False
    signed_url_ttl_seconds: int = Field(default=6 * 3600, ge=60)
    # How long a web app session lasts from sign-in, a minute to 30 days.
    session_ttl_seconds: int = Field(default=12 * 3600, ge=60, le=30 * 24 * 3600)
    rate_limit_per_minute: int = Field(default=30, ge=1)
    max_queued: int = Field(default=1000, ge=1)
    transcode: TranscodeMode = TranscodeMode.AUTO
    # Let the SSRF guard admit these addresses or networks (CIDR), e.g. one LAN media server.
    allow_private_networks: Annotated[list[IPvAnyNetwork], NoDecode] = []
    max_filesize: int | None = Field(default=None, gt=0)  # bytes; unset: no cap
    # Where `ytdlp update` finds yt-dlp: a package index URL, or a folder of wheels alone;
    # unset: pip's own configuration (PyPI).
    ytdlp_index: str | None = None
    # The proxy yt-dlp goes through, for every site or per site (proxy_rules.py); unset: none
    # but the environment's HTTP_PROXY and HTTPS_PROXY, which yt-dlp follows by itself.
    proxy: Annotated[ProxyRules | None, NoDecode] = None
    # GET /api/info: how long reading a page may take before the answer is a 504.
    info_timeout_seconds: float = Field(default=30.0, gt=0, le=600)
    header_timeout: float = Field(default=10.0, gt=0, le=600)
    max_connections_per_client: int = Field(default=100, ge=1)
    max_event_streams: int = Field(default=200, ge=1)
    max_event_streams_per_client: int = Field(default=20, ge=1)
    forwarded_allow_ips: Annotated[list[str], NoDecode] = []
    allowed_hosts: Annotated[list[str] | None, NoDecode] = None
    # `offlinetube-api worker` only: the port of its own GET /metrics (and /healthz), on
    # OFFLINETUBE_HOST; unset, none. `serve` answers /metrics on OFFLINETUBE_PORT.
    metrics_port: int | None = Field(default=None, ge=1, le=65535)
    # Unset: SQLite in the data folder and the in-process queue (embedded mode).
    # `postgresql://user@host:5432/db`: PostgreSQL and procrastinate's queue (distributed mode).
    database_url: SecretStr | None = None
    # Task events kept for clients that resume a stream (`Last-Event-ID`): the newest this
    # many, and none older than this many days.
    event_retention: int = Field(default=100_000, ge=1_000)
    event_retention_days: float = Field(default=7.0, gt=0)
    # The deno binary yt-dlp solves JavaScript challenges with, or `none`; unset: the deno
    # package's, else `deno` on PATH (see js_runtime.py).
    js_runtime: str | None = None
    # Subscriptions (subscriptions/): embedded mode looks for due checks this often (a new
    # subscription and "check now" wake it at once); a listing that takes longer than its
    # timeout fails the check; a listing stops after this many entries, newest first.
    subscription_poll_seconds: float = Field(default=30.0, gt=0, le=3600)
    subscription_listing_timeout: float = Field(default=120.0, gt=0, le=3600)
    subscription_max_entries: int = Field(default=200, ge=1, le=10_000)
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

    @field_validator("cooldown_max_seconds", mode="after")
    @classmethod
    def ceiling_above_first_delay(cls, value: float, info: ValidationInfo) -> float:
        first = info.data.get("cooldown_seconds")
        if first is not None and value < first:
            raise ValueError(f"must be at least OFFLINETUBE_COOLDOWN_SECONDS ({first:g})")
        return value

    @field_validator("js_runtime", mode="after")
    @classmethod
    def runnable_js_runtime(cls, value: str | None) -> str | None:
        """Checked here rather than when the runtime is located (in the lifespan), so that a
        wrong path stops the start with exit code 2 like any other bad setting."""
        if value is not None and value != NO_RUNTIME and not _runnable_file(Path(value)):
            raise ValueError(
                f"must be the path of a deno binary this user can run, or {NO_RUNTIME}"
            )
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

    @field_validator("webhook_events", mode="before")
    @classmethod
    def split_webhook_events(cls, value: object) -> object:
        """`task.completed,subscription.checked`, as written in a shell."""
        return _split_list(value)

    @field_validator("allow_private_networks", mode="before")
    @classmethod
    def split_networks(cls, value: object) -> object:
        """`192.168.1.10,10.0.0.0/24`, as written in a shell."""
        if isinstance(value, str):
            return [network.strip() for network in value.split(",") if network.strip()]
        return value

    @field_validator("proxy", mode="before")
    @classmethod
    def proxy_rules(cls, value: object) -> object:
        return parse_proxy_rules(value) if isinstance(value, str) else value

    @field_validator("downloads_dir", "thumbnails_dir", "data_dir", mode="before")
    @classmethod
    def named_folder(cls, value: object) -> object:
        """An empty value (`OFFLINETUBE_DOWNLOADS_DIR=$UNSET` in a shell or a compose file)
        would be the working directory: refused, as a folder named by mistake."""
        if isinstance(value, str) and not value.strip():
            raise ValueError("name a folder, or leave the variable unset for the default")
        return value

    def proxy_for(self, url: str) -> str | None:
        """yt-dlp's `proxy` option for the page at `url` (see ProxyRules.for_url); None
        without OFFLINETUBE_PROXY."""
        return self.proxy.for_url(url) if self.proxy else None

    @property
    def database_path(self) -> Path:
        return self.data_dir / "offlinetube.sqlite3"

    def create_folders(self) -> None:
        """Makes each folder the service writes in (if need be) and checks that this user
        can write there, by writing a file that vanishes. Raises UnusableFolder."""
        _usable_folder("OFFLINETUBE_DOWNLOADS_DIR", self.downloads_dir, _public_folder)
        _usable_folder("OFFLINETUBE_THUMBNAILS_DIR", self.thumbnails_dir, _public_folder)
        self.create_data_folder()

    def create_data_folder(self) -> None:
        """The data folder alone (for the command line's `keys create --create`, which may
        come before any service). Raises UnusableFolder."""
        _usable_folder("OFFLINETUBE_DATA_DIR", self.data_dir, private_folder)


def unknown_variables(environ: Mapping[str, str]) -> list[str]:
    """One line for each `OFFLINETUBE_*` name in `environ` that is no setting, naming the
    setting it most resembles: pydantic-settings ignores such a name in silence, so a misspelt
    variable (`OFFLINETUBE_PROT`) would leave its setting at the default unnoticed."""
    prefix = Settings.model_config["env_prefix"]
    known = [name.upper() for name in Settings.model_fields]
    lines = []
    for name in sorted(environ):
        if name.startswith(prefix) and name.removeprefix(prefix) not in known:
            # Compared without the prefix, which every name shares and would make all alike.
            likely = difflib.get_close_matches(name.removeprefix(prefix), known, n=1)
            hint = f"; did you mean {prefix}{likely[0]}?" if likely else ""
            lines.append(f"{name} is not a setting of this service and is ignored{hint}")
    return lines


class BadSetting(Exception):
    """A setting that is valid as written but cannot work on this machine (a folder, a port);
    `str()` is the one line to show, naming its variable, the value and what would do."""


class UnusableFolder(BadSetting):
    """A folder the service writes in cannot be made, or written in."""

    def __init__(self, variable: str, folder: Path, error: OSError) -> None:
        reason = error.strerror or str(error)
        if error.filename and Path(error.filename) in folder.parents:  # where mkdir stopped
            reason = f"{reason}: {error.filename}"
        super().__init__(
            f"{variable}: must be a folder this user can create and write in; {reason} "
            f"(got {str(folder)!r})"
        )


def _usable_folder(variable: str, folder: Path, make: Callable[[Path], None]) -> None:
    try:
        make(folder)
        tempfile.TemporaryFile(dir=folder).close()
    except OSError as exc:
        raise UnusableFolder(variable, folder, exc) from exc


def _public_folder(folder: Path) -> None:
    folder.mkdir(mode=PUBLIC_FOLDER_MODE, parents=True, exist_ok=True)


def _runnable_file(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


def _split_list(value: object) -> object:
    """Accept `a,b` as well as a JSON list, since that is how people write it in a shell."""
    if isinstance(value, str):
        stripped = value.strip()
        if stripped.startswith("["):
            return json.loads(stripped)
        return [item.strip() for item in stripped.split(",") if item.strip()]
    return value


def redacted_proxy(text: str) -> str:
    """OFFLINETUBE_PROXY as written, each proxy URL's `user:password@` as `user:***@`."""
    return _PROXY_PASSWORD.sub(r"\1***@", text)


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
