"""The webhook outbox: every final state a task reaches, and every subscription event, is owed
to the webhook receiver, and the debt is written down in the same transaction as the change
itself, so no crash can lose it.

Database triggers (migrations 0010 and 0014) add a row to `webhook_outbox` for every
`completed`, `failed` or `cancelled` event the store saves, and for every subscription event;
the store and its callers know nothing of it. A
process with a webhook URL claims rows, sends them (webhooks.py) and deletes each once it is
delivered or given up on. A claim is a lease (`claimed_until`), renewed while the delivery is
under way: when its process dies, the row is claimed again once the lease has run out (at once
in embedded mode, where a new start knows that no other process can hold one). In PostgreSQL,
replicas claim with `FOR UPDATE SKIP LOCKED`, so each row goes to one of them.

Delivery is at least once: a process that dies after the receiver got the POST but before the
row was deleted sends it again, with the same `X-OfflineTube-Delivery`."""

import logging
import os
import secrets
import socket
import sqlite3
import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from offlinetube_api.models import Task
from offlinetube_api.ports import TaskStore
from offlinetube_api.store import SqliteTaskStore, is_postgres
from offlinetube_api.store.rows import task_from_json
from offlinetube_api.subscriptions.model import Subscription, SubscriptionEventName
from offlinetube_api.subscriptions.rows import subscription_from_json

if TYPE_CHECKING:  # loaded in distributed mode only
    from offlinetube_api.store.postgres import Connection, PostgresTaskStore

logger = logging.getLogger(__name__)

# Delivery ids are made from the event itself, so every attempt, in any process, sends the same.
_DELIVERY_IDS = uuid.UUID("5b0f3f6e-8c43-4d0a-9a57-0c7d9d6c1f2e")
LEASE = timedelta(seconds=15)


@dataclass(frozen=True, slots=True)
class SubscriptionNotice:
    """A subscription's event: its name, and the subscription as the event left it."""

    name: SubscriptionEventName
    subscription: Subscription


@dataclass(frozen=True, slots=True)
class OutboxEntry:
    """Owed to the receiver: a final state (`task`, as that state left it), or a
    subscription's event (`notice`; `task` None)."""

    id: int
    task: Task | None
    made_at: datetime
    notice: SubscriptionNotice | None = None

    @property
    def delivery_id(self) -> str:
        at = self.made_at.astimezone(UTC).isoformat()  # whatever the session's time zone
        if self.notice is not None:
            name = f"{self.notice.subscription.id}/{self.notice.name.value}/{at}"
        else:
            assert self.task is not None, "an entry holds a task or a subscription's event"
            name = f"{self.task.id}/{self.task.status.value}/{at}"
        return str(uuid.uuid5(_DELIVERY_IDS, name))


def claimer_name() -> str:
    """Who holds a claim, as its row shows it: host, process and a random part."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


class WebhookOutbox(Protocol):
    @property
    def lease(self) -> timedelta:
        """How long a claim lasts unless it is renewed."""
        ...

    async def recover(self) -> None:
        """At start-up: frees the claims that no living process can hold any more."""
        ...

    async def claim(self, limit: int) -> list[OutboxEntry]:
        """Up to `limit` entries nobody holds, oldest first, leased to this process."""
        ...

    async def renew(self, ids: Collection[int]) -> None:
        """Extends this process's leases on `ids` (those it still holds)."""
        ...

    async def release(self, ids: Collection[int]) -> None:
        """Gives up this process's claims on `ids`, so another sends them at once."""
        ...

    async def done(self, entry_id: int) -> None:
        """Delivered, or given up on: the entry goes."""
        ...

    async def discard_unsent(self, older_than: timedelta) -> int:
        """Deletes entries nobody holds that are older than `older_than`; how many."""
        ...


def _entry(row: Any) -> OutboxEntry:
    made_at = row["made_at"]
    subscription = row["subscription"]
    notice = (
        SubscriptionNotice(
            SubscriptionEventName(row["event"]), subscription_from_json(subscription)
        )
        if subscription is not None
        else None
    )
    return OutboxEntry(
        id=row["id"],
        task=task_from_json(row["task"]) if row["task"] is not None else None,
        made_at=made_at if isinstance(made_at, datetime) else datetime.fromisoformat(made_at),
        notice=notice,
    )


def _marks(ids: Collection[int]) -> str:
    return ", ".join("?" for _ in ids)


def _moment(at: datetime) -> str:
    """As task_events.at is written in SQLite: UTC, with microseconds, ordered as text."""
    return at.astimezone(UTC).isoformat(timespec="microseconds")


