"""The yt-dlp options for one job: where files go, which format, which post-processing; and
the base every yt-dlp run of the service shares, a download's or an info process's."""

from collections.abc import Callable
from typing import Any

from yt_dlp.postprocessor.ffmpeg import FFmpegPostProcessor

from offlinetube_api.ffmpeg import LOCAL_FILES_ONLY
from offlinetube_api.js_runtime import JsRuntime
from offlinetube_api.models import AudioFormat
from offlinetube_api.worker.messages import DownloadJob

_H264 = "[vcodec~='^(avc|h264)']"
_AAC = "[acodec~='^(mp4a|aac)']"
_VP9_AV1 = "[vcodec~='^(vp0?9|av0?1)']"
_OPUS = "[acodec^=opus]"
_NOT_HEVC = "[vcodec!~=?'^(hvc|hev|h265|hevc)']"  # `?`: a format that declares no codec passes

# Without a `format` in the request: H.264 + AAC (MP4), then VP9 or AV1 + Opus (WebM), as the
# site declares them. Sites that declare no codecs: MP4 first, then WebM, as the files are named.
# HEVC (Chromium and Firefox play its sound over a black picture) only when nothing else exists;
# worker/playable.py then re-encodes it.
DEFAULT_FORMAT = "/".join(
    (
        f"bv*{_H264}+ba{_AAC}",
        f"b{_H264}{_AAC}",
        f"bv*{_VP9_AV1}+ba{_OPUS}",
        f"b{_VP9_AV1}{_OPUS}",
        f"bv*[ext=mp4]{_NOT_HEVC}+ba[ext=m4a]",
        f"b[ext=mp4]{_NOT_HEVC}",
        "bv*[ext=webm]+ba[ext=webm]",
        "b[ext=webm]",
        f"bv*{_NOT_HEVC}+ba",
        f"b{_NOT_HEVC}",
        "bv*+ba",
        "b",
    )
)

AUDIO_FORMATS = {
    AudioFormat.M4A: "ba[ext=m4a]/ba/b",
    AudioFormat.MP3: "ba/b",
}
MERGE_CONTAINERS = "mp4/webm"
# Containers a browser plays are kept as they are; anything else is remuxed into MP4.
REMUX_RULES = "mp4>mp4/webm>webm/m4a>m4a/mp3>mp3/ogg>ogg/opus>opus/mp4"

Hook = Callable[[dict[str, Any]], None]


def _media_options(job: DownloadJob) -> dict[str, Any]:
    if job.audio_format is None:
        return {
            "format": job.format or DEFAULT_FORMAT,
            "merge_output_format": MERGE_CONTAINERS,
            "postprocessors": [{"key": "FFmpegVideoRemuxer", "preferedformat": REMUX_RULES}],
        }
    return {
        "format": job.format or AUDIO_FORMATS[job.audio_format],
        "postprocessors": [
            {"key": "FFmpegExtractAudio", "preferredcodec": job.audio_format.value},
        ],
    }


def _subtitle_options(job: DownloadJob) -> dict[str, Any]:
    if not job.subtitle_langs:
        return {}
    return {
        "writesubtitles": True,
        "subtitleslangs": list(job.subtitle_langs),
        "subtitlesformat": "vtt/best",
        "postprocessors": [{"key": "FFmpegSubtitlesConvertor", "format": "vtt"}],
    }


def _subclasses(cls: type[Any]) -> set[type[Any]]:
    direct = set(cls.__subclasses__())
    return direct.union(*(_subclasses(subclass) for subclass in direct))


def ffmpeg_input_args() -> dict[str, list[str]]:
    """`postprocessor_args` that put LOCAL_FILES_ONLY before every input of every ffmpeg
    post-processor: yt-dlp's (merge, remux, extract audio, subtitles, fixups...) and ours
    (thumbnails, transcoding), which the download process has imported by the time it asks.
    yt-dlp looks input arguments up by "<post-processor key>+ffmpeg_i" only, so each is named."""
    keys = sorted({pp.pp_key().lower() for pp in _subclasses(FFmpegPostProcessor)})
    return {f"{key}+ffmpeg_i": list(LOCAL_FILES_ONLY) for key in keys}


def js_runtime_options(js_runtime: JsRuntime | None) -> dict[str, dict[str, str]]:
    """yt-dlp's `js_runtimes`: the runtime the service found, by path; `{}` when it found none
    (yt-dlp would otherwise look for `deno` on its own, where the start-up line said none)."""
    if js_runtime is None:
        return {}
    return {js_runtime.name: {"path": js_runtime.path}}


def proxy_options(proxy: str | None) -> dict[str, str]:
    """yt-dlp's `proxy` as OFFLINETUBE_PROXY chose it for the page ("": none); `{}` without a
    choice, so yt-dlp follows the environment's HTTP_PROXY and HTTPS_PROXY as it always did."""
    return {} if proxy is None else {"proxy": proxy}


def base_options(
    *, js_runtime: JsRuntime | None, proxy: str | None, logger: object
) -> dict[str, Any]:
    """What every yt-dlp run has, whether it downloads or only reads a page: the JavaScript
    runtime, the proxy, one video per page unless the caller deals with playlists, no cache,
    no output but the `logger`'s."""
    return {
        **proxy_options(proxy),
        "js_runtimes": js_runtime_options(js_runtime),
        "noplaylist": True,
        "cachedir": False,
        "quiet": True,
        "noprogress": True,
        "color": {"stdout": "no_color", "stderr": "no_color"},
        "logger": logger,
    }


def build_options(
    job: DownloadJob, *, logger: object, on_progress: Hook, on_postprocess: Hook
) -> dict[str, Any]:
    media = _media_options(job)
    subtitles = _subtitle_options(job)
    postprocessors = [
        *subtitles.pop("postprocessors", []),
        *media.pop("postprocessors"),
    ]
    return {
        **base_options(js_runtime=job.js_runtime, proxy=job.proxy, logger=logger),
        **media,
        **subtitles,
        "postprocessors": postprocessors,
        "paths": {"home": job.finished_dir, "temp": job.partial_dir},
        "outtmpl": {"default": f"video__{job.task_id}.%(ext)s"},
        # The thumbnail is fetched and checked by worker/thumbnails.py, not by yt-dlp.
        "ffmpeg_location": job.ffmpeg_path,
        "postprocessor_args": ffmpeg_input_args(),
        "cookiefile": job.cookie_file,
        # yt-dlp's --sleep-requests: a pause before each request of the extraction, so that
        # one download does not look like a burst to its site.
        "sleep_interval_requests": job.sleep_interval,
        "playlist_items": str(job.page_item or 1),
        "overwrites": True,  # a finished part file of an interrupted run is fetched again
        "continuedl": True,  # a .part file left by a restart or a failure is continued (Range)
        "progress_hooks": [on_progress],
        "postprocessor_hooks": [on_postprocess],
    }
