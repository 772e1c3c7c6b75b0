"""kube-proxy's iptables mode in a running cluster: trace vs. traffic, syncs, health, conntrack.

Needs root. One 3-node cluster (proxies check their canaries every 2 s). Traffic goes only to
addresses inside the namespaces this cluster made: curl from nodes (`kubesvc node-shell`), from a
pod (`kubesvc pod-exec`) and from the host, which routes the cluster's CIDRs through node-1.
`kubesvc trace -o json` is asked where a connection can land, and curl checks the answer.
"""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from typing import Any

import pytest

from tests.conftest import ROOT, Kubectl
from tests.e2e.harness import (
    SEEDS,
    Cluster,
    eventually,
    pods,
    running_ready,
)

OPEN = urllib.request.build_opener(urllib.request.ProxyHandler({})).open  # never an HTTP proxy


@pytest.fixture(scope="module")
def cluster_args() -> tuple[str, ...]:
    return ("--iptables-sync-period", "2")


@pytest.fixture(scope="module")
def hostnames(cluster: Cluster, kubectl: Kubectl) -> dict[str, str]:
    """Seed 002's 3 pods behind the `hostnames` Service, and `none` without endpoints."""
    kubectl("apply", "-f", str(SEEDS / "hostnames.yaml"))
    kubectl("apply", "-f", str(SEEDS / "hostnames-svc.yaml"))
    kubectl("create", "service", "clusterip", "none", "--tcp=80:80")
    items = eventually(
        lambda: (lambda i: i if running_ready(i, 3) else None)(pods(kubectl, "app=hostnames")),
        what="3 hostnames pods ready",
    )
    names = {p["metadata"]["name"]: p["status"]["podIP"] for p in items}
    eventually(
        lambda: sorted(trace(cluster, "hostnames:80", "node-1")["pods"]) == sorted(names),
        what="node-1's rules list the three pods",
    )
    return names


def kubesvc(cluster: Cluster, command: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "kubesvc.cli.main",
            command,
            "--data-dir",
            str(cluster.data_dir),
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )


def trace(cluster: Cluster, dest: str, source: str) -> dict[str, Any]:
    """Where `kubesvc trace` says the connection lands: verdicts and pod names."""
    result = kubesvc(cluster, "trace", dest, "--from", source, "-o", "json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    return {
        "verdicts": sorted({o["verdict"] for o in data["outcomes"]}),
        "pods": [o["pod"].split("/")[1] for o in data["outcomes"] if o["pod"]],
        "odds": sorted(o["odds"] for o in data["outcomes"]),
        "data": data,
    }


def vip(kubectl: Kubectl, name: str) -> str:
    return str(json.loads(kubectl("get", "svc", name, "-o", "json"))["spec"]["clusterIP"])


def reached(cluster: Cluster, source: str, url: str, times: int = 40) -> set[str]:
    """The pod names that answer `times` requests from a node, a pod, or the host."""
    seen = set()
    for _ in range(times):
        if source == "host":
            with OPEN(url, timeout=5) as reply:
                seen.add(reply.read().decode().strip())
        elif source.startswith("node-"):
            seen.add(cluster.node_shell(source, "curl", "-s", "--max-time", "5", url).strip())
        else:
            result = kubesvc(
                cluster, "pod-exec", source, "--", "curl", "-s", "--max-time", "5", url
            )
            assert result.returncode == 0, result.stderr
            seen.add(result.stdout.strip())
    return seen


def test_trace_lists_exactly_the_endpoints_curl_reaches(
    cluster: Cluster, kubectl: Kubectl, hostnames: dict[str, str]
) -> None:
    address = vip(kubectl, "hostnames")
    client = sorted(hostnames)[0]
    for source in ("node-1", "node-3", "host", client):
        predicted = trace(cluster, f"{address}:80", source)
        assert predicted["verdicts"] == ["delivered"] and predicted["odds"] == ["1/3"] * 3
        assert sorted(predicted["pods"]) == sorted(hostnames), source
        # 40 tries miss one of three equally likely pods with probability 3·(2/3)^40 < 1e-6
        assert reached(cluster, source, f"http://{address}:80/") == set(predicted["pods"]), source
    text = kubesvc(cluster, "trace", "hostnames:80", "--from", "host").stdout
    assert "The host (172.18.0.1) sends the packet to node-1" in text
    assert "outside the pod network 10.244.0.0/16" in text and "MASQUERADE rewrites" in text


