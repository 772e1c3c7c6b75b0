"""The record of a running cluster, `DATA_DIR/cluster.json`, written by `kubesvc up`.

Node agents, `node-shell` and `pod-exec` read it to know the cluster's id, size and CIDRs; the
topology itself is re-planned from it (planning is pure and deterministic), never stored.
"""

from __future__ import annotations

import ipaddress
import json
from dataclasses import asdict, dataclass
from pathlib import Path

from kubesvc.net import plan

CLUSTER_FILE = "cluster.json"


class NoCluster(LookupError):
    pass


@dataclass(frozen=True, slots=True, kw_only=True)
class ClusterRecord:
    cluster: str
    nodes: int
    node_cidr: str
    pod_cidr: str
    service_cidr: str
    proxy_mode: str = "iptables"
    lease_interval: float = 10.0  # how often node agents renew their Lease

    def topology(self) -> plan.Topology:
        return plan.plan_topology(
            self.cluster, self.nodes, self.node_cidr, self.pod_cidr, self.service_cidr
        )

    @property
    def dns_ip(self) -> str:
        """The kube-dns Service address: the tenth of the Service range, as kubeadm sets it."""
        return str(ipaddress.ip_network(self.service_cidr).network_address + 10)

    def save(self, data_dir: Path) -> None:
        (data_dir / CLUSTER_FILE).write_text(json.dumps(asdict(self), indent=2) + "\n")


def load(data_dir: Path) -> ClusterRecord:
    try:
        saved = json.loads((data_dir / CLUSTER_FILE).read_text())
    except FileNotFoundError:
        raise NoCluster(
            f"no cluster in {data_dir}: start one with `kubesvc up --data-dir {data_dir}`"
        ) from None
    fields = set(ClusterRecord.__dataclass_fields__)
    return ClusterRecord(**{k: v for k, v in saved.items() if k in fields})
