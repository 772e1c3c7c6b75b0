# ruff: noqa: E501 - the tables hold whole DNS records, one a line, as dig prints them
"""Question → answer tables for the Kubernetes DNS specification, as CoreDNS answers them.

Each case is a question and the answer as dig would print it: the status, the answer records,
then (after `;; additional`) the additional records. `NODATA` stands for NOERROR with an empty
answer; NXDOMAIN and NODATA always carry the zone's SOA in the authority section, positive
answers never do. The same table is checked on the pure `records.answer` and, through the
wire, on `Handler.handle`.
"""

from __future__ import annotations

import textwrap

import pytest
from dns_fixtures import CONFIG, SOA, cluster, query, zone_lines
from dnslib import DNSRecord

from kubesvc.dns.handler import Handler, Reply
from kubesvc.dns.records import Config, answer, reverse_ip

CASES: list[tuple[str, str]] = [
    # --- ClusterIP Services ------------------------------------------------------------------
    (
        "svc1.testns.svc.cluster.local. A",
        """
        NOERROR
        svc1.testns.svc.cluster.local. 30 IN A 10.0.0.1
    """,
    ),
    (
        "SVC1.TestNS.svc.Cluster.Local. A",
        """
        NOERROR
        SVC1.TestNS.svc.Cluster.Local. 30 IN A 10.0.0.1
    """,
    ),
    ("svc1.testns.svc.cluster.local. AAAA", "NODATA"),
    (
        "svc6.testns.svc.cluster.local. AAAA",
        """
        NOERROR
        svc6.testns.svc.cluster.local. 30 IN AAAA 1234:abcd::1
    """,
    ),
    ("svc6.testns.svc.cluster.local. A", "NODATA"),
    (
        "svc-dual.testns.svc.cluster.local. A",
        """
        NOERROR
        svc-dual.testns.svc.cluster.local. 30 IN A 10.0.0.3
    """,
    ),
    (
        "svc-dual.testns.svc.cluster.local. AAAA",
        """
        NOERROR
        svc-dual.testns.svc.cluster.local. 30 IN AAAA 10::3
    """,
    ),
    ("svc1.testns.svc.cluster.local. TXT", "NODATA"),
    ("svc1.testns.svc.cluster.local. MX", "NODATA"),
    ("svc1.testns.svc.cluster.local. SOA", "NODATA"),
    ("svc1.testns.svc.cluster.local. NS", "NODATA"),
    ("svc0.testns.svc.cluster.local. A", "NXDOMAIN"),
    ("svc0.testns.svc.cluster.local. AAAA", "NXDOMAIN"),
    ("svc1.nonexistent.svc.cluster.local. A", "NXDOMAIN"),
    ("sub.svc1.extra.testns.svc.cluster.local. A", "NXDOMAIN"),
    ("a.b._http._tcp.svc1.testns.svc.cluster.local. A", "NXDOMAIN"),
    # --- SRV ---------------------------------------------------------------------------------
    (
        "_http._tcp.svc1.testns.svc.cluster.local. SRV",
        """
        NOERROR
        _http._tcp.svc1.testns.svc.cluster.local. 30 IN SRV 0 100 80 svc1.testns.svc.cluster.local.
        ;; additional
        svc1.testns.svc.cluster.local. 30 IN A 10.0.0.1
    """,
    ),
    (
        "_HTTP._TCP.svc1.testns.svc.cluster.local. SRV",
        """
        NOERROR
        _HTTP._TCP.svc1.testns.svc.cluster.local. 30 IN SRV 0 100 80 svc1.testns.svc.cluster.local.
        ;; additional
        svc1.testns.svc.cluster.local. 30 IN A 10.0.0.1
    """,
    ),
    ("_http._tcp.svc1.testns.svc.cluster.local. A", "NODATA"),
    ("_http._udp.svc1.testns.svc.cluster.local. SRV", "NXDOMAIN"),
    ("_https._tcp.svc1.testns.svc.cluster.local. SRV", "NXDOMAIN"),
    ("http.tcp.svc1.testns.svc.cluster.local. SRV", "NXDOMAIN"),
    (
        "_dns._udp.multi.testns.svc.cluster.local. SRV",
        """
        NOERROR
        _dns._udp.multi.testns.svc.cluster.local. 30 IN SRV 0 100 53 multi.testns.svc.cluster.local.
        ;; additional
        multi.testns.svc.cluster.local. 30 IN A 10.0.0.4
    """,
    ),
    (
        "svc1.testns.svc.cluster.local. SRV",
        """
        NOERROR
        svc1.testns.svc.cluster.local. 30 IN SRV 0 100 80 svc1.testns.svc.cluster.local.
        ;; additional
        svc1.testns.svc.cluster.local. 30 IN A 10.0.0.1
    """,
    ),
    (
        "multi.testns.svc.cluster.local. SRV",
        """
        NOERROR
        multi.testns.svc.cluster.local. 30 IN SRV 0 50 80 multi.testns.svc.cluster.local.
        multi.testns.svc.cluster.local. 30 IN SRV 0 50 53 multi.testns.svc.cluster.local.
        ;; additional
        multi.testns.svc.cluster.local. 30 IN A 10.0.0.4
    """,
    ),
    (
        "svc-dual.testns.svc.cluster.local. SRV",
        """
        NOERROR
        svc-dual.testns.svc.cluster.local. 30 IN SRV 0 50 80 svc-dual.testns.svc.cluster.local.
        ;; additional
        svc-dual.testns.svc.cluster.local. 30 IN A 10.0.0.3
        svc-dual.testns.svc.cluster.local. 30 IN AAAA 10::3
    """,
    ),
    (
        "svc6.testns.svc.cluster.local. SRV",
        """
        NOERROR
        svc6.testns.svc.cluster.local. 30 IN SRV 0 100 80 svc6.testns.svc.cluster.local.
        ;; additional
        svc6.testns.svc.cluster.local. 30 IN AAAA 1234:abcd::1
    """,
    ),
    # --- headless Services: one record per ready endpoint ------------------------------------
    (
        "hdls1.testns.svc.cluster.local. A",
        """
        NOERROR
        hdls1.testns.svc.cluster.local. 30 IN A 172.0.0.2
        hdls1.testns.svc.cluster.local. 30 IN A 172.0.0.3
        hdls1.testns.svc.cluster.local. 30 IN A 172.0.0.4
        hdls1.testns.svc.cluster.local. 30 IN A 172.0.0.5
    """,
    ),
    (
        "hdls1.testns.svc.cluster.local. AAAA",
        """
        NOERROR
        hdls1.testns.svc.cluster.local. 30 IN AAAA 5678:abcd::1
        hdls1.testns.svc.cluster.local. 30 IN AAAA 5678:abcd::2
    """,
    ),
    (
        "_http._tcp.hdls1.testns.svc.cluster.local. SRV",
        """
        NOERROR
        _http._tcp.hdls1.testns.svc.cluster.local. 30 IN SRV 0 16 80 172-0-0-2.hdls1.testns.svc.cluster.local.
        _http._tcp.hdls1.testns.svc.cluster.local. 30 IN SRV 0 16 80 172-0-0-3.hdls1.testns.svc.cluster.local.
        _http._tcp.hdls1.testns.svc.cluster.local. 30 IN SRV 0 16 80 dup-name.hdls1.testns.svc.cluster.local.
        _http._tcp.hdls1.testns.svc.cluster.local. 30 IN SRV 0 16 80 5678-abcd--1.hdls1.testns.svc.cluster.local.
        _http._tcp.hdls1.testns.svc.cluster.local. 30 IN SRV 0 16 80 5678-abcd--2.hdls1.testns.svc.cluster.local.
        ;; additional
        172-0-0-2.hdls1.testns.svc.cluster.local. 30 IN A 172.0.0.2
        172-0-0-3.hdls1.testns.svc.cluster.local. 30 IN A 172.0.0.3
        dup-name.hdls1.testns.svc.cluster.local. 30 IN A 172.0.0.4
        dup-name.hdls1.testns.svc.cluster.local. 30 IN A 172.0.0.5
        5678-abcd--1.hdls1.testns.svc.cluster.local. 30 IN AAAA 5678:abcd::1
        5678-abcd--2.hdls1.testns.svc.cluster.local. 30 IN AAAA 5678:abcd::2
    """,
    ),
    ("_http._tcp.hdls1.testns.svc.cluster.local. A", "NODATA"),
    ("_https._tcp.hdls1.testns.svc.cluster.local. SRV", "NXDOMAIN"),
    (
        "172-0-0-2.hdls1.testns.svc.cluster.local. A",
        """
        NOERROR
        172-0-0-2.hdls1.testns.svc.cluster.local. 30 IN A 172.0.0.2
    """,
    ),
    (
        "dup-name.hdls1.testns.svc.cluster.local. A",
        """
        NOERROR
        dup-name.hdls1.testns.svc.cluster.local. 30 IN A 172.0.0.4
        dup-name.hdls1.testns.svc.cluster.local. 30 IN A 172.0.0.5
    """,
    ),
    (
        "5678-abcd--2.hdls1.testns.svc.cluster.local. AAAA",
        """
        NOERROR
        5678-abcd--2.hdls1.testns.svc.cluster.local. 30 IN AAAA 5678:abcd::2
    """,
    ),
    ("5678-abcd--2.hdls1.testns.svc.cluster.local. A", "NODATA"),
    ("172-0-0-6.hdls1.testns.svc.cluster.local. A", "NXDOMAIN"),  # not ready
    ("bogusendpoint.hdls1.testns.svc.cluster.local. A", "NXDOMAIN"),
    ("bogusendpoint.svc0.testns.svc.cluster.local. A", "NXDOMAIN"),
    ("empty-hdls.testns.svc.cluster.local. A", "NXDOMAIN"),  # no ready endpoint
    ("empty-hdls.testns.svc.cluster.local. SRV", "NXDOMAIN"),
    (
        "hdlsprtls.testns.svc.cluster.local. A",
        """
        NOERROR
        hdlsprtls.testns.svc.cluster.local. 30 IN A 172.0.0.20
    """,
    ),
    ("hdlsprtls.testns.svc.cluster.local. SRV", "NODATA"),
    (
        "172-0-0-20.hdlsprtls.testns.svc.cluster.local. A",
        """
        NOERROR
        172-0-0-20.hdlsprtls.testns.svc.cluster.local. 30 IN A 172.0.0.20
    """,
    ),
    # StatefulSet pods: hostname.subdomain
    (
        "web-1.web.testns.svc.cluster.local. A",
        """
        NOERROR
        web-1.web.testns.svc.cluster.local. 30 IN A 10.244.2.11
    """,
    ),
    (
        "_web._tcp.web.testns.svc.cluster.local. SRV",
        """
        NOERROR
        _web._tcp.web.testns.svc.cluster.local. 30 IN SRV 0 50 80 web-0.web.testns.svc.cluster.local.
        _web._tcp.web.testns.svc.cluster.local. 30 IN SRV 0 50 80 web-1.web.testns.svc.cluster.local.
        ;; additional
        web-0.web.testns.svc.cluster.local. 30 IN A 10.244.1.10
        web-1.web.testns.svc.cluster.local. 30 IN A 10.244.2.11
    """,
    ),
    # an endpoint name of a ClusterIP Service also answers (CoreDNS)
    (
        "10-244-1-7.svc1.testns.svc.cluster.local. A",
        """
        NOERROR
        10-244-1-7.svc1.testns.svc.cluster.local. 30 IN A 10.244.1.7
    """,
    ),
    # --- ExternalName ------------------------------------------------------------------------
    (
        "external.testns.svc.cluster.local. CNAME",
        """
        NOERROR
        external.testns.svc.cluster.local. 30 IN CNAME ext.interwebs.test.
    """,
    ),
    (
        "external.testns.svc.cluster.local. SRV",
        """
        NOERROR
        external.testns.svc.cluster.local. 30 IN SRV 0 100 0 ext.interwebs.test.
    """,
    ),
    ("external.testns.svc.cluster.local. TXT", "NODATA"),
    (
        "external-to-service.testns.svc.cluster.local. A",
        """
        NOERROR
        external-to-service.testns.svc.cluster.local. 30 IN CNAME svc1.testns.svc.cluster.local.
        svc1.testns.svc.cluster.local. 30 IN A 10.0.0.1
    """,
    ),
    ("endpoint.external.testns.svc.cluster.local. CNAME", "NXDOMAIN"),
    ("_http._tcp.external.testns.svc.cluster.local. SRV", "NXDOMAIN"),
    # --- pods (pods insecure) ----------------------------------------------------------------
    (
        "10-244-1-10.testns.pod.cluster.local. A",
        """
        NOERROR
        10-244-1-10.testns.pod.cluster.local. 30 IN A 10.244.1.10
    """,
    ),
    (
        "1-2-3-4.default.pod.cluster.local. A",
        """
        NOERROR
        1-2-3-4.default.pod.cluster.local. 30 IN A 1.2.3.4
    """,
    ),
    (
        "fd00--1.default.pod.cluster.local. AAAA",
        """
        NOERROR
        fd00--1.default.pod.cluster.local. 30 IN AAAA fd00::1
    """,
    ),
    ("1-2-3-4.default.pod.cluster.local. AAAA", "NODATA"),
    ("1-2-3-4.nonexistent.pod.cluster.local. A", "NXDOMAIN"),
    ("not-an-ip.default.pod.cluster.local. A", "NXDOMAIN"),
    ("1-2-3-999.default.pod.cluster.local. A", "NXDOMAIN"),
    ("x.1-2-3-4.default.pod.cluster.local. A", "NXDOMAIN"),
    # --- the zone's own names, intermediate names --------------------------------------------
    (
        "dns-version.cluster.local. TXT",
        """
        NOERROR
        dns-version.cluster.local. 28800 IN TXT "1.1.0"
    """,
    ),
    ("dns-version.cluster.local. A", "NODATA"),
    (
        "cluster.local. SOA",
        f"""
        NOERROR
        {SOA}
    """,
    ),
    (
        "cluster.local. NS",
        """
        NOERROR
        cluster.local. 30 IN NS kube-dns.kube-system.svc.cluster.local.
        ;; additional
        kube-dns.kube-system.svc.cluster.local. 30 IN A 10.96.0.10
    """,
    ),
    (
        "ns.dns.cluster.local. A",
        """
        NOERROR
        ns.dns.cluster.local. 30 IN A 10.96.0.10
    """,
    ),
    ("ns.dns.cluster.local. AAAA", "NODATA"),
    ("cluster.local. A", "NODATA"),
    ("svc.cluster.local. A", "NODATA"),
    ("pod.cluster.local. A", "NODATA"),
    ("svc.cluster.local. NS", "NODATA"),
    ("testns.svc.cluster.local. A", "NODATA"),
    ("testns.svc.cluster.local. NS", "NODATA"),
    ("empty-ns.svc.cluster.local. A", "NODATA"),
    ("testns.pod.cluster.local. A", "NODATA"),
    ("nonexistent.svc.cluster.local. A", "NXDOMAIN"),
    ("foo.cluster.local. NS", "NXDOMAIN"),
    ("foo.svc.cluster.local. NS", "NXDOMAIN"),
    ("dns.cluster.local. A", "NXDOMAIN"),
    # --- reverse lookups ---------------------------------------------------------------------
    (
        "1.0.0.10.in-addr.arpa. PTR",
        """
        NOERROR
        1.0.0.10.in-addr.arpa. 30 IN PTR svc1.testns.svc.cluster.local.
    """,
    ),
    (
        "2.0.0.172.in-addr.arpa. PTR",
        """
        NOERROR
        2.0.0.172.in-addr.arpa. 30 IN PTR 172-0-0-2.hdls1.testns.svc.cluster.local.
    """,
    ),
    (
        "11.2.244.10.in-addr.arpa. PTR",
        """
        NOERROR
        11.2.244.10.in-addr.arpa. 30 IN PTR web-1.web.testns.svc.cluster.local.
    """,
    ),
    (
        "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.c.b.a.4.3.2.1.ip6.arpa. PTR",
        """
        NOERROR
        1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.c.b.a.4.3.2.1.ip6.arpa. 30 IN PTR svc6.testns.svc.cluster.local.
    """,
    ),
    (
        "2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.c.b.a.8.7.6.5.ip6.arpa. PTR",
        """
        NOERROR
        2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.c.b.a.8.7.6.5.ip6.arpa. 30 IN PTR 5678-abcd--2.hdls1.testns.svc.cluster.local.
    """,
    ),
    # not ours: forwarded (fallthrough in-addr.arpa ip6.arpa)
    ("6.0.0.172.in-addr.arpa. PTR", "FORWARD"),  # an unready endpoint
    ("9.9.9.9.in-addr.arpa. PTR", "FORWARD"),
    ("1.0.0.10.in-addr.arpa. A", "FORWARD"),
    ("0.10.in-addr.arpa. PTR", "FORWARD"),
    ("example.com. A", "FORWARD"),
    ("cluster.local.example.com. A", "FORWARD"),
    ("local. SOA", "FORWARD"),
]


