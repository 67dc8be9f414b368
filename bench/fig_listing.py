"""Figure 4: listing the library with 1,000, 100,000 and 1,000,000 tasks in the store, in
both modes: SQLite (embedded) and PostgreSQL (distributed). Three pages: the first, one
50,000 completed tasks deep by `offset`, and one near the oldest task by its cursor (the
`Link` of the page before it), which should cost what the first does; and a search by title
(`q`) that finds one task among all."""

import asyncio
import json
import math
import sqlite3
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import psycopg

from bench.load import Latencies, percentile, probe
from bench.postgres import bench_database
from bench.repeats import Spread
from bench.report import Figure, Report, ms
from bench.servers import ApiService
from bench.tools import BenchConfig
from offlinetube_api.models import TaskStatus
from offlinetube_api.ports import TaskStore
from offlinetube_api.store import SqliteTaskStore
from offlinetube_api.store.postgres import PostgresTaskStore
from tests.fixtures.postgres import Databases

P50_TARGET_S = 0.020
OFFSET_PAGE = "completed, offset 50000"
DEEP_KEYSET_PAGE = "completed, deep keyset page"
# One title of all ("Video number 999"), found by a word of every title and one of its own.
TITLE_SEARCH = "title search number 999"
QUERIES = {
    "all": "/api/downloads?limit=100",
    OFFSET_PAGE: "/api/downloads?status=completed&limit=100&offset=50000",
    TITLE_SEARCH: "/api/downloads?limit=100&q=number%20999",
}
QUERY_NAMES = (*QUERIES, DEEP_KEYSET_PAGE)
# The deep keyset page is the one the `Link` of the page this many completed tasks before the
# oldest names: a full page of 100, reached by its cursor, near the end of the library.
DEEP_FROM_END = 200
_NEAR_THE_END = "/api/downloads?status=completed&limit=100&offset={offset}"


class StoreQuery(NamedTuple):
    """A page asked of the store itself, in the bench process, 100 tasks long."""

    status: TaskStatus | None
    offset: int
    before: int | None
    words: tuple[str, ...] = ()


# Real-looking finished tasks: 90% completed, 7% failed, 3% cancelled. None queued, or the
# service would start downloading them. Every task names the one video file the bench puts in
# the downloads folder: at start-up the service marks completed tasks whose file is gone
# `failed`, and a million files of their own would cost more than the figure measures.
SHARED_VIDEO = "video__00000000-0000-4000-8000-000000000000.mp4"
_INSERT = """
WITH RECURSIVE n(i) AS (SELECT ?1 UNION ALL SELECT i + 1 FROM n WHERE i < ?2)
INSERT INTO tasks (id, url, format, status, created_at, title, progress, downloaded_bytes,
    total_bytes, error, filename, filesize, ext, duration, thumbnail_file, remote_thumbnail,
    started_at, finished_at, title_words)
SELECT printf('%08x-0000-4000-8000-%012x', i, i),
       'https://www.youtube.com/watch?v=' || printf('%011d', i), NULL,
       CASE WHEN i % 100 < 90 THEN 'completed' WHEN i % 100 < 97 THEN 'failed' ELSE 'cancelled' END,
       '2026-01-01T00:00:00+00:00', 'Video number ' || i, 100.0, 10485760, 10485760,
       CASE WHEN i % 100 BETWEEN 90 AND 96 THEN 'ERROR: unavailable' END,
       ?3, 10485760, 'mp4', 212.0,
       printf('%08x-0000-4000-8000-%012x.jpg', i, i), 'https://i.ytimg.com/vi/x/hqdefault.jpg',
       '2026-01-01T00:00:01+00:00', '2026-01-01T00:00:09+00:00', 'video number ' || i
FROM n
"""
# The same tasks in PostgreSQL. The fill runs with triggers off (session_replication_role), so
# `task_counts` is rebuilt after it, as the migration that made it does.
_INSERT_POSTGRES = """
INSERT INTO tasks (id, url, format, status, created_at, title, progress, downloaded_bytes,
    total_bytes, error, filename, filesize, ext, duration, thumbnail_file, remote_thumbnail,
    started_at, finished_at, title_words)
SELECT lpad(to_hex(i), 8, '0') || '-0000-4000-8000-' || lpad(to_hex(i), 12, '0'),
       'https://www.youtube.com/watch?v=' || lpad(i::text, 11, '0'), NULL,
       CASE WHEN mod(i, 100) < 90 THEN 'completed' WHEN mod(i, 100) < 97 THEN 'failed'
            ELSE 'cancelled' END,
       '2026-01-01T00:00:00+00:00', 'Video number ' || i, 100.0, 10485760, 10485760,
       CASE WHEN mod(i, 100) BETWEEN 90 AND 96 THEN 'ERROR: unavailable' END,
       %(video)s, 10485760, 'mp4', 212.0,
       lpad(to_hex(i), 8, '0') || '-0000-4000-8000-' || lpad(to_hex(i), 12, '0') || '.jpg',
       'https://i.ytimg.com/vi/x/hqdefault.jpg',
       '2026-01-01T00:00:01+00:00', '2026-01-01T00:00:09+00:00', 'video number ' || i
FROM generate_series(%(first)s::bigint, %(last)s::bigint) AS i
"""
_RECOUNT = (
    "DELETE FROM task_counts",
    "INSERT INTO task_counts (status, n) SELECT status, count(*) FROM tasks GROUP BY status",
)


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


