"""Listing a source, the cheap way: yt-dlp's flat extraction, in a process of its own behind
the same SSRF guard as a download (worker/network_guard.py), so the service never loads
yt-dlp and a hostile page cannot reach an internal address. The child is listing_child.py."""

import asyncio
import contextlib
import os
import signal
import time
from dataclasses import dataclass
from datetime import datetime
from multiprocessing.connection import Connection

from offlinetube_api.js_runtime import JsRuntime
from offlinetube_api.worker.process import process_context

_POLL_S = 0.5


@dataclass(frozen=True, slots=True)
class ListingJob:
    url: str
    max_entries: int  # the newest this many entries are listed, no more
    js_runtime: JsRuntime | None = None
    allow_private_urls: bool = False
    allowed_networks: tuple[str, ...] = ()
    proxy: str | None = None  # yt-dlp's `proxy` ("": none); None: the environment's, if any


@dataclass(frozen=True, slots=True)
class ListedVideo:
    """One entry of the listing. `key` is yt-dlp's `<extractor>:<video id>` where the listing
    tells them (else `url:<url>`): the same video under another address has the same key."""

    key: str
    url: str
    title: str | None
    extractor: str | None
    video_id: str | None
    duration: float | None = None  # seconds
    published: datetime | None = None  # UTC


@dataclass(frozen=True, slots=True)
class Listing:
    videos: tuple[ListedVideo, ...]  # in the source's order


class ListingFailed(Exception):
    """The source could not be listed; the message says why, for a person."""


def _child_main(job: ListingJob, connection: Connection) -> None:
    from offlinetube_api.subscriptions import listing_child  # yt-dlp loads in the child only

    listing_child.run(job, connection)


async def _wait_for_answer(receiving: Connection, timeout_s: float) -> None:
    """In short waits, so that a check cancelled at shutdown leaves no thread waiting long."""
    deadline = time.monotonic() + timeout_s
    while not await asyncio.to_thread(receiving.poll, _POLL_S):
        if time.monotonic() >= deadline:
            raise ListingFailed(f"the source was not listed within {timeout_s:g} seconds")


async def list_source(job: ListingJob, *, timeout_s: float) -> Listing:
    """The source's videos. Raises ListingFailed (the source failed, or took longer than
    `timeout_s` seconds: the process is then killed with all it started)."""
    context = process_context()
    receiving, sending = context.Pipe(duplex=False)
    process = context.Process(target=_child_main, args=(job, sending), daemon=True)  # type: ignore[attr-defined]
    await asyncio.to_thread(process.start)
    sending.close()
    try:
        await _wait_for_answer(receiving, timeout_s)
        answer = receiving.recv()  # there: it does not block
    except EOFError:
        raise ListingFailed("the listing process ended without an answer") from None
    finally:
        if process.pid is not None:
            with contextlib.suppress(OSError):
                os.killpg(process.pid, signal.SIGKILL)
            await asyncio.to_thread(process.join)
        receiving.close()
    if isinstance(answer, Listing):
        return answer
    raise ListingFailed(str(answer))
