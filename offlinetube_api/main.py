"""Builds the application: settings in, a FastAPI app with its store and manager out."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from offlinetube_api import __version__
from offlinetube_api.api.auth import AuthPolicy, is_loopback_host
from offlinetube_api.api.body_limit import BodySizeLimit
from offlinetube_api.api.docs_pages import install_docs_pages
from offlinetube_api.api.event_messages import EventMessages
from offlinetube_api.api.event_stream_limit import EventStreamLimit
from offlinetube_api.api.media_first import MediaFirst
from offlinetube_api.api.nosniff import NoSniff
from offlinetube_api.api.openapi import operation_id
from offlinetube_api.api.origins import HostCheck, SameOriginWrites, TrustedHosts
from offlinetube_api.api.rate_limit import download_rate_limit
from offlinetube_api.api.router import api_router
from offlinetube_api.config import Settings
from offlinetube_api.cookie_sets import MAX_COOKIE_FILE_BYTES
from offlinetube_api.core import Core, embedded_core
from offlinetube_api.errors import install_error_handlers
from offlinetube_api.info_reader import InfoReader
from offlinetube_api.library import warn_if_library_is_orphaned
from offlinetube_api.metrics.downloads import DownloadMetrics
from offlinetube_api.metrics.http import CountRequests
from offlinetube_api.metrics.service import ServiceMetrics
from offlinetube_api.plays import PlayLog
from offlinetube_api.ports import TaskStore
from offlinetube_api.programs import Programs, locate_programs
from offlinetube_api.security.key_tables import key_store
from offlinetube_api.security.sessions import SessionSigner
from offlinetube_api.security.signing import MediaSigner
from offlinetube_api.security.signing_secret import signing_secret
from offlinetube_api.start_summary import log_service_start
from offlinetube_api.thumbnail_cache import ThumbnailCache
from offlinetube_api.video_titles import VideoTitles
from offlinetube_api.web.install import install_web_app
from offlinetube_api.web.session_cookie import WebSessions
from offlinetube_api.webhooks import WebhookNotifier, outbox_delivery

DESCRIPTION = """Download videos with yt-dlp and serve them back for offline viewing.

POST a page URL to `/api/download`, follow the task at `/api/downloads/{id}`, then play
`stream_url` in a `<video>` tag and show `thumbnail` in an `<img>` tag.

When keys are required, send one as `Authorization: Bearer <key>` or `X-API-Key: <key>`; the
media and event-stream URLs in the answers are signed (`exp` and `sig`), so tags that cannot
send a header can use them as they are."""


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    await asyncio.to_thread(settings.create_folders)
    app.state.programs = await asyncio.to_thread(locate_programs, settings)
    app.state.thumbnail_cache = ThumbnailCache(settings.thumbnails_dir)
    notifier = app.state.webhooks = _webhook_notifier(settings)
    programs, slots = app.state.programs, app.state.download_slots
    metrics: ServiceMetrics = app.state.metrics
    async with _core(
        settings, programs=programs, notifier=notifier, slots=slots, metrics=metrics.downloads
    ) as core:
        if settings.distributed:  # embedded mode's core checks before its queue starts
            # An API replica checks the files it serves; a worker serves none, so its folder
            # (perhaps not mounted yet) never judges the shared library.
            await core.downloads.existing.check_files()
        await warn_if_library_is_orphaned(core.store, settings=settings)
        secret = await signing_secret(core.store, data_dir=settings.data_dir)
        auth = app.state.auth = await auth_policy(settings, core.store, secret)
        keys = app.state.keys = key_store(core.store)
        app.state.web_sessions = WebSessions(
            SessionSigner(secret, ttl_s=settings.session_ttl_seconds), keys
        )
        # Which keys exist, so that the first events are signed.
        keys_required = await auth.required()
        log_service_start(settings, programs=programs, keys_required=keys_required, slots=slots)
        app.state.store = core.store
        app.state.video_titles = VideoTitles(core.store)
        app.state.play_log = PlayLog(core.store)
        app.state.events = core.events
        app.state.event_messages = EventMessages(auth.present)
        app.state.downloads = core.downloads
        app.state.info_reader = InfoReader(settings, programs, core.cookies)
        app.state.cookie_sets = core.cookies
        app.state.subscriptions = core.subscriptions
        app.state.download_rate_limit = download_rate_limit(
            core.store, settings.rate_limit_per_minute
        )
        app.state.event_stream_limit = EventStreamLimit(
            total=settings.max_event_streams, per_client=settings.max_event_streams_per_client
        )
        # Closed before the core: undelivered notifications stay in the outbox.
        async with outbox_delivery(
            notifier, core.store, close_timeout_s=settings.shutdown_timeout / 2
        ):
            yield


def _core(
    settings: Settings,
    *,
    programs: Programs,
    notifier: WebhookNotifier | None,
    slots: int,
    metrics: DownloadMetrics,
) -> AbstractAsyncContextManager[Core]:
    if not settings.distributed:
        return embedded_core(settings, programs=programs, notifier=notifier, metrics=metrics)
    from offlinetube_api.distributed_core import distributed_core  # loads psycopg, procrastinate

    return distributed_core(
        settings, programs=programs, notifier=notifier, slots=slots, metrics=metrics
    )


async def auth_policy(settings: Settings, store: TaskStore, secret: bytes) -> AuthPolicy:
    """Keys from the store's database (open); `secret` signs media links (signing_secret)."""
    return AuthPolicy(
        mode=settings.auth,
        keys=key_store(store),
        signer=MediaSigner(secret, ttl_s=settings.signed_url_ttl_seconds),
        network_bound=not await asyncio.to_thread(is_loopback_host, settings.host),
    )


