"""resolv.conf for each dnsPolicy and with dnsConfig, as the kubelet forms it."""

from __future__ import annotations

from typing import Any

import pytest

from kubesvc.node.resolvconf import parse, pod_dns, render

HOST = """# generated
nameserver 192.168.1.1
nameserver 192.168.1.2
search corp.example.com. lab.example.com
options timeout:2 attempts:3
"""


def test_cluster_first_default() -> None:
    assert render("default") == (
        "nameserver 10.96.0.10\n"
        "search default.svc.cluster.local svc.cluster.local cluster.local\n"
        "options ndots:5\n"
    )


def test_cluster_first_appends_host_search_domains_only() -> None:
    assert render("team", host_resolv=HOST) == (
        "nameserver 10.96.0.10\n"
        "search team.svc.cluster.local svc.cluster.local cluster.local corp.example.com"
        " lab.example.com\n"
        "options ndots:5\n"
    )


def test_cluster_domain_and_nameserver_are_configurable() -> None:
    assert render("ns", nameserver="10.100.0.10", cluster_domain="k8s.test") == (
        "nameserver 10.100.0.10\nsearch ns.svc.k8s.test svc.k8s.test k8s.test\noptions ndots:5\n"
    )


@pytest.mark.parametrize("policy", ["Default", "ClusterFirst+hostNetwork"])
def test_default_uses_host_resolv(policy: str) -> None:
    host_network = policy.endswith("hostNetwork")
    dns_policy = policy.split("+")[0]
    assert render("ns", dns_policy=dns_policy, host_resolv=HOST, host_network=host_network) == (
        "nameserver 192.168.1.1\nnameserver 192.168.1.2\n"
        "search corp.example.com lab.example.com\noptions timeout:2 attempts:3\n"
    )


def test_cluster_first_with_host_net_keeps_cluster_dns() -> None:
    text = render("ns", dns_policy="ClusterFirstWithHostNet", host_network=True)
    assert text.startswith("nameserver 10.96.0.10\nsearch ns.svc.cluster.local ")


def test_default_without_host_resolv_is_localhost() -> None:
    assert render("ns", dns_policy="Default") == "nameserver 127.0.0.1\n"


def test_missing_cluster_dns_falls_back_to_default() -> None:
    assert render("ns", nameserver="", host_resolv=HOST).startswith("nameserver 192.168.1.1\n")


def test_none_takes_only_dns_config() -> None:
    config = {
        "nameservers": ["1.1.1.1"],
        "searches": ["my.dns.search.suffix"],
        "options": [{"name": "ndots", "value": "2"}, {"name": "edns0"}],
    }
    assert render("ns", dns_policy="None", dns_config=config) == (
        "nameserver 1.1.1.1\nsearch my.dns.search.suffix\noptions ndots:2 edns0\n"
    )


def test_dns_config_merges_into_cluster_first() -> None:
    config: dict[str, Any] = {
        "nameservers": ["10.96.0.10", "8.8.8.8"],
        "searches": ["svc.cluster.local", "extra.local"],
        "options": [{"name": "ndots", "value": "1"}, {"name": "single-request-reopen"}],
    }
    assert render("default", dns_config=config) == (
        "nameserver 10.96.0.10\nnameserver 8.8.8.8\n"
        "search default.svc.cluster.local svc.cluster.local cluster.local extra.local\n"
        "options ndots:1 single-request-reopen\n"
    )


def test_limits_three_nameservers_and_search_length() -> None:
    config = {
        "nameservers": ["1.1.1.1", "2.2.2.2", "3.3.3.3"],
        "searches": ["x" * 254, *[f"d{i}.example" for i in range(40)]],
    }
    dns = pod_dns("ns", dns_config=config)
    assert dns.servers == ("10.96.0.10", "1.1.1.1", "2.2.2.2")
    assert len(dns.searches) == 31  # cut to 32 first, then the over-long one dropped
    assert "x" * 254 not in dns.searches


def test_search_line_is_cut_to_2048_characters() -> None:
    long_names = [f"{i:02d}" + "a" * 200 + ".example" for i in range(12)]
    dns = pod_dns("ns", dns_policy="None", dns_config={"searches": long_names})
    assert len(" ".join(dns.searches)) <= 2048
    assert dns.searches == tuple(long_names[: len(dns.searches)])
    assert len(dns.searches) == 9


def test_parse_last_search_and_options_win() -> None:
    parsed = parse("search a b\nsearch c\noptions x\noptions y z\nnameserver 1.2.3.4\nnameserver\n")
    assert parsed.searches == ("c",)
    assert parsed.options == ("y", "z")
    assert parsed.servers == ("1.2.3.4",)
