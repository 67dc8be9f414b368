"""The tests' PostgreSQL: where no server answers (a fresh machine), the run starts a throwaway
one from the machine's binaries, serves migrated databases from it, and removes it after."""

import psycopg
import pytest

from offlinetube_api.store.migrations import steps
from offlinetube_api.store.rows import Dialect
from tests.fixtures.postgres import (
    SERVER_URL_VARIABLE,
    Databases,
    answers,
    free_port,
    postgres_server,
)


def test_without_a_server_a_throwaway_one_serves_migrated_databases(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    nowhere = f"postgresql://postgres@127.0.0.1:{free_port()}/postgres"
    monkeypatch.setenv(SERVER_URL_VARIABLE, nowhere)
    assert not answers(nowhere)
    with postgres_server() as server_url:
        assert server_url != nowhere
        databases = Databases(server_url).prepare()
        url = databases.new()
        with psycopg.connect(url) as connection:
            versions = connection.execute("SELECT version FROM schema_migrations ORDER BY 1")
            assert [row[0] for row in versions] == [s.version for s in steps(Dialect.POSTGRESQL)]
        databases.drop(url)
        databases.drop_template()
    assert not answers(server_url)
