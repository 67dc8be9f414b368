"""How uvicorn runs the app: the guarded HTTP protocol (server.py), which clients' forwarded
headers count, and an access log that never holds a signature or a key. `offlinetube-api
serve` and the test suite both use it."""

import copy
import logging
import re
from typing import Any
from urllib.parse import unquote_plus

import uvicorn
from fastapi import FastAPI
from uvicorn.config import LOGGING_CONFIG

from offlinetube_api.config import Settings
from offlinetube_api.server import guarded_http_protocol

REDACTED = "[redacted]"
# Query parameters whose value is a secret: the signature of a signed link, and the names a
# client might try for a key (the service reads keys from headers only, but people guess).
SECRET_PARAMETERS = frozenset({"sig", "key", "api_key", "apikey", "token", "access_token"})
_API_KEY = re.compile(r"(otk_[0-9a-fA-F]+_)[A-Za-z0-9_-]+")


def redact(target: str) -> str:
    """A request target (`/path?query`) with signatures and API keys replaced by
    `[redacted]`; everything else is kept as sent, so the log still shows what was asked."""
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
    """On uvicorn's access logger: redacts every text argument of a record (the request
    target is one; the others, an address, a method, a version, are left as they are)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(redact(arg) if isinstance(arg, str) else arg for arg in record.args)
        return True


def logging_config() -> dict[str, Any]:
    """uvicorn's own logging set-up, plus the redacting filter on its access log."""
    config = copy.deepcopy(LOGGING_CONFIG)
    config["filters"] = {"redact_secrets": {"()": RedactSecrets}}
    config["loggers"]["uvicorn.access"]["filters"] = ["redact_secrets"]
    return config


def uvicorn_config(app: FastAPI, settings: Settings, **overrides: Any) -> uvicorn.Config:
    """uvicorn trusts `X-Forwarded-For` and `-Proto` from 127.0.0.1 by default (or from its
    own FORWARDED_ALLOW_IPS variable), which lets any local client pose as any address; here
    only the addresses in OFFLINETUBE_FORWARDED_ALLOW_IPS are believed, none by default."""
    trusted = settings.forwarded_allow_ips
    options: dict[str, Any] = {
        "host": settings.host,
        "port": settings.port,
        "log_level": settings.log_level,
        "log_config": logging_config(),
        "proxy_headers": bool(trusted),
        "forwarded_allow_ips": trusted,
        "http": guarded_http_protocol(settings),  # header timeout, connections per client
        # Open event streams would otherwise hold the exit up for as long as they stay open.
        "timeout_graceful_shutdown": max(1, round(settings.shutdown_timeout)),
    }
    return uvicorn.Config(app, **(options | overrides))
