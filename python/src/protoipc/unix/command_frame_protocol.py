"""The messages of the command-frame binding (PoppoBuilder, PROTOCOLS.md §4) and how protobuf
messages map to their JSON. Mirrors packages/unix/src/command-frame-protocol.ts and
command-frame-json.ts.

One UTF-8 JSON object per frame, tagged by ``type``, each with ``version`` and ``timestamp``.
Requests and results are proto3 JSON with the schema's json names (``projectId``); a message
with the option ``json_value_field`` stands for that field's whole JSON value; event names map
through the enum values' ``wire_name``.
"""

from __future__ import annotations

import json
import time
from typing import Any, cast

from google.protobuf import json_format
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message

from protoipc.errors import Code, IpcError
from protoipc.v1 import options_pb2

__all__ = [
    "AUTH_REQUIRED_MESSAGE",
    "COMMAND_FRAME_VERSION",
    "POPPO_MAGIC",
    "UNKNOWN_ERROR_CODE",
    "code_from_wire",
    "code_to_wire",
    "decode_command_frame_message",
    "encode_command_frame_message",
    "error_from_wire",
    "error_to_wire",
    "is_compatible_version",
    "event_from_wire",
    "event_to_wire",
    "message_from_wire",
    "message_to_wire",
]

POPPO_MAGIC = b"POPPO"
"""The 5 ASCII bytes every PoppoBuilder frame starts with."""

COMMAND_FRAME_VERSION = "1.0.0"
"""The protocol version every message carries."""

AUTH_REQUIRED_MESSAGE = "Authentication required"
"""The text of the ``error`` answering every message until ``auth`` succeeds."""

UNKNOWN_ERROR_CODE = "UNKNOWN_ERROR"
"""The ``code`` of an error reply that carries none (the daemon's default)."""


def is_compatible_version(version: object) -> bool:
    """Whether a message's ``version`` is one this implementation speaks: absent (lenient with
    peers that omit it) or a version with major 1."""
    return version is None or (isinstance(version, str) and version.split(".")[0] == "1")


def encode_command_frame_message(message: dict[str, Any], now_ms: int | None = None) -> bytes:
    """The frame payload of ``message``: UTF-8 JSON with ``version`` and ``timestamp``
    (milliseconds since the Unix epoch) added."""
    ts = int(time.time() * 1000) if now_ms is None else now_ms
    body = {**message, "version": COMMAND_FRAME_VERSION, "timestamp": ts}
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


def decode_command_frame_message(payload: bytes) -> dict[str, Any]:
    """Decodes one frame payload.

    :raises IpcError: ``Code.INVALID_ARGUMENT`` when the payload is not UTF-8, not JSON, not an
        object, or has no string ``type``
    """
    try:
        value = json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise IpcError(
            f"malformed command frame of {len(payload)} bytes: {e}", Code.INVALID_ARGUMENT
        ) from e
    if not isinstance(value, dict):
        raise IpcError("malformed command frame: not a JSON object", Code.INVALID_ARGUMENT)
    if not isinstance(value.get("type"), str):
        raise IpcError("malformed command frame: no string `type`", Code.INVALID_ARGUMENT)
    return value


def code_to_wire(code: Code) -> str:
    """The wire spelling of a code in an ``error`` reply: ``Code.NOT_FOUND`` → ``"NOT_FOUND"``."""
    return Code(code).name


def code_from_wire(code: object, message: object) -> Code:
    """The code of an ``error`` reply's ``code``: protoipc's spellings map back; anything else is
    ``Code.UNKNOWN``, except that an "Authentication required" reply is
    ``Code.UNAUTHENTICATED``."""
    if message == AUTH_REQUIRED_MESSAGE:
        return Code.UNAUTHENTICATED
    if isinstance(code, str) and code in Code.__members__:
        return Code[code]
    return Code.UNKNOWN


def error_from_wire(message: dict[str, Any]) -> IpcError:
    """The :class:`IpcError` an ``error`` message stands for; the reply may lack ``message``. The
    wire code is kept as metadata ``error-code``."""
    body = message.get("error")
    fields: dict[str, Any] = body if isinstance(body, dict) else {}
    wire_code = fields.get("code") if isinstance(fields.get("code"), str) else UNKNOWN_ERROR_CODE
    text = fields.get("message")
    if not isinstance(text, str) or text == "":
        text = f"error {wire_code} without a message"
    return IpcError(
        text,
        code_from_wire(fields.get("code"), fields.get("message")),
        metadata={"error-code": str(wire_code)},
    )


