"""The bounded buffer of a client call's progress updates or stream items."""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Generic, TypeVar

from protoipc.errors import IpcError

__all__ = ["DEFAULT_MAX_BUFFERED_UPDATES", "UpdateQueue"]

DEFAULT_MAX_BUFFERED_UPDATES = 65_536
"""Default most progress updates or stream items a call buffers while its caller does not read
them. Past it the call fails with ``Code.RESOURCE_EXHAUSTED``."""

T = TypeVar("T")


class UpdateQueue(Generic[T]):
    """A bounded single-consumer queue, filled by the transport (on the loop) and read by one
    consumer with :meth:`get`.

    When ``limit`` items wait unread, :meth:`push` returns False and the caller fails the call
    with ``Code.RESOURCE_EXHAUSTED``: items are never dropped silently. After :meth:`end` or
    :meth:`fail`, the consumer still gets the buffered items, then the end or the error.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._items: deque[T] = deque()
        self._done = False
        self._failure: IpcError | None = None
        self._waiter: asyncio.Future[None] | None = None

    def __len__(self) -> int:
        return len(self._items)

    def push(self, item: T) -> bool:
        """Adds one item; False (and nothing added) when ``limit`` items already wait."""
        if self._done:
            return True
        if len(self._items) >= self.limit:
            return False
        self._items.append(item)
        self._wake()
        return True

    def end(self) -> None:
        """Ends the queue normally. Idempotent; a no-op after :meth:`fail`."""
        if not self._done:
            self._done = True
            self._wake()

    def fail(self, error: IpcError) -> None:
        """Ends the queue with ``error``. A no-op once ended."""
        if not self._done:
            self._done = True
            self._failure = error
            self._wake()

    async def get(self) -> T:
        """The next item; waits for one.

        :raises StopAsyncIteration: once the queue ended normally and is drained
        :raises IpcError: the call's error, once the queue failed and is drained
        """
        while not self._items:
            if self._done:
                if self._failure is not None:
                    raise self._failure
                raise StopAsyncIteration
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        return self._items.popleft()

    def _wake(self) -> None:
        w = self._waiter
        if w is not None and not w.done():
            w.set_result(None)
