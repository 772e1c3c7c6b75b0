"""Builders for the Kubernetes objects DNS tests feed to the view, and a reference cluster.

The reference cluster mirrors the kinds of objects CoreDNS's handler tests use: ClusterIP
(IPv4, IPv6, dual-stack, several ports), headless (ready and unready endpoints, hostnames,
duplicate hostnames, an IPv6 slice, no ports, none ready), a StatefulSet-style headless Service,
ExternalName (outside and inside the zone) and the kube-dns Service whose endpoint is the DNS
server's own address.
"""

from __future__ import annotations

from typing import Any

from dnslib import DNSRecord

from kubesvc.dns.records import Config
from kubesvc.dns.view import View

Obj = dict[str, Any]
SERIAL = 1700000000
SOA = (
    "cluster.local. 30 IN SOA ns.dns.cluster.local. hostmaster.cluster.local. "
    f"{SERIAL} 7200 1800 86400 30"
)
CONFIG = Config(local_ips=("10.244.0.5",))


def namespace(name: str) -> Obj:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}


def port(name: str, number: int, protocol: str = "TCP") -> Obj:
    return {"name": name, "port": number, "protocol": protocol}


def service(name: str, ns: str = "testns", *, ips: list[str], ports: list[Obj]) -> Obj:
    spec: Obj = {"clusterIP": ips[0], "clusterIPs": ips, "ports": ports, "type": "ClusterIP"}
    return {"kind": "Service", "metadata": {"name": name, "namespace": ns}, "spec": spec}


def headless(name: str, ns: str = "testns", *, ports: list[Obj] | None = None) -> Obj:
    spec: Obj = {"clusterIP": "None", "clusterIPs": ["None"], "ports": ports or []}
    return {"kind": "Service", "metadata": {"name": name, "namespace": ns}, "spec": spec}


def external(name: str, target: str, ns: str = "testns") -> Obj:
    spec: Obj = {"type": "ExternalName", "externalName": target}
    return {"kind": "Service", "metadata": {"name": name, "namespace": ns}, "spec": spec}


def endpoint(ip: str, *, hostname: str = "", ready: bool | None = True) -> Obj:
    item: Obj = {"addresses": [ip], "conditions": {}}
    if ready is not None:
        item["conditions"]["ready"] = ready
    if hostname:
        item["hostname"] = hostname
    return item


def endpoint_slice(
    name: str,
    service_name: str,
    endpoints: list[Obj],
    *,
    ns: str = "testns",
    ports: list[Obj] | None = None,
    address_type: str = "IPv4",
) -> Obj:
    return {
        "kind": "EndpointSlice",
        "metadata": {
            "name": name,
            "namespace": ns,
            "labels": {"kubernetes.io/service-name": service_name},
        },
        "addressType": address_type,
        "endpoints": endpoints,
        "ports": ports if ports is not None else [],
    }


def pod(name: str, ip: str, ns: str = "testns") -> Obj:
    return {
        "kind": "Pod",
        "metadata": {"name": name, "namespace": ns},
        "status": {"phase": "Running", "podIP": ip, "podIPs": [{"ip": ip}]},
    }


HTTP = [port("http", 80)]


def cluster() -> View:
    """The reference cluster, in a fresh view whose clock reads `SERIAL`."""
    view = View(clock=lambda: SERIAL)
    for name in ("testns", "default", "kube-system", "empty-ns"):
        view.on_namespace(None, namespace(name))
    for svc in (
        service("svc1", ips=["10.0.0.1"], ports=HTTP),
        service("svc6", ips=["1234:abcd::1"], ports=HTTP),
        service("svc-dual", ips=["10.0.0.3", "10::3"], ports=HTTP),
        service("multi", ips=["10.0.0.4"], ports=[port("http", 80), port("dns", 53, "UDP")]),
        headless("hdls1", ports=HTTP),
        headless("hdlsprtls"),
        headless("empty-hdls", ports=HTTP),
        headless("web", ports=[port("web", 80)]),
        external("external", "ext.interwebs.test"),
        external("external-to-service", "svc1.testns.svc.cluster.local"),
        service("kube-dns", "kube-system", ips=["10.96.0.10"], ports=[port("dns", 53, "UDP")]),
    ):
        view.on_service(None, svc)
    for slice_ in (
        endpoint_slice(
            "hdls1-a",
            "hdls1",
            [
                endpoint("172.0.0.2"),
                endpoint("172.0.0.3", ready=None),
                endpoint("172.0.0.4", hostname="dup-name"),
                endpoint("172.0.0.5", hostname="dup-name"),
                endpoint("172.0.0.6", ready=False),
            ],
            ports=HTTP,
        ),
        endpoint_slice(
            "hdls1-b",
            "hdls1",
            [endpoint("5678:abcd::1"), endpoint("5678:abcd::2")],
            ports=HTTP,
            address_type="IPv6",
        ),
        endpoint_slice("hdlsprtls-a", "hdlsprtls", [endpoint("172.0.0.20")]),
        endpoint_slice(
            "empty-hdls-a", "empty-hdls", [endpoint("172.0.0.30", ready=False)], ports=HTTP
        ),
        endpoint_slice(
            "web-a",
            "web",
            [
                endpoint("10.244.1.10", hostname="web-0"),
                endpoint("10.244.2.11", hostname="web-1"),
            ],
            ports=[port("web", 80)],
        ),
        endpoint_slice("svc1-a", "svc1", [endpoint("10.244.1.7")], ports=HTTP),
        endpoint_slice(
            "kube-dns-a",
            "kube-dns",
            [endpoint("10.244.0.5")],
            ns="kube-system",
            ports=[port("dns", 53, "UDP")],
        ),
    ):
        view.on_slice(None, slice_)
    view.on_pod(None, pod("web-0", "10.244.1.10"))
    return view


def query(name: str, qtype: str = "A", *, edns: int | None = None, ident: int = 4242) -> bytes:
    """A query's wire bytes, as dig would send it (RD set)."""
    message = DNSRecord.question(name, qtype)
    message.header.id = ident
    if edns is not None:
        from dnslib import EDNS0

        message.add_ar(EDNS0(udp_len=edns))
    return bytes(message.pack())


def zone_lines(rrs: list[Any]) -> list[str]:
    """dnslib records as one-space zone-file lines, comparable with `Record.__str__`."""
    return [" ".join(str(rr).split()) for rr in rrs]
