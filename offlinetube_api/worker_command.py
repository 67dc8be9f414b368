"""`offlinetube-api worker [--concurrency N]`: download slots on this host for the database the
API replicas share (distributed mode), without HTTP. It runs until SIGTERM or Ctrl+C, which put
its running downloads back in the queue for another worker; it exits 1 when it lost the
database (procrastinate stops a worker whose heartbeat fails), for a supervisor to restart."""

import asyncio
import logging
import sys
from typing import NoReturn

from offlinetube_api import __version__
from offlinetube_api.config import Settings, redacted
from offlinetube_api.instance_lock import lock_data_folder

logger = logging.getLogger(__name__)

NEEDS_DATABASE = (
    "offlinetube-api worker needs OFFLINETUBE_DATABASE_URL=postgresql://...: a worker takes "
    "its downloads from the database the API replicas share"
)


def run_worker(settings: Settings, concurrency: int | None) -> NoReturn:
    """`concurrency`: downloads at once; unset, OFFLINETUBE_MAX_CONCURRENT_DOWNLOADS."""
    if not settings.distributed:
        print(NEEDS_DATABASE, file=sys.stderr)
        sys.exit(2)
    lock_data_folder(settings.data_dir, shared=True)
    settings.create_folders()
    sys.exit(asyncio.run(_work(settings, concurrency or settings.max_concurrent_downloads)))


async def _work(settings: Settings, slots: int) -> int:
    # Loaded here: the embedded service never imports psycopg or procrastinate.
    from offlinetube_api.distributed_core import distributed_core
    from offlinetube_api.ffmpeg import locate_ffmpeg
    from offlinetube_api.queue.worker import until_stopped

    ffmpeg = await asyncio.to_thread(locate_ffmpeg)
    # Webhooks leave from the outbox, which the API replicas send; a worker sends none.
    async with distributed_core(settings, ffmpeg=ffmpeg, notifier=None, slots=slots) as core:
        assert core.worker is not None  # slots >= 1
        _log_start(settings, slots)
        return await until_stopped(core.worker)


def _log_start(settings: Settings, slots: int) -> None:
    """What an operator checks first on a host: which database and media folder it works on."""
    assert settings.database_url is not None
    logger.info(
        "offlinetube-api %s worker started: concurrency %d, database %s, downloads folder %s",
        __version__,
        slots,
        redacted(settings.database_url.get_secret_value()),
        settings.downloads_dir.resolve(),
    )
