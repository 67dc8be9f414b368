"""Per-site cool-downs, kept in the store's database (the `site_cooldowns` table, migration
0016) so that every worker host of a distributed service holds back the same sites.

A site that answered 429 or a bot check cools down: no download of it starts before `until`
(worker/site_gate.py). The first cool-down lasts OFFLINETUBE_COOLDOWN_SECONDS; one that begins
after the previous one ended, without a download of the site succeeding in between, lasts
twice as long as that one, up to OFFLINETUBE_COOLDOWN_MAX_SECONDS. A failure during a
cool-down (of a download that had started before it) is part of the same episode and does not
lengthen it. A download of the site that succeeds once its cool-down is over resets the count.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from offlinetube_api.config import Settings
from offlinetube_api.models import WaitingReason
from offlinetube_api.ports import TaskStore
from offlinetube_api.store import SqliteTaskStore, is_postgres
from offlinetube_api.store.sqlite import in_transaction, moment

if TYPE_CHECKING:  # psycopg is loaded in distributed mode only
    import sqlite3

    from offlinetube_api.store.postgres import Connection, PostgresTaskStore

# Beyond this many doublings the ceiling has long been reached; the bound keeps 2**n finite.
_MAX_DOUBLINGS = 40


@dataclass(frozen=True, slots=True)
class Cooldown:
    """No download of `site` starts before `until` (UTC), because of `reason` (rate_limited or
    bot_check); `strikes`: the cool-downs of the site in a row, this one included."""

    site: str
    until: datetime
    reason: WaitingReason
    strikes: int


def next_cooldown(
    current: Cooldown | None,
    *,
    site: str,
    reason: WaitingReason,
    at: datetime,
    first_s: float,
    ceiling_s: float,
) -> Cooldown:
    """The cool-down a failure at `at` leaves: `current` itself while it lasts, else one
    twice as long as the previous (`first_s` for the first), at most `ceiling_s` seconds."""
    if current is not None and current.until > at:
        return current
    strikes = (current.strikes if current else 0) + 1
    delay_s = min(first_s * 2 ** min(strikes - 1, _MAX_DOUBLINGS), ceiling_s)
    return Cooldown(site, at + timedelta(seconds=delay_s), reason, strikes)


class CooldownTable(Protocol):
    """The `site_cooldowns` table of one database."""

    async def strike(
        self, site: str, reason: WaitingReason, at: datetime, first_s: float, ceiling_s: float
    ) -> Cooldown:
        """Saves next_cooldown() of the site's row, reading and writing it in one
        transaction, so that failures at once on several hosts count once."""
        ...

    async def reset(self, site: str, at: datetime) -> None:
        """Deletes the site's row if its cool-down ended by `at`."""
        ...

    async def lasting(self, at: datetime, site: str | None = None) -> list[Cooldown]:
        """The cool-downs not over at `at` (of `site` alone, when given), by site."""
        ...


class SiteCooldowns:
    """What the download runner and the health route do with cool-downs, on either database."""

    def __init__(self, table: CooldownTable, settings: Settings) -> None:
        self._table = table
        self._first_s = settings.cooldown_seconds
        self._ceiling_s = settings.cooldown_max_seconds

    async def begin(self, site: str, reason: WaitingReason) -> Cooldown:
        """The site answered `reason`: the cool-down that now holds it back."""
        at = datetime.now(UTC)
        return await self._table.strike(site, reason, at, self._first_s, self._ceiling_s)

    async def succeeded(self, site: str) -> None:
        """A download of the site succeeded: the next cool-down starts from the first delay."""
        await self._table.reset(site, datetime.now(UTC))

    async def of(self, site: str) -> Cooldown | None:
        """The site's cool-down if it lasts still."""
        lasting = await self._table.lasting(datetime.now(UTC), site)
        return lasting[0] if lasting else None

    async def lasting(self) -> list[Cooldown]:
        """Every site cooling down now, by name."""
        return await self._table.lasting(datetime.now(UTC))


def _cooldown(row: Any) -> Cooldown:
    until = row["until"]
    return Cooldown(
        site=row["site"],
        until=until if isinstance(until, datetime) else datetime.fromisoformat(until),
        reason=WaitingReason(row["reason"]),
        strikes=int(row["strikes"]),
    )


