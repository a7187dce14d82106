"""The tagged binding over ZeroMQ: the dgx-pixels wire (PROTOCOLS.md §1). This module holds the
server transport; the client transport, :func:`create_zmq_tagged_transport`, lives in
:mod:`protoipc.tagged_zmq_client` and is re-exported here.

Requests arrive as tagged maps on a ROUTER socket (wire-compatible with the original's REP: a REQ
client cannot tell the difference, and many clients' calls run concurrently instead of one at a
time); progress methods are jobs whose updates, result and errors are published as tagged maps on
an XPUB socket. XPUB rather than PUB so the server sees subscriptions: a protoipc client
subscribes to a unique token (:data:`protoipc.tagged.SUBSCRIPTION_CONFIRM_PREFIX`), the server
echoes it, and the client sends its request only once it holds the echo, so no update of its job
can be published before it listens. Legacy subscribers receive (and, as they do with any frame
they cannot decode, skip) those echo frames.

Every call goes through the generic server dispatch (:func:`protoipc.create_server`), so
interceptors and validation apply as on the native binding::

    server = protoipc.create_server(create_zmq_tagged_server_transport(
        pixels_ipc.PIXEL_SERVICE, bind="tcp://127.0.0.1:5555", updates_bind="tcp://127.0.0.1:5556"))
    server.register(Backend())
    await server.listen()
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
import uuid
from collections.abc import Callable, Mapping
from typing import Any

import zmq
import zmq.asyncio
from google.protobuf.message import Message

from protoipc.descriptor import MethodDescriptor, ServiceDescriptor
from protoipc.errors import Code, IpcError
from protoipc.frames import DEFAULT_MAX_FRAME_BYTES
from protoipc.tagged import (
    SUBSCRIPTION_CONFIRM_PREFIX,
    TaggedFormat,
    TaggedService,
    correlation_of,
    create_marked,
    decode_tagged,
    encode_tagged,
    job_end_variant,
    tagged_service,
    unwrap_progress,
    variant_with,
)
from protoipc.tagged_zmq_client import ZmqTaggedClientTransport, create_zmq_tagged_transport
from protoipc.transport import AbortState, Dispatcher, ServerTransport

__all__ = [
    "ZmqTaggedClientTransport",
    "ZmqTaggedServerTransport",
    "create_zmq_tagged_server_transport",
    "create_zmq_tagged_transport",
]

_log = logging.getLogger("protoipc")

#: Longest wait between two tries to publish to a full subscriber, in seconds.
_PUBLISH_RECHECK_S = 0.01


def _now_ms() -> int:
    return int(time.time() * 1000)


class _TaggedCall(AbortState):
    """One call being served (an :class:`~protoipc.transport.IncomingCall`): a unary call answers
    on the ROUTER; a job publishes its updates and outcome on the XPUB."""

    def __init__(
        self,
        server: ZmqTaggedServerTransport,
        binding: TaggedService,
        method: MethodDescriptor[Any, Any, Any],
        peer: list[bytes],
        deadline_unix_ms: int,
        job_id: str | None,
    ) -> None:
        self._server = server
        self._binding = binding
        self.method = method
        self._peer = peer
        self.deadline_unix_ms = deadline_unix_ms
        self.metadata: Mapping[str, str] = {}
        self.job_id = job_id
        self.done = False
        self._reason: IpcError | None = None
        self._callbacks: list[Callable[[IpcError], None]] = []
        self._timer: asyncio.TimerHandle | None = None

    @property
    def peer(self) -> str:
        return self._peer[0].hex()

    def arm(self, loop: asyncio.AbstractEventLoop) -> None:
        if not self.done:
            delay = max(0.0, (self.deadline_unix_ms - _now_ms()) / 1000)
            self._timer = loop.call_later(delay, self._on_deadline)

    def abort(self, reason: IpcError) -> None:
        """Ends the call without answering and cancels the handler."""
        self._end()
        self._notify_abort(reason, self.method.path)

    def _on_deadline(self) -> None:
        self._timer = None
        if self.done:
            return
        err = IpcError(f"deadline exceeded while {self.method.path} ran", Code.DEADLINE_EXCEEDED)
        self._answer_error(err)
        self.abort(err)

    async def update(self, message: Message) -> None:
        if self.done:
            raise self._reason or IpcError("call has ended", Code.CANCELED)
        updates = self._binding.updates
        variant = unwrap_progress(message)
        if updates is None or variant is None:
            raise IpcError(f"{self.method.path}: empty progress update", Code.INTERNAL)
        await self._server._publish(encode_tagged(updates, variant, self._server.format))

    def result(self, message: Message | None) -> None:
        if self.done:
            return
        self._end()
        if self.job_id is None:
            self._server._post_reply(self._peer, self._encode_reply(message))
            return
        updates = self._binding.updates
        assert updates is not None and message is not None
        self._server._post_publish(encode_tagged(updates, message, self._server.format))
        self._publish_end(True)

    def error(self, error: IpcError) -> None:
        if self.done:
            return
        self._end()
        self._answer_error(error)

    def _answer_error(self, error: IpcError) -> None:
        fmt = self._server.format
        if self.job_id is None:
            self._server._post_reply(self._peer, _error_reply(self._binding, error, fmt))
            return
        updates = self._binding.updates
        assert updates is not None
        desc = variant_with(updates, error=True, correlation=True)
        if desc is not None:
            self._server._post_publish(
                encode_tagged(updates, create_marked(desc, self.job_id, error=error), fmt)
            )
        self._publish_end(False)

    def _publish_end(self, success: bool) -> None:
        updates = self._binding.updates
        desc = None if updates is None else job_end_variant(updates)
        if updates is not None and desc is not None and self.job_id is not None:
            end = create_marked(desc, self.job_id, success=success)
            self._server._post_publish(encode_tagged(updates, end, self._server.format))

    def _encode_reply(self, message: Message | None) -> bytes:
        fmt = self._server.format
        try:
            if message is None:
                raise IpcError(f"{self.method.path} answered nothing", Code.INTERNAL)
            return encode_tagged(self._binding.responses, message, fmt)
        except IpcError as e:
            return _error_reply(self._binding, IpcError(e.raw_message, Code.INTERNAL), fmt)

    def _end(self) -> None:
        if self.done:
            return
        self.done = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._server._calls.discard(self)
        if self.job_id is not None:
            self._server._jobs.pop(self.job_id, None)


def _error_reply(binding: TaggedService, error: IpcError, fmt: TaggedFormat) -> bytes:
    """The request-level error variant (``"error"``) holding ``[code] message``."""
    desc = variant_with(binding.responses, error=True, correlation=False)
    if desc is None:
        desc = variant_with(binding.responses, error=True, correlation=True)
    if desc is None:
        raise IpcError(
            f"{binding.responses.desc.full_name} has no error variant to report: {error}",
            Code.INTERNAL,
        )
    return encode_tagged(binding.responses, create_marked(desc, "", error=error), fmt)


class ZmqTaggedServerTransport(ServerTransport):
    """The tagged binding's server transport: ROUTER for requests, XPUB for published updates.
    Create it with :func:`create_zmq_tagged_server_transport`; the server that listens on it
    owns it."""

    def __init__(
        self,
        bind: str,
        updates_bind: str,
        *,
        binding: TaggedService,
        fmt: TaggedFormat,
        max_frame_bytes: int,
        context: zmq.asyncio.Context | None,
    ) -> None:
        self.bind = bind
        self.updates_bind = updates_bind
        self._binding = binding
        self.format: TaggedFormat = fmt
        self._max_frame_bytes = max_frame_bytes
        self._context = context
        self.address: str | None = None
        """The bound request endpoint (``tcp://127.0.0.1:*`` resolved), once listening."""
        self.updates_address: str | None = None
        """The bound update endpoint, once listening."""
        self._router: zmq.asyncio.Socket | None = None
        self._xpub: zmq.asyncio.Socket | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._jobs: dict[str, _TaggedCall] = {}
        self._calls: set[_TaggedCall] = set()
        self._closed = False
        self._ipc_files: list[str] = []
        self._publish_lock = asyncio.Lock()
        self._xpub_sync: zmq.Socket[bytes] | None = None

    async def listen(self, dispatcher: Dispatcher) -> None:
        if self._router is not None or self._closed:
            raise IpcError("tagged server transport is started or closed", Code.FAILED_PRECONDITION)
        context = self._context or zmq.asyncio.Context.instance()
        router = context.socket(zmq.ROUTER)
        xpub = context.socket(zmq.XPUB)
        try:
            for s in (router, xpub):
                s.setsockopt(zmq.LINGER, 0)
                s.setsockopt(zmq.MAXMSGSIZE, self._max_frame_bytes)
                # ZMTP heartbeats drop dead peers, so a gone subscriber cannot stall publishing.
                s.setsockopt(zmq.HEARTBEAT_IVL, 1000)
                s.setsockopt(zmq.HEARTBEAT_TIMEOUT, 3000)
            # A full subscriber queue makes publishing wait (backpressure) instead of dropping.
            xpub.setsockopt(zmq.XPUB_NODROP, 1)
            router.bind(self.bind)
            xpub.bind(self.updates_bind)
        except zmq.ZMQError as e:
            router.close(linger=0)
            xpub.close(linger=0)
            self._closed = True
            raise IpcError(
                f"cannot bind {self.bind} / {self.updates_bind}: {e.strerror}", Code.UNAVAILABLE
            ) from e
        self._router, self._xpub = router, xpub
        # A blocking-API view of the same socket: a non-blocking send that raises at once.
        self._xpub_sync = zmq.Socket.shadow(xpub.underlying)
        self.address = router.getsockopt_string(zmq.LAST_ENDPOINT) or self.bind
        self.updates_address = xpub.getsockopt_string(zmq.LAST_ENDPOINT) or self.updates_bind
        for endpoint in (self.address, self.updates_address):
            if endpoint.startswith("ipc://"):
                with contextlib.suppress(OSError):
                    os.chmod(endpoint[len("ipc://") :], 0o600)
                    self._ipc_files.append(endpoint[len("ipc://") :])
        loop = asyncio.get_running_loop()
        self._tasks = [
            loop.create_task(self._read_requests(router, dispatcher)),
            loop.create_task(self._read_subscriptions(xpub)),
        ]

    async def _read_requests(self, router: zmq.asyncio.Socket, dispatcher: Dispatcher) -> None:
        loop = asyncio.get_running_loop()
        while True:
            try:
                frames = await router.recv_multipart()
            except (zmq.ZMQError, asyncio.CancelledError):
                return
            # A REQ peer sends [identity, b"", body]; anything else is not this wire.
            if len(frames) != 3 or frames[1] != b"":
                _log.warning("protoipc: dropped a request of %d parts (not from a REQ)", len(frames))
                continue
            peer, body = frames[:2], frames[2]
            try:
                self._handle(loop, dispatcher, peer, body)
            except IpcError as e:
                # Bad input answers the original's "error" variant; the loop goes on serving.
                self._post_reply(peer, _error_reply(self._binding, e, self.format))
            except Exception as e:  # noqa: BLE001 - one bad request must not stop the server
                _log.exception("protoipc: a tagged request failed")
                err = IpcError(f"request failed: {e}", Code.INTERNAL)
                self._post_reply(peer, _error_reply(self._binding, err, self.format))

    def _handle(
        self,
        loop: asyncio.AbstractEventLoop,
        dispatcher: Dispatcher,
        peer: list[bytes],
        body: bytes,
    ) -> None:
        binding = self._binding
        request = decode_tagged(binding.requests, body, self.format)
        method = binding.method_by_request.get(request.DESCRIPTOR.full_name)
        if method is None or dispatcher.lookup(method.path) is None:
            raise IpcError(
                f"request {binding.requests.tags[request.DESCRIPTOR.full_name]} is not "
                "implemented",
                Code.UNIMPLEMENTED,
            )
        deadline = _now_ms() + dispatcher.timeout_ms(method)
        job = binding.jobs.get(method.path)
        if job is None:
            if self._cancel_job(binding, method, request, peer):
                return
            call = _TaggedCall(self, binding, method, peer, deadline, None)
        else:
            job_id = str(getattr(request, job.correlation_field.name)) or str(uuid.uuid4())
            setattr(request, job.correlation_field.name, job_id)
            if job_id in self._jobs:
                raise IpcError(f"job {job_id} is already running", Code.ALREADY_EXISTS)
            call = _TaggedCall(self, binding, method, peer, deadline, job_id)
            self._jobs[job_id] = call
            self._post_reply(
                peer, encode_tagged(binding.responses, create_marked(job.accepted, job_id), self.format)
            )
        self._calls.add(call)
        dispatcher.invoke(request, call)
        loop.call_soon(call.arm, loop)

    def _cancel_job(
        self,
        binding: TaggedService,
        method: MethodDescriptor[Any, Any, Any],
        request: Message,
        peer: list[bytes],
    ) -> bool:
        """Cancels a running job when ``request`` is its cancel request; answers it then."""
        if not any(j.cancel is method for j in binding.jobs.values()):
            return False
        job_id = correlation_of(request)
        call = None if job_id is None else self._jobs.get(job_id)
        if call is None or job_id is None:
            return False  # not running here: the handler decides (it may know other jobs)
        call.abort(IpcError(f"job {job_id} cancelled by a client", Code.CANCELED))
        self._post_reply(
            peer,
            encode_tagged(
                binding.responses, create_marked(method.output.DESCRIPTOR, job_id), self.format
            ),
        )
        return True

    async def _read_subscriptions(self, xpub: zmq.asyncio.Socket) -> None:
        """Echoes each confirmation token a client subscribes to (its subscription is in place
        once the XPUB has seen it, so the echo and every later update reach it)."""
        while True:
            try:
                frame = await xpub.recv()
            except (zmq.ZMQError, asyncio.CancelledError):
                return
            if frame[:1] == b"\x01" and frame[1:].startswith(SUBSCRIPTION_CONFIRM_PREFIX):
                await self._publish(frame[1:])

    def _post_reply(self, peer: list[bytes], body: bytes) -> None:
        router = self._router
        if router is None or self._closed:
            return
        asyncio.ensure_future(router.send_multipart([*peer, body])).add_done_callback(_log_failure)

    async def _publish(self, frame: bytes) -> None:
        """Publishes one frame, in order with every other (one lock, FIFO), waiting while a
        subscriber's queue is full (XPUB_NODROP reports EAGAIN then, and libzmq's POLLOUT stays
        set for XPUB, so the wait is a retry with a short backoff)."""
        async with self._publish_lock:
            delay = 0.0005
            while True:
                xpub = self._xpub_sync
                if xpub is None or self._closed:
                    raise IpcError("server closed", Code.UNAVAILABLE)
                try:
                    xpub.send(frame, zmq.NOBLOCK)
                    return
                except zmq.Again:
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, _PUBLISH_RECHECK_S)

    def _post_publish(self, frame: bytes) -> None:
        if self._xpub is None or self._closed:
            return
        asyncio.ensure_future(self._publish(frame)).add_done_callback(_log_failure)

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        err = IpcError("server closed", Code.UNAVAILABLE)
        for call in list(self._calls):
            call.abort(err)
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for s in (self._router, self._xpub):
            if s is not None:
                s.close(linger=0)
        self._router = self._xpub = None
        self._xpub_sync = None
        for path in self._ipc_files:
            with contextlib.suppress(OSError):
                os.unlink(path)