def expected(text: str) -> tuple[str, list[str], list[str]]:
    """(rcode, answer lines, additional lines) from a table entry."""
    lines = [line.strip() for line in textwrap.dedent(text).strip().splitlines()]
    rcode, rest = lines[0], lines[1:]
    if ";; additional" in rest:
        cut = rest.index(";; additional")
        return rcode, rest[:cut], rest[cut + 1 :]
    return rcode, rest, []


def _ids(case: tuple[str, str]) -> str:
    return case[0]


@pytest.mark.parametrize("case", CASES, ids=_ids)
def test_records(case: tuple[str, str]) -> None:
    question, text = case
    name, qtype = question.split()
    rcode, answers, additional = expected(text)
    result = answer(cluster(), CONFIG, name, qtype)
    if rcode == "FORWARD":
        assert result is None
        return
    assert result is not None
    got_rcode = "NODATA" if result.rcode == "NOERROR" and not result.answer else result.rcode
    assert got_rcode == rcode
    assert [str(r) for r in result.answer] == answers
    assert [str(r) for r in result.additional] == additional
    soa = [SOA] if rcode in ("NXDOMAIN", "NODATA") else []
    assert [str(r) for r in result.authority] == soa


@pytest.mark.parametrize("case", CASES, ids=_ids)
def test_records_on_the_wire(case: tuple[str, str]) -> None:
    """The same answers, encoded by the handler and read back with dnslib."""
    question, text = case
    name, qtype = question.split()
    rcode, answers, additional = expected(text)
    result = Handler(cluster(), CONFIG).handle(query(name, qtype, edns=4096), tcp=False)
    if rcode == "FORWARD":
        assert not isinstance(result, Reply)
        return
    assert isinstance(result, Reply)
    reply = DNSRecord.parse(result.data)
    status = {0: "NOERROR", 3: "NXDOMAIN"}[reply.header.rcode]
    got_rcode = "NODATA" if status == "NOERROR" and not reply.rr else status
    assert got_rcode == rcode
    assert reply.header.aa == 1 and reply.header.ra == 0 and reply.header.ad == 0
    assert zone_lines(reply.rr) == answers
    assert zone_lines([rr for rr in reply.ar if rr.rtype != 41]) == additional
    soa = [SOA] if rcode in ("NXDOMAIN", "NODATA") else []
    assert zone_lines(reply.auth) == soa


