"""AI Hydra's router envelope and the JSON shape of its payloads (PROTOCOLS.md §2; ai_hydra @
6cf4dc5 router_constants.py, validation.py), writing the same bytes as the TypeScript encoder
(packages/router/src/hydra-envelope.ts and hydra-json.ts):

```
peer -> router:    {sender, elem, data, client_id, timestamp, request_id?}
router -> server:  {sender: "HydraClient", elem, data}       (Hydra strips the rest)
router -> clients: {sender: "HydraServer", elem, data}
router -> sender:  {status: "ok"} | {error: "No AI Hydra server connected"}
```

JSON is written as Python's ``json.dumps`` writes it by default (``", "`` and ``": "``
separators, non-ASCII escaped as ``\\uXXXX``, keys in insertion order), except numbers, which are
written in JavaScript's shortest form (``5`` for the float ``5.0``, ``1e-7``) so both languages
give identical bytes for the same values.

Payloads: objects keyed by the proto field names (Hydra's own snake_case), ``json_tuple``
messages as arrays (``[x, y]``), enums by their ``wire_name``, int64 as JSON numbers, bytes as
base64. Every field is written, zero values included, except unset ``optional`` and message
fields. Unknown keys are ignored when reading.
"""

from __future__ import annotations

import base64
import functools
import json
import math
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

from protoipc.errors import Code, IpcError
from protoipc.v1 import options_pb2

__all__ = [
    "HYDRA_ELEMS",
    "HYDRA_MAX_TIMESTAMP",
    "HYDRA_NO_SERVER",
    "HYDRA_NO_SERVER_REPLY",
    "HYDRA_OK",
    "HydraIncoming",
    "HydraSender",
    "encode_hydra_envelope",
    "encode_hydra_forward",
    "encode_python_json",
    "message_from_hydra_json",
    "message_to_hydra_json",
    "message_wire_name",
    "parse_hydra_incoming",
]

HydraSender = Literal["HydraClient", "HydraServer", "HydraRouter"]
"""The ``sender`` of an envelope."""

HYDRA_ELEMS: tuple[str, ...] = (
    "heartbeat", "status", "error", "ok",
    "start_simulation", "stop_simulation", "pause_simulation", "resume_simulation",
    "reset_simulation", "simulation_started", "simulation_stopped", "simulation_paused",
    "simulation_resumed", "simulation_reset", "get_status", "status_update",
    "game_state_update", "performance_update", "get_config", "set_config", "config_update",
)  # fmt: skip
"""Every elem Hydra's router accepts (router_constants.py), in its order."""

_SENDERS = frozenset({"HydraClient", "HydraServer", "HydraRouter"})

HYDRA_MAX_TIMESTAMP = 4_102_444_800
"""Largest ``timestamp`` Hydra accepts: 2100-01-01T00:00:00Z, in seconds."""

HYDRA_NO_SERVER = "No AI Hydra server connected"
"""What Hydra's router answers a client with when no server is registered."""


# -- JSON text -------------------------------------------------------------------------------


def _js_number(v: float) -> str:
    """A float as JavaScript's ``Number.prototype.toString`` writes it (ECMA-262 Number::toString):
    the shortest round-trip digits (Python's ``repr`` finds the same ones), in plain notation for
    decimal exponents -6..20 and ``d.ddde±n`` outside."""
    if not math.isfinite(v):
        return "null"  # JSON has no NaN/Infinity; the TS encoder writes null too.
    if v == 0:
        return "0"
    sign = "-" if v < 0 else ""
    mantissa, _, exp_text = repr(abs(v)).partition("e")
    int_part, _, frac_part = mantissa.partition(".")
    digits = (int_part + frac_part).lstrip("0")
    # Decimal exponent n such that value = 0.d1d2... * 10**n.
    n = len(int_part) + (int(exp_text) if exp_text else 0)
    if int_part == "0":
        n = -(len(frac_part) - len(frac_part.lstrip("0")))
    digits = digits.rstrip("0") or "0"
    k = len(digits)
    if k <= n <= 21:
        return sign + digits + "0" * (n - k)
    if 0 < n <= 21:
        return sign + digits[:n] + "." + digits[n:]
    if -6 < n <= 0:
        return sign + "0." + "0" * (-n) + digits
    e = n - 1
    exp = f"e{'+' if e >= 0 else '-'}{abs(e)}"
    return sign + digits[0] + ("." + digits[1:] if k > 1 else "") + exp


