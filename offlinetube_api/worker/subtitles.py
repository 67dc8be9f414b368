"""Subtitles are extras: a language that the site does not offer, or whose file cannot be
fetched, is skipped with a warning instead of failing the video."""

from typing import Any

import yt_dlp
from yt_dlp.utils import DownloadError

from offlinetube_api.models import ErrorKind
from offlinetube_api.worker.failures import classify, clean_message

_DOWNLOADER_PREFIX = "[download] Got error: "


class SubtitleTolerantYoutubeDL(yt_dlp.YoutubeDL):  # type: ignore[misc]
    """yt-dlp, writing subtitles one language at a time.

    yt-dlp's `_write_subtitles` raises for the first language it cannot fetch (unless
    `ignoreerrors`, which would also hide every failure of the video itself). Here each language
    goes through it alone, so one failure is one skipped language, noted in `skipped`. A
    refusal of the SSRF guard still fails the download: the page pointed at an address that
    is not allowed."""

    def __init__(self, params: dict[str, Any], *, skipped: list[str]) -> None:
        super().__init__(params)
        self._skipped = skipped

    def _write_subtitles(
        self, info_dict: dict[str, Any], filename: str
    ) -> list[tuple[str, str]] | None:
        requested: dict[str, Any] = info_dict.get("requested_subtitles") or {}
        self._note_languages_not_offered(requested)
        written: list[tuple[str, str]] = []
        for lang, subtitle in list(requested.items()):
            try:
                one = super()._write_subtitles(
                    {**info_dict, "requested_subtitles": {lang: subtitle}}, filename
                )
            except DownloadError as exc:
                kind, message = classify(exc)
                if kind is ErrorKind.FORBIDDEN_TARGET:
                    raise
                del requested[lang]  # nothing saved: later steps must not look for it
                reason = _reason(
                    message.removeprefix(f"Unable to download video subtitles for {lang!r}: ")
                )
                self._skipped.append(
                    f'Subtitles "{lang}" skipped: they could not be fetched ({reason})'
                )
                continue
            if one is None:  # a file could not be written: yt-dlp has reported it
                return None
            written += one
        return written

    def _note_languages_not_offered(self, requested: dict[str, Any]) -> None:
        if not self.params.get("writesubtitles"):
            return
        for lang in self.params.get("subtitleslangs") or ():
            if lang not in requested:
                self._skipped.append(
                    f'Subtitles "{lang}" skipped: the site offers none in this language'
                )


def _reason(message: str) -> str:
    """yt-dlp's subtitle error wraps its downloader's: keep the innermost words."""
    return clean_message(message).removeprefix(_DOWNLOADER_PREFIX)
