"""`make chaos` / `python -m bench.chaos`: crash consistency. Each round posts 8 throttled
downloads from the fixture site (mp4 and webm copies, one mp3 that ffmpeg converts), kills the
service with SIGKILL at a random moment, restarts it at once, lets the downloads finish and
counts what went wrong. Every figure must read 0.

Environment: CHAOS_ROUNDS (default 3; 30 for the full run), CHAOS_SEED (default random),
CHAOS_OUT=<file> (also write the figures there as Markdown)."""

import hashlib
import os
import random
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from offlinetube_api.ffmpeg import locate_ffmpeg, media_duration
from tests.fixtures.media import make_media
from tests.fixtures.processes import descendants, is_running
from tests.fixtures.service_process import ServiceProcess
from tests.fixtures.site import FixtureSite

# (media file, bytes per second, extra request fields): each lasts about 4 s.
DOWNLOADS = (
    *[("clip.mp4", 50_000, {})] * 5,
    *[("clip.webm", 25_000, {})] * 2,
    ("clip.mp4", 50_000, {"audio_only": True, "audio_format": "mp3"}),
)
KILL_WINDOW_S = (0.2, 12.0)  # 8 downloads, 3 at a time, take about 12 s
ORPHAN_CHECK_S = 1.0
FINISH_DEADLINE_S = 180.0
DURATION_SLACK_S = 0.3
ROUND_RESULT_KEYS = (
    "lost",
    "stuck",
    "failed",
    "duplicated",
    "partial files left",
    "orphans alive 1 s after the kill",
    "files not matching their source",
)


@dataclass
class Posted:
    task_id: str
    page_url: str
    media_url: str
    media: str
    audio_only: bool


@dataclass
class Figures:
    rounds: int = 0
    downloads: int = 0
    resumed_with_range: int = 0
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(ROUND_RESULT_KEYS, 0))

    def add(self, key: str, n: int = 1) -> None:
        self.counts[key] += n


def _finished(client: httpx.Client, posted: list[Posted]) -> dict[str, dict[str, Any] | None]:
    """Each task once all have ended, or as they stand at the deadline (None: gone)."""
    give_up = time.monotonic() + FINISH_DEADLINE_S
    while True:
        tasks = {}
        for item in posted:
            response = client.get(f"/api/downloads/{item.task_id}")
            tasks[item.task_id] = response.json() if response.status_code == 200 else None
        alive = [t for t in tasks.values() if t and t["status"] not in ("completed", "failed")]
        if not alive or time.monotonic() > give_up:
            return tasks
        time.sleep(0.5)


