"""Server-Sent Events: live task changes without polling."""

import json
from collections.abc import AsyncIterator, Callable
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Depends, Header, Query, Request, Response, status
from sse_starlette import EventSourceResponse, ServerSentEvent
from starlette.types import Receive, Scope, Send

from offlinetube_api.api.auth import RevocationDep
from offlinetube_api.api.deps import (
    EventMessagesDep,
    EventsDep,
    EventStreamLimitDep,
    TaskDep,
    ids_name_tasks,
)
from offlinetube_api.api.event_stream_limit import client_address
from offlinetube_api.api.openapi import RETRY_AFTER
from offlinetube_api.schemas import ErrorMessage

# After media_access, which api/router.py puts first: the key or link, then the id.
router = APIRouter(prefix="/api", tags=["events"], dependencies=[Depends(ids_name_tasks)])

SHUTDOWN_GRACE_S = 2.0

_EXAMPLE_TASK = {
    "id": "0f8fad5b-d9cb-469f-a165-70867728950e",
    "task_id": "0f8fad5b-d9cb-469f-a165-70867728950e",
    "url": "https://www.youtube.com/watch?v=dQw4w9WgXcQ",
    "format": None,
    "title": "A video",
    "status": "downloading",
    "progress": 42.5,
    "downloaded_bytes": 4456448,
    "total_bytes": 10485760,
    "speed": 1048576.0,
    "eta": 6,
    "error": None,
    "filename": None,
    "filesize": None,
    "ext": None,
    "duration": 212.0,
    "thumbnail": "https://i.ytimg.com/vi/dQw4w9WgXcQ/hqdefault.jpg",
    "stream_url": None,
    "created_at": "2026-11-26T20:40:00Z",
    "started_at": "2026-11-26T20:40:01Z",
    "finished_at": None,
}
_EXAMPLE_EVENT = f"id: 1764189601000042\nevent: task\ndata: {json.dumps(_EXAMPLE_TASK)}\n\n"
_RESUMING = (
    "\n\nEvents are `task` (data: the task, as `GET /api/downloads/{task_id}` answers it) and "
    '`removed` (data: `{"id": ...}`). Each has an `id`: a client that reconnects with the '
    "`Last-Event-ID` header (a browser `EventSource` sends it by itself) or the `last_event_id` "
    "query parameter gets exactly the events it missed; when those are no longer kept, or the "
    "service restarted, it gets the current state first."
)
_SUBSCRIPTIONS = (
    " With `subscriptions=true` the stream also carries every subscription's events, each "
    "under its name: `subscription.created`, `subscription.updated` (changed, paused or "
    "resumed), `subscription.deleted` and `subscription.checked` (its `last_found`, "
    "`last_new`, `last_queued`, `last_task_ids` and `last_error` tell the check's result); "
    "data: the subscription as `GET /api/subscriptions/{subscription_id}` answers it (as it "
    "was, for `subscription.deleted`). Without it, only task events come, as before."
)
_EVENT_STREAM: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "A stream of Server-Sent Events.",
        "content": {"text/event-stream": {"schema": {"type": "string"}, "example": _EXAMPLE_EVENT}},
    },
    503: {
        "model": ErrorMessage,
        "description": "Too many event streams are open, from this address or in all "
        "(`OFFLINETUBE_MAX_EVENT_STREAMS_PER_CLIENT`, `OFFLINETUBE_MAX_EVENT_STREAMS`); "
        "`Retry-After` says when to try again.",
        "headers": RETRY_AFTER,
    },
}
_TASK_RESPONSES: dict[int | str, dict[str, Any]] = {
    **_EVENT_STREAM,
    204: {"description": "Resumed after the task's last event: nothing more will come."},
    404: {"model": ErrorMessage, "description": "No task has this id."},
}


def last_event_id(
    header: Annotated[
        str | None, Header(alias="Last-Event-ID", description="Id of the last event received.")
    ] = None,
    query: Annotated[
        str | None,
        Query(
            alias="last_event_id",
            description="Same as `Last-Event-ID`, for an `EventSource`'s first connection.",
        ),
    ] = None,
) -> int | None:
    """Anything that is not one of our ids counts as none: the client gets the current state."""
    value = (header or query or "").strip()
    # ASCII and short: int() takes other scripts' digits, and refuses over 4,300 digits.
    return int(value) if value.isascii() and value.isdecimal() and len(value) <= 20 else None


LastEventIdDep = Annotated[int | None, Depends(last_event_id)]


class CountedEventStream(EventSourceResponse):
    """An event stream that gives its place under the stream cap back when it ends, however
    it ends. sse-starlette sets `shutdown` when the server stops, and so does the revocation
    of the key that opened it; the stream then ends by itself (within the grace period), so
    the response is completed rather than cut off."""

    def __init__(
        self,
        stream: AsyncIterator[ServerSentEvent],
        *,
        shutdown: anyio.Event,
        release: Callable[[], None],
        revocation: RevocationDep,
    ) -> None:
        super().__init__(
            revocation.guard(stream, shutdown),
            shutdown_event=shutdown,
            shutdown_grace_period=SHUTDOWN_GRACE_S,
        )
        self._release = release

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self._release()


@router.get(
    "/downloads/{task_id}/events",
    summary="Follow one task live",
    response_class=EventSourceResponse,
    responses=_TASK_RESPONSES,
    description="The task's state, then each change (status, progress, bytes, speed, eta, "
    "error); the stream ends after `completed`, `failed` or `cancelled`, or after `removed`."
    + _RESUMING,
)
async def follow_download(
    request: Request,
    task: TaskDep,
    events: EventsDep,
    messages: EventMessagesDep,
    resume_from: LastEventIdDep,
    limit: EventStreamLimitDep,
    revocation: RevocationDep,
) -> Response:
    if await events.nothing_left(task, resume_from):
        # 204 is what tells a browser EventSource to stop reconnecting.
        return Response(status_code=status.HTTP_204_NO_CONTENT)
    release = limit.open(client_address(request))  # last: nothing can fail after it
    shutdown = anyio.Event()
    stream = messages.stream(events.task_stream(task, resume_from, shutdown))
    return CountedEventStream(stream, shutdown=shutdown, release=release, revocation=revocation)


@router.get(
    "/events",
    summary="Follow every task live",
    response_class=EventSourceResponse,
    responses=_EVENT_STREAM,
    description="Every task's changes as they happen, without end; a comment line every 15 "
    "seconds keeps proxies from closing the connection." + _RESUMING + " Here the current "
    "state is the unfinished tasks (`queued`, `downloading`, `processing`); the library itself "
    "comes from `GET /api/downloads`." + _SUBSCRIPTIONS,
)
async def follow_all_downloads(
    request: Request,
    events: EventsDep,
    messages: EventMessagesDep,
    resume_from: LastEventIdDep,
    limit: EventStreamLimitDep,
    revocation: RevocationDep,
    subscriptions: Annotated[
        bool, Query(description="Send the subscriptions' events too (opt-in).")
    ] = False,
) -> EventSourceResponse:
    release = limit.open(client_address(request))  # last: nothing can fail after it
    shutdown = anyio.Event()
    feed = events.all_tasks_stream(resume_from, shutdown, subscriptions=subscriptions)
    stream = messages.stream(feed)
    return CountedEventStream(stream, shutdown=shutdown, release=release, revocation=revocation)