def grow_postgres(url: str, root: Path, have: int, want: int) -> None:
    """Tasks have+1..want in the (migrated) database at `url`, in one statement, then vacuumed
    and analyzed as autovacuum would leave a table that size; the video file in `root`."""
    (root / "downloads").mkdir(parents=True, exist_ok=True)
    (root / "downloads" / SHARED_VIDEO).touch()
    with psycopg.connect(url, autocommit=True) as db:
        with db.transaction():
            db.execute("SET LOCAL session_replication_role = replica")
            db.execute(_INSERT_POSTGRES, {"video": SHARED_VIDEO, "first": have + 1, "last": want})
            for statement in _RECOUNT:
                db.execute(statement)
        db.execute("VACUUM ANALYZE tasks")


async def _create_schema(store: SqliteTaskStore) -> None:
    await store.open()
    await store.close()


def _get(port: int, path: str) -> tuple[int, int, str | None]:
    """X-Total-Count, how many tasks came, and the `Link` header's URL."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=60) as response:
        link = response.headers["Link"]
        following = link[link.index("<") + 1 : link.index(">")] if link else None
        return int(response.headers["X-Total-Count"]), len(json.loads(response.read())), following


def _deep_keyset_path(port: int, completed: int) -> str:
    """The URL of the deep keyset page, as the page before it gives it."""
    _total, _rows, following = _get(port, _NEAR_THE_END.format(offset=completed - DEEP_FROM_END))
    if following is None:
        raise RuntimeError(f"no Link after offset {completed - DEEP_FROM_END} of {completed}")
    return following


def _measure(
    service: ApiService, size: int, config: BenchConfig, note: Callable[[str], None]
) -> dict[str, Latencies]:
    """Each query's probe whose p50 is the median of `config.repeats` probes; `note` is told
    how far the p50 moved between them."""
    found: dict[str, Latencies] = {}
    completed = _completed_up_to(size)
    paths = QUERIES | {DEEP_KEYSET_PAGE: _deep_keyset_path(service.port, completed)}
    # X-Total-Count, and the rows of the page where it is known to be full.
    expected = {
        "all": (size, 100),
        OFFSET_PAGE: (completed, None),
        TITLE_SEARCH: (1, 1),
        DEEP_KEYSET_PAGE: (completed, 100),
    }
    for name, path in paths.items():
        total, rows, _following = _get(service.port, path)
        if total != expected[name][0] or expected[name][1] not in (None, rows):
            raise RuntimeError(f"{path}: {total} in all, {rows} rows; expected {expected[name]}")
        probe(service.port, path, count=5, interval_s=0)  # warm the page cache
        probes = sorted(
            (
                probe(service.port, path, count=config.listing_requests, interval_s=0)
                for _ in range(config.repeats)
            ),
            key=lambda latencies: latencies.p50_s,
        )
        found[name] = probes[len(probes) // 2]
        moved = Spread.of([latencies.p50_s for latencies in probes])
        note(f"`{name}` p50 {moved.text(ms)}")
    return found


async def _store_queries(store: TaskStore, size: int) -> dict[str, StoreQuery]:
    completed = TaskStatus.COMPLETED
    near_end = await store.page(
        status=completed, limit=100, offset=_completed_up_to(size) - DEEP_FROM_END
    )
    return {
        "all": StoreQuery(None, 0, None),
        OFFSET_PAGE: StoreQuery(completed, 50_000, None),
        TITLE_SEARCH: StoreQuery(None, 0, None, ("number", "999")),
        DEEP_KEYSET_PAGE: StoreQuery(completed, 0, near_end.following),
    }


async def _store_p50(store: TaskStore, size: int, requests: int) -> dict[str, float]:
    """Seconds per `store.page()` of each query, p50, without HTTP or serialization."""
    found: dict[str, float] = {}
    await store.open()
    try:
        for name, (status, offset, before, words) in (await _store_queries(store, size)).items():
            samples: list[float] = []
            for n in range(5 + requests):  # the first 5 warm the caches
                started = time.perf_counter()
                await store.page(
                    status=status, limit=100, offset=offset, before=before, words=words
                )
                if n >= 5:
                    samples.append(time.perf_counter() - started)
            found[name] = percentile(sorted(samples), 50)
    finally:
        await store.close()
    return found


Series = dict[int, dict[str, Latencies]]  # tasks in the store -> query -> latencies


def _series(
    config: BenchConfig, report: Report, mode: str, grow_to: Callable[[int, int], None],
    service: Callable[[], ApiService],
) -> Series:  # fmt: skip
    measured: Series = {}
    have = 0
    for size in config.listing_sizes:
        started = time.monotonic()
        grow_to(have, size)
        have = size
        report.detail(
            4, f"- {mode}: inserted up to {size:,} tasks in {time.monotonic() - started:.1f} s"
        )
        spreads: list[str] = []
        with service() as running:
            measured[size] = _measure(running, size, config, spreads.append)
        report.detail(
            4,
            f"- {mode}, {size:,} tasks, the median of {config.repeats} probes of "
            f"{config.listing_requests} requests each (lowest to highest): " + ", ".join(spreads),
        )
    return measured


def _figures(report: Report, mode: str, measured: Series, sqlite: Series | None) -> None:
    """Each query's p50 at the largest size against the smallest size of the same mode (log
    growth); PostgreSQL's rows also name SQLite's figure at the same size."""
    smallest, largest = min(measured), max(measured)
    allowed = math.log(largest) / math.log(smallest)
    label = "" if sqlite is None else f", {mode}"
    for name in QUERY_NAMES:
        base, top = measured[smallest][name].p50_s, measured[largest][name].p50_s
        ratio = top / base
        reference = f"{ms(base)} at {smallest:,} tasks"
        if sqlite is not None:
            reference += f" (SQLite at {largest:,}: {ms(sqlite[largest][name].p50_s)})"
        report.add(
            Figure(
                4,
                f"Listing `{name}`{label}, p50 at {largest:,} tasks",
                f"{ms(top)} (p99 {ms(measured[largest][name].p99_s)})",
                reference,
                ratio,
                f"< 20 ms and ratio <= {allowed:.2f} (log growth)",
                top < P50_TARGET_S and ratio <= allowed,
            )
        )
    for size, by_query in sorted(measured.items()):
        cells = ", ".join(
            f"`{name}` p50 {ms(lat.p50_s)} p99 {ms(lat.p99_s)}" for name, lat in by_query.items()
        )
        report.detail(4, f"- {mode}, {size:,} tasks: {cells}")


def run_listing_figure(
    report: Report, config: BenchConfig, scratch: Path, databases: Databases | None
) -> None:
    """SQLite, then PostgreSQL when `databases` is given."""
    root = scratch / "listing-service"
    largest = max(config.listing_sizes)
    sqlite = _series(
        config,
        report,
        "SQLite",
        lambda have, want: grow(root, have, want),
        lambda: ApiService(root),
    )
    database = root / "data" / "offlinetube.sqlite3"
    store = {
        "SQLite": asyncio.run(
            _store_p50(SqliteTaskStore(database), largest, config.listing_requests)
        )
    }
    postgres: Series | None = None
    if databases is not None:
        pg_root = scratch / "listing-service-postgres"
        with bench_database(databases) as url:
            postgres = _series(
                config,
                report,
                "PostgreSQL",
                lambda have, want: grow_postgres(url, pg_root, have, want),
                lambda: ApiService(pg_root, database_url=url),
            )
            pg_store = PostgresTaskStore(url)
            store["PostgreSQL"] = asyncio.run(
                _store_p50(pg_store, largest, config.listing_requests)
            )
    report.detail(
        4,
        f"- p50 and p99 of {config.listing_requests} sequential requests on one keep-alive "
        "connection, each checked against `X-Total-Count` first. PostgreSQL: the machine's "
        "server, a database made for the run and dropped after, filled with generate_series.",
    )
    report.detail(
        4,
        f"- The store's `page()` alone at {largest:,} tasks (in the bench process, no HTTP, no "
        "JSON), p50: "
        + "; ".join(
            f"{mode} " + ", ".join(f"`{name}` {ms(s)}" for name, s in by_query.items())
            for mode, by_query in store.items()
        )
        + ". The rest of a request's time is the API's own (routing, serialization, HTTP).",
    )
    _figures(report, "SQLite", sqlite, None)
    if postgres is not None:
        _figures(report, "PostgreSQL", postgres, sqlite)
