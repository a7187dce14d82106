"""The tagged binding: discriminated MessagePack (or JSON) maps, as dgx-pixels speaks them
(PROTOCOLS.md §1), and how calls map onto them.

Mirrors packages/runtime/src/tagged-codec.ts and tagged-binding.ts and writes the same bytes:

- a union is a message with ``(protoipc.v1.message).tagged_union`` whose single oneof lists the
  variants; a variant's tag is its message's ``wire_name``; the discriminator key comes first;
- map keys are the fields' proto names; enum values their ``(protoipc.v1.enum_value).wire_name``;
- fields without presence are always written, fields with presence only when set;
- integers in their smallest MessagePack form; ``float`` fields as float 32 and ``double`` fields
  as float 64; decoding accepts float 32, float 64 and integers for both;
- ``(protoipc.v1.field).fixed_length`` fixes a repeated field's length (``size: [u32, u32]``).

Everything is read from the descriptors' options at run time; no regeneration is needed for a
behaviour change.
"""

from __future__ import annotations

import base64
import functools
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import msgpack
from google.protobuf import message_factory
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message

from protoipc.descriptor import MethodDescriptor, ServiceDescriptor
from protoipc.errors import Code, IpcError, code_to_string
from protoipc.v1 import options_pb2

__all__ = [
    "SUBSCRIPTION_CONFIRM_PREFIX",
    "TaggedFormat",
    "TaggedJob",
    "TaggedService",
    "TaggedUnion",
    "correlation_of",
    "create_marked",
    "decode_tagged",
    "encode_tagged",
    "error_of",
    "from_tagged_map",
    "success_of",
    "tagged_service",
    "tagged_union",
    "unwrap_progress",
    "wrap_progress",
]

TaggedFormat = Literal["msgpack", "json"]
"""How a tagged map is serialised: MessagePack (the dgx-pixels wire) or UTF-8 JSON text."""

SUBSCRIPTION_CONFIRM_PREFIX = b"\x00protoipc.subscribed."
"""Topic prefix of the token a tagged client subscribes to; a protoipc server echoes the token
on its update socket once it sees the subscription (the client's confirmation)."""

_T = FieldDescriptor


@dataclass(frozen=True)
class TaggedUnion:
    """A tagged union read from its descriptor by :func:`tagged_union`."""

    desc: Descriptor
    """The union message."""
    discriminator: str
    """The map key holding the tag, e.g. ``"type"``."""
    variants: Mapping[str, Descriptor]
    """Variant message by wire tag, in declaration order."""
    tags: Mapping[str, str]
    """Wire tag by variant full name."""


_unions: dict[str, TaggedUnion] = {}


def _ext(element: Any, extension: Any) -> Any:
    """``element``'s options' value of a protoipc extension (protoc's stubs type extension
    handles too narrowly for a generic accessor)."""
    return element.GetOptions().Extensions[extension]


def _message_options(desc: Any) -> options_pb2.MessageOptions:
    opts: options_pb2.MessageOptions = _ext(desc, options_pb2.message)
    return opts


def _field_options(field: Any) -> options_pb2.FieldOptions:
    opts: options_pb2.FieldOptions = _ext(field, options_pb2.field)
    return opts


def _enum_wire_name(value: Any) -> str:
    return str(_ext(value, options_pb2.enum_value).wire_name)


@functools.cache
def _enum_names(e: Any) -> tuple[dict[int, str], dict[str, int]]:
    """Wire names of an enum's values by number, and numbers by wire name (read once)."""
    by_number: dict[int, str] = {}
    by_name: dict[str, int] = {}
    for v in e.values:
        name = _enum_wire_name(v)
        if name:
            by_number[v.number] = name
            by_name[name] = v.number
    return by_number, by_name


@functools.cache
def _packed_key(field: Any) -> bytes:
    """A field's map key, packed once."""
    key: bytes = _plain.pack(field.name)
    return key


@functools.cache
def _fixed_length(field: Any) -> int:
    return int(_field_options(field).fixed_length)


@functools.cache
def _marked_field(desc: Any, mark: str) -> Any:
    """The first field of ``desc`` whose FieldOptions has ``mark`` set (read once)."""
    for f in desc.fields:
        if getattr(_field_options(f), mark):
            return f
    return None


