"""`X-Content-Type-Options: nosniff` on every answer, so a browser never takes a video, a
thumbnail or a JSON body for HTML or script, whatever bytes a download put in it."""

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

NOSNIFF_HEADER = (b"x-content-type-options", b"nosniff")


class NoSniff:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_nosniff(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message).setdefault(
                    *(part.decode() for part in NOSNIFF_HEADER)
                )
            await send(message)

        await self.app(scope, receive, send_with_nosniff)
