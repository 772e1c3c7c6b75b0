"""A cache of encoded answers, keyed by the query's bytes after its ID.

Pure (the clock is passed in). A hit costs one dict lookup: the key is everything in the query
but its two ID bytes (flags, counts, the question, the OPT record), plus the transport, since a
UDP answer may be truncated where a TCP one is not; the server patches the client's ID into the
stored reply. Queries that carry EDNS options (client cookies) are not cached: their bytes differ
on every query.

Two kinds of entries:
- answers from the cluster view are tagged with the view's `generation` and are valid until it
  changes (any Service, EndpointSlice, Pod or Namespace change that alters what DNS keeps);
- forwarded answers expire after their smallest TTL (the SOA's for a denial, RFC 2308), capped
  by `max_ttl`; on a hit their TTL fields are lowered by the entry's age, found once at store
  time by `ttl_offsets`, which walks the DNS wire format.

When full, the oldest entry is dropped (insertion order).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

Key = tuple[bool, bytes]  # (tcp, query bytes after the ID)
TYPE_OPT = 41
TYPE_SOA = 6


@dataclass(frozen=True, slots=True, kw_only=True)
class Entry:
    data: bytes  # the encoded reply, any ID
    rcode: int
    qtype: str
    generation: int | None = None  # valid while the view's generation is this
    expires: float | None = None  # valid until this time (forwarded answers)
    stored: float = 0.0
    ttl_offsets: tuple[int, ...] = ()  # TTL fields to age on a hit

    @property
    def denial(self) -> bool:
        return is_denial(self.rcode, self.data)


def is_denial(rcode: int, reply: bytes) -> bool:
    """NXDOMAIN, or NOERROR with an empty answer section (NODATA)."""
    return rcode == 3 or (rcode == 0 and reply[6:8] == b"\0\0")


class Cache:
    def __init__(self, max_entries: int = 10000, max_ttl: int = 3600) -> None:
        self.max_entries = max_entries
        self.max_ttl = max_ttl
        self._entries: dict[Key, Entry] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: Key, generation: int, now: float) -> Entry | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry.generation is not None and entry.generation != generation:
            del self._entries[key]
            return None
        if entry.expires is not None and now >= entry.expires:
            del self._entries[key]
            return None
        return entry

    def put(self, key: Key, entry: Entry) -> None:
        if key not in self._entries and len(self._entries) >= self.max_entries:
            del self._entries[next(iter(self._entries))]
        self._entries[key] = entry

    def clear(self) -> None:
        self._entries.clear()


def aged(entry: Entry, now: float) -> bytes:
    """The stored reply with its TTLs lowered by the time it spent in the cache."""
    if not entry.ttl_offsets:
        return entry.data
    age = int(now - entry.stored)
    if age <= 0:
        return entry.data
    data = bytearray(entry.data)
    for offset in entry.ttl_offsets:
        (ttl,) = struct.unpack_from("!I", data, offset)
        struct.pack_into("!I", data, offset, max(0, ttl - age))
    return bytes(data)


def _skip_name(data: bytes, offset: int) -> int:
    """The offset after a (possibly compressed) name; ValueError when it runs off the end."""
    while True:
        if offset >= len(data):
            raise ValueError("name runs past the message")
        length = data[offset]
        if length == 0:
            return offset + 1
        if length & 0xC0 == 0xC0:
            return offset + 2
        if length & 0xC0:
            raise ValueError("bad label type")
        offset += 1 + length


def question_end(data: bytes) -> int:
    """The offset just after the (single) question of a message."""
    if len(data) < 12:
        raise ValueError("short message")
    end = _skip_name(data, 12) + 4
    if end > len(data):
        raise ValueError("question runs past the message")
    return end


def ttl_offsets(data: bytes) -> tuple[tuple[int, ...], int | None]:
    """Where each record's TTL sits (OPT excluded), and the TTL the answer may be cached for.

    The cache TTL is the smallest TTL of the answer and authority records; for a negative answer
    (no answer records) it is the SOA's, the smaller of its TTL and its MINIMUM field (RFC 2308).
    None when nothing says how long (an empty answer without SOA). ValueError on malformed data.
    """
    qdcount, ancount, nscount, arcount = struct.unpack_from("!HHHH", data, 4)
    offset = 12
    for _ in range(qdcount):
        offset = _skip_name(data, offset) + 4
    offsets: list[int] = []
    smallest: int | None = None
    for index in range(ancount + nscount + arcount):
        offset = _skip_name(data, offset)
        if offset + 10 > len(data):
            raise ValueError("record runs past the message")
        rtype, _, ttl, rdlength = struct.unpack_from("!HHIH", data, offset)
        rdata = offset + 10
        if rdata + rdlength > len(data):
            raise ValueError("record data runs past the message")
        if rtype != TYPE_OPT:
            offsets.append(offset + 4)
            if index < ancount + nscount:
                if rtype == TYPE_SOA and ancount == 0:
                    ttl = min(ttl, _soa_minimum(data, rdata, rdlength))
                smallest = ttl if smallest is None else min(smallest, ttl)
        offset = rdata + rdlength
    return tuple(offsets), smallest


def _soa_minimum(data: bytes, rdata: int, rdlength: int) -> int:
    if rdlength < 22:
        raise ValueError("short SOA")
    (minimum,) = struct.unpack_from("!I", data, rdata + rdlength - 4)
    return int(minimum)
