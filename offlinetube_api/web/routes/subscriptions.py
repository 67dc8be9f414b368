"""The Subscriptions screen, `/subscriptions`: each subscription with its last check and newest
videos, Pause or Resume, Check now, Edit, Delete (two steps, its videos too if asked), and the
form that adds one; through the SubscriptionService the API's routes call."""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from offlinetube_api import media
from offlinetube_api.api.auth import AuthDep, PresentDep
from offlinetube_api.api.deps import StoreDep, SubscriptionsDep
from offlinetube_api.errors import OfflineTubeError, SubscriptionNotFound
from offlinetube_api.models import Task
from offlinetube_api.ports import TaskStore
from offlinetube_api.schemas import TaskPublic
from offlinetube_api.security.keys import Scope
from offlinetube_api.subscription_schemas import SubscriptionPublic
from offlinetube_api.subscriptions.model import Subscription
from offlinetube_api.subscriptions.service import SubscriptionService
from offlinetube_api.web.access import allowed, is_htmx, needs
from offlinetube_api.web.download_form import QUALITIES, FormRefused
from offlinetube_api.web.outcome import Outcome, answer, refusal
from offlinetube_api.web.subscription_cards import SubscriptionCard, subscription_card
from offlinetube_api.web.subscription_form import (
    BACK_CATALOGUE,
    subscription_change,
    subscription_create,
)
from offlinetube_api.web.templating import render

pages = APIRouter()
actions = APIRouter()

PAGE = "/subscriptions"
GONE = "No such subscription: it may have been deleted."


@dataclass(frozen=True, slots=True)
class Cards:
    """What a card needs, and what the session may do with it (the buttons it shows)."""

    subscriptions: SubscriptionService
    store: TaskStore
    present: Callable[[Task], TaskPublic]
    can_change: bool
    can_delete_files: bool

    async def card(self, subscription: Subscription) -> SubscriptionCard:
        return await subscription_card(subscription, self.store, self.present)

    async def find(self, subscription_id: str) -> Subscription | None:
        try:
            return await self.subscriptions.get(checked_id(subscription_id))
        except SubscriptionNotFound:
            return None

    def context(self, **more: Any) -> dict[str, Any]:
        return {"can_change": self.can_change, "can_delete_files": self.can_delete_files, **more}


async def cards(
    request: Request,
    subscriptions: SubscriptionsDep,
    store: StoreDep,
    present: PresentDep,
    auth: AuthDep,
) -> Cards:
    can_change = await allowed(request, auth, Scope.DOWNLOAD)
    can_delete_files = await allowed(request, auth, Scope.ADMIN)
    return Cards(subscriptions, store, present, can_change, can_delete_files)


CardsDep = Annotated[Cards, Depends(cards)]


async def form_fields(request: Request) -> dict[str, str]:
    return {name: value for name, value in (await request.form()).items() if isinstance(value, str)}


FormDep = Annotated[dict[str, str], Depends(form_fields)]


def checked_id(subscription_id: str) -> str:
    """Raises SubscriptionNotFound for a text that is no subscription id (a UUID), before the
    store sees it (PostgreSQL refuses some text outright)."""
    if not media.is_task_id(subscription_id):
        raise SubscriptionNotFound(subscription_id)
    return subscription_id


@pages.get(PAGE)
async def subscriptions_page(request: Request, found: CardsDep) -> Response:
    shown = [await found.card(subscription) for subscription in await found.subscriptions.all()]
    context = found.context(cards=shown, qualities=QUALITIES, back_catalogue=BACK_CATALOGUE)
    response = render(request, "subscriptions.html", context)
    # Its cards change in place (htmx): going back to it asks again, rather than showing the
    # page as it was first loaded, from the browser's cache.
    response.headers["Cache-Control"] = "no-store"
    return response


@pages.get(PAGE + "/{subscription_id}/card")
async def card(request: Request, subscription_id: str, found: CardsDep) -> Response:
    """One card, for htmx: a busy card asks for itself again."""
    return await _card_answer(request, subscription_id, found, None)


@pages.get(
    PAGE + "/{subscription_id}/edit",
    dependencies=[Depends(needs(Scope.DOWNLOAD, "change subscriptions"))],
)
async def edit_page(request: Request, subscription_id: str, found: CardsDep) -> Response:
    subscription = await found.find(subscription_id)
    if subscription is None:
        return answer(request, Outcome(GONE, 404), then=PAGE)
    shown = SubscriptionPublic.from_subscription(subscription)
    return render(request, "subscription_edit.html", {"subscription": shown})


