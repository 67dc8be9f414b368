"""Domain exceptions and their one mapping to HTTP answers."""

from typing import ClassVar

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

THUMBNAIL_NOT_FOUND = "Miniatura no encontrada"


class OfflineTubeError(Exception):
    """Base of every error the service reports to a client."""

    status_code = 400
    headers: ClassVar[dict[str, str] | None] = None

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class Unauthorized(OfflineTubeError):
    status_code = 401
    headers: ClassVar[dict[str, str] | None] = {"WWW-Authenticate": "Bearer"}


class Forbidden(OfflineTubeError):
    status_code = 403


class TaskNotFound(OfflineTubeError):
    status_code = 404

    def __init__(self, task_id: str) -> None:
        super().__init__(f"Task {task_id!r} not found")


class TaskConflict(OfflineTubeError):
    """The task is not in a state that allows this (cancel a finished one, retry a running one)."""

    status_code = 409


class PlaylistNotFound(OfflineTubeError):
    status_code = 404

    def __init__(self, playlist_id: str) -> None:
        super().__init__(f"Playlist {playlist_id!r} not found")


class MediaNotFound(OfflineTubeError):
    status_code = 404


class VideoNotFound(MediaNotFound):
    def __init__(self) -> None:
        super().__init__("Video not found")


class ThumbnailNotFound(MediaNotFound):
    """The seed's exact 404, kept byte for byte for its clients."""

    def __init__(self) -> None:
        super().__init__(THUMBNAIL_NOT_FOUND)


class QueueFull(OfflineTubeError):
    """`max_queued` tasks are already waiting; nothing more is accepted until some start."""

    status_code = 503
    headers: ClassVar[dict[str, str] | None] = {"Retry-After": "30"}

    def __init__(self, max_queued: int) -> None:
        super().__init__(f"The queue is full ({max_queued} tasks waiting); try again later")


def error_response(exc: OfflineTubeError) -> JSONResponse:
    return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)


def install_error_handlers(app: FastAPI) -> None:
    async def handle(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, OfflineTubeError)
        return error_response(exc)

    app.add_exception_handler(OfflineTubeError, handle)
