"""PATCH application: the captured kubectl bodies, upstream's strategic-merge cases, RFC 6902/7386.

Strategic-merge cases ported from apimachinery's `strategicpatch/patch_test.go` use real fields
with the same tags as its test struct: `spec.containers` (merge on name) for `mergingList`,
`metadata.finalizers` (merge, primitive) for `mergingIntList`, `spec.tolerations` (atomic) for
`nonMergingList`, Deployment `spec.strategy` (retainKeys) and Pod `spec.volumes` (merge,
retainKeys). Results are compared whole, order included.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from kubesvc.api.errors import StatusError
from kubesvc.api.patch import apply_patch
from kubesvc.api.patchmeta import PatchMeta, go_v, lookup, strategic_merge

SMP = "application/strategic-merge-patch+json"
MERGE = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"
GENERIC_422 = "the server rejected our request due to an error in our request"


def smp(original: dict[str, Any], patch: Any, kind: str = "Pod") -> dict[str, Any]:
    return apply_patch(SMP, original, json.dumps(patch).encode(), kind)


def failure(
    content_type: str, original: dict[str, Any], body: bytes, kind: str = "Pod"
) -> StatusError:
    with pytest.raises(StatusError) as caught:
        apply_patch(content_type, original, body, kind)
    return caught.value


def yaml_cases(text: str) -> list[dict[str, Any]]:
    cases: list[dict[str, Any]] = yaml.safe_load(text)
    return cases


def case_id(case: dict[str, Any]) -> str | None:
    description = case.get("description")
    return str(description) if description else None


def containers(*items: Any) -> dict[str, Any]:
    return {"spec": {"containers": [c if isinstance(c, dict) else {"name": c} for c in items]}}


def finalizers(*items: Any) -> dict[str, Any]:
    return {"metadata": {"finalizers": list(items)}}


# --------------------------------------------------------------------------- captured bodies

SERVICE = {
    "apiVersion": "v1",
    "kind": "Service",
    "metadata": {
        "name": "web",
        "namespace": "default",
        "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{old}\n"},
        "labels": {"app": "web"},
    },
    "spec": {
        "ports": [{"name": "http", "port": 80, "protocol": "TCP", "targetPort": "http"}],
        "selector": {"app": "web"},
        "type": "ClusterIP",
        "clusterIP": "10.96.0.11",
    },
}

DEPLOYMENT = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "web", "labels": {"app": "web"}, "annotations": {"a": "1"}},
    "spec": {
        "replicas": 1,
        "selector": {"matchLabels": {"app": "web"}},
        "strategy": {
            "type": "RollingUpdate",
            "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"},
        },
        "template": {
            "metadata": {"labels": {"app": "web"}},
            "spec": {
                "containers": [
                    {"name": "nginx", "image": "nginx:1.27", "ports": [{"containerPort": 80}]}
                ]
            },
        },
    },
}


def test_service_port_change_from_apply() -> None:
    body = (
        b'{"metadata":{"annotations":{"kubectl.kubernetes.io/last-applied-configuration":'
        b'"{new}\\n"}},"spec":{"$setElementOrder/ports":[{"port":8081}],"ports":[{"name":"http",'
        b'"port":8081,"targetPort":"http"},{"$patch":"delete","port":80}]}}'
    )
    result = apply_patch(SMP, SERVICE, body, "Service")
    assert result["spec"]["ports"] == [{"name": "http", "port": 8081, "targetPort": "http"}]
    assert result["metadata"]["annotations"] == {
        "kubectl.kubernetes.io/last-applied-configuration": "{new}\n"
    }
    assert result["spec"]["selector"] == {"app": "web"}
    assert result["spec"]["clusterIP"] == "10.96.0.11"


def test_service_nodeport_patch_from_edit() -> None:
    body = (
        b'{"spec":{"$setElementOrder/ports":[{"port":8088}],"ports":[{"name":"http","port":8088,'
        b'"protocol":"TCP","targetPort":"http"},{"$patch":"delete","port":80}],"type":"NodePort"}}'
    )
    result = apply_patch(SMP, SERVICE, body, "Service")
    expected = copy.deepcopy(SERVICE)
    expected["spec"]["ports"] = [
        {"name": "http", "port": 8088, "protocol": "TCP", "targetPort": "http"}
    ]
    expected["spec"]["type"] = "NodePort"
    assert result == expected


def test_original_is_never_mutated() -> None:
    before = copy.deepcopy(SERVICE)
    body = b'{"spec":{"ports":[{"$patch":"delete","port":80}],"selector":null}}'
    apply_patch(SMP, SERVICE, body, "Service")
    apply_patch(MERGE, SERVICE, b'{"spec":{"selector":{"x":"y"}}}', "Service")
    apply_patch(JSON_PATCH, SERVICE, b'[{"op":"remove","path":"/spec/ports/0"}]', "Service")
    assert before == SERVICE


def test_deployment_image_and_replicas() -> None:
    body = (
        b'{"metadata":{"annotations":{"a":"2"}},"spec":{"replicas":3,"template":{"spec":'
        b'{"$setElementOrder/containers":[{"name":"nginx"}],"containers":[{"image":"nginx:1.28",'
        b'"name":"nginx"}]}}}}'
    )
    result = apply_patch(SMP, DEPLOYMENT, body, "Deployment")
    assert result["spec"]["replicas"] == 3
    assert result["metadata"]["annotations"] == {"a": "2"}
    assert result["spec"]["template"]["spec"]["containers"] == [
        {"name": "nginx", "image": "nginx:1.28", "ports": [{"containerPort": 80}]}
    ]


def test_label_removed_strategy_recreate_env_added() -> None:
    body = (
        b'{"metadata":{"labels":null},"spec":{"strategy":{"$retainKeys":["type"],"type":"Recreate"},'
        b'"template":{"spec":{"$setElementOrder/containers":[{"name":"nginx"}],"containers":'
        b'[{"env":[{"name":"A","value":"1"}],"name":"nginx"}]}}}}'
    )
    result = apply_patch(SMP, DEPLOYMENT, body, "Deployment")
    assert "labels" not in result["metadata"]
    assert result["spec"]["strategy"] == {"type": "Recreate"}
    assert result["spec"]["template"]["spec"]["containers"] == [
        {
            "name": "nginx",
            "image": "nginx:1.27",
            "ports": [{"containerPort": 80}],
            "env": [{"name": "A", "value": "1"}],
        }
    ]
    back_out = (
        b'{"spec":{"strategy":null,"template":{"spec":{"$setElementOrder/containers":'
        b'[{"name":"nginx"}],"containers":[{"env":null,"name":"nginx"}]}}}}'
    )
    reverted = apply_patch(SMP, result, back_out, "Deployment")
    assert "strategy" not in reverted["spec"]
    assert reverted["spec"]["template"]["spec"]["containers"] == [
        {"name": "nginx", "image": "nginx:1.27", "ports": [{"containerPort": 80}]}
    ]


def test_ingress_rules_are_replaced_wholesale() -> None:
    ingress = {
        "kind": "Ingress",
        "spec": {
            "rules": [
                {"host": "a.example.com", "http": {"paths": [{"path": "/", "pathType": "Prefix"}]}}
            ],
            "tls": [{"hosts": ["a.example.com"]}],
        },
    }
    new_rules = [
        {"host": "b.example.com", "http": {"paths": [{"path": "/b", "pathType": "Exact"}]}}
    ]
    result = smp(ingress, {"spec": {"rules": new_rules}}, "Ingress")
    assert result["spec"] == {"rules": new_rules, "tls": [{"hosts": ["a.example.com"]}]}


# --------------------------------------------------------------------------- merge keys per kind


@pytest.mark.parametrize(
    ("kind", "path", "meta"),
    [
        ("Service", "spec.ports", PatchMeta(strategy="merge", merge_key="port")),
        ("Pod", "spec.containers", PatchMeta(strategy="merge", merge_key="name")),
        ("Pod", "spec.initContainers", PatchMeta(strategy="merge", merge_key="name")),
        ("Pod", "spec.ephemeralContainers", PatchMeta(strategy="merge", merge_key="name")),
        ("Pod", "spec.containers.ports", PatchMeta(strategy="merge", merge_key="containerPort")),
        ("Pod", "spec.initContainers.env", PatchMeta(strategy="merge", merge_key="name")),
        ("Pod", "spec.containers.volumeMounts", PatchMeta(strategy="merge", merge_key="mountPath")),
        ("Pod", "spec.containers.envFrom", PatchMeta()),
        ("Pod", "spec.volumes", PatchMeta(strategy="merge", merge_key="name", retain_keys=True)),
        ("Pod", "spec.imagePullSecrets", PatchMeta(strategy="merge", merge_key="name")),
        ("Pod", "spec.hostAliases", PatchMeta(strategy="merge", merge_key="ip")),
        ("Pod", "spec.tolerations", PatchMeta()),
        ("Pod", "status.conditions", PatchMeta(strategy="merge", merge_key="type")),
        ("Pod", "metadata.ownerReferences", PatchMeta(strategy="merge", merge_key="uid")),
        ("Pod", "metadata.finalizers", PatchMeta(strategy="merge")),
        (
            "Deployment",
            "spec.template.spec.containers",
            PatchMeta(strategy="merge", merge_key="name"),
        ),
        (
            "Deployment",
            "spec.template.spec.containers.env",
            PatchMeta(strategy="merge", merge_key="name"),
        ),
        ("Deployment", "spec.template.metadata.finalizers", PatchMeta(strategy="merge")),
        ("Deployment", "spec.strategy", PatchMeta(retain_keys=True)),
        ("Deployment", "spec.selector", PatchMeta()),
        ("Deployment", "status.conditions", PatchMeta(strategy="merge", merge_key="type")),
        (
            "ReplicaSet",
            "spec.template.spec.volumes",
            PatchMeta(strategy="merge", merge_key="name", retain_keys=True),
        ),
        ("ReplicaSet", "status.conditions", PatchMeta(strategy="merge", merge_key="type")),
        ("ReplicaSet", "spec.strategy", PatchMeta()),
        ("Node", "status.conditions", PatchMeta(strategy="merge", merge_key="type")),
        ("Node", "status.addresses", PatchMeta(strategy="merge", merge_key="type")),
        ("Node", "spec.taints", PatchMeta()),
        ("Service", "metadata.ownerReferences", PatchMeta(strategy="merge", merge_key="uid")),
        ("Service", "spec.containers", PatchMeta()),
        ("Endpoints", "subsets", PatchMeta()),
        ("EndpointSlice", "endpoints", PatchMeta()),
        ("EndpointSlice", "metadata.finalizers", PatchMeta(strategy="merge")),
        ("Ingress", "spec.rules", PatchMeta()),
        ("Ingress", "spec.tls", PatchMeta()),
        ("Ingress", "spec.rules.http.paths", PatchMeta()),
    ],
)
def test_patch_metadata(kind: str, path: str, meta: PatchMeta) -> None:
    assert lookup(kind, path) == meta


def test_nested_merge_lists_inside_workload_templates() -> None:
    rs = {
        "spec": {
            "template": {
                "spec": {
                    "containers": [
                        {
                            "name": "app",
                            "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
                            "ports": [{"containerPort": 80, "name": "http"}],
                            "volumeMounts": [{"mountPath": "/data", "name": "data"}],
                        }
                    ],
                    "volumes": [{"name": "data", "emptyDir": {}}],
                }
            }
        }
    }
    patch = {
        "spec": {
            "template": {
                "spec": {
                    "containers": [
                        {
                            "name": "app",
                            "env": [{"name": "B", "value": "3"}],
                            "ports": [{"containerPort": 443, "name": "https"}],
                            "volumeMounts": [{"mountPath": "/data", "readOnly": True}],
                        }
                    ],
                    "volumes": [
                        {
                            "name": "data",
                            "$retainKeys": ["name", "hostPath"],
                            "hostPath": {"path": "/x"},
                        }
                    ],
                }
            }
        }
    }
    pod_spec = smp(rs, patch, "ReplicaSet")["spec"]["template"]["spec"]
    assert pod_spec["containers"] == [
        {
            "name": "app",
            "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "3"}],
            "ports": [
                {"containerPort": 443, "name": "https"},
                {"containerPort": 80, "name": "http"},
            ],
            "volumeMounts": [{"mountPath": "/data", "name": "data", "readOnly": True}],
        }
    ]
    assert pod_spec["volumes"] == [{"name": "data", "hostPath": {"path": "/x"}}]


KIND_CASES = yaml_cases(
    r"""