def tagged_union(desc: Any) -> TaggedUnion:
    """The tagged union declared by ``desc``, a message's ``Descriptor`` (cached).

    :raises IpcError: ``Code.INTERNAL`` when ``desc`` lacks ``tagged_union``, has no single oneof
        of messages, a variant has no ``wire_name`` or two variants share a tag
    """
    cached = _unions.get(desc.full_name)
    if cached is not None:
        return cached
    option = _message_options(desc).tagged_union
    if not option.discriminator:
        raise IpcError(
            f"{desc.full_name} is not a tagged union: it has no "
            "(protoipc.v1.message).tagged_union discriminator",
            Code.INTERNAL,
        )
    if len(desc.oneofs) != 1 or len(desc.oneofs[0].fields) != len(desc.fields):
        raise IpcError(
            f"tagged union {desc.full_name} must hold exactly one oneof and no other field",
            Code.INTERNAL,
        )
    variants: dict[str, Descriptor] = {}
    tags: dict[str, str] = {}
    for f in desc.oneofs[0].fields:
        if f.message_type is None:
            raise IpcError(f"variant {f.name} of {desc.full_name} is not a message", Code.INTERNAL)
        tag = _message_options(f.message_type).wire_name
        if not tag:
            raise IpcError(
                f"variant {f.message_type.full_name} of {desc.full_name} has no "
                "(protoipc.v1.message).wire_name",
                Code.INTERNAL,
            )
        if tag in variants and variants[tag] is not f.message_type:
            raise IpcError(f'tag "{tag}" names two variants of {desc.full_name}', Code.INTERNAL)
        variants[tag] = f.message_type
        tags[f.message_type.full_name] = tag
    union = TaggedUnion(desc, option.discriminator, variants, tags)
    _unions[desc.full_name] = union
    return union


# --------------------------------------------------------------------------------------------
# Encoding

_plain = msgpack.Packer(use_bin_type=True, autoreset=True)
_f32 = msgpack.Packer(use_bin_type=True, autoreset=True, use_single_float=True)

_INT64_TYPES = {
    _T.TYPE_INT64,
    _T.TYPE_UINT64,
    _T.TYPE_FIXED64,
    _T.TYPE_SFIXED64,
    _T.TYPE_SINT64,
}


def _present(message: Message, field: Any) -> bool:
    if field.is_repeated:
        return True
    if field.has_presence:
        return message.HasField(field.name)
    return True


def _enum_name(e: Any, number: int, field: Any) -> str:
    name = _enum_names(e)[0].get(number)
    if name is None:
        raise IpcError(
            f"value {number} of field {field.name} ({e.full_name}) has no "
            "(protoipc.v1.enum_value).wire_name",
            Code.INVALID_ARGUMENT,
        )
    return str(name)


def _check_length(field: Any, length: int, what: str) -> None:
    fixed = _fixed_length(field)
    if fixed and length != fixed:
        raise IpcError(
            f"field {field.name} holds {length} elements, its fixed_length is {fixed} ({what})",
            Code.INVALID_ARGUMENT,
        )


def _pack_scalar(out: list[bytes], field: Any, value: Any) -> None:
    if field.type == _T.TYPE_ENUM:
        out.append(_plain.pack(_enum_name(field.enum_type, value, field)))
    elif field.type == _T.TYPE_FLOAT:
        out.append(_f32.pack(float(value)))
    elif field.type == _T.TYPE_DOUBLE:
        out.append(_plain.pack(float(value)))
    else:
        out.append(_plain.pack(value))


def _pack_message(out: list[bytes], desc: Any, message: Message) -> None:
    fields = [f for f in desc.fields if _present(message, f)]
    out.append(_plain.pack_map_header(len(fields)))
    _pack_fields(out, fields, message)


def _pack_fields(out: list[bytes], fields: list[Any], message: Message) -> None:
    for f in fields:
        out.append(_packed_key(f))
        value: Any = getattr(message, f.name)
        if f.message_type is not None and f.message_type.GetOptions().map_entry:
            raise IpcError(
                f"map field {f.name} is not supported by the tagged codec", Code.UNIMPLEMENTED
            )
        if f.is_repeated:
            _check_length(f, len(value), "encode")
            out.append(_plain.pack_array_header(len(value)))
            for item in value:
                if f.message_type is not None:
                    _pack_message(out, f.message_type, item)
                else:
                    _pack_scalar(out, f, item)
        elif f.message_type is not None:
            _pack_message(out, f.message_type, value)
        else:
            _pack_scalar(out, f, value)


