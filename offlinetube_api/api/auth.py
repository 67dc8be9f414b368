"""Who may call what: API keys with scopes, or a signed URL for media and event streams.

Open (no key needed) when OFFLINETUBE_AUTH is `off`, or while it is unset, no key is active
and the service listens on a loopback address only; required otherwise."""

import asyncio
import ipaddress
import logging
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated, TypeVar

import anyio
from fastapi import Depends, Query, Request, Security
from fastapi.security import APIKeyHeader, HTTPBearer

from offlinetube_api.config import AuthMode
from offlinetube_api.errors import Forbidden, StoreUnavailable, Unauthorized
from offlinetube_api.models import Task
from offlinetube_api.schemas import TaskPublic
from offlinetube_api.security.keys import ApiKey, KeyStore, Scope
from offlinetube_api.security.signing import InvalidSignature, MediaSigner

logger = logging.getLogger(__name__)

T = TypeVar("T")

_KEYS_CHECK_INTERVAL_S = 1.0
# With the check interval, a revoked key's streams end within 1.5 s of the revocation.
_REVOCATION_POLL_S = 0.5


def is_loopback_host(host: str) -> bool:
    """True when every address `host` resolves to is a loopback one. Blocking (DNS)."""
    try:
        return all(
            ipaddress.ip_address(info[4][0]).is_loopback for info in socket.getaddrinfo(host, None)
        )
    except (socket.gaierror, ValueError):
        return False


class AuthPolicy:
    """`network_bound`: the service listens on an address other machines can reach, so with
    OFFLINETUBE_AUTH unset keys stay required even when none is active."""

    def __init__(
        self, *, mode: AuthMode | None, keys: KeyStore, signer: MediaSigner, network_bound: bool
    ) -> None:
        self._mode = mode
        self._keys = keys
        self.signer = signer
        self._network_bound = network_bound
        self._active_ids: frozenset[str] = frozenset()
        self._checked_at = -_KEYS_CHECK_INTERVAL_S  # monotonic time the last query started

    async def required(self) -> bool:
        if self._mode is not None:
            return self._mode is AuthMode.ON
        active = await self.active_key_ids()
        return self._network_bound or bool(active)

    def _required_as_last_seen(self) -> bool:
        if self._mode is not None:
            return self._mode is AuthMode.ON
        return self._network_bound or bool(self._active_ids)

    async def active_key_ids(self) -> frozenset[str]:
        """The ids of the keys not revoked, as seen at most a second ago: a key made or revoked
        with the command line counts within a second, without a restart."""
        if time.monotonic() - self._checked_at >= _KEYS_CHECK_INTERVAL_S:
            started = time.monotonic()
            try:
                active = await self._keys.active()
            except StoreUnavailable:
                # The keys last seen stand while the database fails: the host check runs this
                # before routing, outside the 503 handler, so raising made every answer a 500,
                # /healthz included. Asked again after the interval, not on every request.
                self._checked_at = started
                return self._active_ids
            self._checked_at = started
            self._note_change(frozenset(key.id for key in active))
        return self._active_ids

    def _note_change(self, active: frozenset[str]) -> None:
        if self._active_ids and not active and self._mode is None:
            if self._network_bound:
                logger.warning(
                    "no API key is active any more: every request but /api/health is refused "
                    "until one is made, since the service listens on a network address"
                )
            else:
                logger.warning("no API key is active any more: the service is open to local use")
        self._active_ids = active

    async def wait_for_revocation(self, key_id: str) -> None:
        """Returns once the key `key_id` is no longer active, as seen by a check made after
        this call."""
        since = time.monotonic()
        while True:
            await asyncio.sleep(_REVOCATION_POLL_S)
            active = await self.active_key_ids()
            if self._checked_at >= since and key_id not in active:
                return

    async def identify(self, request: Request) -> ApiKey | None:
        """The key the request carries, if any; a key that does not check out is a 401."""
        presented = _presented_key(request)
        if presented is None:
            return None
        key = await self._keys.verify(presented)
        if key is None:
            raise Unauthorized("Invalid or revoked API key")
        request.state.api_key = key
        return key

    def present(self, task: Task, *, signed: bool | None = None) -> TaskPublic:
        """`signed` None: as the last check found (for events, which are made once for all)."""
        if signed is None:
            signed = self._required_as_last_seen()
        return TaskPublic.from_task(task, sign=self.signer.sign if signed else None)


