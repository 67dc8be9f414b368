"""How every process of the service logs: the level of OFFLINETUBE_LOG_LEVEL, and the format of
OFFLINETUBE_LOG_FORMAT, `text` (a line for people) or `json` (one object per line, for a log
collector, with the fields a call passes as `extra` beside `time`, `level`, `logger` and
`message`). The access log never holds a signature or a key, in either format.

Download processes load this module too, and so neither uvicorn nor the settings: what they
need arrives in their DownloadJob."""

import copy
import logging
import logging.config
import re
from enum import StrEnum
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote_plus

from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonFormatter

if TYPE_CHECKING:
    from offlinetube_api.config import Settings


class LogFormat(StrEnum):
    """`text`: lines for people. `json`: one JSON object per line, for a log collector."""

    TEXT = "text"
    JSON = "json"


TEXT_FORMAT = "%(levelname)s %(name)s: %(message)s"
# Each line of JSON: these first, then the record's own fields (see _json_formatter).
_JSON_FIELDS = "%(levelname)s %(name)s %(message)s"
_JSON_NAMES = {"levelname": "level", "name": "logger"}
# uvicorn's coloured copy of some messages: noise in a JSON line.
_NOT_FIELDS = (*RESERVED_ATTRS, "color_message")

REDACTED = "[redacted]"
# Query parameters whose value is a secret: the signature of a signed link, and the names a
# client might try for a key (the service reads keys from headers only, but people guess).
SECRET_PARAMETERS = frozenset({"sig", "key", "api_key", "apikey", "token", "access_token"})
_API_KEY = re.compile(r"(otk_[0-9a-fA-F]+_)[A-Za-z0-9_-]+")
# The arguments of uvicorn's access log record, in order.
_ACCESS_FIELDS = ("client", "method", "path", "http_version", "status")


def redact(target: str) -> str:
    """A request target (`/path?query`) with signatures and API keys replaced by
    `[redacted]`; everything else is kept as sent, so the log still shows what was asked."""
    if "?" not in target and "otk_" not in target:
        return target  # most requests: nothing that could be a secret, so no parsing
    path, question, query = target.partition("?")
    pairs = [_redact_pair(pair) for pair in query.split("&")] if question else []
    return _API_KEY.sub(rf"\1{REDACTED}", path + question + "&".join(pairs))


def _redact_pair(pair: str) -> str:
    name, equals, value = pair.partition("=")
    secret = unquote_plus(name).lower() in SECRET_PARAMETERS
    if equals and (secret or _API_KEY.search(unquote_plus(value))):
        return f"{name}={REDACTED}"
    return pair


class RedactSecrets(logging.Filter):
    """On uvicorn's access logger, so before any format sees the record: redacts every text
    argument of a record (the request target is one; the others, an address, a method, a
    version, are left as they are)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(redact(arg) if isinstance(arg, str) else arg for arg in record.args)
        return True


class AccessJsonFormatter(JsonFormatter):
    """An access log line as JSON: the line itself as `message`, and its parts as fields
    (`client`, `method`, `path`, `http_version`, `status`)."""

    def add_fields(
        self, log_data: dict[str, Any], record: logging.LogRecord, message_dict: dict[str, Any]
    ) -> None:
        super().add_fields(log_data, record, message_dict)
        if isinstance(record.args, tuple) and len(record.args) == len(_ACCESS_FIELDS):
            log_data.update(zip(_ACCESS_FIELDS, record.args, strict=True))


def _json_formatter(**extra: Any) -> dict[str, Any]:
    return {
        "()": JsonFormatter,
        "fmt": _JSON_FIELDS,
        "rename_fields": _JSON_NAMES,
        "reserved_attrs": _NOT_FIELDS,
        "timestamp": "time",  # UTC, ISO 8601
        **extra,
    }


def logging_config(settings: "Settings", *, root: bool) -> dict[str, Any]:
    """A `logging.config.dictConfig` set-up: uvicorn's loggers (its own formats for text, as
    uvicorn writes them), with the redacting filter on its access log; and with `root`, every
    other logger of the process too. uvicorn is given it without `root`, so that a test suite
    that runs the app in its own process keeps its own logging."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config["filters"] = {"redact_secrets": {"()": RedactSecrets}}
    config["loggers"]["uvicorn.access"]["filters"] = ["redact_secrets"]
    if settings.log_format is LogFormat.JSON:
        config["formatters"] = {
            "default": _json_formatter(),
            "access": _json_formatter(**{"()": AccessJsonFormatter}),
        }
    if root:
        config["formatters"]["service"] = (
            {"format": TEXT_FORMAT} if settings.log_format is LogFormat.TEXT else _json_formatter()
        )
        config["handlers"]["service"] = {
            "formatter": "service",
            "class": "logging.StreamHandler",
            "stream": "ext://sys.stderr",
        }
        config["root"] = {"handlers": ["service"], "level": settings.log_level.upper()}
    return config


def start_logging(settings: "Settings") -> None:
    """For a process of the command line (`serve`, `worker`), before anything logs."""
    logging.config.dictConfig(logging_config(settings, root=True))


def start_download_logging(level: str, log_format: LogFormat, task_id: str) -> None:
    """For a download process, whose lines go to the service's stderr: each names its task
    (`[1b2c3d4e]` in text, `task_id` in JSON)."""
    handler = logging.StreamHandler()
    if log_format is LogFormat.JSON:
        handler.setFormatter(
            JsonFormatter(
                _JSON_FIELDS,
                rename_fields=_JSON_NAMES,
                reserved_attrs=_NOT_FIELDS,
                timestamp="time",
                static_fields={"task_id": task_id},
            )
        )
    else:
        handler.setFormatter(logging.Formatter(f"%(levelname)s [{task_id[:8]}] %(message)s"))
    logging.basicConfig(level=level.upper(), handlers=[handler], force=True)
