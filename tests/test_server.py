"""Slow-loris against the real server process: clients that open many connections and trickle
their request heads neither starve other clients nor hold a connection past
OFFLINETUBE_HEADER_TIMEOUT."""

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx
import pytest

from tests.fixtures.service_process import ServiceProcess, running_service

# The attackers come from another loopback address than the client that must still be served.
ATTACKER = "127.0.0.2"
TRICKLERS = 300
# With the default limit of 1,024 open files, 1,100 trickling sockets exhausted the server's
# descriptors, so nothing new was accepted; a lower limit makes a few hundred do the same.
SERVER_OPEN_FILES = 256
HEALTH_DEADLINE_S = 1.0
TRICKLE_INTERVAL_S = 0.1
REQUEST_HEAD = b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"a" * 10_000


def _connect(server: ServiceProcess, source: str = "127.0.0.1") -> socket.socket:
    address = ("127.0.0.1", server.port)
    return socket.create_connection(address, timeout=5, source_address=(source, 0))


class Trickler:
    """Sockets that each send one more byte of a request head every TRICKLE_INTERVAL_S."""

    def __init__(self, sockets: list[socket.socket]) -> None:
        self._sockets = sockets
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        position = 0
        while not self._stop.wait(TRICKLE_INTERVAL_S):
            byte = REQUEST_HEAD[position % len(REQUEST_HEAD) : position % len(REQUEST_HEAD) + 1]
            for sock in self._sockets:
                # A socket the server closed (refused, or timed out) fails: that is fine.
                with contextlib.suppress(OSError):
                    sock.send(byte)
            position += 1

    @contextmanager
    def running(self) -> Iterator[None]:
        self._thread.start()
        try:
            yield
        finally:
            self._stop.set()
            self._thread.join()


def test_trickling_sockets_do_not_starve_health(tmp_path: Path) -> None:
    with ExitStack() as stack:
        server = stack.enter_context(
            running_service(tmp_path, open_files=SERVER_OPEN_FILES, log_level="warning")
        )
        sockets = [stack.enter_context(_connect(server, ATTACKER)) for _ in range(TRICKLERS)]
        stack.enter_context(Trickler(sockets).running())

        answers = [
            httpx.get(f"{server.base_url}/api/health", timeout=HEALTH_DEADLINE_S) for _ in range(20)
        ]

    assert [answer.status_code for answer in answers] == [200] * 20


def test_connections_beyond_the_cap_are_refused_with_json_503(tmp_path: Path) -> None:
    with ExitStack() as stack:
        server = stack.enter_context(
            running_service(tmp_path, max_connections_per_client="5", log_level="warning")
        )
        held = [stack.enter_context(_connect(server, ATTACKER)) for _ in range(5)]
        refused = stack.enter_context(_connect(server, ATTACKER))
        other_client = httpx.get(f"{server.base_url}/api/health", timeout=10)

        refusal = b"".join(iter(lambda: refused.recv(65536), b""))
        held[0].close()
        admitted = _wait_for_admission(server, ATTACKER)

    head, _, body = refusal.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 503 ")
    assert b"retry-after: " in head and b"content-type: application/json" in head
    assert b"Too many connections" in body
    assert other_client.status_code == 200
    assert admitted.status_code == 200


def _wait_for_admission(server: ServiceProcess, source: str) -> httpx.Response:
    """The first answer to `source` that is not the refusal; the server may take a moment to
    see that a held connection closed."""
    transport = httpx.HTTPTransport(local_address=source)
    give_up = time.monotonic() + 15
    with httpx.Client(transport=transport, timeout=10) as client:
        while True:
            try:
                response = client.get(f"{server.base_url}/api/health")
            except httpx.TransportError:
                response = None
            if (response is not None and response.status_code != 503) or time.monotonic() > give_up:
                assert response is not None
                return response
            time.sleep(0.05)


def _seconds_until_closed(sock: socket.socket, trickle: bytes, deadline_s: float) -> float:
    """Sends `trickle` a byte at a time (nothing when empty) until the server closes the
    connection; how long that took, or fails after `deadline_s`."""
    sock.settimeout(TRICKLE_INTERVAL_S)
    started = time.monotonic()
    position = 0
    while time.monotonic() - started < deadline_s:
        try:
            if position < len(trickle):
                sock.send(trickle[position : position + 1])
                position += 1
            if sock.recv(65536) == b"":
                return time.monotonic() - started
        except TimeoutError:
            continue
        except OSError:  # reset or broken pipe: closed
            return time.monotonic() - started
    raise AssertionError(f"the server kept the connection open for {deadline_s} s")


HEADER_TIMEOUT_S = 1.0
CLOSE_DEADLINE_S = 20.0


@pytest.fixture(scope="module")
def quick_timeout_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    root = tmp_path_factory.mktemp("quick-timeout")
    with running_service(root, header_timeout=str(HEADER_TIMEOUT_S), log_level="warning") as server:
        yield server


@pytest.mark.parametrize("sends", ["a trickled head", "nothing"])
def test_connection_without_a_whole_head_is_closed_after_the_header_timeout(
    quick_timeout_server: ServiceProcess, sends: str
) -> None:
    trickle = REQUEST_HEAD if sends == "a trickled head" else b""
    with _connect(quick_timeout_server) as sock:
        lasted = _seconds_until_closed(sock, trickle, CLOSE_DEADLINE_S)

    assert lasted >= HEADER_TIMEOUT_S * 0.9  # never before the timeout


def test_kept_alive_connection_trickling_its_next_head_is_closed(
    quick_timeout_server: ServiceProcess,
) -> None:
    with _connect(quick_timeout_server) as sock:
        sock.sendall(b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        first = sock.recv(65536)
        lasted = _seconds_until_closed(sock, REQUEST_HEAD, CLOSE_DEADLINE_S)

    assert first.startswith(b"HTTP/1.1 200 ")
    assert lasted >= HEADER_TIMEOUT_S * 0.9


def test_head_sent_in_pieces_within_the_timeout_is_answered(
    quick_timeout_server: ServiceProcess,
) -> None:
    pieces = [b"GET /api/health HTTP/1.1\r\n", b"Host: 127.0.0.1\r\n", b"\r\n"]
    with _connect(quick_timeout_server) as sock:
        for piece in pieces:
            sock.sendall(piece)
            time.sleep(0.05)  # pacing the client, not waiting for a state
        answer = sock.recv(65536)

    assert answer.startswith(b"HTTP/1.1 200 ")
