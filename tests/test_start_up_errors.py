"""A start that cannot work ends at once with exit code 2 and one line naming the variable to
change, its value and what would do; never a traceback (issue 14, item 2)."""

import socket
import time
from pathlib import Path

import pytest

from tests.fixtures.disks import tmpfs
from tests.fixtures.service_process import ServiceProcess

# Python's start and the checks; a refusal that waited for the whole start-up took longer.
REFUSAL_BOUND_S = 10.0


def _refusal(installation: ServiceProcess, *args: str) -> str:
    """stderr of a command that must be refused; checks its exit code and its speed."""
    started = time.monotonic()
    done = installation.command(*args)
    assert time.monotonic() - started < REFUSAL_BOUND_S
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    return done.stderr


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("LOG_LEVEL", "loud", "Input should be 'debug', 'info', 'warning' or 'error'"),
        ("LOG_FORMAT", "xml", "Input should be 'text' or 'json'"),
        ("PORT", "99999", "Input should be less than or equal to 65535"),
        (
            "PORT",
            "http",
            "Input should be a valid integer, unable to parse string as an integer",
        ),
        ("ALLOW_PRIVATE_NETWORKS", "10.0.0.1,lan", "value is not a valid IPv4 or IPv6 network"),
        *(
            (folder, "", "Value error, name a folder, or leave the variable unset for the default")
            for folder in ("DOWNLOADS_DIR", "THUMBNAILS_DIR", "DATA_DIR")
        ),
        (
            "PROXY",
            "sock5://10.0.0.2:1080",
            "Value error, the proxy must be a URL of http, https, socks4, socks4a, socks5, "
            "socks5h, or direct",
        ),
        (
            "JS_RUNTIME",
            "/nowhere/deno",
            "Value error, must be the path of a deno binary this user can run, or none",
        ),
    ],
)
def test_a_bad_setting_is_refused_in_one_line_naming_its_variable(
    tmp_path: Path, variable: str, value: str, expected: str
) -> None:
    installation = ServiceProcess(tmp_path, **{variable.lower(): value})

    stderr = _refusal(installation, "serve")

    # An item of a list is named by its list's variable.
    bad_item = value.split(",")[-1]
    assert stderr == f"OFFLINETUBE_{variable}: {expected} (got {bad_item!r})\n"


def test_a_bad_proxy_rule_is_told_without_its_password(tmp_path: Path) -> None:
    installation = ServiceProcess(tmp_path, proxy="youtube.com=socks5://me:secret@vpn.lan:99999")

    assert _refusal(installation, "serve") == (
        "OFFLINETUBE_PROXY: Value error, the proxy of youtube.com must be "
        "<scheme>://[user:password@]host[:port] (got 'youtube.com=socks5://me:***@vpn.lan:99999')\n"
    )


def test_a_busy_port_is_refused_in_one_line(tmp_path: Path) -> None:
    installation = ServiceProcess(tmp_path)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", installation.port))
        taken.listen()

        stderr = _refusal(installation, "serve")

    assert stderr == (
        f"OFFLINETUBE_PORT: port {installation.port} on 127.0.0.1 is already in use by another "
        f"program; choose a free port from 1 to 65535, or stop that program "
        f"(got '{installation.port}')\n"
    )
    assert not installation.database.exists(), "refused before anything started"


def test_a_host_that_is_not_this_machine_is_refused_in_one_line(tmp_path: Path) -> None:
    installation = ServiceProcess(tmp_path, host="192.0.2.1", auth="off")  # TEST-NET-1

    stderr = _refusal(installation, "serve")

    assert stderr.startswith("OFFLINETUBE_HOST: cannot listen on 192.0.2.1:")
    assert stderr.endswith("(got '192.0.2.1')\n")


@pytest.mark.parametrize("variable", ["DATA_DIR", "DOWNLOADS_DIR", "THUMBNAILS_DIR"])
def test_a_folder_that_cannot_be_made_is_refused_naming_its_variable(
    tmp_path: Path, variable: str
) -> None:
    (tmp_path / "a-file").write_text("not a folder")
    folder = tmp_path / "a-file" / "media"
    installation = ServiceProcess(tmp_path, **{variable.lower(): str(folder)})

    stderr = _refusal(installation, "serve")

    assert stderr == (
        f"OFFLINETUBE_{variable}: must be a folder this user can create and write in; "
        f"Not a directory (got '{folder}')\n"
    )


def test_a_read_only_downloads_folder_is_refused_for_the_worker_too(
    tmp_path: Path, postgres_url: str
) -> None:
    with tmpfs(tmp_path / "read-only", 1024 * 1024, read_only=True) as folder:
        for command, settings in (("serve", {}), ("worker", {"database_url": postgres_url})):
            installation = ServiceProcess(tmp_path, downloads_dir=str(folder), **settings)

            stderr = _refusal(installation, command)

            assert stderr == (
                "OFFLINETUBE_DOWNLOADS_DIR: must be a folder this user can create and write "
                f"in; Read-only file system (got '{folder}')\n"
            )


def test_a_misspelt_variable_is_named_at_start_with_the_setting_it_resembles(
    installation: ServiceProcess,
) -> None:
    # Ignored by the settings, so the port stays what it was: only the warning tells.
    installation.settings |= {"prot": "8002", "download_dir": "/srv/videos", "zzz": "1"}

    client = installation.start()

    assert client.get("/healthz").status_code == 200
    warnings = [line for line in installation.output.splitlines() if "is not a setting" in line]
    assert warnings == [
        "WARNING offlinetube_api.config: OFFLINETUBE_DOWNLOAD_DIR is not a setting of this "
        "service and is ignored; did you mean OFFLINETUBE_DOWNLOADS_DIR?",
        "WARNING offlinetube_api.config: OFFLINETUBE_PROT is not a setting of this service "
        "and is ignored; did you mean OFFLINETUBE_PORT?",
        "WARNING offlinetube_api.config: OFFLINETUBE_ZZZ is not a setting of this service "
        "and is ignored",
    ]
