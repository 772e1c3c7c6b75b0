"""The cluster add-ons `kubesvc up` installs, as kubeadm installs them: CoreDNS behind kube-dns.

`coredns_objects` is the manifest (pure data, the shape of kubeadm's CoreDNS add-on): the
`coredns` Deployment (2 replicas, label `k8s-app: kube-dns`, probes on /health and /ready,
dnsPolicy Default) and the `kube-dns` Service at the tenth address of the Service range with the
ports `dns` 53/UDP, `dns-tcp` 53/TCP and `metrics` 9153/TCP. The image
`registry.k8s.io/coredns/coredns` is mapped to `kubesvc dns` by the node image table, so the pods
run kubesvc's DNS server. `ensure` creates what is missing and leaves what exists (a restart on the
same data dir keeps the user's edits, as `kubeadm upgrade` would not).
"""

from __future__ import annotations

from typing import Any

from kubesvc.api.errors import StatusError
from kubesvc.api.resources import Resource, lookup
from kubesvc.client import Client

COREDNS_IMAGE = "registry.k8s.io/coredns/coredns:v1.11.3"
LABELS = {"k8s-app": "kube-dns"}
Obj = dict[str, Any]


def coredns_objects(dns_ip: str, replicas: int = 2) -> list[tuple[Resource, Obj]]:
    """The CoreDNS Deployment and the kube-dns Service, in the order to create them."""
    services, deployments = lookup("", "services"), lookup("apps", "deployments")
    assert services is not None and deployments is not None
    service: Obj = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "name": "kube-dns",
            "namespace": "kube-system",
            "labels": {
                **LABELS,
                "kubernetes.io/cluster-service": "true",
                "kubernetes.io/name": "CoreDNS",
            },
            "annotations": {"prometheus.io/port": "9153", "prometheus.io/scrape": "true"},
        },
        "spec": {
            "selector": dict(LABELS),
            "clusterIP": dns_ip,
            "ports": [
                {"name": "dns", "port": 53, "protocol": "UDP", "targetPort": 53},
                {"name": "dns-tcp", "port": 53, "protocol": "TCP", "targetPort": 53},
                {"name": "metrics", "port": 9153, "protocol": "TCP", "targetPort": 9153},
            ],
        },
    }
    container: Obj = {
        "name": "coredns",
        "image": COREDNS_IMAGE,
        "ports": [
            {"containerPort": 53, "name": "dns", "protocol": "UDP"},
            {"containerPort": 53, "name": "dns-tcp", "protocol": "TCP"},
            {"containerPort": 9153, "name": "metrics", "protocol": "TCP"},
        ],
        "livenessProbe": {
            "httpGet": {"path": "/health", "port": 8080, "scheme": "HTTP"},
            "initialDelaySeconds": 60,
            "timeoutSeconds": 5,
            "successThreshold": 1,
            "failureThreshold": 5,
        },
        "readinessProbe": {
            "httpGet": {"path": "/ready", "port": 8181, "scheme": "HTTP"},
            "periodSeconds": 1,
            "timeoutSeconds": 1,
        },
    }
    deployment: Obj = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "coredns", "namespace": "kube-system", "labels": dict(LABELS)},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": dict(LABELS)},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1}},
            "template": {
                "metadata": {"labels": dict(LABELS)},
                "spec": {"containers": [container], "dnsPolicy": "Default"},
            },
        },
    }
    return [(services, service), (deployments, deployment)]


async def ensure(client: Client, objects: list[tuple[Resource, Obj]]) -> list[str]:
    """Create each object unless one of that name exists; the names created."""
    created = []
    for resource, obj in objects:
        meta = obj["metadata"]
        try:
            await client.create(resource, meta.get("namespace"), obj)
        except StatusError as exc:
            if exc.code != 409:
                raise
            continue
        created.append(f"{resource.plural}/{meta['name']}")
    return created