def error_to_wire(request_id: object, error: IpcError) -> dict[str, Any]:
    """The ``error`` message answering ``request_id`` (``None``: it answers no request)."""
    body = {"message": error.raw_message, "code": code_to_wire(error.code)}
    if request_id is None:
        return {"type": "error", "error": body}
    return {"type": "error", "id": request_id, "error": body}


# -- messages <-> JSON ----------------------------------------------------------------------------


def _value_field(desc: Descriptor) -> FieldDescriptor | None:
    name: str = desc.GetOptions().Extensions[cast(Any, options_pb2.message)].json_value_field
    if name == "":
        return None
    field = desc.fields_by_name.get(name)
    if field is None:
        raise IpcError(
            f'{desc.full_name} names json_value_field "{name}", which is not one of its fields',
            Code.INTERNAL,
        )
    return field


def message_to_wire(message: Message) -> Any:
    """The JSON of ``message``: its proto3 JSON object, or, with ``json_value_field``, that
    field's JSON (an empty object when unset)."""
    js = json_format.MessageToDict(message)
    field = _value_field(cast(Descriptor, message.DESCRIPTOR))
    if field is None:
        return js
    return js.get(field.json_name, {})


def message_from_wire(cls: type[Message], value: object) -> Message:
    """The message of type ``cls`` that ``value`` stands for; unknown keys are ignored; ``None``
    reads as the empty message.

    :raises IpcError: ``Code.INVALID_ARGUMENT`` naming the type when ``value`` does not fit
    """
    msg = cls()
    if value is None:
        return msg
    field = _value_field(cast(Descriptor, cls.DESCRIPTOR))
    js = value if field is None else {field.json_name: value}
    try:
        json_format.ParseDict(cast(Any, js), msg, ignore_unknown_fields=True)
    except (json_format.ParseError, TypeError, ValueError, AttributeError) as e:
        raise IpcError(
            f"cannot read {cls.DESCRIPTOR.full_name} from JSON: {e}", Code.INVALID_ARGUMENT
        ) from e
    return msg


def _wire_names(field: FieldDescriptor) -> dict[int, str]:
    out: dict[int, str] = {}
    if field.enum_type is None:
        return out
    for v in field.enum_type.values:
        wire: str = v.GetOptions().Extensions[cast(Any, options_pb2.enum_value)].wire_name
        out[v.number] = wire or v.name
    return out


def event_from_wire(cls: type[Message], message: dict[str, Any]) -> Message:
    """The event-stream item ``{event, data, id?}`` stands for; an enum ``event`` maps through
    the values' ``wire_name`` (an unknown name reads as 0).

    :raises IpcError: ``Code.INVALID_ARGUMENT`` when the message does not fit ``cls``
    """
    desc = cast(Descriptor, cls.DESCRIPTOR)
    event = desc.fields_by_name.get("event")
    js: dict[str, Any] = {}
    for f in desc.fields:
        if f is event:
            continue
        v = message.get(f.json_name, message.get(f.name))
        if v is not None:
            js[f.json_name] = v
    if event is not None and message.get("event") is not None:
        if event.enum_type is not None:
            by_name = {w: n for n, w in _wire_names(event).items()}
            js[event.json_name] = by_name.get(str(message["event"]), 0)
        else:
            js[event.json_name] = message["event"]
    return message_from_wire(cls, js)


def event_to_wire(item: Message) -> dict[str, Any]:
    """The ``event`` message fields (``event``, ``data``, ``id``...) of an event-stream item."""
    desc = cast(Descriptor, item.DESCRIPTOR)
    event = desc.fields_by_name.get("event")
    js = message_to_wire(item)
    if event is None or not isinstance(js, dict):
        return dict(js) if isinstance(js, dict) else {}
    out = {k: v for k, v in js.items() if k != event.json_name}
    value = getattr(item, event.name)
    if event.enum_type is not None:
        out["event"] = _wire_names(event).get(int(value), str(value))
    else:
        out["event"] = value
    return out
