import shutil
from importlib.metadata import version

from fastapi import APIRouter

from offlinetube_api import __version__
from offlinetube_api.api.deps import DownloadsDep, FfmpegDep, SettingsDep
from offlinetube_api.schemas import FfmpegInfo, Health

router = APIRouter(prefix="/api", tags=["health"])


@router.get("/health", response_model=Health)
def health(settings: SettingsDep, downloads: DownloadsDep, ffmpeg: FfmpegDep) -> Health:
    """Liveness, versions, the ffmpeg in use, the queue and free disk space."""
    return Health(
        version=__version__,
        yt_dlp_version=version("yt-dlp"),
        ffmpeg=FfmpegInfo(path=ffmpeg.path, source=ffmpeg.source, version=ffmpeg.version),
        queue=downloads.queue_info(),
        disk_free_bytes=shutil.disk_usage(settings.downloads_dir).free,
    )
