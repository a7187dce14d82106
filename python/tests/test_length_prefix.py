"""The length-prefix framer: split at every byte offset, several frames per chunk, the limit
checked before allocating, garbage refused (mirrors length-prefix-framer.test.ts)."""

from __future__ import annotations

import pytest

from protoipc import Code, IpcError
from protoipc.unix.length_prefix import create_length_prefix_framer

PAYLOADS = [b"{}", b"", '{"type":"command","args":{"x":"é€"}}'.encode(), b"x" * 300]


@pytest.mark.parametrize("magic", [b"", b"POPPO"])
def test_split_at_every_offset_and_several_per_chunk(magic: bytes) -> None:
    framer = create_length_prefix_framer(magic=magic)
    wire = b"".join(b"".join(framer.encode(p)) for p in PAYLOADS)
    assert framer.create_decoder().push(wire) == PAYLOADS
    for cut in range(len(wire) + 1):
        d = framer.create_decoder()
        assert d.push(wire[:cut]) + d.push(wire[cut:]) == PAYLOADS
        assert d.buffered_bytes == 0
    d = framer.create_decoder()
    frames: list[bytes] = []
    for i in range(len(wire)):
        frames += d.push(wire[i : i + 1])
    assert frames == PAYLOADS


@pytest.mark.parametrize("magic", [b"", b"POPPO"])
def test_wire_format(magic: bytes) -> None:
    framer = create_length_prefix_framer(magic=magic)
    assert b"".join(framer.encode(b"abc")) == magic + b"\x00\x00\x00\x03abc"


def test_length_over_limit_rejected_before_payload() -> None:
    framer = create_length_prefix_framer(magic=b"POPPO", max_frame_bytes=10)
    d = framer.create_decoder()
    with pytest.raises(IpcError) as err:
        d.push(b"POPPO\xff\xff\xff\xff")
    assert err.value.code == Code.RESOURCE_EXHAUSTED
    assert err.value.raw_message == "frame of 4294967295 bytes exceeds max_frame_bytes 10"
    assert d.buffered_bytes == 0
    with pytest.raises(IpcError):
        d.push(b"x")  # stays failed
    with pytest.raises(IpcError) as enc:
        framer.encode(b"x" * 11)
    assert enc.value.code == Code.RESOURCE_EXHAUSTED


def test_garbage_refused_at_first_wrong_byte() -> None:
    framer = create_length_prefix_framer(magic=b"POPPO")
    d = framer.create_decoder()
    assert d.push(b"PO") == []
    with pytest.raises(IpcError) as err:
        d.push(b"X")
    assert err.value.code == Code.INVALID_ARGUMENT
    assert err.value.raw_message == "frame magic mismatch: expected 50 4f 50 50 4f, got 50 4f 58"
    good = b"".join(framer.encode(b"{}"))
    with pytest.raises(IpcError):
        framer.create_decoder().push(good + b"GET / HTTP/1.1\r\n")


def test_bad_options() -> None:
    with pytest.raises(IpcError):
        create_length_prefix_framer(max_frame_bytes=-1)
    with pytest.raises(IpcError):
        create_length_prefix_framer(magic=b"x" * 65)