def test_a_service_without_endpoints_is_predicted_rejected_and_refuses(
    cluster: Cluster, kubectl: Kubectl, hostnames: dict[str, str]
) -> None:
    address = vip(kubectl, "none")
    for source in ("node-2", sorted(hostnames)[1]):
        assert trace(cluster, f"{address}:80", source)["verdicts"] == ["rejected"]
    result = cluster.node_run("node-2", "curl", "-sv", "--max-time", "10", f"http://{address}/")
    assert result.returncode == 7, result.stderr  # could not connect; 28 would be a timeout
    assert "Connection refused" in result.stderr or "Couldn't connect" in result.stderr
    bad = kubesvc(cluster, "trace", "nosuchservice:80")
    assert bad.returncode == 1 and bad.stderr.startswith("error: ")
    bad = kubesvc(cluster, "trace", f"{address}:80", "--from", "nosuchpod")
    assert bad.returncode == 1 and 'pods "nosuchpod" not found' in bad.stderr


def metrics(node_ip: str) -> dict[str, float]:
    with OPEN(f"http://{node_ip}:10249/metrics", timeout=5) as reply:
        lines = reply.read().decode().splitlines()
    return {
        line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1])
        for line in lines
        if line and not line.startswith("#")
    }


def test_healthz_metrics_and_partial_syncs(
    cluster: Cluster, kubectl: Kubectl, hostnames: dict[str, str]
) -> None:
    with OPEN("http://172.18.0.3:10256/healthz", timeout=5) as reply:
        body = json.loads(reply.read())
        assert reply.status == 200
    assert body["nodeName"] == "node-2" and body["nodeHealthy"] is True
    assert set(body) >= {"lastUpdated", "currentTime"}
    partial = 'kubeproxy_sync_partial_proxy_rules_duration_seconds_count{ip_family="IPv4"}'
    full = 'kubeproxy_sync_full_proxy_rules_duration_seconds_count{ip_family="IPv4"}'
    before = metrics("172.18.0.3")
    kubectl("scale", "deployment", "hostnames", "--replicas=2")
    eventually(lambda: len(trace(cluster, "hostnames:80", "node-2")["pods"]) == 2, what="2 pods")
    after = metrics("172.18.0.3")
    assert after[partial] > before[partial] and after[full] == before[full]
    nat = 'kubeproxy_sync_proxy_rules_iptables_{}{{ip_family="IPv4",table="nat"}}'
    assert after[nat.format("last")] < after[nat.format("total")]  # only a part was written
    assert after["kubeproxy_sync_proxy_rules_endpoint_changes_total"] > 0
    kubectl("scale", "deployment", "hostnames", "--replicas=3")
    eventually(lambda: len(trace(cluster, "hostnames:80", "node-2")["pods"]) == 3, what="3 pods")
    # the new pod's Ready transition → its rules on node-2: network programming latency
    programming = 'kubeproxy_network_programming_duration_seconds_count{ip_family="IPv4"}'
    eventually(
        lambda: metrics("172.18.0.3").get(programming, 0) > after.get(programming, 0),
        what="a network programming latency observed",
    )


