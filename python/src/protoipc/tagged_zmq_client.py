"""A client transport for the tagged binding over ZeroMQ: the dgx-pixels wire (PROTOCOLS.md §1).

Mirrors packages/zeromq/src/tagged-client.ts (``createZmqTaggedTransport``) on asyncio + pyzmq,
with the same options in snake_case and the same semantics. Use it with the generated client
exactly like the native transport, so validation and interceptors apply::

    transport = create_zmq_tagged_transport(
        pixels_ipc.PIXEL_SERVICE,
        address="tcp://127.0.0.1:5555",
        updates_address="tcp://127.0.0.1:5556",
    )
    async with transport:
        pixels = pixels_ipc.PixelServiceClient(transport)
        await pixels.ping(pixels_pb2.PingRequest())
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import time
import uuid
from dataclasses import dataclass
from collections.abc import Awaitable
from typing import Any, Literal

import zmq
import zmq.asyncio
from google.protobuf.message import Message
from zmq.utils.monitor import parse_monitor_message

from protoipc.descriptor import MethodDescriptor, ServiceDescriptor
from protoipc.errors import Code, IpcError
from protoipc.frames import DEFAULT_MAX_FRAME_BYTES
from protoipc.tagged import (
    SUBSCRIPTION_CONFIRM_PREFIX,
    TaggedFormat,
    TaggedJob,
    TaggedService,
    correlation_of,
    create_marked,
    decode_tagged,
    encode_tagged,
    error_of,
    success_of,
    tagged_service,
    wrap_progress,
)
from protoipc.transport import CallHandle, CallSink, ClientTransport, OutgoingCall

__all__ = [
    "DEFAULT_LEGACY_SUBSCRIBE_GRACE_MS",
    "DEFAULT_TAGGED_MAX_QUEUED_CALLS",
    "DEFAULT_TAGGED_MAX_RETRIES",
    "DEFAULT_TAGGED_REQUEST_TIMEOUT_MS",
    "SubscribeConfirm",
    "ZmqTaggedClientTransport",
    "create_zmq_tagged_transport",
]

DEFAULT_TAGGED_REQUEST_TIMEOUT_MS = 5000
"""Time one request attempt waits for its reply, in milliseconds: 5000 (the dgx-pixels client's
REQ timeout)."""
DEFAULT_TAGGED_MAX_RETRIES = 2
"""Retries of a lost request of an idempotent method: 2 (3 attempts in all)."""
DEFAULT_TAGGED_MAX_QUEUED_CALLS = 1024
"""Calls waiting for the REQ socket before new ones fail: 1024."""
DEFAULT_LEGACY_SUBSCRIBE_GRACE_MS = 100
"""Wait for a legacy publisher's subscription to settle after the handshake, in ms: 100."""

SubscribeConfirm = Literal["auto", "echo", "handshake"]
"""How the SUB socket's subscription is confirmed before the first progress request is sent."""

_INT32_MAX = 2**31 - 1


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def _check_endpoint(name: str, endpoint: str) -> str:
    if not (endpoint.startswith("ipc://") or endpoint.startswith("tcp://")):
        raise IpcError(
            f"{name} {endpoint!r} is not an ipc:// or tcp:// endpoint", Code.INVALID_ARGUMENT
        )
    return endpoint


