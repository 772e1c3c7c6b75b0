"""A real 3-node cluster's rules and network, as captured from `kubesvc up` (golden/cluster/).

Captured with `iptables-save`, `ip -j addr` and `ip -j route` in each node's namespace, and the
pods from `kubectl get pods -A -o json`: Services hostnames (3 pods, 10.100.224.154:80), sticky
(the same pods, ClientIP affinity, 10.98.107.90:81), none (no endpoints, 10.99.34.70:80), myapp
(NodePort 30557, 3 pods), kube-dns (10.96.0.10, UDP and TCP 53, 2 pods) and kubernetes.
"""

from __future__ import annotations

import json
from pathlib import Path

from kubesvc.proxy.trace.network import Network, NodeNet, NodeView, PodRef, Route
from kubesvc.proxy.trace.path import Origin
from kubesvc.proxy.trace.ruleset import parse

CLUSTER = Path(__file__).parent / "golden" / "cluster"
HOSTNAMES = "10.100.224.154"
STICKY = "10.98.107.90"
NONE = "10.99.34.70"
MYAPP_NODE_PORT = 30557
KUBE_DNS = "10.96.0.10"
HOST = Origin(kind="host", name="host", ip="172.18.0.1")


def network() -> Network:
    nodes = {}
    for i in (1, 2, 3):
        name = f"node-{i}"
        addrs = json.loads((CLUSTER / f"{name}.addr.json").read_text())
        routes = json.loads((CLUSTER / f"{name}.route.json").read_text())
        nodes[name] = NodeView(
            net=NodeNet.from_ip_json(name, addrs, routes),
            rules=parse((CLUSTER / f"{name}.iptables-save").read_text()),
            ip=f"172.18.0.{i + 1}",
        )
    pods = {p["ip"]: PodRef(**p) for p in json.loads((CLUSTER / "pods.json").read_text())}
    host_routes = (
        Route(dst="10.244.0.0/16", gateway="172.18.0.2"),
        *(Route(dst=f"10.244.{i}.0/24", gateway=f"172.18.0.{i + 1}") for i in (1, 2, 3)),
        Route(dst="10.96.0.0/12", gateway="172.18.0.2"),
    )
    return Network(
        nodes=nodes,
        pods=pods,
        host_ip="172.18.0.1",
        host_routes=host_routes,
        node_cidr="172.18.0.0/16",
    )


def pod(net: Network, prefix: str, node: str) -> PodRef:
    return next(p for p in net.pods.values() if p.name.startswith(prefix) and p.node == node)


def from_pod(ref: PodRef) -> Origin:
    return Origin(kind="pod", name=str(ref), node=ref.node, ip=ref.ip)


def from_node(name: str) -> Origin:
    return Origin(kind="node", name=name, node=name)
