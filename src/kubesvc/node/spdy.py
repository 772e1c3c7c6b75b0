"""SPDY/3.1 frames on the wire, sans-I/O: bytes in, frames out, and frames back to bytes.

kubectl port-forward speaks SPDY/3.1 (Go's moby/spdystream) inside WebSocket binary messages,
or directly on the TCP connection after an `Upgrade: SPDY/3.1`. Every frame has an 8-byte head:

    control: |1| version=3 (15) | type (16) | flags (8) | length (24) | payload
    data:    |0| stream-id (31)             | flags (8) | length (24) | data

Header blocks (in SYN_STREAM, SYN_REPLY and HEADERS) are `uint32 count` then, per pair,
`uint32 len, name, uint32 len, value` (several values of one name joined by NUL), compressed with
zlib and the SPDY/3 preset dictionary below. Each direction of a connection keeps ONE zlib
stream for its whole life, every block ending in a sync flush, so a `Framer` (one per connection)
owns both contexts: frames must be encoded in the order they are sent and decoded in the order
they arrive. `Framer.feed` takes bytes split anywhere (WebSocket messages cut frames at random
places, empty messages included) and returns the complete frames; malformed input raises
`ProtocolError`, which the session turns into a GOAWAY. Stream state, windows and pings live in
`spdysession`.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass
from enum import IntEnum

VERSION = 3
FLAG_FIN = 0x01
FLAG_UNIDIRECTIONAL = 0x02
MAX_LENGTH = 0xFFFFFF  # 24 bits
MAX_HEADER_BLOCK = 256 * 1024  # decompressed; kubectl's blocks are a few dozen bytes
DEFAULT_WINDOW = 64 * 1024


class FrameType(IntEnum):
    SYN_STREAM = 1
    SYN_REPLY = 2
    RST_STREAM = 3
    SETTINGS = 4
    PING = 6
    GOAWAY = 7
    HEADERS = 8
    WINDOW_UPDATE = 9


class RstStatus(IntEnum):
    PROTOCOL_ERROR = 1
    INVALID_STREAM = 2
    REFUSED_STREAM = 3
    UNSUPPORTED_VERSION = 4
    CANCEL = 5
    INTERNAL_ERROR = 6
    FLOW_CONTROL_ERROR = 7
    STREAM_IN_USE = 8
    STREAM_ALREADY_CLOSED = 9
    FRAME_TOO_LARGE = 11


class GoAwayStatus(IntEnum):
    OK = 0
    PROTOCOL_ERROR = 1
    INTERNAL_ERROR = 11


SETTINGS_INITIAL_WINDOW_SIZE = 7

# The SPDY/3 header dictionary (draft 3, "Compression"): these words, each preceded by its
# length as a big-endian uint32, then the status texts, dates and media types as one run.
# fmt: off
_DICTIONARY_WORDS = (
    "options", "head", "post", "put", "delete", "trace", "accept", "accept-charset",
    "accept-encoding", "accept-language", "accept-ranges", "age", "allow", "authorization",
    "cache-control", "connection", "content-base", "content-encoding", "content-language",
    "content-length", "content-location", "content-md5", "content-range", "content-type", "date",
    "etag", "expect", "expires", "from", "host", "if-match", "if-modified-since", "if-none-match",
    "if-range", "if-unmodified-since", "last-modified", "location", "max-forwards", "pragma",
    "proxy-authenticate", "proxy-authorization", "range", "referer", "retry-after", "server", "te",
    "trailer", "transfer-encoding", "upgrade", "user-agent", "vary", "via", "warning",
    "www-authenticate", "method", "get", "status", "200 OK", "version", "HTTP/1.1", "url",
    "public", "set-cookie", "keep-alive", "origin",
)
# fmt: on
_DICTIONARY_TAIL = (
    "100101201202205206300302303304305306307402405406407408409410411412413414415416417502504505"
    "203 Non-Authoritative Information204 No Content301 Moved Permanently400 Bad Request"
    "401 Unauthorized403 Forbidden404 Not Found500 Internal Server Error501 Not Implemented"
    "503 Service UnavailableJan Feb Mar Apr May Jun Jul Aug Sept Oct Nov Dec 00:00:00 "
    "Mon, Tue, Wed, Thu, Fri, Sat, Sun, GMTchunked,text/html,image/png,image/jpg,image/gif,"
    "application/xml,application/xhtml+xml,text/plain,text/javascript,publicprivatemax-age="
    "gzip,deflate,sdchcharset=utf-8charset=iso-8859-1,utf-,*,enq=0."
)
DICTIONARY = (
    b"".join(struct.pack(">I", len(w)) + w.encode() for w in _DICTIONARY_WORDS)
    + _DICTIONARY_TAIL.encode()
)

Headers = tuple[tuple[str, str], ...]  # (name, value) pairs, names lower-case


class ProtocolError(Exception):
    """The peer sent something SPDY/3.1 does not allow; the session cannot go on."""


@dataclass(frozen=True, slots=True)
class Data:
    stream_id: int
    data: bytes = b""
    fin: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class SynStream:
    stream_id: int
    headers: Headers = ()
    fin: bool = False
    unidirectional: bool = False
    associated_id: int = 0
    priority: int = 0
    slot: int = 0


@dataclass(frozen=True, slots=True)
class SynReply:
    stream_id: int
    headers: Headers = ()
    fin: bool = False


@dataclass(frozen=True, slots=True)
class RstStream:
    stream_id: int
    status: int


@dataclass(frozen=True, slots=True)
class Settings:
    values: tuple[tuple[int, int], ...]  # (id, value)


@dataclass(frozen=True, slots=True)
class Ping:
    ping_id: int


@dataclass(frozen=True, slots=True)
class GoAway:
    last_good_stream_id: int
    status: int = GoAwayStatus.OK


@dataclass(frozen=True, slots=True)
class HeadersFrame:
    stream_id: int
    headers: Headers = ()
    fin: bool = False


@dataclass(frozen=True, slots=True)
class WindowUpdate:
    stream_id: int  # 0: the whole session
    delta: int


Frame = (
    Data | SynStream | SynReply | RstStream | Settings | Ping | GoAway | HeadersFrame | WindowUpdate
)


def encode_header_block(headers: Headers) -> bytes:
    """The uncompressed block; several values of one name are joined with NUL, in order."""
    grouped: dict[str, list[str]] = {}
    for name, value in headers:
        if not name or name != name.lower():
            raise ValueError(f"SPDY header names are non-empty and lower-case, not {name!r}")
        grouped.setdefault(name, []).append(value)
    out = [struct.pack(">I", len(grouped))]
    for name, values in grouped.items():
        raw_name, raw_value = name.encode(), "\0".join(values).encode()
        out += [struct.pack(">I", len(raw_name)), raw_name]
        out += [struct.pack(">I", len(raw_value)), raw_value]
    return b"".join(out)


def decode_header_block(raw: bytes) -> Headers:
    def take(offset: int) -> tuple[bytes, int]:
        if offset + 4 > len(raw):
            raise ProtocolError("truncated header block")
        (size,) = struct.unpack_from(">I", raw, offset)
        end = offset + 4 + size
        if end > len(raw):
            raise ProtocolError("truncated header block")
        return raw[offset + 4 : end], end

    if len(raw) < 4:
        raise ProtocolError("truncated header block")
    (count,) = struct.unpack_from(">I", raw)
    offset, pairs, seen = 4, [], set()
    for _ in range(count):
        name_raw, offset = take(offset)
        value_raw, offset = take(offset)
        name = name_raw.decode("latin-1")
        if not name or name != name.lower():
            raise ProtocolError(f"header name {name!r} is empty or not lower-case")
        if name in seen:
            raise ProtocolError(f"header {name!r} appears twice")
        seen.add(name)
        pairs += [(name, v) for v in value_raw.decode("latin-1").split("\0")]
    if offset != len(raw):
        raise ProtocolError("bytes left over after the header block")
    return tuple(pairs)


def _control(kind: FrameType, flags: int, payload: bytes) -> bytes:
    if len(payload) > MAX_LENGTH:
        raise ValueError("control frame too large")
    head = struct.pack(">HHI", 0x8000 | VERSION, kind, (flags << 24) | len(payload))
    return head + payload


def _check_id(stream_id: int, *, zero_ok: bool = False) -> None:
    if not (0 if zero_ok else 1) <= stream_id <= 0x7FFFFFFF:
        raise ValueError(f"stream id {stream_id} out of range")


class Framer:
    """Encodes and decodes the frames of one connection (both header compression contexts)."""

    def __init__(self) -> None:
        self._deflate = zlib.compressobj(
            zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, 15, 8, zlib.Z_DEFAULT_STRATEGY, DICTIONARY
        )
        self._inflate = zlib.decompressobj(zdict=DICTIONARY)
        self._buffer = bytearray()

    # ------------------------------------------------------------------ out

    def _block(self, headers: Headers) -> bytes:
        raw = encode_header_block(headers)
        return self._deflate.compress(raw) + self._deflate.flush(zlib.Z_SYNC_FLUSH)

    def encode(self, frame: Frame) -> bytes:
        if isinstance(frame, Data):
            _check_id(frame.stream_id)
            if len(frame.data) > MAX_LENGTH:
                raise ValueError("data frame too large")
            word = ((FLAG_FIN if frame.fin else 0) << 24) | len(frame.data)
            return struct.pack(">II", frame.stream_id, word) + frame.data
        if isinstance(frame, SynStream):
            _check_id(frame.stream_id)
            flags = (FLAG_FIN if frame.fin else 0) | (
                FLAG_UNIDIRECTIONAL if frame.unidirectional else 0
            )
            fixed = struct.pack(
                ">IIBB", frame.stream_id, frame.associated_id, (frame.priority & 7) << 5, frame.slot
            )
            return _control(FrameType.SYN_STREAM, flags, fixed + self._block(frame.headers))
        if isinstance(frame, SynReply | HeadersFrame):
            _check_id(frame.stream_id)
            kind = FrameType.SYN_REPLY if isinstance(frame, SynReply) else FrameType.HEADERS
            payload = struct.pack(">I", frame.stream_id) + self._block(frame.headers)
            return _control(kind, FLAG_FIN if frame.fin else 0, payload)
        if isinstance(frame, RstStream):
            _check_id(frame.stream_id)
            return _control(
                FrameType.RST_STREAM, 0, struct.pack(">II", frame.stream_id, frame.status)
            )
        if isinstance(frame, Settings):
            body = b"".join(struct.pack(">II", k & MAX_LENGTH, v) for k, v in frame.values)
            return _control(FrameType.SETTINGS, 0, struct.pack(">I", len(frame.values)) + body)
        if isinstance(frame, Ping):
            return _control(FrameType.PING, 0, struct.pack(">I", frame.ping_id))
        if isinstance(frame, GoAway):
            payload = struct.pack(">II", frame.last_good_stream_id, frame.status)
            return _control(FrameType.GOAWAY, 0, payload)
        _check_id(frame.stream_id, zero_ok=True)
        if not 1 <= frame.delta <= 0x7FFFFFFF:
            raise ValueError(f"window delta {frame.delta} out of range")
        payload = struct.pack(">II", frame.stream_id, frame.delta)
        return _control(FrameType.WINDOW_UPDATE, 0, payload)

    # ------------------------------------------------------------------ in

    def feed(self, data: bytes) -> list[Frame]:
        """The frames completed by `data` (any split; empty is fine). Unknown control frame
        types are skipped, as the spec asks."""
        self._buffer += data
        frames: list[Frame] = []
        while len(self._buffer) >= 8:
            first, second = struct.unpack_from(">II", self._buffer)
            length = second & MAX_LENGTH
            if len(self._buffer) < 8 + length:
                break
            payload = bytes(self._buffer[8 : 8 + length])
            del self._buffer[: 8 + length]
            flags = second >> 24
            if first & 0x80000000:
                frame = self._parse_control(first, flags, payload)
                if frame is not None:
                    frames.append(frame)
            else:
                if first == 0:
                    raise ProtocolError("DATA frame on stream 0")
                frames.append(Data(first, payload, bool(flags & FLAG_FIN)))
        return frames

    def _headers(self, block: bytes) -> Headers:
        try:
            raw = self._inflate.decompress(block, MAX_HEADER_BLOCK)
        except zlib.error as exc:
            raise ProtocolError(f"header block does not decompress: {exc}") from None
        if self._inflate.unconsumed_tail:
            raise ProtocolError(f"header block larger than {MAX_HEADER_BLOCK} bytes")
        return decode_header_block(raw)

    def _parse_control(self, first: int, flags: int, payload: bytes) -> Frame | None:
        version, kind = (first >> 16) & 0x7FFF, first & 0xFFFF
        if version != VERSION:
            raise ProtocolError(f"unsupported SPDY version {version}")
        fin = bool(flags & FLAG_FIN)

        def need(size: int, exact: bool = True) -> None:
            if len(payload) < size or (exact and len(payload) != size):
                name = FrameType(kind).name
                raise ProtocolError(f"{name} frame of {len(payload)} bytes is malformed")

        def stream_id(offset: int = 0) -> int:
            sid = int(struct.unpack_from(">I", payload, offset)[0]) & 0x7FFFFFFF
            if sid == 0:
                raise ProtocolError(f"{FrameType(kind).name} frame on stream 0")
            return sid

        if kind == FrameType.SYN_STREAM:
            need(10, exact=False)
            assoc, prio, slot = struct.unpack_from(">IBB", payload, 4)
            return SynStream(
                stream_id=stream_id(),
                headers=self._headers(payload[10:]),
                fin=fin,
                unidirectional=bool(flags & FLAG_UNIDIRECTIONAL),
                associated_id=assoc & 0x7FFFFFFF,
                priority=prio >> 5,
                slot=slot,
            )
        if kind in (FrameType.SYN_REPLY, FrameType.HEADERS):
            need(4, exact=False)
            cls = SynReply if kind == FrameType.SYN_REPLY else HeadersFrame
            return cls(stream_id(), self._headers(payload[4:]), fin)
        if kind == FrameType.RST_STREAM:
            need(8)
            return RstStream(stream_id(), struct.unpack_from(">I", payload, 4)[0])
        if kind == FrameType.SETTINGS:
            need(4, exact=False)
            (count,) = struct.unpack_from(">I", payload)
            need(4 + 8 * count)
            pairs = [struct.unpack_from(">II", payload, 4 + 8 * i) for i in range(count)]
            return Settings(tuple((k & MAX_LENGTH, v) for k, v in pairs))
        if kind == FrameType.PING:
            need(4)
            return Ping(struct.unpack_from(">I", payload)[0])
        if kind == FrameType.GOAWAY:
            need(8)
            last, status = struct.unpack_from(">II", payload)
            return GoAway(last & 0x7FFFFFFF, status)
        if kind == FrameType.WINDOW_UPDATE:
            need(8)
            sid, delta = struct.unpack_from(">II", payload)
            delta &= 0x7FFFFFFF
            if delta == 0:
                raise ProtocolError("WINDOW_UPDATE with a zero delta")
            return WindowUpdate(sid & 0x7FFFFFFF, delta)
        return None
