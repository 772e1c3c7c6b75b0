"""`kubesvc trace`: collect the live cluster's facts, trace, and print (the thin I/O layer).

From the cluster record (`DATA/cluster.json`) it takes the nodes, their network namespaces and the
host's routes; from each node's namespace the real rules (`iptables-save`), addresses and routes
(`ip -j addr`, `ip -j route`); from the API server the pods (to name endpoints and to resolve
`--from POD`) and, when DEST names a Service (`NAME[.NAMESPACE]:PORT`), its cluster IP. Then the
pure tracer does the rest. Bad input gets a one-line error (`TraceError`), never a traceback.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import subprocess
from pathlib import Path
from typing import Any

from kubesvc.api.errors import StatusError
from kubesvc.api.resources import lookup
from kubesvc.client import Client
from kubesvc.net import cluster
from kubesvc.proxy.trace import report
from kubesvc.proxy.trace.network import Network, NodeNet, NodeView, PodRef, Route
from kubesvc.proxy.trace.path import Origin, trace
from kubesvc.proxy.trace.ruleset import parse

PODS = lookup("", "pods")
SERVICES = lookup("", "services")


class TraceError(ValueError):
    pass


def _run(argv: list[str]) -> str:
    result = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=30)
    if result.returncode != 0:
        raise TraceError(f"{' '.join(argv)}: {result.stderr.strip()}")
    return result.stdout


def _node_view(name: str, netns: str, ip: str) -> NodeView:
    rules = parse(_run(["ip", "netns", "exec", netns, "iptables-save"]))
    addrs = json.loads(_run(["ip", "-n", netns, "-j", "addr", "show"]) or "[]")
    routes = json.loads(_run(["ip", "-n", netns, "-j", "route", "show"]) or "[]")
    return NodeView(net=NodeNet.from_ip_json(name, addrs, routes), rules=rules, ip=ip)


def parse_destination(dest: str) -> tuple[str, int]:
    host, sep, port = dest.rpartition(":")
    if not sep or not host or not port.isdigit() or not 1 <= int(port) <= 65535:
        raise TraceError(f'invalid destination "{dest}": want IP:PORT or SERVICE[.NAMESPACE]:PORT')
    return host, int(port)


def _is_ip(text: str) -> bool:
    try:
        return ipaddress.ip_address(text).version == 4
    except ValueError:
        return False


async def _service_ip(client: Client, name: str, namespace: str) -> str:
    svc_name, _, ns = name.partition(".")
    assert SERVICES is not None
    try:
        svc = await client.get(SERVICES, ns or namespace, svc_name)
    except StatusError as exc:
        raise TraceError(str(exc)) from None
    ip = (svc.get("spec") or {}).get("clusterIP") or ""
    if not _is_ip(ip):
        raise TraceError(f'service "{svc_name}" has no cluster IP (it is headless or ExternalName)')
    return str(ip)


def _origin(
    source: str, namespace: str, network: Network, pods: list[dict[str, Any]], host_ip: str
) -> Origin:
    if source == "host":
        return Origin(kind="host", name="host", ip=host_ip)
    if source in network.nodes:
        return Origin(kind="node", name=source, node=source)
    ns, _, name = source.rpartition("/")
    ns = ns or namespace
    for pod in pods:
        meta = pod.get("metadata") or {}
        if meta.get("name") == name and meta.get("namespace") == ns:
            ip, node = (
                (pod.get("status") or {}).get("podIP"),
                (pod.get("spec") or {}).get("nodeName"),
            )
            if not ip or node not in network.nodes:
                raise TraceError(f'pod "{name}" has no IP on a node yet')
            return Origin(kind="pod", name=f"{ns}/{name}", node=str(node), ip=str(ip))
    raise TraceError(
        f'pods "{name}" not found in namespace "{ns}" (and "{source}" is no node and not "host")'
    )


async def run(
    data_dir: Path,
    destination: str,
    *,
    source: str = "host",
    namespace: str = "default",
    proto: str = "tcp",
    output: str = "text",
) -> str:
    host, port = parse_destination(destination)
    try:
        record = cluster.load(data_dir)
    except cluster.NoCluster as exc:
        raise TraceError(str(exc)) from None
    topology = record.topology()
    assert PODS is not None
    async with Client.from_kubeconfig(data_dir / "kubeconfig") as client:
        pods = (await client.list(PODS))["items"]
        dst = host if _is_ip(host) else await _service_ip(client, host, namespace)
    views = await asyncio.gather(
        *(asyncio.to_thread(_node_view, n.name, n.netns, n.ip) for n in topology.nodes)
    )
    refs = {
        str(p["status"]["podIP"]): PodRef(
            namespace=p["metadata"].get("namespace", "default"),
            name=p["metadata"]["name"],
            node=str(p["spec"].get("nodeName") or ""),
            ip=str(p["status"]["podIP"]),
        )
        for p in pods
        if (p.get("status") or {}).get("podIP")
        and (p.get("spec") or {}).get("hostNetwork") is not True
    }
    network = Network(
        nodes={n.name: view for n, view in zip(topology.nodes, views, strict=True)},
        pods=refs,
        host_ip=topology.host_ip,
        host_routes=tuple(
            Route(dst=r.dst, gateway=r.via or "", dev=r.dev or "") for r in topology.host_routes
        ),
        node_cidr=topology.node_cidr,
    )
    origin = _origin(source, namespace, network, pods, topology.host_ip)
    result = trace(network, origin, dst, port, proto)
    if output == "json":
        return json.dumps(report.as_json(result), indent=2) + "\n"
    return report.text(result)
