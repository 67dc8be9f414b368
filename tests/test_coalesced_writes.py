"""CoalescedWrites (server.py): what one step of the event loop writes leaves together, in
order, a large write at once, and a close or an abort does with waiting bytes what it does
with buffered ones. The transport below records what reaches it; the real server's answers
go through the HTTP suite."""

import asyncio
from typing import Any

from offlinetube_api.server import SEND_AT_ONCE_BYTES, CoalescedWrites


class RecordingTransport:
    def __init__(self) -> None:
        self.sent: list[list[bytes]] = []
        self.events: list[str] = []
        self.closing = False

    def writelines(self, data: list[bytes]) -> None:
        self.sent.append(list(data))
        self.events.append("send")

    def is_closing(self) -> bool:
        return self.closing

    def close(self) -> None:
        self.closing = True
        self.events.append("close")

    def abort(self) -> None:
        self.closing = True
        self.events.append("abort")

    def get_extra_info(self, name: str) -> Any:
        return f"extra {name}"


def _coalesced(loop: asyncio.AbstractEventLoop) -> tuple[CoalescedWrites, RecordingTransport]:
    transport = RecordingTransport()
    return CoalescedWrites(transport, loop), transport  # type: ignore[arg-type]


def test_writes_of_one_step_leave_in_one_call_in_order() -> None:
    async def scenario() -> RecordingTransport:
        writes, transport = _coalesced(asyncio.get_running_loop())
        writes.write(b"head")
        writes.write(b"body")
        assert transport.sent == []  # not before the step ends
        await asyncio.sleep(0)
        writes.write(b"next")
        await asyncio.sleep(0)
        return transport

    assert asyncio.run(scenario()).sent == [[b"head", b"body"], [b"next"]]


def test_a_large_write_goes_at_once_after_what_waits() -> None:
    body = b"x" * SEND_AT_ONCE_BYTES

    async def scenario() -> tuple[list[list[bytes]], RecordingTransport]:
        writes, transport = _coalesced(asyncio.get_running_loop())
        writes.write(b"head")
        writes.write(body)
        at_once = list(transport.sent)  # before the step ends
        await asyncio.sleep(0)
        return at_once, transport

    at_once, transport = asyncio.run(scenario())
    assert at_once == [[b"head", body]]
    assert transport.sent == at_once  # and nothing sent twice


def test_small_writes_go_at_once_when_enough_wait() -> None:
    """A producer that writes without yielding gets no further than SEND_AT_ONCE_BYTES ahead
    of the transport, whose own buffer then pauses it when the socket is full."""
    piece = b"x" * 1000
    count = SEND_AT_ONCE_BYTES // len(piece) + 1

    async def scenario() -> tuple[list[list[bytes]], RecordingTransport]:
        writes, transport = _coalesced(asyncio.get_running_loop())
        for _ in range(count + 1):
            writes.write(piece)
        at_once = list(transport.sent)  # before the step ends
        await asyncio.sleep(0)
        return at_once, transport

    at_once, transport = asyncio.run(scenario())
    assert at_once == [[piece] * count]
    assert transport.sent == [[piece] * count, [piece]]


def test_close_sends_what_waits_first_and_abort_drops_it() -> None:
    async def scenario() -> tuple[RecordingTransport, RecordingTransport]:
        loop = asyncio.get_running_loop()
        closed, closed_transport = _coalesced(loop)
        closed.write(b"last answer")
        closed.close()
        aborted, aborted_transport = _coalesced(loop)
        aborted.write(b"never sent")
        aborted.abort()
        await asyncio.sleep(0)  # the scheduled sends find nothing left to send
        return closed_transport, aborted_transport

    closed, aborted = asyncio.run(scenario())
    assert closed.sent == [[b"last answer"]]
    assert closed.events == ["send", "close"]
    assert aborted.sent == []
    assert aborted.events == ["abort"]


def test_everything_else_is_the_transports_own() -> None:
    async def scenario() -> Any:
        writes, _ = _coalesced(asyncio.get_running_loop())
        return writes.get_extra_info("peername")

    assert asyncio.run(scenario()) == "extra peername"
