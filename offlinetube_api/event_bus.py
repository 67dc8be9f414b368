"""Event buses: what wakes event readers when new events may have been saved (ports.EventBus).
They carry no data; readers read the events from the store, so a lost wake-up costs at most a
reader's polling interval, never an event. A reader that notes `announcements` before it reads
loses none in this process:

    seen = bus.announcements
    events = await store.events_after(last_id)
    if not events:
        await bus.wait(timeout_s, seen=seen)

- InProcessEventBus (embedded mode): the store announces each commit in this process.
- PostgresEventBus (distributed mode, in postgres_event_bus.py, which loads psycopg): the
  database announces each commit to every process (NOTIFY on ports.EVENTS_CHANNEL, sent by the
  store in the transaction that saves events)."""

import asyncio
from contextlib import suppress


class Wakeup:
    """Wakes every current waiter at once; later waiters wait for the next wake-up, unless
    they say they have not seen every one so far."""

    def __init__(self) -> None:
        self._event = asyncio.Event()
        self.count = 0

    def wake(self) -> None:
        self.count += 1
        self._event.set()
        self._event = asyncio.Event()

    async def wait(self, timeout_s: float, seen: int | None) -> None:
        if seen is not None and seen != self.count:
            return
        with suppress(TimeoutError):
            await asyncio.wait_for(self._event.wait(), timeout_s)


class InProcessEventBus:
    """Readers and writers in one process: `announce` (called on the event loop) wakes every
    reader waiting at that moment."""

    def __init__(self) -> None:
        self._wakeup = Wakeup()

    async def start(self) -> None:
        """Nothing to start: the bus lives in memory."""

    async def close(self) -> None:
        self._wakeup.wake()  # nobody waits out a timeout on a closing service

    def announce(self) -> None:
        self._wakeup.wake()

    @property
    def announcements(self) -> int:
        return self._wakeup.count

    async def wait(self, timeout_s: float, *, seen: int | None = None) -> None:
        await self._wakeup.wait(timeout_s, seen)
