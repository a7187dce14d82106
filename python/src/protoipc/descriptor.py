"""Descriptors: what generated ``<file>_ipc.py`` code builds for each service and method.

Everything the runtime needs to call or serve a method, mirroring
packages/runtime/src/descriptor.ts (``localName`` becomes :attr:`MethodDescriptor.local_name`,
in snake_case).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, Literal, TypeVar

from buf.validate import validate_pb2
from google.protobuf.message import Message

__all__ = [
    "DEFAULT_TIMEOUT_MS",
    "Idempotency",
    "MethodDescriptor",
    "MethodKind",
    "ServiceDescriptor",
]

MethodKind = Literal["unary", "server_streaming", "progress"]
"""Call semantics of a method.

- ``unary``: one request, one response.
- ``server_streaming``: one request, a stream of responses, then the end of the stream.
- ``progress``: one request, a stream of progress updates, then one final result.
"""

Idempotency = Literal["idempotency_unknown", "no_side_effects", "idempotent"]
"""The standard protobuf ``idempotency_level`` of a method."""

DEFAULT_TIMEOUT_MS = 30_000
"""Deadline of a call, in milliseconds, when neither caller, method nor service gives one."""

I = TypeVar("I", bound=Message)  # noqa: E741 - the contract's name for the request type
O = TypeVar("O", bound=Message)  # noqa: E741 - the contract's name for the response type
P = TypeVar("P", bound=Message | None)


@dataclass(frozen=True)
class MethodDescriptor(Generic[I, O, P]):
    """One rpc as generated code describes it.

    ``I`` is the request type, ``O`` the response (or stream item, or final result) type, ``P``
    the progress update type of a progress method (``None`` otherwise).
    """

    name: str
    """The rpc's name in the schema, e.g. ``"Generate"``."""
    local_name: str
    """The Python method name on client and handler, snake_case, e.g. ``"generate"``."""
    path: str
    """The full path the native binding sends, ``"/pixels.v1.PixelService/Generate"``."""
    kind: MethodKind
    """Call semantics."""
    input: type[I]
    """The request message class."""
    output: type[O]
    """The response message class (the item class of a server-streaming method)."""
    progress: type[P] | None
    """The progress update class of a progress method; ``None`` for other kinds."""
    idempotency: Idempotency
    """The method's ``idempotency_level``."""
    timeout_ms: int | None = None
    """Deadline when the caller gives none, in milliseconds; ``None``: the service's default."""
    wire_name: str | None = None
    """The method's name on an existing wire (option ``wire_name``), when set."""
    validate_input: Callable[[I], list[validate_pb2.Violation]] | None = None
    """The request's validator, generated from its ``buf.validate`` rules when it has any:
    returns the violations, empty when the request is valid. Clients run it before sending
    (unless ``validate=False``), servers on receipt before the handler; a violation fails the
    call with ``Code.INVALID_ARGUMENT``."""
    notification: bool = False
    """jsonrpc2: the method is a JSON-RPC notification (option ``notification``): sent without
    an id, resolved with an empty response once written; the server answers nothing."""


@dataclass(frozen=True)
class ServiceDescriptor:
    """A service as generated code describes it.

    :raises ValueError: (on construction) when two methods share a ``local_name`` or ``path``
    """

    type_name: str
    """The service's full name, e.g. ``"pixels.v1.PixelService"``."""
    schema_hash: str
    """Hex SHA-256 of the service's schema, identical to the TypeScript generator's value;
    exchanged in the native hello."""
    methods: tuple[MethodDescriptor[Any, Any, Any], ...]
    """The methods, in schema order."""
    binding: Literal["native", "tagged", "hydra", "jsonrpc2", "command_frame"] = "native"
    """The binding (option ``binding``): ``"native"`` (protobuf envelope), ``"tagged"`` (an
    existing system's discriminated MessagePack/JSON maps, PROTOCOLS.md §1), ``"hydra"`` (AI
    Hydra's JSON router envelope, PROTOCOLS.md §2), ``"jsonrpc2"`` (JSON-RPC 2.0,
    :mod:`protoipc.jsonrpc2`) or ``"command_frame"`` (JSON command frames,
    :mod:`protoipc.unix.command_frame`); transports may override it."""
    default_timeout_ms: int = DEFAULT_TIMEOUT_MS
    """Deadline for calls whose caller and method give none, in milliseconds; default 30 000."""
    wire_name: str | None = None
    """The service's name on an existing wire (option ``wire_name``), when set."""

    def __post_init__(self) -> None:
        local_names: set[str] = set()
        paths: set[str] = set()
        for m in self.methods:
            if m.local_name in local_names or m.path in paths:
                raise ValueError(f"method {m.local_name} is defined twice in {self.type_name}")
            local_names.add(m.local_name)
            paths.add(m.path)

    def method(self, local_name: str) -> MethodDescriptor[Any, Any, Any]:
        """The method with the given snake_case ``local_name``.

        :raises KeyError: when the service has no such method
        """
        for m in self.methods:
            if m.local_name == local_name:
                return m
        raise KeyError(f"{self.type_name} has no method {local_name!r}")
