"""The Python pixels server of ``pnpm bench``'s tagged-binding scenarios: the generated
``PixelServiceHandler`` served by the ``protoipc`` runtime on the native binding (ROUTER) or on
the tagged binding (dgx-pixels wire: ROUTER for REQ clients + XPUB), the same handler for both.

- ``Ping`` answers at once (the round trip);
- ``Generate`` sends ``steps × --updates-per-step`` progress updates, awaiting each (the transport's backpressure),
  then answers the completed job (the progress rate).

Usage (from the repository root)::

    PYTHONPATH=bench/python .venv/bin/python bench/python/pixels_bench_server.py \\
        --binding tagged --bind ipc:///tmp/d/req.sock --updates ipc:///tmp/d/pub.sock

Prints ``ready`` on stdout once bound; exits 0 on SIGTERM or SIGINT (and, with
``--exit-with-parent``, when stdin closes).
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Sequence

import protoipc
from bench_child import Closable, run_until_stopped
from pixels.v1 import pixels_ipc, pixels_pb2
from protoipc.tagged_zmq import create_zmq_tagged_server_transport
from protoipc.zmq import create_zmq_server_transport


class PixelsHandler(pixels_ipc.PixelServiceHandler):
    """Ping and a Generate that only streams progress, as cheaply as the runtime allows."""

    def __init__(self, updates_per_step: int) -> None:
        self._updates_per_step = updates_per_step

    async def ping(
        self, request: pixels_pb2.PingRequest, context: protoipc.CallContext
    ) -> pixels_pb2.PingResponse:
        return pixels_pb2.PingResponse()

    async def generate(
        self,
        request: pixels_pb2.GenerateRequest,
        context: protoipc.ProgressContext[pixels_pb2.GenerateProgress],
    ) -> pixels_pb2.GenerateResponse:
        total = request.steps * self._updates_per_step
        for step in range(1, total + 1):
            await context.progress(
                pixels_pb2.GenerateProgress(
                    progress=pixels_pb2.Progress(
                        job_id=request.id,
                        stage=pixels_pb2.GENERATION_STAGE_SAMPLING,
                        step=step,
                        total_steps=total,
                        percent=100.0 * step / total,
                    )
                )
            )
        return pixels_pb2.GenerateResponse(job_id=request.id, image_path="/dev/null")


async def start(
    binding: str, bind: str, updates: str | None, updates_per_step: int
) -> Closable:
    """Binds a protoipc server serving :class:`PixelsHandler`; the caller closes it."""
    if binding == "tagged":
        if updates is None:
            raise SystemExit("--updates is required with --binding tagged")
        transport: protoipc.ServerTransport = create_zmq_tagged_server_transport(
            pixels_ipc.PIXEL_SERVICE, bind=bind, updates_bind=updates
        )
    else:
        transport = create_zmq_server_transport(bind)
    server = protoipc.create_server(transport)
    server.register(PixelsHandler(updates_per_step))
    await server.listen()
    return server


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Serve pixels.v1.PixelService for the bench.")
    parser.add_argument("--binding", choices=["native", "tagged"], required=True)
    parser.add_argument("--bind", required=True, help="request endpoint, e.g. ipc:///path")
    parser.add_argument("--updates", help="update endpoint of the tagged binding")
    parser.add_argument(
        "--updates-per-step",
        type=int,
        default=1,
        help="progress updates per requested sampler step (the schema caps steps at 150)",
    )
    parser.add_argument(
        "--exit-with-parent", action="store_true", help="also stop when stdin reaches end of file"
    )
    args = parser.parse_args(argv)
    asyncio.run(
        run_until_stopped(
            lambda: start(args.binding, args.bind, args.updates, args.updates_per_step),
            exit_with_parent=args.exit_with_parent,
        )
    )


if __name__ == "__main__":
    main()
