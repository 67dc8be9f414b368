"""The servers under test, each started by the suite on 127.0.0.1 and stopped after: nginx with
a config written to a temp dir, and the service as its own process, as it runs in production."""

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import TracebackType
from typing import Self

NGINX_CANDIDATES = ("nginx", "/usr/sbin/nginx")
REPOSITORY = Path(__file__).resolve().parent.parent
# A service on a library of 1,000,000 tasks reads every task's file name at start-up before it
# answers; on a shared 2-core machine that can take tens of seconds. A deadline, not a wait.
START_DEADLINE_S = 120.0

_NGINX_CONF = """\
worker_processes 1;
daemon off;
pid {root}/nginx.pid;
error_log {root}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 1000000;
    client_body_temp_path {root}/body;
    proxy_temp_path {root}/proxy;
    fastcgi_temp_path {root}/fastcgi;
    uwsgi_temp_path {root}/uwsgi;
    scgi_temp_path {root}/scgi;
    types {{ image/jpeg jpg; image/webp webp; image/png png; video/mp4 mp4; }}
    server {{
        listen 127.0.0.1:{port};
        location ~ "^/api/thumbnails/([0-9a-fA-F-]{{36}})$" {{
            root {thumbnails};
            try_files /$1.jpg /$1.webp /$1.png =404;
        }}
        location /api/stream/ {{
            alias {downloads}/;
        }}
    }}
}}
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def nginx_path() -> str | None:
    for candidate in NGINX_CANDIDATES:
        found = shutil.which(candidate)
        if found:
            return found
    return None


def _wait_http(url: str, process: subprocess.Popen[bytes], what: str) -> None:
    give_up = time.monotonic() + START_DEADLINE_S
    while time.monotonic() < give_up:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with code {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except urllib.error.HTTPError:
            return  # it answers; a 404 is still an answer
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{what} did not answer {url} within {START_DEADLINE_S}s")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class NginxServer:
    """One nginx worker (the service is one process too), sendfile on, access log off."""

    def __init__(self, root: Path, *, thumbnails: Path, downloads: Path) -> None:
        binary = nginx_path()
        if binary is None:
            raise RuntimeError("nginx is not installed")
        self.port = free_port()
        root.mkdir(parents=True, exist_ok=True)
        conf = root / "nginx.conf"
        conf.write_text(
            _NGINX_CONF.format(
                root=root, port=self.port, thumbnails=thumbnails, downloads=downloads
            )
        )
        self.command = [binary, "-p", str(root), "-e", str(root / "error.log"), "-c", str(conf)]
        self._process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Self:
        self._process = subprocess.Popen(self.command, stdin=subprocess.DEVNULL)
        _wait_http(f"http://127.0.0.1:{self.port}/", self._process, "nginx")
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._process is not None:
            _stop(self._process)


class ApiService:
    """`python -m offlinetube_api` with its folders under `root`, in its default configuration
    (what `make run` starts, its logging included), its stdout and stderr appended to
    `root/service.log` as a log collector would keep them. `media_root`: where the downloads and
    thumbnails folders are, when several processes share them (distributed mode); `root` by
    default. Settings are `OFFLINETUBE_<NAME>` variables (`database_url="postgresql://..."`:
    distributed mode)."""

    def __init__(
        self,
        root: Path,
        *,
        media_root: Path | None = None,
        arguments: tuple[str, ...] = (),
        server: str = "uvicorn",
        **settings: str,
    ) -> None:
        """`server`: "uvicorn" (`offlinetube-api serve`, what ships) or "granian" (the same app
        under granian, see bench/granian_app.py; `arguments` then unused)."""
        self.root = root
        self.server = server
        self.port = free_port()
        self.downloads_dir = (media_root or root) / "downloads"
        self.thumbnails_dir = (media_root or root) / "thumbnails"
        self.data_dir = root / "data"
        self.env = {
            **os.environ,
            "OFFLINETUBE_PORT": str(self.port),
            "OFFLINETUBE_DOWNLOADS_DIR": str(self.downloads_dir),
            "OFFLINETUBE_THUMBNAILS_DIR": str(self.thumbnails_dir),
            "OFFLINETUBE_DATA_DIR": str(self.data_dir),
            # The fixture site is on 127.0.0.1, which the service refuses by default.
            "OFFLINETUBE_ALLOW_PRIVATE_URLS": "true",
            **{f"OFFLINETUBE_{name.upper()}": value for name, value in settings.items()},
        }
        self.command = [sys.executable, "-m", "offlinetube_api", *arguments]
        if server == "granian":
            self.env["PYTHONPATH"] = str(REPOSITORY)  # bench.granian_app, from any folder
            self.command = [
                *(sys.executable, "-m", "granian", "--interface", "asgi", "--factory"),
                *("--host", "127.0.0.1", "--port", str(self.port), "--workers", "1"),
                *("--loop", "uvloop", "--no-ws", "bench.granian_app:app"),
            ]
        self.log_path = root / "service.log"
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self._process is not None
        return self._process.pid

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Self:
        self.root.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self._process = subprocess.Popen(
                self.command, cwd=self.root, env=self.env, stdin=subprocess.DEVNULL,
                stdout=log, stderr=log,
            )  # fmt: skip
        try:
            _wait_http(f"{self.base_url}/api/health", self._process, "the service")
        except RuntimeError as error:
            last = self.log_path.read_text(errors="replace").splitlines()[-20:]
            raise RuntimeError(f"{error}; {self.log_path} ends:\n" + "\n".join(last)) from None
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._process is not None:
            _stop(self._process)


class WorkerProcess:
    """`python -m offlinetube_api worker --concurrency <slots>`, with the settings of `like`
    (an ApiService that is not started: its folders and database). It has no HTTP: whoever
    starts it waits for it another way (procrastinate's table of workers)."""

    def __init__(self, like: ApiService, slots: int) -> None:
        self.root = like.root
        self.env = like.env
        self.command = [sys.executable, "-m", "offlinetube_api", "worker", f"--concurrency={slots}"]
        self._process: subprocess.Popen[bytes] | None = None

    def alive(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def __enter__(self) -> Self:
        self.root.mkdir(parents=True, exist_ok=True)
        self._process = subprocess.Popen(
            self.command, cwd=self.root, env=self.env, stdin=subprocess.DEVNULL
        )
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._process is not None:
            _stop(self._process)


def _proc_kib_field(path: str, field: str) -> int:
    """A `Field: <n> kB` line of a /proc file, in bytes; 0 if the process is gone."""
    try:
        text = Path(path).read_text()
    except OSError:
        return 0
    for line in text.splitlines():
        if line.startswith(field):
            return int(line.split()[1]) * 1024
    return 0


def rss_bytes(pid: int) -> int:
    """Resident set size."""
    return _proc_kib_field(f"/proc/{pid}/status", "VmRSS:")


def uss_bytes(pid: int) -> int:
    """Unique set size: the resident pages no other process maps (private, clean or dirty)."""
    rollup = f"/proc/{pid}/smaps_rollup"
    return _proc_kib_field(rollup, "Private_Clean:") + _proc_kib_field(rollup, "Private_Dirty:")


def pss_bytes(pid: int) -> int:
    """Proportional set size: shared pages (a forkserver's imports) split among sharers."""
    return _proc_kib_field(f"/proc/{pid}/smaps_rollup", "Pss:")


def descendants(pid: int) -> list[int]:
    """Every process below `pid`, from /proc/*/stat parent links."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found: list[int] = []
    frontier = [pid]
    while frontier:
        below = children.get(frontier.pop(), [])
        found += below
        frontier += below
    return found


def command_line(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
    except OSError:
        return ""