def _json_value(field: Any, value: Any) -> Any:
    if field.message_type is not None:
        return _json_message(field.message_type, value)
    if field.type == _T.TYPE_ENUM:
        return _enum_name(field.enum_type, value, field)
    if field.type == _T.TYPE_BYTES:
        return base64.b64encode(value).decode("ascii")
    if field.type in _INT64_TYPES and abs(value) > 2**53 - 1:
        return str(value)
    return value


def _json_message(desc: Any, message: Message) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f in desc.fields:
        if not _present(message, f):
            continue
        value: Any = getattr(message, f.name)
        if f.is_repeated:
            _check_length(f, len(value), "encode")
            out[f.name] = [_json_value(f, v) for v in value]
        else:
            out[f.name] = _json_value(f, value)
    return out


def encode_tagged(union: TaggedUnion, message: Message, fmt: TaggedFormat = "msgpack") -> bytes:
    """Encodes ``message``, a variant of ``union``, as one tagged map, discriminator first.

    :raises IpcError: ``Code.INVALID_ARGUMENT`` when the message is not a variant of the union,
        an enum value has no wire name, or a fixed-length field has another length
    """
    desc = message.DESCRIPTOR
    tag = union.tags.get(desc.full_name)
    if tag is None:
        raise IpcError(
            f"{desc.full_name} is not a variant of tagged union {union.desc.full_name}",
            Code.INVALID_ARGUMENT,
        )
    if fmt == "json":
        body = {union.discriminator: tag, **_json_message(desc, message)}
        return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
    fields = [f for f in desc.fields if _present(message, f)]
    out = [_plain.pack_map_header(len(fields) + 1), _plain.pack(union.discriminator), _plain.pack(tag)]
    _pack_fields(out, fields, message)
    return b"".join(out)


# --------------------------------------------------------------------------------------------
# Decoding


def _describe(v: Any) -> str:
    if v is None:
        return "nil"
    if isinstance(v, list):
        return "an array"
    if isinstance(v, dict):
        return "a map"
    if isinstance(v, bytes):
        return "binary"
    if isinstance(v, str):
        return f"the string {json.dumps(v if len(v) <= 40 else v[:40] + '…')}"
    return f"{type(v).__name__} {v!r}"


def _wrong(at: str, want: str, got: Any) -> IpcError:
    return IpcError(f"field {at} must be {want}, got {_describe(got)}", Code.INVALID_ARGUMENT)


_RANGES: dict[int, tuple[int, int]] = {
    _T.TYPE_INT32: (-(2**31), 2**31 - 1),
    _T.TYPE_SINT32: (-(2**31), 2**31 - 1),
    _T.TYPE_SFIXED32: (-(2**31), 2**31 - 1),
    _T.TYPE_UINT32: (0, 2**32 - 1),
    _T.TYPE_FIXED32: (0, 2**32 - 1),
    _T.TYPE_INT64: (-(2**63), 2**63 - 1),
    _T.TYPE_SINT64: (-(2**63), 2**63 - 1),
    _T.TYPE_SFIXED64: (-(2**63), 2**63 - 1),
    _T.TYPE_UINT64: (0, 2**64 - 1),
    _T.TYPE_FIXED64: (0, 2**64 - 1),
}


