"""The call semantics every transport must keep, looped over the in-memory transport and real
ZeroMQ ipc:// and tcp:// (the Python twin of test/transport-suite.ts)."""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import AsyncIterator, Awaitable

import pytest
from conftest import Harness, HarnessMaker
from google.protobuf.message import Message
from google.protobuf.wrappers_pb2 import StringValue, UInt32Value

import protoipc
from protoipc import Code, IpcError
from protoipc.testing import TEST_SERVICE_WORK, ScriptedTestHandler, TestServiceClient


async def rejection(awaitable: Awaitable[object]) -> IpcError:
    """Awaits ``awaitable``, expecting an IpcError, and returns it."""
    try:
        await awaitable
    except IpcError as err:
        return err
    raise AssertionError("expected the call to fail with an IpcError")


async def next_cancellation(handler: ScriptedTestHandler) -> IpcError:
    reason = await asyncio.wait_for(handler.cancellations.get(), 5)
    assert reason is not None
    return reason


async def test_unary_answers_with_the_typed_response(harness: Harness) -> None:
    res = await harness.client().echo(StringValue(value="16-bit knight"))
    assert isinstance(res, StringValue)
    assert res.value == "16-bit knight"


async def test_many_concurrent_calls_on_one_connection_get_their_own_replies(
    harness: Harness,
) -> None:
    c = harness.client()
    values = [f"call-{i}" for i in range(500)]
    res = await asyncio.gather(*(c.echo(StringValue(value=v)) for v in values))
    assert [r.value for r in res] == values


async def test_server_stream_items_arrive_in_order_then_end(harness: Harness) -> None:
    got = [item.value async for item in harness.client().count(UInt32Value(value=100))]
    assert got == list(range(1, 101))


async def test_progress_updates_arrive_in_order_then_the_result(harness: Harness) -> None:
    call = harness.client().work(UInt32Value(value=1000))
    got = [p.value async for p in call.progress]
    assert got == list(range(1, 1001))
    assert (await call.result()).value == "done"
    assert (await call).value == "done"  # awaiting the handle is the same


async def test_progress_is_buffered_for_a_caller_that_reads_it_after_the_result(
    harness: Harness,
) -> None:
    call = harness.client().work(UInt32Value(value=50))
    assert (await call.result()).value == "done"
    assert len([p async for p in call.progress]) == 50


async def test_unread_updates_past_max_buffered_updates_fail_with_resource_exhausted(
    harness: Harness,
) -> None:
    c = harness.client()
    call = c._progress(
        TEST_SERVICE_WORK,
        UInt32Value(value=200),
        timeout_ms=None,
        metadata=None,
        max_buffered_updates=10,
    )
    err = await rejection(call.result())
    assert err.code == Code.RESOURCE_EXHAUSTED
    assert "unread progress updates exceed max_buffered_updates" in err.raw_message


async def test_deadline_fails_the_call_and_cancels_the_handler(harness: Harness) -> None:
    started = time.monotonic()
    err = await rejection(harness.client().echo(StringValue(value="hang"), timeout_ms=100))
    assert err.code == Code.DEADLINE_EXCEEDED
    # The client's timer or the server's (armed for the same instant) may answer first.
    assert err.raw_message in (
        "deadline of 100 ms exceeded calling /protoipc.test.TestService/Echo",
        "deadline exceeded while /protoipc.test.TestService/Echo ran",
    )
    assert time.monotonic() - started < 1
    reason = await next_cancellation(harness.handler)
    assert reason.code in (Code.DEADLINE_EXCEEDED, Code.CANCELED)


