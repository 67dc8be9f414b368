"""The download process: runs yt-dlp for one job and reports back through a pipe.

It never opens the database; everything it knows arrives in the DownloadJob and everything it
learns leaves as a Report."""

import ctypes
import logging
import os
import signal
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import yt_dlp
from yt_dlp.postprocessor import PostProcessor
from yt_dlp.utils import DownloadError, remove_terminal_sequences

from offlinetube_api.ffmpeg import media_duration
from offlinetube_api.worker.messages import (
    DownloadJob,
    Failed,
    Finished,
    Metadata,
    Progress,
    Report,
    Stage,
)

logger = logging.getLogger("offlinetube_api.worker")

# Browser-playable by default: MP4 (H.264/AAC) first, WebM next, anything merged as a last resort.
DEFAULT_FORMAT = (
    "bv*[ext=mp4]+ba[ext=m4a]/b[ext=mp4]/bv*[ext=webm]+ba[ext=webm]/b[ext=webm]/bv*+ba/b"
)
MERGE_CONTAINERS = "mp4/webm"
# Containers a browser plays are kept as they are; anything else is remuxed into MP4.
REMUX_RULES = "mp4>mp4/webm>webm/m4a>m4a/mp3>mp3/ogg>ogg/opus>opus/mp4"
# The thumbnails route looks for jpg, webp and png only; every other format becomes jpg.
THUMBNAIL_RULES = "jpg>jpg/webp>webp/png>png/jpg"
PROGRESS_INTERVAL_S = 0.25

_PR_SET_PDEATHSIG = 1


class ParentGone(Exception):
    """The service is no longer listening; stop downloading."""


class Reporter:
    """Sends reports to the service, at most a few progress reports a second."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection
        self._last_progress = 0.0
        self._processing = False

    def send(self, report: Report) -> None:
        try:
            self._connection.send(report)
        except (BrokenPipeError, ConnectionResetError, EOFError) as exc:
            raise ParentGone from exc

    def processing(self) -> None:
        if not self._processing:
            self._processing = True
            self.send(Progress(stage=Stage.PROCESSING))

    def progress(self, progress: Progress, *, force: bool = False) -> None:
        now = time.monotonic()
        if force or now - self._last_progress >= PROGRESS_INTERVAL_S:
            self._last_progress = now
            self.send(progress)


class ReportMetadata(PostProcessor):  # type: ignore[misc]
    """Runs once the formats are chosen, before anything is downloaded."""

    def __init__(self, reporter: Reporter) -> None:
        super().__init__()
        self._reporter = reporter

    def run(self, info: dict[str, Any]) -> tuple[list[str], dict[str, Any]]:
        self._reporter.send(
            Metadata(
                title=info.get("title"),
                duration=info.get("duration"),
                remote_thumbnail=info.get("thumbnail"),
            )
        )
        return [], info


class YtdlpLogger:
    """yt-dlp's output goes to this process's log, never to the pipe."""

    def debug(self, message: str) -> None:
        logger.debug(message)

    def info(self, message: str) -> None:
        logger.debug(message)

    def warning(self, message: str) -> None:
        logger.warning(clean_message(message))

    def error(self, message: str) -> None:
        logger.info(clean_message(message))


def clean_message(message: str) -> str:
    message = remove_terminal_sequences(message).strip()
    return message.removeprefix("ERROR:").removeprefix("WARNING:").strip()


def ytdlp_options(job: DownloadJob, reporter: Reporter) -> dict[str, Any]:
    media_downloaded = False

    def on_progress(status: dict[str, Any]) -> None:
        nonlocal media_downloaded
        if status.get("status") not in ("downloading", "finished"):
            return
        media_downloaded = media_downloaded or status["status"] == "finished"
        total = status.get("total_bytes") or status.get("total_bytes_estimate")
        eta = status.get("eta")
        reporter.progress(
            Progress(
                stage=Stage.DOWNLOADING,
                downloaded_bytes=status.get("downloaded_bytes"),
                total_bytes=int(total) if total else None,
                speed=status.get("speed"),
                eta=int(eta) if eta is not None else None,
            ),
            force=status["status"] == "finished",
        )

    def on_postprocess(status: dict[str, Any]) -> None:
        # Thumbnail conversion runs before the download; only what follows it is "processing".
        if media_downloaded and status.get("status") == "started":
            reporter.processing()

    return {
        "format": job.format or DEFAULT_FORMAT,
        "merge_output_format": MERGE_CONTAINERS,
        "paths": {
            "home": job.downloads_dir,
            "temp": job.partial_dir,
            "thumbnail": job.thumbnails_dir,
        },
        "outtmpl": {
            "default": f"video__{job.task_id}.%(ext)s",
            "thumbnail": f"{job.task_id}.%(ext)s",
        },
        "writethumbnail": True,
        "postprocessors": [
            {"key": "FFmpegThumbnailsConvertor", "format": THUMBNAIL_RULES, "when": "before_dl"},
            {"key": "FFmpegVideoRemuxer", "preferedformat": REMUX_RULES},
        ],
        "ffmpeg_location": job.ffmpeg_path,
        "noplaylist": True,
        "playlist_items": "1",
        "overwrites": True,
        "continuedl": False,
        "cachedir": False,
        "quiet": True,
        "noprogress": True,
        "color": {"stdout": "no_color", "stderr": "no_color"},
        "logger": YtdlpLogger(),
        "progress_hooks": [on_progress],
        "postprocessor_hooks": [on_postprocess],
    }


def _die_with_parent() -> None:
    """Leave no orphan downloading on its own if the service is killed."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):  # not Linux: the broken pipe still stops us
        pass


def _finished(final_paths: list[str], job: DownloadJob) -> Finished | Failed:
    if not final_paths:
        return Failed("yt-dlp finished without producing a file")
    final = Path(final_paths[-1])
    if final.parent.resolve() != Path(job.downloads_dir).resolve() or not final.is_file():
        return Failed(f"yt-dlp wrote an unexpected file: {final.name}")
    return Finished(
        filename=final.name,
        ext=final.suffix.lstrip("."),
        filesize=final.stat().st_size,
        duration=media_duration(job.ffmpeg_path, str(final)) if job.ffmpeg_path else None,
    )


def download(job: DownloadJob, reporter: Reporter) -> Report:
    final_paths: list[str] = []
    try:
        with yt_dlp.YoutubeDL(ytdlp_options(job, reporter)) as ydl:
            ydl.add_post_processor(ReportMetadata(reporter), when="before_dl")
            ydl.add_post_hook(final_paths.append)
            ydl.extract_info(job.url, download=True)
    except DownloadError as exc:
        return Failed(clean_message(str(exc)))
    return _finished(final_paths, job)


def run(job: DownloadJob, connection: Connection) -> None:
    """Entry point of the download process (module level, so spawn/forkserver can find it)."""
    os.setsid()  # own process group: a cancel kills ffmpeg and friends together with us
    _die_with_parent()
    logging.basicConfig(level=logging.INFO, format=f"%(levelname)s [{job.task_id[:8]}] %(message)s")
    reporter = Reporter(connection)
    try:
        reporter.send(download(job, reporter))
    except ParentGone:
        return
    except Exception as exc:  # report, then let the parent decide; never die silently
        logger.exception("download process crashed")
        reporter.send(Failed(f"internal error: {clean_message(str(exc))}"))
    finally:
        connection.close()
