"""Property-based differential test of the generated Python validators against the Python
``protovalidate`` package (CEL), on proto/validatetest/v1/rules.proto: hypothesis builds
CheckRequest messages from pools of valid and invalid values; both must report the same
violations (field path, rule id, rule path).

Durations and timestamps use whole microseconds: Python protovalidate (cel-python) compares
them at microsecond precision, while protovalidate's reference (protovalidate-es, and our
validators) compares nanoseconds; the TypeScript differential test covers nanoseconds.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import Any

import protovalidate
from hypothesis import given, settings
from hypothesis import strategies as st

from protoipc.validate import field_path_to_string

_REPO = Path(__file__).resolve().parents[2]


def _load(name: str) -> Any:
    sys.path.insert(0, str(_REPO / "test" / "gen" / "python"))
    try:
        return importlib.import_module(name)
    finally:
        sys.path.pop(0)


rules_pb2: Any = _load("validatetest.v1.rules_pb2")
rules_ipc: Any = _load("validatetest.v1.rules_ipc")


def _strings(*pool: str) -> st.SearchStrategy[str]:
    return st.one_of(st.sampled_from(pool), st.text(max_size=10))


_fields: dict[str, st.SearchStrategy[Any]] = {
    "name": _strings("a", "abcdefgh", "", "abcdefghi", "ü" * 9),
    "code": _strings("abz", "abbz", "", "bz", "abqz", "aBz"),
    "email": _strings("a@b.co", "x.y+z@example.com", "", "a@", "@b", "a@-b.c"),
    "host": _strings("example.com", "a-b.c.", "", "-a.com", "a..b", "1.2.3.4"),
    "ip": _strings("1.2.3.4", "::1", "fe80::1%eth0", "::ffff:1.2.3.4", "01.2.3.4", "1::2::3"),
    "uri": _strings("https://example.com/a?b#c", "urn:isbn:1", "http://[::1]:80/", "//x", "a b:"),
    "uuid": _strings("123e4567-e89b-12d3-a456-426614174000", "", "123e4567e89b12d3a456"),
    "color": _strings("red", "blue", "", "green"),
    "four": _strings("abcd", "üü", "", "abc"),
    "small": st.integers(-2, 12),
    "big": st.integers(-7, 7),
    "gap": st.integers(0, 30),
    "ratio": st.sampled_from([0.0, 1.5, -1.0, float("inf"), float("nan")]),
    "scale": st.sampled_from([0.0, 1.0, 2.5, 3.0]),
    "odd": st.integers(0, 6),
    "flag": st.booleans(),
    "kind": st.sampled_from([0, 1, 2, 7]),
    "blob": st.binary(max_size=6),
    "tags": st.lists(st.sampled_from(["ab", "cd", "x", ""]), max_size=4),
    "counts": st.dictionaries(st.sampled_from(["a", "bb", "cccc"]), st.integers(-1, 1), max_size=3),
    "opt_in": st.sampled_from(["", "x", "xy"]),
    "req_num": st.sampled_from([0, 1]),
}


def _valid() -> Any:
    """A CheckRequest that breaks no rule."""
    m = rules_pb2.CheckRequest(
        name="a", code="abz", email="a@b.co", host="example.com", ip="::1",
        uri="https://example.com/", uuid="123e4567-e89b-12d3-a456-426614174000", color="red",
        four="abcd", small=1, big=0, gap=5, ratio=1.0, scale=1.0, odd=1, flag=True, kind=1,
        blob=b"\x01", tags=["ab"], counts={"a": 1}, a="xy", req_num=1,
    )  # fmt: skip
    m.inner.id = "x"
    m.timeout.seconds = 1
    m.at.seconds = 2
    return m


@st.composite
def _requests(draw: st.DrawFn) -> Any:
    m = _valid()
    # All fields random, or one.
    names = list(_fields) if draw(st.booleans()) else [draw(st.sampled_from(list(_fields)))]
    for name in names:
        value = draw(_fields[name])
        if name in ("tags", "blob") or name == "counts":
            m.ClearField(name)
            if name == "counts":
                m.counts.update(value)
            elif name == "tags":
                m.tags.extend(value)
            else:
                m.blob = value
        else:
            setattr(m, name, value)
    if draw(st.booleans()):
        m.ClearField("inner")
    for _ in range(draw(st.integers(0, 2))):
        m.inners.add(id=draw(st.sampled_from(["", "x"])))
    m.timeout.seconds = draw(st.sampled_from([-1, 0, 1, 60, 61]))
    m.timeout.nanos = draw(st.sampled_from([0, 1000]))
    m.at.seconds = draw(st.sampled_from([0, 1, 2]))
    m.at.nanos = draw(st.sampled_from([0, 5000]))
    choice = draw(st.sampled_from(["none", "a", "b"]))
    if choice == "none":
        m.ClearField("a")
    elif choice == "a":
        m.a = draw(st.sampled_from(["", "x", "xy"]))
    else:
        m.b = draw(st.integers(-1, 1))
    if draw(st.booleans()):
        m.limits.lo = draw(st.integers(0, 3))
        m.limits.hi = draw(st.sampled_from([0, 2, 101]))
    if draw(st.booleans()):
        m.nick = draw(st.sampled_from(["", "abc", "abcd"]))
    return m


def _ours(m: Any) -> list[tuple[str, str, str]]:
    return sorted(
        (field_path_to_string(v.field), v.rule_id, field_path_to_string(v.rule))
        for v in rules_ipc.RULES_SERVICE_CHECK.validate_input(m)
    )


def _theirs(m: Any) -> list[tuple[str, str, str]]:
    return sorted(
        (field_path_to_string(v.proto.field), v.proto.rule_id, field_path_to_string(v.proto.rule))
        for v in protovalidate.collect_violations(m)
    )


@settings(max_examples=300, deadline=None, derandomize=True)
@given(_requests())
def test_generated_validators_agree_with_python_protovalidate(m: Any) -> None:
    assert _ours(m) == _theirs(m)


def test_a_valid_request_has_no_violations_and_a_broken_one_has_them() -> None:
    assert _ours(_valid()) == [] == _theirs(_valid())
    m = _valid()
    m.name = ""
    m.ClearField("inner")
    assert _ours(m) == _theirs(m) == [
        ("inner", "required", "required"),
        ("name", "string.min_len", "string.min_len"),
    ]
