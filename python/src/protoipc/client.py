"""The client core: deadlines, cancellation, buffered updates, interceptors.

Mirrors packages/runtime/src/client.ts, the asyncio way. Every call has a deadline (the
caller's ``timeout_ms``, else the method's, else the service's default), armed as a loop timer;
when it passes the call fails with ``Code.DEADLINE_EXCEEDED`` and the server's handler is
cancelled. Cancelling the task that awaits a call (or ``ProgressCall.cancel()``, or closing a
server stream) sends FRAME_KIND_CANCEL, so the server's handler is cancelled too; the awaiting
task then sees :class:`asyncio.CancelledError`, as asyncio code expects. Every other failure
raises :class:`~protoipc.errors.IpcError`.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import AsyncIterator, Callable, Generator, Mapping, Sequence
from types import TracebackType
from typing import Any, Generic, Self, TypeVar, cast

from google.protobuf.message import Message

from protoipc.descriptor import MethodDescriptor, ServiceDescriptor
from protoipc.errors import Code, IpcError
from protoipc.interceptor import CallNext, CallRequest, Interceptor
from protoipc.transport import CallHandle, ClientTransport, OutgoingCall
from protoipc.update_queue import DEFAULT_MAX_BUFFERED_UPDATES, UpdateQueue
from protoipc.validate import validation_error

__all__ = ["Client", "ProgressCall", "StreamCall"]

I = TypeVar("I", bound=Message)  # noqa: E741
O = TypeVar("O", bound=Message)  # noqa: E741
P = TypeVar("P", bound=Message)
R = TypeVar("R", bound=Message)
T = TypeVar("T", bound=Message)


def _format_ms(ms: float) -> str:
    return str(int(ms)) if float(ms).is_integer() else str(ms)


def _caller_cancelled(reason: str | None = None) -> IpcError:
    return IpcError(
        f"call cancelled: {reason}" if reason else "call cancelled by the caller", Code.CANCELED
    )


class _ClientCall:
    """One client call: its deadline timer, the transport's handle, and the future it settles.
    It is the transport's :class:`~protoipc.transport.CallSink`."""

    __slots__ = (
        "deadline_unix_ms",
        "done",
        "future",
        "handle",
        "loop",
        "method",
        "service",
        "timeout_ms",
        "timer",
        "update",
    )

    def __init__(
        self,
        service: ServiceDescriptor,
        method: MethodDescriptor[Any, Any, Any],
        timeout_ms: float,
        loop: asyncio.AbstractEventLoop,
    ) -> None:
        self.service = service
        self.method = method
        self.timeout_ms = timeout_ms
        self.loop = loop
        self.deadline_unix_ms = time.time_ns() // 1_000_000 + math.ceil(timeout_ms)
        self.future: asyncio.Future[Message | None] = loop.create_future()
        self.handle: CallHandle | None = None
        self.done = False
        self.timer: asyncio.TimerHandle | None = None
        self.update: Callable[[Message], None] | None = None

    def arm(self) -> None:
        """Starts the deadline timer."""
        self.timer = self.loop.call_later(self.timeout_ms / 1000, self.on_deadline)

    def begin(
        self, transport: ClientTransport, message: Message, metadata: Mapping[str, str]
    ) -> None:
        """Starts the call on the transport, unless it ended already."""
        if self.done:
            return
        self.handle = transport.start(
            OutgoingCall(self.service, self.method, message, self.deadline_unix_ms, metadata), self
        )

    # CallSink

    def on_update(self, message: Message) -> None:
        if not self.done and self.update is not None:
            self.update(message)

    def on_result(self, message: Message | None) -> None:
        if self.done:
            return
        self._settle()
        if not self.future.done():
            self.future.set_result(message)

    def on_error(self, error: IpcError) -> None:
        if self.done:
            return
        self._settle()
        if not self.future.done():
            self.future.set_exception(error)

    def cancel(self, reason: IpcError) -> None:
        """Gives up on the call: tells the transport (which tells the server) and fails it."""
        if self.done:
            return
        handle = self.handle
        if handle is not None:
            handle.cancel(reason)
        self.on_error(reason)

    def on_deadline(self) -> None:
        self.timer = None
        self.cancel(
            IpcError(
                f"deadline of {_format_ms(self.timeout_ms)} ms exceeded calling {self.method.path}",
                Code.DEADLINE_EXCEEDED,
            )
        )

    def _settle(self) -> None:
        self.done = True
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None