- description: ownerReferences merge on uid
  kind: Pod
  original: {metadata: {ownerReferences: [{kind: ReplicaSet, uid: '1'}, {uid: '2'}]}}
  patch: {metadata: {ownerReferences: [{controller: true, uid: '2'}]}}
  expected: {metadata: {ownerReferences: [{kind: ReplicaSet, uid: '1'}, {controller: true,
            uid: '2'}]}}
- description: imagePullSecrets on name, hostAliases on ip
  kind: Pod
  original: {spec: {hostAliases: [{hostnames: [a], ip: 1.1.1.1}], imagePullSecrets: [
          {name: a}]}}
  patch: {spec: {hostAliases: [{hostnames: [b], ip: 1.1.1.1}], imagePullSecrets: [
          {name: b}]}}
  expected: {spec: {hostAliases: [{hostnames: [b], ip: 1.1.1.1}], imagePullSecrets: [
          {name: b}, {name: a}]}}
- description: tolerations and envFrom are atomic
  kind: Pod
  original: {spec: {containers: [{envFrom: [{prefix: A}], name: c}], tolerations: [
          {key: a}]}}
  patch: {spec: {containers: [{envFrom: [{prefix: B}], name: c}], tolerations: [
          {key: b}]}}
  expected: {spec: {containers: [{envFrom: [{prefix: B}], name: c}], tolerations: [
          {key: b}]}}