def _check_int(name: str, value: int, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise IpcError(
            f"{name} {value!r} is not an integer in [{low}, {high}]", Code.INVALID_ARGUMENT
        )
    return value


class _NoopHandle:
    def cancel(self, reason: IpcError) -> None:
        pass


class _IgnoreSink:
    """The sink of a cancel request the transport sends by itself: its outcome is ignored."""

    def on_update(self, message: Message) -> None:
        pass

    def on_result(self, message: Message | None) -> None:
        pass

    def on_error(self, error: IpcError) -> None:
        pass


@dataclass(eq=False)
class _Pending:
    """One call in the transport: queued, in flight on REQ, or (a job) waiting for updates."""

    method: MethodDescriptor[Any, Any, Any]
    deadline_unix_ms: int
    sink: CallSink
    body: bytes
    job: TaggedJob | None
    job_id: str | None
    retriable: bool
    stopped: asyncio.Future[None]
    """Resolved when the call ends (outcome or cancel), so waits can stop."""
    sent: bool = False
    """Set once the request was handed to a REQ socket (the server may know the job)."""
    done: bool = False
    """Set once the sink got its outcome, or the caller cancelled: nothing more is delivered."""


class _Handle:
    def __init__(self, transport: ZmqTaggedClientTransport, pending: _Pending) -> None:
        self._transport = transport
        self._pending = pending

    def cancel(self, reason: IpcError) -> None:
        self._transport._cancel(self._pending)


class ZmqTaggedClientTransport(ClientTransport):
    """The tagged binding's client transport: REQ for requests (Lazy Pirate), SUB for the
    updates of jobs. Create it with :func:`create_zmq_tagged_transport`; the creator owns it and
    closes it with :meth:`aclose` (or ``async with``)."""

    def __init__(
        self,
        binding: TaggedService,
        *,
        address: str,
        updates_address: str | None,
        fmt: TaggedFormat,
        request_timeout_ms: int,
        max_retries: int,
        max_queued_calls: int,
        subscribe_confirm: SubscribeConfirm,
        legacy_subscribe_grace_ms: int,
        max_frame_bytes: int,
        context: zmq.asyncio.Context | None,
    ) -> None:
        self._binding = binding
        self.address = address
        self.updates_address = updates_address
        self.format: TaggedFormat = fmt
        self._request_timeout_ms = request_timeout_ms
        self._max_retries = max_retries
        self._max_queued_calls = max_queued_calls
        self._confirm_mode: SubscribeConfirm = subscribe_confirm
        self._grace_ms = legacy_subscribe_grace_ms
        self._max_frame_bytes = max_frame_bytes
        self._context = context

        self._queue: collections.deque[_Pending] = collections.deque()
        self._pump_task: asyncio.Task[None] | None = None
        self._closed = False
        self._req: zmq.asyncio.Socket | None = None
        self._current: _Pending | None = None
        """The call the pump holds: waiting for the subscription, or in flight on REQ."""
        self._sub: zmq.asyncio.Socket | None = None
        self._monitor: zmq.asyncio.Socket | None = None
        self._sub_tasks: list[asyncio.Task[None]] = []
        self._subscribed: asyncio.Future[None] | None = None
        self._confirm_timers: list[asyncio.TimerHandle] = []
        self._token = b""
        self._jobs: dict[str, _Pending] = {}
        self._closing: set[asyncio.Future[None]] = set()

    def _ctx(self) -> zmq.asyncio.Context:
        return self._context or zmq.asyncio.Context.instance()

    # ----------------------------------------------------------------------------------------
    # Starting and ending calls

    def start(self, call: OutgoingCall, sink: CallSink) -> CallHandle:
        if self._closed:
            sink.on_error(IpcError("transport is closed", Code.UNAVAILABLE))
            return _NoopHandle()
        try:
            p = self._prepare(call, sink)
        except IpcError as e:
            sink.on_error(e)
            return _NoopHandle()
        if len(self._queue) >= self._max_queued_calls:
            sink.on_error(
                IpcError(
                    f"{len(self._queue)} queued calls reach max_queued_calls "
                    f"{self._max_queued_calls}",
                    Code.RESOURCE_EXHAUSTED,
                )
            )
            return _NoopHandle()
        if p.job_id is not None:
            if p.job_id in self._jobs:
                sink.on_error(
                    IpcError(
                        f"job {p.job_id} is already running on this transport",
                        Code.ALREADY_EXISTS,
                    )
                )
                return _NoopHandle()
            # Registered before the request leaves, so updates that beat the reply are kept.
            self._jobs[p.job_id] = p
        self._enqueue(p)
        return _Handle(self, p)

    def _prepare(self, call: OutgoingCall, sink: CallSink) -> _Pending:
        if call.service.type_name != self._binding.service.type_name:
            raise IpcError(
                f"{call.method.path} is not a method of {self._binding.service.type_name}, "
                "which this transport speaks",
                Code.INTERNAL,
            )
        method = call.method
        job = self._binding.jobs.get(method.path)
        message = call.message
        job_id: str | None = None
        if job is not None:
            if self.updates_address is None:
                raise IpcError(
                    f"{method.path} is a progress method: set updates_address to read its "
                    "updates",
                    Code.FAILED_PRECONDITION,
                )
            job_id = str(getattr(message, job.correlation_field.name))
            if job_id == "":
                job_id = str(uuid.uuid4())
                copy = type(message)()
                copy.CopyFrom(message)
                setattr(copy, job.correlation_field.name, job_id)
                message = copy
        return _Pending(
            method=method,
            deadline_unix_ms=call.deadline_unix_ms,
            sink=sink,
            body=encode_tagged(self._binding.requests, message, self.format),
            job=job,
            job_id=job_id,
            retriable=method.idempotency in ("no_side_effects", "idempotent"),
            stopped=asyncio.get_running_loop().create_future(),
        )

    def _enqueue(self, p: _Pending) -> None:
        """Hands ``p`` to the pump at once when it is idle (so the queue holds only the calls
        waiting behind another), else queues it."""
        if self._current is None:
            self._current = p
            self._pump_task = asyncio.get_running_loop().create_task(self._pump(p))
        else:
            self._queue.append(p)

    def _cancel(self, p: _Pending) -> None:
        if p.done:
            return
        self._end(p)
        # In flight: the pump sees `stopped`, closes the REQ socket (Lazy Pirate: the reply, if
        # any, never reaches the next call) and goes on. Queued: the pump skips it.
        with contextlib.suppress(ValueError):
            self._queue.remove(p)
        # A job the server may have accepted is stopped with the schema's cancel request.
        if p.job is not None and p.job_id is not None and p.sent:
            self._send_cancel(p.job, p.job_id)

    def _send_cancel(self, job: TaggedJob, job_id: str) -> None:
        """Queues the cancel request of a job (fire and forget: its reply or failure is ignored;
        skipped when the queue is full). It bypasses the client's interceptors: the transport
        sends it."""
        method = job.cancel
        if self._closed or method is None or len(self._queue) >= self._max_queued_calls:
            return
        message = create_marked(method.input.DESCRIPTOR, job_id)
        self._enqueue(
            _Pending(
                method=method,
                deadline_unix_ms=_now_ms() + self._request_timeout_ms * (1 + self._max_retries),
                sink=_IgnoreSink(),
                body=encode_tagged(self._binding.requests, message, self.format),
                job=None,
                job_id=None,
                retriable=True,
                stopped=asyncio.get_running_loop().create_future(),
            )
        )

    def _end(self, p: _Pending) -> bool:
        if p.done:
            return False
        p.done = True
        if not p.stopped.done():
            p.stopped.set_result(None)
        if p.job_id is not None and self._jobs.get(p.job_id) is p:
            del self._jobs[p.job_id]
        return True

    def _finish(self, p: _Pending, message: Message) -> None:
        if self._end(p):
            p.sink.on_result(message)

    def _fail(self, p: _Pending, error: IpcError) -> None:
        if self._end(p):
            p.sink.on_error(error)

    # ----------------------------------------------------------------------------------------
    # The REQ side

    async def _pump(self, first: _Pending) -> None:
        """The one loop that owns the REQ socket: one request at a time, in FIFO order."""
        try:
            p: _Pending | None = first
            while p is not None and not self._closed:
                self._current = p
                await self._run(p)
                p = self._queue.popleft() if self._queue else None
        finally:
            self._current = None

    async def _run(self, p: _Pending) -> None:
        """Waits for the subscription of a job, then exchanges ``p``'s request."""
        if not p.done:
            if p.job is not None:
                try:
                    subscribed = self._subscribe()
                    await asyncio.wait(
                        [subscribed, p.stopped], return_when=asyncio.FIRST_COMPLETED
                    )
                    if p.stopped.done():  # ended (cancelled or closed) while it waited
                        return
                    subscribed.result()
                except IpcError as e:
                    self._fail(p, e)
                    return
            await self._exchange(p)

    async def _exchange(self, p: _Pending) -> None:
        """Sends ``p``'s request and delivers its reply, retrying lost replies of idempotent
        methods on a new REQ socket."""
        attempts = 1 + self._max_retries if p.retriable else 1
        for attempt in range(1, attempts + 1):
            remaining = p.deadline_unix_ms - _now_ms()
            if remaining <= 0:
                return  # the client core reports the deadline
            wait_ms = max(1, min(self._request_timeout_ms, remaining))
            sock = self._open_req()
            p.sent = True
            exchange = asyncio.ensure_future(self._send_receive(sock, p.body))
            waits: list[asyncio.Future[Any]] = [exchange, p.stopped]
            await asyncio.wait(waits, timeout=wait_ms / 1000, return_when=asyncio.FIRST_COMPLETED)
            reply: bytes | None = None
            if exchange.done() and not exchange.cancelled() and exchange.exception() is None:
                reply = exchange.result()
            else:
                # Timeout, cancel or close: the socket may still get the late reply; drop it.
                exchange.cancel()
                with contextlib.suppress(BaseException):
                    await exchange
                self._close_req()
            if p.done or self._closed:
                return
            if reply is not None:
                self._deliver(p, reply)
                return
            if not p.retriable or attempt == attempts or p.deadline_unix_ms <= _now_ms():
                # The server may have started the job although its acknowledgement was lost.
                if p.job is not None and p.job_id is not None:
                    self._send_cancel(p.job, p.job_id)
                self._fail(
                    p,
                    IpcError(
                        f"no reply to {p.method.path} within request_timeout_ms {wait_ms} "
                        f"after {attempt} attempt(s)"
                        + ("" if p.retriable else f"; not retried: {p.method.name} is not idempotent"),
                        Code.UNAVAILABLE,
                    ),
                )
                return

    @staticmethod
    async def _send_receive(sock: zmq.asyncio.Socket, body: bytes) -> bytes:
        await sock.send(body)
        reply: bytes = await sock.recv()
        return reply

    def _deliver(self, p: _Pending, reply: bytes) -> None:
        responses = self._binding.responses
        try:
            message = decode_tagged(responses, reply, self.format)
        except IpcError as e:
            self._fail(
                p, IpcError(f"malformed reply to {p.method.path}: {e.raw_message}", Code.INTERNAL)
            )
            return
        name = message.DESCRIPTOR.full_name
        tag = responses.tags[name]
        failure = error_of(message, tag)
        if failure is not None:
            self._fail(p, failure)
            return
        if name == p.method.output.DESCRIPTOR.full_name:
            self._finish(p, message)
            return
        if p.job is not None and name == p.job.accepted.full_name:
            return  # updates follow
        self._fail(
            p, IpcError(f'unexpected reply "{tag}" to {p.method.path}', Code.INTERNAL)
        )

    def _open_req(self) -> zmq.asyncio.Socket:
        if self._req is not None:
            return self._req
        sock = self._ctx().socket(zmq.REQ)
        sock.setsockopt(zmq.LINGER, 0)
        sock.setsockopt(zmq.MAXMSGSIZE, self._max_frame_bytes)
        sock.connect(self.address)
        self._req = sock
        return sock

    def _close_req(self) -> None:
        sock, self._req = self._req, None
        if sock is not None:
            sock.close(linger=0)

    # ----------------------------------------------------------------------------------------
    # The SUB side

    def _subscribe(self) -> asyncio.Future[None]:
        """Connects the SUB socket once; the future resolves when its subscription is confirmed:
        by the echo of a per-transport token (protoipc servers, XPUB), or
        ``legacy_subscribe_grace_ms`` after the connection handshake (a legacy PUB). It fails with
        ``Code.UNAVAILABLE`` when nothing confirms within ``request_timeout_ms``."""
        if self._subscribed is not None:
            return self._subscribed
        loop = asyncio.get_running_loop()
        confirmed: asyncio.Future[None] = loop.create_future()
        self._subscribed = confirmed
        self._token = SUBSCRIPTION_CONFIRM_PREFIX + uuid.uuid4().hex.encode()
        sub = self._ctx().socket(zmq.SUB)
        sub.setsockopt(zmq.LINGER, 0)
        sub.setsockopt(zmq.MAXMSGSIZE, self._max_frame_bytes)
        sub.setsockopt(zmq.SUBSCRIBE, b"")  # everything, as the original's clients do
        sub.setsockopt(zmq.SUBSCRIBE, self._token)  # a protoipc XPUB echoes this topic
        monitor: zmq.asyncio.Socket | None = None
        if self._confirm_mode != "echo":
            monitor = sub.get_monitor_socket(zmq.EVENT_HANDSHAKE_SUCCEEDED)
        self._sub, self._monitor = sub, monitor
        assert self.updates_address is not None
        sub.connect(self.updates_address)
        self._sub_tasks = [loop.create_task(self._read_updates(sub))]
        if monitor is not None:
            self._sub_tasks.append(loop.create_task(self._watch_handshake(monitor)))
        self._confirm_timers = [
            loop.call_later(self._request_timeout_ms / 1000, self._on_confirm_timeout)
        ]
        # Nobody else may retrieve the failure: mark it seen so asyncio does not log it.
        confirmed.add_done_callback(lambda f: f.cancelled() or f.exception())
        return confirmed

    def _on_confirmed(self) -> None:
        for t in self._confirm_timers:
            t.cancel()
        self._confirm_timers = []
        if self._subscribed is not None and not self._subscribed.done():
            self._subscribed.set_result(None)

    def _on_confirm_timeout(self) -> None:
        confirmed = self._subscribed
        if confirmed is None or confirmed.done():
            return
        self._subscribed = None  # let a later call try again
        closing = asyncio.ensure_future(self._close_sub())
        self._closing.add(closing)
        closing.add_done_callback(self._closing.discard)
        confirmed.set_exception(
            IpcError(
                f"update endpoint {self.updates_address} did not confirm the subscription "
                f"within request_timeout_ms {self._request_timeout_ms}",
                Code.UNAVAILABLE,
            )
        )

    async def _watch_handshake(self, monitor: zmq.asyncio.Socket) -> None:
        """Starts the legacy grace on the SUB connection's first handshake."""
        try:
            while True:
                event = parse_monitor_message(await monitor.recv_multipart())
                if event["event"] == zmq.EVENT_HANDSHAKE_SUCCEEDED:
                    break
        except (zmq.ZMQError, asyncio.CancelledError):
            return
        if self._subscribed is not None and not self._subscribed.done():
            loop = asyncio.get_running_loop()
            self._confirm_timers.append(loop.call_later(self._grace_ms / 1000, self._on_confirmed))

    async def _read_updates(self, sub: zmq.asyncio.Socket) -> None:
        """The SUB reader loop: routes each update to its job by job id; ignores others' jobs."""
        while True:
            try:
                frame = await sub.recv()
            except (zmq.ZMQError, asyncio.CancelledError):
                return
            if frame[:1] == b"\x00":
                if frame == self._token:
                    self._on_confirmed()
                continue  # another client's confirmation
            self._on_update(frame)

    def _on_update(self, frame: bytes) -> None:
        union = self._binding.updates
        if union is None or not self._jobs:
            return
        try:
            message = decode_tagged(union, frame, self.format)
        except IpcError:
            return  # a frame of no job of ours cannot be blamed on one; publishers send others
        tag = union.tags[message.DESCRIPTOR.full_name]
        job_id = correlation_of(message)
        p = None if job_id is None else self._jobs.get(job_id)
        if p is None:
            return
        failure = error_of(message, tag)
        if failure is not None:
            self._fail(p, failure)
            return
        if message.DESCRIPTOR.full_name == p.method.output.DESCRIPTOR.full_name:
            self._finish(p, message)
            return
        success = success_of(message)
        if success is False:
            self._fail(
                p, IpcError(f"job {job_id} finished without success ({tag})", Code.UNKNOWN)
            )
            return
        if success is True:
            return  # the result variant carries the outcome
        update = wrap_progress(p.method, message)
        if update is not None:
            p.sink.on_update(update)

    def _close_sub(self) -> Awaitable[None]:
        """Detaches the SUB socket (at once, so a new one may be opened) and closes it."""
        for t in self._confirm_timers:
            t.cancel()
        self._confirm_timers = []
        tasks, self._sub_tasks = self._sub_tasks, []
        sub, monitor = self._sub, self._monitor
        self._sub = self._monitor = None
        return self._close_sockets(tasks, sub, monitor)

    @staticmethod
    async def _close_sockets(
        tasks: list[asyncio.Task[None]],
        sub: zmq.asyncio.Socket | None,
        monitor: zmq.asyncio.Socket | None,
    ) -> None:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if sub is not None:
            if monitor is not None:
                with contextlib.suppress(zmq.ZMQError):
                    sub.disable_monitor()
                monitor.close(linger=0)
            sub.close(linger=0)

    # ----------------------------------------------------------------------------------------

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        err = IpcError("transport closed", Code.UNAVAILABLE)
        queued = list(self._queue)
        self._queue.clear()
        for p in queued:
            self._fail(p, err)
        for p in list(self._jobs.values()):
            self._fail(p, err)
        if self._current is not None:
            self._fail(self._current, err)
        confirmed, self._subscribed = self._subscribed, None
        if confirmed is not None and not confirmed.done():
            confirmed.set_exception(err)
        pump, self._pump_task = self._pump_task, None
        if pump is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await pump
        self._close_req()
        await self._close_sub()
        for closing in list(self._closing):
            await closing


def create_zmq_tagged_transport(
    service: ServiceDescriptor,
    *,
    address: str,
    updates_address: str | None = None,
    format: TaggedFormat = "msgpack",  # noqa: A002 - the TypeScript option's name
    request_timeout_ms: int = DEFAULT_TAGGED_REQUEST_TIMEOUT_MS,
    max_retries: int = DEFAULT_TAGGED_MAX_RETRIES,
    max_queued_calls: int = DEFAULT_TAGGED_MAX_QUEUED_CALLS,
    subscribe_confirm: SubscribeConfirm = "auto",
    legacy_subscribe_grace_ms: int = DEFAULT_LEGACY_SUBSCRIBE_GRACE_MS,
    max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES,
    context: zmq.asyncio.Context | None = None,
) -> ZmqTaggedClientTransport:
    """A client transport for ``service`` on the tagged binding over ZeroMQ (PROTOCOLS.md §1,
    dgx-pixels), the twin of TypeScript's ``createZmqTaggedTransport``: each request is one
    tagged map on a REQ socket connected to ``address``; each reply is one tagged map; progress
    methods are jobs whose updates, result and errors are published on ``updates_address`` and
    read by a SUB socket, correlated by job id. Give it to the generated client like any other
    transport (``pixels_ipc.PixelServiceClient(transport)``): validation, interceptors,
    deadlines and cancellation are the generic client's.

    - **Lockstep and queueing**: REQ carries one request at a time, so calls wait in a FIFO queue
      of at most ``max_queued_calls`` (more fail at once with ``Code.RESOURCE_EXHAUSTED``). A
      call's deadline runs while it waits.
    - **Lost replies (Lazy Pirate)**: an attempt waits ``request_timeout_ms`` (at most the
      call's remaining deadline); then the REQ socket is closed (dropping any late reply, so a
      stale reply is never delivered) and reopened. Only ``no_side_effects`` / ``idempotent``
      methods are sent again, at most ``max_retries`` times; the call then fails with
      ``Code.UNAVAILABLE``. A call cancelled while its request is in flight also closes and
      reopens the socket.
    - **Progress**: before the first progress request the SUB socket subscribes and waits for
      the subscription to be confirmed: a protoipc server (XPUB) echoes a per-transport token; a
      legacy PUB cannot, so after the connection handshake the transport waits
      ``legacy_subscribe_grace_ms``. The job is registered before the request is sent, so
      updates arriving before the acknowledgement are kept. An empty job id is replaced by a
      random UUID. The acknowledgement (``job_accepted``) keeps the call open; the result
      variant ends it; error variants and a job end with ``success: false`` fail it; cancelling
      the call (its task, ``ProgressCall.cancel()``, or its deadline) sends the schema's cancel
      request.

    Errors: the server's error variants become :class:`~protoipc.errors.IpcError`
    (``Code.UNKNOWN`` for the original's bare strings, the code itself for ``[code] message``
    texts of protoipc servers); a reply that is not valid for the call fails it with
    ``Code.INTERNAL``; a progress call without ``updates_address`` fails with
    ``Code.FAILED_PRECONDITION``. Sockets are created on first use, on the running loop;
    ``await transport.aclose()`` fails pending calls with ``Code.UNAVAILABLE`` and closes them.

    :param service: the :class:`~protoipc.ServiceDescriptor` called (its schema declares the
        tagged unions: ``(protoipc.v1.service).tagged``)
    :param address: the server's request endpoint (REP or ROUTER), ``tcp://…`` or ``ipc://…``
    :param updates_address: the server's update endpoint (PUB or XPUB); required for progress
        methods
    :param format: ``"msgpack"`` (default, the dgx-pixels wire) or ``"json"`` (UTF-8 JSON text of
        the same shape)
    :param request_timeout_ms: time one attempt waits for its reply, in milliseconds; default 5000
    :param max_retries: retries of a lost reply of an idempotent method; default 2
    :param max_queued_calls: calls waiting for the REQ socket; default 1024
    :param subscribe_confirm: ``"auto"`` (default: the server's echo, else the handshake plus the
        grace), ``"echo"`` (only the echo: against a server that never echoes, progress calls
        fail with ``Code.UNAVAILABLE`` after ``request_timeout_ms`` without sending their
        request), or ``"handshake"`` (the handshake and the grace only)
    :param legacy_subscribe_grace_ms: wait after the SUB handshake against a legacy PUB, in
        milliseconds; default 100
    :param max_frame_bytes: largest frame accepted (ZMQ_MAXMSGSIZE), in bytes; default 4 MiB
    :param context: the ZeroMQ context; default ``zmq.asyncio.Context.instance()``
    :raises IpcError: ``Code.INVALID_ARGUMENT`` when an option is out of range or an address is
        not an ``ipc://`` or ``tcp://`` endpoint; ``Code.INTERNAL`` when the schema declares no
        tagged binding
    """
    if format not in ("msgpack", "json"):
        raise IpcError(f"format {format!r} is not msgpack or json", Code.INVALID_ARGUMENT)
    if subscribe_confirm not in ("auto", "echo", "handshake"):
        raise IpcError(
            f"subscribe_confirm {subscribe_confirm!r} is not auto, echo or handshake",
            Code.INVALID_ARGUMENT,
        )
    return ZmqTaggedClientTransport(
        tagged_service(service),
        address=_check_endpoint("address", address),
        updates_address=None
        if updates_address is None
        else _check_endpoint("updates_address", updates_address),
        fmt=format,
        request_timeout_ms=_check_int("request_timeout_ms", request_timeout_ms, 1, _INT32_MAX),
        max_retries=_check_int("max_retries", max_retries, 0, 100),
        max_queued_calls=_check_int("max_queued_calls", max_queued_calls, 1, _INT32_MAX),
        subscribe_confirm=subscribe_confirm,
        legacy_subscribe_grace_ms=_check_int(
            "legacy_subscribe_grace_ms", legacy_subscribe_grace_ms, 0, _INT32_MAX
        ),
        max_frame_bytes=_check_int("max_frame_bytes", max_frame_bytes, 1, _INT32_MAX),
        context=context,
    )
