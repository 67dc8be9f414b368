"""Signed media URLs: `<img>`, `<video poster>` and `<video src>` cannot send a key in a
header, so the listing hands out URLs that carry a short-lived signature instead."""

import base64
import hashlib
import hmac
import logging
import math
import os
import re
import secrets
import time
from pathlib import Path
from urllib.parse import urlencode

from offlinetube_api.security.private_files import PRIVATE_FILE_MODE, private_file

logger = logging.getLogger(__name__)

# Expiry times are rounded up to this step, so one URL stays the same across refreshes of the
# listing for a while and the browser cache keeps working.
_EXPIRY_STEP_S = 300
# Unix seconds in ASCII digits: str.isdigit() admits "²", which int() then refuses.
_EXPIRY = re.compile(r"[0-9]{1,12}")
SECRET_BYTES = 32


class InvalidSignature(Exception):
    pass


class MediaSigner:
    def __init__(self, secret: bytes, *, ttl_s: int) -> None:
        self._secret = secret
        self._ttl_s = ttl_s

    def _signature(self, path: str, expires: int, key_id: str | None) -> str:
        signed = f"{path}\n{expires}" if key_id is None else f"{path}\n{expires}\n{key_id}"
        digest = hmac.new(self._secret, signed.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()

    def sign(self, path: str, *, key_id: str | None = None, now: float | None = None) -> str:
        """`path?exp=<unix time>&sig=<HMAC of path and exp>`; with `key_id`,
        `path?exp=...&kid=<key_id>&sig=<HMAC of path, exp and key_id>`, a link that its checker
        refuses once that key is revoked."""
        soon = (now if now is not None else time.time()) + self._ttl_s
        expires = math.ceil(soon / _EXPIRY_STEP_S) * _EXPIRY_STEP_S
        query = {"exp": expires} | ({} if key_id is None else {"kid": key_id})
        signature = self._signature(path, expires, key_id)
        return f"{path}?{urlencode(query | {'sig': signature})}"

    def check(
        self,
        path: str,
        expires: str,
        signature: str,
        *,
        key_id: str | None = None,
        now: float | None = None,
    ) -> None:
        """Raises InvalidSignature unless `signature` was made by `sign` for `path` and
        `key_id` and `expires` (unix seconds, as text from the query string) has not passed.
        Whether the key is still active is the caller's to check."""
        if not _EXPIRY.fullmatch(expires):
            raise InvalidSignature("malformed expiry")
        if int(expires) < (now if now is not None else time.time()):
            raise InvalidSignature("this link has expired")
        expected = self._signature(path, int(expires), key_id).encode()
        # As bytes: compare_digest refuses str with non-ASCII characters (a TypeError).
        if not hmac.compare_digest(expected, signature.encode()):
            raise InvalidSignature("bad signature")


def load_or_create_secret(path: Path) -> bytes:
    """The signing secret survives restarts (links stay valid) and never leaves the data
    folder. A missing, empty or short one (a crash or a full disk at first start) is replaced,
    which invalidates every link signed before. Blocking; call at start-up."""
    secret = path.read_bytes() if path.exists() else None
    if secret is not None and len(secret) >= SECRET_BYTES:
        private_file(path)
        return secret
    if secret is None:
        logger.info("made a new signing key in %s", path)
    else:
        logger.warning(
            "%s held %d bytes, fewer than %d: replaced by a new key; media and event links "
            "handed out before no longer work",
            path,
            len(secret),
            SECRET_BYTES,
        )
    secret = secrets.token_bytes(SECRET_BYTES)
    _write_atomically(path, secret)
    return secret


def _write_atomically(path: Path, content: bytes) -> None:
    """Whole or not at all, even across a crash: a temporary file, synced, then renamed."""
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE)
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(content)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    folder = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(folder)  # makes the rename itself durable
    finally:
        os.close(folder)
