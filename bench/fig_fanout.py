"""Figure 8: event streams fanned out while downloads run, in both modes. 300 clients hold
`GET /api/events` open while 20 downloads run on the fixture site: every client must see every
download's final state; the API process's memory; and how long after a state change the last
client sees it."""

import asyncio
import json
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

# MEMORY_TARGET: the growth figure 7 allows for as many open streams.
from bench.fig_events import MEMORY_TARGET, STREAMS_PER_ADDRESS, PeakRss
from bench.fig_overhead import submit
from bench.load import percentile
from bench.postgres import bench_database
from bench.repeats import Spread
from bench.report import Figure, Report, mib, ms
from bench.servers import ApiService, rss_bytes
from bench.tools import BenchConfig
from tests.fixtures.postgres import Databases
from tests.fixtures.site import FixtureSite

OPEN_DEADLINE_S = 120.0
FINISH_DEADLINE_S = 300.0
DOWNLOAD_SECONDS = 2.0  # each download is paced to last about this long
FINAL = ("completed", "failed", "cancelled")
# The changes whose moment the task itself records (started_at, finished_at): the latency of
# each is measured from that moment, by the same clock, to the last client that saw it.
TIMED = {"downloading": "started_at", "completed": "finished_at"}


@dataclass
class Listener:
    """One client's view of the stream: when it first saw each (task id, status)."""

    seen: dict[tuple[str, str], float] = field(default_factory=dict)
    status: int = 0


@dataclass
class Changes:
    """The moment of each timed change, as the tasks the clients received record it."""

    at: dict[tuple[str, str], float] = field(default_factory=dict)


def _note(line: bytes, listener: Listener, changes: Changes) -> None:
    if not line.startswith(b"data:"):
        return
    task = json.loads(line[5:])
    status = task.get("status")
    if status is None:  # a removal
        return
    key = (task["id"], status)
    if key not in listener.seen:
        listener.seen[key] = time.time()
        stamp = TIMED.get(status)
        if stamp and task.get(stamp) and key not in changes.at:
            changes.at[key] = datetime.fromisoformat(task[stamp]).timestamp()


