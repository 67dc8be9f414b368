"""procrastinate's tables and functions in the shared PostgreSQL database: made at the first
start, checked at every start.

procrastinate ships its schema twice: whole, for an empty database (`schema.sql`), and as
numbered migration files for an existing one (`procrastinate/sql/migrations/`, named
`<major>.<minor>.<patch>_<nn>_<what>.sql`; `python -m procrastinate schema --migrations-path`
prints the folder). It applies neither by itself. The first start applies `schema.sql` and
records the procrastinate version that made it, as the comment of `procrastinate_jobs`; every
start compares that record with the installed version's migration files.

Upgrading procrastinate (pyproject.toml pins its minor version, so this is a deliberate step):
1. stop every worker and API replica of the old version (a `post` migration may remove a
   function the old version still calls);
2. apply each migration file that the refusal lists, in name order:
   `psql "$OFFLINETUBE_DATABASE_URL" -1 -v ON_ERROR_STOP=1 -f <file>`;
3. record the new version: `COMMENT ON TABLE procrastinate_jobs IS 'procrastinate <version>'`;
4. start the new version everywhere.
A start that finds migrations newer than the record refuses (QueueSchemaOutdated) rather than
run new code on an old schema.
"""

import importlib.metadata
import logging
from pathlib import Path

from packaging.version import Version
from procrastinate.schema import SchemaManager
from psycopg import AsyncConnection, sql
from psycopg_pool import AsyncConnectionPool

logger = logging.getLogger(__name__)

# The pg_advisory_xact_lock key that serialises schema set-up: of two first starts at once,
# the second waits for the first to commit, then finds the schema made.
SCHEMA_LOCK_KEY = 0x0FF1_17BE_0001
MARKER_PREFIX = "procrastinate "


class QueueSchemaOutdated(Exception):
    """procrastinate's schema in the database is older than the installed procrastinate."""


def installed_version() -> Version:
    return Version(importlib.metadata.version("procrastinate"))


def pending_migrations(recorded: Version, migrations: Path) -> list[Path]:
    """The migration files newer than `recorded`, in the order they apply."""
    return sorted(
        path for path in migrations.glob("*.sql") if _file_version(path) > recorded.release
    )


def _file_version(path: Path) -> tuple[int, ...]:
    """`03.04.00_01_pre_x.sql` -> (3, 4, 0)."""
    return tuple(int(part) for part in path.name.split("_", 1)[0].split("."))


async def ensure_schema(pool: AsyncConnectionPool[AsyncConnection]) -> None:
    """Makes procrastinate's schema when the database has none. Raises QueueSchemaOutdated,
    naming the files to apply, when the installed procrastinate has migrations the database
    lacks."""
    installed = installed_version()
    async with pool.connection() as connection, connection.transaction():
        await connection.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK_KEY,))
        cursor = await connection.execute(
            "SELECT to_regclass('procrastinate_jobs') IS NOT NULL,"
            " obj_description(to_regclass('procrastinate_jobs'), 'pg_class')"
        )
        exists, marker = await cursor.fetchone() or (False, None)
        if not exists:
            await connection.execute(SchemaManager.get_schema())
            await _record(connection, installed)
            logger.info("procrastinate %s: its schema is made", installed)
            return
        if marker is None or not marker.startswith(MARKER_PREFIX):
            # Made by hand (`procrastinate schema --apply`): taken as the installed version's.
            logger.warning(
                "procrastinate's schema has no version record; taking it as %s", installed
            )
            await _record(connection, installed)
            return
    recorded = Version(marker.removeprefix(MARKER_PREFIX))
    pending = pending_migrations(recorded, Path(SchemaManager.get_migrations_path()))
    if pending:
        raise QueueSchemaOutdated(
            f"The database's procrastinate schema is from {recorded}, and procrastinate "
            f"{installed} is installed: stop every older worker and replica, apply "
            f"{', '.join(path.name for path in pending)} from {pending[0].parent} in this "
            "order (psql -1 -f), then record it: COMMENT ON TABLE procrastinate_jobs IS "
            f"'{MARKER_PREFIX}{installed}'"
        )


async def _record(connection: AsyncConnection, version: Version) -> None:
    comment = sql.SQL("COMMENT ON TABLE procrastinate_jobs IS {}").format(
        sql.Literal(f"{MARKER_PREFIX}{version}")
    )
    await connection.execute(comment)
