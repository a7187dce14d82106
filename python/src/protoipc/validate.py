"""The run-time half of the validators protoc-gen-ipc-python generates from protovalidate's
``buf.validate`` rules (the Python twin of packages/runtime/src/validate.ts).

Generated ``_ipc.py`` code checks the rules inline and calls :func:`violation` only for a
violated rule. Violations are ``buf.validate.Violation`` messages, the ones protovalidate
reports: field path, rule path, rule id (``string.min_len``) and message. A rejected call
carries them as one ``buf.validate.Violations`` detail of an :class:`~protoipc.IpcError` with
``Code.INVALID_ARGUMENT``, identical to the TypeScript runtime's.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple, Protocol, cast

from buf.validate import validate_pb2
from google.protobuf.descriptor import Descriptor, FieldDescriptor

from protoipc.errors import Code, IpcError
from protoipc.validate_formats import (
    is_email,
    is_hostname,
    is_ip,
    is_ipv4,
    is_ipv6,
    is_uri,
    is_uuid,
)

__all__ = [
    "PathNode",
    "Violation",
    "Violations",
    "compare_time",
    "compile_pattern",
    "field_path_to_string",
    "format_violations",
    "is_email",
    "is_finite",
    "is_hostname",
    "is_ip",
    "is_ipv4",
    "is_ipv6",
    "is_nan",
    "is_unique",
    "is_uri",
    "is_uuid",
    "oneof_violation",
    "prefix_violations",
    "validation_error",
    "violation",
]

Violation = validate_pb2.Violation
"""``buf.validate.Violation``: one broken rule."""
Violations = validate_pb2.Violations
"""``buf.validate.Violations``: the detail a rejected request's error carries."""

Subscript = int | str | bool | None


class FieldLike(Protocol):
    """A field descriptor (the pure-Python or the upb one, both have these)."""

    @property
    def number(self) -> int: ...
    @property
    def name(self) -> str: ...
    @property
    def type(self) -> int: ...
    @property
    def message_type(self) -> Any: ...  # Descriptor | None, pure-Python or upb


class OneofLike(Protocol):
    """A oneof descriptor (the pure-Python or the upb one)."""

    @property
    def name(self) -> str: ...


class PathNode(NamedTuple):
    """Where a value sits in the validated message: a linked list up to the root."""

    up: PathNode | None
    """The enclosing node; ``None`` at the root message's fields."""
    field: FieldLike
    """The field."""
    sub: Subscript = None
    """The list index or map key of an item of a repeated or map field."""


def violation(
    up: PathNode | None,
    field: FieldLike,
    sub: Subscript,
    rule_id: str,
    rule_path: str,
    message: str,
    for_key: bool = False,
) -> validate_pb2.Violation:
    """The violation of rule ``rule_id`` by the value at ``field`` (index or key ``sub``) under
    ``up``; ``rule_path`` is the rule's dotted path in ``buf.validate.FieldRules``."""
    v = validate_pb2.Violation(rule_id=rule_id, message=message, for_key=for_key)
    v.field.CopyFrom(_field_path(PathNode(up, field, sub)))
    v.rule.CopyFrom(_rule_path(rule_path))
    return v


def oneof_violation(up: PathNode | None, oneof: OneofLike) -> validate_pb2.Violation:
    """The violation of ``(buf.validate.oneof).required`` by ``oneof`` under ``up``."""
    v = validate_pb2.Violation(
        rule_id="required", message="exactly one field is required in oneof"
    )
    if up is not None:
        v.field.CopyFrom(_field_path(up))
    v.field.elements.add(field_name=oneof.name)
    # protovalidate reports this violation without a rule path.
    return v


def prefix_violations(
    up: PathNode | None, violations: Iterable[validate_pb2.Violation]
) -> list[validate_pb2.Violation]:
    """Re-roots violations protovalidate reported for a message at ``up`` (generated code of
    messages with custom CEL rules, plugin option ``cel=delegate``)."""
    out: list[validate_pb2.Violation] = []
    prefix = None if up is None else _field_path(up)
    for v in violations:
        c = validate_pb2.Violation()
        c.CopyFrom(v)
        if prefix is not None:
            c.field.ClearField("elements")
            c.field.elements.extend(prefix.elements)
            c.field.elements.extend(v.field.elements)
        out.append(c)
    return out


