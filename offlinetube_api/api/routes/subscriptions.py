from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, status

from offlinetube_api.api.auth import AuthDep, require
from offlinetube_api.api.deps import SubscriptionDep, SubscriptionsDep, ids_name_subscriptions
from offlinetube_api.api.openapi import body_answers
from offlinetube_api.schemas import ErrorMessage
from offlinetube_api.security.keys import Scope
from offlinetube_api.subscription_schemas import (
    SubscriptionChange,
    SubscriptionCreate,
    SubscriptionPublic,
    SubscriptionRemoval,
)
from offlinetube_api.subscriptions.model import Subscription

router = APIRouter(
    prefix="/api/subscriptions",
    tags=["subscriptions"],
    dependencies=[Depends(ids_name_subscriptions)],
)

READ = [Depends(require(Scope.READ))]
CONTROL = [Depends(require(Scope.DOWNLOAD))]
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorMessage, "description": "No subscription has this id."}
}


async def removal_scope(request: Request, auth: AuthDep, delete_files: bool = False) -> None:
    """Removing a subscription is `download`; removing its videos with it is `admin`, as
    removing a download is."""
    await require(Scope.ADMIN if delete_files else Scope.DOWNLOAD)(request, auth)


def _public(subscription: Subscription) -> SubscriptionPublic:
    return SubscriptionPublic.from_subscription(subscription)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=SubscriptionPublic,
    responses=body_answers(),
    dependencies=CONTROL,
)
async def create_subscription(
    request: SubscriptionCreate, subscriptions: SubscriptionsDep
) -> SubscriptionPublic:
    """Follow a channel or playlist; its first check runs at once."""
    return _public(await subscriptions.create(request.to_spec()))


@router.get("", response_model=list[SubscriptionPublic], dependencies=READ)
async def list_subscriptions(subscriptions: SubscriptionsDep) -> list[SubscriptionPublic]:
    """Every subscription, oldest first."""
    return [_public(subscription) for subscription in await subscriptions.all()]


@router.get(
    "/{subscription_id}",
    response_model=SubscriptionPublic,
    responses=NOT_FOUND,
    dependencies=READ,
)
async def get_subscription(subscription: SubscriptionDep) -> SubscriptionPublic:
    """One subscription, with its last check."""
    return _public(subscription)


@router.patch(
    "/{subscription_id}",
    response_model=SubscriptionPublic,
    responses={**NOT_FOUND, **body_answers()},
    dependencies=CONTROL,
)
async def change_subscription(
    subscription_id: str, change: SubscriptionChange, subscriptions: SubscriptionsDep
) -> SubscriptionPublic:
    """Change its options or filters, pause it (`"paused": true`) or resume it."""
    changed = await subscriptions.change(
        subscription_id, spec_changes=change.spec_changes(), paused=change.paused
    )
    return _public(changed)


@router.post(
    "/{subscription_id}/check",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=SubscriptionPublic,
    responses={
        **NOT_FOUND,
        409: {"model": ErrorMessage, "description": "The subscription is paused."},
    },
    dependencies=CONTROL,
)
async def check_subscription(
    subscription_id: str, subscriptions: SubscriptionsDep
) -> SubscriptionPublic:
    """Check now; follow `last_checked_at` for its result."""
    return _public(await subscriptions.check_now(subscription_id))


@router.delete(
    "/{subscription_id}",
    response_model=SubscriptionRemoval,
    responses=NOT_FOUND,
    dependencies=[Depends(removal_scope)],
)
async def remove_subscription(
    subscription_id: str,
    subscriptions: SubscriptionsDep,
    delete_files: Annotated[bool, Query(description="Remove its videos too (admin).")] = False,
) -> SubscriptionRemoval:
    """Stop following it; its videos stay unless `delete_files=true` (an admin key, when keys
    are required), which removes them as DELETE /api/downloads/{id}/remove does."""
    removal = await subscriptions.remove(subscription_id, delete_files=delete_files)
    return SubscriptionRemoval(id=removal.subscription_id, removed_tasks=removal.removed_tasks)
