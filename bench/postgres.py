"""PostgreSQL for the distributed-mode figures: the machine's server when one answers
(OFFLINETUBE_TEST_POSTGRES_URL, by default postgresql://postgres@127.0.0.1:5432/postgres), else a
throwaway one; a database per figure, with today's migrations applied, dropped after. The
databases are the test suite's (tests/fixtures/postgres.py): named after this process, so a
killed run's leftovers are dropped by the next run."""

from collections.abc import Iterator
from contextlib import contextmanager

from tests.fixtures.postgres import Databases, postgres_server


@contextmanager
def bench_databases() -> Iterator[Databases]:
    """For the whole run: the server (started if none answers) and the template database."""
    with postgres_server() as server_url:
        databases = Databases(server_url).prepare()
        try:
            yield databases
        finally:
            databases.drop_template()


@contextmanager
def bench_database(databases: Databases) -> Iterator[str]:
    """The URL of a new database of its own, dropped (with any connection left) after."""
    url = databases.new()
    try:
        yield url
    finally:
        databases.drop(url)
