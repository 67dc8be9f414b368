"""Fixtures shared by the whole suite: real media, a real video site on 127.0.0.1, and the
real service behind real HTTP."""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from offlinetube_api.store import PostgresTaskStore, SqliteTaskStore
from tests.fixtures.canary import CanaryServer
from tests.fixtures.media import make_media
from tests.fixtures.postgres import Databases, postgres_server
from tests.fixtures.service import RunningService, ServiceFactory, start_service
from tests.fixtures.service_process import ServiceProcess
from tests.fixtures.site import FixtureSite
from tests.fixtures.stores import StoreFactory


@pytest.fixture(scope="session")
def media_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_media(tmp_path_factory.mktemp("media"))


@pytest.fixture(scope="session")
def site(media_dir: Path) -> Iterator[FixtureSite]:
    running = FixtureSite(media_dir).start()
    yield running
    running.stop()


@pytest.fixture
def make_service(tmp_path: Path) -> Iterator[ServiceFactory]:
    """Starts the service on a free port with its folders under tmp_path; stops it after."""
    started: list[RunningService] = []

    def factory(**overrides: Any) -> RunningService:
        service = start_service(tmp_path / f"service-{len(started)}", **overrides)
        started.append(service)
        return service

    yield factory
    for service in reversed(started):
        service.stop()


@pytest.fixture
def service(make_service: ServiceFactory) -> RunningService:
    return make_service()


@pytest.fixture
def canary() -> Iterator[CanaryServer]:
    """An internal web server on another loopback address that no download may reach."""
    server = CanaryServer().start()
    yield server
    server.stop()


@pytest.fixture
def guarded_service(make_service: ServiceFactory, site: FixtureSite) -> RunningService:
    """The service with the SSRF guard on, admitting the fixture site's address alone."""
    return make_service(allow_private_urls=False, allow_private_networks=["127.0.0.1"])


@pytest.fixture
def service_process(tmp_path: Path) -> Iterator[ServiceProcess]:
    """`python -m offlinetube_api` in its own process, for tests that kill or restart it."""
    service = ServiceProcess(tmp_path, allow_private_urls="true")
    yield service
    service.stop()


@pytest.fixture
def installation(tmp_path: Path) -> Iterator[ServiceProcess]:
    """Like `service_process`, with its folders in `tmp_path/install`, so a test can keep other
    files (a backup, a copy) beside the installation rather than in it."""
    made = ServiceProcess(tmp_path / "install", allow_private_urls="true")
    made.root.mkdir()
    yield made
    made.stop()


@pytest.fixture(scope="session")
def postgres_databases() -> Iterator[Databases]:
    """A PostgreSQL server (see tests/fixtures/postgres.py) and a template database on it."""
    with postgres_server() as server_url:
        databases = Databases(server_url).prepare()
        yield databases
        databases.drop_template()


@pytest.fixture
def postgres_url(postgres_databases: Databases) -> Iterator[str]:
    """A database of the test's own, migrated, dropped after the test."""
    url = postgres_databases.new()
    yield url
    postgres_databases.drop(url)


@pytest.fixture
def replica_settings(postgres_url: str, tmp_path: Path) -> dict[str, str]:
    """What the replicas of one distributed installation share: one PostgreSQL database and
    one media folder (each keeps a data folder of its own)."""
    return {
        "database_url": postgres_url,
        "downloads_dir": str(tmp_path / "shared" / "downloads"),
        "thumbnails_dir": str(tmp_path / "shared" / "thumbnails"),
    }


@pytest.fixture
def make_replica(make_service: ServiceFactory, replica_settings: dict[str, str]) -> ServiceFactory:
    """Replicas of one distributed installation, each an app of its own, in this process."""
    return lambda **overrides: make_service(**(replica_settings | overrides))


@pytest.fixture(params=["sqlite", "postgresql"])
def task_store(request: pytest.FixtureRequest, tmp_path: Path) -> StoreFactory:
    """Each backend in turn, on a database of the test's own."""
    if request.param == "postgresql":
        url: str = request.getfixturevalue("postgres_url")
        return StoreFactory("postgresql", lambda: PostgresTaskStore(url))
    return StoreFactory("sqlite", lambda: SqliteTaskStore(tmp_path / "db.sqlite3"))