- description: node conditions and addresses merge on type
  kind: Node
  original: {status: {addresses: [{address: 10.0.0.1, type: InternalIP}], conditions: [
          {status: 'False', type: Ready}]}}
  patch: {status: {addresses: [{address: n1, type: Hostname}], conditions: [{status: 'True',
            type: Ready}]}}
  expected: {status: {addresses: [{address: n1, type: Hostname}, {address: 10.0.0.1,
            type: InternalIP}], conditions: [{status: 'True', type: Ready}]}}
- description: deployment conditions merge on type
  kind: Deployment
  original: {status: {conditions: [{status: 'False', type: Available}, {status: 'True',
            type: Progressing}]}}
  patch: {status: {conditions: [{status: 'True', type: Available}]}}
  expected: {status: {conditions: [{status: 'True', type: Available}, {status: 'True',
            type: Progressing}]}}
- description: endpoints subsets are atomic
  kind: Endpoints
  original: {subsets: [{addresses: [{ip: 10.0.0.1}]}]}
  patch: {subsets: [{addresses: [{ip: 10.0.0.2}]}]}
  expected: {subsets: [{addresses: [{ip: 10.0.0.2}]}]}
- description: endpointslice endpoints are atomic
  kind: EndpointSlice
  original: {endpoints: [{addresses: [10.0.0.1]}], ports: [{port: 80}]}
  patch: {endpoints: [{addresses: [10.0.0.2]}]}
  expected: {endpoints: [{addresses: [10.0.0.2]}], ports: [{port: 80}]}
- description: a label selector merges as a map, its lists are atomic
  kind: Deployment
  original: {spec: {selector: {matchExpressions: [{key: x, operator: Exists}], matchLabels: {
            a: '1'}}}}
  patch: {spec: {selector: {matchExpressions: [{key: y, operator: Exists}]}}}
  expected: {spec: {selector: {matchExpressions: [{key: y, operator: Exists}], matchLabels: {
            a: '1'}}}}
"""
)


@pytest.mark.parametrize("case", KIND_CASES, ids=case_id)
def test_kind_specific_merges(case: dict[str, Any]) -> None:
    assert smp(case["original"], case["patch"], case["kind"]) == case["expected"]


# --------------------------------------------------------------------------- upstream SMP cases


SMP_CASES = yaml_cases(
    r"""
- description: add field to map
  original: {name: 1}
  patch: {value: 1}
  expected: {name: 1, value: 1}
- description: add field and delete field from map
  original: {name: 1}
  patch: {name: null, value: 1}
  expected: {value: 1}
- description: delete all fields from map
  original: {name: 1, value: 1}
  patch: {name: null, value: null}
  expected: {}
- description: delete field from nested map
  original: {metadata: {labels: {key1: 1, key2: 1}}}
  patch: {metadata: {labels: {key2: null}}}
  expected: {metadata: {labels: {key1: 1}}}
- description: delete map from nested map
  original: {metadata: {labels: {key1: 1, key2: 1}}}
  patch: {metadata: {labels: {$patch: delete}}}
  expected: {metadata: {labels: {}}}
- description: delete a map that is not there
  original: {metadata: {}}
  patch: {metadata: {labels: {$patch: delete}}}
  expected: {metadata: {}}
- description: delete all keys from map
  original: {name: 1, value: 1}
  patch: {$patch: replace}
  expected: {}
- description: add key and delete all keys from map
  original: {name: 1, value: 1}
  patch: {$patch: replace, other: a}
  expected: {other: a}
- description: replace a nested map
  original: {spec: {a: 1, b: 2}}
  patch: {spec: {$patch: replace, c: 3}}
  expected: {spec: {c: 3}}
- description: null values in the patch only delete
  original: {name: 2}
  patch: {name: 1, other: null, value: 1}
  expected: {name: 1, value: 1}
- description: nulls inside new values are dropped
  original: {name: n}
  patch: {spec: {a: null, b: {c: null, d: 1}}}
  expected: {name: n, spec: {b: {d: 1}}}
- description: null for a missing key is ignored
  original: {a: 1}
  patch: {missing: null}
  expected: {a: 1}
- description: scalar replaces map
  original: {a: {b: 1}}
  patch: {a: scalar}
  expected: {a: scalar}
- description: map replaces scalar, nulls dropped
  original: {a: scalar}
  patch: {a: {b: 1, c: null}}
  expected: {a: {b: 1}}
- description: number type change replaces
  original: {a: 1}
  patch: {a: 1.5}
  expected: {a: 1.5}
- description: delete all maps from merging list
  original: {spec: {containers: [{name: 1}, {name: 2}]}}
  patch: {spec: {containers: [{$patch: delete, name: 1}, {$patch: delete, name: 2}]}}
  expected: {spec: {containers: []}}
- description: delete all items from merging list
  original: {spec: {containers: [{name: 1}, {name: 2}]}}
  patch: {spec: {containers: [{$patch: replace}]}}
  expected: {spec: {containers: []}}
- description: merge empty merging lists
  original: {spec: {containers: []}}
  patch: {spec: {containers: []}}
  expected: {spec: {containers: []}}
- description: preserve the order from the patch in a merging list
  original: {spec: {containers: [{name: 1}, {name: 2, value: b}, {name: 3}]}}
  patch: {spec: {containers: [{name: 3, value: c}, {name: 1, value: a}, {name: 2, other: x}]}}
  expected: {spec: {containers: [{name: 3, value: c}, {name: 1, value: a}, {name: 2, other: x,
            value: b}]}}
- description: preserve the order from the patch in a merging list 2
  original: {spec: {containers: [{name: 1}, {name: 2, value: b}, {name: 3}]}}
  patch: {spec: {containers: [{name: 3, value: c}, {name: 1, value: a}]}}
  expected: {spec: {containers: [{name: 2, value: b}, {name: 3, value: c}, {name: 1, value: a}]}}
- description: new items with no known order go first
  original: {spec: {containers: [{name: a}, {name: b}]}}
  patch: {spec: {containers: [{name: c}]}}
  expected: {spec: {containers: [{name: c}, {name: a}, {name: b}]}}
- description: delete all duplicate entries in a merging list
  original: {spec: {containers: [{name: 1}, {name: 1}, {name: 2, value: a}, {name: 3}, {name: 3}]}}
  patch: {spec: {containers: [{$patch: delete, name: 1}, {$patch: delete, name: 3}]}}
  expected: {spec: {containers: [{name: 2, value: a}]}}
- description: merge lists of maps with $setElementOrder
  original: {spec: {containers: [{name: 1, other: a}, {name: 2, other: b, value: 2}]}}
  patch: {spec: {$setElementOrder/containers: [{name: 4}, {name: 1}, {name: 2}, {name: 3}],
        containers: [{name: 4, value: 4}, {name: 3, value: 3}]}}
  expected: {spec: {containers: [{name: 4, value: 4}, {name: 1, other: a}, {name: 2, other: b,
            value: 2}, {name: 3, value: 3}]}}
