"""The jsonrpc2 binding: JSON-RPC 2.0 (https://www.jsonrpc.org/specification) with LSP's
``$/cancelRequest`` and ``$/progress``, one UTF-8 JSON message per frame, over any frame channel
(over a stream socket with Content-Length framing, :mod:`protoipc.unix`).

Mirrors packages/runtime/src/jsonrpc2-*.ts and json-wire.ts, byte-compatible with them:

- method names: the rpc's ``wire_name`` (``system.ping``, ``fetch_jobs``), else
  ``pkg.Service/Method``;
- params and results: proto3 JSON with the schema's proto field names, enum values by their
  ``wire_name`` option, defaults written (``always_print_fields_with_no_presence``), unknown keys
  ignored when reading; a message with ``json_value_field`` stands for that field's JSON value
  (a bare array result); params may be named (an object) or positional (an array in field order);
- errors: -32700 … -32603 and LSP's -32800 (cancelled) mapped to and from :class:`Code`; other
  codes travel as ``-32000 - code``; ``data.code`` names the code;
- progress and server-streaming calls carry a ``workDoneToken`` in their params and receive
  ``$/progress`` notifications ``{token, value}``.
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections.abc import Callable, Mapping
from typing import Any, Literal

from google.protobuf import any_pb2, json_format
from google.protobuf.message import Message

from protoipc.descriptor import MethodDescriptor
from protoipc.errors import Code, IpcError, code_to_string
from protoipc.frames import ClientFrameChannel, FramePeer, ServerFrameChannel
from protoipc.transport import (
    AbortState,
    CallHandle,
    CallSink,
    ClientTransport,
    Dispatcher,
    OutgoingCall,
    ServerTransport,
)
from protoipc.v1 import options_pb2

__all__ = [
    "CANCEL_METHOD",
    "DEFAULT_PROGRESS_TOKEN_KEY",
    "JSONRPC_SERVER_ERROR_BASE",
    "PROGRESS_METHOD",
    "JsonRpcClientTransport",
    "JsonRpcErrorCode",
    "JsonRpcServerTransport",
    "code_to_jsonrpc",
    "from_positional_json",
    "from_wire_json",
    "jsonrpc_method_name",
    "jsonrpc_to_code",
    "to_positional_json",
    "to_wire_json",
]


CANCEL_METHOD = "$/cancelRequest"
"""The LSP notification that cancels a request: ``{id}``."""
PROGRESS_METHOD = "$/progress"
"""The LSP notification that carries a progress update: ``{token, value}``."""
DEFAULT_PROGRESS_TOKEN_KEY = "workDoneToken"
"""Default params key of a request's progress token (LSP's ``WorkDoneProgressParams``)."""
JSONRPC_SERVER_ERROR_BASE = -32000
"""A :class:`Code` without a JSON-RPC equivalent travels as ``-32000 - code``."""


class JsonRpcErrorCode:
    """JSON-RPC 2.0's and LSP's error codes."""

    PARSE_ERROR = -32700
    INVALID_REQUEST = -32600
    METHOD_NOT_FOUND = -32601
    INVALID_PARAMS = -32602
    INTERNAL_ERROR = -32603
    REQUEST_CANCELLED = -32800
    CONTENT_MODIFIED = -32801
    SERVER_CANCELLED = -32802
    REQUEST_FAILED = -32803


def code_to_jsonrpc(code: Code) -> int:
    """The JSON-RPC code for a :class:`Code`."""
    if code == Code.CANCELED:
        return JsonRpcErrorCode.REQUEST_CANCELLED
    if code == Code.INVALID_ARGUMENT:
        return JsonRpcErrorCode.INVALID_PARAMS
    if code == Code.UNIMPLEMENTED:
        return JsonRpcErrorCode.METHOD_NOT_FOUND
    if code == Code.INTERNAL:
        return JsonRpcErrorCode.INTERNAL_ERROR
    return JSONRPC_SERVER_ERROR_BASE - int(code)


def jsonrpc_to_code(code: int) -> Code:
    """The :class:`Code` for a JSON-RPC error code; unknown codes are ``Code.UNKNOWN``."""
    if code in (
        JsonRpcErrorCode.PARSE_ERROR,
        JsonRpcErrorCode.INVALID_REQUEST,
        JsonRpcErrorCode.INVALID_PARAMS,
    ):
        return Code.INVALID_ARGUMENT
    if code == JsonRpcErrorCode.METHOD_NOT_FOUND:
        return Code.UNIMPLEMENTED
    if code == JsonRpcErrorCode.INTERNAL_ERROR:
        return Code.INTERNAL
    if code in (JsonRpcErrorCode.REQUEST_CANCELLED, JsonRpcErrorCode.SERVER_CANCELLED):
        return Code.CANCELED
    if code == JsonRpcErrorCode.CONTENT_MODIFIED:
        return Code.ABORTED
    n = JSONRPC_SERVER_ERROR_BASE - code
    if 1 <= n <= 16:
        return Code(n)
    return Code.UNKNOWN


def _error_object(error: IpcError) -> dict[str, Any]:
    data: dict[str, Any] = {"code": code_to_string(error.code)}
    if error.details:
        data["details"] = [
            {"type_url": d.type_url, "value": base64.b64encode(d.value).decode()}
            for d in error.details
        ]
    return {"code": code_to_jsonrpc(error.code), "message": error.raw_message, "data": data}


def _to_error(obj: object) -> IpcError:
    if not isinstance(obj, dict):
        return IpcError(f"malformed json-rpc error {json.dumps(obj)}", Code.UNKNOWN)
    raw_code = obj.get("code")
    code = jsonrpc_to_code(raw_code) if isinstance(raw_code, int) else Code.UNKNOWN
    message = obj.get("message")
    details: list[any_pb2.Any] = []
    data = obj.get("data")
    if isinstance(data, dict) and isinstance(data.get("details"), list):
        for d in data["details"]:
            if isinstance(d, dict) and isinstance(d.get("type_url"), str):
                try:
                    details.append(
                        any_pb2.Any(type_url=d["type_url"], value=base64.b64decode(d["value"]))
                    )
                except (ValueError, TypeError):
                    continue
    return IpcError(
        message if isinstance(message, str) else f"json-rpc error {raw_code}",
        code,
        details=details,
    )


def jsonrpc_method_name(method: MethodDescriptor[Any, Any, Any]) -> str:
    """The JSON-RPC method name: ``wire_name``, else the path without its leading slash."""
    return method.wire_name or method.path[1:]


# proto3 JSON with wire names

# protoc's .pyi types extensions loosely; these are the protoipc.v1 option extensions.
_MESSAGE_EXT: Any = options_pb2.message
_ENUM_VALUE_EXT: Any = options_pb2.enum_value
_OBJECT_WKTS = {"google.protobuf.Struct", "google.protobuf.Empty", "google.protobuf.Any"}
_enum_maps: dict[str, tuple[dict[str, str], dict[str, str]] | None] = {}
_adapt_cache: dict[str, bool] = {}


def _json_value_field(desc: Any) -> Any:
    opts = desc.GetOptions()
    if not opts.HasExtension(_MESSAGE_EXT):
        return None
    name: str = opts.Extensions[_MESSAGE_EXT].json_value_field
    if not name:
        return None
    field = desc.fields_by_name.get(name)
    if field is None:
        raise IpcError(
            f"{desc.full_name} names json_value_field {name}, which it does not have",
            Code.INTERNAL,
        )
    return field


def _is_wkt(desc: Any) -> bool:
    return str(desc.full_name).startswith("google.protobuf.")


def is_object_json(desc: Any) -> bool:
    """Whether the proto3 JSON of ``desc`` is an object (not for most well-known types, nor for
    messages with ``json_value_field``)."""
    if _is_wkt(desc):
        return desc.full_name in _OBJECT_WKTS
    return _json_value_field(desc) is None


def _enum_map(desc: Any) -> tuple[dict[str, str], dict[str, str]] | None:
    key = desc.full_name
    if key in _enum_maps:
        return _enum_maps[key]
    to_wire: dict[str, str] = {}
    for v in desc.values:
        opts = v.GetOptions()
        if opts.HasExtension(_ENUM_VALUE_EXT):
            wire: str = opts.Extensions[_ENUM_VALUE_EXT].wire_name
            if wire:
                to_wire[v.name] = wire
    result = (to_wire, {w: n for n, w in to_wire.items()}) if to_wire else None
    _enum_maps[key] = result
    return result


def _needs_adapt(desc: Any, seen: set[str] | None = None) -> bool:
    key = desc.full_name
    if key in _adapt_cache:
        return _adapt_cache[key]
    seen = seen if seen is not None else set()
    if key in seen or _is_wkt(desc):
        return False
    seen.add(key)
    needs = False
    for f in desc.fields:
        if f.enum_type is not None and _enum_map(f.enum_type) is not None:
            needs = True
        if f.message_type is not None and _needs_adapt(f.message_type, seen):
            needs = True
    _adapt_cache[key] = needs
    return needs


def _rename(f: Any, v: Any, to_wire: bool) -> Any:
    if f.enum_type is not None:
        m = _enum_map(f.enum_type)
        if m is None or not isinstance(v, str):
            return v
        return (m[0] if to_wire else m[1]).get(v, v)
    mt = f.message_type
    if mt is not None and _needs_adapt(mt):
        if mt.GetOptions().map_entry:
            value_field = mt.fields_by_name["value"]
            if isinstance(v, dict):
                return {k: _rename(value_field, x, to_wire) for k, x in v.items()}
            return v
        return _adapt(mt, v, to_wire)
    return v


def _adapt(desc: Any, obj: Any, to_wire: bool) -> Any:
    if not isinstance(obj, dict):
        return obj
    for f in desc.fields:
        keys = [f.name] if to_wire else [f.name, f.json_name]
        for key in keys:
            v = obj.get(key)
            if v is None:
                continue
            if f.is_repeated and isinstance(v, list):
                obj[key] = [_rename(f, x, to_wire) for x in v]
            else:
                obj[key] = _rename(f, v, to_wire)
    return obj


def to_wire_json(message: Message, *, emit_defaults: bool = True) -> Any:
    """``message`` as the JSON value an existing peer expects (see the module docs).

    :raises IpcError: ``Code.INTERNAL`` when it cannot be written
    """
    desc = message.DESCRIPTOR
    try:
        js: Any = json_format.MessageToDict(
            message,
            preserving_proto_field_name=True,
            always_print_fields_with_no_presence=emit_defaults,
        )
    except Exception as e:  # noqa: BLE001 - json_format raises several types
        raise IpcError(f"cannot write {desc.full_name} as json: {e}", Code.INTERNAL) from e
    if _needs_adapt(desc):
        js = _adapt(desc, js, True)
    field = _json_value_field(desc)
    if field is not None:
        default: Any = [] if field.is_repeated else None
        return js.get(field.name, default) if isinstance(js, dict) else js
    return js


def from_wire_json(cls: type[Message], js: Any) -> Message:
    """Reads a message of ``cls`` from the JSON value a peer sent: proto or JSON field names,
    enum values by wire name or proto name, unknown keys ignored; ``None`` is the empty message.

    :raises IpcError: ``Code.INVALID_ARGUMENT`` when the value does not fit the schema
    """
    desc = cls.DESCRIPTOR
    field = _json_value_field(desc)
    value: Any = js
    if field is not None:
        value = {} if value is None else {field.name: value}
    elif value is None:
        return cls()
    elif is_object_json(desc) and not isinstance(value, dict):
        kind = "an array" if isinstance(value, list) else type(value).__name__
        raise IpcError(f"expected a JSON object for {desc.full_name}, got {kind}", Code.INVALID_ARGUMENT)
    if (field is not None or is_object_json(desc)) and _needs_adapt(desc):
        value = _adapt(desc, json.loads(json.dumps(value)), False)
    try:
        return json_format.ParseDict(value, cls(), ignore_unknown_fields=True)
    except json_format.ParseError as e:
        raise IpcError(f"invalid {desc.full_name}: {e}", Code.INVALID_ARGUMENT) from e


def from_positional_json(cls: type[Message], items: list[Any]) -> Message:
    """Reads positional params: items are the fields of ``cls`` in declaration order.

    :raises IpcError: ``Code.INVALID_ARGUMENT`` when there are more items than fields
    """
    fields = cls.DESCRIPTOR.fields
    if len(items) > len(fields):
        raise IpcError(
            f"{len(items)} positional params exceed the {len(fields)} fields of "
            f"{cls.DESCRIPTOR.full_name}",
            Code.INVALID_ARGUMENT,
        )
    obj = {fields[i].name: item for i, item in enumerate(items) if item is not None}
    return from_wire_json(cls, obj)


def to_positional_json(message: Message) -> list[Any]:
    """``message`` as positional params: its fields' JSON values in declaration order."""
    obj = to_wire_json(message, emit_defaults=False)
    out = [obj.get(f.name) for f in message.DESCRIPTOR.fields]
    while out and out[-1] is None:
        out.pop()
    return out


