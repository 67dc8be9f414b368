"""The suite's settings, the tools it needs (installed with apt-get when it may), and a
description of the machine for RESULTS.md."""

import os
import platform
import shutil
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version

from bench.load import wrk_path
from bench.servers import nginx_path

APT_PACKAGES = ("nginx-light", "wrk")
APT_TIMEOUT_S = 300


@dataclass(frozen=True)
class BenchConfig:
    quick: bool
    thumb_seconds: float
    thumb_ids: int
    stream_bytes: int
    stream_seconds: float
    listing_sizes: tuple[int, ...]
    listing_requests: int
    overhead_videos: int
    probe_count: int
    probe_interval_s: float
    probe_runs: int  # figure 3: each percentile is the median of this many probes
    repeats: int  # figures 1 and 2: each is the median of this many runs
    connections: int = 32
    range_connections: int = 4
    event_tasks: int = 100_000
    event_streams: int = 300
    fanout_downloads: int = 20
    fanout_slots: int = 3  # the default of OFFLINETUBE_MAX_CONCURRENT_DOWNLOADS
    throughput_downloads: int = 12
    throughput_workers: tuple[int, ...] = (1, 2, 4)
    throughput_seconds: float = 2.0  # each download paced to last about this long


FULL = BenchConfig(
    quick=False,
    thumb_seconds=10,
    thumb_ids=64,
    stream_bytes=256 * 1024**2,
    stream_seconds=10,
    listing_sizes=(1_000, 100_000, 1_000_000),
    listing_requests=200,
    overhead_videos=10,
    probe_count=1000,
    probe_interval_s=0.01,
    probe_runs=5,
    repeats=3,
)
QUICK = BenchConfig(
    quick=True,
    thumb_seconds=2,
    thumb_ids=8,
    stream_bytes=16 * 1024**2,
    stream_seconds=2,
    listing_sizes=(1_000, 10_000),
    listing_requests=30,
    overhead_videos=2,
    probe_count=60,
    probe_interval_s=0.02,
    probe_runs=2,
    repeats=1,  # a smoke run: one of each (the full run takes 3)
    event_tasks=5_000,
    event_streams=60,
    fanout_downloads=3,
    throughput_downloads=2,
    throughput_workers=(2,),
    throughput_seconds=1.0,
)


def _flag(name: str) -> bool:
    return os.environ.get(name, "") not in ("", "0", "no", "false")


def config_from_env() -> BenchConfig:
    return QUICK if _flag("BENCH_QUICK") else FULL


def ensure_tools(log: list[str]) -> None:
    """nginx and wrk from Debian's packages when missing, if we are root with apt-get and
    BENCH_NO_INSTALL is not set; otherwise the suite goes on without them."""
    if nginx_path() and wrk_path():
        return
    if _flag("BENCH_NO_INSTALL") or os.geteuid() != 0 or shutil.which("apt-get") is None:
        log.append("nginx or wrk missing and not installing them (not root, no apt-get, or "
                   "BENCH_NO_INSTALL set)")  # fmt: skip
        return
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    try:
        subprocess.run(["apt-get", "update", "-qq"], env=env, check=True, timeout=APT_TIMEOUT_S)
        subprocess.run(
            ["apt-get", "install", "-y", "-qq", *APT_PACKAGES],
            env=env,
            check=True,
            timeout=APT_TIMEOUT_S,
        )
        log.append(f"installed with apt-get: {' '.join(APT_PACKAGES)}")
    except (subprocess.SubprocessError, OSError) as exc:
        log.append(f"apt-get could not install {APT_PACKAGES}: {exc}")


def _first_line(command: list[str]) -> str:
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return "not installed"
    return (
        (done.stdout or done.stderr).strip().splitlines()[0] if done.stdout or done.stderr else ""
    )


def _package(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "not installed"


def _cpu_model() -> str:
    try:
        for line in open("/proc/cpuinfo").read().splitlines():  # noqa: SIM115
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _memory() -> str:
    try:
        total_kib = int(open("/proc/meminfo").readline().split()[1])  # noqa: SIM115
    except (OSError, ValueError, IndexError):
        return "unknown"
    return f"{total_kib / 1024**2:.1f} GiB"


def environment() -> dict[str, str]:
    nginx = nginx_path()
    wrk = wrk_path()
    packages = ("fastapi", "starlette", "uvicorn", "uvloop", "httptools", "yt-dlp")
    return {
        "CPU": f"{_cpu_model()}, {os.cpu_count()} cores",
        "Memory": _memory(),
        "OS": f"{platform.platform()}",
        "Python": sys.version.split()[0],
        **{name: _package(name) for name in packages},
        "SQLite": sqlite3.sqlite_version,
        "nginx": _first_line([nginx, "-v"]) if nginx else "not installed",
        "wrk": _first_line([wrk, "-v"]) if wrk else "not installed",
    }
