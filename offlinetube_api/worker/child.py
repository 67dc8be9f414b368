"""The download process: runs yt-dlp for one job and reports back through a pipe.

It never opens the database; everything it knows arrives in the DownloadJob and everything it
learns leaves as a Report."""

import ipaddress
import logging
import os
import shutil
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import yt_dlp
from yt_dlp.postprocessor import PostProcessor
from yt_dlp.utils import YoutubeDLError, format_bytes

from offlinetube_api.ffmpeg import media_duration
from offlinetube_api.logs import start_download_logging
from offlinetube_api.models import ErrorKind
from offlinetube_api.worker import lifeline, network_guard
from offlinetube_api.worker.download_checks import (
    DownloadChecks,
    RefusedDownload,
    TooLarge,
    check_space,
)
from offlinetube_api.worker.failures import (
    classify,
    clean_message,
    guard_refusal,
    refused_resume,
    refused_write_message,
    sign_in_message,
)
from offlinetube_api.worker.messages import (
    DownloadJob,
    Failed,
    Finished,
    Metadata,
    Outcome,
    Progress,
    Report,
    Stage,
)
from offlinetube_api.worker.playable import BrowserPlayable
from offlinetube_api.worker.playlist_pages import is_playlist, playlist_found
from offlinetube_api.worker.subtitles import SubtitleTolerantYoutubeDL
from offlinetube_api.worker.thumbnails import ThumbnailFetcher
from offlinetube_api.worker.ytdlp_options import build_options

logger = logging.getLogger("offlinetube_api.worker")

PROGRESS_INTERVAL_S = 0.25
DOWNLOAD_NICENESS = 10


class ParentGone(Exception):
    """The service is no longer listening; stop downloading."""


class Reporter:
    """Sends reports to the service, at most a few progress reports a second."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection
        self._last_progress = 0.0
        self._processing = False
        self.media_downloaded = False

    def send(self, report: Report) -> None:
        try:
            self._connection.send(report)
        except (BrokenPipeError, ConnectionResetError, EOFError) as exc:
            raise ParentGone from exc

    def on_progress(self, status: dict[str, Any]) -> None:
        if status.get("status") not in ("downloading", "finished"):
            return
        finished = status["status"] == "finished"
        self.media_downloaded = self.media_downloaded or finished
        now = time.monotonic()
        if not finished and now - self._last_progress < PROGRESS_INTERVAL_S:
            return
        self._last_progress = now
        total = status.get("total_bytes") or status.get("total_bytes_estimate")
        eta = status.get("eta")
        self.send(
            Progress(
                stage=Stage.DOWNLOADING,
                downloaded_bytes=status.get("downloaded_bytes"),
                total_bytes=int(total) if total else None,
                speed=status.get("speed"),
                eta=int(eta) if eta is not None else None,
            )
        )

    def on_postprocess(self, status: dict[str, Any]) -> None:
        # Thumbnail conversion runs before the download; only what follows it is "processing".
        if self.media_downloaded and status.get("status") == "started" and not self._processing:
            self._processing = True
            self.send(Progress(stage=Stage.PROCESSING))


class BeforeDownload(PostProcessor):  # type: ignore[misc]
    """Runs once the formats are chosen, before anything is downloaded: reports what was
    learned and refuses to start a download that would fill the disk or pass the size cap."""

    def __init__(self, reporter: Reporter, job: DownloadJob) -> None:
        super().__init__()
        self._reporter = reporter
        self._job = job

    def run(self, info: dict[str, Any]) -> tuple[list[str], dict[str, Any]]:
        self._reporter.send(
            Metadata(
                title=info.get("title"),
                duration=info.get("duration"),
                remote_thumbnail=info.get("thumbnail"),  # set by ThumbnailFetcher once fetched
            )
        )
        estimate = _size_estimate(info)
        if self._job.max_filesize is not None and estimate > self._job.max_filesize:
            raise TooLarge(
                f"The download is larger than the limit: about {format_bytes(estimate)}, "
                f"OFFLINETUBE_MAX_FILESIZE is {format_bytes(self._job.max_filesize)}"
            )
        free = shutil.disk_usage(self._job.downloads_dir).free
        check_space(free, estimate, self._job.min_free_bytes)
        return [], info


def _size_estimate(info: dict[str, Any]) -> int:
    parts = info.get("requested_formats") or [info]
    return sum(int(part.get("filesize") or part.get("filesize_approx") or 0) for part in parts)


# yt-dlp's warnings that say how it works rather than what went wrong with the download (on
# every download from a site it has no extractor of its own for, say).
_NOT_ABOUT_THE_DOWNLOAD = (
    "Falling back on generic information extractor",
    "Forcing generic information extractor",
)


class YtdlpLogger:
    """yt-dlp's output goes to this process's log, never to the pipe. Remembers the SSRF
    guard's first refusal among the errors: a fragment downloader reports it, skips the
    fragment and fails later with a message that no longer says why."""

    def __init__(self) -> None:
        self.refusal: str | None = None

    def debug(self, message: str) -> None:
        logger.debug(message)

    def info(self, message: str) -> None:
        logger.debug(message)

    def warning(self, message: str) -> None:
        message = clean_message(message)
        chatter = any(words in message for words in _NOT_ABOUT_THE_DOWNLOAD)
        logger.log(logging.DEBUG if chatter else logging.WARNING, message)

    def error(self, message: str) -> None:
        message = clean_message(message)
        self.refusal = self.refusal or guard_refusal(message)
        logger.debug(message)  # the service logs the failure it becomes, with its kind


def _finished(
    final_paths: list[str], job: DownloadJob, skipped: list[str], *, transcoded: bool
) -> Finished | Failed:
    if not final_paths:
        return Failed("yt-dlp finished without producing a file")
    final = Path(final_paths[-1])
    finished = Path(job.finished_dir)
    if final.parent.resolve() != finished.resolve() or not final.is_file():
        return Failed(f"yt-dlp wrote an unexpected file: {final.name}")
    subtitles = sorted(path.name for path in finished.glob(f"video__{job.task_id}.*.vtt"))
    return Finished(
        filename=final.name,
        ext=final.suffix.lstrip("."),
        filesize=final.stat().st_size,
        duration=media_duration(job.ffmpeg_path, str(final)) if job.ffmpeg_path else None,
        subtitle_files=tuple(subtitles),
        warnings=tuple(skipped),
        transcoded=transcoded,
    )


def _add_hooks(
    ydl: yt_dlp.YoutubeDL,
    job: DownloadJob,
    reporter: Reporter,
    final_paths: list[str],
    skipped: list[str],
) -> BrowserPlayable | None:
    # The thumbnail first: BeforeDownload reports the URL of the one kept, if any.
    playable = _add_extras(ydl, job, skipped)
    ydl.add_post_processor(BeforeDownload(reporter, job), when="before_dl")
    ydl.add_post_hook(final_paths.append)
    checks = DownloadChecks(
        folder=job.downloads_dir, max_filesize=job.max_filesize, min_free_bytes=job.min_free_bytes
    )
    ydl.add_progress_hook(checks)
    return playable


def _failure(error: YoutubeDLError | OSError, log: YtdlpLogger, job: DownloadJob) -> Failed:
    kind, message = classify(error)
    if log.refusal is not None:
        kind, message = ErrorKind.FORBIDDEN_TARGET, log.refusal
    elif kind is ErrorKind.STORAGE:
        message = refused_write_message(
            message, downloads_dir=job.downloads_dir, thumbnails_dir=job.thumbnails_dir
        )
    elif kind is ErrorKind.AUTH_REQUIRED:
        message = sign_in_message(message, sent_cookies=job.cookie_file is not None)
    return Failed(message, kind)


def _forget_part_files(job: DownloadJob) -> bool:
    """Delete the job's .part files; False if there were none."""
    parts = list(Path(job.partial_dir).glob("*.part"))
    for part in parts:
        part.unlink(missing_ok=True)
    return bool(parts)