async def test_cancelling_the_awaiting_task_cancels_the_handler(harness: Harness) -> None:
    c = harness.client()
    task = asyncio.ensure_future(c.echo(StringValue(value="hang")))
    await asyncio.wait_for(harness.handler.started.wait(), 5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert (await next_cancellation(harness.handler)).code == Code.CANCELED
    assert harness.handler.last_cancel == "canceled"


async def test_progress_call_cancel_reaches_the_handler(harness: Harness) -> None:
    call = harness.client().work(UInt32Value(value=0))
    assert (await anext(call.progress)).value == 1  # the handler runs and waits
    call.cancel("user pressed q")
    err = await rejection(call.result())
    assert err.code == Code.CANCELED
    assert err.raw_message == "call cancelled: user pressed q"
    assert (await next_cancellation(harness.handler)).code == Code.CANCELED
    with pytest.raises(IpcError, match="cancelled"):
        await anext(call.progress)


async def test_cancelling_the_task_awaiting_a_progress_result_cancels_the_handler(
    harness: Harness,
) -> None:
    call = harness.client().work(UInt32Value(value=0))
    assert (await anext(call.progress)).value == 1
    task = asyncio.ensure_future(call.result())
    await asyncio.sleep(0)  # let the task start awaiting
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert (await next_cancellation(harness.handler)).code == Code.CANCELED
    assert (await rejection(call.result())).code == Code.CANCELED


async def test_closing_a_server_stream_cancels_the_handler(harness: Harness) -> None:
    stream = harness.client().count(UInt32Value(value=0))
    first = asyncio.ensure_future(anext(stream))
    await asyncio.wait_for(harness.handler.started.wait(), 5)
    await stream.aclose()  # type: ignore[attr-defined]
    assert (await next_cancellation(harness.handler)).code == Code.CANCELED
    with pytest.raises(StopAsyncIteration):
        await first


async def test_cancelling_the_task_reading_a_server_stream_cancels_the_handler(
    harness: Harness,
) -> None:
    c = harness.client()

    async def read_all() -> None:
        async for _ in c.count(UInt32Value(value=0)):
            pass

    reader = asyncio.ensure_future(read_all())
    await asyncio.wait_for(harness.handler.started.wait(), 5)
    reader.cancel()
    with pytest.raises(asyncio.CancelledError):
        await reader
    assert (await next_cancellation(harness.handler)).code == Code.CANCELED


class TrickleHandler(ScriptedTestHandler):
    """Count sends one item, then waits until cancelled."""

    async def count(
        self, request: UInt32Value, context: protoipc.CallContext
    ) -> AsyncIterator[UInt32Value]:
        yield UInt32Value(value=1)
        await self._until_cancelled(context)


async def test_breaking_out_of_a_server_stream_cancels_the_handler(
    make_harness: HarnessMaker,
) -> None:
    h = await make_harness(handler=TrickleHandler())
    c = h.client()
    got = []
    async for item in c.count(UInt32Value(value=5)):
        got.append(item.value)
        break
    # CPython drops the abandoned stream at once (gc.collect() is for other interpreters).
    gc.collect()
    assert got == [1]
    assert (await next_cancellation(h.handler)).code == Code.CANCELED
    assert (await c.echo(StringValue(value="after"))).value == "after"


async def test_errors_carry_code_message_and_typed_details(harness: Harness) -> None:
    err = await rejection(harness.client().echo(StringValue(value="fail")))
    assert err.code == Code.INVALID_ARGUMENT
    assert err.raw_message == "the prompt is empty"
    assert str(err) == "[invalid_argument] the prompt is empty"
    assert [d.value for d in err.find_details(StringValue)] == ["prompt"]


async def test_a_plain_exception_answers_unknown_with_its_message(harness: Harness) -> None:
    err = await rejection(harness.client().echo(StringValue(value="crash")))
    assert err.code == Code.UNKNOWN
    assert err.raw_message == "disk on fire"


async def test_unimplemented_method_answers_unimplemented_and_keeps_serving(
    harness: Harness,
) -> None:
    c = harness.client()
    err = await rejection(c.missing(StringValue(value="x")))
    assert err.code == Code.UNIMPLEMENTED
    assert err.raw_message == "method /protoipc.test.TestService/Missing is not implemented"
    assert (await c.echo(StringValue(value="still here"))).value == "still here"


async def test_interceptors_run_on_both_sides_with_metadata(harness: Harness) -> None:
    if harness.kind == "unix-jsonrpc2":
        pytest.skip("JSON-RPC 2.0 has no headers: metadata does not cross the jsonrpc2 wire")
    seen: list[str] = []

    def add_user(next: protoipc.CallNext) -> protoipc.CallNext:
        async def run(req: protoipc.CallRequest) -> Message | None:
            req.metadata.setdefault("x-user", "ada")
            seen.append(f"before {req.method.name}")
            res = await next(req)
            seen.append("after")
            return res

        return run

    c = harness.client([add_user])
    assert (await c.echo(StringValue(value="metadata"))).value == "ada"
    assert seen == ["before Echo", "after"]
    denied = await rejection(c.echo(StringValue(value="x"), metadata={"X-User": "mallory"}))
    assert denied.code == Code.PERMISSION_DENIED
    assert denied.raw_message == "mallory may not call"


async def test_an_oversized_request_fails_with_resource_exhausted_and_the_client_goes_on(
    harness: Harness,
) -> None:
    c = harness.client()
    err = await rejection(c.echo(StringValue(value="x" * (5 * 1024 * 1024))))
    assert err.code == Code.RESOURCE_EXHAUSTED
    assert "exceeds maxFrameBytes 4194304" in err.raw_message
    assert (await c.echo(StringValue(value="ok"))).value == "ok"


async def test_calls_on_a_closed_transport_fail_with_unavailable(harness: Harness) -> None:
    t = harness.transport()
    c = TestServiceClient(t)
    assert (await c.echo(StringValue(value="a"))).value == "a"
    await t.aclose()
    err = await rejection(c.echo(StringValue(value="b")))
    assert err.code == Code.UNAVAILABLE


async def test_a_negative_timeout_is_invalid(harness: Harness) -> None:
    err = await rejection(harness.client().echo(StringValue(value="x"), timeout_ms=-1))
    assert err.code == Code.INVALID_ARGUMENT


class SleepyHandler(ScriptedTestHandler):
    """Echo is a plain, blocking ``def``: it runs in the executor."""

    def echo(  # type: ignore[override]
        self, request: StringValue, context: protoipc.CallContext
    ) -> StringValue:
        time.sleep(1.5)
        return StringValue(value=f"slept {request.value}")


async def test_a_blocking_sync_handler_does_not_starve_heartbeats(
    make_harness: HarnessMaker,
) -> None:
    h = await make_harness(heartbeat_interval_ms=200, handler=SleepyHandler())
    c = h.client()
    # 1.5 s is 7.5 heartbeat intervals: the call would fail UNAVAILABLE after 2.5 of silence if
    # the handler blocked the loop.
    res, other = await asyncio.gather(
        c.echo(StringValue(value="well"), timeout_ms=10_000),
        c.work(UInt32Value(value=3)).result(),
    )
    assert res.value == "slept well"
    assert other.value == "done"
