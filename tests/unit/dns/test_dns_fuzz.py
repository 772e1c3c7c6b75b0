"""Fuzzing the handler: random and mutated packets never raise, and every reply parses.

A deterministic run (fixed seed) sends 100,000 packets: mutations of valid queries (bit flips,
cuts, inserted and deleted bytes, random header counts and flags, spliced queries) and plain
random bytes. Whatever comes back must be None (dropped), a `Reply` that dnslib parses and
whose ID is the query's, or an `Upstream` whose resumption (no answer, or a garbled one) is
such a `Reply` too. A small hypothesis test explores arbitrary bytes on top.
"""

from __future__ import annotations

import random
import struct

from dns_fixtures import cluster, query
from dnslib import DNSRecord
from hypothesis import given, settings
from hypothesis import strategies as st

from kubesvc.dns.handler import Handler, Reply, Upstream
from kubesvc.dns.records import Config

PACKETS = 100_000
SEED = 20240611

SEEDS = [
    query(name, qtype, edns=edns)
    for name, qtype in [
        ("svc1.testns.svc.cluster.local", "A"),
        ("hdls1.testns.svc.cluster.local", "AAAA"),
        ("_http._tcp.hdls1.testns.svc.cluster.local", "SRV"),
        ("hdls1.testns.svc.cluster.local", "SRV"),
        ("web-1.web.testns.svc.cluster.local", "A"),
        ("external.testns.svc.cluster.local", "A"),
        ("external-to-service.testns.svc.cluster.local", "A"),
        ("1-2-3-4.default.pod.cluster.local", "A"),
        ("dns-version.cluster.local", "TXT"),
        ("cluster.local", "NS"),
        ("cluster.local", "SOA"),
        ("nope.testns.svc.cluster.local", "A"),
        ("1.0.0.10.in-addr.arpa", "PTR"),
        ("1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.c.b.a.4.3.2.1.ip6.arpa", "PTR"),
        ("example.com", "A"),
        ("testns.svc.cluster.local", "ANY"),
    ]
    for edns in (None, 512, 4096)
]


def mutate(rng: random.Random, data: bytes) -> bytes:
    buf = bytearray(data)
    kind = rng.randrange(9)
    if kind == 0:  # flip a few bits
        for _ in range(rng.randint(1, 4)):
            buf[rng.randrange(len(buf))] ^= 1 << rng.randrange(8)
    elif kind == 1:  # cut short
        del buf[rng.randrange(len(buf)) :]
    elif kind == 2:  # insert bytes
        at = rng.randrange(len(buf) + 1)
        buf[at:at] = rng.randbytes(rng.randint(1, 8))
    elif kind == 3:  # delete bytes
        at = rng.randrange(len(buf))
        del buf[at : at + rng.randint(1, 8)]
    elif kind == 4 and len(buf) >= 12:  # random counts and flags
        struct.pack_into("!5H", buf, 2, *(rng.choice((0, 1, 2, 0xFFFF)) for _ in range(5)))
        buf[2] = rng.randrange(256) & (0x7F if rng.random() < 0.25 else 0x07)
    elif kind == 5:  # splice two queries
        other = rng.choice(SEEDS)
        buf = buf[: rng.randrange(len(buf))] + other[rng.randrange(len(other)) :]
    elif kind == 6:  # overwrite a byte run with random bytes
        at = rng.randrange(len(buf))
        buf[at : at + 4] = rng.randbytes(4)
    elif len(buf) > 13:  # change a character of the name: valid, often unknown, names
        buf[rng.randrange(13, len(buf) - 4 if len(buf) > 17 else len(buf))] = rng.choice(
            b"abcdefghijklmnopqrstuvwxyz0123456789-_ABC"
        )
    return bytes(buf)


def check(handler: Handler, data: bytes, tcp: bool, rng: random.Random | None = None) -> None:
    result = handler.handle(data, tcp=tcp)
    if result is None:
        return
    if isinstance(result, Upstream):
        check_reply(data, handler.resume(result, None))
        if rng is not None:
            answer = DNSRecord.parse(result.query).reply()
            garbled = mutate(rng, bytes(answer.pack()))
            check_reply(data, handler.resume(result, garbled))
        return
    check_reply(data, result)


def check_reply(data: bytes, reply: Reply) -> None:
    assert isinstance(reply, Reply)
    parsed = DNSRecord.parse(reply.data)
    assert parsed.header.id == struct.unpack_from("!H", data)[0]
    assert parsed.header.qr == 1


def test_one_hundred_thousand_packets() -> None:
    rng = random.Random(SEED)
    handler = Handler(cluster(), Config(local_ips=("10.244.0.5",)))
    for i in range(PACKETS):
        if i % 10 == 0:
            data = rng.randbytes(rng.randint(0, 64))
        else:
            data = rng.choice(SEEDS)
            for _ in range(rng.randint(1, 3)):
                data = mutate(rng, data) if len(data) else data
        check(handler, data, tcp=bool(i & 1), rng=rng if i % 16 == 0 else None)


@settings(max_examples=300, deadline=None)
@given(st.binary(min_size=0, max_size=600), st.booleans())
def test_arbitrary_bytes(data: bytes, tcp: bool) -> None:
    check(Handler(cluster(), Config()), data, tcp)


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(SEEDS),
    st.lists(st.tuples(st.integers(0, 511), st.integers(0, 255)), max_size=6),
)
def test_valid_queries_with_bytes_replaced(seed: bytes, edits: list[tuple[int, int]]) -> None:
    data = bytearray(seed)
    for at, value in edits:
        data[at % len(data)] = value
    check(Handler(cluster(), Config()), bytes(data), tcp=False)