def _encode(msg: Mapping[str, Any]) -> bytes:
    return json.dumps(msg, separators=(",", ":"), ensure_ascii=False).encode()


def _now_ms() -> int:
    return int(time.time() * 1000)


# Client


class _PendingCall:
    __slots__ = ("_client", "id", "method", "sink", "token")

    def __init__(
        self,
        client: JsonRpcClientTransport,
        call_id: int,
        method: MethodDescriptor[Any, Any, Any],
        sink: CallSink,
        token: str | None,
    ) -> None:
        self._client = client
        self.id = call_id
        self.method = method
        self.sink = sink
        self.token = token

    def cancel(self, reason: IpcError) -> None:
        self._client._cancel(self)


class _Noop:
    def cancel(self, reason: IpcError) -> None:
        pass


_NOOP = _Noop()


class JsonRpcClientTransport(ClientTransport):
    """The client side of the jsonrpc2 binding on a frame channel; owns ``channel``.

    Each call is a request with a numeric id; cancellation and deadlines send
    ``$/cancelRequest``; progress and server-streaming calls put a token under
    ``progress_token_key`` and receive ``$/progress`` notifications. JSON-RPC has no metadata:
    request metadata stays local. When the channel reports its connection closed, pending
    calls fail with ``Code.UNAVAILABLE``.

    :param params: send params named (an object, default) or positional (an array in field
        order); progress and streaming calls always send named params
    """

    def __init__(
        self,
        channel: ClientFrameChannel,
        *,
        params: Literal["named", "positional"] = "named",
        progress_token_key: str = DEFAULT_PROGRESS_TOKEN_KEY,
    ) -> None:
        self._channel = channel
        self._params = params
        self._token_key = progress_token_key
        self._calls: dict[int, _PendingCall] = {}
        self._by_token: dict[str, _PendingCall] = {}
        self._next_id = 1
        self._started = False
        self._closed = False

    def start(self, call: OutgoingCall, sink: CallSink) -> CallHandle:
        if self._closed:
            sink.on_error(IpcError("transport is closed", Code.UNAVAILABLE))
            return _NOOP
        if not self._started:
            self._started = True
            self._channel.start(self)
        method = call.method
        call_id = self._next_id
        self._next_id += 1
        token = None if method.kind == "unary" else f"protoipc-{call_id}"
        desc = call.message.DESCRIPTOR
        try:
            params: Any
            if self._params == "positional" and token is None:
                params = (
                    to_positional_json(call.message)
                    if is_object_json(desc)
                    else [to_wire_json(call.message)]
                )
            else:
                js = to_wire_json(call.message)
                params = js if is_object_json(desc) else {"value": js}
                if token is not None:
                    params[self._token_key] = token
            request: dict[str, Any] = {"jsonrpc": "2.0", "id": call_id}
            if method.notification:
                del request["id"]
            request["method"] = jsonrpc_method_name(method)
            request["params"] = params
            frame = _encode(request)
        except IpcError as e:
            sink.on_error(e)
            return _NOOP
        if method.notification:
            # No response will come: the call is done once the frame is queued.
            try:
                self._channel.post(frame)
            except IpcError as e:
                sink.on_error(e)
                return _NOOP
            sink.on_result(method.output())
            return _NOOP
        pending = _PendingCall(self, call_id, method, sink, token)
        self._calls[call_id] = pending
        if token is not None:
            self._by_token[token] = pending
        try:
            self._channel.post(frame)
        except IpcError as e:
            self._take(pending)
            sink.on_error(e)
            return _NOOP
        return pending

    def _take(self, p: _PendingCall) -> bool:
        if self._calls.get(p.id) is not p:
            return False
        del self._calls[p.id]
        if p.token is not None:
            self._by_token.pop(p.token, None)
        return True

    def _cancel(self, p: _PendingCall) -> None:
        if not self._take(p) or self._closed:
            return
        try:
            self._channel.post(
                _encode({"jsonrpc": "2.0", "method": CANCEL_METHOD, "params": {"id": p.id}})
            )
        except IpcError:
            pass  # The connection is gone, so is the call.

    # ClientFrameHandlers

    def on_frame_error(self, error: IpcError) -> None:
        self._fail_all(error)

    def on_closed(self) -> None:
        """The channel's connection closed: fail what was sent on it."""
        self._fail_all(IpcError("connection to the server closed", Code.UNAVAILABLE))

    def on_frame(self, frame: bytes) -> None:
        try:
            msg = json.loads(frame)
        except ValueError:
            return
        for m in msg if isinstance(msg, list) else [msg]:
            self._on_message(m)

    def _on_message(self, m: object) -> None:
        if not isinstance(m, dict):
            return
        method = m.get("method")
        if isinstance(method, str):
            if method == PROGRESS_METHOD:
                self._on_progress(m.get("params"))
            elif m.get("id") is not None:
                self._post_quietly(
                    {
                        "jsonrpc": "2.0",
                        "id": m["id"],
                        "error": {
                            "code": JsonRpcErrorCode.METHOD_NOT_FOUND,
                            "message": f"method {method} is not served by this client",
                        },
                    }
                )
            return
        call_id = m.get("id")
        if not isinstance(call_id, int):
            return
        p = self._calls.get(call_id)
        if p is None or not self._take(p):
            return
        if "error" in m:
            p.sink.on_error(_to_error(m["error"]))
            return
        if p.method.kind == "server_streaming":
            p.sink.on_result(None)
            return
        try:
            out = from_wire_json(p.method.output, m.get("result"))
        except IpcError as e:
            p.sink.on_error(
                IpcError(
                    f"response of {jsonrpc_method_name(p.method)} does not fit "
                    f"{p.method.output.DESCRIPTOR.full_name}: {e.raw_message}",
                    Code.INTERNAL,
                )
            )
            return
        p.sink.on_result(out)

    def _on_progress(self, params: object) -> None:
        if not isinstance(params, dict):
            return
        token = params.get("token")
        if not isinstance(token, (str, int)):
            return
        p = self._by_token.get(str(token))
        if p is None:
            return
        cls = p.method.progress if p.method.kind == "progress" else p.method.output
        assert cls is not None
        try:
            update = from_wire_json(cls, params.get("value"))
        except IpcError as e:
            self._cancel(p)
            p.sink.on_error(IpcError(f"progress does not fit: {e.raw_message}", Code.INTERNAL))
            return
        p.sink.on_update(update)

    def _post_quietly(self, msg: Mapping[str, Any]) -> None:
        try:
            self._channel.post(_encode(msg))
        except IpcError:
            pass

    def _fail_all(self, error: IpcError) -> None:
        for p in list(self._calls.values()):
            if self._take(p):
                p.sink.on_error(error)

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._fail_all(IpcError("transport is closed", Code.UNAVAILABLE))
        await self._channel.aclose()


