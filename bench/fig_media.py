"""Figures 1 and 2: thumbnails and streaming, the service beside nginx on the same files."""

import importlib.util
import random
import shutil
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path

from bench.load import LoadGenerator, LoadResult, Request, run_bulk_load
from bench.media import make_blob, make_thumbnail
from bench.repeats import Paired, take_turns
from bench.report import Figure, Report, mib
from bench.servers import ApiService, NginxServer, nginx_path
from bench.tools import BenchConfig

RANGE_BYTES = 1024 * 1024
RANGE_COUNT = 256
# Issue 16's targets, ratios to nginx (issue 8 had set 0.15, 0.2, 0.7 and none).
THUMB_TARGET = 0.3
THUMB_304_TARGET = 0.3
STREAM_TARGET = 0.95
RANGES_TARGET = 0.6


@dataclass(frozen=True)
class MediaLibrary:
    thumbnail_ids: list[str]
    video_name: str
    video_size: int


def build_library(service: ApiService, config: BenchConfig, scratch: Path) -> MediaLibrary:
    """Every fourth thumbnail is a webp, so both servers walk the jpg/webp/png probe."""
    for folder in (service.thumbnails_dir, service.downloads_dir, service.data_dir):
        folder.mkdir(parents=True, exist_ok=True)
    jpg = make_thumbnail(scratch / "thumb.jpg")
    webp = make_thumbnail(scratch / "thumb.webp")
    ids = [str(uuid.UUID(int=n + 1, version=4)) for n in range(config.thumb_ids)]
    for n, task_id in enumerate(ids):
        source = webp if n % 4 == 3 else jpg
        shutil.copyfile(source, service.thumbnails_dir / f"{task_id}{source.suffix}")
    video_name = f"video__{uuid.UUID(int=0xBE, version=4)}.mp4"
    make_blob(service.downloads_dir / video_name, config.stream_bytes)
    return MediaLibrary(ids, video_name, config.stream_bytes)


def _head(port: int, request: Request) -> tuple[int, dict[str, str]]:
    wanted = urllib.request.Request(
        f"http://127.0.0.1:{port}{request.path}", headers=request.headers
    )
    try:
        with urllib.request.urlopen(wanted, timeout=10) as response:
            response.read()
            return response.status, dict(response.headers)
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers)


def _conditional(port: int, plain: list[Request]) -> list[Request]:
    """The same requests with the ETag this server gave each path, checked to answer 304."""
    requests = []
    for request in plain:
        status, headers = _head(port, request)
        etag = headers.get("ETag") or headers.get("etag")
        if status != 200 or not etag:
            raise RuntimeError(f"{request.path} on port {port}: {status}, ETag {etag!r}")
        requests.append(Request(request.path, {"If-None-Match": etag}))
    return requests


def _checked(port: int, requests: list[Request], status: int) -> list[Request]:
    for request in requests[:8]:
        answered, _ = _head(port, request)
        if answered != status:
            raise RuntimeError(f"{request.path} on port {port} answered {answered}, not {status}")
    return requests


def _checked_load(result: LoadResult, name: str) -> LoadResult:
    if result.errors > result.requests // 100:  # a figure of error pages means nothing
        raise RuntimeError(f"{name}: {result.errors} errors in {result.requests} requests")
    return result


def _pair(
    load: LoadGenerator,
    servers: tuple[int, int],
    requests: tuple[list[Request], list[Request]],
    connections: int,
    config: BenchConfig,
) -> Paired[LoadResult]:
    def run(which: int, name: str) -> LoadResult:
        result = load.run(
            servers[which],
            requests[which],
            connections=connections,
            duration_s=config.thumb_seconds,
        )
        return _checked_load(result, name)

    return take_turns(lambda: run(0, "service"), lambda: run(1, "nginx"), repeats=config.repeats)


def _rps(result: LoadResult) -> float:
    return result.rps


def _p99(result: LoadResult) -> float:
    return result.p99_s


def _per_second(value: float) -> str:
    return f"{value:,.0f}"


def _milliseconds(seconds: float) -> str:
    return f"{seconds * 1000:.1f}"


