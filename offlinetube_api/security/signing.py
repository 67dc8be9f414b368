"""Signed media URLs: `<img>`, `<video poster>` and `<video src>` cannot send a key in a
header, so the listing hands out URLs that carry a short-lived signature instead."""

import base64
import hashlib
import hmac
import math
import secrets
import time
from pathlib import Path
from urllib.parse import urlencode

# Expiry times are rounded up to this step, so one URL stays the same across refreshes of the
# listing for a while and the browser cache keeps working.
_EXPIRY_STEP_S = 300


class InvalidSignature(Exception):
    pass


class MediaSigner:
    def __init__(self, secret: bytes, *, ttl_s: int) -> None:
        self._secret = secret
        self._ttl_s = ttl_s

    def _signature(self, path: str, expires: int) -> str:
        digest = hmac.new(self._secret, f"{path}\n{expires}".encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()

    def sign(self, path: str, *, now: float | None = None) -> str:
        """`path?exp=<unix time>&sig=<HMAC of path and exp>`."""
        soon = (now if now is not None else time.time()) + self._ttl_s
        expires = math.ceil(soon / _EXPIRY_STEP_S) * _EXPIRY_STEP_S
        return f"{path}?{urlencode({'exp': expires, 'sig': self._signature(path, expires)})}"

    def check(self, path: str, expires: str, signature: str, *, now: float | None = None) -> None:
        if not expires.isdigit() or len(expires) > 12:
            raise InvalidSignature("malformed expiry")
        if int(expires) < (now if now is not None else time.time()):
            raise InvalidSignature("this link has expired")
        if not hmac.compare_digest(self._signature(path, int(expires)), signature):
            raise InvalidSignature("bad signature")


def load_or_create_secret(path: Path) -> bytes:
    """The signing secret survives restarts (links stay valid) and never leaves the data
    folder. Blocking; call at start-up."""
    if path.exists():
        return path.read_bytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_bytes(32)
    path.touch(mode=0o600)
    path.write_bytes(secret)
    return secret