def _log_failure(fut: asyncio.Future[Any]) -> None:
    if not fut.cancelled() and fut.exception() is not None:
        _log.warning("protoipc: a tagged frame was not sent: %s", fut.exception())


def create_zmq_tagged_server_transport(
    service: ServiceDescriptor,
    *,
    bind: str,
    updates_bind: str,
    format: TaggedFormat = "msgpack",  # noqa: A002 - the TypeScript option's name
    max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES,
    context: zmq.asyncio.Context | None = None,
) -> ZmqTaggedServerTransport:
    """A server transport serving ``service`` on the tagged binding: requests on a ROUTER bound
    to ``bind`` (REQ clients see a REP), updates on an XPUB bound to ``updates_bind``
    (``tcp://127.0.0.1:*`` picks a free port; read ``address`` / ``updates_address``). Register
    the service's handler on the server that listens on it.

    Bad input (malformed MessagePack, unknown tag, missing discriminator, wrong field type, unknown
    method) is answered with the schema's request-level error variant (``"error"``) holding
    ``[invalid_argument] …`` or ``[unimplemented] …``; the server goes on serving. A unary
    handler's error is answered the same way; a job's error is published as the job error
    variant (``"job_error"``) then the job end (``"job_finished"``, ``success: false``); its
    result as the result variant (``"job_complete"``) then the job end (``success: true``). A
    request of the schema's cancel method for a job running here cancels the job's handler and is
    answered at once; for any other job it goes to the handler.

    :param service: the :class:`~protoipc.ServiceDescriptor` served (its schema declares the
        tagged unions: ``(protoipc.v1.service).tagged``)
    :param format: ``"msgpack"`` (default, the dgx-pixels wire) or ``"json"``, as the client's
        ``format``
    :param max_frame_bytes: largest frame accepted (ZMQ_MAXMSGSIZE), in bytes; default 4 MiB
    :param context: the ZeroMQ context; default ``zmq.asyncio.Context.instance()``
    :raises IpcError: ``Code.INTERNAL`` when the schema declares no tagged binding (binding errors
        surface from ``server.listen()`` as ``Code.UNAVAILABLE``)
    """
    return ZmqTaggedServerTransport(
        bind,
        updates_bind,
        binding=tagged_service(service),
        fmt=format,
        max_frame_bytes=max_frame_bytes,
        context=context,
    )
