"""The objects routes depend on, as Annotated aliases.

All `async def`, though they do not await: FastAPI runs a plain `def` dependency in its thread
pool, a hop per dependency per request, which costs more than the lookup."""

from typing import Annotated

from fastapi import Depends, Request

from offlinetube_api import media
from offlinetube_api.api.event_messages import EventMessages
from offlinetube_api.api.event_stream_limit import EventStreamLimit
from offlinetube_api.config import Settings
from offlinetube_api.cookie_sets import CookieSets
from offlinetube_api.errors import PlaylistNotFound, SubscriptionNotFound, TaskNotFound
from offlinetube_api.events import EventFeed
from offlinetube_api.info_reader import InfoReader
from offlinetube_api.models import Task
from offlinetube_api.plays import PlayLog
from offlinetube_api.ports import Downloads, TaskStore
from offlinetube_api.programs import Programs
from offlinetube_api.security.keys import KeyStore
from offlinetube_api.subscriptions.model import Subscription
from offlinetube_api.subscriptions.service import SubscriptionService
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


async def get_play_log(request: Request) -> PlayLog:
    plays: PlayLog = request.app.state.play_log
    return plays


async def get_cookie_sets(request: Request) -> CookieSets:
    cookie_sets: CookieSets = request.app.state.cookie_sets
    return cookie_sets


async def get_programs(request: Request) -> Programs:
    programs: Programs = request.app.state.programs
    return programs


async def get_download_slots(request: Request) -> int:
    """Downloads this process runs at once: 0 on an API-only replica (main.create_app)."""
    slots: int = request.app.state.download_slots
    return slots


async def get_keys(request: Request) -> KeyStore:
    keys: KeyStore = request.app.state.keys
    return keys


SettingsDep = Annotated[Settings, Depends(get_settings)]
KeysDep = Annotated[KeyStore, Depends(get_keys)]
StoreDep = Annotated[TaskStore, Depends(get_store)]
DownloadsDep = Annotated[Downloads, Depends(get_downloads)]
ProgramsDep = Annotated[Programs, Depends(get_programs)]
DownloadSlotsDep = Annotated[int, Depends(get_download_slots)]
CookieSetsDep = Annotated[CookieSets, Depends(get_cookie_sets)]
EventsDep = Annotated[EventFeed, Depends(get_events)]
EventMessagesDep = Annotated[EventMessages, Depends(get_event_messages)]
PlayLogDep = Annotated[PlayLog, Depends(get_play_log)]


async def ids_name_tasks(request: Request) -> None:
    """A router's dependency: a 404 (TaskNotFound, PlaylistNotFound for `playlist_id`) for a
    path id that is not shaped as a task id (a UUID, media.is_task_id), before any store or
    queue sees it: such an id names nothing, and PostgreSQL refuses some text outright (a NUL
    byte, `%00` in a path)."""
    for name, value in request.path_params.items():
        if not media.is_task_id(value):
            raise (PlaylistNotFound if name == "playlist_id" else TaskNotFound)(value)


async def ids_name_subscriptions(request: Request) -> None:
    """Like ids_name_tasks, for `subscription_id` (a UUID too)."""
    for value in request.path_params.values():
        if not media.is_task_id(value):
            raise SubscriptionNotFound(value)


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


async def get_info_reader(request: Request) -> InfoReader:
    reader: InfoReader = request.app.state.info_reader
    return reader


InfoReaderDep = Annotated[InfoReader, Depends(get_info_reader)]


async def get_subscriptions(request: Request) -> SubscriptionService:
    subscriptions: SubscriptionService = request.app.state.subscriptions
    return subscriptions


SubscriptionsDep = Annotated[SubscriptionService, Depends(get_subscriptions)]


async def get_subscription(subscriptions: SubscriptionsDep, subscription_id: str) -> Subscription:
    """The path's subscription, or a 404 (SubscriptionNotFound)."""
    return await subscriptions.get(subscription_id)


SubscriptionDep = Annotated[Subscription, Depends(get_subscription)]
