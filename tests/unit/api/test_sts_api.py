"""apps/v1 StatefulSet and ControllerRevision in the API: defaults, validation, decoding, tables.

Expected messages are upstream's (pkg/apis/apps/validation, apimachinery's field errors and
printers.go), rendered as kube-apiserver 1.32 renders them.
"""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from kubesvc.api import defaults, validation
from kubesvc.api.printers import columns, row_cells
from kubesvc.api.resources import lookup
from kubesvc.api.schema import decode_body, format_strict_error

Obj = dict[str, Any]
NOW = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)

WEB: Obj = {
    "apiVersion": "apps/v1",
    "kind": "StatefulSet",
    "metadata": {"name": "web", "namespace": "default"},
    "spec": {
        "selector": {"matchLabels": {"app": "nginx"}},
        "serviceName": "nginx",
        "replicas": 3,
        "template": {
            "metadata": {"labels": {"app": "nginx"}},
            "spec": {
                "containers": [
                    {
                        "name": "nginx",
                        "image": "registry.k8s.io/nginx-slim:0.24",
                        "ports": [{"containerPort": 80, "name": "web"}],
                    }
                ]
            },
        },
        "volumeClaimTemplates": [
            {
                "metadata": {"name": "www"},
                "spec": {
                    "accessModes": ["ReadWriteOnce"],
                    "resources": {"requests": {"storage": "1Gi"}},
                },
            }
        ],
    },
}


def defaulted(**spec: Any) -> Obj:
    obj = copy.deepcopy(WEB)
    obj["spec"].update(spec)
    defaults.apply_defaults("StatefulSet", obj)
    return obj


def errors(obj: Obj, old: Obj | None = None) -> list[str]:
    return [str(e) for e in validation.validate("StatefulSet", obj, old)]


def test_resource_table_entry() -> None:
    res = lookup("apps", "statefulsets")
    assert res is not None
    assert (res.kind, res.short_names, res.categories) == ("StatefulSet", ("sts",), ("all",))
    assert res.subresources == ("status", "scale")
    assert res.key("default", "web") == "/registry/statefulsets/default/web"
    revisions = lookup("apps", "controllerrevisions")
    assert revisions is not None and revisions.kind == "ControllerRevision"


def test_defaults() -> None:
    spec = defaulted()["spec"]
    assert spec["podManagementPolicy"] == "OrderedReady"
    assert spec["updateStrategy"] == {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}}
    assert spec["revisionHistoryLimit"] == 10
    assert spec["persistentVolumeClaimRetentionPolicy"] == {
        "whenDeleted": "Retain",
        "whenScaled": "Retain",
    }
    template = spec["template"]["spec"]
    assert template["restartPolicy"] == "Always" and template["dnsPolicy"] == "ClusterFirst"
    assert template["containers"][0]["ports"][0]["protocol"] == "TCP"
    claim = spec["volumeClaimTemplates"][0]
    assert (claim["apiVersion"], claim["kind"]) == ("v1", "PersistentVolumeClaim")
    assert claim["spec"]["volumeMode"] == "Filesystem" and claim["status"] == {"phase": "Pending"}
    assert defaulted(replicas=None)["spec"]["replicas"] == 1


def test_defaults_keep_given_values_and_drop_alpha_fields() -> None:
    on_delete = defaulted(updateStrategy={"type": "OnDelete"})["spec"]["updateStrategy"]
    assert on_delete == {"type": "OnDelete"}
    typed = defaulted(updateStrategy={"type": "RollingUpdate"})["spec"]["updateStrategy"]
    assert typed == {"type": "RollingUpdate"}
    rolling = {"type": "RollingUpdate", "rollingUpdate": {"partition": 2, "maxUnavailable": 2}}
    kept = defaulted(updateStrategy=rolling, podManagementPolicy="Parallel")["spec"]
    assert kept["updateStrategy"]["rollingUpdate"] == {"partition": 2}
    assert kept["podManagementPolicy"] == "Parallel"
    twice = defaulted()
    again = copy.deepcopy(twice)
    defaults.apply_defaults("StatefulSet", again)
    assert again == twice


