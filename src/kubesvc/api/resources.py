"""The kinds kubesvc serves, as one table: discovery, OpenAPI, the registry and printers read it.

Each `Resource` names its group/version/kind, its plural (the URL segment), whether it lives in a
namespace, its short names and categories (kubectl needs `svc` and `all`), its subresources and
the store key prefix Kubernetes uses for it (`/registry/services/specs/`).
"""

from __future__ import annotations

from dataclasses import dataclass

VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")
READ_VERBS = ("get", "list", "watch")

# What each subresource offers, and the kind it answers with (None: the resource's own kind).
SUBRESOURCE_VERBS: dict[str, tuple[str, ...]] = {
    "status": ("get", "patch", "update"),
    "scale": ("get", "patch", "update"),
    "binding": ("create",),
    "log": ("get",),
    "exec": ("create", "get"),
    "attach": ("create", "get"),
    "portforward": ("create", "get"),
}


@dataclass(frozen=True, slots=True, kw_only=True)
class Resource:
    group: str
    version: str
    kind: str
    plural: str
    singular: str
    namespaced: bool
    key_prefix: str
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    subresources: tuple[str, ...] = ()
    verbs: tuple[str, ...] = VERBS

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def group_version(self) -> str:
        return self.api_version

    @property
    def list_kind(self) -> str:
        return f"{self.kind}List"

    def key(self, namespace: str | None, name: str) -> str:
        if self.namespaced:
            return f"{self.key_prefix}{namespace}/{name}"
        return f"{self.key_prefix}{name}"

    def prefix(self, namespace: str | None = None) -> str:
        """The store prefix of a collection: all namespaces when `namespace` is None."""
        if self.namespaced and namespace:
            return f"{self.key_prefix}{namespace}/"
        return self.key_prefix

    @property
    def has_status(self) -> bool:
        return "status" in self.subresources


def _r(
    group: str,
    kind: str,
    plural: str,
    key: str,
    *,
    namespaced: bool = True,
    short: tuple[str, ...] = (),
    cats: tuple[str, ...] = (),
    sub: tuple[str, ...] = (),
    verbs: tuple[str, ...] = VERBS,
) -> Resource:
    return Resource(
        group=group,
        version="v1",
        kind=kind,
        plural=plural,
        singular=kind.lower(),
        namespaced=namespaced,
        key_prefix=f"/registry/{key}/",
        short_names=short,
        categories=cats,
        subresources=sub,
        verbs=verbs,
    )


RESOURCES: tuple[Resource, ...] = (
    _r("", "ConfigMap", "configmaps", "configmaps", short=("cm",)),
    _r("", "Endpoints", "endpoints", "services/endpoints", short=("ep",)),
    _r("", "Event", "events", "events", short=("ev",)),
    _r(
        "",
        "Namespace",
        "namespaces",
        "namespaces",
        namespaced=False,
        short=("ns",),
        sub=("status",),
    ),
    _r("", "Node", "nodes", "minions", namespaced=False, short=("no",), sub=("status",)),
    _r(
        "",
        "Pod",
        "pods",
        "pods",
        short=("po",),
        cats=("all",),
        sub=("status", "binding", "log", "exec", "attach", "portforward"),
    ),
    _r("", "Secret", "secrets", "secrets"),
    _r("", "ServiceAccount", "serviceaccounts", "serviceaccounts", short=("sa",)),
    _r("", "Service", "services", "services/specs", short=("svc",), cats=("all",), sub=("status",)),
    _r(
        "apps",
        "Deployment",
        "deployments",
        "deployments",
        short=("deploy",),
        cats=("all",),
        sub=("status", "scale"),
    ),
    _r(
        "apps",
        "ReplicaSet",
        "replicasets",
        "replicasets",
        short=("rs",),
        cats=("all",),
        sub=("status", "scale"),
    ),
    _r(
        "apps",
        "StatefulSet",
        "statefulsets",
        "statefulsets",
        short=("sts",),
        cats=("all",),
        sub=("status", "scale"),
    ),
    _r("apps", "ControllerRevision", "controllerrevisions", "controllerrevisions"),
    _r("coordination.k8s.io", "Lease", "leases", "leases"),
    _r("discovery.k8s.io", "EndpointSlice", "endpointslices", "endpointslices"),
    _r("networking.k8s.io", "IngressClass", "ingressclasses", "ingressclasses", namespaced=False),
    # the ClusterIP allocation table (seed 000), written only by the API server's allocator and
    # its repair loop in the same transactions as the Services: read-only here
    _r(
        "networking.k8s.io",
        "IPAddress",
        "ipaddresses",
        "ipaddresses",
        namespaced=False,
        short=("ip",),
        verbs=READ_VERBS,
    ),
    _r("networking.k8s.io", "Ingress", "ingresses", "ingress", short=("ing",), sub=("status",)),
)

BY_GROUP_PLURAL: dict[tuple[str, str], Resource] = {(r.group, r.plural): r for r in RESOURCES}
BY_GROUP_KIND: dict[tuple[str, str], Resource] = {(r.group, r.kind): r for r in RESOURCES}


def groups() -> list[str]:
    """Named groups in a stable order (the core group "" excluded)."""
    seen: list[str] = []
    for r in RESOURCES:
        if r.group and r.group not in seen:
            seen.append(r.group)
    return sorted(seen)


def lookup(group: str, plural: str) -> Resource | None:
    return BY_GROUP_PLURAL.get((group, plural))


def by_kind(api_version: str, kind: str) -> Resource | None:
    group = api_version.rpartition("/")[0] if "/" in api_version else ""
    return BY_GROUP_KIND.get((group, kind))
