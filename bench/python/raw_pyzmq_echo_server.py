"""The raw pyzmq baseline of ``pnpm bench``: what a careful user writes by hand with a
``zmq.asyncio`` ROUTER and no framework. It returns every message ``[routing id, frame]``
unchanged to the peer it came from, so the raw zeromq.js DEALER client of the raw_zeromq baseline
(bench/src/baselines/raw-zeromq.ts; frames ``[8-byte correlation id][payload]``) drives it as it
drives the zeromq.js ROUTER echo.

Care taken, as in the zeromq.js baseline's server:

- ``ROUTER_MANDATORY``: a ROUTER otherwise drops messages silently when a peer's high-water mark
  is reached. With it, a send to a full peer fails with EAGAIN; the server then waits until the
  socket is writable (``zmq.asyncio``'s ``send_multipart``) and sends the same message again, so
  nothing is dropped. A send to a peer that is gone fails with EHOSTUNREACH and is counted.
- ``LINGER 0``: closing never waits for a peer.
- One coroutine owns the socket: it waits until a message is readable, then takes up to
  ``MAX_BURST`` queued messages without waiting (``NOBLOCK``), echoing each as it is taken, so a
  burst costs one wake-up of the event loop. The obvious loop, ``await recv_multipart()`` then
  ``await send_multipart()`` per message, measured about 40 % fewer calls per second on the
  benchmark machine (about 46 000 against 80 000), and the baseline should be what a careful
  user gets. The non-blocking calls
  go through a plain shadow of the socket; the waits through the ``zmq.asyncio`` socket (``poll``,
  ``send_multipart``), which re-checks ZMQ_EVENTS before waiting.

Usage (from the repository root)::

    PYTHONPATH=bench/python .venv/bin/python bench/python/raw_pyzmq_echo_server.py \\
        --bind ipc:///tmp/dir/raw-pyzmq.sock [--exit-with-parent]

Prints ``ready`` on stdout once bound; exits 0 on SIGTERM or SIGINT (and, with
``--exit-with-parent``, when stdin closes).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
from collections.abc import Sequence

import zmq
import zmq.asyncio

from bench_child import Closable, run_until_stopped

MAX_BURST = 64
"""Messages taken without waiting after a wake-up, before the loop yields to the event loop."""


class RawEchoServer:
    """A bound ROUTER socket and the task echoing its messages."""

    def __init__(self, bind: str) -> None:
        self._context = zmq.asyncio.Context()
        self._socket = self._context.socket(zmq.ROUTER)
        self._socket.setsockopt(zmq.LINGER, 0)
        self._socket.setsockopt(zmq.ROUTER_MANDATORY, 1)
        self._socket.bind(bind)
        # The same socket without the asyncio wrapper, for the calls that never wait.
        self._sync: zmq.SyncSocket = zmq.Socket.shadow(self._socket.underlying)
        self._waited = 0
        self._unreachable = 0
        self._task = asyncio.ensure_future(self._serve())

    async def _serve(self) -> None:
        while True:
            await self._socket.poll(zmq.POLLIN)
            for _ in range(MAX_BURST):
                try:
                    message = self._sync.recv_multipart(zmq.NOBLOCK)
                except zmq.Again:
                    break
                await self._echo(message)

    async def _echo(self, message: list[bytes]) -> None:
        try:
            try:
                self._sync.send_multipart(message, zmq.NOBLOCK)
            except zmq.Again:
                # The peer's queue is full (ROUTER_MANDATORY says so instead of dropping): wait
                # until the socket is writable and send the same message again.
                self._waited += 1
                await self._socket.send_multipart(message)
        except zmq.ZMQError as error:
            if error.errno != zmq.EHOSTUNREACH:
                raise
            self._unreachable += 1  # the peer is gone: nobody to answer

    async def close(self) -> None:
        """Stops the echo task and closes the socket and its context."""
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._socket.close(linger=0)
        self._context.term()
        if self._waited > 0:
            sys.stderr.write(f"raw pyzmq server: {self._waited} sends waited for a full peer\n")
        if self._unreachable > 0:
            sys.stderr.write(
                f"raw pyzmq server: {self._unreachable} echoes for peers that were gone\n"
            )


async def start(bind: str) -> Closable:
    """Binds the ROUTER echo on ``bind``; the caller closes it."""
    return RawEchoServer(bind)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Raw pyzmq ROUTER echo.")
    parser.add_argument("--bind", required=True, help="ZeroMQ endpoint, e.g. ipc:///path")
    parser.add_argument(
        "--exit-with-parent", action="store_true", help="also stop when stdin reaches end of file"
    )
    args = parser.parse_args(argv)
    bind: str = args.bind
    asyncio.run(run_until_stopped(lambda: start(bind), exit_with_parent=args.exit_with_parent))


if __name__ == "__main__":
    main()