def _read_scalar(field: Any, raw: Any, at: str) -> Any:
    t = field.type
    if t == _T.TYPE_STRING:
        if not isinstance(raw, str):
            raise _wrong(at, "a string", raw)
        return raw
    if t == _T.TYPE_BOOL:
        if not isinstance(raw, bool):
            raise _wrong(at, "a bool", raw)
        return raw
    if t == _T.TYPE_BYTES:
        if isinstance(raw, bytes):
            return raw
        if isinstance(raw, str):
            return base64.b64decode(raw)
        raise _wrong(at, "binary", raw)
    if t in (_T.TYPE_FLOAT, _T.TYPE_DOUBLE):
        # f32, f64 and integers are all accepted: the Python original writes f64, Rust f32.
        if isinstance(raw, bool) or not isinstance(raw, (int, float)):
            raise _wrong(at, "a number", raw)
        return float(raw)
    if t == _T.TYPE_ENUM:
        if not isinstance(raw, str):
            raise _wrong(at, "a string", raw)
        number = _enum_names(field.enum_type)[1].get(raw)
        if number is not None:
            return number
        raise IpcError(
            f'field {at} has unknown {field.enum_type.full_name} value "{raw}"',
            Code.INVALID_ARGUMENT,
        )
    low, high = _RANGES[t]
    value: int
    if isinstance(raw, bool):
        raise _wrong(at, "an integer", raw)
    if isinstance(raw, int):
        value = raw
    elif isinstance(raw, str) and t in _INT64_TYPES and re.fullmatch(r"-?\d+", raw):
        value = int(raw)
    else:
        raise _wrong(at, "an integer", raw)
    if not low <= value <= high:
        raise IpcError(
            f"field {at} of {value} is out of range {low}..{high}", Code.INVALID_ARGUMENT
        )
    return value


def _class_of(desc: Any) -> type[Message]:
    cls: type[Message] = message_factory.GetMessageClass(desc)
    return cls


def _read_into(
    message: Message, desc: Any, raw: Mapping[Any, Any], where: str, skip: str | None
) -> None:
    for key, value in raw.items():
        if key == skip:
            continue
        if not isinstance(key, str):
            raise IpcError(f"a key of {where} is {_describe(key)}, not a string", Code.INVALID_ARGUMENT)
        field = desc.fields_by_name.get(key)
        if field is None:
            continue  # unknown keys are ignored, as serde and the Python original do
        if value is None and field.has_presence:
            continue  # nil = absent
        at = f"{where}.{field.name}"
        if field.message_type is not None and field.message_type.GetOptions().map_entry:
            raise IpcError(
                f"map field {field.name} is not supported by the tagged codec", Code.UNIMPLEMENTED
            )
        if field.is_repeated:
            if not isinstance(value, list):
                raise _wrong(at, "an array", value)
            _check_length(field, len(value), "decode")
            target: Any = getattr(message, field.name)
            for i, item in enumerate(value):
                ai = f"{at}[{i}]"
                if field.message_type is not None:
                    if not isinstance(item, dict):
                        raise _wrong(ai, "a map", item)
                    _read_into(target.add(), field.message_type, item, ai, None)
                else:
                    target.append(_read_scalar(field, item, ai))
        elif field.message_type is not None:
            if not isinstance(value, dict):
                raise _wrong(at, "a map", value)
            _read_into(getattr(message, field.name), field.message_type, value, at, None)
            getattr(message, field.name).SetInParent()
        else:
            setattr(message, field.name, _read_scalar(field, value, at))
    for field in desc.fields:
        if field.is_repeated and field.name not in raw:
            _check_length(field, 0, "decode")


def from_tagged_map(union: TaggedUnion, raw: Any) -> Message:
    """Reads an already deserialised tagged map into the variant message its tag names.

    :raises IpcError: as :func:`decode_tagged`
    """
    if not isinstance(raw, dict):
        raise IpcError(
            f"a {union.desc.full_name} frame must be a map, got {_describe(raw)}",
            Code.INVALID_ARGUMENT,
        )
    if union.discriminator not in raw:
        raise IpcError(
            f'a {union.desc.full_name} map has no "{union.discriminator}" key',
            Code.INVALID_ARGUMENT,
        )
    tag = raw[union.discriminator]
    if not isinstance(tag, str):
        raise IpcError(
            f'"{union.discriminator}" of a {union.desc.full_name} map is {_describe(tag)}, '
            "not a string",
            Code.INVALID_ARGUMENT,
        )
    desc = union.variants.get(tag)
    if desc is None:
        raise IpcError(
            f'unknown {union.desc.full_name} tag "{tag}"; known: {", ".join(union.variants)}',
            Code.INVALID_ARGUMENT,
        )
    message = _class_of(desc)()
    _read_into(message, desc, raw, tag, union.discriminator)
    return message


