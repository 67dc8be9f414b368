"""The test process stays on this machine: the audit hook of tests/fixtures/offline.py refuses
public addresses and DNS lookups, and lets loopback, private addresses and local names through."""

import socket
import subprocess
import sys

import pytest

from tests.fixtures.offline import OffMachineConnection, refusal


@pytest.mark.parametrize(
    "host", ["127.0.0.1", "::1", "10.213.0.2", "192.168.1.1", "fe80::1%1", "localhost", None]
)
def test_local_hosts_are_let_through(host: str | None) -> None:
    assert refusal(host) is None


@pytest.mark.parametrize(
    ("host", "reason"),
    [
        ("8.8.8.8", "8.8.8.8 is a public address"),
        ("::ffff:8.8.8.8", "::ffff:8.8.8.8 is a public address"),
        ("2001:4860:4860::8888", "2001:4860:4860::8888 is a public address"),
        ("example.com", "looking up 'example.com' would ask a DNS server"),
        (b"x.test", "looking up 'x.test' would ask a DNS server"),
    ],
)
def test_hosts_off_this_machine_are_refused(host: str | bytes, reason: str) -> None:
    assert refusal(host) == reason


def test_a_connection_to_a_public_address_is_refused_before_it_is_made() -> None:
    """The event is raised by hand, as socket.connect raises it first thing: nothing is sent
    even if the hook were broken."""
    with (
        socket.socket() as sock,
        pytest.raises(OffMachineConnection, match=r"8\.8\.8\.8 is a public"),
    ):
        sys.audit("socket.connect", sock, ("8.8.8.8", 53))


def test_a_lookup_of_a_public_name_is_refused() -> None:
    with pytest.raises(OffMachineConnection, match=r"'example\.com' would ask a DNS server"):
        sys.audit("socket.getaddrinfo", "example.com", 80, 0, 0, 0)


def test_a_loopback_connection_goes_through() -> None:
    with socket.create_server(("127.0.0.1", 0)) as server:
        socket.create_connection(server.getsockname(), timeout=5).close()


def test_a_python_process_the_tests_start_is_guarded_too() -> None:
    """As the service's forkserver and download processes are: the lookup is refused before
    any DNS server is asked, in the child's own interpreter."""
    lookup = "import socket; socket.getaddrinfo('example.com', 80)"

    child = subprocess.run([sys.executable, "-c", lookup], capture_output=True, text=True)

    assert child.returncode == 1
    assert "OffMachineConnection: a test tried to leave this machine: looking up 'example.com'" in (
        child.stderr
    )
