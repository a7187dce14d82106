"""Interceptors: one type for both sides, as in connect-es, to observe or change calls (logging,
metrics, auth metadata, error mapping).

Mirrors ``Interceptor`` in packages/runtime/src/call.ts::

    def log_calls(next: CallNext) -> CallNext:
        async def run(request: CallRequest) -> Message | None:
            print("calling", request.method.path)
            return await next(request)
        return run

An interceptor runs in the task of the call: on the client, the caller's task (unary) or the
call's own task (progress, server streaming); on the server, the handler's task. Cancelling the
call cancels that task, so ``await next(request)`` raises :class:`asyncio.CancelledError`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal

from google.protobuf.message import Message

from protoipc.descriptor import MethodDescriptor

__all__ = ["CallNext", "CallRequest", "Interceptor"]


@dataclass(slots=True)
class CallRequest:
    """One call, as interceptors see it. Client interceptors may replace ``message`` and change
    ``metadata`` before calling ``next``; server interceptors see the decoded request."""

    side: Literal["client", "server"]
    """Which side runs the interceptor."""
    method: MethodDescriptor[Any, Any, Any]
    """The method called."""
    message: Message
    """The request message."""
    deadline: float
    """Absolute deadline, seconds since the epoch (the ``time.time()`` clock)."""
    metadata: dict[str, str]
    """Request metadata (headers), keys lowercase; mutable on the client side."""
    peer: str = ""
    """On the server side, the caller (e.g. a ZeroMQ routing id in hex); empty on the client."""


CallNext = Callable[[CallRequest], Awaitable[Message | None]]
"""Runs the call (or the next interceptor): returns the final result message (unary or
progress), or ``None`` when a server stream ends; raises an IpcError. Progress updates and stream
items flow past interceptors."""

Interceptor = Callable[[CallNext], CallNext]
"""Wraps ``next`` to observe or change a call. Interceptors are given outermost first."""