- description: add field to map in merging list
  original: {spec: {containers: [{name: 1, other: a}, {name: 2, other: b, value: 2}]}}
  patch: {spec: {$setElementOrder/containers: [{name: 1}, {name: 2}], containers: [{name: 1,
            value: 1}]}}
  expected: {spec: {containers: [{name: 1, other: a, value: 1}, {name: 2, other: b, value: 2}]}}
- description: $setElementOrder contains item that is not present
  original: {spec: {containers: [{name: 1}, {name: 3}]}}
  patch: {spec: {$setElementOrder/containers: [{name: 3}, {name: 2}, {name: 1}], containers: [
          {name: 3, value: 3}, {name: 1, value: 1}]}}
  expected: {spec: {containers: [{name: 3, value: 3}, {name: 1, value: 1}]}}
- description: $setElementOrder alone reorders the items it names
  original: {spec: {containers: [{name: a}, {name: b}, {name: c}]}}
  patch: {spec: {$setElementOrder/containers: [{name: c}, {name: a}]}}
  expected: {spec: {containers: [{name: b}, {name: c}, {name: a}]}}
- description: list added to a new map loses its directives
  original: {}
  patch: {spec: {$setElementOrder/containers: [{name: x}], containers: [{image: i, name: x}]}}
  expected: {spec: {containers: [{image: i, name: x}]}}
- description: null deletes a field of a list element
  original: {spec: {containers: [{image: x, name: a}]}}
  patch: {spec: {containers: [{image: null, name: a}]}}
  expected: {spec: {containers: [{name: a}]}}
- description: directives and nulls stripped from a new list element
  original: {spec: {containers: [{name: a}]}}
  patch: {spec: {containers: [{env: [{$patch: delete, name: x}], gone: null, name: b, nested: {
              $patch: delete}}]}}
  expected: {spec: {containers: [{env: [], name: b}, {name: a}]}}
- description: unique scalars when merging lists
  original: {metadata: {finalizers: [1, 2]}}
  patch: {metadata: {finalizers: [2, 3]}}
  expected: {metadata: {finalizers: [1, 2, 3]}}
- description: preserve the order from the patch in a merging int list
  original: {metadata: {finalizers: [1, 2, 3]}}
  patch: {metadata: {finalizers: [3, 1, 2]}}
  expected: {metadata: {finalizers: [3, 1, 2]}}
- description: preserve the order from the patch in a merging int list 2
  original: {metadata: {finalizers: [1, 2, 3]}}
  patch: {metadata: {finalizers: [3, 1]}}
  expected: {metadata: {finalizers: [2, 3, 1]}}
- description: an empty merging list changes nothing
  original: {metadata: {finalizers: [1, 2]}}
  patch: {metadata: {finalizers: []}}
  expected: {metadata: {finalizers: [1, 2]}}
- description: $setElementOrder reorders an int list
  original: {metadata: {finalizers: [1, 3]}}
  patch: {metadata: {$setElementOrder/finalizers: [3, 2, 1]}}
  expected: {metadata: {finalizers: [3, 1]}}
- description: delete items in lists of scalars
  original: {metadata: {finalizers: [1, 2, 3, 4]}}
  patch: {metadata: {$deleteFromPrimitiveList/finalizers: [3], $setElementOrder/finalizers: [
          1, 2]}}
  expected: {metadata: {finalizers: [1, 2, 4]}}
- description: delete all duplicate items in lists of scalars
  original: {metadata: {finalizers: [1, 2, 3, 3, 4]}}
  patch: {metadata: {$deleteFromPrimitiveList/finalizers: [3], $setElementOrder/finalizers: [
          1, 2]}}
  expected: {metadata: {finalizers: [1, 2, 4]}}
- description: add and delete items in lists of scalars
  original: {metadata: {finalizers: [1, 2, 3, 4]}}
  patch: {metadata: {$deleteFromPrimitiveList/finalizers: [3], $setElementOrder/finalizers: [
          1, 2, 4], finalizers: [4]}}
  expected: {metadata: {finalizers: [1, 2, 4]}}
- description: delete from primitive list by value
  original: {metadata: {finalizers: [a, b]}}
  patch: {metadata: {$deleteFromPrimitiveList/finalizers: [a, zzz]}}
  expected: {metadata: {finalizers: [b]}}
- description: null deletion list deletes the field
  original: {metadata: {finalizers: [a]}}
  patch: {metadata: {$deleteFromPrimitiveList/finalizers: null}}
  expected: {metadata: {}}
- description: deletion list for a missing field is ignored
  original: {metadata: {}}
  patch: {metadata: {$deleteFromPrimitiveList/finalizers: [a]}}
  expected: {metadata: {}}
- description: deletion list against a non-list is ignored
  original: {metadata: {finalizers: x}}
  patch: {metadata: {$deleteFromPrimitiveList/finalizers: [x]}}
  expected: {metadata: {finalizers: x}}
- description: deletion list on an atomic list replaces it (upstream quirk)
  original: {spec: {containers: [{args: [a, b], name: c}]}}
  patch: {spec: {containers: [{$deleteFromPrimitiveList/args: [a], name: c}]}}
  expected: {spec: {containers: [{args: [a], name: c}]}}
- description: replace list of scalars
  original: {spec: {tolerations: [1, 2]}}
  patch: {spec: {tolerations: [2, 3]}}
  expected: {spec: {tolerations: [2, 3]}}
- description: atomic list of maps replaced, nulls dropped
  original: {spec: {tolerations: [{key: a}]}}
  patch: {spec: {tolerations: [{key: b, value: null}, {key: c}]}}
  expected: {spec: {tolerations: [{key: b}, {key: c}]}}
- description: retainKeys list can add a field when no retainKeys directive present
  original: {spec: {volumes: [{name: bar}, {name: foo}]}}
  patch: {spec: {volumes: [{name: foo, value: a}]}}
  expected: {spec: {volumes: [{name: bar}, {name: foo, value: a}]}}
- description: retainKeys list can delete a field when no retainKeys directive present
  original: {spec: {volumes: [{name: bar}, {name: foo, value: a}]}}
  patch: {spec: {volumes: [{name: foo, value: null}]}}
  expected: {spec: {volumes: [{name: bar}, {name: foo}]}}
- description: retainKeys inside a merging list element
  original: {spec: {volumes: [{emptyDir: {}, name: v}]}}
  patch: {spec: {$setElementOrder/volumes: [{name: v}], volumes: [{$retainKeys: [name, secret],
            name: v, secret: {secretName: s}}]}}
  expected: {spec: {volumes: [{name: v, secret: {secretName: s}}]}}
"""
)


@pytest.mark.parametrize("case", SMP_CASES, ids=case_id)
def test_strategic_merge(case: dict[str, Any]) -> None:
    assert smp(case["original"], case["patch"]) == case["expected"]


RETAIN_CASES = yaml_cases(
    r"""
- description: retainKeys map can add a field when no retainKeys directive present
  original: {spec: {strategy: {name: foo}}}
  patch: {spec: {strategy: {value: bar}}}
  expected: {spec: {strategy: {name: foo, value: bar}}}
