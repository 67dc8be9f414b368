"""Task events as Server-Sent Events: `task` (data: the task as `GET /api/downloads/{id}`
answers it) and `removed` (data: `{"id": ...}`); a subscription's event under its own name
(`subscription.checked`, ...; data: the subscription as `GET /api/subscriptions/{id}` answers
it). Each stored task event is serialized once for all the streams of this replica, not once
per stream."""

import json
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable
from typing import Any

from sse_starlette import ServerSentEvent

from offlinetube_api.events import Delivery
from offlinetube_api.models import Task
from offlinetube_api.schemas import TaskPublic
from offlinetube_api.subscription_schemas import SubscriptionPublic
from offlinetube_api.transitions import TransitionName

# Texts of the newest events kept for the streams that send them next; enough for a burst
# of every stream of this replica, far less memory than one copy per stream.
_CACHED_TEXTS = 2_048


def _json(data: dict[str, Any]) -> str:
    return json.dumps(data, ensure_ascii=False, allow_nan=False, separators=(",", ":"))


class EventMessages:
    def __init__(self, present: Callable[[Task], TaskPublic]) -> None:
        self._present = present  # signs media URLs when keys are required
        self._texts: OrderedDict[int, str] = OrderedDict()

    def message(self, delivery: Delivery) -> ServerSentEvent:
        event = delivery.event
        event_id = str(event.id) if delivery.with_id else None
        if event.subscription is not None:
            # Few and seldom: no cache. The transition is the subscription event's name.
            public = SubscriptionPublic.from_subscription(event.subscription)
            text = _json(public.model_dump(mode="json"))
            return ServerSentEvent(text, event=event.transition.value, id=event_id)
        if event.transition is TransitionName.REMOVED or event.task is None:
            return ServerSentEvent(_json({"id": event.task_id}), event="removed", id=event_id)
        return ServerSentEvent(self._text(event.id, event.task), event="task", id=event_id)

    def _text(self, event_id: int, task: Task) -> str:
        key = hash((event_id, task.id))  # a snapshot's events share one id, not one task
        text = self._texts.get(key)
        if text is None:
            text = self._texts[key] = _json(self._present(task).model_dump(mode="json"))
            if len(self._texts) > _CACHED_TEXTS:
                self._texts.popitem(last=False)
        return text

    async def stream(self, deliveries: AsyncIterator[Delivery]) -> AsyncIterator[ServerSentEvent]:
        async for delivery in deliveries:
            yield self.message(delivery)
