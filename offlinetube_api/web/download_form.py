"""The Add form's fields, as the API's DownloadRequest: the qualities it offers, and what a
wrong field is called in words."""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from offlinetube_api.models import AudioFormat
from offlinetube_api.schemas import DownloadRequest


@dataclass(frozen=True, slots=True)
class Quality:
    value: str
    label: str
    format: str | None = None  # a yt-dlp format selector; None: the service's default
    audio: AudioFormat | None = None


def _at_most(height: int) -> str:
    # `<=?`: a format that declares no height passes; the worker re-encodes what a browser
    # cannot play (worker/playable.py), as for the default.
    return f"bv*[height<=?{height}]+ba/b[height<=?{height}]"


QUALITIES = (
    Quality("best", "Best"),
    Quality("1080", "1080p", _at_most(1080)),
    Quality("720", "720p", _at_most(720)),
    Quality("480", "480p", _at_most(480)),
    Quality("m4a", "Audio only (m4a)", audio=AudioFormat.M4A),
    Quality("mp3", "Audio only (mp3)", audio=AudioFormat.MP3),
)
_BY_VALUE = {quality.value: quality for quality in QUALITIES}
_FIELD_NAMES = {"url": "Video URL", "subtitles": "Subtitles", "format": "Quality"}


class FormRefused(ValueError):
    """A field the API would refuse; the message says which and why."""


def download_options(quality: str, subtitles: str) -> dict[str, Any]:
    """The fields of schemas.DownloadOptions that a quality choice and the subtitles field
    (languages separated by commas or blanks: `en, es`) give. Raises FormRefused for a
    quality that is not one of QUALITIES."""
    chosen = _BY_VALUE.get(quality)
    if chosen is None:
        raise FormRefused(f"Quality: {quality!r} is not one of the choices")
    return {
        "format": chosen.format,
        "audio_only": chosen.audio is not None,
        "audio_format": chosen.audio or AudioFormat.M4A,
        "subtitles": subtitles.replace(",", " ").split(),
    }


def download_request(url: str, quality: str, subtitles: str) -> DownloadRequest:
    """Raises FormRefused."""
    options = download_options(quality, subtitles)
    try:
        return DownloadRequest(url=url, **options)
    except ValidationError as error:
        raise FormRefused(in_words(error, _FIELD_NAMES)) from None


def in_words(error: ValidationError, field_names: Mapping[str, str]) -> str:
    """`Video URL: <pydantic's message>; Subtitles: ...`, one clause per refused field, each
    named as its form's label (`field_names`, by the schema's field)."""
    clauses = []
    for problem in error.errors(include_url=False):
        field = str(problem["loc"][0]) if problem["loc"] else ""
        if field == "subtitles" and problem["type"] == "string_pattern_mismatch":
            message = f"{problem['input']!r} is not a language code such as en or pt-BR"
        else:
            message = problem["msg"].removeprefix("Value error, ")
        clauses.append(f"{field_names.get(field, field)}: {message}")
    return "; ".join(clauses)