def test_external_name_outside_the_zone_asks_the_server_to_chase_the_target() -> None:
    result = answer(cluster(), CONFIG, "external.testns.svc.cluster.local.", "A")
    assert result is not None and result.chase == "ext.interwebs.test."
    assert [str(r) for r in result.answer] == [
        "external.testns.svc.cluster.local. 30 IN CNAME ext.interwebs.test."
    ]


def test_external_name_loop_ends() -> None:
    from dns_fixtures import external

    view = cluster()
    view.on_service(None, external("loop", "loop.testns.svc.cluster.local"))
    result = answer(view, CONFIG, "loop.testns.svc.cluster.local.", "A")
    assert result is not None and result.rcode == "NOERROR"
    assert len(result.answer) == 9  # the CNAME followed MAX_CHAIN times, then given up


@pytest.mark.parametrize(
    ("mode", "name", "rcode"),
    [
        ("verified", "10-244-1-10.testns.pod.cluster.local.", "NOERROR"),
        ("verified", "10-244-1-10.default.pod.cluster.local.", "NXDOMAIN"),  # other namespace
        ("verified", "1-2-3-4.testns.pod.cluster.local.", "NXDOMAIN"),  # no such pod
        ("disabled", "10-244-1-10.testns.pod.cluster.local.", "NXDOMAIN"),
    ],
)
def test_pod_modes(mode: str, name: str, rcode: str) -> None:
    config = Config(pods=mode, local_ips=CONFIG.local_ips)
    result = answer(cluster(), config, name, "A")
    assert result is not None and result.rcode == rcode


