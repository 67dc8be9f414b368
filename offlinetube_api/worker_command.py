"""`offlinetube-api worker [--concurrency N]`: download slots on this host for the database the
API replicas share (distributed mode); no HTTP but, with OFFLINETUBE_METRICS_PORT set, its own
/metrics and /healthz (metrics/worker_listener.py). It runs until SIGTERM or Ctrl+C, which put
its running downloads back in the queue for another worker; it exits 1 when it lost the
database (procrastinate stops a worker whose heartbeat fails), for a supervisor to restart."""

import asyncio
import socket
import sys
from typing import NoReturn

from prometheus_client import CollectorRegistry

from offlinetube_api.config import Settings
from offlinetube_api.instance_lock import lock_data_folder
from offlinetube_api.metrics.downloads import DownloadMetrics
from offlinetube_api.metrics.service import build_info
from offlinetube_api.metrics.worker_listener import listener_app, metrics_sockets, serving
from offlinetube_api.programs import locate_programs
from offlinetube_api.security.signing_secret import signing_secret
from offlinetube_api.start_summary import log_worker_start

NEEDS_DATABASE = (
    "offlinetube-api worker needs OFFLINETUBE_DATABASE_URL=postgresql://...: a worker takes "
    "its downloads from the database the API replicas share"
)


def run_worker(settings: Settings, concurrency: int | None) -> NoReturn:
    """`concurrency`: downloads at once; unset, OFFLINETUBE_MAX_CONCURRENT_DOWNLOADS. Raises
    UnusableFolder, or PortUnavailable for OFFLINETUBE_METRICS_PORT."""
    if not settings.distributed:
        print(NEEDS_DATABASE, file=sys.stderr)
        sys.exit(2)
    settings.create_folders()
    lock_data_folder(settings.data_dir, shared=True)
    listeners = metrics_sockets(settings)
    slots = concurrency or settings.max_concurrent_downloads
    sys.exit(asyncio.run(_work(settings, slots, listeners)))


async def _work(settings: Settings, slots: int, listeners: list[socket.socket]) -> int:
    # Loaded here: the embedded service never imports psycopg or procrastinate.
    from offlinetube_api.distributed_core import distributed_core
    from offlinetube_api.main import auth_policy
    from offlinetube_api.queue.worker import until_stopped

    programs = await asyncio.to_thread(locate_programs, settings)
    registry = CollectorRegistry()
    build_info(registry, mode="worker")
    metrics = DownloadMetrics(registry)
    # Webhooks leave from the outbox, which the API replicas send; a worker sends none.
    async with distributed_core(
        settings, programs=programs, notifier=None, slots=slots, metrics=metrics
    ) as core:
        assert core.worker is not None  # slots >= 1
        secret = await signing_secret(core.store, data_dir=settings.data_dir)
        auth = await auth_policy(settings, core.store, secret)
        async with serving(listeners, listener_app(registry, auth)):
            log_worker_start(settings, programs=programs, slots=slots)
            return await until_stopped(core.worker)