def _webhook_notifier(settings: Settings) -> WebhookNotifier | None:
    if settings.webhook_url is None:
        return None
    secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret else None
    return WebhookNotifier(
        str(settings.webhook_url), secret, fed_by_outbox=True, events=settings.webhook_events
    )


def create_app(settings: Settings | None = None, *, download_slots: int | None = None) -> FastAPI:
    """`download_slots`: downloads this process runs at once in distributed mode (0: an
    API-only replica); unset, `OFFLINETUBE_MAX_CONCURRENT_DOWNLOADS`. Embedded mode always
    runs that many."""
    app = FastAPI(
        title="OfflineTube API",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        generate_unique_id_function=operation_id,
        # Served by install_docs_pages below, from the package rather than a CDN.
        docs_url=None,
        redoc_url=None,
        # FastAPI's OpenTelemetry bridge: with no provider configured it sends nothing, yet asks
        # whether one is at every request, reading three environment variables (15 to 20 us of
        # the 80 a thumbnail cost in-process, measured 2026-12-01). /metrics is ours.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.settings = settings = settings or Settings()
    app.state.download_slots = (
        settings.max_concurrent_downloads if download_slots is None else download_slots
    )
    app.state.metrics = ServiceMetrics.new(
        mode="distributed" if settings.distributed else "embedded"
    )
    # Middleware added first sits innermost: error answers still pass CORS and nosniff on
    # their way out.
    install_error_handlers(app)
    # Inside CORS, so browsers can read a 413 too.
    app.add_middleware(BodySizeLimit, larger={"/api/cookies/": MAX_COOKIE_FILE_BYTES})
    # Inside CORS too, so a refused page can read why; hosts first, against DNS rebinding.
    app.add_middleware(SameOriginWrites, cors_origins=app.state.settings.cors_origins)
    hosts = HostCheck(app.state.settings.allowed_hosts)
    app.add_middleware(TrustedHosts, hosts=hosts)
    app.add_middleware(NoSniff)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=app.state.settings.cors_origins,
        # Keys travel in headers, not cookies; credentials only ever for origins named one by one.
        allow_credentials="*" not in app.state.settings.cors_origins,
        allow_methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
        allow_headers=["*"],
        expose_headers=[
            "Location",
            "X-Total-Count",
            "Link",
            "Content-Range",
            "Accept-Ranges",
            "ETag",
        ],
    )
    # Ahead of the rest: thumbnails and video ranges cost less than the stack.
    app.add_middleware(MediaFirst, hosts=hosts)
    # Outermost, so that every answer counts, the other middlewares' refusals included.
    app.add_middleware(CountRequests)
    app.include_router(api_router)
    install_docs_pages(app)
    install_web_app(app)
    return app
