import shutil

from fastapi import APIRouter

from offlinetube_api import __version__
from offlinetube_api.api.deps import DownloadsDep, ProgramsDep, SettingsDep, StoreDep
from offlinetube_api.config import Settings
from offlinetube_api.errors import StoreUnavailable
from offlinetube_api.js_runtime import JsRuntime
from offlinetube_api.ports import Downloads, TaskStore
from offlinetube_api.programs import Programs
from offlinetube_api.schemas import (
    DatabaseHealth,
    FfmpegInfo,
    Health,
    JsRuntimeInfo,
    QueueInfo,
    SiteCooldown,
)
from offlinetube_api.site_cooldowns import site_cooldowns
from offlinetube_api.ytdlp_install import installed_version, ytdlp_folder

router = APIRouter(prefix="/api", tags=["health"])


def _ytdlp_version(settings: Settings) -> str:
    """The version new downloads use: the one `ytdlp update` installed, else the
    environment's (a look at a few files' metadata on disk)."""
    return installed_version(ytdlp_folder(settings.data_dir))


# HEAD too, as for the probes (routes/probes.py).
@router.head("/health", include_in_schema=False, response_model=None)
@router.get("/health", response_model=Health)
async def get_health(
    settings: SettingsDep, downloads: DownloadsDep, programs: ProgramsDep, store: StoreDep
) -> Health:
    """Liveness, versions, the ffmpeg and JavaScript runtime the downloads use (found at
    start-up), the queue, free disk space, whether the database works (`status` is
    `degraded` when it does not) and the sites cooling down."""
    return await health_report(settings, downloads, programs, store)


async def health_report(
    settings: Settings, downloads: Downloads, programs: Programs, store: TaskStore
) -> Health:
    """What GET /api/health answers (the web app's System page shows it too)."""
    # On the event loop on purpose: statvfs of a local folder takes microseconds, and a hop to
    # the thread pool is what made this slow while downloads kept the two cores busy.
    try:
        queue = QueueInfo.from_figures(await downloads.queue_figures())
    except StoreUnavailable:
        # Distributed mode counts the queue in PostgreSQL. This route says the database
        # failed (200, degraded), where the 503 of every other route points to it.
        queue = QueueInfo(queued=None, running=None, max_concurrent=None)
    failure, ffmpeg = store.failure, programs.ffmpeg
    return Health(
        cooling_down=await _cooling_down(store, settings),
        status="ok" if failure is None else "degraded",
        database=DatabaseHealth(ok=failure is None, error=failure),
        version=__version__,
        yt_dlp_version=_ytdlp_version(settings),
        ffmpeg=FfmpegInfo(path=ffmpeg.path, source=ffmpeg.source, version=ffmpeg.version),
        js_runtime=_js_runtime_info(programs.js_runtime),
        queue=queue,
        disk_free_bytes=shutil.disk_usage(settings.downloads_dir).free,
    )


async def _cooling_down(store: TaskStore, settings: Settings) -> list[SiteCooldown] | None:
    try:
        cooldowns = await site_cooldowns(store, settings).lasting()
    except StoreUnavailable:
        return None
    return [SiteCooldown(site=c.site, until=c.until, reason=c.reason) for c in cooldowns]


def _js_runtime_info(runtime: JsRuntime | None) -> JsRuntimeInfo | None:
    if runtime is None:
        return None
    return JsRuntimeInfo(
        name=runtime.name, version=runtime.version, path=runtime.path, source=runtime.source
    )
