"""Lifecycle of a Python server child of ``pnpm bench`` (the Python counterpart of
bench/src/server-process.ts's ``runServerChild``): start the server, print ``ready`` on stdout
once it is bound, and close it when asked to stop.

A child stops on SIGTERM or SIGINT (the parent's stop) and, with ``exit_with_parent``, when its
stdin reaches end of file: the parent holds the other end of that pipe, so a parent that dies
without stopping its children still takes them down (as a forked tsx child exits on disconnect).
"""

from __future__ import annotations

import asyncio
import signal
import sys
from collections.abc import Awaitable, Callable
from typing import Protocol


class Closable(Protocol):
    """A running server: ``close()`` stops it and releases its sockets."""

    async def close(self) -> None: ...


class _StdinEof(asyncio.Protocol):
    """Sets ``stop`` once the read end of the stdin pipe sees end of file (or an error)."""

    def __init__(self, stop: asyncio.Event) -> None:
        self._stop = stop

    def data_received(self, data: bytes) -> None:
        pass  # the parent never writes; anything written is ignored

    def eof_received(self) -> bool | None:
        self._stop.set()
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop.set()


async def run_until_stopped(
    start: Callable[[], Awaitable[Closable]], *, exit_with_parent: bool
) -> None:
    """Starts a server with ``start``, prints ``ready`` once it returned, and waits for SIGTERM,
    SIGINT or (with ``exit_with_parent``) end of file on stdin; then closes the server.

    :raises Exception: whatever ``start`` raised (the child then exits non-zero without ``ready``)
    """
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    if exit_with_parent:
        await loop.connect_read_pipe(lambda: _StdinEof(stop), sys.stdin)
    server = await start()
    try:
        sys.stdout.write("ready\n")
        sys.stdout.flush()
        await stop.wait()
    finally:
        await server.close()
