"""PostgresSubscriptionStore: subscriptions in the shared PostgreSQL database, through the
task store's pool (PostgresTaskStore.run). A change a client or a check makes is saved with its
event, in one transaction (store/postgres.py says how events keep their order). A claim is one
UPDATE of a row locked with SKIP LOCKED, so of hosts claiming at once, each due check goes to
one of them."""

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from psycopg import sql

from offlinetube_api.models import TaskStatus
from offlinetube_api.store.postgres import Connection, PostgresTaskStore, save_subscription_event
from offlinetube_api.subscriptions.model import (
    CheckRecord,
    Subscription,
    SubscriptionEventName,
    SubscriptionSpec,
)
from offlinetube_api.subscriptions.ports import QueuedVideo, SeenVideo
from offlinetube_api.subscriptions.rows import (
    COLUMNS,
    record_json,
    spec_json,
    subscription_from_row,
    subscription_values,
)

_INSERT = sql.SQL("INSERT INTO subscriptions ({}) VALUES ({}) RETURNING *").format(
    sql.SQL(", ").join(map(sql.Identifier, COLUMNS)),
    sql.SQL(", ").join(sql.Placeholder() for _ in COLUMNS),
)
_CLAIM = """
    UPDATE subscriptions SET claimed_by = %(claimer)s, claimed_until = %(until)s
    WHERE id = (SELECT id FROM subscriptions
                WHERE NOT paused AND next_check_at <= %(now)s
                AND (%(id)s::text IS NULL OR id = %(id)s)
                AND (claimed_until IS NULL OR claimed_until < %(now)s)
                ORDER BY next_check_at LIMIT 1 FOR UPDATE SKIP LOCKED)
    RETURNING *"""
_FINISH = """
    UPDATE subscriptions SET last_check = %s, failures = %s, next_check_at = %s,
        checks = checks + 1, claimed_by = NULL, claimed_until = NULL
    WHERE id = %s AND claimed_by = %s RETURNING *"""
_QUEUED_VIDEOS = """
    SELECT tasks.id, tasks.status, tasks.created_at, tasks.duration, video_plays.played_at
    FROM tasks LEFT JOIN video_plays ON video_plays.task_id = tasks.id
    WHERE tasks.subscription_id = %s ORDER BY tasks.seq DESC"""
_CHANGE = """
    UPDATE subscriptions SET spec = %s, paused = %s, next_check_at = %s WHERE id = %s
    RETURNING *"""


async def _one(
    db: Connection, query: str | sql.Composed, params: Sequence[Any] | Mapping[str, Any]
) -> Subscription | None:
    cursor = await db.execute(query, params)
    row = await cursor.fetchone()
    return subscription_from_row(row) if row else None


async def _with_event(
    db: Connection,
    name: SubscriptionEventName,
    query: str | sql.Composed,
    params: Sequence[Any] | Mapping[str, Any],
) -> Subscription | None:
    """The subscription `query` (RETURNING *) wrote, saved with its event in one
    transaction: the row first, then the event order."""
    async with db.transaction():
        written = await _one(db, query, params)
        if written is not None:
            await save_subscription_event(db, name, written)
        return written


