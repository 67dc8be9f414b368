"""GET /api/events/link: a browser `EventSource` cannot send a key, so it follows every task
through a signed link instead (each task's own link is its `events_url`)."""

from fastapi import APIRouter

from offlinetube_api.api.auth import AuthDep
from offlinetube_api.schemas import EventsLink

router = APIRouter(prefix="/api", tags=["events"])

ALL_EVENTS_PATH = "/api/events"


@router.get("/events/link", summary="A link to follow every task without a key")
async def events_link(auth: AuthDep) -> EventsLink:
    """The URL of `GET /api/events` to hand to an `EventSource`: signed and expiring when keys
    are required, plain otherwise."""
    signed = await auth.required()
    return EventsLink(url=auth.signer.sign(ALL_EVENTS_PATH) if signed else ALL_EVENTS_PATH)
