"""The info process (GET /api/info): reads a page with yt-dlp, downloads nothing, and sends
back one report, VideoInfo or InfoFailed. Started like a download process (worker/process.py)
and guarded like one: its own process group, tied to the service's life, the SSRF guard
installed before yt-dlp opens a connection, the same yt-dlp options base."""

import ipaddress
import logging
import os
from multiprocessing.connection import Connection
from typing import Any

import yt_dlp
from yt_dlp.utils import YoutubeDLError

from offlinetube_api.logs import start_download_logging
from offlinetube_api.models import ErrorKind
from offlinetube_api.worker import lifeline, network_guard
from offlinetube_api.worker.child import DOWNLOAD_NICENESS, YtdlpLogger
from offlinetube_api.worker.failures import classify, clean_message, sign_in_message
from offlinetube_api.worker.info_messages import (
    EntryInfo,
    FormatInfo,
    InfoFailed,
    InfoJob,
    InfoReport,
    PlaylistInfo,
    VideoInfo,
)
from offlinetube_api.worker.playable import declared_playable
from offlinetube_api.worker.playlist_pages import is_playlist, playlist_found
from offlinetube_api.worker.ytdlp_options import DEFAULT_FORMAT, base_options

logger = logging.getLogger("offlinetube_api.worker")

# The most formats reported, the best (yt-dlp sorts them worst first). Real sites offer tens;
# a page that declares more is not answered in full.
MAX_FORMATS = 1000


def _format_info(fmt: dict[str, Any]) -> FormatInfo:
    vcodec, acodec = fmt.get("vcodec"), fmt.get("acodec")
    exact = fmt.get("filesize")
    size = exact or fmt.get("filesize_approx")
    return FormatInfo(
        format_id=str(fmt.get("format_id")),
        ext=fmt.get("ext"),
        width=fmt.get("width"),
        height=fmt.get("height"),
        fps=fmt.get("fps"),
        vcodec=vcodec,
        acodec=acodec,
        filesize=int(size) if size else None,
        filesize_estimated=bool(size) and not exact,
        browser_playable=declared_playable(vcodec, acodec),
        note=fmt.get("format_note"),
    )


def _page(info: dict[str, Any], url: str, **found: Any) -> VideoInfo:
    """What a video page and a playlist page both say."""
    return VideoInfo(
        url=info.get("webpage_url") or url,
        title=info.get("title"),
        duration=info.get("duration"),
        uploader=info.get("uploader") or info.get("channel"),
        thumbnail=info.get("thumbnail"),
        extractor=info.get("extractor_key"),
        **({"formats": (), "default_format": None, "playlist": None} | found),
    )


def _video(info: dict[str, Any], url: str) -> VideoInfo:
    """`info`: processed, so formats are sorted and filled in; a page yt-dlp found a single
    media file on has no `formats`, and is itself the one format."""
    formats = (info.get("formats") or [info])[-MAX_FORMATS:]
    return _page(
        info,
        url,
        formats=tuple(map(_format_info, formats)),
        default_format=info.get("format_id"),
    )


def _playlist(info: dict[str, Any], url: str, cap: int) -> VideoInfo:
    found = playlist_found(info, url, cap + 1)  # one more, to know whether there are more
    entries = tuple(
        EntryInfo(url=entry.url, title=entry.title, position=entry.position)
        for entry in found.entries[:cap]
    )
    return _page(info, url, playlist=PlaylistInfo(entries, cap, truncated=len(found.entries) > cap))


def read_info(job: InfoJob) -> InfoReport:
    """The page at `job.url` as yt-dlp sees it, or why it cannot read it."""
    log = YtdlpLogger()
    options = base_options(js_runtime=job.js_runtime, proxy=job.proxy, logger=log) | {
        "format": DEFAULT_FORMAT,  # so `format_id` says what a default download would get
        "extract_flat": "in_playlist",  # a playlist's videos are listed, not read one by one
        "playlistend": job.playlist_cap + 1,
        "cookiefile": job.cookie_file,
    }
    if not job.allow_private_urls:
        options |= network_guard.IN_PROCESS_OPTIONS
    try:
        with yt_dlp.YoutubeDL(options) as ydl:
            info = ydl.extract_info(job.url, download=False, process=False)
            if not is_playlist(info):
                # A redirect to another extractor can still end on a playlist.
                info = ydl.process_ie_result(info, download=False)
            if is_playlist(info):
                return _playlist(info, job.url, job.playlist_cap)
            return _video(info, job.url)
    except (YoutubeDLError, OSError) as exc:
        kind, message = classify(exc)
        if log.refusal is not None:
            kind, message = ErrorKind.FORBIDDEN_TARGET, log.refusal
        elif kind is ErrorKind.AUTH_REQUIRED:
            message = sign_in_message(message, sent_cookies=job.cookie_file is not None)
        return InfoFailed(message, kind)


def run(job: InfoJob, connection: Connection) -> None:
    """Entry point of the info process (module level, so spawn/forkserver can find it)."""
    os.setsid()  # own process group: a timeout kills whatever yt-dlp started too
    lifeline.die_with_service(connection)
    os.nice(DOWNLOAD_NICENESS)
    start_download_logging(job.log_level, job.log_format, "info")
    if not job.allow_private_urls:
        network_guard.install(tuple(map(ipaddress.ip_network, job.allowed_networks)))
    try:
        report = read_info(job)
    except Exception as exc:  # report, never die silently
        logger.exception("info process crashed")
        report = InfoFailed(f"internal error: {clean_message(str(exc))}")
    try:
        connection.send(report)
    except (BrokenPipeError, ConnectionResetError, EOFError):
        pass  # the service stopped waiting (a timeout): nobody to tell
    finally:
        connection.close()
