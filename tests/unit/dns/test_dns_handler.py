"""The DNS protocol through the sans-I/O handler: errors, EDNS, truncation, forwarding, cache."""

from __future__ import annotations

import struct

import pytest
from dns_fixtures import CONFIG, HTTP, cluster, endpoint, endpoint_slice, headless, query, service
from dnslib import EDNS0, QTYPE, RR, A, DNSRecord, EDNSOption

from kubesvc.dns.handler import Handler, Reply, Upstream


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def handler(*, synced: bool = True, clock: Clock | None = None) -> Handler:
    return Handler(cluster(), CONFIG, synced=lambda: synced, clock=clock or Clock())


def reply_of(result: object) -> DNSRecord:
    assert isinstance(result, Reply), result
    return DNSRecord.parse(result.data)


def header(ident: int, flags: int, qd: int = 1, an: int = 0, ns: int = 0, ar: int = 0) -> bytes:
    return struct.pack("!6H", ident, flags, qd, an, ns, ar)


def opt_record(udp: int = 1232, version: int = 0, do: bool = False) -> bytes:
    ttl = (version << 16) | (0x8000 if do else 0)
    return b"\0" + struct.pack("!HHIH", 41, udp, ttl, 0)


QUESTION = bytes(DNSRecord.question("svc1.testns.svc.cluster.local").pack())[12:]


# --- what is dropped, what gets an error -------------------------------------------------------


@pytest.mark.parametrize("data", [b"", b"\x12", b"\x00" * 11])
def test_shorter_than_a_header_is_dropped(data: bytes) -> None:
    assert handler().handle(data, tcp=False) is None


def test_responses_are_dropped() -> None:
    assert handler().handle(header(7, 0x8000) + QUESTION, tcp=False) is None


@pytest.mark.parametrize("opcode", [1, 2, 4, 5, 15])
def test_other_opcodes_get_notimp(opcode: int) -> None:
    result = handler().handle(header(77, (opcode << 11) | 0x0100) + QUESTION, tcp=False)
    assert isinstance(result, Reply)
    ident, flags, qd, an, ns, ar = struct.unpack("!6H", result.data)
    assert (ident, flags & 0xF, (flags >> 11) & 0xF, qd + an + ns + ar) == (77, 4, opcode, 0)
    assert flags & 0x8000 and flags & 0x0100  # QR set, RD copied


@pytest.mark.parametrize(
    "data",
    [
        header(9, 0x0100) + b"\x03abc",  # the name runs off the end
        header(9, 0x0100) + b"\xc0\x0c\x00\x01\x00\x01",  # a pointer to itself
        header(9, 0x0100, qd=0),  # no question
        header(9, 0x0100, qd=2) + QUESTION + QUESTION,  # two questions
        header(9, 0x0100, ar=2) + QUESTION + opt_record() + opt_record(),  # two OPT
        header(9, 0x0100, an=1) + QUESTION + opt_record(),  # OPT in the answer section
        header(9, 0x0100, ar=1) + QUESTION + b"\x01x" + opt_record()[1:],  # OPT not at root
        header(9, 0x0100) + bytes(DNSRecord.question("a.", "OPT").pack())[12:],
    ],
)
def test_malformed_queries_get_formerr(data: bytes) -> None:
    result = handler().handle(data, tcp=False)
    assert isinstance(result, Reply) and result.rcode == 1
    ident, flags = struct.unpack_from("!HH", result.data)
    assert ident == 9 and flags & 0x8000 and flags & 0xF == 1


def test_edns_version_other_than_zero_gets_badvers() -> None:
    data = header(5, 0x0100, ar=1) + QUESTION + opt_record(version=1)
    reply = reply_of(handler().handle(data, tcp=False))
    assert reply.header.rcode == 0 and not reply.rr
    (opt,) = reply.ar
    assert (opt.ttl >> 24) == 1 and opt.rtype == 41  # extended rcode 16 = BADVERS


@pytest.mark.parametrize(
    ("qtype", "qclass", "rcode"), [("AXFR", 1, 5), ("IXFR", 1, 5), ("A", 3, 5), ("A", 254, 5)]
)
def test_zone_transfers_and_other_classes_are_refused(qtype: str, qclass: int, rcode: int) -> None:
    message = DNSRecord.question("svc1.testns.svc.cluster.local", qtype)
    message.q.qclass = qclass
    reply = reply_of(handler().handle(bytes(message.pack()), tcp=True))
    assert reply.header.rcode == rcode and reply.header.aa == 0