_UPSERT = (
    "INSERT INTO site_cooldowns (site, until, reason, strikes) VALUES ({values}) "
    "ON CONFLICT (site) DO UPDATE SET until = excluded.until, reason = excluded.reason, "
    "strikes = excluded.strikes"
)
# A row of no strike, for a site that has none yet: the row a strike locks.
_PLACEHOLDER = "INSERT INTO site_cooldowns VALUES (%s, %s, %s, 0) ON CONFLICT DO NOTHING"
_LASTING = "SELECT * FROM site_cooldowns WHERE until > {mark}"


class SqliteCooldownTable:
    def __init__(self, store: SqliteTaskStore) -> None:
        self._store = store

    async def strike(
        self, site: str, reason: WaitingReason, at: datetime, first_s: float, ceiling_s: float
    ) -> Cooldown:
        def strike(db: "sqlite3.Connection") -> Cooldown:
            row = db.execute("SELECT * FROM site_cooldowns WHERE site = ?", (site,)).fetchone()
            current = _cooldown(row) if row else None
            cooldown = next_cooldown(
                current, site=site, reason=reason, at=at, first_s=first_s, ceiling_s=ceiling_s
            )
            if cooldown != current:
                values = (site, moment(cooldown.until), cooldown.reason.value, cooldown.strikes)
                db.execute(_UPSERT.format(values="?, ?, ?, ?"), values)
            return cooldown

        return await self._store.run(lambda db: in_transaction(db, lambda: strike(db)))

    async def reset(self, site: str, at: datetime) -> None:
        sql = "DELETE FROM site_cooldowns WHERE site = ? AND until <= ?"
        await self._store.run(lambda db: db.execute(sql, (site, moment(at))))

    async def lasting(self, at: datetime, site: str | None = None) -> list[Cooldown]:
        sql, values = _LASTING.format(mark="?"), [moment(at)]
        if site is not None:
            sql, values = f"{sql} AND site = ?", [*values, site]
        return await self._store.run(
            lambda db: [_cooldown(row) for row in db.execute(f"{sql} ORDER BY site", values)]
        )


class PostgresCooldownTable:
    def __init__(self, store: "PostgresTaskStore") -> None:
        self._store = store

    async def strike(
        self, site: str, reason: WaitingReason, at: datetime, first_s: float, ceiling_s: float
    ) -> Cooldown:
        async def strike(connection: "Connection") -> Cooldown:
            async with connection.transaction():
                # A row to lock, so that hosts failing at once take turns.
                await connection.execute(_PLACEHOLDER, (site, at, reason.value))
                locked = "SELECT * FROM site_cooldowns WHERE site = %s FOR UPDATE"
                row = await (await connection.execute(locked, (site,))).fetchone()
                current = _cooldown(row) if row and row["strikes"] else None
                cooldown = next_cooldown(
                    current, site=site, reason=reason, at=at, first_s=first_s, ceiling_s=ceiling_s
                )
                values = (site, cooldown.until, cooldown.reason.value, cooldown.strikes)
                await connection.execute(_UPSERT.format(values="%s, %s, %s, %s"), values)
                return cooldown

        return await self._store.run(strike)

    async def reset(self, site: str, at: datetime) -> None:
        async def delete(connection: "Connection") -> None:
            sql = "DELETE FROM site_cooldowns WHERE site = %s AND until <= %s"
            await connection.execute(sql, (site, at))

        await self._store.run(delete)

    async def lasting(self, at: datetime, site: str | None = None) -> list[Cooldown]:
        sql, values = _LASTING.format(mark="%s"), [at] if site is None else [at, site]
        if site is not None:
            sql += " AND site = %s"

        async def select(connection: "Connection") -> list[Cooldown]:
            rows = await (await connection.execute(f"{sql} ORDER BY site", values)).fetchall()
            return [_cooldown(row) for row in rows]

        return await self._store.run(select)


def site_cooldowns(store: TaskStore, settings: Settings) -> SiteCooldowns:
    """The cool-downs in the database of `store` (open)."""
    if is_postgres(store):
        return SiteCooldowns(PostgresCooldownTable(store), settings)
    if isinstance(store, SqliteTaskStore):
        return SiteCooldowns(SqliteCooldownTable(store), settings)
    raise TypeError(f"no cool-down table for a {type(store).__name__}")
