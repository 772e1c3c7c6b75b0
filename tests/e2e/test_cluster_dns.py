"""The cluster DNS in a whole cluster: CoreDNS's place (kube-dns at 10.96.0.10) served by kubesvc.

Queries go through the kube-dns Service VIP from a node (`dig` in `kubesvc node-shell`) and from
pods (`kubectl exec … nslookup`), as in a cluster. The per-record rules are unit-tested in
tests/unit/dns; here the point is the whole path: informers → records → the VIP → the answer,
and answers that follow the cluster as it changes (readiness, a StatefulSet pod recreated).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Kubectl
from tests.e2e.harness import Cluster, eventually, pods, running_ready

DNS = "10.96.0.10"
ZONE = "cluster.local"


def dig(cluster: Cluster, *args: str, node: str = "node-1") -> dict[str, Any]:
    """`dig @10.96.0.10 ARGS` on a node, read back into status, flags and sections."""
    text = cluster.node_shell(node, "dig", f"@{DNS}", *args)
    header = re.search(r"status: (\w+)", text)
    flags = re.search(r";; flags: ([a-z ]+);", text)
    assert header and flags, text

    def section(title: str) -> list[list[str]]:
        found = re.search(rf";; {title} SECTION:\n(.*?)\n\n", text, re.S)
        return [line.split() for line in found.group(1).splitlines()] if found else []

    return {
        "text": text,
        "status": header.group(1),
        "flags": flags.group(1).split(),
        "answer": section("ANSWER"),
        "authority": section("AUTHORITY"),
        "additional": section("ADDITIONAL"),
    }


APP = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: wangyanglinux/myapp:v1
        ports: [{name: http, containerPort: 80}]
        readinessProbe:
          exec: {command: [test, "!", "-f", MARKER]}
          periodSeconds: 1
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{name: http, port: 80}]
---
apiVersion: v1
kind: Service
metadata: {name: web-headless}
spec:
  clusterIP: None
  selector: {app: web}
  ports: [{name: http, port: 80}]
"""


