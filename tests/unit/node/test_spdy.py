"""SPDY/3.1 frames: round trips, the header dictionary, splits anywhere, malformed input."""

from __future__ import annotations

import hashlib
import struct
import zlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kubesvc.node import spdy
from kubesvc.node.spdy import (
    Data,
    Framer,
    GoAway,
    HeadersFrame,
    Ping,
    ProtocolError,
    RstStream,
    Settings,
    SynReply,
    SynStream,
    WindowUpdate,
)

PF_HEADERS = (("streamtype", "error"), ("port", "80"), ("requestid", "0"))


def test_dictionary_is_the_spdy3_one() -> None:
    # 1423 bytes; the same bytes are in kubectl's spdystream (checked against kubectl 1.32)
    assert len(spdy.DICTIONARY) == 1423
    assert spdy.DICTIONARY.startswith(b"\x00\x00\x00\x07options\x00\x00\x00\x04head")
    assert spdy.DICTIONARY.endswith(b"charset=iso-8859-1,utf-,*,enq=0.")
    assert hashlib.sha256(spdy.DICTIONARY).hexdigest() == (
        "51d27341373f923f3cd88e1eb7162aeaa3723d7585ff2399201dc06498407f02"
    )


def test_header_blocks_need_the_dictionary() -> None:
    out = Framer()
    wire = out.encode(SynStream(stream_id=1, headers=PF_HEADERS))
    block = wire[18:]
    # a plain inflater without the preset dictionary cannot read it
    with pytest.raises(zlib.error):
        zlib.decompressobj().decompress(block)
    raw = zlib.decompressobj(zdict=spdy.DICTIONARY).decompress(block)
    assert spdy.decode_header_block(raw) == PF_HEADERS


def test_syn_stream_layout() -> None:
    wire = Framer().encode(SynStream(stream_id=5, headers=(), fin=True, priority=3))
    assert wire[:4] == b"\x80\x03\x00\x01"  # control bit, version 3, type 1
    assert wire[4] == spdy.FLAG_FIN
    assert struct.unpack(">I", b"\x00" + wire[5:8])[0] == len(wire) - 8
    assert struct.unpack_from(">IIB", wire, 8) == (5, 0, 3 << 5)


FRAMES = [
    Data(3, b"hello", fin=False),
    Data(3, b"", fin=True),
    SynStream(stream_id=1, headers=PF_HEADERS),
    SynStream(stream_id=7, headers=(("a", "1"), ("a", "2")), fin=True, unidirectional=True),
    SynReply(1, ()),
    SynReply(3, (("x", "y"),), fin=True),
    RstStream(3, spdy.RstStatus.CANCEL),
    Settings(((spdy.SETTINGS_INITIAL_WINDOW_SIZE, 1 << 20), (4, 100))),
    Ping(1),
    GoAway(5, spdy.GoAwayStatus.OK),
    HeadersFrame(3, (("trailer", "z"),), fin=True),
    WindowUpdate(0, 40000),
    WindowUpdate(3, 1),
]


def test_round_trip_shares_the_compression_contexts() -> None:
    sender, receiver = Framer(), Framer()
    wire = b"".join(sender.encode(f) for f in FRAMES)
    assert receiver.feed(wire) == FRAMES
    # the second block of the same headers compresses to a few bytes: one zlib stream
    again = sender.encode(SynStream(stream_id=9, headers=PF_HEADERS))
    assert len(again) < 8 + 10 + 12
    assert receiver.feed(again) == [SynStream(stream_id=9, headers=PF_HEADERS)]


@given(st.lists(st.integers(min_value=0, max_value=40), max_size=40))
def test_any_split_gives_the_same_frames(cuts: list[int]) -> None:
    sender, receiver = Framer(), Framer()
    wire = b"".join(sender.encode(f) for f in FRAMES)
    got, offset = [], 0
    for cut in cuts:  # zero-length pieces included, as kubectl's WebSocket messages have
        got += receiver.feed(wire[offset : offset + cut])
        offset += cut
    got += receiver.feed(wire[offset:])
    assert got == FRAMES


def test_unknown_control_types_are_skipped() -> None:
    unknown = struct.pack(">HHI", 0x8003, 10, 4) + b"abcd"  # type 10 (CREDENTIAL-like)
    assert Framer().feed(unknown + Framer().encode(Ping(3))) == [Ping(3)]


def _control(kind: int, payload: bytes, version: int = 3, flags: int = 0) -> bytes:
    return struct.pack(">HHI", 0x8000 | version, kind, (flags << 24) | len(payload)) + payload


@pytest.mark.parametrize(
    ("wire", "message"),
    [
        (_control(6, b"\x00\x00\x00\x01", version=2), "unsupported SPDY version 2"),
        (_control(3, b"\x00\x00\x00\x01"), "RST_STREAM frame of 4 bytes is malformed"),
        (_control(6, b""), "PING frame of 0 bytes is malformed"),
        (_control(9, b"\x00\x00\x00\x01\x00\x00\x00\x00"), "zero delta"),
        (_control(1, b"\x00" * 9), "SYN_STREAM frame of 9 bytes is malformed"),
        (_control(1, b"\x00\x00\x00\x01" + b"\x00" * 6 + b"garbage"), "does not decompress"),
        (_control(2, b"\x00\x00\x00\x00" + b"\x78"), "on stream 0"),
        (struct.pack(">II", 0, 1) + b"x", "DATA frame on stream 0"),
        (_control(4, b"\x00\x00\x00\x02" + b"\x00" * 8), "SETTINGS frame of 12 bytes"),
    ],
)
def test_malformed_frames_raise_protocol_errors(wire: bytes, message: str) -> None:
    with pytest.raises(ProtocolError, match=message):
        Framer().feed(wire)


def _block_frame(raw_block: bytes) -> bytes:
    deflate = zlib.compressobj(zdict=spdy.DICTIONARY)
    block = deflate.compress(raw_block) + deflate.flush(zlib.Z_SYNC_FLUSH)
    return _control(2, b"\x00\x00\x00\x01" + block)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"\x00\x00\x00\x01\x00\x00\x00\x04Port\x00\x00\x00\x01x", "not lower-case"),
        (b"\x00\x00\x00\x02" + (b"\x00\x00\x00\x01a\x00\x00\x00\x01x" * 2), "appears twice"),
        (b"\x00\x00\x00\x01\x00\x00\x00\x09ab", "truncated"),
        (b"\x00\x00", "truncated"),
        (b"\x00\x00\x00\x00extra", "left over"),
    ],
)
def test_malformed_header_blocks(raw: bytes, message: str) -> None:
    with pytest.raises(ProtocolError, match=message):
        Framer().feed(_block_frame(raw))


def test_header_names_must_be_lower_case_to_send() -> None:
    with pytest.raises(ValueError, match="lower-case"):
        Framer().encode(SynReply(1, (("Port", "80"),)))
