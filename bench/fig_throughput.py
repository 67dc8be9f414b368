"""Figure 9: download throughput with 1, 2 and 4 workers on the fixture site. Distributed mode:
an API-only replica (`serve --workers 0`) and that many `offlinetube-api worker` processes on one
PostgreSQL database, one download slot each, sharing the media folders; embedded mode, the
reference: one process with that many slots."""

import tempfile
import time
from contextlib import ExitStack
from functools import partial
from pathlib import Path

import psycopg

from bench.fig_overhead import run_api
from bench.postgres import bench_database
from bench.repeats import Spread, take_turns
from bench.report import Figure, Report
from bench.servers import ApiService, WorkerProcess
from bench.tools import BenchConfig
from tests.fixtures.postgres import Databases
from tests.fixtures.site import FixtureSite

WORKERS_DEADLINE_S = 120.0
# Every download comes from the one fixture site, which OFFLINETUBE_MAX_PER_SITE (2 by default)
# would cap below the 4 workers: the figure measures the queue's scaling, not that courtesy.
PER_SITE = {"max_per_site": "64"}


def _urls(site: FixtureSite, config: BenchConfig, round_name: str) -> list[str]:
    """Distinct pages (the service answers a URL it already has with the same task), each
    paced to last about `config.throughput_seconds` on its own."""
    clip = site.media_dir / "clip.mp4"
    pace = max(1, int(clip.stat().st_size / config.throughput_seconds))
    return [
        site.page_url(
            video=site.url(f"/slow/{pace}/clip.mp4"),
            thumb=site.url("/media/thumb.jpg"),
            title=f"Throughput {round_name} {n}",
        )
        for n in range(config.throughput_downloads)
    ]


def _embedded(site: FixtureSite, config: BenchConfig, scratch: Path, workers: int) -> float:
    root = Path(tempfile.mkdtemp(prefix=f"throughput-sqlite-{workers}-", dir=scratch))  # per run
    with ApiService(root, max_concurrent_downloads=str(workers), **PER_SITE) as service:
        return run_api(service, _urls(site, config, f"sqlite {workers}"))


def _wait_for_workers(url: str, workers: list[WorkerProcess]) -> None:
    """Until procrastinate lists every worker process as started (each registers itself)."""
    give_up = time.monotonic() + WORKERS_DEADLINE_S
    while time.monotonic() < give_up:
        if not all(worker.alive() for worker in workers):
            raise RuntimeError("a worker process exited at start")
        with psycopg.connect(url) as db:
            row = db.execute("SELECT count(*) FROM procrastinate_workers").fetchone()
        if row is not None and row[0] >= len(workers):
            return
        time.sleep(0.1)
    raise RuntimeError(f"{len(workers)} workers did not register within {WORKERS_DEADLINE_S}s")


def _distributed(site: FixtureSite, config: BenchConfig, scratch: Path, databases: Databases,
                 workers: int) -> float:  # fmt: skip
    """An API-only replica first (it makes the schema), then `workers` worker processes with
    one slot each; timed from the first submission once every worker has registered."""
    media = Path(tempfile.mkdtemp(prefix=f"throughput-postgres-{workers}-", dir=scratch))
    with bench_database(databases) as url, ExitStack() as running:
        api = running.enter_context(
            ApiService(
                media / "api",
                media_root=media,
                database_url=url,
                arguments=("serve", "--workers", "0"),
                **PER_SITE,
            )
        )
        processes = [
            running.enter_context(
                WorkerProcess(
                    ApiService(
                        media / f"worker-{n}", media_root=media, database_url=url, **PER_SITE
                    ),
                    1,
                )
            )
            for n in range(workers)
        ]
        _wait_for_workers(url, processes)
        return run_api(api, _urls(site, config, f"postgres {workers}"))


def run_throughput_figure(report: Report, config: BenchConfig, site: FixtureSite,
                          scratch: Path, databases: Databases) -> None:  # fmt: skip
    n = config.throughput_downloads
    per_minute: dict[str, dict[int, float]] = {"embedded": {}, "distributed": {}}
    for workers in config.throughput_workers:
        turns = take_turns(
            partial(_distributed, site, config, scratch, databases, workers),
            partial(_embedded, site, config, scratch, workers),
            repeats=config.repeats,
        )
        distributed, embedded, _ = turns.spread(float)
        ratio = Spread.of([e / d for d, e in zip(turns.service, turns.reference, strict=True)])
        per_minute["embedded"][workers] = n / embedded.median * 60
        per_minute["distributed"][workers] = n / distributed.median * 60
        report.add(
            Figure(
                9,
                f"Throughput, {n} paced downloads, {workers} worker{'s' * (workers > 1)}",
                f"distributed {distributed.text(_seconds)}, "
                f"{per_minute['distributed'][workers]:.1f}/min",
                f"embedded, {workers} slot{'s' * (workers > 1)}: {embedded.text(_seconds)}, "
                f"{per_minute['embedded'][workers]:.1f}/min",
                ratio.median,
                "none set",
                None,
            ),
            f"- {workers} worker{'s' * (workers > 1)}: embedded time over distributed time, run "
            f"by run, {ratio.text(lambda value: f'{value:.3f}')} (moved {ratio.moved:.0%} of its "
            "median).",
        )
    one = min(config.throughput_workers)
    scaling = "; ".join(
        f"{mode} {workers} vs {one}: x{rates[workers] / rates[one]:.2f}"
        for mode, rates in per_minute.items()
        for workers in config.throughput_workers
        if workers != one
    )
    ideal = n * config.throughput_seconds
    report.detail(
        9,
        f"- {config.repeats} runs of each size, distributed and embedded in turns, each on "
        "freshly started processes (and a fresh database); each time is their median, their "
        "lowest and highest in brackets, and the rates per minute are taken from the medians.",
        f"- Each download is the fixture clip served at a pace that lasts about "
        f"{config.throughput_seconds:.0f} s, so one slot needs at least {ideal:.0f} s for all "
        f"{n}. Wall time from the first submission to the last download completed (every one "
        "must complete); ratio = embedded time / distributed time (above 1: distributed is "
        f"faster). Scaling (downloads per minute): {scaling or 'one size only'}.",
        "- Distributed: one `offlinetube-api serve --workers 0` replica taking the submissions "
        "and that many `offlinetube-api worker --concurrency 1` processes, on one PostgreSQL "
        "database (made for the round, dropped after), sharing the downloads and thumbnails "
        "folders. Embedded: one process with that many slots. All on this machine's 2 cores "
        "with the fixture site and the bench. Every process runs with "
        f"OFFLINETUBE_MAX_PER_SITE={PER_SITE['max_per_site']}: all downloads come from one "
        "site, which the default of 2 would hold to 2 at a time whatever the workers.",
    )


def _seconds(value: float) -> str:
    return f"{value:.1f} s"
