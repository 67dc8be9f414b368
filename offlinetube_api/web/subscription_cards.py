"""What the Subscriptions page shows of each subscription: the subscription as the API shows
it, its newest tasks, and whether the card should ask for itself again (a check or a download
of it under way)."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from offlinetube_api.models import Task, TaskStatus
from offlinetube_api.ports import TaskStore
from offlinetube_api.schemas import TaskPublic
from offlinetube_api.subscription_schemas import SubscriptionPublic
from offlinetube_api.subscriptions.model import Subscription

RECENT = 5  # tasks shown per subscription, newest first
_UNFINISHED = (TaskStatus.QUEUED, TaskStatus.DOWNLOADING, TaskStatus.PROCESSING)


@dataclass(frozen=True, slots=True)
class SubscriptionCard:
    """`checking`: its check is due and not yet recorded (a check now, or a new subscription)."""

    subscription: SubscriptionPublic
    recent: list[TaskPublic]
    checking: bool

    @property
    def busy(self) -> bool:
        """Whether what the card shows is about to change: the page asks for the card again
        every few seconds (htmx) until it is not."""
        return self.checking or any(task.status in _UNFINISHED for task in self.recent)


async def subscription_card(
    subscription: Subscription, store: TaskStore, present: Callable[[Task], TaskPublic]
) -> SubscriptionCard:
    page = await store.page(status=None, limit=RECENT, subscription_id=subscription.id)
    due = not subscription.paused and subscription.next_check_at <= datetime.now(UTC)
    return SubscriptionCard(
        subscription=SubscriptionPublic.from_subscription(subscription),
        recent=[present(task) for task in page.tasks],
        checking=due,
    )
