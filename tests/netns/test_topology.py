"""Root tier: real namespaces, veths, bridges and routes; traffic stays in what tests built."""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest

from kubesvc.net import ip, podnet, topology
from kubesvc.net.plan import Topology, plan_topology
from tests.netns.netns_helpers import CIDRS_A, CIDRS_B, ping, requires_netns, traces, unique_id

pytestmark = [pytest.mark.netns, requires_netns]

ROOT = Path(__file__).resolve().parents[2]
MakeCluster = Callable[..., Topology]
NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never via a real proxy


def run(argv: list[str]) -> str:
    return subprocess.run(argv, capture_output=True, text=True, timeout=10, check=True).stdout


def address(t: Topology, node: int, host: int) -> str:
    """The address `host` in node `node`'s pod /24."""
    return t.nodes[node - 1].pod_subnet.rsplit(".", 1)[0] + f".{host}"


def attach_one_per_node(t: Topology, host: int = 10) -> list[podnet.PodNet]:
    return [
        podnet.attach(t, n.name, f"ks-{t.cluster}-p-pod{n.index}", address(t, n.index, host))
        for n in t.nodes
    ]


def test_three_nodes_pods_and_host_reach_each_other(make_cluster: MakeCluster) -> None:
    started = time.perf_counter()
    t = make_cluster(3)
    up_seconds = time.perf_counter() - started
    started = time.perf_counter()
    pods = attach_one_per_node(t)
    attach_seconds = (time.perf_counter() - started) / len(pods)
    print(f"up: {up_seconds * 1000:.0f} ms, attach: {attach_seconds * 1000:.1f} ms a pod")
    assert up_seconds < 2.0
    assert attach_seconds < 0.25

    first, second, third = pods
    assert ping(second.ip, first.netns)  # across nodes, both directions
    assert ping(third.ip, second.netns)
    assert ping(first.ip, third.netns)
    assert ping(first.gateway, first.netns)
    assert ping(t.host_ip, second.netns)  # a pod reaches the host end
    for node in t.nodes:
        assert ping(node.ip)  # the host reaches every node IP ...
    for pod in pods:
        assert ping(pod.ip)  # ... and every pod through its node

    for node in t.nodes:
        routes = run(["ip", "-n", node.netns, "route"])
        assert "default" not in routes
        assert f"{t.service_cidr} dev eth0" in routes
        failed = subprocess.run(
            ["ip", "-n", node.netns, "route", "get", "1.1.1.1"], capture_output=True, text=True
        )
        assert failed.returncode != 0 and "unreachable" in failed.stderr
        assert ip.read_sysctl(node.netns, "net.ipv4.ip_forward") == "1"
        assert ip.read_sysctl(node.netns, "net.ipv4.conf.all.route_localnet") == "1"
    assert run(["ip", "-n", first.netns, "route"]).startswith(
        f"default via {first.gateway} dev eth0"
    )
    port = run(["ip", "-n", second.node_netns, "-d", "link", "show", second.host_veth])
    assert "master cni0" in port and "hairpin on" in port

    host_routes = [line for line in run(["ip", "route"]).splitlines() if t.host_veth in line]
    assert all(not line.startswith("default") for line in host_routes)
    assert len(host_routes) == 1 + len(t.host_routes)  # the connected /16 and ours

    topology.up(t)  # idempotent: again, nothing breaks
    assert podnet.attach(t, "node-2", second.netns, second.ip) == second
    assert ping(second.ip, first.netns)

    removed = topology.down(t.cluster)
    assert f"netns {second.netns}" in removed and f"link {t.host_veth}" in removed
    assert traces(t.cluster) == []
    assert topology.down(t.cluster) == []  # safe when nothing exists


