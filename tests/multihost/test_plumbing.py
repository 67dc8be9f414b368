"""The multi-host lab itself: every host reaches PostgreSQL and the site over its own link, the
test process reaches a service inside a host, a cut link passes nothing until it is restored,
and nothing the lab made outlives it."""

import json
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.fixtures import netns
from tests.fixtures.lab import Lab, python_environment
from tests.fixtures.netns import network
from tests.fixtures.processes import is_running
from tests.fixtures.service import wait_until
from tests.fixtures.service_process import free_port

# Connects to PostgreSQL and fetches a page of the site; prints the address PostgreSQL saw the
# connection come from, and the page's status.
_REACH = """
import os, httpx, psycopg
with psycopg.connect(os.environ["DATABASE"], connect_timeout=3) as connection:
    seen_from = connection.execute("SELECT host(inet_client_addr())").fetchone()[0]
status = httpx.get(os.environ["PAGE"], timeout=3).status_code
print(seen_from, status)
"""

_HOSTS = ("api1", "api2", "worker1", "worker2")


def _reach(lan: Lab, role: str) -> subprocess.CompletedProcess[str]:
    return lan.python(role, _REACH, DATABASE=lan.postgres.url(), PAGE=f"{lan.site_url}/plain")


@pytest.mark.parametrize("role", _HOSTS)
def test_each_host_reaches_postgresql_and_the_site_from_its_own_address(
    lan: Lab, role: str
) -> None:
    done = _reach(lan, role)

    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [lan.host(role).address, "200"]


def test_the_site_serves_real_media_at_its_throttled_pace(lan: Lab) -> None:
    response = httpx.get(f"{lan.site_url}/slow/2000000/clip.mp4", timeout=10)

    assert response.status_code == 200
    assert response.content[4:8] == b"ftyp"
    last = httpx.get(f"{lan.site_url}/transfers", timeout=10).json()[-1]
    assert (last["path"], last["range"], last["status"]) == ("/slow/2000000/clip.mp4", None, 200)


def test_a_database_of_its_own_per_call(lan: Lab) -> None:
    first, second = lan.postgres.database(), lan.postgres.database()

    assert first != second
    done = lan.python("worker1", _REACH, DATABASE=second, PAGE=f"{lan.site_url}/plain")
    assert done.returncode == 0, done.stderr


def test_the_test_process_and_other_hosts_reach_a_service_in_a_host(lan: Lab) -> None:
    api = lan.host("api1")
    port = free_port()
    variables = {
        "OFFLINETUBE_HOST": api.address,
        "OFFLINETUBE_PORT": str(port),
        "OFFLINETUBE_ALLOWED_HOSTS": api.address,
        "OFFLINETUBE_AUTH": "off",
        "OFFLINETUBE_DATA_DIR": str(lan.logs / "plumbing" / "data"),
        "OFFLINETUBE_DOWNLOADS_DIR": str(lan.logs / "plumbing" / "downloads"),
        "OFFLINETUBE_THUMBNAILS_DIR": str(lan.logs / "plumbing" / "thumbnails"),
    }
    process = api.popen(
        [sys.executable, "-m", "offlinetube_api"],
        log=lan.logs / "plumbing.log",
        env=python_environment(**variables),
    )
    health = f"http://{api.address}:{port}/api/health"

    def answers() -> bool:
        assert process.poll() is None, (lan.logs / "plumbing.log").read_text()
        try:
            return httpx.get(health, timeout=2).status_code == 200
        except httpx.TransportError:
            return False

    wait_until(answers, what="the service in api1")
    from_api2 = lan.python("api2", f"import httpx; print(httpx.get({health!r}).status_code)")
    assert from_api2.stdout.strip() == "200", from_api2.stderr


def test_a_cut_link_passes_nothing_either_way_until_it_is_restored(lan: Lab) -> None:
    worker = lan.host("worker2")
    worker.cut()
    try:
        cut_off = _reach(lan, "worker2")
        with pytest.raises(httpx.ConnectTimeout):  # silence, not a refusal
            httpx.get(f"http://{worker.address}:1/", timeout=1)
        unaffected = _reach(lan, "worker1")
    finally:
        worker.restore()

    assert cut_off.returncode != 0
    assert "timeout" in cut_off.stderr.lower(), cut_off.stderr
    assert unaffected.returncode == 0, unaffected.stderr
    restored = wait_until(
        lambda: (done := _reach(lan, "worker2")).returncode == 0 and done,
        what="worker2 to reach PostgreSQL again",
    )
    assert restored.stdout.split() == [worker.address, "200"]


def _namespaces() -> set[str]:
    listed = subprocess.run(["ip", "-j", "netns", "list"], capture_output=True, text=True)
    return {entry["name"] for entry in json.loads(listed.stdout or "[]")}


def _link_exists(name: str) -> bool:
    return subprocess.run(["ip", "link", "show", "dev", name], capture_output=True).returncode == 0


def test_closing_a_network_ends_its_processes_and_removes_its_hosts_and_bridge(
    tmp_path: Path,
) -> None:
    with network() as first, network() as second:
        host = first.add_host("probe")
        other = second.add_host("probe")
        # A process in a session of its own, as a download process is: the group of the
        # process that started it is not enough to end it.
        host.popen(["setsid", "-f", "sleep", "600"], log=tmp_path / "sleep.log")
        wait_until(lambda: len(host.pids()) == 1, what="the detached sleep")
        assert first.subnet != second.subnet
        assert host.namespace != other.namespace and host.link != other.link
        detached = host.pids()

    assert not {host.namespace, other.namespace} & _namespaces()
    assert not any(_link_exists(name) for name in (first.bridge, second.bridge, host.link))
    assert not any(is_running(pid) for pid in detached)


# A test run that makes a network, starts a process in it and is then killed outright.
# It says where things are only once its `sleep` is inside the namespace: `ip netns exec`
# enters it a moment after popen returns, later still on a busy machine.
_KILLED_RUN = """
import json, signal, sys
from pathlib import Path
from tests.fixtures.netns import Network, _namespace_pids
from tests.fixtures.service import wait_until
made = Network()
host = made.add_host("probe")
host.popen(["sleep", "600"], log=Path(sys.argv[1]))
wait_until(lambda: _namespace_pids(host.namespace), what="sleep inside the namespace")
print(json.dumps([made.bridge, host.namespace, host.link]), flush=True)
signal.pause()
"""


def test_a_new_network_removes_what_a_killed_run_left(tmp_path: Path) -> None:
    run = subprocess.Popen(
        [sys.executable, "-c", _KILLED_RUN, str(tmp_path / "sleep.log")],
        env=python_environment(),
        stdout=subprocess.PIPE,
        text=True,
    )
    assert run.stdout
    bridge, namespace, link = json.loads(run.stdout.readline())
    run.kill()
    run.wait()
    left = netns._namespace_pids(namespace)
    assert namespace in _namespaces() and _link_exists(bridge) and len(left) == 1

    with network():
        assert namespace not in _namespaces()
        assert not _link_exists(bridge) and not _link_exists(link)
        assert not any(is_running(pid) for pid in left)
