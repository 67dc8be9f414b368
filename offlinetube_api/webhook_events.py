"""The names of webhook notifications, as `X-OfflineTube-Event`, the body's `event` and
OFFLINETUBE_WEBHOOK_EVENTS spell them: a task's final state, or a subscription's event (the
same names as its Server-Sent Event, subscriptions.model.SubscriptionEventName)."""

from typing import Literal, get_args

WebhookEvent = Literal[
    "task.completed",
    "task.failed",
    "task.cancelled",
    "subscription.created",
    "subscription.updated",
    "subscription.deleted",
    "subscription.checked",
]
ALL: tuple[WebhookEvent, ...] = get_args(WebhookEvent)
# What is sent unless OFFLINETUBE_WEBHOOK_EVENTS says otherwise: what was sent before there
# were subscriptions, so a receiver never gets a body it was not written for.
TASK_EVENTS: tuple[WebhookEvent, ...] = ("task.completed", "task.failed", "task.cancelled")
