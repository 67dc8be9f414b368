"""One migration history for both databases: numbered SQL files, applied in order, each in its
own transaction, recorded in `schema_migrations(version, name, applied_at)`.

`migrations/NNNN_<name>.sqlite.sql` and `NNNN_<name>.postgresql.sql` share their numbers and
names; the SQL differs (triggers, identity columns, jsonb). A released step is never edited:
a change is a new step. Plain SQL rather than Alembic, because nearly every step here needs
its own SQL per dialect anyway, and the stores speak plain SQL too.

A SQLite database made before this runner has no `schema_migrations`; its PRAGMA user_version
(0 to 4) says which of steps 1 to 4, which reproduce that old schema, it already has."""

import re
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from typing import TYPE_CHECKING, Any

from offlinetube_api.store.rows import Dialect

if TYPE_CHECKING:  # psycopg is loaded in distributed mode only
    from psycopg import AsyncConnection

# pg_advisory_lock key held while migrating, so replicas starting together take turns.
MIGRATION_LOCK = 0x6F74_6D69_6772_6174  # "otmigrat"
_FILE_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.(sqlite|postgresql)\.sql$")
_SQLITE_RECORD = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    applied_at TEXT NOT NULL
)"""
_POSTGRESQL_RECORD = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version integer PRIMARY KEY,
    name text NOT NULL,
    applied_at timestamptz NOT NULL
)"""


@dataclass(frozen=True, slots=True)
class Step:
    version: int
    name: str
    sql: str


def steps(dialect: Dialect) -> list[Step]:
    """The steps of `dialect`, in order. Raises ValueError when the numbers have a gap."""
    found: list[Step] = []
    for entry in (resources.files(__package__ or "") / "migrations").iterdir():
        match = _FILE_NAME.match(entry.name)
        if match and match[3] == dialect.value:
            found.append(Step(int(match[1]), match[2], entry.read_text(encoding="utf-8")))
    found.sort(key=lambda step: step.version)
    if [step.version for step in found] != list(range(1, len(found) + 1)):
        raise ValueError(f"{dialect} migrations are not numbered 1, 2, 3...")
    return found


def migrate_sqlite(db: sqlite3.Connection) -> list[Step]:
    """Brings the database of `db` (autocommit: isolation_level None) up to date; returns the
    steps applied now."""
    _record_sqlite_history(db)
    applied = {row[0] for row in db.execute("SELECT version FROM schema_migrations")}
    pending = [step for step in steps(Dialect.SQLITE) if step.version not in applied]
    for step in pending:
        # Values are the step's own (a number, a name matched by _FILE_NAME) and the clock.
        record = (
            f"INSERT INTO schema_migrations (version, name, applied_at) "
            f"VALUES ({step.version}, '{step.name}', '{_now()}')"
        )
        try:
            db.executescript(f"BEGIN IMMEDIATE;\n{step.sql}\n;\n{record};\nCOMMIT;")
        except sqlite3.Error:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
    return pending


def _record_sqlite_history(db: sqlite3.Connection) -> None:
    """Makes `schema_migrations`; for a database of the releases before it, records the steps
    its user_version says it has."""
    db.execute("BEGIN IMMEDIATE")
    try:
        exists = db.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'"
        ).fetchone()
        if not exists:
            legacy_version: int = db.execute("PRAGMA user_version").fetchone()[0]
            db.execute(_SQLITE_RECORD)
            db.executemany(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                [
                    (step.version, step.name, _now())
                    for step in steps(Dialect.SQLITE)
                    if step.version <= legacy_version
                ],
            )
        db.execute("COMMIT")
    except sqlite3.Error:
        db.execute("ROLLBACK")
        raise


async def migrate_postgresql(connection: "AsyncConnection[Any]") -> list[Step]:
    """Brings the database of `connection` (autocommit) up to date, holding MIGRATION_LOCK so
    that only one opener migrates at a time; returns the steps applied now."""
    from psycopg.rows import tuple_row  # here, so that embedded mode never loads psycopg

    await connection.execute("SELECT pg_advisory_lock(%s)", (MIGRATION_LOCK,))
    try:
        await connection.execute(_POSTGRESQL_RECORD)
        async with connection.cursor(row_factory=tuple_row) as cursor:
            await cursor.execute("SELECT version FROM schema_migrations")
            applied = {row[0] for row in await cursor.fetchall()}
        pending = [step for step in steps(Dialect.POSTGRESQL) if step.version not in applied]
        for step in pending:
            async with connection.transaction():
                # No parameters: the simple query protocol, which runs several statements.
                await connection.execute(step.sql.encode())
                await connection.execute(
                    "INSERT INTO schema_migrations (version, name, applied_at) "
                    "VALUES (%s, %s, now())",
                    (step.version, step.name),
                )
        return pending
    finally:
        await connection.execute("SELECT pg_advisory_unlock(%s)", (MIGRATION_LOCK,))


def _now() -> str:
    return datetime.now(UTC).isoformat()
