"""protoipc: schema-first IPC for Python, on asyncio.

Generated ``<file>_ipc.py`` code builds :class:`ServiceDescriptor`\\ s and subclasses
:class:`ServiceHandler` and :class:`Client`; this package runs the calls: deadlines,
cancellation, progress, errors and heartbeats, byte-compatible with the TypeScript runtime.
Transports: :mod:`protoipc.zmq` (ZeroMQ, ``ipc://`` and ``tcp://``) and :mod:`protoipc.memory`
(in-process). See python/API.md for the contract with the generator.
"""

from protoipc.client import Client, ProgressCall, StreamCall
from protoipc.descriptor import (
    DEFAULT_TIMEOUT_MS,
    Idempotency,
    MethodDescriptor,
    MethodKind,
    ServiceDescriptor,
)
from protoipc.errors import Code, IpcError, code_to_string
from protoipc.interceptor import CallNext, CallRequest, Interceptor
from protoipc.memory import InMemoryTransport, create_in_memory_transport
from protoipc.server import CallContext, ProgressContext, Server, ServiceHandler, create_server
from protoipc.transport import ClientTransport, ServerTransport

__version__ = "0.1.0"

__all__ = [
    "DEFAULT_TIMEOUT_MS",
    "CallContext",
    "CallNext",
    "CallRequest",
    "Client",
    "ClientTransport",
    "Code",
    "Idempotency",
    "InMemoryTransport",
    "Interceptor",
    "IpcError",
    "MethodDescriptor",
    "MethodKind",
    "ProgressCall",
    "ProgressContext",
    "Server",
    "ServerTransport",
    "ServiceDescriptor",
    "ServiceHandler",
    "StreamCall",
    "code_to_string",
    "create_in_memory_transport",
    "create_server",
]
