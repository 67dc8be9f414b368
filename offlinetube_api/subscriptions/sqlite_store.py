"""SqliteSubscriptionStore: subscriptions in the task store's SQLite file, on its connection
and thread (SqliteTaskStore.run), so their writes take their turn with the tasks'. A change a
client or a check makes is saved with its event, in one transaction."""

import sqlite3
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from offlinetube_api.models import TaskStatus
from offlinetube_api.store.sqlite import SqliteTaskStore, in_transaction, save_subscription_event
from offlinetube_api.subscriptions.model import (
    CheckRecord,
    Subscription,
    SubscriptionEventName,
    SubscriptionSpec,
)
from offlinetube_api.subscriptions.ports import QueuedVideo, SeenVideo
from offlinetube_api.subscriptions.rows import (
    COLUMNS,
    moment,
    record_json,
    spec_json,
    subscription_from_row,
    subscription_values,
)

_INSERT = (
    f"INSERT INTO subscriptions ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"
)
_CLAIM = """
    UPDATE subscriptions SET claimed_by = ?, claimed_until = ?
    WHERE id = (SELECT id FROM subscriptions
                WHERE paused = 0 AND next_check_at <= ? AND ({})
                AND (claimed_until IS NULL OR claimed_until < ?)
                ORDER BY next_check_at LIMIT 1)
    RETURNING *"""
_QUEUED_VIDEOS = """
    SELECT tasks.id, tasks.status, tasks.created_at, tasks.duration, video_plays.played_at
    FROM tasks LEFT JOIN video_plays ON video_plays.task_id = tasks.id
    WHERE tasks.subscription_id = ? ORDER BY tasks.seq DESC"""
_FINISH = """
    UPDATE subscriptions SET last_check = ?, failures = ?, next_check_at = ?,
        checks = checks + 1, claimed_by = NULL, claimed_until = NULL
    WHERE id = ? AND claimed_by = ? RETURNING *"""


def _one(db: sqlite3.Connection, sql: str, params: Iterable[object]) -> Subscription | None:
    row = db.execute(sql, tuple(params)).fetchone()
    return subscription_from_row(row) if row else None


def _with_event(
    db: sqlite3.Connection, name: SubscriptionEventName, sql: str, params: Iterable[object]
) -> Subscription | None:
    """The subscription `sql` (RETURNING *) wrote, saved with its event in one transaction."""

    def write() -> Subscription | None:
        written = _one(db, sql, params)
        if written is not None:
            save_subscription_event(db, name, written)
        return written

    return in_transaction(db, write)


class SqliteSubscriptionStore:
    """subscriptions.ports.SubscriptionStore on SQLite."""

    def __init__(self, store: SqliteTaskStore) -> None:
        self._store = store

    async def add(self, subscription: Subscription) -> None:
        values = subscription_values(subscription, text_times=True)
        insert = f"{_INSERT} RETURNING *"
        created = SubscriptionEventName.CREATED
        await self._store.write_events(lambda db: _with_event(db, created, insert, values))

    async def get(self, subscription_id: str) -> Subscription | None:
        sql = "SELECT * FROM subscriptions WHERE id = ?"
        return await self._store.run(lambda db: _one(db, sql, [subscription_id]))

    async def all(self) -> list[Subscription]:
        sql = "SELECT * FROM subscriptions ORDER BY seq"
        rows = await self._store.run(lambda db: db.execute(sql).fetchall())
        return [subscription_from_row(row) for row in rows]

    async def change(
        self, subscription_id: str, *, spec: SubscriptionSpec, paused: bool, next_check_at: datetime
    ) -> Subscription | None:
        sql = """UPDATE subscriptions SET spec = ?, paused = ?, next_check_at = ?
                 WHERE id = ? RETURNING *"""
        params = [spec_json(spec), paused, moment(next_check_at), subscription_id]
        updated = SubscriptionEventName.UPDATED
        return await self._store.write_events(lambda db: _with_event(db, updated, sql, params))

    async def remove(self, subscription_id: str) -> bool:
        def delete(db: sqlite3.Connection) -> bool:
            db.execute(
                "DELETE FROM subscription_videos WHERE subscription_id = ?", (subscription_id,)
            )
            sql = "DELETE FROM subscriptions WHERE id = ? RETURNING *"
            gone = _one(db, sql, [subscription_id])
            if gone is not None:
                save_subscription_event(db, SubscriptionEventName.DELETED, gone)
            return gone is not None

        return await self._store.write_events(lambda db: in_transaction(db, lambda: delete(db)))

    async def make_due(self, subscription_id: str, at: datetime) -> Subscription | None:
        sql = "UPDATE subscriptions SET next_check_at = ? WHERE id = ? RETURNING *"
        return await self._store.run(lambda db: _one(db, sql, [moment(at), subscription_id]))

    async def claim(
        self, subscription_id: str | None, *, now: datetime, lease: timedelta, claimer: str
    ) -> Subscription | None:
        which = "id = ?" if subscription_id else "1"
        sql = _CLAIM.format(which)
        chosen = [subscription_id] if subscription_id else []
        params = [claimer, moment(now + lease), moment(now), *chosen, moment(now)]
        return await self._store.run(lambda db: _one(db, sql, params))

    async def finish(
        self,
        subscription_id: str,
        *,
        claimer: str,
        record: CheckRecord,
        failures: int,
        next_check_at: datetime,
    ) -> Subscription | None:
        due = moment(next_check_at)
        params = [record_json(record), failures, due, subscription_id, claimer]
        checked = SubscriptionEventName.CHECKED
        return await self._store.write_events(lambda db: _with_event(db, checked, _FINISH, params))

    async def release_claims(self) -> None:
        sql = "UPDATE subscriptions SET claimed_by = NULL, claimed_until = NULL"
        await self._store.run(lambda db: db.execute(sql))

    async def seen(self, subscription_id: str) -> set[str]:
        sql = "SELECT video_key FROM subscription_videos WHERE subscription_id = ?"
        rows = await self._store.run(lambda db: db.execute(sql, (subscription_id,)).fetchall())
        return {row[0] for row in rows}

    async def remember(self, subscription_id: str, videos: Iterable[SeenVideo]) -> None:
        sql = """INSERT INTO subscription_videos (subscription_id, video_key, task_id, seen_at)
                 VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING"""
        at = moment(datetime.now(UTC))
        values = [(subscription_id, video.key, video.task_id, at) for video in videos]
        await self._store.run(lambda db: in_transaction(db, lambda: db.executemany(sql, values)))

    async def task_ids(self, subscription_id: str) -> list[str]:
        sql = "SELECT id FROM tasks WHERE subscription_id = ? ORDER BY seq"
        rows = await self._store.run(lambda db: db.execute(sql, (subscription_id,)).fetchall())
        return [row[0] for row in rows]

    async def queued_videos(self, subscription_id: str) -> list[QueuedVideo]:
        def query(db: sqlite3.Connection) -> list[QueuedVideo]:
            rows = db.execute(_QUEUED_VIDEOS, (subscription_id,)).fetchall()
            return [
                QueuedVideo(
                    task_id=row["id"],
                    status=TaskStatus(row["status"]),
                    queued_at=datetime.fromisoformat(row["created_at"]),
                    duration=row["duration"],
                    played_at=datetime.fromisoformat(played)
                    if (played := row["played_at"])
                    else None,
                )
                for row in rows
            ]

        return await self._store.run(query)