KEY_HELP = (
    "An API key, made with `offlinetube-api keys create`. Needed when OFFLINETUBE_AUTH is `on`, "
    "or while it is unset and a key is active or the service listens on a network address."
)
# How a key may be sent, for /openapi.json (clients, Swagger UI's Authorize): either one.
# As route dependencies they only declare it; `_presented_key` reads the key for every path,
# MediaFirst's answers too (api/media_first.py), which no route dependency reaches.
KEY_SCHEMES = [
    Security(HTTPBearer(scheme_name="BearerKey", description=KEY_HELP, auto_error=False)),
    Security(
        APIKeyHeader(
            name="X-API-Key", scheme_name="HeaderKey", description=KEY_HELP, auto_error=False
        )
    ),
]


def _presented_key(request: Request) -> str | None:
    authorization = request.headers.get("authorization", "")
    scheme, _, credentials = authorization.partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        return credentials.strip()
    return request.headers.get("x-api-key") or None


async def get_auth(request: Request) -> AuthPolicy:
    policy: AuthPolicy = request.app.state.auth
    return policy


AuthDep = Annotated[AuthPolicy, Depends(get_auth)]


def require(scope: Scope) -> Callable[[Request, AuthPolicy], Awaitable[None]]:
    """A dependency that lets a request through with a key of at least `scope`."""

    async def check(request: Request, auth: AuthDep) -> None:
        if not await auth.required():
            return
        key = await auth.identify(request)
        if key is None:
            raise Unauthorized("An API key is required: send `Authorization: Bearer <key>`")
        if not key.scope.allows(scope):
            raise Forbidden(f"This key's scope is {key.scope!s}; this needs {scope!s}")

    return check


async def media_access(
    request: Request,
    auth: AuthDep,
    expires: Annotated[
        str | None,
        Query(alias="exp", description="Expiry of a signed link, in unix seconds."),
    ] = None,
    signature: Annotated[
        str | None, Query(alias="sig", description="Signature of a signed link.")
    ] = None,
    key_id: Annotated[
        str | None,
        Query(alias="kid", description="The key a signed link of `/api/events/link` dies with."),
    ] = None,
) -> None:
    """Media and event streams are read with a key in a header, or with a signed URL from the
    listing, since `<img>`, `<video>` and `EventSource` cannot send headers. A link signed
    for a key (`kid`) works while that key is active, and its stream closes when it is not."""
    if not await auth.required():
        return
    if expires is None and signature is None:
        await require(Scope.READ)(request, auth)
        return
    try:
        auth.signer.check(request.url.path, expires or "", signature or "", key_id=key_id)
    except InvalidSignature as exc:
        raise Forbidden(f"This signed link is not valid: {exc}") from exc
    if key_id is not None:
        if key_id not in await auth.active_key_ids():
            raise Forbidden("This signed link's API key was revoked")
        request.state.link_key_id = key_id


async def task_presenter(request: Request, auth: AuthDep) -> Callable[[Task], TaskPublic]:
    """Task objects as this request should see them: with signed media URLs when auth is on."""
    signed = await auth.required()
    return lambda task: auth.present(task, signed=signed)


PresentDep = Annotated[Callable[[Task], TaskPublic], Depends(task_presenter)]


class Revocation:
    """Ends a long answer (an event stream) once the key that opened it is revoked."""

    def __init__(self, auth: AuthPolicy, request: Request) -> None:
        self._auth = auth
        self._request = request

    def guard(self, stream: AsyncIterator[T], stop: anyio.Event) -> AsyncIterator[T]:
        """`stream`, with `stop` set when the request's key, or the key its signed link was
        made for, is revoked; `stream` must end soon after `stop` is set. Unchanged when the
        request came with neither."""
        key_id = opening_key_id(self._request)
        return stream if key_id is None else self._watched(stream, key_id, stop)

    async def _watched(
        self, stream: AsyncIterator[T], key_id: str, stop: anyio.Event
    ) -> AsyncIterator[T]:
        async def stop_on_revocation() -> None:
            await self._auth.wait_for_revocation(key_id)
            logger.info("key %s was revoked: closing an event stream it opened", key_id)
            stop.set()

        watcher = asyncio.create_task(stop_on_revocation())
        try:
            async for item in stream:
                yield item
        finally:
            watcher.cancel()


def opening_key_id(request: Request) -> str | None:
    """The id of the key `request` stands for: a key sent in a header, a signed link's `kid`
    (media_access), or a web app session's key; None when it came with none of them."""
    key: ApiKey | None = getattr(request.state, "api_key", None)
    if key is not None:
        return key.id
    session = getattr(request.state, "web_session", None)
    if session is not None:
        return str(session.key_id)
    link_key_id: str | None = getattr(request.state, "link_key_id", None)
    return link_key_id


async def get_revocation(request: Request, auth: AuthDep) -> Revocation:
    return Revocation(auth, request)


RevocationDep = Annotated[Revocation, Depends(get_revocation)]
