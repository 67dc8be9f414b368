"""A Subscription as a row of either database: the client's choices and the last check as
JSON (pydantic's encoding of the dataclasses, so a new field shows up here and nowhere else),
the schedule as columns. SQLite keeps times as ISO 8601 text (UTC, microseconds: ordered as
text), PostgreSQL as timestamptz; reading takes either."""

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from pydantic import TypeAdapter

from offlinetube_api.subscriptions.model import CheckRecord, Subscription, SubscriptionSpec

_SPEC = TypeAdapter(SubscriptionSpec)
_RECORD = TypeAdapter(CheckRecord)
_SUBSCRIPTION = TypeAdapter(Subscription)
COLUMNS = (
    "id",
    "spec",
    "created_at",
    "next_check_at",
    "paused",
    "failures",
    "checks",
    "last_check",
)


def moment(at: datetime) -> str:
    """A time as SQLite keeps it."""
    return at.astimezone(UTC).isoformat(timespec="microseconds")


def spec_json(spec: SubscriptionSpec) -> str:
    return _SPEC.dump_json(spec).decode()


def record_json(record: CheckRecord) -> str:
    return _RECORD.dump_json(record).decode()


def subscription_json(subscription: Subscription) -> str:
    """The whole subscription, as its events carry it."""
    return _SUBSCRIPTION.dump_json(subscription).decode()


def subscription_from_json(text: str) -> Subscription:
    return _SUBSCRIPTION.validate_json(text)


def _time(value: str | datetime) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)


def subscription_values(subscription: Subscription, *, text_times: bool) -> list[Any]:
    """The row's values in COLUMNS order; times as text for SQLite (`text_times`)."""
    created, due = subscription.created_at, subscription.next_check_at
    last = subscription.last_check
    return [
        subscription.id,
        spec_json(subscription.spec),
        moment(created) if text_times else created,
        moment(due) if text_times else due,
        subscription.paused,
        subscription.failures,
        subscription.checks,
        record_json(last) if last else None,
    ]


def subscription_from_row(row: Mapping[str, Any]) -> Subscription:
    last = row["last_check"]
    return Subscription(
        id=row["id"],
        spec=_SPEC.validate_json(row["spec"]),
        created_at=_time(row["created_at"]),
        next_check_at=_time(row["next_check_at"]),
        paused=bool(row["paused"]),
        failures=row["failures"],
        checks=row["checks"],
        last_check=_RECORD.validate_json(last) if last else None,
    )
