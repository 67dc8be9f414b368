"""PostgresEventBus (distributed mode): the database announces each commit that saved events to
every process (NOTIFY on ports.EVENTS_CHANNEL, sent by the store in that transaction); see
event_bus.py for what a bus does. Imported only in distributed mode: it loads psycopg."""

import asyncio
import logging
from contextlib import suppress

import psycopg
from psycopg import sql
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type
from tenacity.wait import wait_random_exponential

from offlinetube_api.config import redacted
from offlinetube_api.event_bus import Wakeup
from offlinetube_api.ports import EVENTS_CHANNEL

logger = logging.getLogger(__name__)

# Silence on the LISTEN connection for this long is checked with a query, so a connection that
# died without a word (a host gone, a cable cut) is noticed and replaced.
_LIVENESS_CHECK_S = 15.0
_CONNECT_TIMEOUT_S = 5
_APPLICATION_NAME = "offlinetube-events"
_LISTEN = sql.SQL("LISTEN {}").format(sql.Identifier(EVENTS_CHANNEL))


class PostgresEventBus:
    """One dedicated connection LISTENs on ports.EVENTS_CHANNEL; every notification wakes every
    reader. When the connection drops, it is made again with back-off (up to `max_backoff_s`
    between tries), and readers are woken once it is back, since events may have been saved
    meanwhile; until then `wait` simply lasts its timeout, so readers poll."""

    def __init__(self, url: str, *, max_backoff_s: float = 30.0) -> None:
        self._url = url
        self._max_backoff_s = max_backoff_s
        self._wakeup = Wakeup()
        self._listener: asyncio.Task[None] | None = None
        self.listening = False  # for the health route: notifications arrive right now

    async def start(self) -> None:
        self._listener = asyncio.create_task(self._listen_forever(), name="event-bus-listener")

    async def close(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with suppress(asyncio.CancelledError):
                await self._listener
        self._wakeup.wake()

    def announce(self) -> None:
        """Nothing to do: the database announces the commit (NOTIFY), to this process too."""

    @property
    def announcements(self) -> int:
        return self._wakeup.count

    async def wait(self, timeout_s: float, *, seen: int | None = None) -> None:
        await self._wakeup.wait(timeout_s, seen)

    async def _listen_forever(self) -> None:
        while True:
            connection = await self._connect()
            try:
                await self._follow(connection)
            except psycopg.OperationalError as exc:
                logger.warning("lost the event notifications from PostgreSQL: %s", exc)
            finally:
                self.listening = False
                await connection.close()

    async def _connect(self) -> psycopg.AsyncConnection[object]:
        """A connection LISTENing on the channel; retried with back-off until it is."""
        retrying = AsyncRetrying(
            retry=retry_if_exception_type(psycopg.OperationalError),
            wait=wait_random_exponential(multiplier=0.2, max=self._max_backoff_s),
            before_sleep=self._log_retry,
        )
        async for attempt in retrying:
            with attempt:
                connection = await psycopg.AsyncConnection.connect(
                    self._url,
                    autocommit=True,
                    connect_timeout=_CONNECT_TIMEOUT_S,
                    application_name=_APPLICATION_NAME,
                )
                try:
                    await connection.execute(_LISTEN)
                except BaseException:
                    await connection.close()
                    raise
                return connection
        raise AssertionError("tenacity retries until it succeeds")

    async def _follow(self, connection: psycopg.AsyncConnection[object]) -> None:
        self.listening = True
        self._wakeup.wake()  # events saved while nobody listened: let readers look
        while True:
            async for _ in connection.notifies(timeout=_LIVENESS_CHECK_S):
                self._wakeup.wake()
            await connection.execute("SELECT 1")

    def _log_retry(self, state: RetryCallState) -> None:
        failure = state.outcome.exception() if state.outcome else None
        if state.attempt_number == 1 or state.attempt_number % 10 == 0:
            logger.warning(
                "cannot listen for events on %s (try %d): %s; readers poll meanwhile",
                redacted(self._url),
                state.attempt_number,
                failure,
            )
