"""OfflineTube API: download videos with yt-dlp and serve them back for offline viewing."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("offlinetube-api")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"
