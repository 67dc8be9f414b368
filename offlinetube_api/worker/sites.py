"""The site a download counts against, for its cool-downs and OFFLINETUBE_MAX_PER_SITE.

The site is the URL's host (with its port, when the URL names one), lower-cased, without a
leading `www.`: known from the URL alone, before any request, the same on every host. yt-dlp's
extractor key would be the other choice, but it is known before a download only by matching
the URL against yt-dlp's ~1,750 extractor patterns (measured here: 3 s to import them and 5 s
to compile the patterns on the first match, then 0.15 s for each URL only the generic extractor
takes), and it splits one site into many (YouTube's videos, playlists and channels are `Youtube`,
`YoutubeTab`, ...), where one 429 from the site holds back all of them."""

from urllib.parse import urlsplit


def site_of(url: str) -> str:
    """`https://www.Example.com/watch?v=1` -> `example.com`; `http://127.0.0.1:8080/a` ->
    `127.0.0.1:8080`. `url` is a checked download URL (models.checked_download_url)."""
    parts = urlsplit(url)
    host = (parts.hostname or "").removeprefix("www.")
    if ":" in host:  # an IPv6 address, written in brackets in a URL
        host = f"[{host}]"
    return f"{host}:{parts.port}" if parts.port else host
