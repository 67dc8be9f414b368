"""Who may call what: API keys with scopes, or a signed URL for media.

Open (no key needed) while no key exists and OFFLINETUBE_AUTH is unset, or when it is `off`;
required when it is `on` or as soon as one key exists."""

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request

from offlinetube_api.config import AuthMode
from offlinetube_api.errors import Forbidden, Unauthorized
from offlinetube_api.models import Task
from offlinetube_api.schemas import TaskPublic
from offlinetube_api.security.keys import ApiKey, KeyStore, Scope
from offlinetube_api.security.signing import InvalidSignature, MediaSigner

_KEYS_CHECK_INTERVAL_S = 1.0


class AuthPolicy:
    def __init__(self, *, mode: AuthMode | None, keys: KeyStore, signer: MediaSigner) -> None:
        self._mode = mode
        self._keys = keys
        self.signer = signer
        self._keys_exist = mode is AuthMode.ON
        self._checked_at = -_KEYS_CHECK_INTERVAL_S

    async def required(self) -> bool:
        if self._mode is not None:
            return self._mode is AuthMode.ON
        # A key created with the command line takes effect within a second, without a restart.
        if time.monotonic() - self._checked_at >= _KEYS_CHECK_INTERVAL_S:
            self._keys_exist = await asyncio.to_thread(self._keys.any_active)
            self._checked_at = time.monotonic()
        return self._keys_exist

    async def identify(self, request: Request) -> ApiKey | None:
        """The key the request carries, if any; a key that does not check out is a 401."""
        presented = _presented_key(request)
        if presented is None:
            return None
        key = await asyncio.to_thread(self._keys.verify, presented)
        if key is None:
            raise Unauthorized("Invalid or revoked API key")
        request.state.api_key = key
        return key

    def present(self, task: Task, *, signed: bool | None = None) -> TaskPublic:
        """`signed` None: as the last check found (for events, which are made once for all)."""
        if signed is None:
            signed = self._keys_exist if self._mode is None else self._mode is AuthMode.ON
        return TaskPublic.from_task(task, sign=self.signer.sign if signed else None)


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


async def media_access(request: Request, auth: AuthDep) -> None:
    """Media are read with a key in a header, or with a signed URL from the listing, since
    `<img>` and `<video>` cannot send headers."""
    if not await auth.required():
        return
    expires, signature = request.query_params.get("exp"), request.query_params.get("sig")
    if expires is None and signature is None:
        await require(Scope.READ)(request, auth)
        return
    try:
        auth.signer.check(request.url.path, expires or "", signature or "")
    except InvalidSignature as exc:
        raise Forbidden(f"This media link is not valid: {exc}") from exc


async def task_presenter(request: Request, auth: AuthDep) -> Callable[[Task], TaskPublic]:
    """Task objects as this request should see them: with signed media URLs when auth is on."""
    signed = await auth.required()
    return lambda task: auth.present(task, signed=signed)


PresentDep = Annotated[Callable[[Task], TaskPublic], Depends(task_presenter)]
