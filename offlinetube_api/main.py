"""Builds the application: settings in, a FastAPI app with its store and manager out."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from offlinetube_api import __version__
from offlinetube_api.api.auth import AuthPolicy, is_loopback_host
from offlinetube_api.api.body_limit import BodySizeLimit
from offlinetube_api.api.event_messages import EventMessages
from offlinetube_api.api.event_stream_limit import EventStreamLimit
from offlinetube_api.api.nosniff import NoSniff
from offlinetube_api.api.origins import SameOriginWrites, TrustedHosts
from offlinetube_api.api.rate_limit import download_rate_limit
from offlinetube_api.api.router import api_router
from offlinetube_api.api.routes.thumbnails import ThumbnailsFirst
from offlinetube_api.config import Settings
from offlinetube_api.core import Core, embedded_core
from offlinetube_api.errors import install_error_handlers
from offlinetube_api.ffmpeg import FfmpegBinary, locate_ffmpeg
from offlinetube_api.library import warn_if_library_is_orphaned
from offlinetube_api.ports import TaskStore
from offlinetube_api.security.key_tables import key_store
from offlinetube_api.security.signing import MediaSigner
from offlinetube_api.security.signing_secret import signing_secret
from offlinetube_api.thumbnail_cache import ThumbnailCache
from offlinetube_api.video_titles import VideoTitles
from offlinetube_api.webhooks import WebhookNotifier, outbox_delivery

DESCRIPTION = """Download videos with yt-dlp and serve them back for offline viewing.

POST a page URL to `/api/download`, follow the task at `/api/downloads/{id}`, then play
`stream_url` in a `<video>` tag and show `thumbnail` in an `<img>` tag."""


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    await asyncio.to_thread(settings.create_folders)
    app.state.ffmpeg = await asyncio.to_thread(locate_ffmpeg)
    app.state.thumbnail_cache = ThumbnailCache(settings.thumbnails_dir)
    notifier = app.state.webhooks = _webhook_notifier(settings)
    ffmpeg, slots = app.state.ffmpeg, app.state.download_slots
    async with _core(settings, ffmpeg=ffmpeg, notifier=notifier, slots=slots) as core:
        if settings.distributed:  # embedded mode's core checks before its queue starts
            # An API replica checks the files it serves; a worker serves none, so its folder
            # (perhaps not mounted yet) never judges the shared library.
            await core.downloads.existing.check_files()
        await warn_if_library_is_orphaned(core.store, settings=settings)
        auth = app.state.auth = await _auth_policy(settings, core.store)
        await auth.required()  # which keys exist, so that the first events are signed
        app.state.store = core.store
        app.state.video_titles = VideoTitles(core.store)
        app.state.events = core.events
        app.state.event_messages = EventMessages(auth.present)
        app.state.downloads = core.downloads
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
    settings: Settings, *, ffmpeg: FfmpegBinary, notifier: WebhookNotifier | None, slots: int
) -> AbstractAsyncContextManager[Core]:
    if not settings.distributed:
        return embedded_core(settings, ffmpeg=ffmpeg, notifier=notifier)
    from offlinetube_api.distributed_core import distributed_core  # loads psycopg, procrastinate

    return distributed_core(settings, ffmpeg=ffmpeg, notifier=notifier, slots=slots)


async def _auth_policy(settings: Settings, store: TaskStore) -> AuthPolicy:
    """Keys, and in distributed mode the signing secret, from the store's database (open)."""
    secret = await signing_secret(store, data_dir=settings.data_dir)
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
    return WebhookNotifier(str(settings.webhook_url), secret, fed_by_outbox=True)


def create_app(settings: Settings | None = None, *, download_slots: int | None = None) -> FastAPI:
    """`download_slots`: downloads this process runs at once in distributed mode (0: an
    API-only replica); unset, `OFFLINETUBE_MAX_CONCURRENT_DOWNLOADS`. Embedded mode always
    runs that many."""
    app = FastAPI(
        title="OfflineTube API", version=__version__, description=DESCRIPTION, lifespan=lifespan
    )
    app.state.settings = settings = settings or Settings()
    app.state.download_slots = (
        settings.max_concurrent_downloads if download_slots is None else download_slots
    )
    # Middleware added first sits innermost: thumbnails and error answers still pass CORS and
    # nosniff on their way out.
    app.add_middleware(ThumbnailsFirst)
    install_error_handlers(app)
    # Inside CORS, so browsers can read a 413 too.
    app.add_middleware(BodySizeLimit)
    # Inside CORS too, so a refused page can read why; hosts first, against DNS rebinding.
    app.add_middleware(SameOriginWrites, cors_origins=app.state.settings.cors_origins)
    app.add_middleware(TrustedHosts, allowed_hosts=app.state.settings.allowed_hosts)
    app.add_middleware(NoSniff)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=app.state.settings.cors_origins,
        # Keys travel in headers, not cookies; credentials only ever for origins named one by one.
        allow_credentials="*" not in app.state.settings.cors_origins,
        allow_methods=["GET", "HEAD", "POST", "DELETE", "OPTIONS"],
        allow_headers=["*"],
        expose_headers=["Location", "X-Total-Count", "Content-Range", "Accept-Ranges", "ETag"],
    )
    app.include_router(api_router)
    return app