class SqliteWebhookOutbox:
    """Embedded mode: one process per data folder, so times come from its own clock."""

    def __init__(self, store: SqliteTaskStore, *, lease: timedelta = LEASE) -> None:
        self._store = store
        self._lease = lease
        self._claimer = claimer_name()

    @property
    def lease(self) -> timedelta:
        return self._lease

    async def recover(self) -> None:
        # The data-folder lock admits one service: any claim left is a dead process's.
        sql = "UPDATE webhook_outbox SET claimed_by = NULL, claimed_until = NULL"
        await self._store.run(lambda db: db.execute(sql))

    async def claim(self, limit: int) -> list[OutboxEntry]:
        now = datetime.now(UTC)
        sql = """UPDATE webhook_outbox SET claimed_by = ?, claimed_until = ?
                 WHERE id IN (SELECT id FROM webhook_outbox
                              WHERE claimed_until IS NULL OR claimed_until < ?
                              ORDER BY id LIMIT ?)
                 RETURNING id, task, made_at, event, subscription"""
        params = (self._claimer, _moment(now + self._lease), _moment(now), limit)
        anything = "SELECT 1 FROM webhook_outbox WHERE claimed_until IS NULL OR claimed_until < ?"

        def claim(db: sqlite3.Connection) -> list[OutboxEntry]:
            # Looked at every second: a read, unless there is something to claim.
            if db.execute(anything, (_moment(now),)).fetchone() is None:
                return []
            return sorted((_entry(row) for row in db.execute(sql, params)), key=lambda e: e.id)

        return await self._store.run(claim)

    async def renew(self, ids: Collection[int]) -> None:
        sql = (
            f"UPDATE webhook_outbox SET claimed_until = ? "
            f"WHERE claimed_by = ? AND id IN ({_marks(ids)})"
        )
        until = _moment(datetime.now(UTC) + self._lease)
        await self._store.run(lambda db: db.execute(sql, (until, self._claimer, *ids)))

    async def release(self, ids: Collection[int]) -> None:
        sql = (
            f"UPDATE webhook_outbox SET claimed_by = NULL, claimed_until = NULL "
            f"WHERE claimed_by = ? AND id IN ({_marks(ids)})"
        )
        await self._store.run(lambda db: db.execute(sql, (self._claimer, *ids)))

    async def done(self, entry_id: int) -> None:
        sql = "DELETE FROM webhook_outbox WHERE id = ?"
        await self._store.run(lambda db: db.execute(sql, (entry_id,)))

    async def discard_unsent(self, older_than: timedelta) -> int:
        now = datetime.now(UTC)
        sql = """DELETE FROM webhook_outbox WHERE made_at < ?
                 AND (claimed_until IS NULL OR claimed_until < ?)"""
        params = (_moment(now - older_than), _moment(now))
        cursor = await self._store.run(lambda db: db.execute(sql, params))
        return cursor.rowcount


_CLAIM = """
    UPDATE webhook_outbox SET claimed_by = %(claimer)s, claimed_until = now() + %(lease)s
    WHERE id IN (SELECT id FROM webhook_outbox
                 WHERE claimed_until IS NULL OR claimed_until < now()
                 ORDER BY id LIMIT %(limit)s FOR UPDATE SKIP LOCKED)
    RETURNING id, task, made_at, event, subscription"""


class PostgresWebhookOutbox:
    """Distributed mode: leases by the database's clock, which every replica shares. A claim
    left by a process that died runs out after `lease`; nobody can tell sooner, since the
    process may live on another host."""

    def __init__(self, store: "PostgresTaskStore", *, lease: timedelta = LEASE) -> None:
        self._store = store
        self._lease = lease
        self._claimer = claimer_name()

    @property
    def lease(self) -> timedelta:
        return self._lease

    async def recover(self) -> None:
        """Nothing: other replicas' claims may be alive; dead ones run out by themselves."""

    async def claim(self, limit: int) -> list[OutboxEntry]:
        params = {"claimer": self._claimer, "lease": self._lease, "limit": limit}

        async def claim(connection: "Connection") -> list[OutboxEntry]:
            rows = await (await connection.execute(_CLAIM, params)).fetchall()
            return sorted((_entry(row) for row in rows), key=lambda entry: entry.id)

        return await self._store.run(claim)

    async def renew(self, ids: Collection[int]) -> None:
        await self._execute(
            "UPDATE webhook_outbox SET claimed_until = now() + %s "
            "WHERE claimed_by = %s AND id = ANY(%s)",
            (self._lease, self._claimer, list(ids)),
        )

    async def release(self, ids: Collection[int]) -> None:
        await self._execute(
            "UPDATE webhook_outbox SET claimed_by = NULL, claimed_until = NULL "
            "WHERE claimed_by = %s AND id = ANY(%s)",
            (self._claimer, list(ids)),
        )

    async def done(self, entry_id: int) -> None:
        await self._execute("DELETE FROM webhook_outbox WHERE id = %s", (entry_id,))

    async def discard_unsent(self, older_than: timedelta) -> int:
        return await self._execute(
            "DELETE FROM webhook_outbox WHERE made_at < now() - %s "
            "AND (claimed_until IS NULL OR claimed_until < now())",
            (older_than,),
        )

    async def _execute(self, sql: str, params: tuple[object, ...]) -> int:
        async def execute(connection: "Connection") -> int:
            return (await connection.execute(sql, params)).rowcount

        return await self._store.run(execute)


def webhook_outbox(store: TaskStore, *, lease: timedelta = LEASE) -> WebhookOutbox:
    """The outbox in the database of `store` (open)."""
    if is_postgres(store):
        return PostgresWebhookOutbox(store, lease=lease)
    if isinstance(store, SqliteTaskStore):
        return SqliteWebhookOutbox(store, lease=lease)
    raise TypeError(f"no webhook outbox for a {type(store).__name__}")
