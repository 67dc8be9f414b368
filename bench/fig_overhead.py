"""Figure 5: ten small videos through the API against the yt-dlp command line run on them one
after another; and the command line's memory, the reference of figure 6."""

import json
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from bench.repeats import take_turns
from bench.report import Figure, Report, mib
from bench.servers import ApiService, descendants, rss_bytes
from bench.tools import BenchConfig
from offlinetube_api.ffmpeg import locate_ffmpeg
from tests.fixtures.site import FixtureSite

TARGET = 0.6
SAMPLE_INTERVAL_S = 0.05
DEADLINE_S = 600.0


@dataclass(frozen=True)
class CliRun:
    seconds: float
    peak_rss: int
    command: str


def page_urls(site: FixtureSite, count: int) -> list[str]:
    return [
        site.page_url(
            video=site.url("/media/clip.mp4"), thumb=site.url("/media/thumb.jpg"), title=f"Clip {n}"
        )
        for n in range(count)
    ]


def cli_command(url: str, out: Path) -> list[str]:
    """What the service does for one video, done by hand: the thumbnail, jpg, the same names."""
    ytdlp = str(Path(sys.executable).with_name("yt-dlp"))
    ffmpeg = locate_ffmpeg().path or "ffmpeg"
    return [
        ytdlp, "-q", "--no-progress", "--no-cache-dir", "--ffmpeg-location", ffmpeg,
        "--write-thumbnail", "--convert-thumbnails", "jpg", "-P", str(out),
        "-o", "video__%(id)s.%(ext)s", url,
    ]  # fmt: skip


def _run_sampled(command: list[str]) -> int:
    """Runs `command` to the end; returns the peak RSS of it and its children."""
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak = 0
    while process.poll() is None:
        peak = max(peak, sum(rss_bytes(p) for p in [process.pid, *descendants(process.pid)]))
        time.sleep(SAMPLE_INTERVAL_S)
    if process.returncode != 0:
        assert process.stderr is not None
        raise RuntimeError(f"{command[0]} failed: {process.stderr.read().decode()[-2000:]}")
    return peak


def run_cli(urls: list[str], out: Path) -> CliRun:
    peak = 0
    started = time.perf_counter()
    for n, url in enumerate(urls):
        peak = max(peak, _run_sampled(cli_command(url, out / str(n))))
    seconds = time.perf_counter() - started
    return CliRun(seconds, peak, " ".join(cli_command("<url>", out / "<n>")))


def submit(service: ApiService, url: str) -> str:
    request = urllib.request.Request(
        f"{service.base_url}/api/download",
        data=json.dumps({"url": url}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        task_id: str = json.loads(response.read())["id"]
        return task_id


def _statuses(service: ApiService) -> list[str]:
    with urllib.request.urlopen(f"{service.base_url}/api/downloads?limit=1000", timeout=30) as r:
        return [task["status"] for task in json.loads(r.read())]


def run_api(service: ApiService, urls: list[str]) -> float:
    """Submit all, then poll until none is queued or running; every one must complete."""
    started = time.perf_counter()
    for url in urls:
        submit(service, url)
    while time.perf_counter() - started < DEADLINE_S:
        statuses = _statuses(service)
        if all(status in ("completed", "failed", "cancelled") for status in statuses):
            if statuses.count("completed") != len(urls):
                raise RuntimeError(f"not every download completed: {statuses}")
            return time.perf_counter() - started
        time.sleep(0.02)
    raise RuntimeError(f"downloads did not finish within {DEADLINE_S}s")


def run_overhead_figure(
    report: Report, config: BenchConfig, site: FixtureSite, scratch: Path
) -> CliRun:
    """The median of `config.repeats` runs, the service (freshly started each time) and the
    command line in turns; the command line's run returned for figure 6 has the median time
    and the highest peak RSS of its runs."""
    urls = page_urls(site, config.overhead_videos)
    run_cli(urls[:1], scratch / "cli-warmup")  # the first run also pays for a cold disk cache
    runs = iter(range(config.repeats))

    def api_run() -> float:
        with ApiService(scratch / f"overhead-service-{next(runs)}") as service:
            return run_api(service, urls)

    clis: list[CliRun] = []

    def cli_run() -> float:
        clis.append(run_cli(urls, scratch / f"cli-{len(clis)}"))
        return clis[-1].seconds

    api, cli, ratio = take_turns(api_run, cli_run, repeats=config.repeats).spread(float)
    n = config.overhead_videos
    report.add(
        Figure(
            5,
            f"Download overhead, {n} small videos",
            f"API {api.text(_seconds)} s (submit all, wait for all)",
            f"yt-dlp CLI {cli.text(_seconds)} s (one after another)",
            ratio.median,
            f"<= {TARGET}",
            ratio.median <= TARGET,
        ),
        f"- Median of {config.repeats} runs, the service and the command line in turns; the "
        f"ratio {ratio.text(lambda value: f'{value:.3f}')} (moved {ratio.moved:.0%} of its "
        f"median). The service was freshly started for each run, so its first download also "
        f"starts the forkserver (3 downloads at a time, the default). CLI peak RSS "
        f"{mib(max(run.peak_rss for run in clis))}.",
    )
    report.command(clis[0].command)
    return CliRun(cli.median, max(run.peak_rss for run in clis), clis[0].command)


def _seconds(value: float) -> str:
    return f"{value:.2f}"