def _dumps(v: Any) -> str:
    if v is None:
        return "null"
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return _js_number(v)
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_dumps(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{json.dumps(str(k))}: {_dumps(x)}" for k, x in v.items()) + "}"
    raise TypeError(f"{type(v).__name__} is not a JSON value")


def encode_python_json(value: Any) -> bytes:
    """A JSON value as Python's ``json.dumps(value)`` writes it (default separators,
    ``ensure_ascii``), numbers in JavaScript's shortest form: the bytes the TypeScript
    ``encodePythonJson`` writes for the same value."""
    return _dumps(value).encode("ascii")


def encode_hydra_envelope(
    sender: HydraSender,
    elem: str,
    data: dict[str, Any],
    client_id: str,
    timestamp: float,
    request_id: str | None = None,
    *,
    with_request_id: bool | None = None,
) -> bytes:
    """A peer's envelope ``{sender, elem, data, client_id, timestamp, request_id?}``;
    ``request_id`` is written when given (``with_request_id=True`` writes it even as ``null``)."""
    o: dict[str, Any] = {
        "sender": sender,
        "elem": elem,
        "data": data,
        "client_id": client_id,
        "timestamp": timestamp,
    }
    if request_id is not None or with_request_id:
        o["request_id"] = request_id
    return encode_python_json(o)


def encode_hydra_forward(
    sender: HydraSender, elem: str, data: Any, request_id: str | None = None
) -> bytes:
    """A forward from the router: ``{sender, elem, data}``, plus ``request_id`` when protoipc's
    router keeps it (Hydra's own router strips it)."""
    o: dict[str, Any] = {"sender": sender, "elem": elem, "data": data}
    if request_id is not None:
        o["request_id"] = request_id
    return encode_python_json(o)


HYDRA_OK = encode_python_json({"status": "ok"})
"""``{"status": "ok"}``, the router's answer to a client's message."""

HYDRA_NO_SERVER_REPLY = encode_python_json({"error": HYDRA_NO_SERVER})
"""``{"error": "No AI Hydra server connected"}``."""


@dataclass(frozen=True, slots=True)
class HydraIncoming:
    """What the router sends a peer: ``kind == "message"`` (a forward: ``sender``, ``elem``,
    ``data``, ``request_id`` when kept), ``"ok"`` (``{status: "ok"}``) or ``"error"``
    (``{error: ...}``, the text in ``error``)."""

    kind: Literal["message", "ok", "error"]
    sender: str = ""
    elem: str = ""
    data: dict[str, Any] | None = None
    request_id: str | None = None
    error: str = ""


def _bad(why: str) -> IpcError:
    return IpcError(f"invalid hydra envelope: {why}", Code.INVALID_ARGUMENT)


def parse_hydra_incoming(raw: bytes) -> HydraIncoming:
    """Parses what the router sends a peer: a forward, ``{status: "ok"}`` or ``{error: "..."}``.

    :raises IpcError: ``Code.INVALID_ARGUMENT`` when it is not UTF-8 JSON or none of these
    """
    try:
        v = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        raise IpcError(
            f"hydra message of {len(raw)} bytes is not UTF-8 JSON: {e}", Code.INVALID_ARGUMENT
        ) from None
    if not isinstance(v, dict):
        raise _bad("is not a JSON object")
    if v.get("status") == "ok" and "elem" not in v:
        return HydraIncoming("ok")
    if isinstance(v.get("error"), str) and "elem" not in v:
        return HydraIncoming("error", error=v["error"])
    sender = v.get("sender")
    if not isinstance(sender, str) or sender not in _SENDERS:
        raise _bad(f"sender {json.dumps(sender)} is not HydraClient, HydraServer or HydraRouter")
    elem = v.get("elem")
    if not isinstance(elem, str):
        raise _bad("elem is not a string")
    data = v.get("data")
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise _bad("data is not an object")
    rid = v.get("request_id")
    return HydraIncoming(
        "message", sender, elem, data, rid if isinstance(rid, str) else None
    )  # fmt: skip


