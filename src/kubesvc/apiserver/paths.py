"""Parse Kubernetes REST paths into (resource, namespace, name, subresource).

`/api/v1/namespaces/default/services/web/status` → services in "default", "web", "status";
`/apis/apps/v1/deployments` → all deployments; `/api/v1/namespaces/kube-system` → the
Namespace object itself. Pure; the HTTP layer turns `None` into a 404.
"""

from __future__ import annotations

from dataclasses import dataclass

from kubesvc.api.resources import Resource, lookup


@dataclass(frozen=True, slots=True)
class Target:
    resource: Resource
    namespace: str | None  # None: all namespaces (or a cluster-scoped kind)
    name: str | None
    subresource: str | None


def parse(path: str) -> Target | None:
    parts = [p for p in path.split("/") if p]
    if len(parts) >= 2 and parts[0] == "api" and parts[1] == "v1":
        group, rest = "", parts[2:]
    elif len(parts) >= 3 and parts[0] == "apis" and parts[2] == "v1":
        group, rest = parts[1], parts[3:]
    else:
        return None
    if not rest:
        return None
    if rest[0] == "namespaces" and len(rest) >= 3 and lookup(group, rest[2]) is not None:
        namespace = rest[1]
        res = lookup(group, rest[2])
        tail = rest[3:]
        assert res is not None
        if not res.namespaced:
            return None
    else:
        namespace = None
        res = lookup(group, rest[0])
        tail = rest[1:]
        if res is None:
            return None
    if len(tail) > 2:
        return None
    name = tail[0] if tail else None
    sub = tail[1] if len(tail) > 1 else None
    if (
        sub is not None
        and sub not in res.subresources
        and not (res.kind == "Namespace" and sub == "finalize")
    ):
        return None
    return Target(res, namespace, name, sub)
