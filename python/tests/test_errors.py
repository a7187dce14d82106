"""IpcError and Code: the text, codes and details both runtimes agree on."""

from __future__ import annotations

import asyncio

from google.protobuf import any_pb2
from google.protobuf.wrappers_pb2 import StringValue, UInt32Value

from protoipc import Code, IpcError, code_to_string


def test_codes_are_numbered_like_grpc() -> None:
    assert Code(1) is Code.CANCELED
    assert Code(12) is Code.UNIMPLEMENTED
    assert Code(16) is Code.UNAUTHENTICATED
    assert len(Code) == 16


def test_str_is_the_code_name_and_the_raw_message() -> None:
    err = IpcError("deadline of 100 ms exceeded calling /a.B/C", Code.DEADLINE_EXCEEDED)
    assert str(err) == "[deadline_exceeded] deadline of 100 ms exceeded calling /a.B/C"
    assert err.raw_message == "deadline of 100 ms exceeded calling /a.B/C"
    assert IpcError("x").code == Code.UNKNOWN
    assert code_to_string(99) == "code_99"


def test_details_are_packed_and_found_by_type() -> None:
    packed = any_pb2.Any()
    packed.Pack(UInt32Value(value=7))
    err = IpcError(
        "bad", Code.INVALID_ARGUMENT, details=[StringValue(value="a"), packed], metadata={"k": "v"}
    )
    assert [d.type_url for d in err.details] == [
        "type.googleapis.com/google.protobuf.StringValue",
        "type.googleapis.com/google.protobuf.UInt32Value",
    ]
    assert [d.value for d in err.find_details(StringValue)] == ["a"]
    assert [d.value for d in err.find_details(UInt32Value)] == [7]
    assert err.metadata == {"k": "v"}


def test_from_exception_normalises_what_was_raised() -> None:
    same = IpcError("x", Code.NOT_FOUND)
    assert IpcError.from_exception(same) is same
    assert IpcError.from_exception(asyncio.CancelledError()).code == Code.CANCELED
    assert IpcError.from_exception(TimeoutError()).code == Code.DEADLINE_EXCEEDED
    boom = RuntimeError("disk on fire")
    err = IpcError.from_exception(boom, Code.INTERNAL)
    assert (err.code, err.raw_message, err.__cause__) == (Code.INTERNAL, "disk on fire", boom)
    assert IpcError.from_exception(ValueError()).raw_message == "ValueError"