def test_a_flushed_nat_table_is_noticed_by_the_canary_and_rebuilt(
    cluster: Cluster, kubectl: Kubectl, hostnames: dict[str, str]
) -> None:
    address = vip(kubectl, "hostnames")
    full = 'kubeproxy_sync_full_proxy_rules_duration_seconds_count{ip_family="IPv4"}'
    before = metrics("172.18.0.4")[full]
    cluster.node_shell("node-3", "iptables", "-t", "nat", "-F")
    cluster.node_shell("node-3", "iptables", "-t", "nat", "-X")
    eventually(lambda: metrics("172.18.0.4")[full] > before, what="a full resync on node-3")
    eventually(
        lambda: (
            '-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES'
            in cluster.node_shell("node-3", "iptables-save", "-t", "nat")
        ),
        timeout=30,
        what="node-3's rules rebuilt",
    )
    names = {p["metadata"]["name"] for p in pods(kubectl, "app=hostnames")}
    assert reached(cluster, "node-3", f"http://{address}:80/", times=20) <= names


def dig(cluster: Cluster, port: int) -> str:
    """One query to kube-dns from node-1, always from the same UDP source port."""
    result = cluster.node_run(
        "node-1", "dig", "+short", "+tries=1", "+time=1", "-b", f"0.0.0.0#{port}",
        "@10.96.0.10", "kubernetes.default.svc.cluster.local",
    )  # fmt: skip
    return result.stdout.strip()


def test_udp_flows_to_a_deleted_endpoint_are_cleaned_up(cluster: Cluster, kubectl: Kubectl) -> None:
    """Without the clean-up, conntrack would send this client's datagrams to the dead pod for as
    long as it keeps sending."""
    port = 35353
    assert dig(cluster, port) == vip(kubectl, "kubernetes")
    flows = cluster.node_shell(
        "node-1", "conntrack", "-L", "-p", "udp", "--orig-port-src", str(port)
    )
    replies = [w.split("=")[1] for w in flows.split() if w.startswith("src=")]
    chosen = replies[1]  # the reply's source: the coredns pod the flow was DNATed to
    dns = json.loads(kubectl("get", "pods", "-n", "kube-system", "-o", "json"))["items"]
    victim = next(p["metadata"]["name"] for p in dns if p["status"].get("podIP") == chosen)
    kubectl("delete", "pod", "-n", "kube-system", victim, "--wait=false")
    eventually(
        lambda: dig(cluster, port) == vip(kubectl, "kubernetes"),
        timeout=40,
        what="the same client gets answers again",
    )
    flows = cluster.node_shell(
        "node-1", "conntrack", "-L", "-p", "udp", "--orig-port-src", str(port)
    )
    assert f"src={chosen} " not in flows


def test_a_pod_reaches_itself_through_its_own_service(
    cluster: Cluster, kubectl: Kubectl, hostnames: dict[str, str]
) -> None:
    """Hairpin: the DNAT sends the pod's connection back to the pod itself; KUBE-SEP's
    `-s POD_IP -j KUBE-MARK-MASQ` masquerades it, so the reply goes back through the bridge."""
    address = vip(kubectl, "hostnames")
    names = {p["metadata"]["name"] for p in pods(kubectl, "app=hostnames")}  # earlier tests scale
    me = sorted(names)[0]
    seen = reached(cluster, me, f"http://{address}:80/", times=30)
    assert me in seen and seen <= names


def test_a_deleted_pod_gets_no_new_connection_after_the_next_sync(
    cluster: Cluster, kubectl: Kubectl, hostnames: dict[str, str]
) -> None:
    address = vip(kubectl, "hostnames")
    victim = sorted(pods(kubectl, "app=hostnames"), key=lambda p: p["metadata"]["name"])[-1]
    name = victim["metadata"]["name"]
    kubectl("delete", "pod", name, "--wait=false")
    # the next sync after the endpoint change drops the pod from every node's rules
    for node in ("node-1", "node-2", "node-3"):
        eventually(
            lambda n=node: name not in trace(cluster, "hostnames:80", n)["pods"],
            what=f"{node}'s rules drop {name}",
        )
        assert name not in reached(cluster, node, f"http://{address}:80/", times=15)
    eventually(
        lambda: running_ready(pods(kubectl, "app=hostnames"), 3),
        what="the Deployment replaces it",
    )
