"""Subscription checks on procrastinate (distributed mode). Every worker host takes jobs of
the `offlinetube.subscriptions` queue:
- a periodic job, every 10 s on one host (procrastinate defers each tick once), checks every
  subscription that is due;
- "check now" defers a job for that subscription, with a queueing lock, so clicks in a row
  leave one waiting.
Which host runs a given check is decided by its claim in the store (checks.py), not by the
job: two jobs at once (a tick and a check now) never run one check twice."""

import contextlib

from procrastinate import App
from procrastinate.exceptions import AlreadyEnqueued

from offlinetube_api.subscriptions.checks import SubscriptionChecker

SUBSCRIPTIONS_QUEUE = "offlinetube.subscriptions"
SUBSCRIPTION_SLOTS = 2  # checks one host runs at once
CHECK_TASK = "offlinetube.check_subscription"
DUE_TASK = "offlinetube.check_due_subscriptions"
EVERY_10_S = "* * * * * */10"  # croniter (procrastinate's) reads a sixth column as seconds


class ProcrastinateSchedule:
    """For every process, API replicas included: defers the jobs the workers run."""

    def __init__(self, app: App) -> None:
        self._app = app

    async def check_soon(self, subscription_id: str) -> None:
        deferrer = self._app.configure_task(
            CHECK_TASK,
            queue=SUBSCRIPTIONS_QUEUE,
            queueing_lock=f"subscription:{subscription_id}",
        )
        with contextlib.suppress(AlreadyEnqueued):  # a check of it waits already
            await deferrer.defer_async(subscription_id=subscription_id)


def register_checks(app: App, checker: SubscriptionChecker) -> None:
    """Makes the jobs known to `app`, whose workers (with SUBSCRIPTIONS_QUEUE) run them."""

    async def check_subscription(subscription_id: str) -> None:
        await checker.run_due(subscription_id)

    async def check_due_subscriptions(timestamp: int) -> None:
        await checker.run_due()

    app.task(name=CHECK_TASK, queue=SUBSCRIPTIONS_QUEUE)(check_subscription)
    due = app.task(name=DUE_TASK, queue=SUBSCRIPTIONS_QUEUE, queueing_lock=DUE_TASK)
    app.periodic(cron=EVERY_10_S)(due(check_due_subscriptions))
