"""The cluster's network as data: names, addresses, routes and the `ip` batches that build it.

Pure: nothing here touches the kernel. `plan_topology` turns a cluster id, a node count and three
CIDRs into a frozen `Topology`; `Topology.commands(have)` renders the `ip -batch` input that builds
it, leaving out whatever `have` (an `Inventory` of existing namespaces and links) says exists, so
applying it twice is harmless (everything else is `replace` or `set`, which the kernel accepts
again). `plan_pod` does the same for one pod's namespace and veth. `ip.py` runs what comes out.

Layout (one cluster, id `ID`):

- the underlay bridge `br0` lives in its own namespace `ks-ID-underlay`, not in the host, so the
  host sees one veth per cluster (`ksIDh`, 172.18.0.1/16) and the host's own firewall (Docker's
  FORWARD DROP with br_netfilter, say) never filters node-to-node traffic; deleting that
  namespace takes the bridge and every port with it;
- node i (1-based) is the namespace `ks-ID-node-i`: `eth0` 172.18.0.(i+1)/16 on the underlay,
  `cni0` 10.244.i.1/24 for its pods, host-gw routes to every other node's pod /24 and a route for
  the Service CIDR out of `eth0` (so node-local connects to a VIP reach the proxy's OUTPUT rules);
  no default route, so nothing a node or pod sends can reach the machine's real network;
- the host gets routes only for the cluster CIDRs, all through `ksIDh`: each node's pod /24 via
  that node (so replies come back the way requests went) and the whole pod and Service CIDRs via
  node-1 (the Service path, and a catch-all that keeps stray pod-CIDR traffic inside the cluster);
- pods are namespaces `ks-ID-p-<short>`; their veth's node end is `vkID<hex offset of the pod IP>`.

Every name carries the id, so `topology.down(ID)` finds a crashed run's leftovers by name alone.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

IP = "ip"
UNDERLAY_BRIDGE = "br0"
HOST_PORT = "host"  # the underlay end of the host's veth
NODE_LINK = "eth0"
POD_LINK = "eth0"
CNI_BRIDGE = "cni0"
IFNAMSIZ = 15

_CLUSTER_RE = re.compile(r"[a-z0-9]{1,6}")
_SHORT_RE = re.compile(r"[a-z0-9]([a-z0-9-]{0,46}[a-z0-9])?")
_HOSTNAME_RE = re.compile(r"[a-z0-9]([a-z0-9.-]{0,62}[a-z0-9])?")

NODE_SYSCTLS = (
    ("net.ipv4.ip_forward", "1", False),
    ("net.ipv4.conf.all.route_localnet", "1", False),
    ("net.bridge.bridge-nf-call-iptables", "1", True),
    ("net.bridge.bridge-nf-call-ip6tables", "1", True),
)
UNDERLAY_SYSCTLS = (
    ("net.bridge.bridge-nf-call-iptables", "0", True),
    ("net.bridge.bridge-nf-call-ip6tables", "0", True),
)


class PlanError(ValueError):
    """A topology or pod request that cannot be planned (bad name, CIDR or address)."""


def cluster_id(data_dir: Path) -> str:
    """Five hex digits of the SHA-256 of the resolved data dir: stable across runs."""
    return hashlib.sha256(str(data_dir.resolve()).encode()).hexdigest()[:5]


def check_cluster(cluster: str) -> str:
    if not _CLUSTER_RE.fullmatch(cluster):
        raise PlanError(f"cluster id {cluster!r} must be 1-6 characters of [a-z0-9]")
    return cluster


def netns_prefix(cluster: str) -> str:
    return f"ks-{check_cluster(cluster)}-"


def underlay_netns(cluster: str) -> str:
    return f"{netns_prefix(cluster)}underlay"


def node_netns(cluster: str, node: str) -> str:
    """`node-1` → `ks-ID-node-1`."""
    if not re.fullmatch(r"node-[1-9][0-9]*", node):
        raise PlanError(f"node name {node!r} must look like node-1")
    return f"{netns_prefix(cluster)}{node}"


def pod_netns_prefix(cluster: str) -> str:
    return f"{netns_prefix(cluster)}p-"


def pod_netns(cluster: str, short: str) -> str:
    """The namespace name for a pod: `ks-ID-p-<short>` (short: a DNS-label-ish ≤48 chars)."""
    if not _SHORT_RE.fullmatch(short):
        raise PlanError(f"pod namespace suffix {short!r} must be [a-z0-9-], at most 48 characters")
    return f"{pod_netns_prefix(cluster)}{short}"


def host_veth(cluster: str) -> str:
    return f"ks{check_cluster(cluster)}h"


def cni_mac(gateway: str) -> str:
    """A fixed MAC for `cni0` (0a:58 + its IPv4 address, as the CNI bridge plugin does).

    A bridge without an explicit MAC takes its lowest port's, so it would change as pods come and
    go and leave stale ARP entries in the pods.
    """
    octets = ipaddress.IPv4Address(gateway).packed
    return ":".join(f"{b:02x}" for b in (0x0A, 0x58, *octets))


@dataclass(frozen=True, slots=True, kw_only=True)
class Route:
    dst: str
    via: str | None = None
    dev: str | None = None

    def spec(self) -> str:
        words = [self.dst]
        if self.via:
            words += ["via", self.via]
        if self.dev:
            words += ["dev", self.dev]
        return " ".join(words)


@dataclass(frozen=True, slots=True, kw_only=True)
class Sysctl:
    """One /proc/sys write in a namespace; an `optional` one is skipped when the key is absent."""

    netns: str
    key: str
    value: str
    optional: bool = False

    @property
    def path(self) -> str:
        return "/proc/sys/" + self.key.replace(".", "/")


@dataclass(frozen=True, slots=True, kw_only=True)
class Batch:
    """Lines for one `ip [-n NETNS] [-force] -batch -` run; netns None is the host."""

    netns: str | None
    lines: tuple[str, ...]
    force: bool = False

    def argv(self) -> list[str]:
        argv = [IP]
        if self.netns is not None:
            argv += ["-n", self.netns]
        if self.force:
            argv.append("-force")
        return [*argv, "-batch", "-"]

    def text(self) -> str:
        return "".join(line + "\n" for line in self.lines)


Stage = tuple[Batch, ...]  # batches that may run at the same time


@dataclass(frozen=True, slots=True, kw_only=True)
class Inventory:
    """What exists already: namespace names, and (netns or "" for the host, link name) pairs."""

    netns: frozenset[str] = frozenset()
    links: frozenset[tuple[str, str]] = frozenset()

    @staticmethod
    def of(netns: Iterable[str], links: Mapping[str, Iterable[str]]) -> Inventory:
        pairs = frozenset((ns, link) for ns, names in links.items() for link in names)
        return Inventory(netns=frozenset(netns), links=pairs)

    def has_link(self, netns: str | None, link: str) -> bool:
        return (netns or "", link) in self.links


@dataclass(frozen=True, slots=True, kw_only=True)
class Node:
    name: str
    index: int
    netns: str
    ip: str
    port: str  # the node veth's end on the underlay bridge
    pod_subnet: str
    gateway: str
    routes: tuple[Route, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Topology:
    cluster: str
    node_cidr: str
    pod_cidr: str
    service_cidr: str
    underlay_netns: str
    host_veth: str
    host_ip: str  # the host end's address (no prefix), e.g. 172.18.0.1
    nodes: tuple[Node, ...]
    host_routes: tuple[Route, ...]
    sysctls: tuple[Sysctl, ...] = field(default=())

    @property
    def node_prefix_len(self) -> int:
        return ipaddress.IPv4Network(self.node_cidr).prefixlen

    @property
    def netns_names(self) -> tuple[str, ...]:
        return (self.underlay_netns, *(n.netns for n in self.nodes))

    def node(self, name: str) -> Node:
        """A node by name (`node-2`) or by namespace (`ks-ID-node-2`)."""
        for node in self.nodes:
            if name in (node.name, node.netns):
                return node
        raise PlanError(f"no node {name!r} in cluster {self.cluster} ({len(self.nodes)} nodes)")

    def commands(self, have: Inventory = Inventory()) -> tuple[Stage, ...]:
        """Stage 1 (host): namespaces, veths, host address and routes; stage 2: each namespace."""
        host = self._host_lines(have)
        inner = (self._underlay_batch(have), *(self._node_batch(n, have) for n in self.nodes))
        return ((Batch(netns=None, lines=host),), inner)

    def teardown_commands(self) -> tuple[Stage, ...]:
        """Remove the host veth (and with it the host routes), then every namespace."""
        return (teardown_stage([self.host_veth], self.netns_names),)

    def _host_lines(self, have: Inventory) -> tuple[str, ...]:
        lines = [f"netns add {ns}" for ns in self.netns_names if ns not in have.netns]
        if not have.has_link(None, self.host_veth):
            lines.append(
                f"link add {self.host_veth} type veth peer name {HOST_PORT} "
                f"netns {self.underlay_netns}"
            )
        for node in self.nodes:
            if not have.has_link(self.underlay_netns, node.port):
                lines.append(
                    f"link add {node.port} netns {self.underlay_netns} type veth "
                    f"peer name {NODE_LINK} netns {node.netns}"
                )
        lines += [
            f"addr replace {self.host_ip}/{self.node_prefix_len} dev {self.host_veth}",
            f"link set {self.host_veth} up",
            *(f"route replace {r.spec()}" for r in self.host_routes),
        ]
        return tuple(lines)

    def _underlay_batch(self, have: Inventory) -> Batch:
        lines = ["link set lo up"]
        if not have.has_link(self.underlay_netns, UNDERLAY_BRIDGE):
            lines.append(f"link add {UNDERLAY_BRIDGE} type bridge")
        lines.append(f"link set {UNDERLAY_BRIDGE} up")
        for port in (HOST_PORT, *(n.port for n in self.nodes)):
            lines.append(f"link set {port} master {UNDERLAY_BRIDGE} up")
        return Batch(netns=self.underlay_netns, lines=tuple(lines))

    def _node_batch(self, node: Node, have: Inventory) -> Batch:
        lines = [
            "link set lo up",
            f"addr replace {node.ip}/{self.node_prefix_len} dev {NODE_LINK}",
            f"link set {NODE_LINK} up",
        ]
        if not have.has_link(node.netns, CNI_BRIDGE):
            lines.append(f"link add {CNI_BRIDGE} address {cni_mac(node.gateway)} type bridge")
        lines += [
            f"addr replace {node.gateway}/24 dev {CNI_BRIDGE}",
            f"link set {CNI_BRIDGE} up",
            *(f"route replace {r.spec()}" for r in node.routes),
        ]
        return Batch(netns=node.netns, lines=tuple(lines))


def _network(text: str, what: str) -> ipaddress.IPv4Network:
    try:
        net = ipaddress.IPv4Network(text)
    except ValueError as err:
        raise PlanError(f"{what} {text!r} is not an IPv4 CIDR: {err}") from None
    if net.prefixlen < 8:
        raise PlanError(f"{what} {text} is wider than a /8")
    return net


def _check_cidrs(
    nodes: int,
    node: ipaddress.IPv4Network,
    pod: ipaddress.IPv4Network,
    service: ipaddress.IPv4Network,
) -> None:
    named = [("node CIDR", node), ("pod CIDR", pod), ("service CIDR", service)]
    for i, (a_name, a) in enumerate(named):
        for b_name, b in named[i + 1 :]:
            if a.overlaps(b):
                raise PlanError(f"{a_name} {a} overlaps {b_name} {b}")
    if nodes < 1:
        raise PlanError(f"need at least one node, not {nodes}")
    if pod.prefixlen > 23 or nodes >= 2 ** (24 - pod.prefixlen):
        raise PlanError(f"pod CIDR {pod} has no /24 for each of {nodes} nodes")
    if nodes + 2 >= node.num_addresses:
        raise PlanError(f"node CIDR {node} has no address for each of {nodes} nodes")


def plan_topology(
    cluster: str,
    nodes: int,
    node_cidr: str = "172.18.0.0/16",
    pod_cidr: str = "10.244.0.0/16",
    service_cidr: str = "10.96.0.0/12",
) -> Topology:
    """The whole network of a cluster of `nodes` nodes; see the module docstring for the layout."""
    check_cluster(cluster)
    node_net = _network(node_cidr, "node CIDR")
    pod_net = _network(pod_cidr, "pod CIDR")
    svc_net = _network(service_cidr, "service CIDR")
    _check_cidrs(nodes, node_net, pod_net, svc_net)
    subnets = list(pod_net.subnets(new_prefix=24))
    veth = host_veth(cluster)
    planned = []
    for i in range(1, nodes + 1):
        name = f"node-{i}"
        planned.append(
            Node(
                name=name,
                index=i,
                netns=node_netns(cluster, name),
                ip=str(node_net.network_address + i + 1),
                port=name,
                pod_subnet=str(subnets[i]),
                gateway=str(subnets[i].network_address + 1),
                routes=(),
            )
        )
    # host-gw: every other node's /24 through its underlay IP, and the Service CIDR out of eth0
    finished = tuple(
        replace(node, routes=_node_routes(node, planned, str(svc_net))) for node in planned
    )
    first = finished[0].ip
    host_routes = (
        Route(dst=str(pod_net), via=first, dev=veth),
        *(Route(dst=n.pod_subnet, via=n.ip, dev=veth) for n in finished),
        Route(dst=str(svc_net), via=first, dev=veth),
    )
    sysctls = [
        Sysctl(netns=underlay_netns(cluster), key=k, value=v, optional=o)
        for k, v, o in UNDERLAY_SYSCTLS
    ]
    for node in finished:
        sysctls += [
            Sysctl(netns=node.netns, key=k, value=v, optional=o) for k, v, o in NODE_SYSCTLS
        ]
    return Topology(
        cluster=cluster,
        node_cidr=str(node_net),
        pod_cidr=str(pod_net),
        service_cidr=str(svc_net),
        underlay_netns=underlay_netns(cluster),
        host_veth=veth,
        host_ip=str(node_net.network_address + 1),
        nodes=finished,
        host_routes=host_routes,
        sysctls=tuple(sysctls),
    )


def _node_routes(node: Node, nodes: Sequence[Node], service_cidr: str) -> tuple[Route, ...]:
    others = (
        Route(dst=other.pod_subnet, via=other.ip, dev=NODE_LINK)
        for other in nodes
        if other.index != node.index
    )
    return (*others, Route(dst=service_cidr, dev=NODE_LINK))


def teardown_stage(host_links: Iterable[str], netns: Iterable[str]) -> Stage:
    """One forgiving host batch: links first (their routes go with them), then namespaces."""
    lines = [f"link del {link}" for link in host_links]
    lines += [f"netns del {ns}" for ns in netns]
    return (Batch(netns=None, lines=tuple(lines), force=True),) if lines else ()


def route_conflicts(t: Topology, routes: Iterable[Mapping[str, object]]) -> list[str]:
    """Host routes (from `ip -j -4 route show`) not ours that overlap a cluster CIDR.

    The default route is not a conflict: the cluster's routes are more specific.
    """
    ours = [ipaddress.IPv4Network(c) for c in (t.node_cidr, t.pod_cidr, t.service_cidr)]
    found = []
    for route in routes:
        dst, dev = str(route.get("dst", "")), str(route.get("dev", ""))
        if dst in ("", "default") or dev == t.host_veth:
            continue
        try:
            net = ipaddress.IPv4Network(dst, strict=False)
        except ValueError:
            continue
        for cidr in ours:
            if net.overlaps(cidr):
                found.append(f"{dst} dev {dev or '?'} overlaps {cidr}")
    return found


def render(stages: Sequence[Stage], sysctls: Sequence[Sysctl] = ()) -> str:
    """A readable dump of stages and sysctls, for golden files and `--dry-run` style output."""
    out = []
    for number, stage in enumerate(stages, 1):
        for batch in stage:
            out.append(f"# stage {number}: {' '.join(batch.argv())}")
            out += batch.lines
    out += [f"# sysctl -n {s.netns} {s.key}={s.value}{' (optional)' * s.optional}" for s in sysctls]
    return "\n".join(out) + "\n"


def check_hostname(hostname: str) -> str:
    if not _HOSTNAME_RE.fullmatch(hostname):
        raise PlanError(
            f"hostname {hostname!r} must be lower-case [a-z0-9.-], at most 64 characters"
        )
    return hostname


@dataclass(frozen=True, slots=True, kw_only=True)
class PodNet:
    """One pod's network: its namespace, address, gateway and the node end of its veth."""

    netns: str
    node: str
    node_netns: str
    ip: str
    prefix_len: int
    gateway: str
    host_veth: str

    def commands(self, *, have_netns: bool = False, have_link: bool = False) -> tuple[Stage, ...]:
        """Stage 1 (host): namespace and veth; stage 2: the node end and the pod end, together."""
        host = [] if have_netns else [f"netns add {self.netns}"]
        if not have_link:
            host.append(
                f"link add {self.host_veth} netns {self.node_netns} type veth "
                f"peer name {POD_LINK} netns {self.netns}"
            )
        node = Batch(
            netns=self.node_netns,
            lines=(
                f"link set {self.host_veth} master {CNI_BRIDGE}",
                f"link set {self.host_veth} type bridge_slave hairpin on",
                f"link set {self.host_veth} up",
            ),
        )
        pod = Batch(
            netns=self.netns,
            lines=(
                "link set lo up",
                f"addr replace {self.ip}/{self.prefix_len} dev {POD_LINK}",
                f"link set {POD_LINK} up",
                f"route replace default via {self.gateway} dev {POD_LINK}",
            ),
        )
        first: tuple[Stage, ...] = ((Batch(netns=None, lines=tuple(host)),),) if host else ()
        return (*first, (node, pod))

    def stale_link_commands(self) -> Stage:
        """Remove a veth of the same name left in the node by a pod namespace that lingers."""
        return (Batch(netns=self.node_netns, lines=(f"link del {self.host_veth}",), force=True),)


