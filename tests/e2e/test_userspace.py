"""`kubesvc up --proxy-mode userspace`: seed 001's Service through kube-proxy's userspace mode.

Needs root. A 3-node cluster whose proxies listen on a random port per Service port behind the
KUBE-PORTALS rules; traffic only to addresses inside the namespaces this cluster made, with the
real curl run on nodes (`kubesvc node-shell`) and in pods (`kubectl exec`). The point of the mode
(seeds 000 and 003): round robin, ClientIP affinity, and a connection that still succeeds when
the endpoint picked first is dead but still listed, because the proxy retries the next one.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys

import pytest

from tests.conftest import ROOT, Kubectl
from tests.e2e.harness import (
    SEEDS,
    Cluster,
    eventually,
    pods,
    running_ready,
)


@pytest.fixture(scope="module")
def cluster_args() -> tuple[str, ...]:
    # the default grace period (the last flag wins), so a node whose agent the retry test
    # stops stays Ready, and its dead pod listed, while the test runs
    return ("--proxy-mode", "userspace", "--node-monitor-grace-period", "40")


def curl(cluster: Cluster, node: str, url: str) -> str:
    return cluster.node_shell(node, "curl", "-s", "--max-time", "5", url)


def slice_endpoints(kubectl: Kubectl, service: str) -> dict[str, bool]:
    """Pod IP → ready, from the Service's EndpointSlices."""
    listed = json.loads(
        kubectl(
            "get", "endpointslices", "-l", f"kubernetes.io/service-name={service}", "-o", "json"
        )
    )
    return {
        ep["addresses"][0]: bool(ep["conditions"].get("ready"))
        for item in listed["items"]
        for ep in item.get("endpoints") or []
    }


@pytest.fixture(scope="module")
def myapp(cluster: Cluster, kubectl: Kubectl) -> dict[str, str]:
    """Seed 001: the 3-replica Deployment and its ClusterIP Service; pod name → pod IP."""
    kubectl("apply", "-f", str(SEEDS / "myapp-deploy.yaml"))
    kubectl("apply", "-f", str(SEEDS / "myapp-service.yaml"))
    items = eventually(
        lambda: (lambda i: i if running_ready(i, 3) else None)(pods(kubectl, "app=myapp")),
        what="3 myapp pods Running and Ready",
    )
    eventually(
        lambda: list(slice_endpoints(kubectl, "myapp").values()) == [True] * 3,
        what="3 ready endpoints",
    )
    return {p["metadata"]["name"]: p["status"]["podIP"] for p in items}


def vip(kubectl: Kubectl) -> str:
    return str(json.loads(kubectl("get", "svc", "myapp", "-o", "json"))["spec"]["clusterIP"])


def test_cluster_ip_reaches_all_three_pods_from_two_nodes_and_a_pod(
    cluster: Cluster, kubectl: Kubectl, myapp: dict[str, str]
) -> None:
    url = f"http://{vip(kubectl)}/hostname.html"
    for node in ("node-1", "node-2"):
        # round robin: consecutive connections through one node's proxy visit every pod
        seen = eventually(
            lambda n=node: (lambda s: s if s == set(myapp) else None)(
                {curl(cluster, n, url).strip() for _ in range(6)}
            ),
            what=f"the VIP from {node} reaches all three pods",
        )
        assert seen == set(myapp)
    client = sorted(myapp)[0]
    from_pod = {
        kubectl("exec", client, "--", "curl", "-s", "--max-time", "5", url).strip()
        for _ in range(6)
    }
    assert from_pod == set(myapp)


def test_the_rules_are_kube_proxys_portals_and_kubesvc_rules_shows_them(
    cluster: Cluster, kubectl: Kubectl, myapp: dict[str, str]
) -> None:
    saved = cluster.node_shell("node-2", "iptables-save", "-t", "nat")
    ours = [line for line in saved.splitlines() if '--comment "default/myapp:http"' in line]
    ip = vip(kubectl)
    assert any(
        line.startswith(f"-A KUBE-PORTALS-CONTAINER -d {ip}/32 -p tcp -m comment --comment ")
        and " -m tcp --dport 80 -j REDIRECT --to-ports " in line
        for line in ours
    ), ours
    assert any(
        line.startswith(f"-A KUBE-PORTALS-HOST -d {ip}/32 ")
        and " -j DNAT --to-destination 172.18.0.3:" in line
        for line in ours
    ), ours
    assert (
        '-A PREROUTING -m comment --comment "handle ClusterIPs; NOTE: this must be before the '
        'NodePort rules" -j KUBE-PORTALS-CONTAINER'
    ) in saved
    argv = [sys.executable, "-m", "kubesvc.cli.main", "rules", "--data-dir", str(cluster.data_dir)]
    shown = subprocess.run(
        [*argv, "--mode", "userspace", "node-2"],
        capture_output=True,
        text=True,
        timeout=30,
        cwd=ROOT,
    )
    assert shown.returncode == 0, shown.stderr
    assert [ln for ln in shown.stdout.splitlines() if "default/myapp:http" in ln] == ours