- description: retainKeys map can delete a field when no retainKeys directive present
  original: {spec: {strategy: {name: foo, value: a}}}
  patch: {spec: {strategy: {value: null}}}
  expected: {spec: {strategy: {name: foo}}}
- description: retainKeys map merge an empty map
  original: {spec: {strategy: {name: foo, value: a}}}
  patch: {spec: {strategy: {}}}
  expected: {spec: {strategy: {name: foo, value: a}}}
- description: retainKeys drops unlisted keys
  original: {spec: {strategy: {name: foo, other: x, value: a}}}
  patch: {spec: {strategy: {$retainKeys: [name, value], value: b}}}
  expected: {spec: {strategy: {name: foo, value: b}}}
- description: switch strategy to Recreate
  original: {spec: {strategy: {rollingUpdate: {maxSurge: 1}, type: RollingUpdate}}}
  patch: {spec: {strategy: {$retainKeys: [type], rollingUpdate: null, type: Recreate}}}
  expected: {spec: {strategy: {type: Recreate}}}
- description: empty retainKeys clears the map
  original: {spec: {strategy: {a: 1}}}
  patch: {spec: {strategy: {$retainKeys: []}}}
  expected: {spec: {strategy: {}}}
- description: retainKeys on a new map is dropped
  original: {}
  patch: {spec: {strategy: {$retainKeys: [type], type: Recreate}}}
  expected: {spec: {strategy: {type: Recreate}}}
"""
)


@pytest.mark.parametrize("case", RETAIN_CASES, ids=case_id)
def test_retain_keys_map(case: dict[str, Any]) -> None:
    assert smp(case["original"], case["patch"], "Deployment") == case["expected"]


def test_strategic_merge_leaves_its_arguments_alone() -> None:
    original = containers("a", "b")
    patch = {
        "spec": {
            "$setElementOrder/containers": [{"name": "b"}],
            "containers": [{"name": "b", "x": 1}],
        }
    }
    before = (copy.deepcopy(original), copy.deepcopy(patch))
    assert strategic_merge(original, patch, "Pod") == containers("a", {"name": "b", "x": 1})
    assert (original, patch) == before


def test_empty_and_null_bodies_change_nothing() -> None:
    assert apply_patch(SMP, SERVICE, b"{}", "Service") == SERVICE
    assert apply_patch(SMP, SERVICE, b"null", "Service") == SERVICE
    assert apply_patch(SMP, SERVICE, b" \n{ } \n", "Service") == SERVICE


def test_top_level_delete_empties_the_object() -> None:
    assert smp(SERVICE, {"$patch": "delete"}, "Service") == {}


# --------------------------------------------------------------------------- SMP errors

SMP_ERROR_CASES = yaml_cases(
    r"""
- original: {spec: {containers: [{name: 1, value: a}]}}
  patch: {spec: {containers: [{value: b}]}}
  code: 500
  reason: ''
  message: 'map: map[value:b] does not contain declared merge key: name'
- kind: Service
  original: {spec: {ports: [{name: http, port: 80}]}}
  patch: {spec: {ports: [{$patch: delete}]}}
  code: 500
  reason: ''
  message: 'map: map[$patch:delete] does not contain declared merge key: port'
- original: {spec: {containers: [{name: 1}, {name: 3}, {name: 2}]}}
  patch: {spec: {$setElementOrder/containers: [{name: 1}, {name: 2}, {name: 3}], containers: [
          {name: 3, value: 3}, {name: 1, value: 1}]}}
  code: 500
  reason: ''
  message: "the order in patch list:\n[map[name:3 value:3] map[name:1 value:1]]\n doesn't \
    match $setElementOrder list:\n[map[name:1] map[name:2] map[name:3]]"
- original: {metadata: {finalizers: [1, 3, 2]}}
  patch: {metadata: {$setElementOrder/finalizers: [1, 2, 3], finalizers: [3, 1]}}
  code: 500
  reason: ''
  message: "the order in patch list:\n[3 1]\n doesn't match $setElementOrder list:\n[1 2 3]"
- original: {spec: {containers: [{name: a}]}}
  patch: {spec: {$setElementOrder/containers: [{image: x}], containers: [{name: a}]}}
  code: 500
  reason: ''
  message: 'map: map[image:x] does not contain declared merge key: name'
- original: {spec: {containers: [{name: a}]}}
  patch: {spec: {$setElementOrder/containers: [a], containers: [{name: a}]}}
  code: 500
  reason: ''
  message: expected a map[string]interface {}, but received a string
- original: {spec: {containers: [{name: a}]}}
  patch: {spec: {$setElementOrder/containers: a}}
  code: 500
  reason: ''
  message: expected a []interface {}, but received a string
- original: {spec: {containers: [{name: a}]}}
  patch: {spec: {$setElementOrder/containers: [{name: a}], containers: null}}
  code: 500
  reason: ''
  message: expected a []interface {}, but received a %!s(<nil>)
- original: {spec: {containers: {name: a}}}
  patch: {spec: {$setElementOrder/containers: [{name: a}]}}
  code: 500
  reason: ''
  message: expected a []interface {}, but received a map[string]interface {}
- original: {spec: {containers: []}}
  patch: {spec: {$setElementOrder/containers: [], containers: []}}
  code: 500
  reason: ''
  message: no elements in any of the given slices
- original: {spec: {containers: [{name: a}]}}
  patch: {spec: {containers: [{$patch: merge, name: a}]}}
  code: 500
  reason: ''
  message: merging lists cannot yet be specified in the patch
- original: {spec: {containers: [{name: a}]}}
  patch: {spec: {containers: [{$patch: keep, name: a}]}}
  code: 500
  reason: ''
  message: 'unknown patch type: keep in map: map[$patch:keep name:a]'
- original: {spec: {containers: [{name: a}]}}
  patch: {spec: {containers: [{$patch: 1, name: a}]}}
  code: 500
  reason: ''
  message: 'unknown patch type: %!s(int64=1) in map: map[$patch:1 name:a]'
- original: {spec: {a: 1}}
  patch: {spec: {$patch: merge}}
  code: 500
  reason: ''
  message: 'unknown patch type: merge in map: map[$patch:merge]'
- original: {spec: {containers: [{name: a}]}}
  patch: {spec: {containers: [b]}}
  code: 500
  reason: ''
  message: 'list element types are not identical: [[map[name:a]] [b]]'
- original: {metadata: {finalizers: [a]}}
  patch: {metadata: {finalizers: [1.5]}}
  code: 500
  reason: ''
  message: 'list element types are not identical: [[a] [1.5]]'
- original: {metadata: {finalizers: [1]}}
  patch: {metadata: {finalizers: [1000000.0]}}
  code: 500
  reason: ''
  message: 'list element types are not identical: [[1] [1e+06]]'
- original: {metadata: {finalizers: [a]}}
  patch: {metadata: {finalizers: [[b]]}}
  code: 500
  reason: ''
  message: 'list element types are not identical: [[a] [[b]]]'