def test_other_classes_outside_the_zone_are_forwarded() -> None:
    message = DNSRecord.question("version.bind", "TXT", "CH")
    assert isinstance(handler().handle(bytes(message.pack()), tcp=False), Upstream)


def test_unsafe_labels_in_the_zone_do_not_exist() -> None:
    message = DNSRecord.question("svc1.testns.svc.cluster.local")
    message.q.qname.label = (b"svc1.testns", b"svc", b"cluster", b"local")
    reply = reply_of(handler().handle(bytes(message.pack()), tcp=False))
    assert reply.header.rcode == 3 and not reply.rr


# --- header flags, EDNS ------------------------------------------------------------------------


def test_flags_of_an_authoritative_answer() -> None:
    message = DNSRecord.question("svc1.testns.svc.cluster.local")
    message.header.rd, message.header.cd, message.header.ad = 0, 1, 1
    message.header.id = 31337
    reply = reply_of(handler().handle(bytes(message.pack()), tcp=False))
    h = reply.header
    assert (h.id, h.qr, h.aa, h.ra, h.rd, h.cd, h.ad, h.tc) == (31337, 1, 1, 0, 0, 1, 0, 0)
    assert str(reply.q.qname) == "svc1.testns.svc.cluster.local."


def test_edns_is_echoed_with_the_clients_size_and_the_do_bit() -> None:
    """As CoreDNS: the reply's OPT reflects the query's UDP size (dig 9.11 sent 4096, as in
    seed 001's output; newer dig sends 1232), clamped to 512..4096."""
    for asked, answered in ((4096, 4096), (1232, 1232), (65000, 4096), (100, 512)):
        data = header(5, 0x0100, ar=1) + QUESTION + opt_record(udp=asked, do=True)
        reply = reply_of(handler().handle(data, tcp=False))
        (opt,) = reply.ar
        assert opt.rtype == 41 and opt.rclass == answered and opt.ttl & 0x8000
    plain = reply_of(handler().handle(query("svc1.testns.svc.cluster.local"), tcp=False))
    assert plain.ar == []


def big_cluster(endpoints: int, hostname: str = "") -> Handler:
    view = cluster()
    view.on_service(None, headless("big", ports=HTTP))
    items = [
        endpoint(f"10.9.{i // 250}.{i % 250 + 1}", hostname=f"{hostname}{i}" if hostname else "")
        for i in range(endpoints)
    ]
    view.on_slice(None, endpoint_slice("big-a", "big", items, ports=HTTP))
    return Handler(view, CONFIG)


def test_udp_answers_over_512_bytes_are_truncated() -> None:
    h = big_cluster(60)
    name = "big.testns.svc.cluster.local"
    small = h.handle(query(name), tcp=False)
    assert isinstance(small, Reply) and len(small.data) <= 512
    reply = DNSRecord.parse(small.data)
    assert reply.header.tc == 1 and 0 < len(reply.rr) < 60
    assert reply.q.qname == name
    for edns, tcp in ((4096, False), (None, True)):
        full = reply_of(h.handle(query(name, edns=edns), tcp=tcp))
        assert full.header.tc == 0 and len(full.rr) == 60


def test_the_edns_size_is_the_limit_and_never_below_512() -> None:
    h = big_cluster(300)
    name = "big.testns.svc.cluster.local"
    for size, limit in ((1232, 1232), (100, 512), (65000, 4096)):
        result = h.handle(query(name, edns=size), tcp=False)
        assert isinstance(result, Reply) and len(result.data) <= limit
        reply = DNSRecord.parse(result.data)
        assert reply.header.tc == 1 and reply.ar[-1].rtype == 41


def test_additional_records_go_first_and_alone_do_not_set_tc() -> None:
    h = big_cluster(5, hostname="a-rather-long-endpoint-hostname-")
    name = "_http._tcp.big.testns.svc.cluster.local"
    full = h.handle(query(name, "SRV"), tcp=True)
    assert isinstance(full, Reply) and len(full.data) > 512
    fitted = reply_of(h.handle(query(name, "SRV"), tcp=False))
    assert len(fitted.pack()) <= 512
    assert fitted.header.tc == 0 and len(fitted.rr) == 5 and fitted.ar == []


# --- not synced, forwarding, chasing ExternalName targets ----------------------------------------


def test_servfail_for_our_names_until_synced() -> None:
    h = handler(synced=False)
    for name, qtype in (("svc1.testns.svc.cluster.local", "A"), ("1.0.0.10.in-addr.arpa", "PTR")):
        result = h.handle(query(name, qtype), tcp=False)
        assert isinstance(result, Reply) and result.rcode == 2
    assert isinstance(h.handle(query("example.com"), tcp=False), Upstream)
    assert len(h.cache) == 0