def download(job: DownloadJob, reporter: Reporter) -> Outcome:
    final_paths: list[str] = []
    skipped: list[str] = []  # the task's warnings
    log = YtdlpLogger()
    options = build_options(
        job,
        logger=log,
        on_progress=reporter.on_progress,
        on_postprocess=reporter.on_postprocess,
    )
    if not job.allow_private_urls:
        options |= network_guard.IN_PROCESS_OPTIONS
    try:
        with SubtitleTolerantYoutubeDL(options, skipped=skipped) as ydl:
            playable = _add_hooks(ydl, job, reporter, final_paths, skipped)
            info = ydl.extract_info(job.url, download=False, process=False)
            if job.playlist_limit is not None and is_playlist(info):
                return playlist_found(info, job.url, job.playlist_limit)
            ydl.process_ie_result(info, download=True)
    except RefusedDownload as exc:
        return Failed(str(exc), exc.kind)
    except (YoutubeDLError, OSError) as exc:  # DownloadError, UnavailableVideoError...
        if refused_resume(exc) and _forget_part_files(job):
            # A .part file that is already whole: yt-dlp asks again for the same range (its
            # second request reuses the first one's headers). Fetch that file again instead.
            return download(job, reporter)
        return _failure(exc, log, job)
    return _finished(final_paths, job, skipped, transcoded=bool(playable and playable.transcoded))


def _add_extras(
    ydl: yt_dlp.YoutubeDL, job: DownloadJob, skipped: list[str]
) -> BrowserPlayable | None:
    """The thumbnail, fetched before the download, and for a download made with the default
    format the check (after merging and remuxing) that a browser can play it."""
    thumbnail = ThumbnailFetcher(
        ydl,
        partial_dir=job.partial_dir,
        thumbnails_dir=job.thumbnails_dir,
        task_id=job.task_id,
        skipped=skipped,
    )
    ydl.add_post_processor(thumbnail, when="before_dl")
    if job.format is not None or job.audio_format is not None:
        return None  # the request chose its format: it gets what it asked for
    playable = BrowserPlayable(ydl, transcode=job.transcode_unplayable, skipped=skipped)
    ydl.add_post_processor(playable, when="post_process")
    return playable


def run(job: DownloadJob, connection: Connection) -> None:
    """Entry point of the download process (module level, so spawn/forkserver can find it)."""
    os.setsid()  # own process group: a cancel kills ffmpeg and friends together with us
    # No orphan may outlive the service. Started before nice(), which on Linux holds for the
    # calling thread and the threads and programs it starts later: the watcher keeps its place.
    lifeline.die_with_service(connection)
    # Downloads are background work: when the cores are busy, the API answers first. Inherited
    # by ffmpeg and every other program yt-dlp starts.
    os.nice(DOWNLOAD_NICENESS)
    start_download_logging(job.log_level, job.log_format, job.task_id)
    reporter = Reporter(connection)
    if not job.allow_private_urls:
        # Before yt-dlp opens its first connection or starts its first program.
        network_guard.install(tuple(map(ipaddress.ip_network, job.allowed_networks)))
    try:
        reporter.send(download(job, reporter))
    except ParentGone:
        return
    except Exception as exc:  # report, then let the parent decide; never die silently
        logger.exception("download process crashed")
        reporter.send(Failed(f"internal error: {clean_message(str(exc))}"))
    finally:
        connection.close()
