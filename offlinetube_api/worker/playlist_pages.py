"""What yt-dlp found on a playlist page (a playlist, a channel, a page of several videos): its
videos as PlaylistEntry, read lazily, so a page of a million videos costs only those read."""

import itertools
from typing import Any

from offlinetube_api.worker.messages import PlaylistEntry, PlaylistFound

# yt-dlp's `_type` of a page that holds several videos.
PLAYLIST_TYPES = ("playlist", "multi_video")


def is_playlist(info: dict[str, Any]) -> bool:
    """`info`: yt-dlp's answer for a page, unprocessed (`extract_info(..., process=False)`)."""
    return info.get("_type") in PLAYLIST_TYPES


def playlist_found(info: dict[str, Any], page_url: str, limit: int) -> PlaylistFound:
    """The page's title and its first `limit` videos."""
    pages = {page_url, info.get("webpage_url")}
    entries = tuple(
        _playlist_entry(entry, position, page_url, pages)
        for position, entry in enumerate(itertools.islice(info.get("entries") or (), limit), 1)
        if entry
    )
    return PlaylistFound(title=info.get("title"), entries=entries)


def _playlist_entry(
    entry: dict[str, Any], position: int, page_url: str, pages: set[str | None]
) -> PlaylistEntry:
    """A link is followed, and so is a video resolved in place that has an address of its
    own. One without (a `<video>` in the page) has none, or the page's own: posting that again
    would go in a circle, so it is downloaded as this item of the page."""
    title = entry.get("title")
    if entry.get("_type") in ("url", "url_transparent"):
        return PlaylistEntry(url=entry.get("url") or "", title=title, position=position)
    url = entry.get("webpage_url") or entry.get("url")
    if url and url not in pages:
        return PlaylistEntry(url=url, title=title, position=position)
    return PlaylistEntry(url=page_url, title=title, position=position, page_item=position)
