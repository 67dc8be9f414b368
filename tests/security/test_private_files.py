"""The signing key is never weak and never half-written, and the data folder, the database and
the key are the service user's alone, whatever the umask (issue 9, items 8 and 13)."""

import logging
import sqlite3
import stat
from pathlib import Path

import pytest

from offlinetube_api.security.keys import Scope
from offlinetube_api.security.signing import MediaSigner
from tests.api.test_auth import wait_for_auth
from tests.fixtures.keys import create_key
from tests.fixtures.service import ServiceFactory
from tests.fixtures.service_process import running_service

YEARS_S = 10 * 365 * 24 * 3600
MISSING_THUMBNAIL = "/api/thumbnails/6a0e9d4c-1f3b-4c2d-8e7a-5b9f0c1d2e3a"


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.stores("sqlite")  # distributed mode keeps its signing key in the database
@pytest.mark.parametrize("weak_key", [b"", b"0123456789"], ids=["empty", "short"])
def test_a_weak_signing_key_is_replaced_so_links_forged_with_it_fail(
    make_service: ServiceFactory,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    weak_key: bytes,
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "signing.key").write_bytes(weak_key)
    forged = MediaSigner(weak_key, ttl_s=YEARS_S).sign(MISSING_THUMBNAIL)
    caplog.set_level(logging.INFO, logger="offlinetube_api")

    service = make_service(data_dir=data)
    create_key(service.settings, Scope.READ)
    wait_for_auth(service)

    response = service.client.get(forged)
    assert response.status_code == 403, response.text  # a valid link would reach the 404
    new_key = (data / "signing.key").read_bytes()
    assert len(new_key) == 32 and new_key != weak_key
    assert _mode(data / "signing.key") == 0o600
    assert f"held {len(weak_key)} bytes" in caplog.text
    assert not [name for name in data.iterdir() if name.name.endswith(".tmp")]


@pytest.mark.stores("sqlite")  # distributed mode keeps its signing key in the database
def test_a_good_signing_key_is_kept_so_links_survive_a_restart(
    make_service: ServiceFactory, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "signing.key").write_bytes(b"k" * 32)
    signed = MediaSigner(b"k" * 32, ttl_s=3600).sign(MISSING_THUMBNAIL)

    service = make_service(data_dir=data)
    create_key(service.settings, Scope.READ)
    wait_for_auth(service)

    assert service.client.get(signed).status_code == 404
    assert (data / "signing.key").read_bytes() == b"k" * 32


def test_under_umask_000_the_data_is_private_and_nothing_is_world_writable(
    tmp_path: Path,
) -> None:
    with running_service(tmp_path, umask=0o000, log_level="warning") as service:
        assert service.client.get("/api/downloads").status_code == 200
        data = service.data_dir
        assert _mode(data) == 0o700
        for private in ("offlinetube.sqlite3", "offlinetube.sqlite3-wal", "signing.key"):
            assert _mode(data / private) == 0o600, private
        for public in ("downloads", "thumbnails"):
            assert _mode(tmp_path / public) == 0o755, public


@pytest.mark.stores("sqlite")  # distributed mode keeps its signing key in the database
def test_an_existing_install_open_to_everyone_is_made_private_at_start(
    make_service: ServiceFactory, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    data.mkdir(mode=0o777)
    data.chmod(0o777)
    sqlite3.connect(data / "offlinetube.sqlite3").close()
    (data / "signing.key").write_bytes(b"k" * 32)
    for made_open in (data / "offlinetube.sqlite3", data / "signing.key"):
        made_open.chmod(0o644)

    service = make_service(data_dir=data)

    assert service.client.get("/api/health").status_code == 200
    assert _mode(data) == 0o700
    assert _mode(data / "offlinetube.sqlite3") == 0o600
    assert _mode(data / "signing.key") == 0o600
