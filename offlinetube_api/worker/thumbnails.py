"""The video's thumbnail, fetched and checked by the download process. Best effort: a thumbnail
that cannot be fetched, read or converted is skipped with a warning and never fails the download.

yt-dlp's own thumbnail writer is not used: it saves whatever the server sends under the URL's
extension (`jpg` when there is none, so an HTML error page became `<id>.jpg`), reads bodies of any
size, and its converter makes ffmpeg decode a picture before anyone has looked at its size (a
35-byte GIF declaring 16000x16000 pixels took 1.8 GB). Here the body is read up to a cap, the
format and size come from the picture's header (Pillow's `Image.open` is lazy: it parses the
header and decodes nothing), and only a picture that passes is kept or converted."""

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image, UnidentifiedImageError
from yt_dlp.networking import Request
from yt_dlp.networking.exceptions import RequestError
from yt_dlp.postprocessor.ffmpeg import FFmpegPostProcessor, FFmpegPostProcessorError

from offlinetube_api.models import ErrorKind
from offlinetube_api.worker.failures import classify

MAX_THUMBNAIL_BYTES = 10 * 1024 * 1024
MAX_THUMBNAIL_SIDE = 8000
# yt-dlp lists thumbnails worst first; a site's best one is often missing (YouTube's maxres).
MAX_CANDIDATES = 5
# The thumbnails route serves these as they are; any other picture is converted to jpg.
SERVABLE_FORMATS = {"JPEG": "jpg", "WEBP": "webp", "PNG": "png"}
_TEXT_SNIFF_BYTES = 512


class ThumbnailSkipped(Exception):
    """This thumbnail will not be kept; the message says why, for a person to read."""


@dataclass(frozen=True, slots=True)
class PictureHeader:
    format: str  # Pillow's name: JPEG, PNG, GIF, WEBP, AVIF, ...
    width: int
    height: int


def read_header(path: Path) -> PictureHeader:
    """Format and declared size of a picture, from its header only. Blocking.

    Raises ThumbnailSkipped for an empty file, anything that is not a picture Pillow knows
    (text, an HTML page, random bytes) and a picture over MAX_THUMBNAIL_SIDE on a side."""
    if path.stat().st_size == 0:
        raise ThumbnailSkipped("the server sent an empty file")
    try:
        with warnings.catch_warnings():
            # Pillow warns, then refuses, past ~89 and ~179 megapixels; the side cap below is
            # stricter (8000 x 8000 = 64 megapixels), so both only mean "too large" here.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as picture:
                header = PictureHeader(picture.format or "", *picture.size)
    except Image.DecompressionBombError as exc:
        raise _too_large() from exc
    except (UnidentifiedImageError, ValueError) as exc:
        raise ThumbnailSkipped(_not_a_picture(path)) from exc
    if max(header.width, header.height) > MAX_THUMBNAIL_SIDE:
        raise _too_large(f"{header.width}x{header.height}")
    return header


def _too_large(size: str = "") -> ThumbnailSkipped:
    declared = f" ({size})" if size else ""
    return ThumbnailSkipped(
        f"the picture declares more than {MAX_THUMBNAIL_SIDE} pixels on a side{declared}"
    )


def _not_a_picture(path: Path) -> str:
    with path.open("rb") as file:
        head = file.read(_TEXT_SNIFF_BYTES)
    try:
        looks_like_text = b"\0" not in head and bool(head.decode("utf-8").strip())
    except UnicodeDecodeError:
        looks_like_text = False
    sent = "text (an HTML page?)" if looks_like_text else "something"
    return f"the server sent {sent} that is not a picture in a known format"


class ThumbnailFetcher(FFmpegPostProcessor):  # type: ignore[misc]
    """Runs before the download: fetches the best thumbnail that passes, leaves it (jpg, webp or
    png) for yt-dlp to move to `<thumbnails_dir>/<task_id>.<ext>` with the video, and notes
    in `skipped` why there is none when none passes."""

    def __init__(
        self,
        downloader: Any,
        *,
        partial_dir: str,
        thumbnails_dir: str,
        task_id: str,
        skipped: list[str],
    ) -> None:
        super().__init__(downloader)  # finds ffmpeg through the downloader's ffmpeg_location
        self._partial = Path(partial_dir) / f"{task_id}.thumbnail"
        self._final_stem = Path(thumbnails_dir) / task_id
        self._skipped = skipped
        self._refused: set[str] = set()  # URLs the SSRF guard refused: never shown to clients

    def run(self, info: dict[str, Any]) -> tuple[list[str], dict[str, Any]]:
        candidates = list(reversed(info.get("thumbnails") or []))[:MAX_CANDIDATES]
        reasons = []
        for candidate in candidates:
            try:
                kept = self._keep(candidate)
            except ThumbnailSkipped as exc:
                reasons.append(str(exc))
                self._partial.unlink(missing_ok=True)
                continue
            info["__files_to_move"][str(kept)] = f"{self._final_stem}{kept.suffix}"
            info["thumbnail"] = candidate["url"]  # the remote URL clients see meanwhile
            return [], info
        if info.get("thumbnail") in self._refused:
            del info["thumbnail"]
        if reasons:
            others = (
                f" ({len(reasons) - 1} other candidates failed too)" if len(reasons) > 1 else ""
            )
            self._skipped.append(f"Thumbnail skipped: {reasons[0]}{others}")
        return [], info

    def _keep(self, candidate: dict[str, Any]) -> Path:
        self._fetch(candidate)
        header = read_header(self._partial)
        ext = SERVABLE_FORMATS.get(header.format)
        if ext is not None:
            return self._partial.rename(self._partial.with_suffix(f".{ext}"))
        return self._convert_to_jpg(header)

    def _fetch(self, candidate: dict[str, Any]) -> None:
        request = Request(candidate["url"], headers=candidate.get("http_headers") or {})
        try:
            with self._downloader.urlopen(request) as response:
                declared = response.headers.get("Content-Length", "")
                if declared.isdigit() and int(declared) > MAX_THUMBNAIL_BYTES:
                    raise _too_big()
                body = response.read(MAX_THUMBNAIL_BYTES + 1)
        except (RequestError, OSError) as exc:
            kind, message = classify(exc)
            if kind is ErrorKind.FORBIDDEN_TARGET:
                self._refused.add(candidate["url"])
            raise ThumbnailSkipped(f"it could not be fetched ({message})") from exc
        if len(body) > MAX_THUMBNAIL_BYTES:
            raise _too_big()
        self._partial.write_bytes(body)

    def _convert_to_jpg(self, header: PictureHeader) -> Path:
        converted = self._partial.with_suffix(".jpg")
        # The header was read, but ffmpeg probes for itself: cap what its decoder may allocate.
        cap = ["-max_pixels", str(MAX_THUMBNAIL_SIDE * MAX_THUMBNAIL_SIDE)]
        try:
            self.real_run_ffmpeg(
                [(str(self._partial), cap)], [(str(converted), ["-frames:v", "1"])]
            )
        except FFmpegPostProcessorError as exc:
            converted.unlink(missing_ok=True)
            raise ThumbnailSkipped(
                f"ffmpeg could not convert its {header.format} picture to jpg ({exc})"
            ) from exc
        self._partial.unlink()
        return converted


def _too_big() -> ThumbnailSkipped:
    return ThumbnailSkipped(f"the file is larger than {MAX_THUMBNAIL_BYTES // 1024**2} MiB")
