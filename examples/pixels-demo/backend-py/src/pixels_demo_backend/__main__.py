"""The pixels server process: serves :class:`PixelBackend` on a ZeroMQ endpoint.

    python -m pixels_demo_backend --bind ipc:///tmp/dir/pixels.sock --out /tmp/images \
        [--updates ipc:///tmp/dir/updates.sock]

With ``--updates``, the backend serves the tagged binding (the original dgx-pixels wire:
MessagePack maps on ``--bind``, progress published on ``--updates``) instead of the native one.

Prints exactly one line on stdout, ``ready <endpoint>``, once it is listening (a parent process
waits for it); logs job events to stderr, each stamped with the seconds since this module was
loaded (about when the process started). Closes the server and exits 0 on SIGTERM or SIGINT.
Exits 2 on bad arguments, 1 when it cannot listen or does not shut down within
:data:`SHUTDOWN_GRACE_S`.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import protoipc
import protoipc.zmq
from pixels.v1 import pixels_ipc
from protoipc.tagged_zmq import create_zmq_tagged_server_transport

from .backend import PixelBackend

__all__ = ["SHUTDOWN_GRACE_S", "main", "serve"]

SHUTDOWN_GRACE_S = 5.0
"""After SIGTERM, the server must be closed within this many seconds, or the process exits 1."""

_T0 = time.perf_counter()


def log(line: str) -> None:
    """Writes one log line to stderr, stamped with the seconds since this module was loaded."""
    sys.stderr.write(f"+{time.perf_counter() - _T0:.2f}s {line}\n")
    sys.stderr.flush()


async def serve(bind: str, out_dir: Path, updates: str | None = None) -> int:
    """Serves the backend on ``bind`` until SIGTERM or SIGINT; returns the exit code.

    Prints ``ready <bind>`` on stdout once listening. Owns the server and its transport and
    closes both before returning.
    """
    loop = asyncio.get_running_loop()
    stop_signal: asyncio.Future[str] = loop.create_future()

    def on_signal(sig: signal.Signals) -> None:
        if not stop_signal.done():
            stop_signal.set_result(sig.name)

    # Installed before listening, so a signal during startup still ends in a clean close.
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, on_signal, sig)

    try:
        transport: protoipc.ServerTransport = (
            protoipc.zmq.create_zmq_server_transport(bind)
            if updates is None
            else create_zmq_tagged_server_transport(
                pixels_ipc.PIXEL_SERVICE, bind=bind, updates_bind=updates
            )
        )
    except protoipc.IpcError as e:  # a malformed endpoint
        log(f"cannot listen on {bind}: {e}")
        return 1
    server = protoipc.create_server(transport)
    server.register(PixelBackend(out_dir, log=log))
    try:
        await server.listen()
    except Exception as e:
        log(f"cannot listen on {bind}: {e}")
        await server.close()
        return 1
    log(f"listening on {bind}, writing images to {out_dir}")
    print(f"ready {bind}", flush=True)

    name = await stop_signal
    log(f"{name}: closing the server")
    try:
        # Never hang: if close() does not finish, say so and leave with an error.
        await asyncio.wait_for(server.close(), SHUTDOWN_GRACE_S)
    except TimeoutError:
        log(f"still running {SHUTDOWN_GRACE_S:g} s after {name}; exiting 1")
        return 1
    except Exception as e:
        log(f"close failed: {e}")
        return 1
    log("closed")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Parses the command line and runs :func:`serve`; returns the exit code (2: bad arguments)."""
    parser = argparse.ArgumentParser(
        prog="python -m pixels_demo_backend",
        description="Serves the pixels demo's stand-in image generator over ZeroMQ.",
    )
    parser.add_argument(
        "--bind", required=True, help="endpoint to bind, e.g. ipc:///tmp/dir/pixels.sock"
    )
    parser.add_argument(
        "--out", required=True, type=Path, help="directory the images are written to"
    )
    parser.add_argument(
        "--updates",
        help="serve the tagged binding (dgx-pixels wire), publishing progress on this endpoint",
    )
    args = parser.parse_args(argv)
    bind: str = args.bind
    out_dir: Path = args.out
    updates: str | None = args.updates
    return asyncio.run(serve(bind, out_dir, updates))


if __name__ == "__main__":
    sys.exit(main())
