"""The listing process (see listing.py): yt-dlp's flat extraction of one source, behind the
SSRF guard; it answers with one Listing, or with why it failed as text."""

import ipaddress
import itertools
import os
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from typing import Any

import yt_dlp
from yt_dlp.extractor import gen_extractor_classes
from yt_dlp.utils import YoutubeDLError, unsmuggle_url

from offlinetube_api.subscriptions.listing import ListedVideo, Listing, ListingJob
from offlinetube_api.worker import lifeline, network_guard
from offlinetube_api.worker.child import YtdlpLogger
from offlinetube_api.worker.failures import classify, clean_message
from offlinetube_api.worker.playlist_pages import is_playlist
from offlinetube_api.worker.ytdlp_options import proxy_options

NOT_A_LIST = "{url} is a single video, not a channel or a playlist; download it instead"


def _options(job: ListingJob, log: YtdlpLogger) -> dict[str, Any]:
    options: dict[str, Any] = {
        **proxy_options(job.proxy),
        "extract_flat": "in_playlist",  # the entries as listed, none of them extracted
        "playlistend": job.max_entries,
        "lazy_playlist": True,
        "js_runtimes": {job.js_runtime.name: {"path": job.js_runtime.path}}
        if job.js_runtime
        else {},
        "cachedir": False,
        "quiet": True,
        "noprogress": True,
        "logger": log,
    }
    if not job.allow_private_urls:
        options |= network_guard.IN_PROCESS_OPTIONS
    return options


def _extractor_of(url: str) -> tuple[str | None, str | None]:
    """The extractor yt-dlp would pick for `url` and the video id it reads from the address,
    for an entry the listing names by its address alone; (None, None) for the generic one."""
    for extractor in gen_extractor_classes():
        if extractor.ie_key() != "Generic" and extractor.suitable(url):
            return extractor.ie_key(), extractor.get_temp_id(url)
    return None, None


def _published(entry: dict[str, Any]) -> datetime | None:
    if entry.get("timestamp") is not None:
        return datetime.fromtimestamp(entry["timestamp"], UTC)
    if upload_date := entry.get("upload_date"):
        return datetime.strptime(upload_date, "%Y%m%d").replace(tzinfo=UTC)
    return None


def listed_video(entry: dict[str, Any]) -> ListedVideo | None:
    """One flat entry; None when it has no address."""
    url, smuggled = unsmuggle_url(entry.get("url") or entry.get("webpage_url") or "", {})
    if not url:
        return None
    extractor, video_id = entry.get("ie_key"), entry.get("id")
    if extractor is None:
        extractor, video_id = _extractor_of(url)
        extractor = extractor or "Generic"
    # An RSS feed's entries carry their guid as the id of what they link to.
    video_id = video_id or smuggled.get("force_videoid")
    key = f"{extractor.lower()}:{video_id}" if video_id else f"url:{url}"
    return ListedVideo(
        key=key,
        url=url,
        title=entry.get("title"),
        extractor=extractor if video_id else None,
        video_id=video_id,
        duration=entry.get("duration"),
        published=_published(entry),
    )


def list_entries(job: ListingJob) -> Listing | str:
    log = YtdlpLogger()
    try:
        with yt_dlp.YoutubeDL(_options(job, log)) as ydl:
            info = ydl.extract_info(job.url, download=False)
    except (YoutubeDLError, OSError) as exc:
        return log.refusal or classify(exc)[1]
    if info is None or not is_playlist(info):
        return NOT_A_LIST.format(url=job.url)
    entries = itertools.islice(info.get("entries") or (), job.max_entries)
    videos = (listed_video(entry) for entry in entries if entry)
    return Listing(videos=tuple(video for video in videos if video is not None))


def run(job: ListingJob, connection: Connection) -> None:
    """Entry point of the listing process."""
    os.setsid()  # its own group: a timeout kills it with all it started
    lifeline.die_with_service(connection)
    if not job.allow_private_urls:
        network_guard.install(tuple(map(ipaddress.ip_network, job.allowed_networks)))
    try:
        connection.send(list_entries(job))
    except Exception as exc:  # report, never die silently
        connection.send(f"internal error: {clean_message(str(exc))}")
    finally:
        connection.close()