# -- payloads --------------------------------------------------------------------------------


def _message_options(desc: Any) -> options_pb2.MessageOptions:
    ext: Any = options_pb2.message  # protoc's stubs type extension handles too narrowly
    opts: options_pb2.MessageOptions = desc.GetOptions().Extensions[ext]
    return opts


def message_wire_name(desc: Any) -> str | None:
    """A message's ``(protoipc.v1.message).wire_name``, ``None`` when unset."""
    return _message_options(desc).wire_name or None


@functools.cache
def _is_tuple(desc: Any) -> bool:
    return bool(_message_options(desc).json_tuple)


@functools.cache
def _enum_names(e: Any) -> tuple[dict[int, str], dict[str, int]]:
    """Wire names (``wire_name``, else the proto name) by number, and numbers by wire name and
    ``wire_aliases``."""
    to_wire: dict[int, str] = {}
    from_wire: dict[str, int] = {}
    for v in e.values:
        ext: Any = options_pb2.enum_value
        opts = v.GetOptions().Extensions[ext]
        wire = opts.wire_name or v.name
        to_wire[v.number] = wire
        from_wire[wire] = v.number
        for alias in opts.wire_aliases:
            from_wire.setdefault(alias, v.number)
    return to_wire, from_wire


def _is_repeated(f: Any) -> bool:
    return bool(f.is_repeated)


def _is_map(f: Any) -> bool:
    return (
        _is_repeated(f)
        and f.message_type is not None
        and f.message_type.GetOptions().map_entry
    )


def _value_field(f: Any) -> Any:
    """The field describing the elements: ``f`` itself, or a map's value field."""
    if _is_map(f):
        return f.message_type.fields_by_name["value"]
    return f


def _by_number(desc: Any) -> list[Any]:
    return sorted(desc.fields, key=lambda f: f.number)


def message_to_hydra_json(message: Message) -> Any:
    """A message as Hydra JSON (an object, or an array for a ``json_tuple`` message)."""
    desc = message.DESCRIPTOR
    if _is_tuple(desc):
        return [_singular_to_json(f, getattr(message, f.name)) for f in _by_number(desc)]
    out: dict[str, Any] = {}
    for f in desc.fields:
        value = getattr(message, f.name)
        if _is_map(f):
            vf = _value_field(f)
            out[f.name] = {str(k): _singular_to_json(vf, value[k]) for k in value}
        elif _is_repeated(f):
            out[f.name] = [_singular_to_json(f, v) for v in value]
        elif f.has_presence and not message.HasField(f.name):
            continue  # unset message and `optional` fields are left out; zero values are not
        else:
            out[f.name] = _singular_to_json(f, value)
    return out


def _singular_to_json(f: Any, value: Any) -> Any:
    if f.type == FieldDescriptor.TYPE_MESSAGE:
        return message_to_hydra_json(value)
    if f.type == FieldDescriptor.TYPE_ENUM:
        return _enum_names(f.enum_type)[0].get(value, value)
    if f.type == FieldDescriptor.TYPE_BYTES:
        return base64.b64encode(value).decode("ascii")
    if f.type in (FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT):
        return float(value) if math.isfinite(value) else None
    return value


M = TypeVar("M", bound=Message)


def message_from_hydra_json(cls: type[M], value: Any, path: str = "data") -> M:
    """Reads Hydra JSON into a new ``cls`` message; ``path`` names the place in errors
    (``data.config.grid_size``). Unknown keys are ignored, ``null`` counts as absent.

    :raises IpcError: ``Code.INVALID_ARGUMENT`` when a value has the wrong type or an enum name
        is unknown, e.g. ``data.config.move_budget: expected an integer, got "x"``
    """
    message = cls()
    _read_into(message, value, path)
    return message


