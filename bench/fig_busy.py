"""Figures 3 and 6: how the service answers while three downloads run, and how much memory it
and each download take."""

import json
import shutil
import tempfile
import threading
import time
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from bench.fig_fanout import FINAL
from bench.fig_overhead import CliRun, submit
from bench.load import Latencies
from bench.media import make_thumbnail
from bench.probe_apart import probe_apart
from bench.repeats import Spread
from bench.report import Figure, Report, mib, ms
from bench.servers import (
    ApiService,
    command_line,
    descendants,
    pss_bytes,
    rss_bytes,
    uss_bytes,
)
from bench.tools import BenchConfig
from tests.fixtures.site import FixtureSite

LATENCY_TARGET = 2.0
IDLE_TARGET = 120 * 1024**2
PER_DOWNLOAD_TARGET = 100 * 1024**2
SAMPLE_INTERVAL_S = 0.25
CONCURRENT = 3
MEMORY_DOWNLOAD_S = 8.0  # long enough for several samples of each download
MEMORY_DEADLINE_S = 120.0


@dataclass
class MemorySampler:
    """Samples the service's process tree until stopped; a download is a child of the
    forkserver, together with whatever it starts (ffmpeg)."""

    service_pid: int
    peak_download_rss: int = 0
    peak_download_pss: int = 0
    downloads_seen: set[int] = field(default_factory=set)
    _stop: threading.Event = field(default_factory=threading.Event)

    def _sample(self) -> None:
        for helper in _children(self.service_pid):
            for download in _children(helper):
                tree = [download, *descendants(download)]
                self.downloads_seen.add(download)
                self.peak_download_rss = max(self.peak_download_rss, _tree_rss(download, tree))
                self.peak_download_pss = max(self.peak_download_pss, sum(map(pss_bytes, tree)))

    def run(self) -> None:
        while not self._stop.wait(SAMPLE_INTERVAL_S):
            self._sample()

    def stop(self) -> None:
        self._stop.set()


def _tree_rss(download: int, tree: list[int]) -> int:
    """The RSS of a download's processes, counting a fork that has not run another program
    (the lifeline's outside watcher, worker/lifeline.py) by its own pages alone: its RSS
    repeats the download process's, whose pages it shares until either writes them (about
    32 MiB of 35 measured on 2026-12-01)."""
    program = command_line(download)
    return sum(
        uss_bytes(pid) if pid != download and command_line(pid) == program else rss_bytes(pid)
        for pid in tree
    )


def _children(pid: int) -> list[int]:
    return [p for p in descendants(pid) if _parent(p) == pid]


