"""Figure 4: listing the library with 1,000, 100,000 and 1,000,000 tasks in the store."""

import asyncio
import json
import math
import sqlite3
import time
import urllib.request
from pathlib import Path

from bench.load import Latencies, probe
from bench.report import Figure, Report, ms
from bench.servers import ApiService
from bench.tools import BenchConfig
from offlinetube_api.store import SqliteTaskStore

P50_TARGET_S = 0.020
QUERIES = {
    "all": "/api/downloads?limit=100",
    "completed, offset 50000": "/api/downloads?status=completed&limit=100&offset=50000",
}

# Real-looking finished tasks: 90% completed, 7% failed, 3% cancelled. None queued, or the
# service would start downloading them. Every task names the one video file the bench puts in
# the downloads folder: at start-up the service marks completed tasks whose file is gone
# `failed`, and a million files of their own would cost more than the figure measures.
SHARED_VIDEO = "video__00000000-0000-4000-8000-000000000000.mp4"
_INSERT = """
WITH RECURSIVE n(i) AS (SELECT ?1 UNION ALL SELECT i + 1 FROM n WHERE i < ?2)
INSERT INTO tasks (id, url, format, status, created_at, title, progress, downloaded_bytes,
    total_bytes, error, filename, filesize, ext, duration, thumbnail_file, remote_thumbnail,
    started_at, finished_at)
SELECT printf('%08x-0000-4000-8000-%012x', i, i),
       'https://www.youtube.com/watch?v=' || printf('%011d', i), NULL,
       CASE WHEN i % 100 < 90 THEN 'completed' WHEN i % 100 < 97 THEN 'failed' ELSE 'cancelled' END,
       '2026-01-01T00:00:00+00:00', 'Video number ' || i, 100.0, 10485760, 10485760,
       CASE WHEN i % 100 BETWEEN 90 AND 96 THEN 'ERROR: unavailable' END,
       ?3, 10485760, 'mp4', 212.0,
       printf('%08x-0000-4000-8000-%012x.jpg', i, i), 'https://i.ytimg.com/vi/x/hqdefault.jpg',
       '2026-01-01T00:00:01+00:00', '2026-01-01T00:00:09+00:00'
FROM n
"""


def _completed_up_to(count: int) -> int:
    """How many of tasks 1..count are completed (i % 100 < 90)."""
    full, rest = divmod(count + 1, 100)
    return full * 90 + min(rest, 90) - 1  # i = 0 is not inserted but counts as completed


def grow(root: Path, have: int, want: int) -> None:
    """Tasks have+1..want in the database under `root`, in one statement and one transaction,
    with the video file they all name in `root/downloads`."""
    database = root / "data" / "offlinetube.sqlite3"
    database.parent.mkdir(parents=True, exist_ok=True)
    (root / "downloads").mkdir(exist_ok=True)
    (root / "downloads" / SHARED_VIDEO).touch()
    if have == 0:
        store = SqliteTaskStore(database)
        asyncio.run(_create_schema(store))
    with sqlite3.connect(database) as db:
        db.execute(_INSERT, (have + 1, want, SHARED_VIDEO))


async def _create_schema(store: SqliteTaskStore) -> None:
    await store.open()
    await store.close()


def _total(port: int, path: str) -> tuple[int, int]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=60) as response:
        return int(response.headers["X-Total-Count"]), len(json.loads(response.read()))


def _measure(service: ApiService, size: int, config: BenchConfig) -> dict[str, Latencies]:
    found: dict[str, Latencies] = {}
    expected = {"all": size, "completed, offset 50000": _completed_up_to(size)}
    for name, path in QUERIES.items():
        total, _rows = _total(service.port, path)
        if total != expected[name]:
            raise RuntimeError(f"{path}: X-Total-Count {total}, expected {expected[name]}")
        probe(service.port, path, count=5, interval_s=0)  # warm the page cache
        found[name] = probe(service.port, path, count=config.listing_requests, interval_s=0)
    return found


def _figures(report: Report, measured: dict[int, dict[str, Latencies]]) -> None:
    smallest, largest = min(measured), max(measured)
    allowed = math.log(largest) / math.log(smallest)
    for name in QUERIES:
        base, top = measured[smallest][name].p50_s, measured[largest][name].p50_s
        ratio = top / base
        report.add(
            Figure(
                4,
                f"Listing `{name}`, p50 at {largest:,} tasks",
                ms(top),
                f"{ms(base)} at {smallest:,} tasks",
                ratio,
                f"< 20 ms and ratio <= {allowed:.2f} (log growth)",
                top < P50_TARGET_S and ratio <= allowed,
            )
        )
    for size, by_query in sorted(measured.items()):
        cells = ", ".join(
            f"`{name}` p50 {ms(lat.p50_s)} p99 {ms(lat.p99_s)}" for name, lat in by_query.items()
        )
        report.detail(4, f"- {size:,} tasks: {cells}")


def run_listing_figure(report: Report, config: BenchConfig, scratch: Path) -> None:
    root = scratch / "listing-service"
    measured: dict[int, dict[str, Latencies]] = {}
    have = 0
    for size in config.listing_sizes:
        started = time.monotonic()
        grow(root, have, size)
        have = size
        report.detail(4, f"- inserted up to {size:,} tasks in {time.monotonic() - started:.1f} s")
        with ApiService(root) as service:
            measured[size] = _measure(service, size, config)
    report.detail(
        4, f"- p50 of {config.listing_requests} sequential requests on one keep-alive connection."
    )
    _figures(report, measured)
