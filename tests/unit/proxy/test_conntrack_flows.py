"""Stale UDP flows: parsing `conntrack -L`, choosing what kube-proxy deletes, the fake table."""

from __future__ import annotations

from kubesvc.proxy.conntrack import FakeConntrack, clean_stale
from kubesvc.proxy.flows import Flow, FlowFilter, parse_flows, stale_filters
from kubesvc.proxy.model import EndpointInfo, ServicePortInfo

LISTED = """\
udp      17 29 src=10.244.1.7 dst=10.96.0.53 sport=41000 dport=53 [UNREPLIED] src=10.244.2.5 dst=10.244.1.7 sport=53 dport=41000 mark=0 use=1
udp      17 117 src=172.18.0.1 dst=172.18.0.3 sport=5000 dport=30053 src=10.244.2.5 dst=172.18.0.3 sport=53 dport=5000 [ASSURED] mark=0 use=1
udp      17 25 src=10.244.1.8 dst=10.96.0.53 sport=41001 dport=53 src=10.96.0.53 dst=10.244.1.8 sport=53 dport=41001 mark=0 use=1
udp      17 20 src=10.244.1.7 dst=10.96.0.99 sport=41002 dport=53 src=10.244.3.3 dst=10.244.1.7 sport=53 dport=41002 mark=0 use=1
conntrack v1.4.7 (conntrack-tools): 4 flow entries have been shown.
"""  # noqa: E501


def dns(**fields: object) -> ServicePortInfo:
    base: dict[str, object] = {
        "namespace": "kube-system",
        "name": "dns",
        "port_name": "dns",
        "protocol": "UDP",
        "cluster_ip": "10.96.0.53",
        "port": 53,
        "node_port": 30053,
    }
    return ServicePortInfo(**(base | fields))  # type: ignore[arg-type]


def test_parse_reads_original_and_reply_tuples() -> None:
    flows = parse_flows(LISTED)
    assert len(flows) == 4
    assert flows[0] == Flow(
        protocol="udp",
        orig_src="10.244.1.7",
        orig_dst="10.96.0.53",
        orig_sport=41000,
        orig_dport=53,
        reply_src="10.244.2.5",
        reply_dst="10.244.1.7",
        reply_sport=53,
        reply_dport=41000,
    )


def test_flows_not_answered_by_a_serving_endpoint_are_stale() -> None:
    svc = dns()
    endpoints = {
        svc.key: [
            EndpointInfo(ip="10.244.1.5", port=53),
            EndpointInfo(ip="10.244.3.3", port=53, ready=False, serving=False),
        ]
    }
    filters = stale_filters(parse_flows(LISTED), [svc], endpoints)
    assert filters == [
        FlowFilter("", 30053, "10.244.2.5"),  # the NodePort flow from the host
        FlowFilter("10.96.0.53", 53, "10.244.2.5"),  # went to an endpoint that is gone
        FlowFilter("10.96.0.53", 53, "10.96.0.53"),  # made while there was no endpoint (no NAT)
    ]
    assert filters[0].argv() == [
        "-D", "-p", "udp", "--orig-port-dst", "30053", "--reply-src", "10.244.2.5",
    ]  # fmt: skip


def test_services_without_serving_endpoints_and_tcp_services_are_left_alone() -> None:
    flows = parse_flows(LISTED)
    assert stale_filters(flows, [dns()], {}) == []
    tcp = dns(protocol="TCP")
    assert stale_filters(flows, [tcp], {tcp.key: [EndpointInfo(ip="10.244.1.5", port=53)]}) == []


def test_external_and_load_balancer_ips_are_frontends_too() -> None:
    svc = dns(external_ips=("192.0.2.10",), node_port=0)
    other = Flow(
        protocol="udp",
        orig_src="10.244.1.7",
        orig_dst="192.0.2.10",
        orig_sport=1,
        orig_dport=53,
        reply_src="10.244.9.9",
        reply_dst="10.244.1.7",
        reply_sport=53,
        reply_dport=1,
    )
    eps = {svc.key: [EndpointInfo(ip="10.244.1.5", port=53)]}
    assert FlowFilter("192.0.2.10", 53, "10.244.9.9") in stale_filters([other], [svc], eps)


def test_clean_stale_deletes_through_the_conntrack_protocol() -> None:
    table = FakeConntrack(parse_flows(LISTED))
    svc = dns()
    applied = clean_stale(table, [svc], {svc.key: [EndpointInfo(ip="10.244.1.5", port=53)]})
    assert len(applied) == 3 and table.deleted == applied
    assert [f.orig_dst for f in table.flows] == ["10.96.0.99"]
