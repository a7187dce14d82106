"""The bounded queues: a call's update buffer and a channel's writer queue."""

from __future__ import annotations

import asyncio

import pytest

from protoipc import Code, IpcError
from protoipc.update_queue import UpdateQueue
from protoipc.write_queue import WriteQueue


async def test_update_queue_yields_buffered_items_then_the_failure() -> None:
    q: UpdateQueue[int] = UpdateQueue(limit=3)
    assert q.push(1) and q.push(2) and q.push(3)
    assert not q.push(4)  # full: the caller fails the call, nothing is dropped silently
    q.fail(IpcError("call cancelled by the caller", Code.CANCELED))
    assert [await q.get(), await q.get(), await q.get()] == [1, 2, 3]
    with pytest.raises(IpcError, match="cancelled"):
        await q.get()


async def test_update_queue_wakes_a_waiting_reader_and_ends() -> None:
    q: UpdateQueue[str] = UpdateQueue(limit=10)
    reader = asyncio.ensure_future(q.get())
    await asyncio.sleep(0)
    q.push("a")
    assert await reader == "a"
    q.end()
    with pytest.raises(StopAsyncIteration):
        await q.get()


async def test_write_queue_makes_senders_wait_in_order_when_full() -> None:
    q: WriteQueue[str] = WriteQueue(capacity=2)
    await q.put("a")
    q.post("b")
    third = asyncio.ensure_future(q.put("c"))
    await asyncio.sleep(0)  # "c" starts waiting
    q.post("d")  # waits in line behind "c", never overtakes it
    assert not third.done() and q.waiting == 2 and len(q) == 2
    q.shift(2)
    await third
    assert [q.peek(0), q.peek(1)] == ["c", "d"]


async def test_write_queue_close_fails_waiting_senders() -> None:
    q: WriteQueue[str] = WriteQueue(capacity=1)
    q.post("a")
    waiting = asyncio.ensure_future(q.put("b"))
    await asyncio.sleep(0)
    q.close(IpcError("channel is closed", Code.UNAVAILABLE))
    with pytest.raises(IpcError, match="closed"):
        await waiting
    with pytest.raises(IpcError):
        q.post("c")
    await q.wait_ready()  # returns at once once closed


async def test_a_cancelled_put_gives_up_its_place() -> None:
    q: WriteQueue[str] = WriteQueue(capacity=1)
    q.post("a")
    cancelled = asyncio.ensure_future(q.put("b"))
    await asyncio.sleep(0)
    cancelled.cancel()
    with pytest.raises(asyncio.CancelledError):
        await cancelled
    q.post("c")
    q.shift()
    assert len(q) == 1 and q.peek(0) == "c"