def test_node_port_from_the_host_and_on_a_node(
    cluster: Cluster, kubectl: Kubectl, myapp: dict[str, str]
) -> None:
    kubectl("apply", "-f", str(SEEDS / "nodeport.yaml"))
    svc = json.loads(kubectl("get", "svc", "myapp", "-o", "json"))
    node_port = svc["spec"]["ports"][0]["nodePort"]
    hello = 'Hello MyApp | Version: v2 | <a href="hostname.html">Pod Name</a>\n'
    page = eventually(
        lambda: curl(cluster, "node-3", f"localhost:{node_port}"),
        what="curl localhost:NODEPORT on a node",
    )
    assert page == hello
    direct = subprocess.run(
        ["curl", "-s", "--max-time", "5", f"172.18.0.2:{node_port}"],
        capture_output=True,
        text=True,
        timeout=20,
    )
    assert direct.stdout == hello


def test_client_ip_affinity_sticks_and_switching_it_off_spreads(
    cluster: Cluster, kubectl: Kubectl, myapp: dict[str, str]
) -> None:
    url = f"http://{vip(kubectl)}/hostname.html"
    kubectl("patch", "svc", "myapp", "-p", '{"spec":{"sessionAffinity":"ClientIP"}}')

    def answers(n: int) -> list[str]:
        return [curl(cluster, "node-1", url).strip() for _ in range(n)]

    eventually(lambda: len(set(answers(5))) == 1, what="affinity takes effect")
    assert len(set(answers(20))) == 1  # 20 requests from one client reach one pod
    kubectl("patch", "svc", "myapp", "-p", '{"spec":{"sessionAffinity":"None"}}')
    eventually(lambda: set(answers(6)) == set(myapp), what="spread again without affinity")


def test_a_dead_but_listed_endpoint_is_skipped_by_the_retry(
    cluster: Cluster, kubectl: Kubectl, myapp: dict[str, str]
) -> None:
    url = f"http://{vip(kubectl)}/hostname.html"
    victim = pods(kubectl, "app=myapp")[0]
    name, uid, ip = victim["metadata"]["name"], victim["metadata"]["uid"], victim["status"]["podIP"]
    node = victim["spec"]["nodeName"]
    pod_dir = cluster.data_dir / "nodes" / node / "pods" / f"default_{name}_{uid}"
    container = int((pod_dir / "myapp.pid").read_text())
    agent = int((cluster.data_dir / "run" / f"{node}.pid").read_text())
    os.kill(agent, signal.SIGSTOP)  # nobody notices the container's death: it stays listed
    try:
        os.kill(container, signal.SIGKILL)
        answers = [curl(cluster, n, url).strip() for n in ("node-1", "node-2") for _ in range(6)]
        listed = slice_endpoints(kubectl, "myapp")
    finally:
        os.kill(agent, signal.SIGCONT)
    assert listed.get(ip) is True  # still a ready endpoint while we asked
    assert "" not in answers and name not in answers  # every request answered, by the others
    assert set(answers) == set(myapp) - {name}
    eventually(
        lambda: running_ready(pods(kubectl, "app=myapp"), 3),
        timeout=90,
        what="the killed container is restarted",
    )


def test_healthz_and_metrics_in_userspace_mode(cluster: Cluster, myapp: dict[str, str]) -> None:
    """kube-proxy's /healthz (10256) and /metrics (10249) on the node's address, here too."""
    from urllib.request import urlopen

    with urlopen("http://172.18.0.2:10256/healthz", timeout=5) as reply:
        body = json.loads(reply.read())
        assert reply.status == 200
    assert body["nodeName"] == "node-1" and body["nodeHealthy"] is True
    with urlopen("http://172.18.0.2:10249/metrics", timeout=5) as reply:
        text = reply.read().decode()
    count = re.search(
        r'^kubeproxy_sync_proxy_rules_duration_seconds_count\{ip_family="IPv4"\} (\d+)', text, re.M
    )
    assert count and int(count.group(1)) >= 1
    assert "kubeproxy_sync_proxy_rules_service_changes_total" in text
    assert "kubeproxy_sync_full_proxy_rules_duration_seconds" not in text  # iptables mode's only