def test_valid_set() -> None:
    assert errors(defaulted()) == []


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            {"metadata": {"name": "web.v1"}},
            ['metadata.name: Invalid value: "web.v1": must not contain dots'],
        ),
        (
            {"spec": {"podManagementPolicy": "Burst"}},
            [
                "spec.podManagementPolicy: Invalid value: \"Burst\": must be 'OrderedReady' or "
                "'Parallel'"
            ],
        ),
        (
            {"spec": {"updateStrategy": {"type": "Recreate"}}},
            [
                "spec.updateStrategy: Invalid value: apps.StatefulSetUpdateStrategy{Type:"
                '"Recreate", RollingUpdate:(*apps.RollingUpdateStatefulSetStrategy)(nil)}: '
                "must be 'RollingUpdate' or 'OnDelete'"
            ],
        ),
        (
            {"spec": {"updateStrategy": {"type": "OnDelete", "rollingUpdate": {"partition": 1}}}},
            [
                "spec.updateStrategy.rollingUpdate: Invalid value: "
                "apps.RollingUpdateStatefulSetStrategy{Partition:1, "
                "MaxUnavailable:(*intstr.IntOrString)(nil)}: only allowed for updateStrategy "
                "'RollingUpdate'"
            ],
        ),
        (
            {"spec": {"updateStrategy": {"rollingUpdate": {"partition": -1}}}},
            [
                "spec.updateStrategy.rollingUpdate.partition: Invalid value: -1: must be "
                "greater than or equal to 0"
            ],
        ),
        (
            {"spec": {"persistentVolumeClaimRetentionPolicy": {"whenDeleted": "Keep"}}},
            [
                'spec.persistentVolumeClaimRetentionPolicy.whenDeleted: Unsupported value: "Keep"'
                ': supported values: "Retain", "Delete"'
            ],
        ),
        (
            {"spec": {"replicas": -1, "minReadySeconds": -2, "ordinals": {"start": -3}}},
            [
                "spec.replicas: Invalid value: -1: must be greater than or equal to 0",
                "spec.minReadySeconds: Invalid value: -2: must be greater than or equal to 0",
                "spec.ordinals.start: Invalid value: -3: must be greater than or equal to 0",
            ],
        ),
        (
            {"spec": {"selector": {"matchLabels": {"app": "other"}}}},
            [
                'spec.template.metadata.labels: Invalid value: map[string]string{"app":"nginx"}: '
                "`selector` does not match template `labels`"
            ],
        ),
        (
            {"spec": {"selector": {}}},
            [
                "spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string(nil)"
                ", MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: empty selector is "
                "invalid for statefulset"
            ],
        ),
        (
            {"spec": {"template": {"spec": {"restartPolicy": "Never"}}}},
            [
                'spec.template.spec.restartPolicy: Unsupported value: "Never": supported values: '
                '"Always"'
            ],
        ),
        (
            {"spec": {"template": {"spec": {"activeDeadlineSeconds": 5}}}},
            [
                "spec.template.spec.activeDeadlineSeconds: Forbidden: activeDeadlineSeconds in "
                "StatefulSet is not Supported"
            ],
        ),
    ],
)
def test_invalid(change: Obj, expected: list[str]) -> None:
    obj = copy.deepcopy(WEB)
    _merge(obj, change)
    defaults.apply_defaults("StatefulSet", obj)
    assert errors(obj) == expected


def test_missing_selector() -> None:
    obj = defaulted()
    del obj["spec"]["selector"]
    assert errors(obj) == [
        "spec.selector: Required value",
        'spec.template.metadata.labels: Invalid value: map[string]string{"app":"nginx"}: '
        "`selector` does not match template `labels`",
    ]


def _stored() -> Obj:
    old = defaulted()
    old["metadata"].update(uid="u1", resourceVersion="5", generation=1)
    old["metadata"]["creationTimestamp"] = "2024-01-01T00:00:00Z"
    return old


FORBIDDEN = (
    "spec: Forbidden: updates to statefulset spec for fields other than 'replicas', 'ordinals', "
    "'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' "
    "are forbidden"
)


@pytest.mark.parametrize(
    ("field", "value", "allowed"),
    [
        ("replicas", 5, True),
        ("minReadySeconds", 10, True),
        ("ordinals", {"start": 2}, True),
        ("updateStrategy", {"type": "OnDelete"}, True),
        (
            "persistentVolumeClaimRetentionPolicy",
            {"whenDeleted": "Delete", "whenScaled": "Retain"},
            True,
        ),
        ("serviceName", "other", False),
        ("podManagementPolicy", "Parallel", False),
        ("revisionHistoryLimit", 3, False),
        ("volumeClaimTemplates", [], False),
    ],
)
def test_update_changes_only_some_fields(field: str, value: Any, allowed: bool) -> None:
    old = _stored()
    new = copy.deepcopy(old)
    new["spec"][field] = value
    assert errors(new, old) == ([] if allowed else [FORBIDDEN])


