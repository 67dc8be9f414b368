"""Fixtures shared by the whole suite: real media, a real video site on 127.0.0.1, and the
real service behind real HTTP."""

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from offlinetube_api.store import PostgresTaskStore, SqliteTaskStore
from tests.fixtures.canary import CanaryServer
from tests.fixtures.forward_proxy import ForwardProxy
from tests.fixtures.media import make_media
from tests.fixtures.offline import guard_the_processes_it_starts, keep_tests_on_this_machine
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


STORE_BACKENDS = ("sqlite", "postgresql")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--store",
        action="append",
        choices=STORE_BACKENDS,
        help="run the service tests on this store backend only (repeatable; default: both)",
    )


def pytest_configure(config: pytest.Config) -> None:
    keep_tests_on_this_machine()
    guard_the_processes_it_starts()
    config.addinivalue_line(
        "markers",
        "stores(*backends): the store backends a service test runs on, when not all "
        "(a test of SQLite's file, say)",
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Every test that starts the service runs once per store backend: embedded mode on
    SQLite, distributed mode on PostgreSQL (an API replica that runs its own worker)."""
    if "store_backend" not in metafunc.fixturenames:
        return
    marker = metafunc.definition.get_closest_marker("stores")
    backends: tuple[str, ...] = marker.args if marker else STORE_BACKENDS
    if "replica_settings" in metafunc.fixturenames:  # replicas share a PostgreSQL database
        backends = ("postgresql",)
    chosen = metafunc.config.getoption("store") or STORE_BACKENDS
    metafunc.parametrize("store_backend", [b for b in backends if b in chosen])


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The multi-host tests run one after another on one pytest-xdist worker: each runs four
    hosts' worth of processes, and two at once would starve each other's deadlines."""
    for item in items:
        if item.path.parent.name == "multihost":
            item.add_marker(pytest.mark.xdist_group("multihost"))


@pytest.fixture
def service_databases(
    request: pytest.FixtureRequest, store_backend: str
) -> Iterator[Callable[[], dict[str, str]]]:
    """Settings that put one installation's store on the test's backend: nothing for SQLite
    (the data folder holds it), else `database_url` naming a new database of its own."""
    made: list[tuple[Databases, str]] = []

    def settings() -> dict[str, str]:
        if store_backend == "sqlite":
            return {}
        databases: Databases = request.getfixturevalue("postgres_databases")
        made.append((databases, databases.new()))
        return {"database_url": made[-1][1]}

    yield settings
    for databases, url in made:
        databases.drop(url)


@pytest.fixture
def make_service(
    tmp_path: Path, service_databases: Callable[[], dict[str, str]]
) -> Iterator[ServiceFactory]:
    """Starts the service on a free port with its folders under tmp_path, on the test's store
    backend; stops it after. As SQLite lives in the data folder, a PostgreSQL database goes
    with one: a service started on another's data folder (a restart) gets its database too,
    and a new data folder a new database, unless `database_url` is given."""
    started: list[RunningService] = []
    stores: dict[Path, dict[str, str]] = {}  # data folder -> its store settings

    def factory(**overrides: Any) -> RunningService:
        root = tmp_path / f"service-{len(started)}"
        data_dir = Path(overrides.get("data_dir", root / "data"))
        if data_dir not in stores:
            stores[data_dir] = service_databases()
        store = {} if "database_url" in overrides else stores[data_dir]
        service = start_service(root, **(store | overrides))
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
def proxy() -> Iterator[ForwardProxy]:
    """An HTTP forward proxy on 127.0.0.2 that records what it is asked for, and by whom."""
    running = ForwardProxy().start()
    yield running
    running.stop()


@pytest.fixture
def guarded_service(make_service: ServiceFactory, site: FixtureSite) -> RunningService:
    """The service with the SSRF guard on, admitting the fixture site's address alone."""
    return make_service(allow_private_urls=False, allow_private_networks=["127.0.0.1"])


def _restartable(store: dict[str, str]) -> dict[str, str]:
    """In distributed mode, a killed service's downloads run again once its worker has been
    silent for the least OFFLINETUBE_STALLED_AFTER_SECONDS allowed (20 s) rather than 30 s."""
    return store | {"stalled_after_seconds": "20"} if store else store


FAILED_PHASES = pytest.StashKey[set[str]]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item) -> Iterator[None]:
    """Notes on the test which of its phases failed (`FAILED_PHASES`), for fixtures whose
    teardown says more when the test failed."""
    report: pytest.TestReport = yield
    if report.failed:
        item.stash.setdefault(FAILED_PHASES, set()).add(report.when)
    return report  # type: ignore[return-value]


def _report_if_failed(request: pytest.FixtureRequest, service: ServiceProcess) -> None:
    """After a failed test: how the service process ended and the end of its log, printed
    during teardown so pytest shows them beside the failure ("Captured stdout teardown")."""
    if request.node.stash.get(FAILED_PHASES, set()):
        print(service.post_mortem())


@pytest.fixture
def service_process(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    service_databases: Callable[[], dict[str, str]],
) -> Iterator[ServiceProcess]:
    """`python -m offlinetube_api` in its own process, for tests that kill or restart it."""
    service = ServiceProcess(
        tmp_path, allow_private_urls="true", **_restartable(service_databases())
    )
    yield service
    _report_if_failed(request, service)
    service.stop()


@pytest.fixture
def installation(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    service_databases: Callable[[], dict[str, str]],
) -> Iterator[ServiceProcess]:
    """Like `service_process`, with its folders in `tmp_path/install`, so a test can keep other
    files (a backup, a copy) beside the installation rather than in it."""
    made = ServiceProcess(
        tmp_path / "install", allow_private_urls="true", **_restartable(service_databases())
    )
    made.root.mkdir()
    yield made
    _report_if_failed(request, made)
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
