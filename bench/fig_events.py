"""Figure 7: what open event streams cost. 300 clients open `GET /api/events` at once on a
library of 100,000 tasks; the service's memory and `/api/health` latency, beside the same
service idle and beside the same burst of 300 clients asking for `/api/health` itself."""

import asyncio
import threading
from dataclasses import dataclass, field
from operator import attrgetter
from pathlib import Path

from bench.fig_listing import grow
from bench.load import Latencies, probe
from bench.repeats import Spread
from bench.report import Figure, Report, mib, ms
from bench.servers import ApiService, rss_bytes
from bench.tools import BenchConfig

LATENCY_TARGET = 2.0
MEMORY_TARGET = 64 * 1024**2  # growth with every stream open; the issue saw 550 MB with 40
STREAMS_PER_ADDRESS = 15  # under the default per-address caps, as separate clients would be
SAMPLE_INTERVAL_S = 0.05
OPEN_DEADLINE_S = 120.0
EVENTS = "/api/events"
HEALTH = "/api/health"


@dataclass
class OpenStreams:
    """`count` connections that ask for `path` all at once and are held open, by an asyncio
    loop in a thread, from loopback addresses 127.0.0.2 and up, `STREAMS_PER_ADDRESS` each,
    until `close`."""

    port: int
    count: int
    path: str
    statuses: list[int] = field(default_factory=list)
    _opened: threading.Event = field(default_factory=threading.Event)
    _loop: asyncio.AbstractEventLoop | None = None
    _stop: asyncio.Event | None = None
    _thread: threading.Thread | None = None

    async def _open_one(self, n: int) -> tuple[int, asyncio.StreamWriter]:
        address = f"127.0.0.{2 + n // STREAMS_PER_ADDRESS}"
        reader, writer = await asyncio.open_connection(
            "127.0.0.1", self.port, local_addr=(address, 0)
        )
        writer.write(f"GET {self.path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
        head = await reader.readuntil(b"\r\n\r\n")
        return int(head.split(b" ", 2)[1]), writer

    async def _hold(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        opened = await asyncio.gather(*(self._open_one(n) for n in range(self.count)))
        self.statuses = [status for status, _ in opened]
        self._opened.set()
        await self._stop.wait()
        for _, writer in opened:
            writer.close()

    def start(self) -> None:
        self._thread = threading.Thread(target=lambda: asyncio.run(self._hold()), daemon=True)
        self._thread.start()

    def wait_opened(self) -> None:
        if not self._opened.wait(OPEN_DEADLINE_S):
            raise RuntimeError(f"{self.count} event streams did not open in {OPEN_DEADLINE_S}s")

    def close(self) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join(timeout=30)


@dataclass
class PeakRss:
    pid: int
    peak: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        while not self._stop.wait(SAMPLE_INTERVAL_S):
            self.peak = max(self.peak, rss_bytes(self.pid))

    def stop(self) -> None:
        self._stop.set()


def _probe(service: ApiService, config: BenchConfig) -> Latencies:
    return probe(service.port, HEALTH, count=config.probe_count, interval_s=config.probe_interval_s)


def _probe_during_burst(service: ApiService, config: BenchConfig, path: str) -> Latencies:
    """Probes while `config.event_streams` clients ask for `path` at once."""
    burst = OpenStreams(service.port, config.event_streams, path)
    burst.start()
    try:
        during = _probe(service, config)  # starts with the burst of connections
        burst.wait_opened()
    finally:
        burst.close()
    if burst.statuses != [200] * config.event_streams:
        raise RuntimeError(f"{path}: answers {sorted(set(burst.statuses))}, expected 200s")
    return during


@dataclass(frozen=True)
class Measured:
    idle: Latencies
    health_burst: Latencies
    opening: Latencies
    held: Latencies
    idle_rss: int
    held_rss: int
    peak_rss: int
    statuses: list[int]


def _measure(service: ApiService, config: BenchConfig) -> Measured:
    idle = _probe(service, config)
    health_burst = _probe_during_burst(service, config, HEALTH)
    idle_rss = rss_bytes(service.pid)
    sampler = PeakRss(service.pid, idle_rss)
    sampling = threading.Thread(target=sampler.run, daemon=True)
    sampling.start()
    streams = OpenStreams(service.port, config.event_streams, EVENTS)
    streams.start()
    try:
        opening = _probe(service, config)  # starts with the burst of openings
        streams.wait_opened()
        held = _probe(service, config)
        held_rss = rss_bytes(service.pid)
    finally:
        streams.close()
        sampler.stop()
    return Measured(
        idle, health_burst, opening, held, idle_rss, held_rss, sampler.peak, streams.statuses
    )


def _figures(report: Report, config: BenchConfig, runs: list[Measured]) -> None:
    """Each figure is the median over `runs` (a fresh service each), with its lowest and
    highest; a latency ratio is taken run by run, each p99 beside its own reference."""
    streams, tasks = config.event_streams, config.event_tasks
    growth = Spread.of([run.peak_rss - run.idle_rss for run in runs])
    peak = Spread.of([run.peak_rss for run in runs])
    held = Spread.of([run.held_rss for run in runs])
    idle_rss = Spread.of([run.idle_rss for run in runs])
    report.add(
        Figure(
            7,
            f"Memory with {streams} event streams over {tasks:,} tasks (RSS growth, peak)",
            f"+{growth.text(mib)} (peak {peak.text(mib)}, {held.text(mib)} held)",
            f"idle {idle_rss.text(mib)}",
            growth.median / MEMORY_TARGET,
            "< 64 MiB (ratio < 1)",
            growth.median < MEMORY_TARGET,
        )
    )
    rows = (  # the probe, and the reference it is judged against
        ("opening at once", "opening", f"{streams} `health` at once", "health_burst"),
        ("open", "held", "idle", "idle"),
    )
    for name, measured_field, reference_name, reference_field in rows:
        measured, reference = attrgetter(measured_field), attrgetter(reference_field)
        ratio = Spread.of([measured(run).p99_s / reference(run).p99_s for run in runs])
        report.add(
            Figure(
                7,
                f"`health` p99 while {streams} event streams are {name}",
                _percentiles([measured(run) for run in runs]),
                f"{reference_name}: {_percentiles([reference(run) for run in runs])}",
                ratio.median,
                f"<= {LATENCY_TARGET}",
                ratio.median <= LATENCY_TARGET,
            ),
            f"- `health` p99 while the streams are {name}, over its reference, run by run: "
            f"{ratio.text(lambda value: f'{value:.3f}')} (moved {ratio.moved:.0%} of its median).",
        )
    statuses = [status for run in runs for status in run.statuses]
    admitted = min(run.statuses.count(200) for run in runs)
    report.detail(
        7,
        f"- {len(runs)} runs, each on a freshly started service; each figure is their median, "
        "their lowest and highest in brackets.",
        f"- At least {admitted} of {streams} streams answered 200 in every run "
        f"(others: {sorted(set(statuses) - {200}) or 'none'}), from "
        f"{-(-streams // STREAMS_PER_ADDRESS)} loopback addresses, {STREAMS_PER_ADDRESS} each; "
        f"OFFLINETUBE_MAX_EVENT_STREAMS={streams}, the per-address caps at their defaults.",
        f"- The library: {tasks:,} finished tasks, so a new stream's snapshot (the unfinished "
        "tasks) is empty whatever the library's size. Probes: "
        f"{config.probe_count} requests, one every {config.probe_interval_s * 1000:.0f} ms, "
        "one connection; `opening at once` starts with the burst of connections, and so does "
        f"its reference, a burst of {streams} connections asking for `/api/health` itself.",
    )


def run_events_figure(report: Report, config: BenchConfig, scratch: Path) -> None:
    root = scratch / "events-service"
    grow(root, 0, config.event_tasks)
    runs: list[Measured] = []
    for _ in range(config.repeats):
        with ApiService(root, max_event_streams=str(config.event_streams)) as service:
            runs.append(_measure(service, config))
    _figures(report, config, runs)


def _percentiles(runs: list[Latencies]) -> str:
    """p50 and p99, each the median over the runs with its range."""
    p50 = Spread.of([run.p50_s for run in runs])
    p99 = Spread.of([run.p99_s for run in runs])
    return f"p50 {p50.text(ms)}, p99 {p99.text(ms)}"