def _field_path(node: PathNode) -> validate_pb2.FieldPath:
    nodes: list[PathNode] = []
    n: PathNode | None = node
    while n is not None:
        nodes.append(n)
        n = n.up
    path = validate_pb2.FieldPath()
    for n in reversed(nodes):
        f = n.field
        e = path.elements.add(field_number=f.number, field_name=f.name, field_type=f.type)
        if n.sub is None:
            continue
        if f.message_type is not None and f.message_type.GetOptions().map_entry:
            key = f.message_type.fields_by_name["key"]
            value = f.message_type.fields_by_name["value"]
            e.key_type = key.type
            e.value_type = value.type
            if key.type == FieldDescriptor.TYPE_STRING:
                e.string_key = str(n.sub)
            elif key.type == FieldDescriptor.TYPE_BOOL:
                e.bool_key = bool(n.sub)
            elif key.type in _UNSIGNED:
                e.uint_key = int(n.sub)
            else:
                e.int_key = int(n.sub)
        else:
            e.index = int(n.sub)
    return path


_UNSIGNED = (
    FieldDescriptor.TYPE_UINT32,
    FieldDescriptor.TYPE_UINT64,
    FieldDescriptor.TYPE_FIXED32,
    FieldDescriptor.TYPE_FIXED64,
)

_rule_paths: dict[str, validate_pb2.FieldPath] = {}


def _rule_path(dotted: str) -> validate_pb2.FieldPath:
    path = _rule_paths.get(dotted)
    if path is None:
        path = validate_pb2.FieldPath()
        desc = cast(Descriptor | None, validate_pb2.FieldRules.DESCRIPTOR)
        for name in dotted.split("."):
            f = desc.fields_by_name.get(name) if desc is not None else None
            if f is None:
                break
            path.elements.add(field_number=f.number, field_name=f.name, field_type=f.type)
            desc = f.message_type
        _rule_paths[dotted] = path
    return path


def field_path_to_string(path: validate_pb2.FieldPath) -> str:
    """A FieldPath as text: ``items[2].name``, ``labels["key"]``."""
    parts: list[str] = []
    for e in path.elements:
        s = e.field_name
        which = e.WhichOneof("subscript")
        if which == "string_key":
            s += f"[{json.dumps(e.string_key)}]"
        elif which == "bool_key":
            s += f"[{'true' if e.bool_key else 'false'}]"
        elif which is not None:
            s += f"[{getattr(e, which)}]"
        parts.append(s)
    return ".".join(parts)


def format_violations(violations: Sequence[validate_pb2.Violation]) -> str:
    """``path: message [rule_id]`` of each violation, joined with ``"; "``."""
    out: list[str] = []
    for v in violations:
        path = field_path_to_string(v.field)
        out.append(f"{path + ': ' if path else ''}{v.message} [{v.rule_id}]")
    return "; ".join(out)


def validation_error(type_name: str, violations: Sequence[validate_pb2.Violation]) -> IpcError:
    """The error a rejected request becomes: ``INVALID_ARGUMENT``, message
    ``invalid <Type>: <violations>``, and one ``buf.validate.Violations`` detail."""
    return IpcError(
        f"invalid {type_name}: {format_violations(violations)}",
        Code.INVALID_ARGUMENT,
        details=[validate_pb2.Violations(violations=violations)],
    )


class _Time(Protocol):
    @property
    def seconds(self) -> int: ...
    @property
    def nanos(self) -> int: ...


def compare_time(v: _Time, seconds: int, nanos: int) -> int:
    """Compares a Duration or Timestamp with ``seconds``/``nanos``: -1, 0 or 1."""
    if v.seconds != seconds:
        return -1 if v.seconds < seconds else 1
    return 0 if v.nanos == nanos else (-1 if v.nanos < nanos else 1)


def is_nan(v: float) -> bool:
    """Whether ``v`` is NaN."""
    return math.isnan(v)


def is_finite(v: float) -> bool:
    """Whether ``v`` is neither infinite nor NaN."""
    return math.isfinite(v)


def is_unique(items: Sequence[object]) -> bool:
    """Whether the items of a repeated scalar or enum field are unique."""
    return len(set(items)) == len(items)


def compile_pattern(pattern: str) -> re.Pattern[str]:
    """Compiles a ``string.pattern`` rule (RE2 syntax; the common subset ``re`` shares)."""
    return re.compile(pattern)
