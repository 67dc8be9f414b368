"""How uvicorn runs the app: the guarded HTTP protocol (server.py), which clients' forwarded
headers count, its logging (logs.py: an access log that never holds a signature or a key), and
the sockets it listens on. `offlinetube-api
serve` and the test suite both use it."""

import errno
import socket
from typing import Any

import uvicorn
from fastapi import FastAPI

from offlinetube_api.config import BadSetting, Settings
from offlinetube_api.logs import logging_config
from offlinetube_api.server import guarded_http_protocol


def uvicorn_config(app: FastAPI, settings: Settings, **overrides: Any) -> uvicorn.Config:
    """uvicorn trusts `X-Forwarded-For` and `-Proto` from 127.0.0.1 by default (or from its
    own FORWARDED_ALLOW_IPS variable), which lets any local client pose as any address; here
    only the addresses in OFFLINETUBE_FORWARDED_ALLOW_IPS are believed, none by default."""
    trusted = settings.forwarded_allow_ips
    options: dict[str, Any] = {
        "host": settings.host,
        "port": settings.port,
        "log_level": settings.log_level,
        "log_config": logging_config(settings, root=False),
        "access_log": settings.access_log,
        "proxy_headers": bool(trusted),
        "forwarded_allow_ips": trusted,
        "http": guarded_http_protocol(settings),  # header timeout, connections per client
        # Open event streams would otherwise hold the exit up for as long as they stay open.
        "timeout_graceful_shutdown": max(1, round(settings.shutdown_timeout)),
    }
    return uvicorn.Config(app, **(options | overrides))


# uvicorn's own default backlog.
LISTEN_BACKLOG = 2048


class PortUnavailable(BadSetting):
    """The service cannot listen where OFFLINETUBE_HOST and OFFLINETUBE_PORT say."""


def listening_sockets(
    settings: Settings, *, port: int | None = None, port_variable: str = "OFFLINETUBE_PORT"
) -> list[socket.socket]:
    """Sockets bound to OFFLINETUBE_HOST and OFFLINETUBE_PORT (or `port`, set by
    `port_variable`) and listening, one per address the host name stands for (as asyncio's
    create_server would bind them), for uvicorn's `Server.run(sockets=...)`. Bound before the
    app starts, so that a busy port stops the start at once, in one line, rather than after
    the whole start-up with a log and exit 1. Raises PortUnavailable."""
    host, port = settings.host, port or settings.port
    try:
        addresses = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise PortUnavailable(
            f"OFFLINETUBE_HOST: {exc.strerror}; it must be an address or a name of this "
            f"machine (got {host!r})"
        ) from None
    bound: list[socket.socket] = []
    try:
        for family, kind, protocol, _, address in dict.fromkeys(addresses):
            bound.append(_listening(family, kind, protocol, address))
    except OSError as exc:
        for sock in bound:
            sock.close()
        raise PortUnavailable(_why_not(exc, host, port, port_variable)) from None
    return bound


def _listening(family: int, kind: int, protocol: int, address: tuple[Any, ...]) -> socket.socket:
    sock = socket.socket(family, kind, protocol)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:  # as asyncio does: the IPv6 address alone
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        sock.bind(address)
        # At once: two sockets with SO_REUSEADDR may share a port until one listens.
        sock.listen(LISTEN_BACKLOG)
    except OSError:
        sock.close()
        raise
    return sock


def _why_not(error: OSError, host: str, port: int, port_variable: str) -> str:
    if error.errno == errno.EADDRINUSE:
        return (
            f"{port_variable}: port {port} on {host} is already in use by another program; "
            f"choose a free port from 1 to 65535, or stop that program (got '{port}')"
        )
    if error.errno == errno.EACCES:
        return (
            f"{port_variable}: this user may not listen on port {port} (ports below 1024 "
            f"need privileges); choose one from 1024 to 65535 (got '{port}')"
        )
    return (
        f"OFFLINETUBE_HOST: cannot listen on {host}: {error.strerror}; it must be an address "
        f"of this machine, such as 127.0.0.1 or 0.0.0.0 (got {host!r})"
    )