- original: {metadata: {finalizers: []}}
  patch: {metadata: {finalizers: [[b]]}}
  code: 422
  reason: Invalid
  message: the server rejected our request due to an error in our request
- original: {spec: {containers: [{name: a}]}}
  patch: {spec: {containers: [null]}}
  code: 500
  reason: InternalError
  message: This request caused apiserver to panic. Look in the logs for details.
- original: {spec: {volumes: [{name: 1}, 2]}}
  patch: {spec: {volumes: [{name: 1}]}}
  code: 500
  reason: ''
  message: 'list element types are not identical: [[map[name:1] 2] [map[name:1]]]'
- original: {spec: {strategy: {a: 1}}}
  patch: {spec: {strategy: {$retainKeys: a}}}
  code: 400
  reason: BadRequest
  message: invalid patch format of retainKeys
- original: {spec: {strategy: {a: 1}}}
  patch: {spec: {strategy: {$retainKeys: [a], b: 2}}}
  code: 400
  reason: BadRequest
  message: invalid patch format of retainKeys
- original: {metadata: {finalizers: [a]}}
  patch: {metadata: {$deleteFromPrimitiveListX/finalizers: [a]}}
  code: 400
  reason: BadRequest
  message: invalid patch format of primitive list
- original: {metadata: {finalizers: [a]}}
  patch: {metadata: {$deleteFromPrimitiveList: [a]}}
  code: 400
  reason: BadRequest
  message: invalid patch format of primitive list
- original: {spec: {containers: [{name: a}]}}
  patch: {spec: {$setElementOrderX/containers: []}}
  code: 400
  reason: BadRequest
  message: invalid patch format of setElementOrder list
"""
)


@pytest.mark.parametrize("case", SMP_ERROR_CASES, ids=case_id)
def test_strategic_merge_errors(case: dict[str, Any]) -> None:
    body = json.dumps(case["patch"]).encode()
    error = failure(SMP, case["original"], body, case.get("kind", "Pod"))
    assert (error.code, error.reason, error.message) == (
        case["code"],
        case["reason"],
        case["message"],
    )


def test_422_from_smp_has_empty_details() -> None:
    error = failure(SMP, finalizers(), b'{"metadata":{"finalizers":[[1]]}}')
    assert error.to_status() == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": GENERIC_422,
        "reason": "Invalid",
        "code": 422,
        "details": {},
    }


# --------------------------------------------------------------------------- body decoding


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"[1]", "json: cannot unmarshal array into Go value of type map[string]interface {}"),
        (b'"x"', "json: cannot unmarshal string into Go value of type map[string]interface {}"),
        (b"12", "json: cannot unmarshal number into Go value of type map[string]interface {}"),
        (b"true", "json: cannot unmarshal bool into Go value of type map[string]interface {}"),
        (b"", "unexpected end of JSON input"),
        (b"   ", "unexpected end of JSON input"),
        (b"{", "unexpected end of JSON input"),
        (b'{"a":', "unexpected end of JSON input"),
        (b'{"a', "unexpected end of JSON input"),
        (b'{"a":"\\u12', "unexpected end of JSON input"),
        (b"{'a':1}", "invalid character '\\'' looking for beginning of object key string"),
        (b"{a:1}", "invalid character 'a' looking for beginning of object key string"),
        (b'{"a":1,}', "invalid character '}' looking for beginning of object key string"),
        (b'{"a" 1}', "invalid character '1' after object key"),
        (b'{"a":1 "b":2}', "invalid character '\"' after object key:value pair"),
        (b'{"a":[1 2]}', "invalid character '2' after array element"),
        (b'{"a":[1,]}', "invalid character ']' looking for beginning of value"),
        (b'{"a":}', "invalid character '}' looking for beginning of value"),
        (b"{}}", "invalid character '}' after top-level value"),
        (b"{} {}", "invalid character '{' after top-level value"),
        (b"garbage", "invalid character 'g' looking for beginning of value"),
        (b'{"a":tru}', "invalid character '}' in literal true (expecting 'e')"),
        (b'{"a":nul}', "invalid character '}' in literal null (expecting 'l')"),
        (b'{"a":fx}', "invalid character 'x' in literal false (expecting 'a')"),
        (b'{"a":NaN}', "invalid character 'N' looking for beginning of value"),
        (b'{"a":-}', "invalid character '}' in numeric literal"),
        (b'{"a":01}', "invalid character '1' after object key:value pair"),
        (b'{"a":1.}', "invalid character '}' after decimal point in numeric literal"),
        (b'{"a":1e}', "invalid character '}' in exponent of numeric literal"),
        (b'{"a":+1}', "invalid character '+' looking for beginning of value"),
        (b'{"a":"\\x"}', "invalid character 'x' in string escape code"),
        (b'{"a":"\\u12zz"}', "invalid character 'z' in \\u hexadecimal character escape"),
        (b'{"a":"\n"}', "invalid character '\\n' in string literal"),
        (b'{"a":"\x01"}', "invalid character '\\x01' in string literal"),
        (b"\xc3\xa9", "invalid character '\u00c3' looking for beginning of value"),
        (b"\x00", "invalid character '\\x00' looking for beginning of value"),
        (b"[" * 101 + b"]" * 101, "invalid character '[' exceeded max depth"),
    ],
)
def test_smp_body_errors(body: bytes, message: str) -> None:
    error = failure(SMP, SERVICE, body, "Service")
    assert (error.code, error.reason, error.message) == (400, "BadRequest", message)


def test_merge_patch_body_errors_carry_the_decoding_prefix() -> None:
    error = failure(MERGE, SERVICE, b"[1]")
    assert error.message == (
        "error decoding patch: json: cannot unmarshal array into Go value of type "
        "map[string]interface {}"
    )
    assert (
        failure(MERGE, SERVICE, b"{").message
        == "error decoding patch: unexpected end of JSON input"
    )
    assert failure(MERGE, SERVICE, b"null").message == "Invalid JSON Patch"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            b'{"op":"add"}',
            "json: cannot unmarshal object into Go value of type []handlers.jsonPatchOp",
        ),
        (b'"x"', "json: cannot unmarshal string into Go value of type []handlers.jsonPatchOp"),
        (b'["add"]', "json: cannot unmarshal string into Go value of type handlers.jsonPatchOp"),
        (b"[[]]", "json: cannot unmarshal array into Go value of type handlers.jsonPatchOp"),
        (
            b'[{"op":1}]',
            "json: cannot unmarshal number into Go struct field jsonPatchOp.op of type string",
        ),
        (
            b'[{"path":["a"],"op":"add"}]',
            "json: cannot unmarshal array into Go struct field jsonPatchOp.path of type string",
        ),
        (
            b'[{"op":"move","from":true}]',
            "json: cannot unmarshal bool into Go struct field jsonPatchOp.from of type string",
        ),
        (b"[", "unexpected end of JSON input"),
    ],
)
def test_json_patch_body_errors(body: bytes, message: str) -> None:
    error = failure(JSON_PATCH, SERVICE, body)
    assert (error.code, error.reason, error.message) == (
        400,
        "BadRequest",
        f"error decoding patch: {message}",
    )


@pytest.mark.parametrize(
    "content_type",
    ["application/json", "application/apply-patch+yaml", "text/plain", ""],
)
def test_unsupported_media_types(content_type: str) -> None:
    error = failure(content_type, SERVICE, b"{}")
    assert (error.code, error.reason) == (415, "UnsupportedMediaType")
    assert error.message == (
        "the body of the request was in an unknown format - accepted media types include: "
        "application/json-patch+json, application/merge-patch+json, "
        "application/strategic-merge-patch+json"
    )


def test_content_type_parameters_are_ignored() -> None:
    result = apply_patch(
        f"{MERGE}; charset=utf-8", SERVICE, b'{"spec":{"type":"NodePort"}}', "Service"
    )
    assert result["spec"]["type"] == "NodePort"


# --------------------------------------------------------------------------- merge patch (RFC 7386)


MERGE_CASES = yaml_cases(
    r"""
