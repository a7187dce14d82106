"""The Content-Length framer: headers split at every byte offset, several frames per read,
partial frames, LSP's header rules, the limits checked before allocating, garbage refused
(mirrors content-length-framer.test.ts)."""

from __future__ import annotations

import pytest

from protoipc import Code, IpcError
from protoipc.unix.content_length import create_content_length_framer

PAYLOADS = [b"{}", "é ünïcødé".encode(), b"x" * 300, b'{"jsonrpc":"2.0"}']


def test_wire_format_and_round_trip() -> None:
    framer = create_content_length_framer()
    wire = b"".join(framer.encode(b'{"a":1}'))
    assert wire == b'Content-Length: 7\r\n\r\n{"a":1}'
    assert framer.create_decoder().push(wire) == [b'{"a":1}']


def test_split_at_every_offset() -> None:
    framer = create_content_length_framer()
    wire = b"".join(b"".join(framer.encode(p)) for p in PAYLOADS)
    for cut in range(1, len(wire)):
        for step in (1, 7):
            d = framer.create_decoder()
            frames = d.push(wire[:cut])
            for at in range(cut, len(wire), step):
                frames += d.push(wire[at : at + step])
            assert frames == PAYLOADS
            assert d.buffered_bytes == 0


def test_several_frames_in_one_read_and_a_partial_one() -> None:
    d = create_content_length_framer().create_decoder()
    frames = d.push(b"Content-Length: 1\r\n\r\naContent-Length: 2\r\n\r\nbcContent-Length: 3\r\n\r\nde")
    assert frames == [b"a", b"bc"]
    assert d.buffered_bytes > 0
    assert d.push(b"f") == [b"def"]


def test_lsp_header_rules() -> None:
    d = create_content_length_framer().create_decoder()
    wire = (
        b"content-length: 2\n\nab"
        b"CONTENT-LENGTH:3\r\nContent-Type: application/vscode-jsonrpc; charset=utf-8\r\n\r\nabc"
        b"X-Other: 1\nContent-Length:  1 \n\nz"
    )
    assert d.push(wire) == [b"ab", b"abc", b"z"]


def test_length_over_limit_rejected_before_allocating() -> None:
    d = create_content_length_framer(max_frame_bytes=100).create_decoder()
    with pytest.raises(IpcError) as err:
        d.push(b"Content-Length: 1099511627776\r\n\r\n")
    assert err.value.code == Code.RESOURCE_EXHAUSTED
    assert err.value.raw_message == "frame of 1099511627776 bytes exceeds maxFrameBytes 100"
    with pytest.raises(IpcError):
        d.push(b"Content-Length: 1\r\n\r\na")  # a failed decoder stays failed


@pytest.mark.parametrize(
    ("wire", "message"),
    [
        (b"Content-Length: 0\r\n\r\n", "below the minimum 1"),
        (b"Content-Length: -5\r\n\r\n", "not a decimal integer"),
        (b"Content-Length: 12abc\r\n\r\n", "not a decimal integer"),
        (b"Content-Type: x\r\n\r\n", "without a content-length"),
        (b"garbage line\r\n\r\n", "malformed header line"),
        (b"Content-Length: 1\r\nContent-Length: 2\r\n\r\n", "conflicting"),
    ],
)
def test_malformed_headers(wire: bytes, message: str) -> None:
    with pytest.raises(IpcError) as err:
        create_content_length_framer().create_decoder().push(wire)
    assert err.value.code == Code.INVALID_ARGUMENT
    assert message in err.value.raw_message


def test_header_block_limit_in_one_read_or_many() -> None:
    framer = create_content_length_framer(max_header_bytes=64)
    long = b"X-Pad: " + b"p" * 100 + b"\r\nContent-Length: 1\r\n\r\na"
    with pytest.raises(IpcError) as err:
        framer.create_decoder().push(long)
    assert err.value.code == Code.RESOURCE_EXHAUSTED
    d = framer.create_decoder()
    with pytest.raises(IpcError) as err2:
        for at in range(0, len(long), 10):
            d.push(long[at : at + 10])
    assert "maxHeaderBytes 64" in err2.value.raw_message


def test_garbage_is_refused() -> None:
    d = create_content_length_framer(max_header_bytes=1024).create_decoder()
    garbage = bytes(((i * 7919 + 13) & 0x7F) for i in range(4096))
    with pytest.raises(IpcError) as err:
        d.push(garbage)
    assert err.value.code in (Code.INVALID_ARGUMENT, Code.RESOURCE_EXHAUSTED)


def test_encode_refuses_a_payload_over_the_limit() -> None:
    with pytest.raises(IpcError) as err:
        create_content_length_framer(max_frame_bytes=4).encode(b"12345")
    assert err.value.code == Code.RESOURCE_EXHAUSTED
