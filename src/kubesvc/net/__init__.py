"""Network namespaces, veths, bridges and routes for a kubesvc cluster on one machine.

`plan` is pure (names, addresses, the `ip` batches); `ip` is the only module that runs `ip` or
writes /proc; `topology` brings a cluster's underlay and nodes up and down; `podnet` attaches pods.
Order of use: `down(cluster)` (clean a crashed run), `up(plan_topology(...))`, then per pod
`attach` + `write_etc` and `exec_argv` to start its processes, `detach` when it is gone, and
`down(cluster)` at the end.
"""

from kubesvc.net.plan import (
    Node,
    PlanError,
    PodNet,
    Topology,
    cluster_id,
    exec_argv,
    node_netns,
    plan_pod,
    plan_topology,
    pod_netns,
)
from kubesvc.net.podnet import PodNetError, attach, detach, node_exec_argv, write_etc
from kubesvc.net.topology import TopologyError, clusters, down, leftovers, up

__all__ = [
    "Node",
    "PlanError",
    "PodNet",
    "PodNetError",
    "Topology",
    "TopologyError",
    "attach",
    "cluster_id",
    "clusters",
    "detach",
    "down",
    "exec_argv",
    "leftovers",
    "node_exec_argv",
    "node_netns",
    "plan_pod",
    "plan_topology",
    "pod_netns",
    "up",
    "write_etc",
]