# Server


class _PeerState:
    __slots__ = ("calls", "peer")

    def __init__(self, peer: FramePeer) -> None:
        self.peer = peer
        self.calls: dict[str | int, _ServerCall] = {}


class _ServerCall(AbortState):
    """A call being served; an :class:`~protoipc.transport.IncomingCall`."""

    def __init__(
        self,
        server: JsonRpcServerTransport,
        st: _PeerState,
        call_id: str | int | None,
        method: MethodDescriptor[Any, Any, Any],
        token: Any,
        deadline_unix_ms: int,
    ) -> None:
        self._server = server
        self._st = st
        self.id = call_id
        self.method = method
        self.token = token
        self.deadline_unix_ms = deadline_unix_ms
        self.metadata: Mapping[str, str] = {}
        self.done = False
        self._reason: IpcError | None = None
        self._callbacks: list[Callable[[IpcError], None]] = []
        self._timer: asyncio.TimerHandle | None = None

    @property
    def peer(self) -> str:
        return self._st.peer.key

    def arm(self, loop: asyncio.AbstractEventLoop) -> None:
        delay = max(0.0, (self.deadline_unix_ms - _now_ms()) / 1000)
        self._timer = loop.call_later(delay, self._on_deadline)

    def abort(self, reason: IpcError, *, answer: bool = True) -> None:
        """Ends the call with ``reason`` (answered to the client) and cancels the handler."""
        if self.done:
            return
        if answer:
            self.error(reason)
        else:
            self._end()
        self._notify_abort(reason, self.method.path)

    def _on_deadline(self) -> None:
        self._timer = None
        self.abort(
            IpcError(
                f"deadline exceeded serving {jsonrpc_method_name(self.method)}",
                Code.DEADLINE_EXCEEDED,
            )
        )

    async def update(self, message: Message) -> None:
        if self.done:
            raise self._reason or IpcError("call has ended", Code.CANCELED)
        if self.token is None:
            return
        await self._server._channel.send(
            self._st.peer,
            _encode(
                {
                    "jsonrpc": "2.0",
                    "method": PROGRESS_METHOD,
                    "params": {"token": self.token, "value": to_wire_json(message)},
                }
            ),
        )

    def result(self, message: Message | None) -> None:
        if self.done:
            return
        self._end()
        if self.id is None:
            return
        try:
            result = None if message is None else to_wire_json(message)
        except IpcError as e:
            self._server._reply(self._st.peer, self.id, error=_error_object(e))
            return
        self._server._reply(self._st.peer, self.id, result=result)

    def error(self, error: IpcError) -> None:
        if self.done:
            return
        self._end()
        if self.id is not None:
            self._server._reply(self._st.peer, self.id, error=_error_object(error))

    def _end(self) -> None:
        self.done = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self.id is not None:
            self._st.calls.pop(self.id, None)