def _show(got: Any) -> str:
    try:
        shown = json.dumps(got, separators=(",", ":"), ensure_ascii=False)
    except (TypeError, ValueError):
        shown = str(got)
    return f"{shown[:40]}…" if len(shown) > 40 else shown


def _invalid(path: str, expected: str, got: Any) -> IpcError:
    return IpcError(f"{path}: expected {expected}, got {_show(got)}", Code.INVALID_ARGUMENT)


def _read_into(message: Message, value: Any, path: str) -> None:
    desc = message.DESCRIPTOR
    if _is_tuple(desc):
        fields = _by_number(desc)
        if not isinstance(value, list) or len(value) != len(fields):
            raise _invalid(path, f"an array of {len(fields)} values", value)
        for i, f in enumerate(fields):
            _set(message, f, value[i], f"{path}[{i}]")
        return
    if value is None:
        return
    if not isinstance(value, dict):
        raise _invalid(path, "an object", value)
    field: Any
    for field in desc.fields:
        f = field
        v = value.get(f.name)
        if v is None:
            continue
        at = f"{path}.{f.name}"
        if _is_map(f):
            if not isinstance(v, dict):
                raise _invalid(at, "an object", v)
            target = getattr(message, f.name)
            vf = _value_field(f)
            for k, x in v.items():
                key_type = f.message_type.fields_by_name["key"].type
                string_keys = key_type == FieldDescriptor.TYPE_STRING
                key: Any = k if string_keys else _map_key(k, f"{at}.{k}")
                if vf.type == FieldDescriptor.TYPE_MESSAGE:
                    _read_into(target[key], x, f"{at}.{k}")
                else:
                    target[key] = _scalar_from_json(vf, x, f"{at}.{k}")
        elif _is_repeated(f):
            if not isinstance(v, list):
                raise _invalid(at, "an array", v)
            target = getattr(message, f.name)
            for i, x in enumerate(v):
                if f.type == FieldDescriptor.TYPE_MESSAGE:
                    _read_into(target.add(), x, f"{at}[{i}]")
                else:
                    target.append(_scalar_from_json(f, x, f"{at}[{i}]"))
        else:
            _set(message, f, v, at)


def _map_key(k: str, path: str) -> int:
    try:
        return int(k)
    except ValueError:
        raise _invalid(path, "an integer key", k) from None


def _set(message: Message, f: Any, value: Any, path: str) -> None:
    if f.type == FieldDescriptor.TYPE_MESSAGE:
        sub = getattr(message, f.name)
        sub.SetInParent()
        _read_into(sub, value, path)
    else:
        setattr(message, f.name, _scalar_from_json(f, value, path))


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _is_integer(v: Any) -> bool:
    # JSON has one number type: 5.0 read by JavaScript is the integer 5, so it counts here too.
    return _is_number(v) and (isinstance(v, int) or (math.isfinite(v) and float(v).is_integer()))


def _scalar_from_json(f: Any, value: Any, path: str) -> Any:
    t = f.type
    if t == FieldDescriptor.TYPE_ENUM:
        if _is_integer(value):
            return int(value)
        to_wire, from_wire = _enum_names(f.enum_type)
        n = from_wire.get(value) if isinstance(value, str) else None
        if n is None:
            raise _invalid(path, f"one of {', '.join(to_wire.values())}", value)
        return n
    if t == FieldDescriptor.TYPE_STRING:
        if not isinstance(value, str):
            raise _invalid(path, "a string", value)
        return value
    if t == FieldDescriptor.TYPE_BOOL:
        if not isinstance(value, bool):
            raise _invalid(path, "a boolean", value)
        return value
    if t == FieldDescriptor.TYPE_BYTES:
        if not isinstance(value, str):
            raise _invalid(path, "a base64 string", value)
        return base64.b64decode(value)
    if t in (FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT):
        if not _is_number(value):
            raise _invalid(path, "a number", value)
        return float(value)
    if not _is_integer(value):
        raise _invalid(path, "an integer", value)
    return int(value)