def test_pod_exec_hostname_etc_files_and_detach(
    make_cluster: MakeCluster, procs: list[subprocess.Popen[bytes]]
) -> None:
    t = make_cluster(2)
    netns = f"ks-{t.cluster}-p-web"
    pod = podnet.attach(t, "node-2", netns, address(t, 2, 9))
    podnet.write_etc(netns, "nameserver 10.96.0.10\noptions ndots:5\n", f"{pod.ip}\tweb-0\n")
    argv = ["sh", "-c", "hostname; cat /etc/resolv.conf /etc/hosts; ip -o -4 addr show eth0"]
    out = run(podnet.exec_argv(netns, argv, "web-0"))
    lines = out.splitlines()
    assert lines[:4] == ["web-0", "nameserver 10.96.0.10", "options ndots:5", f"{pod.ip}\tweb-0"]
    assert f"{pod.ip}/24" in lines[4]
    assert run(["hostname"]).strip() != "web-0"  # the host keeps its name
    node_out = run(podnet.node_exec_argv(t.node("node-1").netns, ["ip", "-o", "-4", "addr"]))
    node_1 = t.node("node-1")
    assert f"{node_1.ip}/16" in node_out and f"{node_1.gateway}/24" in node_out

    server = [sys.executable, "-m", "http.server", "--bind", pod.ip, "8080"]
    procs.append(
        subprocess.Popen(
            podnet.exec_argv(netns, server, "web-0"),
            cwd=ROOT / "tests",
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    )
    deadline = time.monotonic() + 5
    while True:
        try:
            with NO_PROXY.open(f"http://{pod.ip}:8080/", timeout=1) as answer:
                assert answer.status == 200
                break
        except OSError:
            assert time.monotonic() < deadline, "the pod's HTTP server never answered the host"
            time.sleep(0.05)
    procs[0].kill()
    procs[0].wait(5)

    podnet.detach(netns)
    assert not ip.netns_exists(netns)
    assert not (ip.ETC_NETNS / netns).exists()
    assert pod.host_veth not in ip.links(pod.node_netns)
    podnet.detach(netns)  # again: nothing to do


def test_attach_replaces_a_veth_left_by_a_held_namespace(
    make_cluster: MakeCluster, procs: list[subprocess.Popen[bytes]]
) -> None:
    t = make_cluster(1)
    netns = f"ks-{t.cluster}-p-old"
    podnet.attach(t, "node-1", netns, address(t, 1, 20))
    procs.append(subprocess.Popen(podnet.exec_argv(netns, ["sleep", "60"])))
    time.sleep(0.05)
    run(["ip", "netns", "del", netns])  # unnamed now, but alive: its veth stays in the node
    assert "vk" + t.cluster + "114" in ip.links(t.nodes[0].netns)
    fresh = podnet.attach(t, "node-1", f"ks-{t.cluster}-p-new", address(t, 1, 20))
    assert ping(fresh.ip, t.nodes[0].netns)
    assert ping(fresh.gateway, fresh.netns)


def test_down_by_id_cleans_a_crashed_run(procs: list[subprocess.Popen[bytes]]) -> None:
    cluster = unique_id()
    t = plan_topology(cluster, 2, *CIDRS_A)
    try:
        topology.up(t)
        pod = podnet.attach(t, "node-1", f"ks-{cluster}-p-orphan", address(t, 1, 3))
        podnet.write_etc(pod.netns, "nameserver 10.96.0.10\n", "")
        procs.append(subprocess.Popen(podnet.exec_argv(pod.netns, ["sleep", "60"], "orphan")))
        deadline = time.monotonic() + 5
        while not ip.netns_pids([pod.netns]).get(pod.netns):
            assert time.monotonic() < deadline
            time.sleep(0.01)
        assert topology.clusters().count(cluster) == 1
        # a new process that knows only the id, as a second `up` after a crash would
        code = f"from kubesvc.net import topology; print(topology.down({cluster!r}))"
        removed = subprocess.run(
            [sys.executable, "-c", code],
            cwd=ROOT,
            env={"PYTHONPATH": "src"},
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        ).stdout
        assert f"netns ks-{cluster}-p-orphan" in removed and "pid " in removed
        assert f"dir /etc/netns/ks-{cluster}-p-orphan" in removed
        assert procs[0].wait(5) != 0  # killed
        assert traces(cluster) == [] and topology.leftovers(cluster) == []
        assert cluster not in topology.clusters()
    finally:
        topology.down(cluster)


def test_two_clusters_side_by_side(make_cluster: MakeCluster) -> None:
    a = make_cluster(2)
    b = make_cluster(2, CIDRS_B)
    pods_a, pods_b = attach_one_per_node(a), attach_one_per_node(b)
    assert ping(pods_a[1].ip, pods_a[0].netns)
    assert ping(pods_b[1].ip, pods_b[0].netns)
    assert ping(pods_a[1].ip) and ping(pods_b[1].ip) and ping(b.nodes[1].ip)
    assert not ping(pods_b[0].ip, pods_a[0].netns, timeout=0.3)  # no route between clusters

    clash = plan_topology(unique_id(), 1, CIDRS_B[0], "10.227.0.0/16", "10.208.0.0/12")
    with pytest.raises(topology.TopologyError, match=f"{CIDRS_B[0]} dev {b.host_veth}"):
        topology.up(clash)
    assert topology.leftovers(clash.cluster) == []

    topology.down(a.cluster)
    assert ping(pods_b[1].ip, pods_b[0].netns)  # b is untouched by a's down
    assert traces(a.cluster) == []