def upstream_answer(asked: bytes, *records: str, rcode: int = 0) -> bytes:
    message = DNSRecord.parse(asked).reply(ra=1, aa=0)
    message.header.id = 999  # the forwarder's own ID; the handler restores the client's
    message.header.rcode = rcode
    for text in records:
        message.add_answer(*RR.fromZone(text))
    return bytes(message.pack())


def test_forwarded_answers_get_the_client_id_and_are_cached_by_ttl() -> None:
    clock = Clock()
    h = handler(clock=clock)
    asked = query("example.com", ident=1111)
    pending = h.handle(asked, tcp=False)
    assert isinstance(pending, Upstream) and pending.query == asked
    result = h.resume(pending, upstream_answer(asked, "example.com. 300 IN A 93.184.216.34"))
    assert result.plugin == "forward"
    first = DNSRecord.parse(result.data)
    assert first.header.id == 1111 and first.rr[0].ttl == 300 and first.header.aa == 0
    clock.now += 100
    hit = h.handle(query("example.com", ident=2222), tcp=False)
    assert isinstance(hit, Reply) and hit.plugin == "cache"
    again = DNSRecord.parse(hit.data)
    assert again.header.id == 2222 and again.rr[0].ttl == 200
    clock.now += 201
    assert isinstance(h.handle(query("example.com"), tcp=False), Upstream)


def test_forwarded_denials_are_cached_by_the_soa_minimum() -> None:
    clock = Clock()
    h = handler(clock=clock)
    asked = query("nope.example.com")
    pending = h.handle(asked, tcp=False)
    assert isinstance(pending, Upstream)
    message = DNSRecord.parse(upstream_answer(asked, rcode=3))
    message.add_auth(*RR.fromZone("example.com. 3600 IN SOA ns. host. 1 2 3 4 60"))
    assert h.resume(pending, bytes(message.pack())).rcode == 3
    clock.now += 59
    assert isinstance(h.handle(asked, tcp=False), Reply)
    clock.now += 2
    assert isinstance(h.handle(asked, tcp=False), Upstream)


@pytest.mark.parametrize("bad", [None, b"", b"\0" * 12])
def test_no_usable_upstream_answer_is_servfail(bad: bytes | None) -> None:
    h = handler()
    pending = h.handle(query("example.com"), tcp=False)
    assert isinstance(pending, Upstream)
    result = h.resume(pending, bad)
    assert result.rcode == 2 and DNSRecord.parse(result.data).header.id == 4242


def test_an_answer_to_another_question_is_servfail() -> None:
    h = handler()
    pending = h.handle(query("example.com"), tcp=False)
    assert isinstance(pending, Upstream)
    other = upstream_answer(query("example.org"), "example.org. 60 IN A 192.0.2.1")
    assert h.resume(pending, other).rcode == 2


def test_a_forwarded_answer_too_big_for_the_client_comes_back_truncated() -> None:
    h = handler()
    asked = query("many.example.com")
    pending = h.handle(asked, tcp=False)
    assert isinstance(pending, Upstream)
    records = [f"many.example.com. 60 IN A 192.0.2.{i}" for i in range(1, 60)]
    reply = DNSRecord.parse(h.resume(pending, upstream_answer(asked, *records)).data)
    assert reply.header.tc == 1 and reply.rr == [] and reply.q.qname == "many.example.com"


def test_external_name_targets_are_resolved_upstream_and_appended() -> None:
    h = handler()
    name = "external.testns.svc.cluster.local"
    pending = h.handle(query(name), tcp=False)
    assert isinstance(pending, Upstream) and pending.cname is not None
    asked = DNSRecord.parse(pending.query)
    assert (str(asked.q.qname), QTYPE[asked.q.qtype]) == ("ext.interwebs.test.", "A")
    upstream = upstream_answer(pending.query, "ext.interwebs.test. 60 IN A 1.2.3.4")
    reply = DNSRecord.parse(h.resume(pending, upstream).data)
    assert [" ".join(str(rr).split()) for rr in reply.rr] == [
        "external.testns.svc.cluster.local. 30 IN CNAME ext.interwebs.test.",
        "ext.interwebs.test. 60 IN A 1.2.3.4",
    ]
    assert reply.header.aa == 1 and reply.header.id == 4242
    hit = h.handle(query(name, ident=5), tcp=False)
    assert isinstance(hit, Reply) and hit.plugin == "cache"
    h.view.on_service(None, service("new", ips=["10.0.0.99"], ports=HTTP))
    assert isinstance(h.handle(query(name), tcp=False), Upstream)


