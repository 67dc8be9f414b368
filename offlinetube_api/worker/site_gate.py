"""The gate a queued task passes before its download starts: it holds back the tasks of a
site that is cooling down (site_cooldowns.py) or runs OFFLINETUBE_MAX_PER_SITE downloads
already. A task held back stays queued, shows why (`waiting_reason`) and until when
(`waiting_until`), and goes back to the queue for then, through the queue's own delayed
enqueue (the one a retry's back-off uses), so no other scheduler is needed."""

import re

from offlinetube_api.models import ErrorKind, Task, WaitingReason
from offlinetube_api.ports import JobQueue
from offlinetube_api.site_cooldowns import SiteCooldowns
from offlinetube_api.transitions import TransitionRefused, Waiting, now
from offlinetube_api.worker.ledger import TaskLedger
from offlinetube_api.worker.messages import Failed

# How soon a task held back by the cap looks again when nothing wakes it earlier: a download
# of its site that ends in this process wakes the oldest waiter at once (`released`), but no
# event says when one ends on another host, and a look costs one refused transaction.
SITE_BUSY_LOOK_S = 2.0
# What sites say when they take a visitor for a bot (YouTube's "Sign in to confirm you're not
# a bot"); such a failure is `auth_required` like any sign-in, but also cools its site down.
_BOT_CHECK = re.compile(r"not a (ro)?bot|captcha|unusual traffic", re.IGNORECASE)


def cooldown_reason(failure: Failed) -> WaitingReason | None:
    """Whether a failure cools its site down, and why: a rate limit, or a bot check."""
    if failure.kind is ErrorKind.RATE_LIMITED:
        return WaitingReason.RATE_LIMITED
    if failure.kind is ErrorKind.AUTH_REQUIRED and _BOT_CHECK.search(failure.error):
        return WaitingReason.BOT_CHECK
    return None


class SiteGate:
    def __init__(
        self,
        *,
        cooldowns: SiteCooldowns,
        ledger: TaskLedger,
        queue: JobQueue,
        max_per_site: int,
        wake_waiters: bool,
    ) -> None:
        """`wake_waiters`: whether a download that ends here wakes a task held back for its
        site's cap (`released`): the embedded queue moves a delayed task forward, while
        procrastinate's queue keeps a waiting job's schedule, so there it would be a wasted
        round trip."""
        self._cooldowns = cooldowns
        self._ledger = ledger
        self._queue = queue
        self.max_per_site = max_per_site
        self._wake_waiters = wake_waiters
        # Per site, the ids of the tasks this process holds back for the cap, oldest first.
        self._busy_waiters: dict[str, dict[str, None]] = {}

    async def held_back(self, task: Task, site: str) -> bool:
        """True when `site` cools down: the task is then saved waiting and queued again for
        the end of the cool-down."""
        cooldown = await self._cooldowns.of(site)
        if cooldown is None:
            return False
        delay_s = (cooldown.until - now()).total_seconds()
        await self._hold(task, Waiting(site, cooldown.reason, cooldown.until), delay_s)
        return True

    async def site_busy(self, task: Task, site: str) -> None:
        """Its start was refused (SiteBusy): it waits, and looks again when a download of its
        site ends in this process, or after SITE_BUSY_LOOK_S at the latest."""
        if self._wake_waiters:
            self._busy_waiters.setdefault(site, {})[task.id] = None
        await self._hold(task, Waiting(site, WaitingReason.SITE_BUSY, None), SITE_BUSY_LOOK_S)

    async def released(self, site: str) -> None:
        """A download of `site` ended here: the oldest task held back for its cap looks again
        now, rather than at its next look (one, since one place came free: waking every
        waiter would have all but one refused again)."""
        waiters = self._busy_waiters.get(site)
        if not waiters:
            return
        oldest = next(iter(waiters))
        del waiters[oldest]
        if not waiters:
            del self._busy_waiters[site]
        await self._queue.enqueue(oldest)

    def started(self, task_id: str, site: str) -> None:
        """`task_id` got its place: it no longer waits for one."""
        waiters = self._busy_waiters.get(site)
        if waiters is not None:
            waiters.pop(task_id, None)
            if not waiters:
                del self._busy_waiters[site]

    async def _hold(self, task: Task, waiting: Waiting, delay_s: float) -> None:
        # Saved only when it changes: a task that waits for the cap looks again every few
        # seconds, and each event would wake every client following the queue.
        if (task.waiting_reason, task.waiting_until) != (waiting.reason, waiting.until):
            try:
                if await self._ledger.apply(task.id, waiting) is None:
                    return  # removed meanwhile
            except TransitionRefused:
                return  # cancelled, or started elsewhere, meanwhile
        await self._queue.enqueue(task.id, delay_s=max(delay_s, 0.0))