def decode_tagged(union: TaggedUnion, data: bytes, fmt: TaggedFormat = "msgpack") -> Message:
    """Decodes one tagged map into the variant message its tag names.

    :raises IpcError: ``Code.INVALID_ARGUMENT`` when the bytes are not one MessagePack map (or
        JSON object), the discriminator is missing or not a string, the tag is unknown, or a
        field has the wrong type, an out-of-range value, an unknown enum name or a wrong fixed
        length; the message names the tag and the field
    """
    try:
        if fmt == "json":
            raw: Any = json.loads(data.decode("utf-8"))
        else:
            raw = msgpack.unpackb(data, raw=False, strict_map_key=False)
    except (ValueError, msgpack.UnpackException, UnicodeDecodeError, TypeError) as e:
        kind = "JSON" if fmt == "json" else "MessagePack"
        raise IpcError(
            f"malformed {kind} frame of {len(data)} bytes: {e}", Code.INVALID_ARGUMENT
        ) from e
    return from_tagged_map(union, raw)


# --------------------------------------------------------------------------------------------
# Call mapping


@dataclass(frozen=True)
class TaggedJob:
    """How a progress method maps onto a job (option ``(protoipc.v1.method).tagged``)."""

    accepted: Descriptor
    """The reply acknowledging the job."""
    correlation_field: FieldDescriptor
    """The request field whose value is the job id."""
    cancel: MethodDescriptor[Any, Any, Any] | None
    """The method that cancels a job by id, when the schema names one."""


@dataclass(frozen=True)
class TaggedService:
    """A service's tagged binding, read from its schema by :func:`tagged_service`."""

    service: ServiceDescriptor
    requests: TaggedUnion
    responses: TaggedUnion
    updates: TaggedUnion | None
    method_by_request: Mapping[str, MethodDescriptor[Any, Any, Any]]
    """The method a request variant calls, by the variant's full name."""
    jobs: Mapping[str, TaggedJob]
    """Job mapping of each progress method, by method path."""


_services: dict[str, TaggedService] = {}


def tagged_service(service: ServiceDescriptor) -> TaggedService:
    """Reads the tagged binding of ``service`` from its schema's options (cached).

    :raises IpcError: ``Code.INTERNAL`` when the schema does not declare the unions, a name does
        not resolve, a request is not a variant of the request union, or a progress method lacks
        its ``tagged`` option
    """
    cached = _services.get(service.type_name)
    if cached is not None:
        return cached
    if not service.methods:
        raise IpcError(f"{service.type_name} has no methods", Code.INTERNAL)
    file = service.methods[0].input.DESCRIPTOR.file
    sdesc = file.pool.FindServiceByName(service.type_name)
    opt = _ext(sdesc, options_pb2.service).tagged
    if not opt.request_union or not opt.response_union:
        raise IpcError(
            f"{service.type_name} declares no tagged unions: set (protoipc.v1.service).tagged",
            Code.INTERNAL,
        )

    def resolve(name: str, what: str) -> Descriptor:
        full = name if "." in name else f"{file.package}.{name}"
        try:
            d: Descriptor = file.pool.FindMessageTypeByName(full)
        except KeyError:
            raise IpcError(
                f"{what} {name!r} of {service.type_name} is not a message", Code.INTERNAL
            ) from None
        return d

    requests = tagged_union(resolve(opt.request_union, "request_union"))
    responses = tagged_union(resolve(opt.response_union, "response_union"))
    updates = tagged_union(resolve(opt.update_union, "update_union")) if opt.update_union else None
    by_request: dict[str, MethodDescriptor[Any, Any, Any]] = {}
    for m in service.methods:
        name = m.input.DESCRIPTOR.full_name
        if m.kind == "server_streaming":
            raise IpcError(
                f"{m.path} is server streaming, which the tagged binding does not carry",
                Code.INTERNAL,
            )
        if name not in requests.tags:
            raise IpcError(
                f"{m.path}: {name} is not a variant of {requests.desc.full_name}", Code.INTERNAL
            )
        by_request[name] = m
    jobs: dict[str, TaggedJob] = {}
    for m in service.methods:
        if m.kind != "progress":
            continue
        mopt = _ext(sdesc.methods_by_name[m.name], options_pb2.method).tagged
        field = m.input.DESCRIPTOR.fields_by_name.get(mopt.correlation_field)
        if not mopt.accepted or field is None or updates is None:
            raise IpcError(
                f"{m.path} is a progress method: the tagged binding needs its "
                "(protoipc.v1.method).tagged accepted and correlation_field, and the "
                "service's update_union",
                Code.INTERNAL,
            )
        cancel = next((x for x in service.methods if x.name == mopt.cancel_method), None)
        if mopt.cancel_method and cancel is None:
            raise IpcError(
                f"{m.path}: cancel_method {mopt.cancel_method} is not a method of "
                f"{service.type_name}",
                Code.INTERNAL,
            )
        jobs[m.path] = TaggedJob(resolve(mopt.accepted, "accepted"), field, cancel)
    out = TaggedService(service, requests, responses, updates, by_request, jobs)
    _services[service.type_name] = out
    return out


