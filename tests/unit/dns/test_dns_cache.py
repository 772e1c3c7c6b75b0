"""The answer cache: generations, expiry, eviction, and TTL fields found in wire-format replies."""

from __future__ import annotations

import pytest
from dnslib import EDNS0, RR, DNSRecord

from kubesvc.dns.cache import Cache, Entry, aged, is_denial, question_end, ttl_offsets


def entry(**fields: object) -> Entry:
    base: dict[str, object] = {"data": b"\0" * 12, "rcode": 0, "qtype": "A"}
    base.update(fields)
    return Entry(**base)  # type: ignore[arg-type]


def test_generation_entries_live_until_the_view_changes() -> None:
    cache = Cache()
    cache.put((False, b"q"), entry(generation=3))
    assert cache.get((False, b"q"), 3, 0.0) is not None
    assert cache.get((True, b"q"), 3, 0.0) is None  # TCP is another key
    assert cache.get((False, b"q"), 4, 0.0) is None
    assert len(cache) == 0  # the stale entry is gone


def test_expiring_entries() -> None:
    cache = Cache()
    cache.put((False, b"q"), entry(expires=10.0))
    assert cache.get((False, b"q"), 0, 9.9) is not None
    assert cache.get((False, b"q"), 0, 10.0) is None


def test_the_oldest_entry_goes_when_full() -> None:
    cache = Cache(max_entries=2)
    for key in (b"a", b"b", b"c"):
        cache.put((False, key), entry())
    assert cache.get((False, b"a"), 0, 0) is None
    assert cache.get((False, b"b"), 0, 0) is not None and len(cache) == 2
    cache.put((False, b"b"), entry(rcode=3))  # replacing evicts nothing
    assert len(cache) == 2
    cache.clear()
    assert len(cache) == 0


def reply(*answers: str, authority: tuple[str, ...] = (), edns: bool = True) -> bytes:
    message = DNSRecord.question("www.example.com").reply()
    for text in answers:
        message.add_answer(*RR.fromZone(text))
    for text in authority:
        message.add_auth(*RR.fromZone(text))
    if edns:
        message.add_ar(EDNS0(udp_len=1232))
    return bytes(message.pack())


def test_ttl_offsets_walk_compressed_names_and_skip_opt() -> None:
    data = reply(
        "www.example.com. 300 IN CNAME web.example.com.",
        "web.example.com. 60 IN A 192.0.2.1",
    )
    offsets, ttl = ttl_offsets(data)
    assert ttl == 60 and len(offsets) == 2
    assert [int.from_bytes(data[o : o + 4], "big") for o in offsets] == [300, 60]


def test_a_denial_is_cached_by_the_soa_minimum() -> None:
    soa = "example.com. 900 IN SOA ns.example.com. host.example.com. 1 7200 1800 86400 120"
    assert ttl_offsets(reply(authority=(soa,)))[1] == 120
    assert ttl_offsets(reply())[1] is None


def test_aged_lowers_every_ttl_but_not_below_zero() -> None:
    data = reply("www.example.com. 300 IN A 192.0.2.1", "www.example.com. 20 IN A 192.0.2.2")
    offsets, _ = ttl_offsets(data)
    stored = entry(data=data, stored=100.0, ttl_offsets=offsets)
    assert aged(stored, 100.5) == data
    older = DNSRecord.parse(aged(stored, 130.0))
    assert [rr.ttl for rr in older.rr] == [270, 0]
    assert older.ar[0].rtype == 41


def test_malformed_replies_raise_value_error() -> None:
    with pytest.raises(ValueError):
        question_end(b"\0" * 11)
    with pytest.raises(ValueError):
        ttl_offsets(reply("www.example.com. 300 IN A 192.0.2.1")[:-3])  # cut short
    with pytest.raises(ValueError):
        ttl_offsets(b"\0\0\0\0\0\1\0\0\0\0\0\0" + b"\x40abc")  # a reserved label type


def test_denials() -> None:
    assert is_denial(3, reply())
    assert is_denial(0, reply())
    assert not is_denial(0, reply("www.example.com. 300 IN A 192.0.2.1"))
    assert not is_denial(2, reply())