def _parent(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return -1


def _short(command: str) -> str:
    for name in ("forkserver", "resource_tracker", "offlinetube_api"):
        if name in command:
            return name
    return command[:40]


def _tree_memory(pid: int) -> tuple[int, int, list[str]]:
    tree = [pid, *descendants(pid)]
    names = [f"{_short(command_line(p))} {mib(rss_bytes(p))}" for p in tree]
    return sum(map(rss_bytes, tree)), sum(map(pss_bytes, tree)), names


def _status(service: ApiService, task_id: str) -> str:
    with urllib.request.urlopen(f"{service.base_url}/api/downloads/{task_id}", timeout=30) as r:
        status: str = json.loads(r.read())["status"]
        return status


def _statuses(service: ApiService, task_ids: list[str]) -> list[str]:
    return [_status(service, task_id) for task_id in task_ids]


def _remove(service: ApiService, task_id: str) -> None:
    request = urllib.request.Request(
        f"{service.base_url}/api/downloads/{task_id}/remove", method="DELETE"
    )
    with urllib.request.urlopen(request, timeout=60):
        pass


@dataclass(frozen=True)
class Runs:
    """Probes of one path, each a run of `BenchConfig.probe_count` requests."""

    runs: list[Latencies]

    def spread(self, name: str) -> Spread:
        """One percentile (`p99_s`...) over the runs: its median, lowest and highest."""
        return Spread.of([getattr(run, name) for run in self.runs])

    def text(self) -> str:
        parts = (("p50", "p50_s"), ("p99", "p99_s"), ("p99.9", "p999_s"))
        return ", ".join(f"{label} {self.spread(name).text(ms)}" for label, name in parts)


def _probe_runs(service: ApiService, paths: tuple[str, ...], config: BenchConfig) -> list[Runs]:
    """`probe_runs` probes of each path, the paths taking turns, so that both see the same
    stretch of the window."""
    found: list[list[Latencies]] = [[] for _ in paths]
    for _ in range(config.probe_runs):
        for runs, path in zip(found, paths, strict=True):
            runs.append(
                probe_apart(
                    service.port, path, count=config.probe_count, interval_s=config.probe_interval_s
                )
            )
    return [Runs(runs) for runs in found]


def _latency_figures(
    report: Report, paths: tuple[str, ...], idle: list[Runs], busy: list[Runs]
) -> None:
    for path, at_rest, loaded in zip(paths, idle, busy, strict=True):
        ratio = loaded.spread("p99_s").median / at_rest.spread("p99_s").median
        name = "health" if path.endswith("health") else "thumbnail"
        report.add(
            Figure(
                3,
                f"`{name}` p99 while {CONCURRENT} downloads run",
                f"p50 {ms(loaded.spread('p50_s').median)}, p99 {ms(loaded.spread('p99_s').median)}",
                f"idle: p50 {ms(at_rest.spread('p50_s').median)}, "
                f"p99 {ms(at_rest.spread('p99_s').median)}",
                ratio,
                f"<= {LATENCY_TARGET}",
                ratio <= LATENCY_TARGET,
            ),
            f"- `{name}` idle: {at_rest.text()}.",
            f"- `{name}` with {CONCURRENT} downloads: {loaded.text()}.",
        )


@dataclass(frozen=True)
class MemoryRun:
    """One service lifetime: its RSS at start, its tree's (RSS, PSS, per process) once its
    downloads ended, and the peaks of each running download."""

    idle_rss: int
    after: tuple[int, int, list[str]]
    peak_download_rss: int
    peak_download_pss: int
    downloads_seen: int


def _memory_run(site: FixtureSite, scratch: Path) -> MemoryRun:
    """A fresh service, `CONCURRENT` downloads of the long video at once, each paced to last
    about `MEMORY_DOWNLOAD_S`, its process tree sampled until they complete."""
    root = Path(tempfile.mkdtemp(prefix="memory-service-", dir=scratch))
    long_video = site.media_dir / "long.mp4"
    pace = int(long_video.stat().st_size / MEMORY_DOWNLOAD_S)  # bytes per second
    urls = [
        site.page_url(
            video=site.url(f"/slow/{pace}/long.mp4"),
            thumb=site.url("/media/thumb.jpg"),
            title=f"Memory {n}",
        )
        for n in range(CONCURRENT)
    ]
    with ApiService(root) as service:
        idle_rss = rss_bytes(service.pid)
        sampler = MemorySampler(service.pid)
        sampling = threading.Thread(target=sampler.run, daemon=True)
        sampling.start()
        tasks = [submit(service, url) for url in urls]
        give_up = time.monotonic() + MEMORY_DEADLINE_S
        while not set(statuses := _statuses(service, tasks)) <= set(FINAL):
            if time.monotonic() > give_up:
                raise RuntimeError(f"memory run: downloads still {statuses} after the deadline")
            time.sleep(0.25)
        if statuses != ["completed"] * len(tasks):
            raise RuntimeError(f"memory run: downloads ended {statuses}")
        sampler.stop()
        sampling.join()
        after = _tree_memory(service.pid)
    return MemoryRun(
        idle_rss,
        after,
        sampler.peak_download_rss,
        sampler.peak_download_pss,
        len(sampler.downloads_seen),
    )


def _memory_figures(report: Report, runs: list[MemoryRun], cli: CliRun | None) -> None:
    idle = Spread.of([run.idle_rss for run in runs])
    after = Spread.of([run.after[0] for run in runs])
    report.add(
        Figure(
            6,
            "Memory, idle service (RSS)",
            f"{idle.text(mib)} at start; {after.text(mib)} with its helpers after downloads",
            "target 120 MiB",
            after.median / IDLE_TARGET,
            "< 120 MiB (ratio < 1)",
            after.median < IDLE_TARGET,
        ),
        *(
            f"- Run {n}, after its downloads, RSS by process: {'; '.join(run.after[2])}. PSS "
            f"of all: {mib(run.after[1])}."
            for n, run in enumerate(runs, 1)
        ),
    )
    cli_rss = cli.peak_rss if cli else 0
    peak = Spread.of([run.peak_download_rss for run in runs])
    peak_pss = Spread.of([run.peak_download_pss for run in runs])
    report.add(
        Figure(
            6,
            "Memory, per running download (RSS, with its ffmpeg and watcher)",
            f"peak {peak.text(mib)} (PSS {peak_pss.text(mib)})",
            f"yt-dlp CLI peak {mib(cli_rss)}" if cli else "CLI not measured",
            peak.median / cli_rss if cli_rss else None,
            "< 100 MiB",
            peak.median < PER_DOWNLOAD_TARGET,
        ),
        f"- {len(runs)} runs, each a freshly started service downloading {CONCURRENT} videos "
        f"at once, each paced to last about {MEMORY_DOWNLOAD_S:.0f} s; each figure is their "
        "median, their lowest and highest in brackets. Download processes sampled every "
        f"{SAMPLE_INTERVAL_S}s ({', '.join(str(run.downloads_seen) for run in runs)} seen in "
        "each run). RSS counts the pages a download shares with the forkserver (yt-dlp's "
        "imports); PSS splits them among the sharers. The lifeline's watcher, a fork of the "
        "download process that runs no other program, is counted by its own pages alone (USS): "
        "its RSS would count the download's pages twice.",
    )


def run_busy_figures(report: Report, config: BenchConfig, site: FixtureSite,
                     scratch: Path, cli: CliRun | None) -> None:  # fmt: skip
    service = ApiService(scratch / "busy-service")
    service.thumbnails_dir.mkdir(parents=True, exist_ok=True)
    thumb_id = str(uuid.uuid4())
    shutil.copyfile(
        make_thumbnail(scratch / "busy.jpg"), service.thumbnails_dir / f"{thumb_id}.jpg"
    )
    paths = ("/api/health", f"/api/thumbnails/{thumb_id}")
    long_video = site.media_dir / "long.mp4"
    probing_s = config.probe_runs * 2 * config.probe_count * config.probe_interval_s
    window_s = probing_s * 1.5 + 10
    pace = int(long_video.stat().st_size / window_s)  # bytes per second: lasts the window
    urls = [  # distinct, or the service may answer all three with the same task
        site.page_url(
            video=site.url(f"/slow/{pace}/long.mp4"),
            thumb=site.url("/media/thumb.jpg"),
            title=f"Busy {n}",
        )
        for n in range(CONCURRENT)
    ]
    with service:
        idle = _probe_runs(service, paths, config)
        tasks = [submit(service, url) for url in urls]
        busy = _probe_runs(service, paths, config)
        still = [_status(service, task_id) for task_id in tasks]
        for task_id in tasks:
            _remove(service, task_id)
    report.detail(
        3,
        f"- Downloads paced at {pace / 1024:.0f} KiB/s each; their status at the end of the "
        f"window: {', '.join(still)}. Each path probed {config.probe_runs} times idle and "
        f"{config.probe_runs} times loaded, the paths taking turns: {config.probe_count} "
        f"requests a probe, one every {config.probe_interval_s * 1000:.0f} ms, one connection, "
        "from a process of its own; each percentile below is the median of the probes "
        "(their minimum to maximum in brackets).",
    )
    _latency_figures(report, paths, idle, busy)
    _memory_figures(report, [_memory_run(site, scratch) for _ in range(config.repeats)], cli)
