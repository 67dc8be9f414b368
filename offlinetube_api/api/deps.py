"""The objects routes depend on, as Annotated aliases.

All `async def`, though they do not await: FastAPI runs a plain `def` dependency in its thread
pool, a hop per dependency per request, which costs more than the lookup."""

from typing import Annotated

from fastapi import Depends, Request

from offlinetube_api import media
from offlinetube_api.api.event_messages import EventMessages
from offlinetube_api.api.event_stream_limit import EventStreamLimit
from offlinetube_api.config import Settings
from offlinetube_api.errors import PlaylistNotFound, TaskNotFound
from offlinetube_api.events import EventFeed
from offlinetube_api.ffmpeg import FfmpegBinary
from offlinetube_api.models import Task
from offlinetube_api.ports import Downloads, TaskStore
from offlinetube_api.video_titles import VideoTitles


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_store(request: Request) -> TaskStore:
    store: TaskStore = request.app.state.store
    return store


async def get_downloads(request: Request) -> Downloads:
    downloads: Downloads = request.app.state.downloads
    return downloads


async def get_events(request: Request) -> EventFeed:
    events: EventFeed = request.app.state.events
    return events


async def get_event_messages(request: Request) -> EventMessages:
    messages: EventMessages = request.app.state.event_messages
    return messages


async def get_ffmpeg(request: Request) -> FfmpegBinary:
    ffmpeg: FfmpegBinary = request.app.state.ffmpeg
    return ffmpeg


SettingsDep = Annotated[Settings, Depends(get_settings)]
StoreDep = Annotated[TaskStore, Depends(get_store)]
DownloadsDep = Annotated[Downloads, Depends(get_downloads)]
FfmpegDep = Annotated[FfmpegBinary, Depends(get_ffmpeg)]
EventsDep = Annotated[EventFeed, Depends(get_events)]
EventMessagesDep = Annotated[EventMessages, Depends(get_event_messages)]


async def ids_name_tasks(request: Request) -> None:
    """A router's dependency: a 404 (TaskNotFound, PlaylistNotFound for `playlist_id`) for a
    path id that is not shaped as a task id (a UUID, media.is_task_id), before any store or
    queue sees it: such an id names nothing, and PostgreSQL refuses some text outright (a NUL
    byte, `%00` in a path)."""
    for name, value in request.path_params.items():
        if not media.is_task_id(value):
            raise (PlaylistNotFound if name == "playlist_id" else TaskNotFound)(value)


async def get_task(store: StoreDep, task_id: str) -> Task:
    task = await store.get(task_id)
    if task is None:
        raise TaskNotFound(task_id)
    return task


TaskDep = Annotated[Task, Depends(get_task)]


async def get_video_titles(request: Request) -> VideoTitles:
    titles: VideoTitles = request.app.state.video_titles
    return titles


VideoTitlesDep = Annotated[VideoTitles, Depends(get_video_titles)]


async def get_event_stream_limit(request: Request) -> EventStreamLimit:
    limit: EventStreamLimit = request.app.state.event_stream_limit
    return limit


EventStreamLimitDep = Annotated[EventStreamLimit, Depends(get_event_stream_limit)]
