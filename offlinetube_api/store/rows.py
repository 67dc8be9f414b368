"""A Task as a database row and as event JSON, the same for SQLite and PostgreSQL.

Rows: enums as their values, tuples as JSON arrays (SQLite TEXT, PostgreSQL jsonb), bools as
such (SQLite keeps 0/1). Datetimes are ISO 8601 text in SQLite and timestamptz in PostgreSQL;
reading accepts either. Event JSON is pydantic's encoding of the Task dataclass: field names as
keys, datetimes ISO 8601, so a change of Task shows up here and nowhere else."""

import json
from collections.abc import Mapping
from dataclasses import fields
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import TypeAdapter

from offlinetube_api.models import AudioFormat, ErrorKind, Task, TaskStatus

COLUMNS = tuple(field.name for field in fields(Task))
UPDATABLE = frozenset(COLUMNS) - {"id", "created_at"}

_DATETIME_COLUMNS = frozenset({"created_at", "started_at", "finished_at"})
_LIST_COLUMNS = frozenset({"subtitle_langs", "subtitle_files", "warnings"})
_ENUM_COLUMNS: dict[str, type[StrEnum]] = {
    "status": TaskStatus,
    "error_kind": ErrorKind,
    "audio_format": AudioFormat,
}
_BOOL_COLUMNS = frozenset({"transcoded"})
_TASK_JSON = TypeAdapter(Task)


class Dialect(StrEnum):
    SQLITE = "sqlite"
    POSTGRESQL = "postgresql"


def column_value(column: str, value: Any, dialect: Dialect) -> Any:
    """`value` of the Task field `column` as the database takes it."""
    if column in _LIST_COLUMNS:
        return json.dumps(list(value))
    if value is None:
        return None
    if column in _DATETIME_COLUMNS and dialect is Dialect.SQLITE:
        return value.isoformat()
    if isinstance(value, StrEnum):
        return value.value
    return value


def task_values(task: Task, dialect: Dialect) -> list[Any]:
    """Every column of `task`, in COLUMNS order."""
    return [column_value(column, getattr(task, column), dialect) for column in COLUMNS]


def task_from_row(row: Mapping[str, Any]) -> Task:
    """A Task from a `tasks` row (an sqlite3.Row or a psycopg dict row)."""
    return Task(**{column: _field_value(column, row[column]) for column in COLUMNS})


def _field_value(column: str, value: Any) -> Any:
    if column in _LIST_COLUMNS:
        return tuple(json.loads(value) if isinstance(value, str) else value)
    if value is None:
        return None
    if column in _DATETIME_COLUMNS:
        return value if isinstance(value, datetime) else datetime.fromisoformat(value)
    if column in _ENUM_COLUMNS:
        return _ENUM_COLUMNS[column](value)
    if column in _BOOL_COLUMNS:
        return bool(value)
    return value


def task_json(task: Task) -> str:
    """The task as an event carries it."""
    return _TASK_JSON.dump_json(task).decode()


def task_from_json(value: str | Mapping[str, Any]) -> Task:
    """The task of an event: its JSON text (SQLite), or the object jsonb decoded to
    (PostgreSQL)."""
    if isinstance(value, str):
        return _TASK_JSON.validate_json(value)
    return _TASK_JSON.validate_python(value)