@actions.post(PAGE)
async def add(request: Request, found: CardsDep, form: FormDep) -> Response:
    """What `POST /api/subscriptions` does; htmx gets the outcome and the new card."""
    try:
        created = await found.subscriptions.create(subscription_create(form).to_spec())
    except FormRefused as refused:
        return answer(request, Outcome(str(refused), 422), then=PAGE)
    except OfflineTubeError as error:
        return answer(request, refusal(error), then=PAGE)
    outcome = Outcome(f"Subscribed to {created.spec.name}; its first check runs now.")
    if not is_htmx(request):
        return answer(request, outcome, then=PAGE)
    context = found.context(outcome=outcome, card=await found.card(created))
    return render(request, "subscription_added.html", context, status_code=201)


@actions.post(PAGE + "/{subscription_id}")
async def edit(request: Request, subscription_id: str, found: CardsDep, form: FormDep) -> Response:
    """What `PATCH /api/subscriptions/{id}` does with the edit form's fields; then the list."""
    try:
        change = subscription_change(form)
        await found.subscriptions.change(
            checked_id(subscription_id), spec_changes=change.spec_changes(), paused=None
        )
    except FormRefused as refused:
        return answer(request, Outcome(str(refused), 422), then=f"{PAGE}/{subscription_id}/edit")
    except OfflineTubeError as error:
        return answer(request, refusal(error), then=PAGE)
    response = answer(request, Outcome("Saved."), then=PAGE)
    if is_htmx(request):
        response.headers["HX-Redirect"] = PAGE
    return response


@actions.post(PAGE + "/{subscription_id}/pause")
async def pause(request: Request, subscription_id: str, found: CardsDep) -> Response:
    pausing = partial(found.subscriptions.change, spec_changes={}, paused=True)
    return await _on_card(request, subscription_id, found, pausing, done="Paused.")


@actions.post(PAGE + "/{subscription_id}/resume")
async def resume(request: Request, subscription_id: str, found: CardsDep) -> Response:
    resuming = partial(found.subscriptions.change, spec_changes={}, paused=False)
    return await _on_card(request, subscription_id, found, resuming, done="Resumed.")


@actions.post(PAGE + "/{subscription_id}/check")
async def check_now(request: Request, subscription_id: str, found: CardsDep) -> Response:
    checking = found.subscriptions.check_now
    return await _on_card(request, subscription_id, found, checking, done="Checking now.")


async def removal_scope(request: Request, auth: AuthDep, form: FormDep) -> None:
    """Deleting a subscription needs `download`; deleting its videos with it `admin`, as
    `DELETE /api/subscriptions/{id}?delete_files=true` does."""
    if form.get("delete_files") == "true":
        await needs(Scope.ADMIN, "delete the videos of a subscription")(request, auth)


@actions.post(PAGE + "/{subscription_id}/delete", dependencies=[Depends(removal_scope)])
async def delete(
    request: Request, subscription_id: str, found: CardsDep, form: FormDep
) -> Response:
    """What `DELETE /api/subscriptions/{id}` does; htmx gets the outcome in the card's place."""
    with_files = form.get("delete_files") == "true"
    try:
        removal = await found.subscriptions.remove(
            checked_id(subscription_id), delete_files=with_files
        )
    except OfflineTubeError as error:
        return await _card_answer(request, subscription_id, found, refusal(error))
    kept = "its videos stay in the library"
    removed = f"{removal.removed_tasks} of its videos deleted with it"
    return answer(request, Outcome(f"Deleted; {removed if with_files else kept}."), then=PAGE)


async def _on_card(
    request: Request,
    subscription_id: str,
    found: Cards,
    act: Callable[[str], Awaitable[object]],
    *,
    done: str,
) -> Response:
    """Does `act` to the subscription; htmx gets its card as it left it, with the outcome in
    words."""
    try:
        await act(checked_id(subscription_id))
    except OfflineTubeError as error:
        outcome = refusal(error)
    else:
        outcome = Outcome(done)
    return await _card_answer(request, subscription_id, found, outcome)


async def _card_answer(
    request: Request, subscription_id: str, found: Cards, outcome: Outcome | None
) -> Response:
    """htmx: the card with `outcome`, or only a word that it is gone. A plain post: to the
    page, or a page of the refusal."""
    if not is_htmx(request) and outcome is not None:
        return answer(request, outcome, then=PAGE)
    subscription = await found.find(subscription_id)
    if subscription is None:
        gone = outcome if outcome and outcome.failed else Outcome(GONE, 404)
        return render(request, "outcome.html", {"outcome": gone}, status_code=gone.status_code)
    context = found.context(card=await found.card(subscription), outcome=outcome)
    status = outcome.status_code if outcome else 200
    return render(request, "subscription_card.html", context, status_code=status)
