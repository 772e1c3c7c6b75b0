"""Discovery documents: /version, /api, /apis (aggregated and legacy), OpenAPI v3.

All of them are pure functions of the resource table in `kubesvc.api.resources`. The OpenAPI v3
documents are deliberately tiny: one `patch` operation per kind carrying the GVK extension and a
`fieldValidation` parameter, which tells kubectl that the server validates (KUBECTL.md §2.3).
No `requestBody` is given, so kubectl uses its built-in patch metadata.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from kubesvc.api.resources import RESOURCES, SUBRESOURCE_VERBS, Resource, groups

AGGREGATED_CONTENT_TYPE = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"

VERSION_INFO = {
    "major": "1",
    "minor": "32",
    "gitVersion": "v1.32.0-kubesvc",
    "gitCommit": "0000000000000000000000000000000000000000",
    "gitTreeState": "clean",
    "buildDate": "2026-01-01T00:00:00Z",
    "goVersion": "go1.23.0",
    "compiler": "gc",
    "platform": "linux/amd64",
}

_SCALE = {"group": "autoscaling", "version": "v1", "kind": "Scale"}
_BINDING = {"group": "", "version": "v1", "kind": "Binding"}


def _in_group(group: str) -> list[Resource]:
    return sorted((r for r in RESOURCES if r.group == group), key=lambda r: r.plural)


def _gvk(r: Resource) -> dict[str, str]:
    return {"group": r.group, "version": r.version, "kind": r.kind}


def _aggregated_resource(r: Resource) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "resource": r.plural,
        "responseKind": _gvk(r),
        "scope": "Namespaced" if r.namespaced else "Cluster",
        "singularResource": r.singular,
        "verbs": list(r.verbs),
    }
    if r.short_names:
        entry["shortNames"] = list(r.short_names)
    if r.categories:
        entry["categories"] = list(r.categories)
    subs = []
    for sub in r.subresources:
        kind = _SCALE if sub == "scale" else _BINDING if sub == "binding" else _gvk(r)
        verbs = list(SUBRESOURCE_VERBS[sub])
        subs.append({"subresource": sub, "responseKind": kind, "verbs": verbs})
    if subs:
        entry["subresources"] = subs
    return entry


def aggregated(core: bool) -> dict[str, Any]:
    """The APIGroupDiscoveryList for /api (core=True) or /apis."""
    names = [""] if core else groups()
    items = []
    for group in names:
        resources = [_aggregated_resource(r) for r in _in_group(group)]
        items.append(
            {
                "metadata": {"name": group, "creationTimestamp": None},
                "versions": [{"version": "v1", "resources": resources, "freshness": "Current"}],
            }
        )
    return {
        "kind": "APIGroupDiscoveryList",
        "apiVersion": "apidiscovery.k8s.io/v2",
        "metadata": {},
        "items": items,
    }


def api_versions() -> dict[str, Any]:
    return {
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": ""}],
    }


def _group_entry(group: str) -> dict[str, Any]:
    gv = {"groupVersion": f"{group}/v1", "version": "v1"}
    return {"name": group, "versions": [gv], "preferredVersion": gv}


def api_group_list() -> dict[str, Any]:
    return {
        "kind": "APIGroupList",
        "apiVersion": "v1",
        "groups": [_group_entry(g) for g in groups()],
    }


def api_group(group: str) -> dict[str, Any] | None:
    if group not in groups():
        return None
    return {"kind": "APIGroup", "apiVersion": "v1", **_group_entry(group)}


def resource_list(group: str) -> dict[str, Any] | None:
    """The legacy APIResourceList for one group-version."""
    members = _in_group(group)
    if not members:
        return None
    resources: list[dict[str, Any]] = []
    for r in members:
        entry: dict[str, Any] = {
            "name": r.plural,
            "singularName": r.singular,
            "namespaced": r.namespaced,
            "kind": r.kind,
            "verbs": list(r.verbs),
        }
        if r.short_names:
            entry["shortNames"] = list(r.short_names)
        if r.categories:
            entry["categories"] = list(r.categories)
        resources.append(entry)
        for sub in r.subresources:
            sub_entry: dict[str, Any] = {
                "name": f"{r.plural}/{sub}",
                "singularName": "",
                "namespaced": r.namespaced,
                "kind": "Binding" if sub == "binding" else r.kind,
                "verbs": list(SUBRESOURCE_VERBS[sub]),
            }
            if sub == "scale":
                sub_entry.update(group="autoscaling", version="v1", kind="Scale")
            resources.append(sub_entry)
    gv = f"{group}/v1" if group else "v1"
    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": gv,
        "resources": resources,
    }


# --------------------------------------------------------------------------- OpenAPI v3


def _openapi_path(group: str) -> str:
    return "api/v1" if not group else f"apis/{group}/v1"


def openapi_document(group: str) -> dict[str, Any] | None:
    members = _in_group(group)
    if not members:
        return None
    paths: dict[str, Any] = {}
    for r in members:
        base = "/" + _openapi_path(group)
        scope = "/namespaces/{namespace}" if r.namespaced else ""
        operation = {
            "x-kubernetes-action": "patch",
            "x-kubernetes-group-version-kind": _gvk(r),
            "parameters": [
                {"name": "fieldValidation", "in": "query", "schema": {"type": "string"}},
                {"name": "dryRun", "in": "query", "schema": {"type": "string"}},
                {"name": "fieldManager", "in": "query", "schema": {"type": "string"}},
            ],
            "responses": {"200": {"description": "OK"}},
        }
        paths[f"{base}{scope}/{r.plural}/{{name}}"] = {"patch": operation}
    return {
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": VERSION_INFO["gitVersion"]},
        "paths": paths,
        "components": {"schemas": {}},
    }


def _hash(doc: dict[str, Any]) -> str:
    return hashlib.sha512(json.dumps(doc, sort_keys=True).encode()).hexdigest()[:128].upper()


def openapi_index() -> dict[str, Any]:
    paths = {}
    for group in ["", *groups()]:
        doc = openapi_document(group)
        assert doc is not None
        path = _openapi_path(group)
        paths[path] = {"serverRelativeURL": f"/openapi/v3/{path}?hash={_hash(doc)}"}
    return {"paths": paths}