- original: {a: b}
  patch: {a: c}
  expected: {a: c}
- original: {a: b}
  patch: {b: c}
  expected: {a: b, b: c}
- original: {a: b}
  patch: {a: null}
  expected: {}
- original: {a: b, b: c}
  patch: {a: null}
  expected: {b: c}
- original: {a: [b]}
  patch: {a: c}
  expected: {a: c}
- original: {a: c}
  patch: {a: [b]}
  expected: {a: [b]}
- original: {a: {b: c}}
  patch: {a: {b: d, c: null}}
  expected: {a: {b: d}}
- original: {a: [{b: c}]}
  patch: {a: [1]}
  expected: {a: [1]}
- original: {e: null}
  patch: {a: 1}
  expected: {a: 1, e: null}
- original: {}
  patch: {a: {bb: {ccc: null}}}
  expected: {a: {bb: {}}}
- original: {}
  patch: {a: [{x: null, y: 1}, null]}
  expected: {a: [{y: 1}, null]}
- original: {a: x}
  patch: {a: {b: null, c: 1}}
  expected: {a: {c: 1}}
- original: {a: {b: 1}}
  patch: {a: [{c: null}]}
  expected: {a: [{c: null}]}
- original: {spec: {ports: [{port: 80}, {port: 81}]}}
  patch: {spec: {ports: [{port: 82}]}}
  expected: {spec: {ports: [{port: 82}]}}
- original: {spec: {replicas: 1}}
  patch: {spec: {replicas: 2}}
  expected: {spec: {replicas: 2}}
- original: {a: 1}
  patch: {}
  expected: {a: 1}
