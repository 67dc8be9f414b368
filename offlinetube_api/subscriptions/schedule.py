"""When checks run. The due time of each subscription lives in the store and a check claims
it there (checks.py); a schedule only decides when to look.

- Embedded mode: InProcessSchedule, a loop in the service that looks every `poll_s` seconds
  and at once when woken (a new subscription, "check now").
- Distributed mode: procrastinate (procrastinate_schedule.py)."""

import asyncio
import contextlib
import logging
from typing import Protocol

from offlinetube_api.subscriptions.checks import SubscriptionChecker

logger = logging.getLogger(__name__)


class Schedule(Protocol):
    async def check_soon(self, subscription_id: str) -> None:
        """The subscription's check is due now (saved in the store): have it run soon."""
        ...


class InProcessSchedule:
    def __init__(self, checker: SubscriptionChecker, *, poll_s: float) -> None:
        self._checker = checker
        self._poll_s = poll_s
        self._wake = asyncio.Event()
        self._loop: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._loop = asyncio.create_task(self._run(), name="subscription-checks")

    async def close(self) -> None:
        """Stops looking; a check under way is cancelled and, its claim released at the next
        start (SubscriptionStore.release_claims), runs again then."""
        if self._loop is not None:
            self._loop.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._loop

    async def check_soon(self, subscription_id: str) -> None:
        self._wake.set()

    async def _run(self) -> None:
        while True:
            self._wake.clear()
            try:
                await self._checker.run_due()
            except Exception:  # the store failed; the next look tries again
                logger.warning("could not check the due subscriptions", exc_info=True)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._poll_s)
