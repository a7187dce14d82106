"""The envelope codec against the golden vectors every runtime shares
(test/golden/envelope-vectors.json): encode(fields) == hex, decode(hex) == fields."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from google.protobuf import any_pb2

from protoipc import Code, IpcError
from protoipc.envelope import (
    FrameKind,
    decode_envelope,
    encode_envelope,
    peek_request_id,
    status_to_error,
)
from protoipc.v1 import envelope_pb2

GOLDEN = Path(__file__).resolve().parents[2] / "test" / "golden" / "envelope-vectors.json"
VECTORS: list[dict[str, Any]] = json.loads(GOLDEN.read_text(encoding="utf-8"))["vectors"]


def hello_of(h: dict[str, Any]) -> envelope_pb2.Hello:
    return envelope_pb2.Hello(
        protocol_version=h["protocolVersion"],
        schema_hashes=h["schemaHashes"],
        heartbeat_interval_ms=h["heartbeatIntervalMs"],
        max_frame_bytes=h["maxFrameBytes"],
    )


def status_of(e: dict[str, Any]) -> envelope_pb2.Status:
    return envelope_pb2.Status(
        code=e["code"],
        message=e["message"],
        details=[
            any_pb2.Any(type_url=d["typeUrl"], value=bytes.fromhex(d["valueHex"]))
            for d in e["details"]
        ],
    )


def encode_fields(f: dict[str, Any]) -> bytes:
    return encode_envelope(
        FrameKind.from_name(f["kind"]),
        request_id=f.get("requestId", 0),
        method=f.get("method", ""),
        deadline_unix_ms=f.get("deadlineUnixMs", 0),
        sequence=f.get("sequence", 0),
        payload=bytes.fromhex(f.get("payloadHex", "")),
        error=status_of(f["error"]) if "error" in f else None,
        hello=hello_of(f["hello"]) if "hello" in f else None,
        metadata=f.get("metadata"),
    )


def test_the_vectors_cover_every_frame_kind() -> None:
    kinds = {v["fields"]["kind"] for v in VECTORS}
    assert kinds == {FrameKind.name_of(k) for k in envelope_pb2.FrameKind.values()} - {
        "UNSPECIFIED"
    }


def test_frame_kind_names() -> None:
    assert FrameKind.REQUEST == envelope_pb2.FRAME_KIND_REQUEST
    assert FrameKind.name_of(FrameKind.STREAM_ITEM) == "STREAM_ITEM"
    assert FrameKind.name_of(99) == "99"
    with pytest.raises(ValueError):
        FrameKind.from_name("NOPE")


@pytest.mark.parametrize("vector", VECTORS, ids=[v["name"] for v in VECTORS])
def test_encodes_the_fields_to_the_golden_bytes(vector: dict[str, Any]) -> None:
    assert encode_fields(vector["fields"]).hex() == vector["hex"]


@pytest.mark.parametrize("vector", VECTORS, ids=[v["name"] for v in VECTORS])
def test_decodes_the_golden_bytes_to_the_fields(vector: dict[str, Any]) -> None:
    f = vector["fields"]
    env = decode_envelope(bytes.fromhex(vector["hex"]))
    assert env.kind == FrameKind.from_name(f["kind"])
    assert env.request_id == f.get("requestId", 0)
    assert env.method == f.get("method", "")
    assert env.deadline_unix_ms == f.get("deadlineUnixMs", 0)
    assert env.sequence == f.get("sequence", 0)
    assert env.payload.hex() == f.get("payloadHex", "")
    assert dict(env.metadata) == f.get("metadata", {})
    assert env.HasField("hello") == ("hello" in f)
    if "hello" in f:
        h = f["hello"]
        assert env.hello.protocol_version == h["protocolVersion"]
        assert dict(env.hello.schema_hashes) == h["schemaHashes"]
        assert env.hello.heartbeat_interval_ms == h["heartbeatIntervalMs"]
        assert env.hello.max_frame_bytes == h["maxFrameBytes"]
    assert env.HasField("error") == ("error" in f)
    if "error" in f:
        e = f["error"]
        assert env.error.code == e["code"]
        assert env.error.message == e["message"]
        assert [
            {"typeUrl": d.type_url, "valueHex": d.value.hex()} for d in env.error.details
        ] == e["details"]


@pytest.mark.parametrize(
    ("frame", "why"),
    [
        (bytes([0xFF, 0xFF, 0xFF, 0x00, 0x13, 0x37]), "wire format was corrupt"),
        (b"", "frame kind is unspecified"),
        (bytes.fromhex("0801"), "frame kind is unspecified"),
        (bytes.fromhex("100108ffffffffffffffff01"), "varint exceeds 2^53"),
        (bytes.fromhex("10011a02fffe"), "UTF-8"),
    ],
)
def test_a_malformed_frame_is_invalid_argument(frame: bytes, why: str) -> None:
    with pytest.raises(IpcError) as info:
        decode_envelope(frame)
    assert info.value.code == Code.INVALID_ARGUMENT
    assert info.value.raw_message.startswith("malformed envelope: ")
    assert why in info.value.raw_message


def test_unknown_fields_are_skipped() -> None:
    frame = encode_envelope(FrameKind.CANCEL, request_id=5) + bytes.fromhex("f80701")  # field 127
    assert decode_envelope(frame).request_id == 5


def test_integers_at_or_past_2_53_are_refused_when_encoding() -> None:
    with pytest.raises(IpcError) as info:
        encode_envelope(FrameKind.CANCEL, request_id=2**53)
    assert info.value.code == Code.INTERNAL
    encode_envelope(FrameKind.CANCEL, request_id=2**53 - 1)


def test_peek_request_id_reads_field_1_from_a_head() -> None:
    frame = encode_envelope(FrameKind.REQUEST, request_id=300, method="/a.B/C", payload=b"x" * 100)
    assert peek_request_id(frame[:64]) == 300
    assert peek_request_id(encode_envelope(FrameKind.HEARTBEAT)) == 0
    assert peek_request_id(b"\x08") == 0
    assert peek_request_id(b"\x08\xff\xff") == 0  # truncated varint


def test_status_codes_outside_1_to_16_become_unknown() -> None:
    assert status_to_error(envelope_pb2.Status(code=99, message="x")).code == Code.UNKNOWN
    assert status_to_error(None).code == Code.INTERNAL