class _Updates(AsyncIterator[T]):
    """The buffered updates (or items) of one call, read with ``async for``. Cancelling the task
    that waits for the next one cancels the call."""

    __slots__ = ("_call", "_queue")

    def __init__(self, queue: UpdateQueue[T], call: _ClientCall) -> None:
        self._queue = queue
        self._call = call

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> T:
        try:
            return await self._queue.get()
        except asyncio.CancelledError:
            self._call.cancel(_caller_cancelled())
            raise


class ProgressCall(Generic[P, R]):
    """The handle of a progress call: typed progress updates while it runs, then one result.

    ``progress`` yields the updates in order (a gap fails the call with ``Code.DATA_LOSS``),
    buffered from the moment the call starts, so it may be read late; it ends when the call ends,
    raising the call's error if it failed. More than ``max_buffered_updates`` unread updates
    (default 65 536) fail the call with ``Code.RESOURCE_EXHAUSTED``; no update is dropped
    silently. Stopping to read ``progress`` does not cancel the call; cancelling the task that
    waits on ``progress`` or :meth:`result` does, and so does :meth:`cancel`.
    """

    progress: AsyncIterator[P]
    """The progress updates: ``async for update in call.progress``."""

    def __init__(
        self,
        queue: UpdateQueue[P],
        outcome: asyncio.Future[Message | None],
        call: _ClientCall,
    ) -> None:
        self.progress = _Updates(queue, call)
        self._outcome = outcome
        self._call = call

    async def result(self) -> R:
        """The final result; may be awaited many times and from many tasks.

        :raises IpcError: the call's failure (``DEADLINE_EXCEEDED``, ``CANCELED`` after
            :meth:`cancel`, ``UNAVAILABLE``, the handler's error, ...)
        :raises asyncio.CancelledError: when the awaiting task is cancelled; the call is then
            cancelled too
        """
        outcome = self._outcome
        try:
            return cast(R, await asyncio.shield(outcome))
        except asyncio.CancelledError:
            if not outcome.done():
                self._call.cancel(_caller_cancelled())
            raise

    def __await__(self) -> Generator[Any, None, R]:
        """``await call`` is ``await call.result()``."""
        return self.result().__await__()

    def cancel(self, reason: str | None = None) -> None:
        """Cancels the call: the server's handler is cancelled, :meth:`result` raises
        ``IpcError(Code.CANCELED)`` (``call cancelled: <reason>``). A no-op once it ended."""
        self._call.cancel(_caller_cancelled(reason))

    def done(self) -> bool:
        """Whether the call has ended (result, error or cancellation)."""
        return self._outcome.done()


class StreamCall(AsyncIterator[O]):
    """The items of a server-streaming call, read with ``async for``; the call starts with the
    first ``__anext__``. Items arrive in order (a gap fails the call with ``Code.DATA_LOSS``);
    more than ``max_buffered_updates`` unread items fail it with ``Code.RESOURCE_EXHAUSTED``.

    Stopping early cancels the call and the server's handler: :meth:`aclose` (or ``async with``,
    or ``contextlib.aclosing``) does it at once; an abandoned stream (``break`` out of
    ``async for``) does it when it is garbage-collected, which CPython does immediately. A
    pending ``__anext__`` then ends the iteration.
    """

    def __init__(self, starter: Callable[[], tuple[UpdateQueue[O], _ClientCall]]) -> None:
        self._starter: Callable[[], tuple[UpdateQueue[O], _ClientCall]] | None = starter
        self._queue: UpdateQueue[O] | None = None
        self._call: _ClientCall | None = None

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> O:
        if self._queue is None:
            starter = self._starter
            if starter is None:
                raise StopAsyncIteration
            self._starter = None
            self._queue, self._call = starter()
        try:
            return await self._queue.get()
        except asyncio.CancelledError:
            if self._call is not None:
                self._call.cancel(_caller_cancelled())
            raise

    def cancel(self, reason: str | None = None) -> None:
        """Cancels the call; iteration then raises ``IpcError(Code.CANCELED)``."""
        self._starter = None
        if self._call is not None:
            self._call.cancel(_caller_cancelled(reason))

    async def aclose(self) -> None:
        """Stops the stream: cancels the call if it still runs; iteration ends. Idempotent."""
        self._starter = None
        if self._queue is not None:
            self._queue.end()
        if self._call is not None:
            self._call.cancel(IpcError("stream abandoned by the caller", Code.CANCELED))

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def __del__(self) -> None:
        call = self._call
        if call is None or call.done:
            return
        err = IpcError("stream abandoned by the caller", Code.CANCELED)
        try:
            running: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is call.loop:
            call.cancel(err)
        elif not call.loop.is_closed():
            call.loop.call_soon_threadsafe(call.cancel, err)