async def _listen(
    port: int, n: int, listener: Listener, changes: Changes, opened: asyncio.Event,
    stop: asyncio.Event,
) -> None:  # fmt: skip
    """An HTTP/1.1 client of `/api/events` from its own loopback address, reading the chunked
    body line by line until `stop`."""
    address = f"127.0.0.{2 + n // STREAMS_PER_ADDRESS}"
    reader, writer = await asyncio.open_connection("127.0.0.1", port, local_addr=(address, 0))
    try:
        writer.write(b"GET /api/events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        head = await reader.readuntil(b"\r\n\r\n")
        listener.status = int(head.split(b" ", 2)[1])
        opened.set()
        if listener.status != 200 or b"chunked" not in head.lower():
            return
        pending = b""
        while not stop.is_set():
            size = int((await reader.readline()).strip() or b"0", 16)
            if size == 0:
                return
            pending += (await reader.readexactly(size + 2))[:-2]
            *lines, pending = pending.split(b"\n")
            for line in lines:
                _note(line.rstrip(b"\r"), listener, changes)
    finally:
        writer.close()


def _saw_every_end(listener: Listener, tasks: list[str]) -> bool:
    return all(any((task, end) in listener.seen for end in FINAL) for task in tasks)


@dataclass(frozen=True)
class FanOut:
    listeners: list[Listener]
    changes: Changes
    tasks: list[str]
    idle_rss: int
    open_rss: int
    peak_rss: int
    seconds: float


async def _fan_out(service: ApiService, urls: list[str], streams: int) -> FanOut:
    listeners = [Listener() for _ in range(streams)]
    changes = Changes()
    stop = asyncio.Event()
    opened = [asyncio.Event() for _ in range(streams)]
    idle_rss = rss_bytes(service.pid)
    clients = [
        asyncio.create_task(_listen(service.port, n, listeners[n], changes, opened[n], stop))
        for n in range(streams)
    ]
    sampler = PeakRss(service.pid, idle_rss)
    sampling = threading.Thread(target=sampler.run, daemon=True)
    sampling.start()
    try:
        await asyncio.wait_for(asyncio.gather(*(e.wait() for e in opened)), OPEN_DEADLINE_S)
        await asyncio.sleep(0.5)  # the last streams' snapshots, before anything changes
        open_rss = rss_bytes(service.pid)
        started = time.monotonic()
        tasks = [await asyncio.to_thread(submit, service, url) for url in urls]
        give_up = started + FINISH_DEADLINE_S
        while time.monotonic() < give_up and not all(
            _saw_every_end(listener, tasks) for listener in listeners
        ):
            await asyncio.sleep(0.05)
        seconds = time.monotonic() - started
    finally:
        sampler.stop()
        stop.set()
        for client in clients:
            client.cancel()
        await asyncio.gather(*clients, return_exceptions=True)
    return FanOut(listeners, changes, tasks, idle_rss, open_rss, sampler.peak, seconds)


@dataclass(frozen=True)
class Delivery:
    """Per timed change, sorted: seconds from the change to the first and to the last client,
    and from the first client to the last (the fan-out's own spread)."""

    first: list[float]
    last: list[float]
    spread: list[float]

    @staticmethod
    def of(found: FanOut) -> "Delivery":
        first: list[float] = []
        last: list[float] = []
        for key, at in found.changes.at.items():
            seen = [listener.seen[key] for listener in found.listeners if key in listener.seen]
            first.append(min(seen) - at)
            last.append(max(seen) - at)
        spread = [b - a for a, b in zip(first, last, strict=True)]
        return Delivery(sorted(first), sorted(last), sorted(spread))

    def text(self, which: list[float]) -> str:
        return f"p50 {ms(percentile(which, 50))}, p99 {ms(percentile(which, 99))}"


def _urls(site: FixtureSite, count: int) -> list[str]:
    clip = site.media_dir / "clip.mp4"
    pace = max(1, int(clip.stat().st_size / DOWNLOAD_SECONDS))  # bytes per second
    return [
        site.page_url(
            video=site.url(f"/slow/{pace}/clip.mp4"),
            thumb=site.url("/media/thumb.jpg"),
            title=f"Fan-out {n}",
        )
        for n in range(count)
    ]


def _measure(service: ApiService, config: BenchConfig, site: FixtureSite) -> FanOut:
    urls = _urls(site, config.fanout_downloads)
    return asyncio.run(_fan_out(service, urls, config.event_streams))


def _completed(fan_out: FanOut) -> int:
    """How many of the tasks some client saw completed."""
    return sum(
        any((task, "completed") in listener.seen for listener in fan_out.listeners)
        for task in fan_out.tasks
    )


def _complete_clients(fan_out: FanOut) -> int:
    """How many clients saw every task's final state."""
    return sum(_saw_every_end(listener, fan_out.tasks) for listener in fan_out.listeners)


def _p99_last(fan_out: FanOut) -> float:
    return percentile(Delivery.of(fan_out).last, 99)


def _figures(report: Report, config: BenchConfig, found: dict[str, list[FanOut]]) -> None:
    """Each mode's figures over its runs (a fresh service each): the fewest clients that saw
    everything in any run, and the median of the rest with its lowest and highest."""
    streams, downloads = config.event_streams, config.fanout_downloads
    for mode, runs in found.items():
        complete = min(map(_complete_clients, runs))
        completed = min(map(_completed, runs))
        report.add(
            Figure(
                8,
                f"Fan-out, {mode}: clients that saw every final state of {downloads} downloads",
                f"{complete} of {streams} ({completed} of {downloads} completed), the least of "
                f"{len(runs)} runs",
                f"all {streams}",
                complete / streams,
                "1.0",
                complete == streams and completed == downloads,
            )
        )
        growth = Spread.of([run.peak_rss - run.idle_rss for run in runs])
        peak = Spread.of([run.peak_rss for run in runs])
        held = Spread.of([run.open_rss for run in runs])
        idle = Spread.of([run.idle_rss for run in runs])
        report.add(
            Figure(
                8,
                f"Fan-out, {mode}: API process memory with {streams} streams during the downloads",
                f"+{growth.text(mib)} (peak {peak.text(mib)}, {held.text(mib)} with the streams "
                "open)",
                f"idle {idle.text(mib)}",
                growth.median / MEMORY_TARGET,
                "< 64 MiB growth (ratio < 1)",
                growth.median < MEMORY_TARGET,
            )
        )
    reference = Spread.of([_p99_last(run) for run in found["SQLite"]])
    for mode, runs in found.items():
        p99 = Spread.of([_p99_last(run) for run in runs])
        p50 = Spread.of([percentile(Delivery.of(run).last, 50) for run in runs])
        report.add(
            Figure(
                8,
                f"Fan-out, {mode}: state change to the last of {streams} clients",
                f"p50 {p50.text(ms)}, p99 {p99.text(ms)}",
                "itself (SQLite)" if mode == "SQLite" else f"SQLite: p99 {reference.text(ms)}",
                p99.median / reference.median,
                "none set",
                None,
            ),
        )
        for n, run in enumerate(runs, 1):
            timed = Delivery.of(run)
            report.detail(
                8,
                f"- {mode}, run {n}: {len(timed.last)} timed changes (`downloading`, "
                f"`completed`); to the first client {timed.text(timed.first)}, to the last "
                f"{timed.text(timed.last)}; all {downloads} downloads ended {run.seconds:.1f} s "
                f"after the first submission; first client to last {timed.text(timed.spread)}.",
            )
    report.detail(
        8,
        f"- {config.repeats} runs per mode, each on a freshly started service (and, for "
        "PostgreSQL, a fresh database); each figure is their median, their lowest and highest "
        "in brackets; the ratio of the PostgreSQL delivery is the median p99 over SQLite's.",
        f"- {streams} clients (Python asyncio, in the bench process, from "
        f"{-(-streams // STREAMS_PER_ADDRESS)} loopback addresses) hold `GET /api/events` open, "
        f"then {downloads} downloads of the fixture clip are submitted, each paced to about "
        f"{DOWNLOAD_SECONDS:.0f} s, {config.fanout_slots} at a time. A change's moment is the "
        "task's own `started_at` or `finished_at` (same clock as the clients); the first client "
        "sees it after the store's commit and, in distributed mode, the NOTIFY. p99 of so few "
        "changes is their maximum. Distributed: one `serve` process (API and download slots) "
        "on PostgreSQL. Memory: RSS of the API process alone (downloads run in its children).",
    )


def run_fanout_figure(
    report: Report, config: BenchConfig, site: FixtureSite, scratch: Path, databases: Databases
) -> None:
    streams, slots = str(config.event_streams), str(config.fanout_slots)
    found: dict[str, list[FanOut]] = {"SQLite": [], "PostgreSQL": []}
    for n in range(config.repeats):
        with ApiService(
            scratch / f"fanout-sqlite-{n}",
            max_event_streams=streams,
            max_concurrent_downloads=slots,
        ) as service:
            found["SQLite"].append(_measure(service, config, site))
        with (
            bench_database(databases) as url,
            ApiService(
                scratch / f"fanout-postgres-{n}",
                database_url=url,
                max_event_streams=streams,
                max_concurrent_downloads=slots,
            ) as service,
        ):
            found["PostgreSQL"].append(_measure(service, config, site))
    _figures(report, config, found)