def test_an_unresolvable_external_name_target_answers_the_cname_alone() -> None:
    h = handler()
    pending = h.handle(query("external.testns.svc.cluster.local"), tcp=False)
    assert isinstance(pending, Upstream)
    reply = DNSRecord.parse(h.resume(pending, None).data)
    assert reply.header.rcode == 0 and [QTYPE[rr.rtype] for rr in reply.rr] == ["CNAME"]
    assert len(h.cache) == 0


# --- the answer cache ----------------------------------------------------------------------------


def test_answers_are_cached_until_the_view_changes() -> None:
    h = handler()
    name = "svc1.testns.svc.cluster.local"
    first = h.handle(query(name, ident=1), tcp=False)
    assert isinstance(first, Reply) and first.plugin == "kubernetes"
    hit = h.handle(query(name, ident=2), tcp=False)
    assert isinstance(hit, Reply) and hit.plugin == "cache"
    assert hit.data[2:] == first.data[2:] and hit.data[:2] == b"\0\2"
    assert isinstance(h.handle(query(name, ident=3), tcp=True), Reply)  # TCP is its own entry
    h.view.on_service(None, service("svc1", ips=["10.0.0.42"], ports=HTTP))
    changed = h.handle(query(name), tcp=False)
    assert isinstance(changed, Reply) and changed.plugin == "kubernetes"
    assert DNSRecord.parse(changed.data).rr[0].rdata == A("10.0.0.42")


def test_queries_with_edns_options_are_not_cached() -> None:
    h = handler()
    message = DNSRecord.question("svc1.testns.svc.cluster.local")
    message.add_ar(EDNS0(udp_len=1232, opts=[EDNSOption(10, b"\x01" * 8)]))  # a client cookie
    for _ in range(2):
        result = h.handle(bytes(message.pack()), tcp=False)
        assert isinstance(result, Reply) and result.plugin == "kubernetes"
    assert len(h.cache) == 0


def test_qclass_any_is_answered_like_in() -> None:
    message = DNSRecord.question("svc1.testns.svc.cluster.local")
    message.q.qclass = 255  # ANY
    reply = reply_of(handler().handle(bytes(message.pack()), tcp=False))
    assert reply.header.rcode == 0 and len(reply.rr) == 1


def test_a_loop_probe_coming_back_turns_forwarding_off() -> None:
    h = handler()
    h.loop_probe = "abc.def.kubesvc-loop-probe."
    assert isinstance(h.handle(query("example.com"), tcp=False), Upstream)
    probe = h.handle(query("abc.def.kubesvc-loop-probe", "HINFO"), tcp=False)
    assert isinstance(probe, Reply) and probe.rcode == 2 and h.looped
    for name, qtype in (("example.com", "A"), ("9.9.9.9.in-addr.arpa", "PTR")):
        result = h.handle(query(name, qtype, ident=7), tcp=False)
        assert isinstance(result, Reply) and result.rcode == 2
    assert reply_of(h.handle(query("svc1.testns.svc.cluster.local"), tcp=False)).rr


def test_a_chased_answer_is_kept_no_longer_than_the_upstream_ttl() -> None:
    clock = Clock()
    h = handler(clock=clock)
    name = "external.testns.svc.cluster.local"
    pending = h.handle(query(name), tcp=False)
    assert isinstance(pending, Upstream)
    h.resume(pending, upstream_answer(pending.query, "ext.interwebs.test. 20 IN A 1.2.3.4"))
    clock.now += 15
    hit = h.handle(query(name), tcp=False)
    assert isinstance(hit, Reply) and hit.plugin == "cache"
    assert [rr.ttl for rr in DNSRecord.parse(hit.data).rr] == [15, 5]  # aged
    clock.now += 6
    assert isinstance(h.handle(query(name), tcp=False), Upstream)


def test_the_client_cookie_is_echoed() -> None:
    """dig sends a COOKIE option; the reply carries the client's 8 bytes back, so dig prints
    `COOKIE: … (echoed)` as in seed 001's output."""
    message = DNSRecord.question("svc1.testns.svc.cluster.local", "A")
    cookie = bytes.fromhex("a253bf35c4375eaf")
    message.add_ar(EDNS0(udp_len=4096, opts=[EDNSOption(10, cookie)]))
    reply = reply_of(handler().handle(bytes(message.pack()), tcp=False))
    (opt,) = reply.ar
    assert [(o.code, bytes(o.data)) for o in opt.rdata] == [(10, cookie)]
    assert reply.rr[0].rdata == A("10.0.0.1")
