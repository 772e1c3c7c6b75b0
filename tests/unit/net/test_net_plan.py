"""The pure network plan: names, addresses, routes, `ip` batches (golden) and plan errors."""

from __future__ import annotations

import ast
import os
from pathlib import Path

import pytest

from kubesvc.net import plan
from kubesvc.net.plan import Inventory, PlanError, Route, plan_topology

GOLDEN = Path(__file__).parent / "golden"
SRC = Path(__file__).resolve().parents[3] / "src/kubesvc/net"


def golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN"):
        path.write_text(text)
    assert text == path.read_text()


def test_plan_module_is_pure() -> None:
    tree = ast.parse((SRC / "plan.py").read_text())
    imported: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0])
    assert not imported & {"subprocess", "socket", "asyncio", "threading", "ctypes", "kubesvc"}


def test_cluster_id_is_short_stable_and_follows_the_resolved_dir(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    ident = plan.cluster_id(tmp_path / "a")
    assert len(ident) == 5 and all(c in "0123456789abcdef" for c in ident)
    assert plan.cluster_id(tmp_path / "a" / ".." / "a") == ident
    assert plan.cluster_id(tmp_path / "b") != ident
    assert plan.check_cluster(ident) == ident


def test_three_node_topology_commands_golden() -> None:
    t = plan_topology("ab12c", 3)
    golden("topology-3.txt", plan.render(t.commands(), t.sysctls))


def test_teardown_commands_golden() -> None:
    golden("teardown-3.txt", plan.render(plan_topology("ab12c", 3).teardown_commands()))


def test_custom_cidrs_golden() -> None:
    t = plan_topology("x9", 2, "172.19.0.0/16", "10.245.0.0/16", "10.112.0.0/12")
    golden("topology-2-custom.txt", plan.render(t.commands(), t.sysctls))


def test_addresses_and_names() -> None:
    t = plan_topology("ab12c", 3)
    assert t.host_veth == "ksab12ch"
    assert t.host_ip == "172.18.0.1"
    assert t.node_prefix_len == 16
    assert t.underlay_netns == "ks-ab12c-underlay"
    assert [(n.name, n.netns, n.ip, n.pod_subnet, n.gateway) for n in t.nodes] == [
        ("node-1", "ks-ab12c-node-1", "172.18.0.2", "10.244.1.0/24", "10.244.1.1"),
        ("node-2", "ks-ab12c-node-2", "172.18.0.3", "10.244.2.0/24", "10.244.2.1"),
        ("node-3", "ks-ab12c-node-3", "172.18.0.4", "10.244.3.0/24", "10.244.3.1"),
    ]
    assert t.node("node-2") is t.nodes[1]
    assert t.node("ks-ab12c-node-3") is t.nodes[2]
    assert t.netns_names == (
        "ks-ab12c-underlay",
        "ks-ab12c-node-1",
        "ks-ab12c-node-2",
        "ks-ab12c-node-3",
    )


def test_no_default_route_anywhere_and_host_routes_only_for_cluster_cidrs() -> None:
    t = plan_topology("ab12c", 3)
    for node in t.nodes:
        assert all(r.dst != "default" for r in node.routes)
        assert node.routes[-1] == Route(dst="10.96.0.0/12", dev="eth0")
    assert [r.spec() for r in t.host_routes] == [
        "10.244.0.0/16 via 172.18.0.2 dev ksab12ch",
        "10.244.1.0/24 via 172.18.0.2 dev ksab12ch",
        "10.244.2.0/24 via 172.18.0.3 dev ksab12ch",
        "10.244.3.0/24 via 172.18.0.4 dev ksab12ch",
        "10.96.0.0/12 via 172.18.0.2 dev ksab12ch",
    ]
    for stage in t.commands():
        for batch in stage:
            assert not any("default" in line for line in batch.lines)


def test_commands_skip_what_exists() -> None:
    t = plan_topology("ab12c", 2)
    have = Inventory.of(
        t.netns_names,
        {
            "": [t.host_veth],
            t.underlay_netns: ["lo", "br0", "host", "node-1", "node-2"],
            t.nodes[0].netns: ["lo", "eth0", "cni0"],
            t.nodes[1].netns: ["lo", "eth0", "cni0"],
        },
    )
    lines = [line for stage in t.commands(have) for batch in stage for line in batch.lines]
    assert not [line for line in lines if line.startswith(("netns add", "link add"))]
    assert "addr replace 172.18.0.3/16 dev eth0" in lines
    partial = Inventory.of([t.underlay_netns], {t.underlay_netns: ["br0"]})
    host = t.commands(partial)[0][0].lines
    assert host[:2] == ("netns add ks-ab12c-node-1", "netns add ks-ab12c-node-2")
    assert "link add br0 type bridge" not in t.commands(partial)[1][0].lines


def test_sysctls() -> None:
    t = plan_topology("ab12c", 1)
    assert [(s.netns, s.path, s.value, s.optional) for s in t.sysctls] == [
        ("ks-ab12c-underlay", "/proc/sys/net/bridge/bridge-nf-call-iptables", "0", True),
        ("ks-ab12c-underlay", "/proc/sys/net/bridge/bridge-nf-call-ip6tables", "0", True),
        ("ks-ab12c-node-1", "/proc/sys/net/ipv4/ip_forward", "1", False),
        ("ks-ab12c-node-1", "/proc/sys/net/ipv4/conf/all/route_localnet", "1", False),
        ("ks-ab12c-node-1", "/proc/sys/net/bridge/bridge-nf-call-iptables", "1", True),
        ("ks-ab12c-node-1", "/proc/sys/net/bridge/bridge-nf-call-ip6tables", "1", True),
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("AB", 3), "cluster id 'AB' must be 1-6 characters of [a-z0-9]"),
        (("abcdefg", 3), "cluster id 'abcdefg' must be 1-6 characters of [a-z0-9]"),
        (("ab", 0), "need at least one node, not 0"),
        (("ab", 256), "pod CIDR 10.244.0.0/16 has no /24 for each of 256 nodes"),
        (("ab", 2, "172.18.0.0/30"), "node CIDR 172.18.0.0/30 has no address for each of 2 nodes"),
        (
            ("ab", 3, "172.18.0.0/16", "10.244.0.0/24"),
            "pod CIDR 10.244.0.0/24 has no /24 for each of 3 nodes",
        ),
        (("ab", 3, "10.0.0.0/8"), "node CIDR 10.0.0.0/8 overlaps pod CIDR 10.244.0.0/16"),
        (
            ("ab", 3, "172.18.0.0/16", "10.96.0.0/16"),
            "pod CIDR 10.96.0.0/16 overlaps service CIDR 10.96.0.0/12",
        ),
        (
            ("ab", 3, "fd00::/64"),
            "node CIDR 'fd00::/64' is not an IPv4 CIDR: Expected 4 octets in 'fd00::'",
        ),
        (
            ("ab", 3, "172.18.0.1/16"),
            "node CIDR '172.18.0.1/16' is not an IPv4 CIDR: 172.18.0.1/16 has host bits set",
        ),
        (("ab", 3, "0.0.0.0/0"), "node CIDR 0.0.0.0/0 is wider than a /8"),
    ],
)
def test_topology_errors(args: tuple[object, ...], message: str) -> None:
    with pytest.raises(PlanError) as err:
        plan_topology(*args)  # type: ignore[arg-type]
    assert str(err.value) == message


def test_unknown_node() -> None:
    with pytest.raises(PlanError, match=r"^no node 'node-4' in cluster ab \(3 nodes\)$"):
        plan_topology("ab", 3).node("node-4")


def test_route_conflicts() -> None:
    t = plan_topology("ab", 2)
    routes = [
        {"dst": "default", "gateway": "192.0.2.1", "dev": "eth0"},
        {"dst": "192.0.2.0/24", "dev": "eth0"},
        {"dst": "172.18.0.0/16", "dev": "ksabh"},
        {"dst": "10.244.0.0/16", "gateway": "172.18.0.2", "dev": "ksabh"},
        {"dst": "172.18.0.0/16", "dev": "br-1234"},
        {"dst": "10.0.0.0/8", "dev": "wg0"},
        {"dst": "10.100.1.7", "dev": "tun0"},
    ]
    assert plan.route_conflicts(t, routes) == [
        "172.18.0.0/16 dev br-1234 overlaps 172.18.0.0/16",
        "10.0.0.0/8 dev wg0 overlaps 10.244.0.0/16",
        "10.0.0.0/8 dev wg0 overlaps 10.96.0.0/12",
        "10.100.1.7 dev tun0 overlaps 10.96.0.0/12",
    ]
