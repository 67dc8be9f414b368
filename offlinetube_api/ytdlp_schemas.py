"""The answers and the body of /api/admin/ytdlp (routes/ytdlp.py)."""

from pydantic import BaseModel, ConfigDict, Field

from offlinetube_api.ytdlp_install import Channel


class YtdlpStatusPublic(BaseModel):
    installed: str = Field(description="The yt-dlp version new downloads use.")
    folder: str | None = Field(
        description="Where that version is installed (`<data folder>/yt-dlp/<version>`); "
        "null: the service's own environment, never updated by the service."
    )
    newest: str | None = Field(
        description="The newest release on the package index; null when it could not be read."
    )
    newest_error: str | None = Field(description="Why `newest` is null, for a person.")

    model_config = ConfigDict(from_attributes=True)  # from a ytdlp_install.YtdlpStatus


class YtdlpUpdate(BaseModel):
    channel: Channel = Field(
        default=Channel.STABLE,
        description="`stable`: the newest release; `nightly`: the newest nightly build.",
    )


class YtdlpUpdated(BaseModel):
    previous: str = Field(description="The version new downloads used before.")
    installed: str = Field(description="The version new downloads use from now on.")
