"""`make bench` / `python -m bench`: every figure of the performance issue, each against a
reference measured in the same run, written to bench/RESULTS.md.

Environment: BENCH_QUICK=1 (small sizes, short runs), BENCH_OUT=<file> (default
bench/RESULTS.md), BENCH_ONLY=thumbnails,stream,listing,busy,overhead,events,fanout,
throughput,webapp (default all), BENCH_LOADGEN=auto|wrk|python, BENCH_NO_INSTALL=1 (never
apt-get).
The distributed-mode figures (listing, fanout, throughput) use the PostgreSQL server at
OFFLINETUBE_TEST_POSTGRES_URL (default postgresql://postgres@127.0.0.1:5432/postgres), or a
throwaway one when none answers, with a database of their own dropped after."""

import os
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path

from bench.fig_busy import run_busy_figures
from bench.fig_events import run_events_figure
from bench.fig_fanout import run_fanout_figure
from bench.fig_listing import run_listing_figure
from bench.fig_media import run_media_figures
from bench.fig_overhead import CliRun, run_overhead_figure
from bench.fig_throughput import run_throughput_figure
from bench.fig_webapp import run_webapp_figure
from bench.load import LoadGenerator, choose_generator
from bench.media import make_long_video
from bench.postgres import bench_databases
from bench.report import Report, render
from bench.tools import BenchConfig, config_from_env, ensure_tools, environment
from tests.fixtures.media import make_media
from tests.fixtures.postgres import Databases
from tests.fixtures.site import FixtureSite

HERE = Path(__file__).parent
ALL = (
    "thumbnails",
    "stream",
    "listing",
    "busy",
    "overhead",
    "events",
    "fanout",
    "throughput",
    "webapp",
)
NEEDS_POSTGRES = {"listing", "fanout", "throughput"}
NOTES = HERE / "notes.md"


def _generator_text(load: LoadGenerator) -> str:
    if load.name == "wrk":
        return "wrk (2 threads, on the same machine as the servers)"
    return (
        "Python asyncio client (FALLBACK: wrk is not installed or BENCH_LOADGEN=python; "
        "it is slower than nginx, so ratios against nginx are overstated)"
    )


def _downloads(report: Report, config: BenchConfig, scratch: Path, only: set[str],
               databases: Databases | None) -> None:  # fmt: skip
    media = make_media(scratch / "site-media")
    make_long_video(media / "long.mp4", seconds=8 if config.quick else 30)
    site = FixtureSite(media).start()
    try:
        cli: CliRun | None = None
        if "overhead" in only:
            cli = run_overhead_figure(report, config, site, scratch)
        if "busy" in only:
            run_busy_figures(report, config, site, scratch, cli)
        if "fanout" in only and databases:
            run_fanout_figure(report, config, site, scratch, databases)
        if "throughput" in only and databases:
            run_throughput_figure(report, config, site, scratch, databases)
    finally:
        site.stop()


def _load_average() -> str:
    return "/".join(f"{load:.1f}" for load in os.getloadavg())


def run(config: BenchConfig, only: set[str], out: Path, log: list[str]) -> Report:
    with tempfile.TemporaryDirectory(prefix="offlinetube-bench-") as tmp, ExitStack() as stack:
        databases = stack.enter_context(bench_databases()) if only & NEEDS_POSTGRES else None
        scratch = Path(tmp)
        scratch.chmod(0o755)  # nginx's worker runs as another user when started as root
        load = choose_generator(scratch, os.environ.get("BENCH_LOADGEN", "auto"))
        report = Report(quick=config.quick, generator=_generator_text(load))
        report.environment = environment()
        report.command("make bench" + ("  # BENCH_QUICK=1" if config.quick else ""))
        steps: list[tuple[set[str], Callable[[], None]]] = [
            (
                {"thumbnails", "stream"},
                lambda: run_media_figures(report, load, config, scratch, only),
            ),
            ({"listing"}, lambda: run_listing_figure(report, config, scratch, databases)),
            (
                {"overhead", "busy", "fanout", "throughput"},
                lambda: _downloads(report, config, scratch, only, databases),
            ),
            ({"events"}, lambda: run_events_figure(report, config, scratch)),
            ({"webapp"}, lambda: run_webapp_figure(report, scratch)),
        ]
        for wanted, step in steps:
            if wanted & only:
                started = time.monotonic()
                load_before = _load_average()
                step()
                seconds = time.monotonic() - started
                log.append(
                    f"{'/'.join(sorted(wanted & only))}: {seconds:.1f} s (load average 1/5/15 "
                    f"min at its start {load_before}, at its end {_load_average()})"
                )
        return report


def main() -> int:
    config = config_from_env()
    only = set(filter(None, os.environ.get("BENCH_ONLY", ",".join(ALL)).split(",")))
    out = Path(os.environ.get("BENCH_OUT", HERE / "RESULTS.md"))
    log: list[str] = []
    ensure_tools(log)
    started = time.monotonic()
    report = run(config, only, out, log)
    log.append(f"total: {time.monotonic() - started:.1f} s")
    report.detail(0, *(f"- {line}" for line in log))
    preamble = NOTES.read_text() if NOTES.exists() and not config.quick else ""
    out.write_text(render(report, preamble=preamble))
    print(f"load generator: {report.generator}")
    print("\n".join(log))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
