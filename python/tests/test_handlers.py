"""How the server runs handlers of every style (async, plain def in the executor, generators),
their contexts, and server-side interceptors; over the in-memory transport."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Iterator

import pytest
from google.protobuf.message import Message
from google.protobuf.wrappers_pb2 import StringValue, UInt32Value

import protoipc
from protoipc import Code, IpcError
from protoipc.memory import create_in_memory_transport
from protoipc.testing import (
    TEST_SERVICE,
    TEST_SERVICE_COUNT,
    TestServiceClient,
    TestServiceHandler,
)


class Served:
    """A server with one handler on the in-memory transport, and a client."""

    def __init__(
        self,
        handler: object,
        *,
        interceptors: tuple[protoipc.Interceptor, ...] = (),
        service: protoipc.ServiceDescriptor | None = None,
        max_frame_bytes: int = 4 * 1024 * 1024,
    ) -> None:
        mem = create_in_memory_transport(max_frame_bytes=max_frame_bytes)
        self.server = protoipc.create_server(mem.server, interceptors=interceptors)
        self.server.register(handler, service=service)
        self.transport = mem.connect()
        self.client = TestServiceClient(self.transport)

    async def __aenter__(self) -> TestServiceClient:
        await self.server.listen()
        return self.client

    async def __aexit__(self, *exc: object) -> None:
        await self.transport.aclose()
        await self.server.close()


class SyncHandler(TestServiceHandler):
    """Plain ``def`` handlers: they run in executor threads."""

    def __init__(self) -> None:
        self.threads: set[str] = set()

    def echo(  # type: ignore[override]
        self, request: StringValue, context: protoipc.CallContext
    ) -> StringValue:
        self.threads.add(threading.current_thread().name)
        assert context.time_remaining() > 0
        return StringValue(value=request.value.upper())

    def count(  # type: ignore[override]
        self, request: UInt32Value, context: protoipc.CallContext
    ) -> Iterator[UInt32Value]:
        for i in range(1, request.value + 1):
            self.threads.add(threading.current_thread().name)
            yield UInt32Value(value=i)

    def work(  # type: ignore[override]
        self, request: UInt32Value, context: protoipc.ProgressContext[UInt32Value]
    ) -> StringValue:
        for i in range(1, request.value + 1):
            context.progress_threadsafe(UInt32Value(value=i))
        return StringValue(value="done")


async def test_plain_def_handlers_run_in_executor_threads() -> None:
    handler = SyncHandler()
    async with Served(handler) as client:
        assert (await client.echo(StringValue(value="abc"))).value == "ABC"
        assert [i.value async for i in client.count(UInt32Value(value=5))] == [1, 2, 3, 4, 5]
        call = client.work(UInt32Value(value=20))
        assert [p.value async for p in call.progress] == list(range(1, 21))
        assert (await call).value == "done"
    assert handler.threads
    assert threading.main_thread().name not in handler.threads


class ListHandler(TestServiceHandler):
    async def count(  # type: ignore[override]
        self, request: UInt32Value, context: protoipc.CallContext
    ) -> list[UInt32Value]:
        return [UInt32Value(value=i) for i in range(request.value)]


async def test_a_coroutine_returning_an_iterable_streams_its_items() -> None:
    async with Served(ListHandler()) as client:
        assert [i.value async for i in client.count(UInt32Value(value=3))] == [0, 1, 2]


class RunSyncHandler(TestServiceHandler):
    async def echo(self, request: StringValue, context: protoipc.CallContext) -> StringValue:
        name = await context.run_sync(lambda: threading.current_thread().name)
        return StringValue(value=name)


async def test_run_sync_runs_blocking_work_off_the_loop() -> None:
    async with Served(RunSyncHandler()) as client:
        name = (await client.echo(StringValue())).value
    assert name != threading.current_thread().name


class ContextHandler(TestServiceHandler):
    async def echo(self, request: StringValue, context: protoipc.CallContext) -> StringValue:
        remaining = context.time_remaining()
        assert 0 < remaining <= 2.0
        assert abs(context.deadline - time.time() - remaining) < 0.05
        assert context.method.name == "Echo"
        assert context.peer.startswith("mem-")
        assert not context.cancelled and context.cancel_reason is None
        return StringValue(value=",".join(f"{k}={v}" for k, v in sorted(context.metadata.items())))


async def test_the_context_carries_deadline_method_peer_and_lowercased_metadata() -> None:
    async with Served(ContextHandler()) as client:
        res = await client.echo(timeout_ms=2000, metadata={"X-Trace": "t1", "a": "b"})
    assert res.value == "a=b,x-trace=t1"


class BadOutputHandler(TestServiceHandler):
    async def echo(self, request: StringValue, context: protoipc.CallContext) -> StringValue:
        return UInt32Value(value=1)  # type: ignore[return-value]

    async def work(
        self, request: UInt32Value, context: protoipc.ProgressContext[UInt32Value]
    ) -> StringValue:
        await context.progress({"value": 1})  # type: ignore[arg-type]  # a mapping is accepted
        return {"value": "from a dict"}  # type: ignore[return-value]


async def test_a_wrong_response_type_answers_internal_and_mappings_are_accepted() -> None:
    async with Served(BadOutputHandler()) as client:
        with pytest.raises(IpcError) as info:
            await client.echo()
        assert info.value.code == Code.INTERNAL
        assert "expected google.protobuf.StringValue" in info.value.raw_message
        call = client.work()
        assert [p.value async for p in call.progress] == [1]
        assert (await call).value == "from a dict"


class NotAHandler:
    """Any object works with `service=`; missing methods answer UNIMPLEMENTED."""

    async def echo(self, request: StringValue, context: protoipc.CallContext) -> StringValue:
        return StringValue(value="duck")


async def test_register_with_an_explicit_service() -> None:
    async with Served(NotAHandler(), service=TEST_SERVICE) as client:
        assert (await client.echo()).value == "duck"
        with pytest.raises(IpcError) as info:
            await client.work()
        assert info.value.code == Code.UNIMPLEMENTED
        assert info.value.raw_message == "method /protoipc.test.TestService/Work is not implemented"


async def test_register_refuses_a_second_registration_and_unknown_handlers() -> None:
    server = protoipc.create_server(create_in_memory_transport().server)
    server.register(TestServiceHandler())
    with pytest.raises(ValueError, match="registered twice"):
        server.register(TestServiceHandler())
    with pytest.raises(TypeError, match="no `service` descriptor"):
        server.register(object())
    await server.close()


async def test_the_unimplemented_stream_of_a_generated_base_answers_unimplemented() -> None:
    async with Served(TestServiceHandler()) as client:
        with pytest.raises(IpcError) as info:
            async for _ in client.count(UInt32Value(value=2)):
                pass
        assert info.value.code == Code.UNIMPLEMENTED
        assert info.value.raw_message == (
            "method /protoipc.test.TestService/Count is not implemented"
        )


async def test_server_interceptors_see_the_request_and_the_result() -> None:
    seen: list[str] = []

    def record(next: protoipc.CallNext) -> protoipc.CallNext:
        async def run(req: protoipc.CallRequest) -> Message | None:
            assert req.side == "server"
            seen.append(f"{req.method.name} {req.peer.startswith('mem-')}")
            out = await next(req)
            seen.append(type(out).__name__)
            return out

        return run

    class Echo(TestServiceHandler):
        async def echo(self, request: StringValue, context: protoipc.CallContext) -> StringValue:
            return request

        async def count(
            self, request: UInt32Value, context: protoipc.CallContext
        ) -> AsyncIterator[UInt32Value]:
            yield UInt32Value(value=1)

    async with Served(Echo(), interceptors=(record,)) as client:
        assert (await client.echo(StringValue(value="x"))).value == "x"
        assert [i.value async for i in client.count()] == [1]
    assert seen == ["Echo True", "StringValue", "Count True", "NoneType"]


async def test_client_interceptors_can_answer_without_calling_next() -> None:
    def cached(next: protoipc.CallNext) -> protoipc.CallNext:
        async def run(req: protoipc.CallRequest) -> Message | None:
            return StringValue(value="from cache")

        return run

    mem = create_in_memory_transport()
    async with mem.connect() as transport:
        client = TestServiceClient(transport, interceptors=[cached])
        assert (await client.echo(StringValue(value="x"))).value == "from cache"


async def test_server_close_cancels_running_handlers_with_unavailable() -> None:
    started = asyncio.Event()
    cancelled = asyncio.Event()
    reasons: list[IpcError | None] = []

    class Hang(TestServiceHandler):
        async def echo(self, request: StringValue, context: protoipc.CallContext) -> StringValue:
            started.set()
            try:
                await asyncio.Event().wait()
            finally:
                reasons.append(context.cancel_reason)
                cancelled.set()
            raise AssertionError("unreachable")

    served = Served(Hang())
    client = await served.__aenter__()
    call = asyncio.ensure_future(client.echo())
    await asyncio.wait_for(started.wait(), 5)
    await served.server.close()
    await asyncio.wait_for(cancelled.wait(), 5)
    assert reasons[0] is not None and reasons[0].code == Code.UNAVAILABLE
    err = await asyncio.wait_for(asyncio.gather(call, return_exceptions=True), 5)
    assert isinstance(err[0], IpcError) and err[0].code == Code.UNAVAILABLE
    await served.__aexit__()


async def test_a_stream_started_lazily_reports_bad_options_on_iteration() -> None:
    async with Served(TestServiceHandler()) as client:
        stream = client._server_streaming(
            TEST_SERVICE_COUNT, UInt32Value(), timeout_ms=float("nan"), metadata=None
        )
        with pytest.raises(IpcError) as info:
            await anext(stream)
        assert info.value.code == Code.INVALID_ARGUMENT


class BigAnswer(TestServiceHandler):
    async def echo(self, request: StringValue, context: protoipc.CallContext) -> StringValue:
        return StringValue(value="x" * 2000)


async def test_a_response_over_max_frame_bytes_answers_resource_exhausted() -> None:
    async with Served(BigAnswer(), max_frame_bytes=1024) as client:
        with pytest.raises(IpcError) as info:
            await client.echo(StringValue(value="small"))
        assert info.value.code == Code.RESOURCE_EXHAUSTED
        assert info.value.raw_message.startswith(
            "response of /protoipc.test.TestService/Echo: frame of "
        )
        assert info.value.raw_message.endswith("bytes exceeds maxFrameBytes 1024")
