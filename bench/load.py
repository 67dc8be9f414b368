"""Load generation: wrk when it is installed, else a small asyncio HTTP/1.1 client; and a paced
prober that measures the latency of one request at a time."""

import asyncio
import http.client
import re
import shutil
import socket
import statistics
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

_UNITS = {"B": 1, "KB": 1024, "MB": 1024**2, "GB": 1024**3, "TB": 1024**4}
_TIME_UNITS = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}


@dataclass(frozen=True)
class Request:
    path: str
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class LoadResult:
    requests: int
    seconds: float
    bytes_read: int
    p50_s: float
    p99_s: float
    errors: int

    @property
    def rps(self) -> float:
        return self.requests / self.seconds

    @property
    def bytes_per_s(self) -> float:
        return self.bytes_read / self.seconds


def wrk_path() -> str | None:
    return shutil.which("wrk")


def _lua_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _wrk_script(requests: list[Request], folder: Path) -> Path:
    """Cycles through `requests`, so every connection asks for the same mix."""
    lines = ["local reqs = {"]
    for request in requests:
        # wrk.format adds no Host header at load time, and nginx answers 400 without one.
        fields = {"Host": "127.0.0.1", **request.headers}
        headers = ", ".join(f"[{_lua_string(k)}] = {_lua_string(v)}" for k, v in fields.items())
        lines.append(f'  wrk.format("GET", {_lua_string(request.path)}, {{{headers}}}),')
    lines += [
        "}",
        "local i = 0",
        "request = function()",
        "  i = i % #reqs + 1",
        "  return reqs[i]",
        "end",
    ]
    script = folder / f"requests-{len(list(folder.glob('requests-*.lua')))}.lua"
    script.write_text("\n".join(lines) + "\n")
    return script


def _seconds(value: str, unit: str) -> float:
    return float(value) * _TIME_UNITS[unit]


def parse_wrk(output: str, duration_s: float) -> LoadResult:
    done = re.search(r"(\d+) requests in ([\d.]+)(us|ms|s|m), ([\d.]+)([KMGT]?B) read", output)
    if done is None:
        raise RuntimeError(f"unexpected wrk output:\n{output}")
    p50 = re.search(r"50%\s+([\d.]+)(us|ms|s|m)", output)
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s|m)", output)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    socket_errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    return LoadResult(
        requests=int(done[1]),
        seconds=_seconds(done[2], done[3]) or duration_s,
        bytes_read=int(float(done[4]) * _UNITS[done[5]]),
        p50_s=_seconds(p50[1], p50[2]) if p50 else float("nan"),
        p99_s=_seconds(p99[1], p99[2]) if p99 else float("nan"),
        errors=(int(errors[1]) if errors else 0)
        + (sum(int(n) for n in socket_errors.groups()) if socket_errors else 0),
    )


def run_wrk(
    port: int, requests: list[Request], *, connections: int, duration_s: float, folder: Path
) -> LoadResult:
    script = _wrk_script(requests, folder)
    threads = min(2, connections)
    command = [
        "wrk", f"-t{threads}", f"-c{connections}", f"-d{max(1, round(duration_s))}s", "--latency",
        "-s", str(script), f"http://127.0.0.1:{port}",
    ]  # fmt: skip
    completed = subprocess.run(
        command, capture_output=True, text=True, timeout=duration_s + 60, check=True
    )
    return parse_wrk(completed.stdout, duration_s)


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, int]:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    left = length
    while left:
        left -= len(await reader.read(min(left, 1 << 20)))
    return status, len(head) + length