_MISSING = object()


class JsonRpcServerTransport(ServerTransport):
    """The server side of the jsonrpc2 binding on a frame channel; owns ``channel``.

    Requests are routed by JSON-RPC method name (``wire_name``, else ``pkg.Service/Method``);
    notifications run their handler without a response; ``$/cancelRequest`` cancels the handler
    and answers RequestCancelled (-32800); progress updates go out as ``$/progress`` for the
    request's token. Bad JSON, bad requests, unknown methods and bad params get their JSON-RPC
    error and the connection keeps serving.

    :param max_calls_per_peer: most calls in flight per connection; default 4096
    """

    def __init__(
        self,
        channel: ServerFrameChannel,
        *,
        progress_token_key: str = DEFAULT_PROGRESS_TOKEN_KEY,
        max_calls_per_peer: int = 4096,
    ) -> None:
        self._channel = channel
        self._token_key = progress_token_key
        self._max_calls = max_calls_per_peer
        self._peers: dict[str, _PeerState] = {}
        self._dispatcher: Dispatcher | None = None
        self._routes: dict[str, MethodDescriptor[Any, Any, Any]] = {}
        self._routed = -1
        self._closed = False
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def channel(self) -> ServerFrameChannel:
        """The frame channel."""
        return self._channel

    async def listen(self, dispatcher: Dispatcher) -> None:
        if self._dispatcher is not None:
            raise IpcError("server transport is already listening", Code.FAILED_PRECONDITION)
        self._dispatcher = dispatcher
        self._loop = asyncio.get_running_loop()
        await self._channel.start(self)

    def _route(self, name: str) -> MethodDescriptor[Any, Any, Any] | None:
        hit = self._routes.get(name)
        if hit is not None:
            return hit
        d = self._dispatcher
        if d is None:
            return None
        methods_fn = getattr(d, "methods", None)
        methods: list[MethodDescriptor[Any, Any, Any]] = list(methods_fn()) if callable(methods_fn) else []
        if len(methods) != self._routed:
            self._routed = len(methods)
            self._routes = {jsonrpc_method_name(m): m for m in methods}
            hit = self._routes.get(name)
            if hit is not None:
                return hit
        return d.lookup(name if name.startswith("/") else f"/{name}")

    def _reply(
        self,
        peer: FramePeer,
        call_id: str | int | None,
        *,
        result: Any = _MISSING,
        error: Mapping[str, Any] | None = None,
    ) -> None:
        msg: dict[str, Any] = {"jsonrpc": "2.0", "id": call_id}
        if error is not None:
            msg["error"] = error
        else:
            msg["result"] = None if result is _MISSING else result
        frame = _encode(msg)
        if len(frame) > self._channel.max_frame_bytes and error is None:
            err = IpcError(
                f"response of {len(frame)} bytes exceeding maxFrameBytes "
                f"{self._channel.max_frame_bytes}",
                Code.RESOURCE_EXHAUSTED,
            )
            frame = _encode({"jsonrpc": "2.0", "id": call_id, "error": _error_object(err)})
        try:
            self._channel.post(peer, frame)
        except IpcError:
            pass  # The peer is gone or the server closed.

    # ServerFrameHandlers

    def on_frame_error(self, peer: FramePeer, error: IpcError, head: bytes) -> None:
        self._reply(
            peer, None, error={"code": JsonRpcErrorCode.PARSE_ERROR, "message": error.raw_message}
        )

    def on_peer_closed(self, peer: FramePeer) -> None:
        """The connection of ``peer`` closed: cancel its calls."""
        st = self._peers.pop(peer.key, None)
        if st is None:
            return
        for call in list(st.calls.values()):
            call.abort(IpcError("client disconnected", Code.CANCELED), answer=False)

    def on_frame(self, peer: FramePeer, frame: bytes) -> None:
        try:
            msg = json.loads(frame)
        except ValueError as e:
            self._reply(
                peer, None, error={"code": JsonRpcErrorCode.PARSE_ERROR, "message": f"parse error: {e}"}
            )
            return
        if isinstance(msg, list):
            # JSON-RPC batches are not used by LSP-style peers (nor by crystalmath): refused.
            self._reply(
                peer,
                None,
                error={
                    "code": JsonRpcErrorCode.INVALID_REQUEST,
                    "message": "batch requests are not supported",
                },
            )
            return
        self._on_message(peer, msg)

    def _on_message(self, peer: FramePeer, m: object) -> None:
        if not isinstance(m, dict):
            self._reply(
                peer,
                None,
                error={"code": JsonRpcErrorCode.INVALID_REQUEST, "message": "request is not a json object"},
            )
            return
        raw_id = m.get("id")
        if raw_id is not None and (isinstance(raw_id, bool) or not isinstance(raw_id, (str, int, float))):
            self._reply(
                peer,
                None,
                error={"code": JsonRpcErrorCode.INVALID_REQUEST, "message": "id must be a string or a number"},
            )
            return
        call_id: str | int | None = raw_id if isinstance(raw_id, (str, int)) else None
        method = m.get("method")
        if method is None and ("result" in m or "error" in m):
            return
        if m.get("jsonrpc") != "2.0" or not isinstance(method, str):
            if "id" in m:
                why = 'jsonrpc must be "2.0"' if m.get("jsonrpc") != "2.0" else "method must be a string"
                self._reply(
                    peer, call_id, error={"code": JsonRpcErrorCode.INVALID_REQUEST, "message": why}
                )
            return
        st = self._peers.get(peer.key)
        if st is None:
            st = _PeerState(peer)
            self._peers[peer.key] = st
        if method == CANCEL_METHOD:
            params = m.get("params")
            target = params.get("id") if isinstance(params, dict) else None
            if isinstance(target, (str, int)):
                call = st.calls.get(target)
                if call is not None:
                    call.abort(IpcError("request cancelled by the client", Code.CANCELED))
            return
        if method.startswith("$/"):
            if call_id is not None:
                self._reply(
                    peer,
                    call_id,
                    error={
                        "code": JsonRpcErrorCode.METHOD_NOT_FOUND,
                        "message": f"method {method} is not supported",
                    },
                )
            return
        self._on_request(st, call_id, method, m.get("params"))

    def _on_request(self, st: _PeerState, call_id: str | int | None, name: str, params: Any) -> None:
        peer = st.peer

        def fail(code: int, message: str) -> None:
            if call_id is not None:
                self._reply(peer, call_id, error={"code": code, "message": message})

        d = self._dispatcher
        loop = self._loop
        if d is None or loop is None or self._closed:
            if call_id is not None:
                self._reply(
                    peer, call_id, error=_error_object(IpcError("server is closing", Code.UNAVAILABLE))
                )
            return
        method = self._route(name)
        if method is None:
            fail(JsonRpcErrorCode.METHOD_NOT_FOUND, f"method {name} not found")
            return
        if call_id is not None and call_id in st.calls:
            fail(JsonRpcErrorCode.INVALID_REQUEST, f"request id {json.dumps(call_id)} is already in flight")
            return
        if len(st.calls) >= self._max_calls:
            if call_id is not None:
                self._reply(
                    peer,
                    call_id,
                    error=_error_object(
                        IpcError(
                            f"{len(st.calls)} calls in flight exceed maxCallsPerPeer {self._max_calls}",
                            Code.RESOURCE_EXHAUSTED,
                        )
                    ),
                )
            return
        cls = method.input
        desc = cls.DESCRIPTOR
        token: Any = None
        try:
            object_json = is_object_json(desc)
            if isinstance(params, list) and (object_json or _json_value_field(desc) is None):
                if object_json:
                    request = from_positional_json(cls, params)
                elif len(params) == 1:
                    request = from_wire_json(cls, params[0])
                else:
                    raise IpcError(
                        f"expected 1 positional param for {desc.full_name}, got {len(params)}",
                        Code.INVALID_ARGUMENT,
                    )
            elif not object_json and _json_value_field(desc) is not None:
                request = from_wire_json(cls, params)
            else:
                if isinstance(params, dict):
                    if self._token_key in params:
                        params = dict(params)
                        token = params.pop(self._token_key)
                elif params is not None:
                    raise IpcError("params must be an object, an array or null", Code.INVALID_ARGUMENT)
                value = params if object_json else (params or {}).get("value")
                request = from_wire_json(cls, value)
        except IpcError as e:
            fail(JsonRpcErrorCode.INVALID_PARAMS, f"invalid params for {name}: {e.raw_message}")
            return
        deadline = _now_ms() + d.timeout_ms(method)
        call = _ServerCall(self, st, call_id, method, token, deadline)
        if call_id is not None:
            st.calls[call_id] = call
        call.arm(loop)
        d.invoke(request, call)

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        for st in list(self._peers.values()):
            for call in list(st.calls.values()):
                call.abort(IpcError("server is closing", Code.UNAVAILABLE))
        self._peers.clear()
        await self._channel.aclose()