def _check(method: MethodDescriptor[Any, Any, Any], message: Message) -> None:
    """Runs the method's generated validator (``buf.validate`` rules) on the request.

    :raises IpcError: ``INVALID_ARGUMENT`` with a ``buf.validate.Violations`` detail
    """
    if method.validate_input is not None:
        violations = method.validate_input(message)
        if violations:
            raise validation_error(method.input.DESCRIPTOR.full_name, violations)


def _normalise_metadata(metadata: Mapping[str, str] | None) -> dict[str, str]:
    if not metadata:
        return {}
    return {k.lower(): v for k, v in metadata.items()}


def _consume_outcome(queue: UpdateQueue[Any]) -> Callable[[asyncio.Future[Message | None]], None]:
    def done(f: asyncio.Future[Message | None]) -> None:
        if f.cancelled():
            queue.fail(_caller_cancelled())
            return
        exc = f.exception()  # also marks it retrieved: no "never retrieved" noise
        if exc is None:
            queue.end()
        else:
            queue.fail(IpcError.from_exception(exc))

    return done


class Client:
    """Base of generated ``<Service>Client`` classes: runs calls of ``service`` on
    ``transport``.

    The transport stays owned by the caller (close it with ``await transport.aclose()``). Calls
    must be made on the event loop the transport is used on.

    :param interceptors: run around every call, outermost first
    """

    max_buffered_updates: int = DEFAULT_MAX_BUFFERED_UPDATES
    """Most unread progress updates or stream items a call buffers; past it the call fails with
    ``Code.RESOURCE_EXHAUSTED``. Set it on an instance to change it for its calls."""

    def __init__(
        self,
        service: ServiceDescriptor,
        transport: ClientTransport,
        *,
        interceptors: Sequence[Interceptor] = (),
    ) -> None:
        self._service = service
        self._transport = transport
        self._interceptors = tuple(interceptors)

    @property
    def service(self) -> ServiceDescriptor:
        """The service this client calls."""
        return self._service

    @property
    def transport(self) -> ClientTransport:
        """The transport calls go over."""
        return self._transport

    def _timeout(self, method: MethodDescriptor[Any, Any, Any], timeout_ms: float | None) -> float:
        if timeout_ms is None:
            # A method option of 0 means unset in the schema, as on the server.
            timeout_ms = method.timeout_ms or self._service.default_timeout_ms
        if not (math.isfinite(timeout_ms) and timeout_ms >= 0):
            raise IpcError(
                f"timeout_ms {timeout_ms} is not a finite number >= 0", Code.INVALID_ARGUMENT
            )
        return timeout_ms

    @staticmethod
    def _request(method: MethodDescriptor[Any, Any, Any], request: object) -> Message:
        cls: type[Message] = method.input
        if isinstance(request, cls):
            return request
        if request is None:
            return cls()
        if isinstance(request, Mapping):
            try:
                return cls(**request)
            except (TypeError, ValueError) as e:
                raise IpcError(
                    f"invalid request for {method.path}: {e}", Code.INVALID_ARGUMENT
                ) from e
        raise IpcError(
            f"request for {method.path} is a {type(request).__name__}, "
            f"expected {cls.DESCRIPTOR.full_name}",
            Code.INVALID_ARGUMENT,
        )

    async def _run(
        self, call: _ClientCall, message: Message, metadata: dict[str, str]
    ) -> Message | None:
        """Runs one call through the interceptors; returns its result (``None`` at the end of
        a stream)."""

        async def terminal(req: CallRequest) -> Message | None:
            call.begin(self._transport, req.message, _normalise_metadata(req.metadata))
            return await call.future

        run: CallNext = terminal
        for interceptor in reversed(self._interceptors):
            run = interceptor(run)
        request = CallRequest(
            side="client",
            method=call.method,
            message=message,
            deadline=call.deadline_unix_ms / 1000,
            metadata=metadata,
        )
        call.arm()
        try:
            out = await run(request)
        except asyncio.CancelledError:
            call.cancel(_caller_cancelled())
            raise
        except Exception as e:  # noqa: BLE001 - normalised and re-raised
            err = IpcError.from_exception(e)
            call.cancel(err)
            if err is e:
                raise
            raise err from e
        call.on_result(out)  # settles the call if an interceptor answered without `next`
        return out

    async def _unary(
        self,
        method: MethodDescriptor[I, O, None],
        request: I,
        *,
        timeout_ms: float | None,
        metadata: Mapping[str, str] | None,
        validate: bool = True,
    ) -> O:
        """Runs a unary call; returns the response.

        :raises IpcError: ``INVALID_ARGUMENT`` for a bad ``timeout_ms`` or request, and every
            failure of the call
        :raises asyncio.CancelledError: when the awaiting task is cancelled (the call is
            cancelled on the server too)
        """
        message = self._request(method, request)
        if validate:
            _check(method, message)
        timeout = self._timeout(method, timeout_ms)
        md = _normalise_metadata(metadata)
        call = _ClientCall(self._service, method, timeout, asyncio.get_running_loop())
        if self._interceptors:
            return cast(O, await self._run(call, message, md))
        call.arm()
        call.begin(self._transport, message, md)
        try:
            return cast(O, await call.future)
        except asyncio.CancelledError:
            call.cancel(_caller_cancelled())
            raise

    def _buffered(
        self,
        method: MethodDescriptor[Any, Any, Any],
        request: object,
        timeout_ms: float | None,
        metadata: Mapping[str, str] | None,
        max_buffered_updates: int | None,
        what: str,
        validate: bool = True,
    ) -> tuple[UpdateQueue[Any], asyncio.Future[Message | None], _ClientCall]:
        """Starts a call whose updates go to a bounded queue."""
        message = self._request(method, request)
        if validate:
            _check(method, message)
        timeout = self._timeout(method, timeout_ms)
        md = _normalise_metadata(metadata)
        limit = self.max_buffered_updates if max_buffered_updates is None else max_buffered_updates
        loop = asyncio.get_running_loop()
        queue: UpdateQueue[Any] = UpdateQueue(limit)
        call = _ClientCall(self._service, method, timeout, loop)

        def on_update(m: Message) -> None:
            if not queue.push(m):
                call.cancel(
                    IpcError(
                        f"{limit} unread {what} exceed max_buffered_updates; read them faster",
                        Code.RESOURCE_EXHAUSTED,
                    )
                )

        call.update = on_update
        outcome: asyncio.Future[Message | None]
        if self._interceptors:
            outcome = loop.create_task(self._run(call, message, md))
        else:
            call.arm()
            call.begin(self._transport, message, md)
            outcome = call.future
        outcome.add_done_callback(_consume_outcome(queue))
        return queue, outcome, call

    def _server_streaming(
        self,
        method: MethodDescriptor[I, O, None],
        request: I,
        *,
        timeout_ms: float | None,
        metadata: Mapping[str, str] | None,
        max_buffered_updates: int | None = None,
        validate: bool = True,
    ) -> StreamCall[O]:
        """Returns the items of a server-streaming call; the call starts when iteration does.

        :raises IpcError: (from the first ``__anext__``) ``INVALID_ARGUMENT`` for a bad
            ``timeout_ms`` or request, and every failure of the call
        """

        def start() -> tuple[UpdateQueue[O], _ClientCall]:
            queue, _, call = self._buffered(
                method, request, timeout_ms, metadata, max_buffered_updates, "stream items", validate
            )
            return queue, call

        return StreamCall(start)

    def _progress(
        self,
        method: MethodDescriptor[I, O, P],
        request: I,
        *,
        timeout_ms: float | None,
        metadata: Mapping[str, str] | None,
        max_buffered_updates: int | None = None,
        validate: bool = True,
    ) -> ProgressCall[P, O]:
        """Starts a progress call at once (on the running loop) and returns its handle.

        :raises IpcError: ``INVALID_ARGUMENT`` for a bad ``timeout_ms`` or request
        :raises RuntimeError: when no event loop is running
        """
        queue, outcome, call = self._buffered(
            method,
            request,
            timeout_ms,
            metadata,
            max_buffered_updates,
            "progress updates",
            validate,
        )
        return ProgressCall(queue, outcome, call)
