"""The programs the downloads run besides Python, found once per process at start-up: ffmpeg
(merging, converting, thumbnails) and the JavaScript runtime yt-dlp solves sites' challenges
with. What /api/health and the start-up line report is what the downloads get."""

from dataclasses import dataclass

from offlinetube_api.config import Settings
from offlinetube_api.ffmpeg import FfmpegBinary, locate_ffmpeg
from offlinetube_api.js_runtime import JsRuntime, locate_js_runtime
from offlinetube_api.worker.process import use_ytdlp_folder
from offlinetube_api.ytdlp_install import ytdlp_folder


@dataclass(frozen=True, slots=True)
class Programs:
    ffmpeg: FfmpegBinary
    js_runtime: JsRuntime | None  # None: none found, or OFFLINETUBE_JS_RUNTIME=none


def locate_programs(settings: Settings) -> Programs:
    """Blocking: runs each program's `--version`; call off the event loop. Logs a WARNING when
    there is no JavaScript runtime. Points the download processes at the yt-dlp the service
    installed in its data folder, if any (ytdlp_install.py)."""
    use_ytdlp_folder(ytdlp_folder(settings.data_dir))
    return Programs(ffmpeg=locate_ffmpeg(), js_runtime=locate_js_runtime(settings.js_runtime))
