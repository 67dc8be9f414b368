"""Figure 7: what open event streams cost. 300 clients open `GET /api/events` at once on a
library of 100,000 tasks; the service's memory and `/api/health` latency, beside the same
service idle and beside the same burst of 300 clients asking for `/api/health` itself."""

import asyncio
import threading
from dataclasses import dataclass, field
from pathlib import Path

from bench.fig_listing import grow
from bench.load import Latencies, probe
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


def _figures(report: Report, config: BenchConfig, found: Measured) -> None:
    streams, tasks = config.event_streams, config.event_tasks
    growth = found.peak_rss - found.idle_rss
    report.add(
        Figure(
            7,
            f"Memory with {streams} event streams over {tasks:,} tasks (RSS growth, peak)",
            f"+{mib(growth)} (peak {mib(found.peak_rss)}, {mib(found.held_rss)} held)",
            f"idle {mib(found.idle_rss)}",
            growth / MEMORY_TARGET,
            "< 64 MiB (ratio < 1)",
            growth < MEMORY_TARGET,
        )
    )
    rows = (
        ("opening at once", found.opening, f"{streams} `health` at once", found.health_burst),
        ("open", found.held, "idle", found.idle),
    )
    for name, measured, reference_name, reference in rows:
        ratio = measured.p99_s / reference.p99_s
        report.add(
            Figure(
                7,
                f"`health` p99 while {streams} event streams are {name}",
                f"p50 {ms(measured.p50_s)}, p99 {ms(measured.p99_s)}",
                f"{reference_name}: p50 {ms(reference.p50_s)}, p99 {ms(reference.p99_s)}",
                ratio,
                f"<= {LATENCY_TARGET}",
                ratio <= LATENCY_TARGET,
            )
        )
    admitted = found.statuses.count(200)
    report.detail(
        7,
        f"- {admitted} of {streams} streams answered 200 "
        f"(others: {sorted(set(found.statuses) - {200}) or 'none'}), from "
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
    with ApiService(root, max_event_streams=str(config.event_streams)) as service:
        found = _measure(service, config)
    _figures(report, config, found)