def test_zone_and_ttl_are_configurable() -> None:
    config = Config(zone="Kube.Example", ttl=5)
    result = answer(cluster(), config, "svc1.testns.svc.kube.example.", "A")
    assert result is not None
    assert [str(r) for r in result.answer] == ["svc1.testns.svc.kube.example. 5 IN A 10.0.0.1"]
    missing = answer(cluster(), config, "nope.testns.svc.kube.example.", "A")
    assert missing is not None
    assert [str(r) for r in missing.authority] == [
        "kube.example. 5 IN SOA ns.dns.kube.example. hostmaster.kube.example. "
        "1700000000 7200 1800 86400 5"
    ]
    assert answer(cluster(), config, "svc1.testns.svc.cluster.local.", "A") is None


def test_ns_without_a_service_of_our_own_names_ns_dns() -> None:
    config = Config(local_ips=("192.0.2.53",))
    result = answer(cluster(), config, "cluster.local.", "NS")
    assert result is not None
    assert [str(r) for r in result.answer] == ["cluster.local. 30 IN NS ns.dns.cluster.local."]
    assert [str(r) for r in result.additional] == ["ns.dns.cluster.local. 30 IN A 192.0.2.53"]


@pytest.mark.parametrize(
    ("name", "ip"),
    [
        ("4.3.2.1.in-addr.arpa.", "1.2.3.4"),
        ("4.3.2.1.IN-ADDR.ARPA", "1.2.3.4"),
        ("4.3.2.in-addr.arpa.", None),
        ("256.3.2.1.in-addr.arpa.", None),
        ("x.3.2.1.in-addr.arpa.", None),
        ("1." + "0." * 31 + "ip6.arpa.", "::1"),
        ("1." + "0." * 30 + "ip6.arpa.", None),
        ("g." + "0." * 31 + "ip6.arpa.", None),
        ("example.com.", None),
    ],
)
def test_reverse_names(name: str, ip: str | None) -> None:
    assert reverse_ip(name) == ip
