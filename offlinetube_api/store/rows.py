"""A Task as a database row and as event JSON, the same for SQLite and PostgreSQL.

Rows: enums as their values, tuples as JSON arrays (SQLite TEXT, PostgreSQL jsonb), bools as
such (SQLite keeps 0/1). Datetimes are ISO 8601 text in SQLite and timestamptz in PostgreSQL;
reading accepts either. Event JSON is pydantic's encoding of the Task dataclass: field names as
keys, datetimes ISO 8601, so a change of Task shows up here and nowhere else."""

import json
from collections.abc import Callable, Mapping
from dataclasses import fields, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import TypeAdapter

from offlinetube_api.models import AudioFormat, ErrorKind, Task, TaskStatus, WaitingReason
from offlinetube_api.title_words import title_words

COLUMNS = tuple(field.name for field in fields(Task))
# What a row holds beyond the Task: its title as the search sees it (title_words.py).
STORED_COLUMNS = (*COLUMNS, "title_words")

_DATETIME_COLUMNS = frozenset({"created_at", "started_at", "finished_at", "waiting_until"})
_LIST_COLUMNS = frozenset({"subtitle_langs", "subtitle_files", "warnings"})
_TASK_JSON = TypeAdapter(Task)
# PostgreSQL's text and jsonb refuse U+0000, which a site's title or a program's message may
# carry; both stores keep U+FFFD (the replacement character) in its place, alike.
_NUL, _NUL_STORED = "\x00", "\ufffd"


class Dialect(StrEnum):
    SQLITE = "sqlite"
    POSTGRESQL = "postgresql"


def _storable(value: Any) -> Any:
    """`value` with every NUL in its text (a str, or a tuple of them) replaced."""
    if type(value) is str:  # not a StrEnum, which has no NUL and must stay one
        return value.replace(_NUL, _NUL_STORED)
    if isinstance(value, tuple):
        return tuple(_storable(item) for item in value)
    return value


def column_value(column: str, value: Any, dialect: Dialect) -> Any:
    """`value` of the Task field `column` as the database takes it."""
    value = _storable(value)
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
    """Every column of `task`'s row, in STORED_COLUMNS order."""
    values = [column_value(column, getattr(task, column), dialect) for column in COLUMNS]
    return [*values, title_words(_storable(task.title))]


def stored_changes(changes: Mapping[str, Any]) -> dict[str, Any]:
    """`changes` of Task fields as a row takes them: with the title's words beside a title."""
    if "title" not in changes:
        return dict(changes)
    return {**changes, "title_words": title_words(_storable(changes["title"]))}


def _read_list(value: str | list[str]) -> tuple[str, ...]:
    if value == "[]":
        return ()  # most tasks' lists, without parsing them
    return tuple(json.loads(value) if isinstance(value, str) else value)


def _read_datetime(value: str | datetime | None) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(value)


def _read_enum(kind: type[StrEnum]) -> Callable[[str | None], StrEnum | None]:
    return lambda value: None if value is None else kind(value)


# The columns a row does not hold as the Task does, each with its conversion; a table, since
# a page converts thousands of values.
_READERS: dict[str, Callable[[Any], Any]] = {
    **dict.fromkeys(_LIST_COLUMNS, _read_list),
    **dict.fromkeys(_DATETIME_COLUMNS, _read_datetime),
    "status": _read_enum(TaskStatus),
    "error_kind": _read_enum(ErrorKind),
    "audio_format": _read_enum(AudioFormat),
    "waiting_reason": _read_enum(WaitingReason),
    "transcoded": bool,
}
_AS_THEY_ARE = tuple(column for column in COLUMNS if column not in _READERS)


def task_from_row(row: Mapping[str, Any]) -> Task:
    """A Task from a `tasks` row (an sqlite3.Row or a psycopg dict row)."""
    values = {column: row[column] for column in _AS_THEY_ARE}
    for column, read in _READERS.items():
        values[column] = read(row[column])
    return Task(**values)


def task_json(task: Task) -> str:
    """The task as an event carries it."""
    storable = replace(task, **{column: _storable(getattr(task, column)) for column in COLUMNS})
    return _TASK_JSON.dump_json(storable).decode()


def task_from_json(value: str | Mapping[str, Any]) -> Task:
    """The task of an event: its JSON text, or that text decoded already."""
    if isinstance(value, str):
        return _TASK_JSON.validate_json(value)
    return _TASK_JSON.validate_python(value)


# The downloads of a site that run now (OFFLINETUBE_MAX_PER_SITE), through tasks_running_by_site.
RUNNING_AT_SITE = (
    "SELECT count(*) AS running FROM tasks "
    "WHERE site = {mark} AND status IN ('downloading', 'processing')"
)


def where_clause(conditions: list[tuple[str, Any]]) -> tuple[str, list[Any]]:
    """`WHERE` and the conditions' SQL (each of our own text, with one placeholder) joined by
    AND, and their values in order; ("", []) for no condition."""
    if not conditions:
        return "", []
    return "WHERE " + " AND ".join(test for test, _ in conditions), [v for _, v in conditions]
