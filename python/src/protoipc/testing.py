"""TestService: a service described by hand with well-known wrapper types, for the runtime's own
tests and for cross-language tests against the TypeScript twin
(packages/runtime/src/testing/test-service.ts): the same type name, methods, kinds and schema
hash, written in the shape generated ``_ipc.py`` code has.

- ``Echo`` (unary ``StringValue`` → ``StringValue``)
- ``Count`` (server streaming ``UInt32Value`` → items ``UInt32Value`` 1..n)
- ``Work`` (progress ``UInt32Value`` → updates ``UInt32Value``, result ``StringValue``)
- ``Missing`` (unary, never implemented)

Run as ``python -m protoipc.testing --bind <endpoint> [--heartbeat-ms <n>]``, it serves
:class:`ScriptedTestHandler` over ZeroMQ (like test/fixtures/test-server.ts), or over a Unix
stream socket with ``--bind unix:<path> [--binding native|jsonrpc2]``, prints ``ready`` on
stdout once listening, and exits 0 on SIGTERM or SIGINT.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from typing import ClassVar

from google.protobuf.message import Message
from google.protobuf.wrappers_pb2 import StringValue, UInt32Value

import protoipc
from protoipc.errors import code_to_string

__all__ = [
    "TEST_SERVICE",
    "TEST_SERVICE_COUNT",
    "TEST_SERVICE_ECHO",
    "TEST_SERVICE_MISSING",
    "TEST_SERVICE_WORK",
    "ScriptedTestHandler",
    "TestServiceClient",
    "TestServiceHandler",
    "deny_mallory",
    "main",
]

TEST_SERVICE_ECHO: protoipc.MethodDescriptor[StringValue, StringValue, None] = (
    protoipc.MethodDescriptor(
        name="Echo",
        local_name="echo",
        path="/protoipc.test.TestService/Echo",
        kind="unary",
        input=StringValue,
        output=StringValue,
        progress=None,
        idempotency="no_side_effects",
    )
)
TEST_SERVICE_COUNT: protoipc.MethodDescriptor[UInt32Value, UInt32Value, None] = (
    protoipc.MethodDescriptor(
        name="Count",
        local_name="count",
        path="/protoipc.test.TestService/Count",
        kind="server_streaming",
        input=UInt32Value,
        output=UInt32Value,
        progress=None,
        idempotency="idempotency_unknown",
    )
)
TEST_SERVICE_WORK: protoipc.MethodDescriptor[UInt32Value, StringValue, UInt32Value] = (
    protoipc.MethodDescriptor(
        name="Work",
        local_name="work",
        path="/protoipc.test.TestService/Work",
        kind="progress",
        input=UInt32Value,
        output=StringValue,
        progress=UInt32Value,
        idempotency="idempotency_unknown",
    )
)
TEST_SERVICE_MISSING: protoipc.MethodDescriptor[StringValue, StringValue, None] = (
    protoipc.MethodDescriptor(
        name="Missing",
        local_name="missing",
        path="/protoipc.test.TestService/Missing",
        kind="unary",
        input=StringValue,
        output=StringValue,
        progress=None,
        idempotency="idempotency_unknown",
    )
)
TEST_SERVICE = protoipc.ServiceDescriptor(
    type_name="protoipc.test.TestService",
    schema_hash="0" * 64,
    default_timeout_ms=5000,
    methods=(TEST_SERVICE_ECHO, TEST_SERVICE_COUNT, TEST_SERVICE_WORK, TEST_SERVICE_MISSING),
)
"""Echo, Count, Work, Missing; default deadline 5 s."""


class TestServiceHandler(protoipc.ServiceHandler):
    """The handler base of TestService, as generated code writes it: every method answers
    UNIMPLEMENTED until a subclass overrides it."""

    __test__: ClassVar[bool] = False  # not a pytest test class
    service: ClassVar[protoipc.ServiceDescriptor] = TEST_SERVICE

    async def echo(self, request: StringValue, context: protoipc.CallContext) -> StringValue:
        """Returns the value."""
        raise protoipc.IpcError(
            "method /protoipc.test.TestService/Echo is not implemented", protoipc.Code.UNIMPLEMENTED
        )

    async def count(
        self, request: UInt32Value, context: protoipc.CallContext
    ) -> AsyncIterator[UInt32Value]:
        """Streams 1..n."""
        raise protoipc.IpcError(
            "method /protoipc.test.TestService/Count is not implemented",
            protoipc.Code.UNIMPLEMENTED,
        )
        yield  # type: ignore[unreachable, unused-ignore]

    async def work(
        self, request: UInt32Value, context: protoipc.ProgressContext[UInt32Value]
    ) -> StringValue:
        """Sends progress 1..n, returns "done"."""
        raise protoipc.IpcError(
            "method /protoipc.test.TestService/Work is not implemented", protoipc.Code.UNIMPLEMENTED
        )

    async def missing(self, request: StringValue, context: protoipc.CallContext) -> StringValue:
        """Never implemented."""
        raise protoipc.IpcError(
            "method /protoipc.test.TestService/Missing is not implemented",
            protoipc.Code.UNIMPLEMENTED,
        )


class TestServiceClient(protoipc.Client):
    """The client of TestService: ``TestServiceClient(transport)``."""

    __test__: ClassVar[bool] = False  # not a pytest test class

    def __init__(
        self,
        transport: protoipc.ClientTransport,
        *,
        interceptors: Sequence[protoipc.Interceptor] = (),
    ) -> None:
        super().__init__(TEST_SERVICE, transport, interceptors=interceptors)

    async def echo(
        self,
        request: StringValue | None = None,
        *,
        timeout_ms: float | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> StringValue:
        return await self._unary(
            TEST_SERVICE_ECHO,
            request if request is not None else StringValue(),
            timeout_ms=timeout_ms,
            metadata=metadata,
        )

    def count(
        self,
        request: UInt32Value | None = None,
        *,
        timeout_ms: float | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> AsyncIterator[UInt32Value]:
        return self._server_streaming(
            TEST_SERVICE_COUNT,
            request if request is not None else UInt32Value(),
            timeout_ms=timeout_ms,
            metadata=metadata,
        )

    def work(
        self,
        request: UInt32Value | None = None,
        *,
        timeout_ms: float | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> protoipc.ProgressCall[UInt32Value, StringValue]:
        return self._progress(
            TEST_SERVICE_WORK,
            request if request is not None else UInt32Value(),
            timeout_ms=timeout_ms,
            metadata=metadata,
        )

    async def missing(
        self,
        request: StringValue | None = None,
        *,
        timeout_ms: float | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> StringValue:
        return await self._unary(
            TEST_SERVICE_MISSING,
            request if request is not None else StringValue(),
            timeout_ms=timeout_ms,
            metadata=metadata,
        )


class ScriptedTestHandler(TestServiceHandler):
    """The TestService behaviour the transport suites and cross-language tests expect (the same
    as test/fixtures/test-server.ts and the handler of test/transport-suite.ts):

    - ``echo``: returns the value; ``"hang"`` waits until cancelled; ``"fail"`` raises
      INVALID_ARGUMENT "the prompt is empty" with a ``StringValue("prompt")`` detail; ``"crash"``
      raises a plain ``RuntimeError("disk on fire")``; ``"metadata"`` returns the ``x-user``
      header (or "none"); ``"last-cancel"`` returns the code name of the last cancelled
      handler's reason (``"canceled"``, ``"deadline_exceeded"``, ...) or ``"none"``;
    - ``count(n)``: streams 1..n; ``count(0)`` waits until cancelled;
    - ``work(n)``: sends progress 1..n, returns "done"; ``work(0)`` sends 1, then waits until
      cancelled.

    Tests await :attr:`started` (a handler began waiting for cancellation) and
    :attr:`cancellations` (the reason of each cancelled handler, in order).
    """

    def __init__(self) -> None:
        self.last_cancel = "none"
        self.started = asyncio.Event()
        self.cancellations: asyncio.Queue[protoipc.IpcError | None] = asyncio.Queue()

    async def _until_cancelled(self, context: protoipc.CallContext) -> None:
        self.started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            reason = context.cancel_reason
            self.last_cancel = code_to_string(reason.code) if reason is not None else "unknown"
            self.cancellations.put_nowait(reason)
            raise

    async def echo(self, request: StringValue, context: protoipc.CallContext) -> StringValue:
        value = request.value
        if value == "hang":
            await self._until_cancelled(context)
            return StringValue(value="late")
        if value == "fail":
            raise protoipc.IpcError(
                "the prompt is empty",
                protoipc.Code.INVALID_ARGUMENT,
                details=[StringValue(value="prompt")],
            )
        if value == "crash":
            raise RuntimeError("disk on fire")
        if value == "metadata":
            return StringValue(value=context.metadata.get("x-user", "none"))
        if value == "last-cancel":
            return StringValue(value=self.last_cancel)
        return StringValue(value=value)

    async def count(
        self, request: UInt32Value, context: protoipc.CallContext
    ) -> AsyncIterator[UInt32Value]:
        for i in range(1, request.value + 1):
            if context.cancelled:
                return
            yield UInt32Value(value=i)
        if request.value == 0:
            await self._until_cancelled(context)

    async def work(
        self, request: UInt32Value, context: protoipc.ProgressContext[UInt32Value]
    ) -> StringValue:
        if request.value == 0:
            await context.progress(UInt32Value(value=1))
            await self._until_cancelled(context)
            return StringValue(value="cancelled")
        for i in range(1, request.value + 1):
            await context.progress(UInt32Value(value=i))
        return StringValue(value="done")


def deny_mallory(next: protoipc.CallNext) -> protoipc.CallNext:
    """A server interceptor: a call with metadata ``x-user: mallory`` fails PERMISSION_DENIED
    ("mallory may not call")."""

    async def run(request: protoipc.CallRequest) -> Message | None:
        if request.metadata.get("x-user") == "mallory":
            raise protoipc.IpcError("mallory may not call", protoipc.Code.PERMISSION_DENIED)
        return await next(request)

    return run


def _transport(
    bind: str, heartbeat_ms: int, max_frame_bytes: int, binding: str, on_close: Callable[[], None]
) -> protoipc.ServerTransport:
    if bind == "stdio:":
        from protoipc.unix.content_length import create_content_length_framer
        from protoipc.unix.stream import create_stdio_server_transport

        return create_stdio_server_transport(
            binding="jsonrpc2" if binding == "jsonrpc2" else "native",
            framer=create_content_length_framer(max_frame_bytes=max_frame_bytes)
            if binding == "jsonrpc2"
            else None,
            heartbeat_interval_ms=heartbeat_ms,
            on_close=on_close,
        )
    if bind.startswith("unix:"):
        from protoipc.unix.content_length import create_content_length_framer
        from protoipc.unix.length_prefix import create_length_prefix_framer
        from protoipc.unix.stream import create_stream_server_transport

        jsonrpc = binding == "jsonrpc2"
        return create_stream_server_transport(
            path=bind[len("unix:") :],
            binding="jsonrpc2" if jsonrpc else "native",
            framer=create_content_length_framer(max_frame_bytes=max_frame_bytes)
            if jsonrpc
            else create_length_prefix_framer(max_frame_bytes=max_frame_bytes),
            heartbeat_interval_ms=heartbeat_ms,
        )
    from protoipc.zmq import create_zmq_server_transport

    return create_zmq_server_transport(
        bind, heartbeat_interval_ms=heartbeat_ms, max_frame_bytes=max_frame_bytes
    )


async def _serve(bind: str, heartbeat_ms: int, max_frame_bytes: int, binding: str) -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    server = protoipc.create_server(
        _transport(bind, heartbeat_ms, max_frame_bytes, binding, stop.set),
        interceptors=[deny_mallory],
    )
    server.register(ScriptedTestHandler())
    try:
        await server.listen()
        # Over stdio, stdout carries frames: announce readiness on stderr.
        out = sys.stderr if bind == "stdio:" else sys.stdout
        out.write("ready\n")
        out.flush()
        await stop.wait()
    finally:
        await server.close()


def main(argv: Sequence[str] | None = None) -> None:
    """``python -m protoipc.testing --bind <endpoint> [--heartbeat-ms <n>]
    [--max-frame-bytes <n>]``: serves :class:`ScriptedTestHandler` until SIGTERM or SIGINT."""
    parser = argparse.ArgumentParser(
        prog="python -m protoipc.testing", description="Serve TestService over ZeroMQ."
    )
    parser.add_argument(
        "--bind",
        required=True,
        help="ipc:///path or tcp://host:port (ZeroMQ), unix:/path (a Unix stream socket), or "
        "stdio: (this process's stdin/stdout; `ready` then goes to stderr)",
    )
    parser.add_argument(
        "--binding",
        choices=["native", "jsonrpc2"],
        default="native",
        help="binding on a unix: socket (ZeroMQ is always native)",
    )
    parser.add_argument("--heartbeat-ms", type=int, default=1000, help="heartbeat interval, ms")
    parser.add_argument(
        "--max-frame-bytes", type=int, default=4 * 1024 * 1024, help="largest frame, bytes"
    )
    args = parser.parse_args(argv)
    asyncio.run(_serve(args.bind, args.heartbeat_ms, args.max_frame_bytes, args.binding))


if __name__ == "__main__":
    main()
