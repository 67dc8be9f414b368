"""yt-dlp's version, and its update without a shell (ytdlp_install.py): admins only."""

import asyncio
from typing import Annotated

from fastapi import APIRouter, Body

from offlinetube_api.api.deps import SettingsDep
from offlinetube_api.api.openapi import body_answers
from offlinetube_api.errors import YtdlpUpdateFailed
from offlinetube_api.schemas import ErrorMessage
from offlinetube_api.ytdlp_install import (
    UpdateFailed,
    installed_version,
    status,
    update,
    ytdlp_folder,
)
from offlinetube_api.ytdlp_schemas import YtdlpStatusPublic, YtdlpUpdate, YtdlpUpdated

router = APIRouter(prefix="/api/admin/ytdlp", tags=["admin"])
NEWEST_RELEASE = YtdlpUpdate()  # without a body


@router.get("", response_model=YtdlpStatusPublic)
async def read_ytdlp(settings: SettingsDep) -> YtdlpStatusPublic:
    """The yt-dlp version new downloads use and, when the package index
    (`OFFLINETUBE_YTDLP_INDEX`) can be read, the newest release."""
    found = await asyncio.to_thread(status, ytdlp_folder(settings.data_dir), settings.ytdlp_index)
    return YtdlpStatusPublic.model_validate(found)


@router.post(
    "/update",
    response_model=YtdlpUpdated,
    responses={
        **body_answers(),
        502: {
            "model": ErrorMessage,
            "description": "pip could not install yt-dlp, or it did not import; the version "
            "in use is unchanged.",
        },
    },
)
async def update_ytdlp(
    settings: SettingsDep, body: Annotated[YtdlpUpdate, Body()] = NEWEST_RELEASE
) -> YtdlpUpdated:
    """Install the newest yt-dlp (or nightly) into the data folder with pip; the next
    download uses it, running ones finish on theirs. Takes as long as pip (seconds to
    minutes)."""
    folder = ytdlp_folder(settings.data_dir)
    previous = await asyncio.to_thread(installed_version, folder)
    try:
        installed = await asyncio.to_thread(
            update, folder, index=settings.ytdlp_index, channel=body.channel
        )
    except UpdateFailed as exc:
        raise YtdlpUpdateFailed(str(exc)) from None
    return YtdlpUpdated(previous=previous, installed=installed)