class PostgresSubscriptionStore:
    """subscriptions.ports.SubscriptionStore on PostgreSQL."""

    def __init__(self, store: PostgresTaskStore) -> None:
        self._store = store

    async def add(self, subscription: Subscription) -> None:
        values = subscription_values(subscription, text_times=False)
        created = SubscriptionEventName.CREATED
        await self._store.run(lambda db: _with_event(db, created, _INSERT, values))

    async def get(self, subscription_id: str) -> Subscription | None:
        query = "SELECT * FROM subscriptions WHERE id = %s"
        return await self._store.run(lambda db: _one(db, query, (subscription_id,)))

    async def all(self) -> list[Subscription]:
        async def query(db: Connection) -> list[Subscription]:
            cursor = await db.execute("SELECT * FROM subscriptions ORDER BY seq")
            return [subscription_from_row(row) for row in await cursor.fetchall()]

        return await self._store.run(query)

    async def change(
        self, subscription_id: str, *, spec: SubscriptionSpec, paused: bool, next_check_at: datetime
    ) -> Subscription | None:
        params = (spec_json(spec), paused, next_check_at, subscription_id)
        updated = SubscriptionEventName.UPDATED
        return await self._store.run(lambda db: _with_event(db, updated, _CHANGE, params))

    async def remove(self, subscription_id: str) -> bool:
        async def delete(db: Connection) -> bool:
            async with db.transaction():
                forget = "DELETE FROM subscription_videos WHERE subscription_id = %s"
                await db.execute(forget, (subscription_id,))
                gone = await _one(
                    db, "DELETE FROM subscriptions WHERE id = %s RETURNING *", (subscription_id,)
                )
                if gone is not None:
                    await save_subscription_event(db, SubscriptionEventName.DELETED, gone)
                return gone is not None

        return await self._store.run(delete)

    async def make_due(self, subscription_id: str, at: datetime) -> Subscription | None:
        query = "UPDATE subscriptions SET next_check_at = %s WHERE id = %s RETURNING *"
        return await self._store.run(lambda db: _one(db, query, (at, subscription_id)))

    async def claim(
        self, subscription_id: str | None, *, now: datetime, lease: timedelta, claimer: str
    ) -> Subscription | None:
        params = {"claimer": claimer, "until": now + lease, "now": now, "id": subscription_id}
        return await self._store.run(lambda db: _one(db, _CLAIM, params))

    async def finish(
        self,
        subscription_id: str,
        *,
        claimer: str,
        record: CheckRecord,
        failures: int,
        next_check_at: datetime,
    ) -> Subscription | None:
        params = (record_json(record), failures, next_check_at, subscription_id, claimer)
        checked = SubscriptionEventName.CHECKED
        return await self._store.run(lambda db: _with_event(db, checked, _FINISH, params))

    async def release_claims(self) -> None:
        """Nothing: other hosts' claims may be alive; dead ones run out by themselves."""

    async def seen(self, subscription_id: str) -> set[str]:
        async def query(db: Connection) -> set[str]:
            keys = "SELECT video_key FROM subscription_videos WHERE subscription_id = %s"
            cursor = await db.execute(keys, (subscription_id,))
            return {row["video_key"] for row in await cursor.fetchall()}

        return await self._store.run(query)

    async def remember(self, subscription_id: str, videos: Iterable[SeenVideo]) -> None:
        insert = """INSERT INTO subscription_videos (subscription_id, video_key, task_id, seen_at)
                    VALUES (%s, %s, %s, %s) ON CONFLICT DO NOTHING"""
        at = datetime.now(UTC)
        values = [(subscription_id, video.key, video.task_id, at) for video in videos]

        async def save(db: Connection) -> None:
            async with db.transaction(), db.cursor() as cursor:
                await cursor.executemany(insert, values)

        await self._store.run(save)

    async def task_ids(self, subscription_id: str) -> list[str]:
        async def query(db: Connection) -> list[str]:
            ids = "SELECT id FROM tasks WHERE subscription_id = %s ORDER BY seq"
            cursor = await db.execute(ids, (subscription_id,))
            return [row["id"] for row in await cursor.fetchall()]

        return await self._store.run(query)

    async def queued_videos(self, subscription_id: str) -> list[QueuedVideo]:
        async def query(db: Connection) -> list[QueuedVideo]:
            cursor = await db.execute(_QUEUED_VIDEOS, (subscription_id,))
            return [
                QueuedVideo(
                    task_id=row["id"],
                    status=TaskStatus(row["status"]),
                    queued_at=row["created_at"],
                    duration=row["duration"],
                    played_at=row["played_at"],
                )
                for row in await cursor.fetchall()
            ]

        return await self._store.run(query)