"""
)


@pytest.mark.parametrize("case", MERGE_CASES, ids=case_id)
def test_merge_patch(case: dict[str, Any]) -> None:
    body = json.dumps(case["patch"]).encode()
    assert apply_patch(MERGE, case["original"], body, "Pod") == case["expected"]


# --------------------------------------------------------------------------- JSON patch (RFC 6902)

DOC = {"foo": "bar", "baz": [1, 2, 3], "a/b": 1, "m~n": 2, "obj": {"x": {"y": 1}}}


@pytest.mark.parametrize(
    ("ops", "expected"),
    [
        ([{"op": "add", "path": "/new", "value": 1}], {**DOC, "new": 1}),
        ([{"op": "add", "path": "/foo", "value": [1]}], {**DOC, "foo": [1]}),
        ([{"op": "add", "path": "/baz/0", "value": 0}], {**DOC, "baz": [0, 1, 2, 3]}),
        ([{"op": "add", "path": "/baz/3", "value": 4}], {**DOC, "baz": [1, 2, 3, 4]}),
        ([{"op": "add", "path": "/baz/-", "value": 4}], {**DOC, "baz": [1, 2, 3, 4]}),
        ([{"op": "add", "path": "/baz/-1", "value": 9}], {**DOC, "baz": [1, 2, 3, 9]}),
        ([{"op": "add", "path": "/baz/-4", "value": 9}], {**DOC, "baz": [9, 1, 2, 3]}),
        (
            [{"op": "add", "path": "/obj/x/z", "value": {"k": "v"}}],
            {**DOC, "obj": {"x": {"y": 1, "z": {"k": "v"}}}},
        ),
        ([{"op": "add", "path": "/", "value": 5}], {**DOC, "": 5}),
        ([{"op": "add", "path": "/nothing"}], {**DOC, "nothing": None}),
        ([{"op": "add", "path": "/a~1b", "value": 9}], {**DOC, "a/b": 9}),
        ([{"op": "add", "path": "/m~0n", "value": 9}], {**DOC, "m~n": 9}),
        ([{"op": "add", "path": "/~01", "value": 9}], {**DOC, "~1": 9}),
        ([{"op": "remove", "path": "/foo"}], {k: v for k, v in DOC.items() if k != "foo"}),
        ([{"op": "remove", "path": "/baz/1"}], {**DOC, "baz": [1, 3]}),
        ([{"op": "remove", "path": "/baz/-1"}], {**DOC, "baz": [1, 2]}),
        ([{"op": "replace", "path": "/foo", "value": "qux"}], {**DOC, "foo": "qux"}),
        ([{"op": "replace", "path": "/baz/2", "value": 30}], {**DOC, "baz": [1, 2, 30]}),
        ([{"op": "replace", "path": "/absent", "value": 1}], {**DOC, "absent": 1}),
        (
            [{"op": "move", "from": "/foo", "path": "/moved"}],
            {**{k: v for k, v in DOC.items() if k != "foo"}, "moved": "bar"},
        ),
        ([{"op": "move", "from": "/baz/0", "path": "/baz/-"}], {**DOC, "baz": [2, 3, 1]}),
        ([{"op": "copy", "from": "/obj", "path": "/copy"}], {**DOC, "copy": {"x": {"y": 1}}}),
        ([{"op": "copy", "from": "/baz/0", "path": "/baz/0"}], {**DOC, "baz": [1, 1, 2, 3]}),
        ([{"op": "test", "path": "/foo", "value": "bar"}], DOC),
        ([{"op": "test", "path": "/baz", "value": [1, 2.0, 3]}], DOC),
        ([{"op": "test", "path": "/obj", "value": {"x": {"y": 1}}}], DOC),
        ([{"op": "test", "path": "/absent", "value": None}], DOC),
        (
            [
                {"op": "test", "path": "/foo", "value": "bar"},
                {"op": "replace", "path": "/foo", "value": "x"},
            ],
            {**DOC, "foo": "x"},
        ),
        ([], DOC),
    ],
)
def test_json_patch(ops: list[dict[str, Any]], expected: dict[str, Any]) -> None:
    assert apply_patch(JSON_PATCH, DOC, json.dumps(ops).encode(), "Pod") == expected


def test_null_json_patch_is_a_no_op() -> None:
    assert apply_patch(JSON_PATCH, DOC, b"null", "Pod") == DOC


def test_json_patch_on_a_service() -> None:
    ops = [
        {"op": "replace", "path": "/spec/ports/0/port", "value": 8080},
        {"op": "add", "path": "/metadata/labels/tier", "value": "front"},
        {"op": "remove", "path": "/metadata/annotations"},
    ]
    result = apply_patch(JSON_PATCH, SERVICE, json.dumps(ops).encode(), "Service")
    assert result["spec"]["ports"][0]["port"] == 8080
    assert result["metadata"]["labels"] == {"app": "web", "tier": "front"}
    assert "annotations" not in result["metadata"]


@pytest.mark.parametrize(
    "ops",
    [
        [{"op": "test", "path": "/foo", "value": "nope"}],
        [{"op": "test", "path": "/foo"}],
        [{"op": "test", "path": "/absent", "value": 1}],
        [{"op": "test", "path": "/baz", "value": [1, 2]}],
        [{"op": "test", "path": "/obj", "value": {"x": {"y": True}}}],
        [{"op": "test", "path": "/baz/0", "value": True}],
        [{"op": "add", "path": "/missing/child", "value": 1}],
        [{"op": "add", "path": "/baz/4", "value": 1}],
        [{"op": "add", "path": "/baz/-5", "value": 1}],
        [{"op": "add", "path": "/baz/x", "value": 1}],
        [{"op": "add", "path": "/foo/x", "value": 1}],
        [{"op": "add", "path": "", "value": 1}],
        [{"op": "add", "path": "foo", "value": 1}],
        [{"op": "add", "value": 1}],
        [{"op": "remove", "path": "/absent"}],
        [{"op": "remove", "path": "/baz/3"}],
        [{"op": "remove", "path": "/baz/-"}],
        [{"op": "remove", "path": "/obj/nope/deeper"}],
        [{"op": "replace", "path": "/baz/3", "value": 1}],
        [{"op": "replace", "path": "/nope/x", "value": 1}],
        [{"op": "move", "from": "/absent", "path": "/x"}],
        [{"op": "move", "from": "/obj", "path": "/obj/x/inside"}],
        [{"op": "copy", "from": "/baz/7", "path": "/x"}],
        [{"op": "copy", "from": "/foo", "path": "/nope/x"}],
        [{"op": "frobnicate", "path": "/foo"}],
        [{"path": "/foo"}],
        [None],
        [
            {"op": "replace", "path": "/foo", "value": "x"},
            {"op": "test", "path": "/foo", "value": "bar"},
        ],
    ],
)
def test_json_patch_failures_are_generic_422(ops: list[Any]) -> None:
    error = failure(JSON_PATCH, DOC, json.dumps(ops).encode())
    assert (error.code, error.reason, error.message, error.details) == (
        422,
        "Invalid",
        GENERIC_422,
        {},
    )


def test_too_many_json_patch_operations() -> None:
    ops = [{"op": "test", "path": "/foo", "value": "bar"}] * 10001
    error = failure(JSON_PATCH, DOC, json.dumps(ops).encode())
    assert (error.code, error.reason) == (413, "RequestEntityTooLarge")
    assert error.message == (
        "Request entity too large: The allowed maximum operations in a JSON patch is 10000, "
        "got 10001"
    )
    assert apply_patch(JSON_PATCH, DOC, json.dumps(ops[:10000]).encode(), "Pod") == DOC


# --------------------------------------------------------------------------- Go rendering


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, "<nil>"),
        (True, "true"),
        (80, "80"),
        ("x y", "x y"),
        (1.5, "1.5"),
        (100000.0, "100000"),
        (1000000.0, "1e+06"),
        (1234567.0, "1.234567e+06"),
        (0.0001, "0.0001"),
        (0.00001, "1e-05"),
        (-2.5e-7, "-2.5e-07"),
        (0.0, "0"),
        ([1, "a", [True]], "[1 a [true]]"),
        ({"b": 1, "a": {"z": None}}, "map[a:map[z:<nil>] b:1]"),
        ({}, "map[]"),
    ],
)
def test_go_v(value: Any, text: str) -> None:
    assert go_v(value) == text


# --------------------------------------------------------------------------- fuzz

KEYS = [
    "spec",
    "metadata",
    "containers",
    "name",
    "ports",
    "port",
    "finalizers",
    "volumes",
    "env",
    "$patch",
    "$retainKeys",
    "$setElementOrder/containers",
    "$setElementOrder/finalizers",
    "$deleteFromPrimitiveList/finalizers",
    "$setElementOrder/ports",
    "delete",
    "replace",
]
SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-3, 3), st.sampled_from(KEYS), st.floats(0, 2)
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.sampled_from(KEYS), inner, max_size=4)
    ),
    max_leaves=20,
)
OBJECTS = st.dictionaries(st.sampled_from(KEYS), VALUES, max_size=4)


@given(original=OBJECTS, patch=OBJECTS, kind=st.sampled_from(["Pod", "Service", "Deployment"]))
@settings(max_examples=700, deadline=None)
def test_fuzz_strategic_merge_raises_only_status_errors(
    original: dict[str, Any], patch: dict[str, Any], kind: str
) -> None:
    before = copy.deepcopy(original)
    for content_type in (SMP, MERGE):
        try:
            result = apply_patch(content_type, original, json.dumps(patch).encode(), kind)
        except StatusError as err:
            assert err.code in (400, 422, 500)
        else:
            assert isinstance(result, dict)
            json.dumps(result)
    assert original == before


OPS = st.fixed_dictionaries(
    {
        "op": st.sampled_from(["add", "remove", "replace", "move", "copy", "test", "x"]),
        "path": st.sampled_from(
            ["/foo", "/baz/0", "/baz/-", "/obj/x", "/obj/x/y", "/a~1b", "", "/"]
        ),
    },
    optional={"value": VALUES, "from": st.sampled_from(["/foo", "/baz/1", "/obj", "/nope"])},
)


@given(st.lists(OPS, max_size=5))
@settings(max_examples=500, deadline=None)
def test_fuzz_json_patch_raises_only_status_errors(ops: list[dict[str, Any]]) -> None:
    try:
        apply_patch(JSON_PATCH, DOC, json.dumps(ops).encode(), "Pod")
    except StatusError as err:
        assert err.code == 422


@given(st.binary(max_size=64), st.sampled_from([SMP, MERGE, JSON_PATCH]))
@settings(max_examples=500)
def test_fuzz_random_bodies_raise_only_status_errors(body: bytes, content_type: str) -> None:
    try:
        apply_patch(content_type, SERVICE, body, "Service")
    except StatusError as err:
        assert err.code in (400, 422, 500)


@given(st.text(alphabet='{}[]",:0123456789.-+eEtrufalsn \\/u\n', max_size=24))
@settings(max_examples=800)
def test_fuzz_syntax_checker_agrees_with_python_json(text: str) -> None:
    try:
        json.loads(text)
        valid = True
    except ValueError:
        valid = False
    try:
        apply_patch(MERGE, {}, text.encode(), "Pod")
        accepted = True
    except StatusError as err:
        accepted = not (
            err.code == 400
            and "error decoding patch: " in err.message
            and "unmarshal" not in err.message
        )
    assert accepted == valid