def check_pod_netns(cluster: str, netns: str) -> str:
    prefix = pod_netns_prefix(cluster)
    if not netns.startswith(prefix):
        raise PlanError(f"pod namespace {netns!r} must start with {prefix!r}")
    pod_netns(cluster, netns.removeprefix(prefix))
    return netns


def plan_pod(t: Topology, node: str, netns: str, pod_ip: str) -> PodNet:
    """The network of a pod with address `pod_ip` (from `node`'s /24) in namespace `netns`."""
    target = t.node(node)
    check_pod_netns(t.cluster, netns)
    subnet = ipaddress.IPv4Network(target.pod_subnet)
    try:
        address = ipaddress.IPv4Address(pod_ip)
    except ValueError as err:
        raise PlanError(f"pod IP {pod_ip!r}: {err}") from None
    reserved = (
        subnet.network_address,
        subnet.broadcast_address,
        ipaddress.IPv4Address(target.gateway),
    )
    if address not in subnet or address in reserved:
        raise PlanError(f"pod IP {pod_ip} is not a free address of {target.name}'s {subnet}")
    offset = int(address) - int(ipaddress.IPv4Network(t.pod_cidr).network_address)
    veth = f"vk{t.cluster}{offset:x}"
    assert len(veth) <= IFNAMSIZ, veth
    return PodNet(
        netns=netns,
        node=target.name,
        node_netns=target.netns,
        ip=str(address),
        prefix_len=subnet.prefixlen,
        gateway=target.gateway,
        host_veth=veth,
    )


# `sh -c` script: $0 is the hostname, "$@" the command; a new UTS namespace keeps the host's name.
_SET_HOSTNAME = 'hostname "$0" && exec "$@"'


def exec_argv(netns: str, argv: Sequence[str], hostname: str | None = None) -> list[str]:
    """The argv running `argv` in `netns` (with /etc/netns/NETNS bind-mounted by `ip netns exec`),
    in a UTS namespace of its own whose hostname is `hostname` when given."""
    if not argv:
        raise PlanError("no command to run")
    base = [IP, "netns", "exec", netns]
    if hostname is None:
        return [*base, *argv]
    return [*base, "unshare", "--uts", "sh", "-c", _SET_HOSTNAME, check_hostname(hostname), *argv]