def test_template_may_change_and_name_is_not_rechecked() -> None:
    old = _stored()
    new = copy.deepcopy(old)
    new["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:2"
    assert errors(new, old) == []


def test_status_update() -> None:
    old = _stored()
    old["status"] = {"replicas": 3, "collisionCount": 2}
    new = copy.deepcopy(old)
    new["status"] = {
        "replicas": 2,
        "readyReplicas": 3,
        "currentReplicas": -1,
        "availableReplicas": 3,
        "collisionCount": 1,
    }
    found = [str(e) for e in validation.validate_status_update("StatefulSet", new, old)]
    assert found == [
        "status.currentReplicas: Invalid value: -1: must be greater than or equal to 0",
        "status.readyReplicas: Invalid value: 3: cannot be greater than status.replicas",
        "status.availableReplicas: Invalid value: 3: cannot be greater than status.replicas",
        "status.collisionCount: Invalid value: 1: cannot be decremented",
    ]
    fine = copy.deepcopy(old)
    fine["status"] = {
        "replicas": 3,
        "readyReplicas": 2,
        "availableReplicas": 2,
        "collisionCount": 2,
    }
    assert validation.validate_status_update("StatefulSet", fine, old) == []


def test_controller_revision() -> None:
    revision = {
        "apiVersion": "apps/v1",
        "kind": "ControllerRevision",
        "metadata": {"name": "web-abc", "namespace": "default"},
        "revision": -1,
    }
    found = [str(e) for e in validation.validate("ControllerRevision", revision)]
    assert found == [
        "data: Required value: data is mandatory",
        "revision: Invalid value: -1: must be greater than or equal to 0",
    ]
    old = {**revision, "data": {"a": 1}, "revision": 1}
    old["metadata"] = {**revision["metadata"], "uid": "u", "resourceVersion": "1"}
    new = {**old, "data": {"a": 2}, "revision": 2}
    found = [str(e) for e in validation.validate("ControllerRevision", new, old)]
    assert found == [
        "data: Invalid value: runtime.RawExtension{Raw:[]uint8{0x7b, 0x22, 0x61, 0x22, 0x3a, "
        "0x32, 0x7d}, Object:runtime.Object(nil)}: field is immutable"
    ]
    assert validation.validate("ControllerRevision", {**new, "data": {"a": 1}}, old) == []


def test_strict_decoding() -> None:
    body = copy.deepcopy(WEB)
    body["spec"]["updateStrategy"] = {"type": "RollingUpdate", "rollingUpdate": {"partitoin": 1}}
    body["spec"]["volumeClaimTemplates"][0]["spec"]["storage"] = "1Gi"
    raw = json.dumps(body).encode()
    message = format_strict_error(
        "StatefulSet", "apps/v1", decode_body("StatefulSet", "apps/v1", raw)[1], raw
    )
    assert message == (
        'StatefulSet in version "v1" cannot be handled as a StatefulSet: strict decoding error: '
        'unknown field "spec.volumeClaimTemplates[0].spec.storage", '
        'unknown field "spec.updateStrategy.rollingUpdate.partitoin"'
    )
    body = copy.deepcopy(WEB)
    body["spec"]["replicas"] = "3"
    raw = json.dumps(body).encode()
    message = format_strict_error(
        "StatefulSet", "apps/v1", decode_body("StatefulSet", "apps/v1", raw)[1], raw
    )
    assert message == (
        'StatefulSet in version "v1" cannot be handled as a StatefulSet: json: cannot unmarshal '
        "string into Go struct field StatefulSetSpec.spec.replicas of type int32"
    )


def test_table_rows() -> None:
    assert [c["name"] for c in columns("StatefulSet")] == [
        "Name",
        "Ready",
        "Age",
        "Containers",
        "Images",
    ]
    assert [c["priority"] for c in columns("StatefulSet")] == [0, 0, 0, 1, 1]
    sts = defaulted()
    sts["metadata"]["creationTimestamp"] = (NOW - timedelta(minutes=5)).strftime(
        "%Y-%m-%dT%H:%M:%SZ"
    )
    sts["status"] = {"replicas": 3, "readyReplicas": 2}
    assert row_cells("StatefulSet", sts, NOW) == [
        "web",
        "2/3",
        "5m",
        "nginx",
        "registry.k8s.io/nginx-slim:0.24",
    ]
    assert row_cells("StatefulSet", {}, NOW)[:3] == ["", "0/1", "<unknown>"]

    assert [c["name"] for c in columns("ControllerRevision")] == [
        "Name",
        "Controller",
        "Revision",
        "Age",
    ]
    revision = {
        "metadata": {
            "name": "web-6cdc958bf",
            "creationTimestamp": "2024-06-01T11:00:00Z",
            "ownerReferences": [
                {"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "web", "controller": True}
            ],
        },
        "revision": 2,
    }
    assert row_cells("ControllerRevision", revision, NOW) == [
        "web-6cdc958bf",
        "statefulset.apps/web",
        2,
        "60m",
    ]
    orphan = {"metadata": {"name": "x"}, "revision": "bad"}
    assert row_cells("ControllerRevision", orphan, NOW)[1:3] == ["<none>", 0]


def _merge(target: Obj, change: Obj) -> None:
    for key, value in change.items():
        if isinstance(value, dict) and isinstance(target.get(key), dict) and value:
            _merge(target[key], value)
        else:
            target[key] = value