async def _connection_loop(
    port: int, wire: list[bytes], offset: int, stop_at: float, out: list[tuple[float, int, int]]
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    n = offset
    try:
        while time.perf_counter() < stop_at:
            started = time.perf_counter()
            writer.write(wire[n % len(wire)])
            status, size = await _read_response(reader)
            out.append((time.perf_counter() - started, status, size))
            n += 1
    finally:
        writer.close()


async def _python_load(
    port: int, requests: list[Request], connections: int, duration_s: float
) -> LoadResult:
    wire = [_wire(request) for request in requests]
    out: list[tuple[float, int, int]] = []
    started = time.perf_counter()
    stop_at = started + duration_s
    loops = [_connection_loop(port, wire, n, stop_at, out) for n in range(connections)]
    await asyncio.gather(*loops)
    seconds = time.perf_counter() - started
    latencies = sorted(latency for latency, _, _ in out)
    return LoadResult(
        requests=len(out),
        seconds=seconds,
        bytes_read=sum(size for _, _, size in out),
        p50_s=percentile(latencies, 50),
        p99_s=percentile(latencies, 99),
        errors=sum(1 for _, status, _ in out if status >= 400),
    )


def _wire(request: Request) -> bytes:
    headers = "".join(f"{name}: {value}\r\n" for name, value in request.headers.items())
    return f"GET {request.path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{headers}\r\n".encode()


def run_python_load(
    port: int, requests: list[Request], *, connections: int, duration_s: float
) -> LoadResult:
    """The fallback when wrk is missing. It is slower than the servers it drives, so ratios
    measured with it understate the faster server; RESULTS.md says which generator ran."""
    return asyncio.run(_python_load(port, requests, connections, duration_s))


def percentile(sorted_values: list[float], pct: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, round(pct / 100 * (len(sorted_values) - 1)))
    return sorted_values[index]


@dataclass(frozen=True)
class Latencies:
    p50_s: float
    p99_s: float
    p999_s: float
    count: int


def probe(port: int, path: str, *, count: int, interval_s: float) -> Latencies:
    """One request at a time on one keep-alive connection, paced: what a page feels, not what
    a saturated server manages."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    samples: list[float] = []
    try:
        for _ in range(count):
            started = time.perf_counter()
            connection.request("GET", path)
            response = connection.getresponse()
            response.read()
            samples.append(time.perf_counter() - started)
            time.sleep(max(0.0, interval_s - samples[-1]))
    finally:
        connection.close()
    samples.sort()
    return Latencies(
        percentile(samples, 50), percentile(samples, 99), percentile(samples, 99.9), len(samples)
    )


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


@dataclass(frozen=True)
class LoadGenerator:
    """wrk if it can be used, else the Python client; `name` goes into RESULTS.md."""

    name: str
    folder: Path

    def run(
        self, port: int, requests: list[Request], *, connections: int, duration_s: float
    ) -> LoadResult:
        if self.name == "wrk":
            return run_wrk(
                port, requests, connections=connections, duration_s=duration_s, folder=self.folder
            )
        return run_python_load(port, requests, connections=connections, duration_s=duration_s)


def choose_generator(folder: Path, wanted: str) -> LoadGenerator:
    """`wanted` is `auto`, `wrk` or `python`."""
    if wanted == "python" or (wanted == "auto" and wrk_path() is None):
        return LoadGenerator("python", folder)
    if wrk_path() is None:
        raise RuntimeError("BENCH_LOADGEN=wrk but wrk is not installed")
    return LoadGenerator("wrk", folder)


def _sink(port: int, wire: list[bytes], offset: int, stop_at: float, out: list[int]) -> None:
    """Reads whole bodies into one large buffer: at gigabytes a second the client's read size
    decides the figure (wrk reads 8 KiB at a time), so this one reads 4 MiB at a time."""
    buffer = memoryview(bytearray(4 * 1024 * 1024))
    with socket.create_connection(("127.0.0.1", port)) as connection:
        n = offset
        while time.perf_counter() < stop_at:
            connection.sendall(wire[n % len(wire)])
            head = b""
            while b"\r\n\r\n" not in head:
                head += connection.recv(4096)
            head, _, body = head.partition(b"\r\n\r\n")
            length = int(re.search(rb"(?i)content-length: *(\d+)", head)[1])  # type: ignore[index]
            left = length - len(body)
            while left:
                left -= connection.recv_into(buffer, min(left, len(buffer)))
            out.append(length)
            n += 1


def run_bulk_load(
    port: int, requests: list[Request], *, connections: int, duration_s: float
) -> LoadResult:
    """Throughput of large bodies, one thread per connection (recv releases the GIL)."""
    wire = [_wire(request) for request in requests]
    out: list[int] = []
    started = time.perf_counter()
    threads = [
        threading.Thread(target=_sink, args=(port, wire, n, started + duration_s, out))
        for n in range(connections)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    return LoadResult(len(out), seconds, sum(out), float("nan"), float("nan"), 0)
