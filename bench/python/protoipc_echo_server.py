"""The Python protoipc echo server of ``pnpm bench``: serves ``bench.v1.EchoService`` (the
generated ``EchoServiceHandler``) with the ``protoipc`` runtime's native binding over ZeroMQ.

- ``Echo`` returns the request's payload;
- ``Flood`` sends ``count`` progress updates with sequence 1..count, awaiting each (the
  transport's backpressure), then returns ``sent``.

Usage (from the repository root)::

    PYTHONPATH=bench/python .venv/bin/python bench/python/protoipc_echo_server.py \\
        --bind ipc:///tmp/dir/python.sock [--exit-with-parent]

Prints ``ready`` on stdout once bound; exits 0 on SIGTERM or SIGINT (and, with
``--exit-with-parent``, when stdin closes).
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Sequence

import protoipc
from bench.v1 import echo_ipc
from bench.v1.echo_pb2 import (
    EchoRequest,
    EchoResponse,
    FloodProgress,
    FloodRequest,
    FloodResponse,
)
from bench_child import Closable, run_until_stopped
from protoipc.zmq import create_zmq_server_transport


class EchoHandler(echo_ipc.EchoServiceHandler):
    """Echo and Flood, as cheaply as the runtime allows (the same behaviour as the TypeScript
    server in bench/src/protoipc-echo.ts)."""

    async def echo(self, request: EchoRequest, context: protoipc.CallContext) -> EchoResponse:
        return EchoResponse(payload=request.payload)

    async def flood(
        self, request: FloodRequest, context: protoipc.ProgressContext[FloodProgress]
    ) -> FloodResponse:
        for sequence in range(1, request.count + 1):
            await context.progress(FloodProgress(sequence=sequence))
        return FloodResponse(sent=request.count)


async def start(bind: str) -> Closable:
    """Binds a protoipc server serving :class:`EchoHandler` on ``bind``; the caller closes it."""
    server = protoipc.create_server(create_zmq_server_transport(bind))
    server.register(EchoHandler())
    await server.listen()
    return server


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Serve bench.v1.EchoService with protoipc.")
    parser.add_argument("--bind", required=True, help="ZeroMQ endpoint, e.g. ipc:///path")
    parser.add_argument(
        "--exit-with-parent", action="store_true", help="also stop when stdin reaches end of file"
    )
    args = parser.parse_args(argv)
    bind: str = args.bind
    asyncio.run(run_until_stopped(lambda: start(bind), exit_with_parent=args.exit_with_parent))


if __name__ == "__main__":
    main()
