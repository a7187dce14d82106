"""The server core: handler registration, handler contexts, and how a handler is run.

Mirrors packages/runtime/src/server.ts, the asyncio way:

- an ``async def`` handler runs on the loop as a task; the task is cancelled
  (:class:`asyncio.CancelledError`) when the client cancels, the deadline passes, the client stops
  sending heartbeats, or the server closes; :attr:`CallContext.cancel_reason` says which;
- a plain ``def`` handler runs in the executor (the loop's default one unless the server was
  given another), so blocking or CPU-bound work never starves heartbeats; it cannot be
  interrupted, but sees :attr:`CallContext.cancelled` turn True, and its answer is dropped;
- a server-streaming handler is an ``async def`` generator yielding output messages (an
  ``async def`` returning an async iterable, or a plain ``def`` returning an iterable or being a
  generator, work too);
- a handler that raises an :class:`~protoipc.errors.IpcError` answers with it; anything else
  answers ``Code.UNKNOWN`` with ``str(exc)`` as the message (as gRPC does).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import functools
import inspect
import logging
import time
from collections.abc import AsyncIterable, Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any, ClassVar, Generic, Literal, Self, TypeVar

from google.protobuf.message import Message

from protoipc.descriptor import MethodDescriptor, ServiceDescriptor
from protoipc.errors import Code, IpcError
from protoipc.interceptor import CallNext, CallRequest, Interceptor
from protoipc.transport import IncomingCall, ServerTransport
from protoipc.validate import validation_error

__all__ = [
    "CallContext",
    "ProgressContext",
    "Server",
    "ServiceHandler",
    "create_server",
]

T = TypeVar("T")
P = TypeVar("P", bound=Message)

_log = logging.getLogger("protoipc")

#: Longest ``Server.close`` waits for cancelled handler tasks to finish, in seconds.
_CLOSE_GRACE_S = 5.0


class ServiceHandler:
    """Base of generated ``<Service>Handler`` classes: names the service it serves.

    A generated base implements every method by raising ``IpcError("method <path> is not
    implemented", Code.UNIMPLEMENTED)``; a subclass overrides the methods it serves and is
    registered with ``server.register(Backend())``.
    """

    service: ClassVar[ServiceDescriptor]
    """The service this handler serves."""


class CallContext:
    """What every handler gets besides the request: the call's method, deadline, metadata and
    peer, and whether it was cancelled. One per call; safe to read from an executor thread."""

    __slots__ = ("_call", "_executor", "_loop")

    def __init__(
        self,
        call: IncomingCall,
        loop: asyncio.AbstractEventLoop,
        executor: concurrent.futures.Executor | None = None,
    ) -> None:
        self._call = call
        self._loop = loop
        self._executor = executor

    @property
    def method(self) -> MethodDescriptor[Any, Any, Any]:
        """The method being served."""
        return self._call.method

    @property
    def deadline(self) -> float:
        """Absolute deadline, seconds since the epoch (the ``time.time()`` clock)."""
        return self._call.deadline_unix_ms / 1000

    @property
    def metadata(self) -> Mapping[str, str]:
        """Request metadata (headers), keys lowercase."""
        return self._call.metadata

    @property
    def peer(self) -> str:
        """An opaque description of the caller, e.g. a ZeroMQ routing id in hex."""
        return self._call.peer

    @property
    def cancelled(self) -> bool:
        """True once the call was cancelled (by the client, the deadline, a dead client or the
        server closing); a plain ``def`` handler polls it to stop early."""
        return self._call.cancelled

    @property
    def cancel_reason(self) -> IpcError | None:
        """Why the call was cancelled (``Code.CANCELED``, ``DEADLINE_EXCEEDED`` or
        ``UNAVAILABLE``); ``None`` while it was not."""
        return self._call.cancel_reason

    def time_remaining(self) -> float:
        """Seconds left until the deadline, never negative."""
        return max(0.0, self._call.deadline_unix_ms / 1000 - time.time())

    async def run_sync(self, fn: Callable[..., T], *args: Any) -> T:
        """Runs blocking ``fn(*args)`` in the server's executor (with the caller's context
        variables) and returns its result, so the loop keeps serving heartbeats meanwhile.
        Cancelling the awaiting handler does not interrupt ``fn``."""
        ctx = contextvars.copy_context()
        return await self._loop.run_in_executor(
            self._executor, functools.partial(ctx.run, fn, *args)
        )


class ProgressContext(CallContext, Generic[P]):
    """The context of a progress method's handler: a :class:`CallContext` that sends progress
    updates of type ``P``."""

    __slots__ = ()

    async def progress(self, update: P) -> None:
        """Sends one progress update; returns once it is queued on the transport (waits while
        the transport's writer queue is full: backpressure).

        :raises IpcError: ``Code.CANCELED`` (or the cancel reason) once the call has ended;
            ``Code.INTERNAL`` when the method is not a progress method or ``update`` is not of
            its progress type
        """
        method = self._call.method
        if method.progress is None:
            raise IpcError(f"{method.path} is not a progress method", Code.INTERNAL)
        reason = self._call.cancel_reason
        if reason is not None:
            raise reason
        await self._call.update(_coerce(method, method.progress, update, "progress update"))

    def progress_threadsafe(self, update: P) -> None:
        """:meth:`progress` for a plain ``def`` handler running in an executor thread: sends
        one update and blocks until it is queued. Never call it on the event loop's thread.

        :raises IpcError: as :meth:`progress`
        """
        future = asyncio.run_coroutine_threadsafe(self.progress(update), self._loop)
        future.result()


def _coerce(
    method: MethodDescriptor[Any, Any, Any], cls: type[Message], value: object, what: str
) -> Message:
    if isinstance(value, cls):
        return value
    if isinstance(value, Mapping):
        try:
            return cls(**value)
        except (TypeError, ValueError) as e:
            raise IpcError(f"{method.path} produced an invalid {what}: {e}", Code.INTERNAL) from e
    raise IpcError(
        f"{method.path} produced a {what} of type {type(value).__name__}, "
        f"expected {cls.DESCRIPTOR.full_name}",
        Code.INTERNAL,
    )


_Style = Literal["async", "async_gen", "sync", "sync_gen", "missing"]


@dataclass(frozen=True, slots=True)
class _Route:
    method: MethodDescriptor[Any, Any, Any]
    fn: Callable[..., Any] | None
    style: _Style


def _style_of(fn: Callable[..., Any] | None) -> _Style:
    if fn is None:
        return "missing"
    if inspect.isasyncgenfunction(fn):
        return "async_gen"
    if inspect.iscoroutinefunction(fn):
        return "async"
    if inspect.isgeneratorfunction(fn):
        return "sync_gen"
    return "sync"


_DONE = object()


class Server:
    """A protoipc server: service handlers on one transport. Create it with
    :func:`create_server`. The server owns the transport: :meth:`close` closes it.

    Use it as ``await server.listen(); ...; await server.close()``, or
    ``async with server: ...`` (listens on entry, closes on exit).
    """

    def __init__(
        self,
        transport: ServerTransport,
        *,
        interceptors: Sequence[Interceptor] = (),
        executor: concurrent.futures.Executor | None = None,
    ) -> None:
        self._transport = transport
        self._interceptors = tuple(interceptors)
        self._executor = executor
        self._routes: dict[str, _Route] = {}
        self._timeouts: dict[str, int] = {}
        self._hashes: dict[str, str] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._closing: asyncio.Future[None] | None = None

    @property
    def transport(self) -> ServerTransport:
        """The transport the server listens on."""
        return self._transport

    def register(self, handler: object, *, service: ServiceDescriptor | None = None) -> None:
        """Registers ``handler``, an instance of a generated ``<Service>Handler`` subclass (or,
        with ``service`` given, any object with the service's methods by ``local_name``).
        Methods the handler does not override answer ``Code.UNIMPLEMENTED``. Register before or
        after :meth:`listen`.

        :raises ValueError: when the service is registered twice
        :raises TypeError: when ``service`` is omitted and ``type(handler)`` has no ``service``
        """
        if service is None:
            service = getattr(type(handler), "service", None)
            if not isinstance(service, ServiceDescriptor):
                raise TypeError(
                    f"{type(handler).__name__} has no `service` descriptor; "
                    "subclass a generated handler or pass service="
                )
        if service.type_name in self._hashes:
            raise ValueError(f"service {service.type_name} is registered twice")
        self._hashes[service.type_name] = service.schema_hash
        for method in service.methods:
            fn = getattr(handler, method.local_name, None)
            fn = fn if callable(fn) else None
            self._routes[method.path] = _Route(method, fn, _style_of(fn))
            self._timeouts[method.path] = method.timeout_ms or service.default_timeout_ms

    async def listen(self) -> None:
        """Starts the transport (binds); returns once bound.

        :raises IpcError: ``Code.UNAVAILABLE`` when the transport cannot bind
        """
        await self._transport.listen(self)

    async def close(self) -> None:
        """Stops accepting calls, cancels running handlers (their calls fail with
        ``Code.UNAVAILABLE``), closes the transport, and waits (up to 5 s) for the cancelled
        handler tasks to finish. Idempotent; concurrent calls wait for the same close."""
        if self._closing is None:
            self._closing = asyncio.ensure_future(self._close())
        await asyncio.shield(self._closing)

    async def aclose(self) -> None:
        """The same as :meth:`close`."""
        await self.close()

    async def _close(self) -> None:
        await self._transport.aclose()
        tasks = set(self._tasks)
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=_CLOSE_GRACE_S)
            for t in pending:
                _log.warning("protoipc: handler task %s ignored cancellation", t.get_name())

    async def __aenter__(self) -> Self:
        await self.listen()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    # Dispatcher (what the transport calls)

    def lookup(self, path: str) -> MethodDescriptor[Any, Any, Any] | None:
        """The registered method with the given path, ``"/pkg.Service/Method"``."""
        route = self._routes.get(path)
        return route.method if route is not None else None

    def methods(self) -> list[MethodDescriptor[Any, Any, Any]]:
        """Every registered method (bindings that route by another name, such as jsonrpc2's
        ``wire_name``)."""
        return [route.method for route in self._routes.values()]

    def timeout_ms(self, method: MethodDescriptor[Any, Any, Any]) -> int:
        """The deadline of a request that carries none, in milliseconds: the method's
        ``timeout_ms``, else its service's ``default_timeout_ms``."""
        return self._timeouts.get(method.path, method.timeout_ms or 30_000)

    def schema_hashes(self) -> Mapping[str, str]:
        """Hex schema hashes of the registered services, by full name."""
        return self._hashes

    def invoke(self, request: Message, call: IncomingCall) -> None:
        """Starts the handler of ``call.method`` as a task (cancelled when the call is); the
        outcome goes to ``call``. Never raises."""
        route = self._routes.get(call.method.path)
        if route is None or route.style == "missing":
            call.error(
                IpcError(f"method {call.method.path} is not implemented", Code.UNIMPLEMENTED)
            )
            return
        validate_input = route.method.validate_input
        if validate_input is not None:
            violations = validate_input(request)
            if violations:
                call.error(validation_error(route.method.input.DESCRIPTOR.full_name, violations))
                return
        loop = asyncio.get_running_loop()
        ctx: CallContext = (
            ProgressContext(call, loop, self._executor)
            if route.method.kind == "progress"
            else CallContext(call, loop, self._executor)
        )
        task = loop.create_task(self._run(route, request, call, ctx), name=call.method.path)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

        def cancel_handler(reason: IpcError) -> None:
            task.cancel(reason.raw_message)

        call.on_abort(cancel_handler)

    # Handler invocation

    async def _run(
        self, route: _Route, request: Message, call: IncomingCall, ctx: CallContext
    ) -> None:
        try:
            if self._interceptors:
                out = await self._intercepted(route, request, call, ctx)
            else:
                out = await self._call_handler(route, request, ctx)
        except asyncio.CancelledError:
            # Our own abort (cancel, deadline, dead client, close), which answered already, or
            # the handler cancelled itself. Either way the task ends here, quietly.
            if not call.cancelled:
                call.error(IpcError(f"{route.method.path} was cancelled", Code.CANCELED))
            return
        except Exception as e:  # noqa: BLE001 - every failure is the caller's answer
            if not call.cancelled:
                call.error(IpcError.from_exception(e))
            return
        if call.cancelled:
            return
        try:
            result = (
                None
                if route.method.kind == "server_streaming"
                else _coerce(route.method, route.method.output, out, "response")
            )
        except IpcError as e:
            call.error(e)
            return
        call.result(result)

    async def _intercepted(
        self, route: _Route, request: Message, call: IncomingCall, ctx: CallContext
    ) -> Message | None:
        async def terminal(req: CallRequest) -> Message | None:
            out = await self._call_handler(route, req.message, ctx)
            if route.method.kind == "server_streaming":
                return None
            return _coerce(route.method, route.method.output, out, "response")

        run: CallNext = terminal
        for interceptor in reversed(self._interceptors):
            run = interceptor(run)
        return await run(
            CallRequest(
                side="server",
                method=route.method,
                message=request,
                deadline=ctx.deadline,
                metadata=dict(call.metadata),
                peer=call.peer,
            )
        )

    async def _call_handler(self, route: _Route, request: Message, ctx: CallContext) -> Any:
        """Runs the handler: returns its result (unary, progress) or ``None`` once a stream's
        items are all sent."""
        fn = route.fn
        assert fn is not None
        if route.method.kind != "server_streaming":
            if route.style == "async":
                return await fn(request, ctx)
            out = await self._in_executor(fn, request, ctx)
            if inspect.isawaitable(out):
                out = await out
            return out
        items: object
        if route.style == "async_gen":
            items = fn(request, ctx)
        elif route.style == "async":
            items = await fn(request, ctx)
        elif route.style == "sync_gen":
            items = fn(request, ctx)  # creating a generator runs none of its code
        else:
            items = await self._in_executor(fn, request, ctx)
            if inspect.isawaitable(items):
                items = await items
        await self._stream(route.method, items, ctx)
        return None

    async def _in_executor(self, fn: Callable[..., T], *args: Any) -> T:
        loop = asyncio.get_running_loop()
        context = contextvars.copy_context()
        return await loop.run_in_executor(self._executor, functools.partial(context.run, fn, *args))

    async def _stream(
        self, method: MethodDescriptor[Any, Any, Any], items: object, ctx: CallContext
    ) -> None:
        call = ctx._call
        if isinstance(items, AsyncIterable):
            iterator = aiter(items)
            try:
                async for item in iterator:
                    if call.cancelled:
                        break
                    await call.update(_coerce(method, method.output, item, "stream item"))
            finally:
                aclose = getattr(iterator, "aclose", None)
                if aclose is not None:
                    await aclose()
        elif isinstance(items, Iterator):
            # A blocking generator: each step runs in the executor.
            while not call.cancelled:
                item = await self._in_executor(next, items, _DONE)
                if item is _DONE:
                    break
                await call.update(_coerce(method, method.output, item, "stream item"))
        elif isinstance(items, Iterable):
            for item in items:
                if call.cancelled:
                    break
                await call.update(_coerce(method, method.output, item, "stream item"))
        elif items is not None:
            raise IpcError(
                f"{method.path} returned {type(items).__name__}, not an iterable of items",
                Code.INTERNAL,
            )


def create_server(
    transport: ServerTransport,
    *,
    interceptors: Sequence[Interceptor] = (),
    executor: concurrent.futures.Executor | None = None,
) -> Server:
    """Creates a server on ``transport``; the server owns it (``close`` closes it).

    :param interceptors: run around every handler, outermost first; they see the decoded request
        and the final result
    :param executor: where plain ``def`` handlers and ``CallContext.run_sync`` run; default the
        loop's default executor
    """
    return Server(transport, interceptors=interceptors, executor=executor)
