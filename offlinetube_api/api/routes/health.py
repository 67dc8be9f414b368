import shutil
from functools import cache
from importlib.metadata import version

from fastapi import APIRouter

from offlinetube_api import __version__
from offlinetube_api.api.deps import DownloadsDep, FfmpegDep, SettingsDep, StoreDep
from offlinetube_api.schemas import DatabaseHealth, FfmpegInfo, Health, QueueInfo

router = APIRouter(prefix="/api", tags=["health"])


@cache
def _ytdlp_version() -> str:
    """Read once: looking a version up scans the installed packages' metadata on disk. An
    upgrade of yt-dlp takes a restart to take effect anyway."""
    return version("yt-dlp")


@router.get("/health", response_model=Health)
async def health(
    settings: SettingsDep, downloads: DownloadsDep, ffmpeg: FfmpegDep, store: StoreDep
) -> Health:
    """Liveness, versions, the ffmpeg in use, the queue, free disk space and whether the
    database works; `status` is `degraded` when it does not."""
    # On the event loop on purpose: statvfs of a local folder takes microseconds, and a hop to
    # the thread pool is what made this slow while downloads kept the two cores busy.
    failure = store.failure
    return Health(
        status="ok" if failure is None else "degraded",
        database=DatabaseHealth(ok=failure is None, error=failure),
        version=__version__,
        yt_dlp_version=_ytdlp_version(),
        ffmpeg=FfmpegInfo(path=ffmpeg.path, source=ffmpeg.source, version=ffmpeg.version),
        queue=QueueInfo.from_figures(await downloads.queue_figures()),
        disk_free_bytes=shutil.disk_usage(settings.downloads_dir).free,
    )