@pytest.fixture(scope="module")
def app(kubectl: Kubectl, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A 2-replica Deployment behind a ClusterIP and a headless Service; touching `marker`
    makes every pod fail its readiness probe."""
    marker = tmp_path_factory.mktemp("dns") / "unready"
    kubectl("apply", "-f", "-", input=APP.replace("MARKER", str(marker)))
    items = eventually(
        lambda: (lambda i: i if running_ready(i, 2) else None)(pods(kubectl, "app=web")),
        what="2 web pods ready",
    )
    vip = json.loads(kubectl("get", "svc", "web", "-o", "json"))["spec"]["clusterIP"]
    eventually(
        lambda: cluster_ready_dns(kubectl),
        what="coredns ready",
    )
    return {"vip": vip, "ips": sorted(p["status"]["podIP"] for p in items), "marker": marker}


def cluster_ready_dns(kubectl: Kubectl) -> bool:
    items = json.loads(
        kubectl("get", "pods", "-n", "kube-system", "-l", "k8s-app=kube-dns", "-o", "json")
    )["items"]
    return running_ready(items, 2)


def test_cluster_ip_srv_ptr_over_udp_and_tcp(cluster: Cluster, app: dict[str, Any]) -> None:
    name = f"web.default.svc.{ZONE}."
    for transport in ("+notcp", "+tcp"):
        reply = eventually(
            lambda t=transport: (lambda r: r if r["answer"] else None)(dig(cluster, t, name)),
            what=f"{name} over {transport}",
        )
        assert reply["status"] == "NOERROR" and "aa" in reply["flags"]
        assert reply["answer"] == [[name, "30", "IN", "A", app["vip"]]]
    srv = dig(cluster, "-t", "SRV", f"_http._tcp.web.default.svc.{ZONE}.")
    assert srv["answer"] == [
        [f"_http._tcp.web.default.svc.{ZONE}.", "30", "IN", "SRV", "0", "100", "80", name]
    ]
    assert [name, "30", "IN", "A", app["vip"]] in srv["additional"]
    ptr = dig(cluster, "-x", app["vip"])
    assert ptr["answer"][0][3:] == ["PTR", name]


def test_headless_records_follow_readiness(cluster: Cluster, app: dict[str, Any]) -> None:
    name = f"web-headless.default.svc.{ZONE}."
    reply = dig(cluster, name)
    assert sorted(r[4] for r in reply["answer"]) == app["ips"]
    assert all(r[1] == "30" for r in reply["answer"])
    # each endpoint has its own name, the dashed IP; its PTR points back at it
    ip = app["ips"][0]
    own = f"{ip.replace('.', '-')}.web-headless.default.svc.{ZONE}."
    assert dig(cluster, own)["answer"] == [[own, "30", "IN", "A", ip]]
    # the pod backs both Services: a PTR record for each endpoint name, as CoreDNS answers
    ptr = dig(cluster, "-x", ip)["answer"]
    assert sorted(r[3:] for r in ptr) == [
        ["PTR", own],
        ["PTR", own.replace(".web-headless.", ".web.")],
    ]
    srv = dig(cluster, "-t", "SRV", f"_http._tcp.{name}")
    assert sorted(r[7] for r in srv["answer"]) == sorted(
        f"{i.replace('.', '-')}.web-headless.default.svc.{ZONE}." for i in app["ips"]
    )
    # the pods turn unready: they leave the answer
    app["marker"].write_text("x")
    try:
        eventually(
            lambda: dig(cluster, name)["status"] != "NOERROR" or not dig(cluster, name)["answer"],
            what="no ready endpoint, no A record",
        )
    finally:
        app["marker"].unlink()
    eventually(lambda: len(dig(cluster, name)["answer"]) == 2, what="ready again, answered again")


def test_nxdomain_nodata_and_version(cluster: Cluster, app: dict[str, Any]) -> None:
    missing = dig(cluster, f"nope.default.svc.{ZONE}.")
    assert missing["status"] == "NXDOMAIN" and missing["answer"] == []
    assert missing["authority"][0][3] == "SOA"
    nodata = dig(cluster, "-t", "AAAA", f"web.default.svc.{ZONE}.")
    assert nodata["status"] == "NOERROR" and nodata["answer"] == []
    assert nodata["authority"][0][3] == "SOA"
    version = dig(cluster, "-t", "TXT", f"dns-version.{ZONE}.")
    assert version["answer"][0][3:] == ["TXT", '"1.1.0"']
    # pod records, as CoreDNS's `pods insecure`
    ip = app["ips"][0]
    pod_name = f"{ip.replace('.', '-')}.default.pod.{ZONE}."
    assert dig(cluster, pod_name)["answer"] == [[pod_name, "30", "IN", "A", ip]]


def test_from_a_pod_short_names_and_other_namespaces(
    kubectl: Kubectl, app: dict[str, Any], tmp_path: Path
) -> None:
    kubectl("run", "dnsclient", "--image=busybox", "--restart=Never", "--", "sleep", "3600")
    eventually(lambda: running_ready(pods(kubectl, "run=dnsclient"), 1), what="dnsclient running")
    out = kubectl("exec", "dnsclient", "--", "nslookup", "web")
    assert f"Name:\tweb.default.svc.{ZONE}\nAddress: {app['vip']}" in out
    kube_dns = kubectl("exec", "dnsclient", "--", "nslookup", "kube-dns.kube-system")
    assert f"Address: {DNS}" in kube_dns
    assert kubectl.run("exec", "dnsclient", "--", "nslookup", "kube-dns", check=False).returncode
    kubectl("delete", "pod", "dnsclient", "--wait=false")


STATEFULSET = """
apiVersion: v1
kind: Service
metadata: {name: nginx, labels: {app: nginx}}
spec:
  clusterIP: None
  selector: {app: nginx}
  ports: [{name: web, port: 80}]
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: web-sts}
spec:
  serviceName: nginx
  replicas: 3
  selector: {matchLabels: {app: nginx}}
  template:
    metadata: {labels: {app: nginx}}
    spec:
      containers:
      - name: nginx
        image: nginx
        ports: [{name: web, containerPort: 80}]
"""


def test_statefulset_pods_keep_their_names(cluster: Cluster, kubectl: Kubectl) -> None:
    kubectl("apply", "-f", "-", input=STATEFULSET)

    def by_name() -> dict[str, str] | None:
        items = pods(kubectl, "app=nginx")
        if not running_ready(items, 3):
            return None
        return {p["metadata"]["name"]: p["status"]["podIP"] for p in items}

    ips = eventually(by_name, timeout=90, what="web-sts-0..2 ready")
    assert sorted(ips) == ["web-sts-0", "web-sts-1", "web-sts-2"]
    for pod, ip in ips.items():
        name = f"{pod}.nginx.default.svc.{ZONE}."
        eventually(
            lambda n=name, i=ip: dig(cluster, n)["answer"] == [[n, "30", "IN", "A", i]],
            what=f"{name} → {ip}",
        )
    old = ips["web-sts-1"]
    kubectl("delete", "pod", "web-sts-1")
    fresh = eventually(
        lambda: (lambda m: m if m and m.get("web-sts-1") not in (None, old) else None)(by_name()),
        timeout=90,
        what="web-sts-1 recreated with a new IP",
    )
    name = f"web-sts-1.nginx.default.svc.{ZONE}."
    eventually(
        lambda: dig(cluster, name)["answer"] == [[name, "30", "IN", "A", fresh["web-sts-1"]]],
        what="the record follows the new pod",
    )
