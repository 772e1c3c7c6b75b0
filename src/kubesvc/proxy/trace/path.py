"""A new connection's way through the cluster: hooks, routing and hops from node to node.

Pure. `trace(network, origin, destination, port, proto)` starts the first packet where the
connection starts and follows the kernel's order on each node it crosses:

- arriving from a pod's veth or from the underlay: raw, mangle and nat PREROUTING; routing; then
  INPUT (mangle, filter, nat) for a local address, or FORWARD (mangle, filter) and POSTROUTING
  (mangle, nat) towards the next hop;
- started by a process on a node: routing (which also picks the source address); raw, mangle,
  nat and filter OUTPUT; routing again if the destination was translated; POSTROUTING;
- from the host: the host's own routes (what `kubesvc up` gave it) choose the first node.

Where a rule set splits the path (the random pick of an endpoint) each branch is followed on its
own. The next hop of a route is a pod on this node's bridge (delivered), another node (its
PREROUTING is next, with the packet as it left), the host, or nobody (lost). Each branch ends as
an `Outcome` with its probability, the steps that explain it (see `explain.py`) and the packet as
it arrives, so its source says what the receiver sees.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from kubesvc.proxy.trace.explain import Step, describe
from kubesvc.proxy.trace.netfilter import Branch, Env, Packet, walk
from kubesvc.proxy.trace.network import Network, NodeView, PodRef, Route

TABLES = {
    "PREROUTING": ("raw", "mangle", "nat"),
    "INPUT": ("mangle", "filter", "nat"),
    "FORWARD": ("mangle", "filter"),
    "OUTPUT": ("raw", "mangle", "nat", "filter"),
    "POSTROUTING": ("mangle", "nat"),
}
MAX_HOPS = 6
CLIENT_PORT = 40000


@dataclass(frozen=True, slots=True, kw_only=True)
class Origin:
    kind: str  # pod | node | host
    name: str  # `namespace/name`, a node name, or "host"
    node: str = ""  # where the packet first meets rules (the pod's node, the node itself)
    ip: str = ""  # the pod's or the host's address; a node's is chosen by routing


@dataclass(frozen=True, slots=True, kw_only=True)
class Outcome:
    probability: float
    verdict: str  # delivered | rejected | dropped | lost | unreachable | left
    packet: Packet
    node: str  # where it ended ("host" for the host)
    pod: PodRef | None
    steps: tuple[Step, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Trace:
    origin: Origin
    destination: str
    proto: str
    outcomes: tuple[Outcome, ...]
    unmodeled: tuple[str, ...] = ()  # rules whose matches the tracer could not evaluate


@dataclass(frozen=True, slots=True)
class _Path:
    probability: float
    packet: Packet
    steps: tuple[Step, ...]

    def step(self, *steps: Step) -> _Path:
        return replace(self, steps=(*self.steps, *steps))


class _Tracer:
    def __init__(self, network: Network) -> None:
        self.net = network
        self.unmodeled: set[str] = set()

    def end(
        self, path: _Path, verdict: str, node: str, text: str, pod: PodRef | None = None
    ) -> Outcome:
        final = path.step(Step(node=node, where="result", text=text, kind="end"))
        return Outcome(
            probability=path.probability,
            verdict=verdict,
            packet=path.packet,
            node=node,
            pod=pod,
            steps=final.steps,
        )

    def hook(
        self, node: str, hook: str, path: _Path, out_address: str = ""
    ) -> list[tuple[_Path, str]]:
        """Run every table of a hook; (path, verdict) per branch."""
        view = self.net.nodes[node]
        redirect = "127.0.0.1" if hook == "OUTPUT" else view.ip or "127.0.0.1"
        env = Env(local=view.net.is_local, out_address=out_address, redirect_address=redirect)
        paths = [(path, "ACCEPT")]
        for table in TABLES[hook]:
            if not view.rules.has_chain(table, hook):
                continue
            after: list[tuple[_Path, str]] = []
            for current, verdict in paths:
                if verdict != "ACCEPT":
                    after.append((current, verdict))
                    continue
                for branch in walk(view.rules, table, hook, current.packet, env):
                    after.append((self._apply(node, hook, table, current, branch), branch.verdict))
            paths = after
        return paths

    def _apply(self, node: str, hook: str, table: str, path: _Path, branch: Branch) -> _Path:
        self.unmodeled.update(rule.text for rule in branch.unmodeled)
        steps = describe(
            node=node,
            hook=hook,
            table=table,
            branch=branch,
            before=path.packet,
            rules=self.net.nodes[node].rules,
            pods=dict(self.net.pods),
        )
        return _Path(path.probability * branch.probability, branch.packet, (*path.steps, *steps))

    def stopped(self, node: str, path: _Path, verdict: str) -> Outcome | None:
        if verdict == "REJECT":
            return self.end(
                path, "rejected", node, "Rejected: the client is told at once (Connection refused)."
            )
        if verdict == "DROP":
            return self.end(
                path, "dropped", node, "Dropped: the client hears nothing and times out."
            )
        return None

    # -- a packet arriving at a node -----------------------------------------------------------

    def arrive(self, node: str, path: _Path, hops: int) -> list[Outcome]:
        out: list[Outcome] = []
        for current in self.translated(node, "PREROUTING", path, out):
            out += self.routed(node, current, hops)
        return out

    def translated(self, node: str, hook: str, path: _Path, out: list[Outcome]) -> list[_Path]:
        """The paths through `hook`'s nat rules (PREROUTING or OUTPUT) that go on, each with
        a step saying why nothing was translated where nothing was; the ones stopped there
        (dropped, rejected) go to `out`."""
        going = []
        for current, verdict in self.hook(node, hook, path):
            stop = self.stopped(node, current, verdict)
            if stop is not None:
                out.append(stop)
            elif current.packet.dnat:
                going.append(current)
            else:
                going.append(current.step(self._no_service(node, current.packet)))
        return going

    def _no_service(self, node: str, packet: Packet) -> Step:
        """Why nothing was translated: no Service has the address, or not this port, or no
        endpoint (then the filter table decides)."""
        view = self.net.nodes[node]
        owners = {
            rule.comment
            for table, chains in view.rules.chains.items()
            for chain in ("KUBE-SERVICES", "KUBE-EXTERNAL-SERVICES")
            for rule in chains.get(chain, ())
            if (d := rule.match("-d")) is not None and d.value.split("/")[0] == packet.dst
        }
        pod = self.net.pods.get(packet.dst)
        if not owners:
            what = f" (pod {pod})" if pod is not None else ""
            text = (
                f"No Service has the address {packet.dst}{what}: nothing is translated and the "
                "packet is routed normally."
            )
        elif packet.dnat:
            text = "Already translated: nothing more to do here."
        else:
            text = (
                f"No nat rule matches {packet.destination}/{packet.proto.upper()}, though "
                f"{packet.dst} belongs to a Service ({'; '.join(sorted(owners))}): nothing is "
                "translated and the packet is routed on."
            )
        return Step(node=node, where="nat KUBE-SERVICES", text=text)

    def routed(self, node: str, path: _Path, hops: int) -> list[Outcome]:
        view = self.net.nodes[node]
        route = view.net.route(path.packet.dst)
        if route is None:
            return [
                self.end(
                    path,
                    "unreachable",
                    node,
                    (
                        f"{node} has no route to {path.packet.dst}: the packet is dropped (host "
                        f"unreachable)."
                    ),
                )
            ]
        if route.local:
            path = path.step(
                Step(
                    node=node,
                    where="routing",
                    text=(
                        f"{path.packet.dst} is an address of {node} itself: the packet goes "
                        f"up to INPUT."
                    ),
                    kind="route",
                )
            )
            return self.local_in(node, path)
        path = path.step(self._route_step(node, view, route, path.packet))
        out: list[Outcome] = []
        for current, verdict in self.hook(node, "FORWARD", path):
            stop = self.stopped(node, current, verdict)
            out += [stop] if stop is not None else self.leave(node, route, current, hops)
        return out

    def local_in(self, node: str, path: _Path) -> list[Outcome]:
        out = []
        for current, verdict in self.hook(node, "INPUT", path):
            stop = self.stopped(node, current, verdict)
            out.append(
                stop
                if stop is not None
                else self.end(
                    current,
                    "delivered",
                    node,
                    (
                        f"Delivered to whatever listens on {current.packet.destination} on {node} "
                        f"itself."
                    ),
                )
            )
        return out

    def leave(self, node: str, route: Route, path: _Path, hops: int) -> list[Outcome]:
        view = self.net.nodes[node]
        out: list[Outcome] = []
        for current, verdict in self.hook(
            node, "POSTROUTING", path, view.net.address_on(route.dev)
        ):
            stop = self.stopped(node, current, verdict)
            out += [stop] if stop is not None else self.next_hop(node, route, current, hops)
        return out

    def _route_step(self, node: str, view: NodeView, route: Route, packet: Packet) -> Step:
        if route.gateway:
            peer = self.net.node_by_ip(route.gateway) or route.gateway
            text = f"{packet.dst} is reached via {peer} ({route.gateway}) on {route.dev}."
        else:
            pod = self.net.pods.get(packet.dst)
            whose = f" (pod {pod})" if pod is not None and pod.node == node else ""
            text = (
                f"{packet.dst}{whose} is on {node}'s directly connected network {route.dst} "
                f"({route.dev})."
            )
        return Step(node=node, where="routing", text=text, kind="route")

    def next_hop(self, node: str, route: Route, path: _Path, hops: int) -> list[Outcome]:
        target = route.gateway or path.packet.dst
        pod = self.net.pods.get(path.packet.dst)
        if not route.gateway and pod is not None and pod.node == node:
            return [
                self.end(
                    path,
                    "delivered",
                    node,
                    (
                        f"Delivered to pod {pod} ({path.packet.destination}) on {node}; it sees "
                        f"the connection coming from {path.packet.src}."
                    ),
                    pod,
                )
            ]
        peer = self.net.node_by_ip(target)
        if peer is not None and hops < MAX_HOPS:
            # conntrack and marks belong to one node: the next one sees a new connection
            path = replace(path, packet=replace(path.packet, mark=0, dnat=False, snat=False))
            path = path.step(
                Step(
                    node=peer,
                    where="arrival",
                    text=(
                        f"The packet crosses the underlay from {node} to {peer} ({target}) "
                        f"and arrives on its eth0."
                    ),
                    kind="route",
                )
            )
            return self.arrive(peer, path, hops + 1)
        if target == self.net.host_ip:
            return [
                self.end(
                    path,
                    "delivered",
                    "host",
                    (
                        f"Delivered to the host ({target}), to whatever listens on port "
                        f"{path.packet.dport} there."
                    ),
                )
            ]
        return [
            self.end(
                path,
                "lost",
                node,
                (
                    f"No one on {route.dev} answers for {target}: the packet is lost and the "
                    f"client times out."
                ),
            )
        ]

    # -- starting points -------------------------------------------------------------------------

    def from_node(self, node: str, packet: Packet) -> list[Outcome]:
        view = self.net.nodes[node]
        route = view.net.route(packet.dst)
        start = _Path(1.0, packet, ())
        if route is None:
            return [
                self.end(
                    start,
                    "unreachable",
                    node,
                    (
                        f"{node} has no route to {packet.dst}: connect() fails with 'Network is "
                        f"unreachable'."
                    ),
                )
            ]
        packet = replace(packet, src=view.net.source_for(route))
        path = _Path(
            1.0,
            packet,
            (
                Step(
                    node=node,
                    where="routing",
                    text=(
                        f"A process on {node} connects: the route to {packet.dst} (via "
                        f"{route.dev}) gives the source address {packet.src}; the packet "
                        "enters OUTPUT."
                    ),
                    kind="route",
                ),
            ),
        )
        out: list[Outcome] = []
        for current in self.translated(node, "OUTPUT", path, out):
            again = view.net.route(current.packet.dst)
            if again is None:
                out.append(
                    self.end(
                        current,
                        "unreachable",
                        node,
                        f"{node} has no route to {current.packet.dst}.",
                    )
                )
            elif again.local:
                out += self.local_in(node, current)
            else:
                if current.packet.dst != packet.dst:
                    current = current.step(self._route_step(node, view, again, current.packet))
                out += self.leave(node, again, current, 0)
        return out

    def from_host(self, packet: Packet) -> list[Outcome]:
        start = _Path(1.0, packet, ())
        route = self.net.host_route(packet.dst)
        if route is None:
            return [
                self.end(
                    start,
                    "left",
                    "host",
                    (
                        f"The host has no cluster route for {packet.dst}: it goes to the host's "
                        f"own network, which kubesvc does not trace."
                    ),
                )
            ]
        target = route.gateway or packet.dst
        peer = self.net.node_by_ip(target)
        if peer is None:
            verdict = "delivered" if target == self.net.host_ip else "lost"
            return [
                self.end(
                    start,
                    verdict,
                    "host",
                    f"{target} is not a node: the host does not send it into the cluster.",
                )
            ]
        why = (
            f"its route for {route.dst} goes via {peer}"
            if route.gateway
            else f"{target} is {peer}'s address"
        )
        path = start.step(
            Step(
                node="host",
                where="routing",
                text=f"The host ({packet.src}) sends the packet to {peer} ({target}): {why}.",
                kind="route",
            )
        )
        return self.arrive(peer, path, 0)


def trace(
    network: Network, origin: Origin, destination: str, port: int, proto: str = "tcp"
) -> Trace:
    tracer = _Tracer(network)
    packet = Packet(
        src=origin.ip, dst=destination, proto=proto.lower(), sport=CLIENT_PORT, dport=port
    )
    if origin.kind == "host":
        outcomes = tracer.from_host(packet)
    elif origin.kind == "node":
        outcomes = tracer.from_node(origin.node, packet)
    else:
        start = Step(
            node=origin.node,
            where="arrival",
            text=(
                f"The packet leaves pod {origin.name} ({origin.ip}) through its veth and "
                f"enters {origin.node} on the cni0 bridge."
            ),
            kind="route",
        )
        outcomes = tracer.arrive(origin.node, _Path(1.0, packet, (start,)), 0)
    return Trace(
        origin=origin,
        destination=f"{destination}:{port}",
        proto=proto.lower(),
        outcomes=tuple(outcomes),
        unmodeled=tuple(sorted(tracer.unmodeled)),
    )
