"""The bounded FIFO between a channel's senders and its single writer task.

Why not :class:`asyncio.Queue`: before Python 3.13 it cannot be shut down, so senders waiting for
room would hang forever once the channel closes; and a frame posted without waiting must keep its
place behind the senders already waiting, which ``put_nowait`` does not do.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Generic, TypeVar

from protoipc.errors import IpcError

__all__ = ["WriteQueue"]

T = TypeVar("T")


class WriteQueue(Generic[T]):
    """Holds up to ``capacity`` entries for the writer; senders past that wait in line.

    Policy when full: :meth:`put` waits, in call order, until the writer :meth:`shift`\\ s entries
    out; :meth:`post` appends to the same line without waiting. Nobody overtakes an earlier
    waiting sender, so entries keep the order of the calls. A waiting :meth:`put` that is
    cancelled gives up its place (its entry is never written). Not thread-safe: use it on one
    event loop.

    :param capacity: entries held before senders wait; at least 1
    :raises ValueError: when ``capacity`` < 1
    """

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError(f"capacity {capacity} must be >= 1")
        self.capacity = capacity
        self._items: deque[T] = deque()
        self._waiting: deque[tuple[T, asyncio.Future[None] | None]] = deque()
        self._closed: IpcError | None = None
        self._ready: asyncio.Future[None] | None = None

    def __len__(self) -> int:
        """Entries ready for the writer."""
        return len(self._items)

    @property
    def waiting(self) -> int:
        """Senders waiting for room."""
        return len(self._waiting)

    @property
    def closed(self) -> bool:
        return self._closed is not None

    def post(self, item: T) -> None:
        """Appends ``item`` without waiting: at once when there is room and nobody waits,
        otherwise at the end of the line.

        :raises IpcError: the error given to :meth:`close`, once closed
        """
        if self._closed is not None:
            raise self._closed
        if len(self._items) < self.capacity and not self._waiting:
            self._items.append(item)
            self._wake()
        else:
            self._waiting.append((item, None))

    async def put(self, item: T) -> None:
        """Appends ``item``; waits while the queue is full or others wait before it.

        :raises IpcError: the error given to :meth:`close`, once closed (also while waiting)
        """
        if self._closed is not None:
            raise self._closed
        if len(self._items) < self.capacity and not self._waiting:
            self._items.append(item)
            self._wake()
            return
        admitted: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append((item, admitted))
        await admitted

    def peek(self, index: int = 0) -> T:
        """The entry ``index`` places behind the oldest; valid while ``index < len(self)``."""
        return self._items[index]

    def shift(self, count: int = 1) -> None:
        """Removes the ``count`` oldest entries and lets as many waiting senders in."""
        for _ in range(min(count, len(self._items))):
            self._items.popleft()
        while self._waiting and len(self._items) < self.capacity:
            item, admitted = self._waiting.popleft()
            if admitted is not None:
                if admitted.cancelled():
                    continue
                admitted.set_result(None)
            self._items.append(item)

    async def wait_ready(self) -> None:
        """Returns once an entry is ready or the queue is closed."""
        while not self._items and self._closed is None:
            self._ready = asyncio.get_running_loop().create_future()
            try:
                await self._ready
            finally:
                self._ready = None

    def close(self, error: IpcError) -> None:
        """Drops every entry, fails every waiting sender and every later call with ``error``,
        and wakes the writer. Idempotent."""
        if self._closed is not None:
            return
        self._closed = error
        self._items.clear()
        waiting, self._waiting = self._waiting, deque()
        for _, admitted in waiting:
            if admitted is not None and not admitted.done():
                admitted.set_exception(error)
        self._wake()

    def _wake(self) -> None:
        ready = self._ready
        if ready is not None and not ready.done():
            ready.set_result(None)