def command_line(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()[:120]
    except OSError:
        return "?"


def _sha256(path: Path) -> bytes:
    return hashlib.sha256(path.read_bytes()).digest()


class Chaos:
    """One service on one data folder for every round, as a real library would live."""

    def __init__(self, site: FixtureSite, service: ServiceProcess, rng: random.Random) -> None:
        self.site = site
        self.service = service
        self.rng = rng
        self.figures = Figures()
        ffmpeg = locate_ffmpeg().path
        assert ffmpeg, "no ffmpeg"
        self.ffmpeg = ffmpeg

    def round(self) -> None:
        client = self.service.wait_ready()
        posted = [self._post(client, *download) for download in DOWNLOADS]
        time.sleep(self.rng.uniform(*KILL_WINDOW_S))  # the random moment of the crash
        orphans, client = self._kill_and_restart()
        self.figures.add("orphans alive 1 s after the kill", orphans)
        self._check(client, posted)
        self.figures.rounds += 1
        self.figures.downloads += len(posted)

    def _post(self, client: httpx.Client, media: str, rate: int, extra: dict[str, Any]) -> Posted:
        media_url = self.site.url(f"/slow/{rate}/{media}?chaos={uuid.uuid4().hex}")
        page_url = self.site.page_url(video=media_url)
        task = client.post("/api/download", json={"url": page_url, **extra}).json()
        return Posted(task["id"], page_url, media_url, media, audio_only=bool(extra))

    def _kill_and_restart(self) -> tuple[int, httpx.Client]:
        """SIGKILL, restart at once; returns how many of the old processes lived 1 s on."""
        old = {pid: command_line(pid) for pid in descendants(self.service.pid)}
        self.service.kill()
        killed_at = time.monotonic()
        self.service.process = self.service.launch()
        time.sleep(max(0.0, killed_at + ORPHAN_CHECK_S - time.monotonic()))
        orphans = [command for pid, command in old.items() if is_running(pid)]
        for command in orphans:
            print(f"  alive 1 s after the kill: {command}", flush=True)
        return len(orphans), self.service.wait_ready()

    def _check(self, client: httpx.Client, posted: list[Posted]) -> None:
        tasks = _finished(client, posted)
        downloads = self.service.root / "downloads"
        for item in posted:
            videos = [p for p in downloads.glob(f"video__{item.task_id}.*") if p.suffix != ".vtt"]
            self.figures.add("duplicated", max(0, len(videos) - 1))
            if problem := self._problem(tasks[item.task_id], videos, item):
                self.figures.add(problem)
        ours = {item.task_id for item in posted}
        pages = {item.page_url for item in posted}
        listing = client.get("/api/downloads", params={"limit": 1000}).json()
        again = [task for task in listing if task["url"] in pages and task["id"] not in ours]
        self.figures.add("duplicated", len(again))
        self.figures.add("partial files left", len(list((downloads / ".incomplete").glob("*"))))
        paths = {item.media_url.removeprefix(self.site.base_url) for item in posted}
        self.figures.resumed_with_range += sum(
            1 for transfer in self.site.transfers if transfer.path in paths and transfer.range
        )

    def _problem(self, task: dict[str, Any] | None, videos: list[Path], item: Posted) -> str | None:
        if task is None:
            return "lost"
        if task["status"] == "failed":
            return "failed"
        if task["status"] != "completed":
            return "stuck"
        if len(videos) != 1 or not self._matches(videos[0], item):
            return "files not matching their source"
        return None

    def _matches(self, saved: Path, item: Posted) -> bool:
        source = self.site.media_dir / item.media
        if not item.audio_only:
            return _sha256(saved) == _sha256(source)
        expected = media_duration(self.ffmpeg, str(source)) or 0.0
        return abs((media_duration(self.ffmpeg, str(saved)) or 0.0) - expected) <= DURATION_SLACK_S


def render(figures: Figures, seed: int, seconds: float) -> str:
    lines = [
        "# Crash consistency (`make chaos`)",
        "",
        f"{figures.rounds} rounds of `kill -9` at a random moment during 8 throttled downloads, "
        f"restart at once; {figures.downloads} downloads in all; seed {seed}; "
        f"{seconds:.0f} s.",
        "",
        "| Figure | Count | Target |",
        "|---|---|---|",
        *(f"| {key} | {count} | 0 |" for key, count in figures.counts.items()),
        "",
        f"Downloads continued with an HTTP range after the crash: {figures.resumed_with_range}.",
    ]
    return "\n".join(lines) + "\n"


def main() -> int:
    rounds = int(os.environ.get("CHAOS_ROUNDS", "3"))
    seed = int(os.environ.get("CHAOS_SEED", str(random.randrange(2**32))))
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="offlinetube-chaos-") as tmp:
        scratch = Path(tmp)
        site = FixtureSite(make_media(scratch / "media")).start()
        (scratch / "service").mkdir()
        with (scratch / "service.log").open("wb") as log:
            service = ServiceProcess(
                scratch / "service", output=log, OFFLINETUBE_RETRY_BACKOFF_SECONDS="1"
            )
            chaos = Chaos(site, service, random.Random(seed))
            try:
                service.start()
                for number in range(1, rounds + 1):
                    chaos.round()
                    print(f"round {number}/{rounds}: {chaos.figures.counts}", flush=True)
            finally:
                service.stop()
                site.stop()
    report = render(chaos.figures, seed, time.monotonic() - started)
    print(report)
    if out := os.environ.get("CHAOS_OUT"):
        Path(out).write_text(report)
    return 1 if any(chaos.figures.counts.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