def _marked(desc: Any, mark: str) -> Any:
    return _marked_field(desc, mark)


def correlation_of(message: Message) -> str | None:
    """The job id a message carries in its ``correlation`` field; ``None`` when it has none."""
    f = _marked(message.DESCRIPTOR, "correlation")
    return None if f is None else str(getattr(message, f.name))


def success_of(message: Message) -> bool | None:
    """The value of a job-end variant's ``success`` field; ``None`` when it has none."""
    f = _marked(message.DESCRIPTOR, "success")
    return None if f is None else bool(getattr(message, f.name))


_CODED = re.compile(r"^\[([a-z_]+)\] (.*)$", re.S)


def error_of(message: Message, tag: str) -> IpcError | None:
    """The error an error variant (a message with an ``error_message`` field) stands for.

    ``[code_name] text`` keeps its code (protoipc servers write that); other texts are
    ``Code.UNKNOWN``, the original's errors being bare strings.
    """
    f = _marked(message.DESCRIPTOR, "error_message")
    if f is None:
        return None
    text = str(getattr(message, f.name))
    m = _CODED.match(text)
    if m is not None:
        for c in Code:
            if code_to_string(c) == m.group(1):
                return IpcError(m.group(2), c)
    return IpcError(f"{tag}: {text}", Code.UNKNOWN)


def create_marked(
    desc: Descriptor,
    job_id: str,
    *,
    error: IpcError | None = None,
    success: bool | None = None,
) -> Message:
    """A message of ``desc`` with its ``correlation`` field set to ``job_id`` and, when given,
    its ``error_message`` (as ``[code] message``) and ``success`` fields."""
    message = _class_of(desc)()
    c = _marked(desc, "correlation")
    if c is not None:
        setattr(message, c.name, job_id)
    e = _marked(desc, "error_message")
    if e is not None and error is not None:
        setattr(message, e.name, f"[{code_to_string(error.code)}] {error.raw_message}")
    s = _marked(desc, "success")
    if s is not None and success is not None:
        setattr(message, s.name, success)
    return message


def variant_with(
    union: TaggedUnion, *, error: bool, correlation: bool
) -> Descriptor | None:
    """The first variant of ``union`` that has (or lacks) an ``error_message`` and a
    ``correlation`` field as asked."""
    for d in union.variants.values():
        has_error = _marked(d, "error_message") is not None
        has_corr = _marked(d, "correlation") is not None
        if has_error == error and has_corr == correlation:
            return d
    return None


def job_end_variant(union: TaggedUnion) -> Descriptor | None:
    """The first variant of ``union`` that has a ``success`` field (a job end)."""
    for d in union.variants.values():
        if _marked(d, "success") is not None:
            return d
    return None


def unwrap_progress(progress: Message) -> Message | None:
    """The variant message a progress message holds (its set oneof member)."""
    for oneof in progress.DESCRIPTOR.oneofs:
        which = progress.WhichOneof(oneof.name)
        if which is not None:
            value: Message = getattr(progress, which)
            return value
    return None


def wrap_progress(method: MethodDescriptor[Any, Any, Any], variant: Message) -> Message | None:
    """The progress message of ``method`` holding ``variant``: the variant itself when it is the
    progress type, else a progress message with the member of the variant's type set; ``None``
    when the method has no progress type or none of its members has that type (the inverse of
    :func:`unwrap_progress`)."""
    cls = method.progress
    if cls is None:
        return None
    desc = cls.DESCRIPTOR
    if desc.full_name == variant.DESCRIPTOR.full_name:
        return variant
    for f in desc.fields:
        if f.message_type is not None and f.message_type.full_name == variant.DESCRIPTOR.full_name:
            progress: Message = cls()
            getattr(progress, f.name).CopyFrom(variant)
            return progress
    return None
