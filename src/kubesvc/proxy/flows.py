"""Stale UDP conntrack flows: which ones kube-proxy deletes after a sync, and why.

Pure. UDP has no connection to close: once the kernel has NATed a client's first datagram to an
endpoint, conntrack sends every later datagram of that flow to the same endpoint, even after the
endpoint is gone (the client then waits forever), and a flow created while a Service had no
endpoints is never NATed at all. So after a sync that touched a UDP Service, kube-proxy reconciles
the conntrack table (upstream's `conntrack.CleanStaleEntries`): for every UDP Service port with
serving endpoints, a flow whose original destination is one of its frontends (cluster IP, external
IPs, load-balancer IPs, at the Service port) or its NodePort (any address), but whose reply does
not come from one of those endpoints, is stale.

`parse_flows` reads `conntrack -L -p udp` output (the first `src= dst= sport= dport=` group is the
original direction, the second the reply); `stale_filters` gives one `FlowFilter` per stale
(frontend, reply source) pair, each a `conntrack -D` command line.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from kubesvc.proxy.model import EndpointInfo, ServicePortInfo


@dataclass(frozen=True, slots=True, kw_only=True)
class Flow:
    """One conntrack entry: the original tuple and the reply tuple."""

    protocol: str
    orig_src: str
    orig_dst: str
    orig_sport: int
    orig_dport: int
    reply_src: str
    reply_dst: str
    reply_sport: int
    reply_dport: int


@dataclass(frozen=True, slots=True, order=True)
class FlowFilter:
    """UDP flows to `orig_dst:orig_port` (any address when `orig_dst` is "") answered by
    `reply_src`: what one `conntrack -D` deletes."""

    orig_dst: str
    orig_port: int
    reply_src: str

    def argv(self) -> list[str]:
        dst = ["--orig-dst", self.orig_dst] if self.orig_dst else []
        port = ["--orig-port-dst", str(self.orig_port)]
        return ["-D", "-p", "udp", *dst, *port, "--reply-src", self.reply_src]

    def matches(self, flow: Flow) -> bool:
        return (
            flow.protocol == "udp"
            and flow.orig_dport == self.orig_port
            and flow.reply_src == self.reply_src
            and (not self.orig_dst or flow.orig_dst == self.orig_dst)
        )


def parse_flows(text: str) -> list[Flow]:
    """Flows from `conntrack -L` output; lines that are not flows are skipped."""
    flows = []
    for line in text.splitlines():
        words = line.split()
        if len(words) < 2:
            continue
        values: dict[str, list[str]] = {}
        for word in words:
            key, sep, value = word.partition("=")
            if sep:
                values.setdefault(key, []).append(value)
        try:
            flows.append(
                Flow(
                    protocol=words[0],
                    orig_src=values["src"][0],
                    orig_dst=values["dst"][0],
                    orig_sport=int(values["sport"][0]),
                    orig_dport=int(values["dport"][0]),
                    reply_src=values["src"][1],
                    reply_dst=values["dst"][1],
                    reply_sport=int(values["sport"][1]),
                    reply_dport=int(values["dport"][1]),
                )
            )
        except (KeyError, IndexError, ValueError):
            continue
    return flows


def stale_filters(
    flows: Iterable[Flow],
    services: Sequence[ServicePortInfo],
    endpoints: Mapping[str, Sequence[EndpointInfo]],
) -> list[FlowFilter]:
    """The deletions that leave no UDP flow pointing away from a Service's serving endpoints."""
    frontends: dict[tuple[str, int], set[str]] = {}
    node_ports: dict[int, set[str]] = {}
    for svc in services:
        if svc.protocol != "UDP":
            continue
        serving = {ep.ip for ep in endpoints.get(svc.key, ()) if ep.serving}
        if not serving:
            continue  # no endpoint: the rules reject, nothing to move
        for ip in (svc.cluster_ip, *svc.load_balancer_ips, *svc.external_ips):
            frontends[(ip, svc.port)] = serving
        if svc.node_port:
            node_ports[svc.node_port] = serving
    found: set[FlowFilter] = set()
    for flow in flows:
        if flow.protocol != "udp":
            continue
        by_ip = frontends.get((flow.orig_dst, flow.orig_dport))
        if by_ip is not None and flow.reply_src not in by_ip:
            found.add(FlowFilter(flow.orig_dst, flow.orig_dport, flow.reply_src))
        by_port = node_ports.get(flow.orig_dport)
        if by_port is not None and flow.reply_src not in by_port:
            found.add(FlowFilter("", flow.orig_dport, flow.reply_src))
    return sorted(found)
