"""GET /api/events/link: a browser `EventSource` cannot send a key, so it follows every task
through a signed link instead (each task's own link is its `events_url`)."""

from fastapi import APIRouter, Request

from offlinetube_api.api.auth import AuthDep, AuthPolicy, opening_key_id
from offlinetube_api.schemas import EventsLink

router = APIRouter(prefix="/api", tags=["events"])

ALL_EVENTS_PATH = "/api/events"


@router.get("/events/link", summary="A link to follow every task without a key")
async def get_events_link(request: Request, auth: AuthDep) -> EventsLink:
    """The URL of `GET /api/events` to hand to an `EventSource`: signed and expiring when keys
    are required, plain otherwise. The link works only while the key that asked for it is
    active, and a stream it opened closes within about 1.5 s of that key's revocation."""
    return EventsLink(url=await all_events_url(auth, request))


async def all_events_url(auth: AuthPolicy, request: Request) -> str:
    """`/api/events`, signed when keys are required for the key `request` stands for (the web
    app hands it to its pages too, for the key of their session)."""
    if not await auth.required():
        return ALL_EVENTS_PATH
    return auth.signer.sign(ALL_EVENTS_PATH, key_id=opening_key_id(request))
