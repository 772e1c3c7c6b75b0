"""What a fresh cluster holds before anyone writes: namespaces and the `kubernetes` Service.

Idempotent: run at every start. The `kubernetes` Service in `default` takes the first address of
the Service range, port 443 named `https`, with Endpoints and an EndpointSlice that point at the
API server's advertised address, as a real cluster's API server maintains them.
"""

from __future__ import annotations

import logging
from typing import Any

from kubesvc.api.errors import StatusError
from kubesvc.api.resources import lookup
from kubesvc.apiserver.registry import Registry

log = logging.getLogger("kubesvc.apiserver")

SYSTEM_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")


def _res(group: str, plural: str) -> Any:
    res = lookup(group, plural)
    assert res is not None
    return res


async def ensure(
    registry: Registry, name: str, group: str, plural: str, ns: str | None, obj: dict[str, Any]
) -> dict[str, Any]:
    """Create `obj` unless it exists; replace its spec-like fields when they differ."""
    res = _res(group, plural)
    try:
        current = await registry.get(res, ns, name)
    except StatusError as exc:
        if exc.code != 404:
            raise
        return await registry.create(res, ns, obj, internal=res.kind != "Service")
    changed = False
    for key in ("subsets", "endpoints", "ports", "addressType"):
        if key in obj and current.get(key) != obj[key]:
            current[key] = obj[key]
            changed = True
    if changed:
        await registry.delete(res, ns, name)
        current.pop("metadata", None)
        current["metadata"] = obj["metadata"]
        return await registry.create(res, ns, current, internal=True)
    return current


async def bootstrap(registry: Registry, address: str, port: int) -> None:
    for ns in SYSTEM_NAMESPACES:
        await ensure(registry, ns, "", "namespaces", None, {"metadata": {"name": ns}})
    first_ip = registry.allocator.ip_range.nth(0)
    labels = {"component": "apiserver", "provider": "kubernetes"}
    await ensure(
        registry,
        "kubernetes",
        "",
        "services",
        "default",
        {
            "metadata": {"name": "kubernetes", "labels": labels},
            "spec": {
                "type": "ClusterIP",
                "clusterIP": first_ip,
                "ports": [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": port}],
                "sessionAffinity": "None",
            },
        },
    )
    await ensure(
        registry,
        "kubernetes",
        "",
        "endpoints",
        "default",
        {
            "metadata": {
                "name": "kubernetes",
                "labels": {"endpointslice.kubernetes.io/skip-mirror": "true"},
            },
            "subsets": [
                {
                    "addresses": [{"ip": address}],
                    "ports": [{"name": "https", "port": port, "protocol": "TCP"}],
                }
            ],
        },
    )
    await ensure(
        registry,
        "kubernetes",
        "discovery.k8s.io",
        "endpointslices",
        "default",
        {
            "metadata": {
                "name": "kubernetes",
                "labels": {"kubernetes.io/service-name": "kubernetes"},
            },
            "addressType": "IPv4",
            "endpoints": [{"addresses": [address], "conditions": {"ready": True}}],
            "ports": [{"name": "https", "port": port, "protocol": "TCP"}],
        },
    )
    log.info("bootstrap done: namespaces and default/kubernetes at %s:%d", first_ip, 443)