def _thumbnail_figures(
    report: Report,
    load: LoadGenerator,
    ports: tuple[int, int],
    ids: list[str],
    config: BenchConfig,
    under: str,
) -> None:
    """`under`: "" for the service as it ships, else the other server's suffix for names."""
    plain = [Request(f"/api/thumbnails/{task_id}") for task_id in ids]
    c = config.connections
    gets = _pair(load, ports, (_checked(ports[0], plain, 200), plain), c, config)
    conditional = (_conditional(ports[0], plain), _conditional(ports[1], plain))
    _checked(ports[1], conditional[1], 304)
    service_answer, _ = _head(ports[0], conditional[0][0])
    if service_answer != 304:
        report.detail(1, f"- The service answers {service_answer} to If-None-Match: no 304 path.")
    not_modified = _pair(load, ports, conditional, c, config)
    for name, number_suffix, paired, target in (
        ("GET", "", gets, THUMB_TARGET),
        ("If-None-Match (304)", " 304", not_modified, THUMB_304_TARGET),
    ):
        ours, theirs, ratio = paired.spread(_rps)
        our_p99, their_p99, _ = paired.spread(_p99)
        report.add(
            Figure(
                1,
                f"Thumbnails{number_suffix}, {c} connections{under}",
                f"{ours.text(_per_second)} req/s (p99 {our_p99.text(_milliseconds)} ms)",
                f"nginx {theirs.text(_per_second)} req/s (p99 {their_p99.text(_milliseconds)} ms)",
                ratio.median,
                f">= {target}",
                ratio.median >= target,
            ),
            f"- {name}{under}: median of {config.repeats} runs of {config.thumb_seconds:g} s each, "
            f"the service and nginx in turns; the ratio {ratio.text(_ratio)} (moved "
            f"{ratio.moved:.0%} of its median), the service's rate moved {ours.moved:.0%} and "
            f"nginx's {theirs.moved:.0%}. Requests: service "
            f"{sum(r.requests for r in paired.service):,} and nginx "
            f"{sum(r.requests for r in paired.reference):,}, errors "
            f"{sum(r.errors for r in paired.service)} and "
            f"{sum(r.errors for r in paired.reference)}, over {len(ids)} ids (every fourth a "
            "webp, so the probe misses once).",
        )


def _ratio(value: float) -> str:
    return f"{value:.3f}"


def _ranges(name: str, size: int) -> list[Request]:
    rng = random.Random(5)  # same ranges for both servers and every run
    starts = [rng.randrange(0, size - RANGE_BYTES) for _ in range(RANGE_COUNT)]
    return [
        Request(f"/api/stream/{name}", {"Range": f"bytes={s}-{s + RANGE_BYTES - 1}"})
        for s in starts
    ]


def _stream_figures(
    report: Report,
    load: LoadGenerator,
    ports: tuple[int, int],
    library: MediaLibrary,
    config: BenchConfig,
    under: str,
) -> None:
    full = [Request(f"/api/stream/{library.video_name}")]
    ranges = _ranges(library.video_name, library.video_size)
    _checked(ports[0], ranges, 206)
    _checked(ports[1], ranges, 206)
    size = mib(library.video_size)
    rc = config.range_connections
    for label, requests, connections, target in (
        (f"Streaming, full GET of {size}, 1 connection{under}", full, 1, STREAM_TARGET),
        (f"Streaming, random 1 MiB ranges, {rc} connections{under}", ranges, rc, RANGES_TARGET),
    ):

        def run(port: int, requests: list[Request] = requests, connections: int = connections
                ) -> LoadResult:  # fmt: skip
            return run_bulk_load(
                port, requests, connections=connections, duration_s=config.stream_seconds
            )

        paired = take_turns(lambda: run(ports[0]), lambda: run(ports[1]), repeats=config.repeats)
        ours, theirs, ratio = paired.spread(_bytes_per_s)
        report.add(
            Figure(
                2,
                label,
                f"{ours.text(_in_mib)} MiB/s",
                f"nginx {theirs.text(_in_mib)} MiB/s",
                ratio.median,
                f">= {target}",
                ratio.median >= target,
            ),
            f"- {label}: median of {config.repeats} runs of {config.stream_seconds:g} s each, "
            f"the service and nginx in turns; the ratio {ratio.text(_ratio)} (moved "
            f"{ratio.moved:.0%} of its median). Whole bodies read by the bulk client (4 MiB "
            f"reads; wrk's 8 KiB reads would cap both servers alike): "
            f"{sum(r.requests for r in paired.service):,} and "
            f"{sum(r.requests for r in paired.reference):,}.",
        )


def _bytes_per_s(result: LoadResult) -> float:
    return result.bytes_per_s


def _in_mib(count: float) -> str:
    return f"{count / 1024**2:.1f}"


def run_media_figures(
    report: Report, load: LoadGenerator, config: BenchConfig, scratch: Path, only: set[str]
) -> None:
    service = ApiService(scratch / "media-service")
    library = build_library(service, config, scratch)
    if nginx_path() is None:
        report.detail(1, "- Not measured: nginx is not installed (the reference).")
        report.detail(2, "- Not measured: nginx is not installed (the reference).")
        return
    nginx = NginxServer(
        scratch / "nginx", thumbnails=service.thumbnails_dir, downloads=service.downloads_dir
    )
    report.command(" ".join(nginx.command))
    servers = [("", service)]
    if importlib.util.find_spec("granian") is not None:
        granian = ApiService(scratch / "media-granian", media_root=service.root, server="granian")
        servers.append((", under granian", granian))
        report.command(" ".join(granian.command))
    with nginx:
        for under, server in servers:
            with server:
                ports = (server.port, nginx.port)
                if "thumbnails" in only:
                    _thumbnail_figures(report, load, ports, library.thumbnail_ids, config, under)
                if "stream" in only:
                    _stream_figures(report, load, ports, library, config, under)
