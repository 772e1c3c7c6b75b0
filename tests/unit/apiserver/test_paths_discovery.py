"""REST path parsing and the discovery documents kubectl relies on."""

from __future__ import annotations

from kubesvc.apiserver import discovery
from kubesvc.apiserver.paths import parse


def test_parse_namespaced_and_cluster_paths() -> None:
    t = parse("/api/v1/namespaces/default/services/web/status")
    assert t is not None
    assert (t.resource.kind, t.namespace, t.name, t.subresource) == (
        "Service",
        "default",
        "web",
        "status",
    )
    t = parse("/apis/apps/v1/deployments")
    assert t is not None and (t.resource.kind, t.namespace, t.name) == ("Deployment", None, None)
    t = parse("/api/v1/namespaces/kube-system")
    assert t is not None and (t.resource.kind, t.name) == ("Namespace", "kube-system")
    t = parse("/api/v1/namespaces/x/finalize")
    assert t is not None and t.subresource == "finalize"
    t = parse("/apis/apps/v1/namespaces/default/deployments/web/scale")
    assert t is not None and t.subresource == "scale"


def test_parse_refuses_unknown_paths() -> None:
    assert parse("/api/v1/namespaces/default/services/web/scale") is None
    assert parse("/api/v1/namespaces/default/nodes") is None
    assert parse("/apis/apps/v2/deployments") is None
    assert parse("/api/v1/nosuch") is None
    assert parse("/api/v1/namespaces/default/services/a/b/c") is None


def test_aggregated_discovery_has_short_names_and_categories() -> None:
    core = discovery.aggregated(core=True)
    resources = {r["resource"]: r for r in core["items"][0]["versions"][0]["resources"]}
    assert resources["services"]["shortNames"] == ["svc"]
    assert resources["services"]["categories"] == ["all"]
    assert resources["nodes"]["scope"] == "Cluster"
    apps = discovery.aggregated(core=False)
    names = [item["metadata"]["name"] for item in apps["items"]]
    assert names == ["apps", "coordination.k8s.io", "discovery.k8s.io", "networking.k8s.io"]
    deployments = next(
        r for r in apps["items"][0]["versions"][0]["resources"] if r["resource"] == "deployments"
    )
    scale = next(s for s in deployments["subresources"] if s["subresource"] == "scale")
    assert scale["responseKind"] == {"group": "autoscaling", "version": "v1", "kind": "Scale"}


def test_openapi_v3_lists_every_group_with_patch_field_validation() -> None:
    index = discovery.openapi_index()["paths"]
    assert set(index) == {
        "api/v1",
        "apis/apps/v1",
        "apis/coordination.k8s.io/v1",
        "apis/discovery.k8s.io/v1",
        "apis/networking.k8s.io/v1",
    }
    doc = discovery.openapi_document("")
    assert doc is not None
    op = doc["paths"]["/api/v1/namespaces/{namespace}/services/{name}"]["patch"]
    assert op["x-kubernetes-group-version-kind"] == {
        "group": "",
        "version": "v1",
        "kind": "Service",
    }
    assert "fieldValidation" in [p["name"] for p in op["parameters"]]
    assert "requestBody" not in op
    assert discovery.VERSION_INFO["minor"] == "32"
