"""The queue tests' fixture: a throwaway PostgreSQL database per test, on the server the
machine provides (127.0.0.1:5432, trust authentication). Stands in for
tests/fixtures/postgres.py until that one lands."""

import uuid
from collections.abc import Iterator

import psycopg
import pytest

SERVER = "postgresql://postgres@127.0.0.1:5432"


def _admin(statement: str) -> None:
    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as connection:
        connection.execute(statement)


@pytest.fixture
def postgres_url() -> Iterator[str]:
    name = f"offlinetube_queue_{uuid.uuid4().hex[:12]}"
    _admin(f'CREATE DATABASE "{name}"')
    yield f"{SERVER}/{name}"
    _admin(f'DROP DATABASE "{name}" WITH (FORCE)')
