"""The answer of GET /api/info, with its OpenAPI descriptions and example."""

from pydantic import BaseModel, ConfigDict, Field, JsonValue

from offlinetube_api.worker.info_messages import PlaylistInfo, VideoInfo

_EXAMPLE: dict[str, JsonValue] = {
    "url": "https://www.youtube.com/watch?v=dQw4w9WgXcQ",
    "title": "A video",
    "duration": 212.0,
    "uploader": "A channel",
    "thumbnail": "https://i.ytimg.com/vi/dQw4w9WgXcQ/maxresdefault.jpg",
    "extractor": "Youtube",
    "is_playlist": False,
    "playlist": None,
    "default_format": "137+140",
    "formats": [
        {
            "format_id": "140",
            "ext": "m4a",
            "width": None,
            "height": None,
            "fps": None,
            "vcodec": "none",
            "acodec": "mp4a.40.2",
            "filesize": 3433514,
            "filesize_estimated": False,
            "browser_playable": True,
            "note": "medium",
        },
        {
            "format_id": "137",
            "ext": "mp4",
            "width": 1920,
            "height": 1080,
            "fps": 25.0,
            "vcodec": "avc1.640028",
            "acodec": "none",
            "filesize": 79468581,
            "filesize_estimated": False,
            "browser_playable": True,
            "note": "1080p",
        },
    ],
}


class FormatPublic(BaseModel):
    """One format the site offers, in yt-dlp's terms."""

    model_config = ConfigDict(from_attributes=True)  # made from a FormatInfo

    format_id: str = Field(
        description="yt-dlp's id of the format: send it as `format` to POST /api/download, "
        "alone or joined to an audio format's as `<video id>+<audio id>`."
    )
    ext: str | None = Field(description="Container (file extension): mp4, webm, m4a, ...")
    width: int | None = Field(description="Picture width in pixels; null for sound only.")
    height: int | None = Field(description="Picture height in pixels; null for sound only.")
    fps: float | None = Field(description="Frames per second, when the site says.")
    vcodec: str | None = Field(
        description='Video codec as the site declares it (`avc1.640028`); `"none"`: no '
        "video; null: not declared."
    )
    acodec: str | None = Field(
        description='Audio codec as the site declares it (`mp4a.40.2`); `"none"`: no '
        "audio; null: not declared."
    )
    filesize: int | None = Field(
        description="Size in bytes: exact when the site gives it, else yt-dlp's estimate "
        "from the bitrate and duration (`filesize_estimated`); null when neither is known."
    )
    filesize_estimated: bool = Field(
        description="`filesize` is an estimate (yt-dlp's `filesize_approx`), not the exact size."
    )
    browser_playable: bool | None = Field(
        description="A browser plays it once downloaded (it is kept in, or remuxed to, MP4 or "
        "WebM): H.264, VP8, VP9 or AV1 video and AAC, MP3, Opus, Vorbis or FLAC sound, the "
        "rule the default download follows. False for HEVC or any other codec browsers do not "
        "decode; null when the site does not declare the codecs."
    )
    note: str | None = Field(description='yt-dlp\'s note on the format ("1080p", "DASH audio").')


class PlaylistEntryPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    position: int = Field(description="1-based, in the page's order.")
    title: str | None
    url: str = Field(description="The video's page; POST it to download this video alone.")


class PlaylistPublic(BaseModel):
    entries: list[PlaylistEntryPublic] = Field(
        description="The first `cap` videos of the page, those a download of the page queues."
    )
    cap: int = Field(description="The most entries listed: OFFLINETUBE_PLAYLIST_LIMIT.")
    truncated: bool = Field(description="The page has more videos than `cap`.")

    @classmethod
    def from_info(cls, playlist: PlaylistInfo) -> "PlaylistPublic":
        entries = [PlaylistEntryPublic.model_validate(entry) for entry in playlist.entries]
        return cls(entries=entries, cap=playlist.cap, truncated=playlist.truncated)


class VideoInfoPublic(BaseModel):
    """What yt-dlp sees on a page, without downloading it."""

    model_config = ConfigDict(json_schema_extra={"examples": [_EXAMPLE]})

    url: str = Field(description="The page, as yt-dlp names it.")
    title: str | None
    duration: float | None = Field(description="Length in seconds; null for a playlist.")
    uploader: str | None
    thumbnail: str | None = Field(description="The site's URL of the thumbnail (remote).")
    extractor: str | None = Field(description='yt-dlp\'s extractor ("Youtube", "Generic", ...).')
    is_playlist: bool = Field(description="The page holds several videos (see `playlist`).")
    playlist: PlaylistPublic | None = Field(description="Its videos, for a playlist page.")
    default_format: str | None = Field(
        description="The format id(s) a download without `format` gets (`137+140`: a video "
        "and an audio format merged); null for a playlist."
    )
    formats: list[FormatPublic] = Field(
        description="Worst first, as yt-dlp sorts them; at most 1000 (the best); empty for a "
        "playlist."
    )

    @classmethod
    def from_info(cls, info: VideoInfo) -> "VideoInfoPublic":
        playlist = info.playlist
        return cls(
            url=info.url,
            title=info.title,
            duration=info.duration,
            uploader=info.uploader,
            thumbnail=info.thumbnail,
            extractor=info.extractor,
            is_playlist=playlist is not None,
            playlist=PlaylistPublic.from_info(playlist) if playlist else None,
            default_format=info.default_format,
            formats=[FormatPublic.model_validate(fmt) for fmt in info.formats],
        )
