"""`kubesvc dns`: informers feeding the view, the handler, the forwarder and the sockets.

Informers for Services, EndpointSlices and Namespaces (and Pods with `pods verified`) feed
the `View` through its `on_*` methods; the handler answers SERVFAIL for the cluster zone and
`/ready` says 503 until every informer has synced. `run()` serves until cancelled, then closes
its sockets. `kubesvc up` runs it as the `coredns` Deployment: the pod's argv is
`kubesvc dns` (in-cluster: `http://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT`).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import os
import secrets
import socket
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

from dnslib import DNSRecord

from kubesvc.api.resources import Resource, lookup
from kubesvc.client import Client, Informer
from kubesvc.dns.cache import Cache
from kubesvc.dns.forwarder import Address, Forwarder, parse_resolv_conf
from kubesvc.dns.handler import Handler
from kubesvc.dns.metrics import Metrics
from kubesvc.dns.records import Config
from kubesvc.dns.server import DnsServer, ServerOptions
from kubesvc.dns.view import View

log = logging.getLogger("kubesvc.dns")


@dataclass(frozen=True, slots=True, kw_only=True)
class DnsOptions:
    host: str = "0.0.0.0"
    port: int = 53
    zone: str = "cluster.local"
    ttl: int = 30
    pods: str = "insecure"
    upstreams: tuple[Address, ...] = ()  # empty: the nameservers of `resolv_conf`
    resolv_conf: Path = Path("/etc/resolv.conf")
    health_port: int = 8080
    ready_port: int = 8181
    metrics_port: int = 9153
    cache_size: int = 10000


def _resource(group: str, plural: str) -> Resource:
    res = lookup(group, plural)
    assert res is not None, plural
    return res


def local_ips(host: str, api_server: str = "") -> tuple[str, ...]:
    """This server's own addresses, for the NS records.

    The listen address when it is a specific one; else $POD_IP; else the source address the
    kernel would use towards the API server (a UDP `connect` sends nothing).
    """
    if host not in ("0.0.0.0", "::", ""):
        return (host,)
    if os.environ.get("POD_IP"):
        return (os.environ["POD_IP"],)
    target = urllib.parse.urlsplit(api_server).hostname or ""
    with contextlib.suppress(OSError, ValueError):
        family = socket.AF_INET6 if ipaddress.ip_address(target).version == 6 else socket.AF_INET
        with socket.socket(family, socket.SOCK_DGRAM) as sock:
            sock.connect((target, 53))
            return (str(sock.getsockname()[0]),)
    return ()


def upstreams_of(options: DnsOptions, own_ips: tuple[str, ...] = ()) -> list[Address]:
    """The resolvers to forward to, without this server itself (CoreDNS would loop).

    Listening on every address includes loopback, so a resolv.conf naming 127.0.0.1 (or any
    loopback address) on our port names us too.
    """
    found = list(options.upstreams)
    if not found:
        with contextlib.suppress(OSError):
            found = parse_resolv_conf(options.resolv_conf.read_text())
    wildcard = options.host in ("0.0.0.0", "::")

    def ours(address: Address) -> bool:
        ip, port = address
        if port != options.port:
            return False
        return ip in (options.host, *own_ips) or (wildcard and ipaddress.ip_address(ip).is_loopback)

    return [address for address in found if not ours(address)]


def client_from_environment() -> Client:
    """The in-cluster API server (kubesvc's is plain HTTP), from the pod's Service env vars."""
    host = os.environ.get("KUBERNETES_SERVICE_HOST")
    port = os.environ.get("KUBERNETES_SERVICE_PORT", "443")
    if not host:
        raise RuntimeError(
            "no API server: pass --kubeconfig PATH or --server URL, or run in a pod "
            "($KUBERNETES_SERVICE_HOST is not set)"
        )
    host = f"[{host}]" if ":" in host else host
    return Client(f"http://{host}:{port}")


async def probe_for_loops(handler: Handler, forwarder: Forwarder) -> None:
    """Ask upstream for a random name once; if it reaches us, the upstreams forward to us."""
    handler.loop_probe = f"{secrets.token_hex(6)}.{secrets.token_hex(6)}.kubesvc-loop-probe."
    await forwarder.query(bytes(DNSRecord.question(handler.loop_probe, "HINFO").pack()))
    if handler.looped:
        log.error(
            "forwarding loop: the upstream resolvers send our queries back to this server; "
            "names outside %s get SERVFAIL (set --upstream to a resolver that does not)",
            handler.config.zone,
        )


async def run(client: Client, options: DnsOptions) -> None:
    """Serve DNS from the cluster's objects until cancelled."""
    view = View(clock=time.time)
    informers = [
        (Informer(client, _resource("", "services")), view.on_service),
        (Informer(client, _resource("discovery.k8s.io", "endpointslices")), view.on_slice),
        (Informer(client, _resource("", "namespaces")), view.on_namespace),
    ]
    if options.pods == "verified":
        informers.append((Informer(client, _resource("", "pods")), view.on_pod))
    for informer, on_event in informers:
        informer.add_handler(on_event)

    def synced() -> bool:
        return all(informer.has_synced() for informer, _ in informers)

    own = local_ips(options.host, client.server)
    config = Config(zone=options.zone, ttl=options.ttl, pods=options.pods, local_ips=own)
    handler = Handler(view, config, synced=synced, cache=Cache(max_entries=options.cache_size))
    host = "" if options.host in ("0.0.0.0", "::") else options.host
    metrics = Metrics(f"dns://{host}:{options.port}")
    upstreams = upstreams_of(options, own)
    if not upstreams:
        log.warning("no upstream resolvers: names outside %s get SERVFAIL", options.zone)
    forwarder = Forwarder(upstreams, observe=metrics.forward)
    server_options = ServerOptions(
        host=options.host,
        port=options.port,
        health_port=options.health_port,
        ready_port=options.ready_port,
        metrics_port=options.metrics_port,
    )
    server = DnsServer(handler, forwarder, metrics, server_options, ready=synced)
    tasks: list[asyncio.Task[None]] = []
    try:
        await server.start()
        tasks = [asyncio.create_task(informer.run()) for informer, _ in informers]
        if upstreams:
            tasks.append(asyncio.create_task(probe_for_loops(handler, forwarder)))
        await asyncio.gather(*tasks)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await server.close()
