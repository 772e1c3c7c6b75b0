"""Defaulting: the seeds' manifests come out as kube-apiserver stores them.

Each test feeds a manifest from the user's documents (or a small variant) through
`apply_defaults` (and, for Services, the allocator's `service_ip_families`) and compares the
whole resulting object, so a missing or extra default shows up as a diff.
"""

from __future__ import annotations

import base64
import copy
from typing import Any

import pytest

from kubesvc.api.defaults import (
    apply_defaults,
    image_pull_policy,
    pod_qos_class,
    service_ip_families,
)


def defaulted(kind: str, obj: dict[str, Any]) -> dict[str, Any]:
    obj = copy.deepcopy(obj)
    apply_defaults(kind, obj)
    if kind == "Service":
        service_ip_families(obj)
    return obj


MYAPP_SERVICE: dict[str, Any] = {
    "apiVersion": "v1",
    "kind": "Service",
    "metadata": {"name": "myapp", "namespace": "default"},
    "spec": {
        "type": "ClusterIP",
        "selector": {"app": "myapp", "release": "stabel"},
        "ports": [{"name": "http", "port": 80, "targetPort": 80}],
    },
}


def test_seed_cluster_ip_service() -> None:
    assert defaulted("Service", MYAPP_SERVICE) == {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "myapp", "namespace": "default"},
        "spec": {
            "type": "ClusterIP",
            "selector": {"app": "myapp", "release": "stabel"},
            "ports": [{"name": "http", "port": 80, "targetPort": 80, "protocol": "TCP"}],
            "sessionAffinity": "None",
            "internalTrafficPolicy": "Cluster",
            "ipFamilyPolicy": "SingleStack",
            "ipFamilies": ["IPv4"],
        },
        "status": {"loadBalancer": {}},
    }


def test_seed_node_port_service() -> None:
    manifest = copy.deepcopy(MYAPP_SERVICE)
    manifest["spec"]["type"] = "NodePort"
    spec = defaulted("Service", manifest)["spec"]
    assert spec["externalTrafficPolicy"] == "Cluster"
    assert spec["internalTrafficPolicy"] == "Cluster"
    assert "allocateLoadBalancerNodePorts" not in spec


def test_seed_headless_service() -> None:
    manifest = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "myapp-headless", "namespace": "default"},
        "spec": {
            "selector": {"app": "myapp"},
            "clusterIP": "None",
            "ports": [{"port": 80, "targetPort": 80}],
        },
    }
    assert defaulted("Service", manifest)["spec"] == {
        "selector": {"app": "myapp"},
        "clusterIP": "None",
        "clusterIPs": ["None"],
        "ports": [{"port": 80, "targetPort": 80, "protocol": "TCP"}],
        "sessionAffinity": "None",
        "type": "ClusterIP",
        "internalTrafficPolicy": "Cluster",
        "ipFamilyPolicy": "SingleStack",
        "ipFamilies": ["IPv4"],
    }


def test_headless_without_selector_requires_both_families() -> None:
    manifest = {"kind": "Service", "metadata": {"name": "db"}, "spec": {"clusterIP": "None"}}
    spec = defaulted("Service", manifest)["spec"]
    assert spec["ipFamilyPolicy"] == "RequireDualStack"
    assert spec["ipFamilies"] == ["IPv4", "IPv6"]


def test_seed_external_name_service() -> None:
    manifest = {
        "kind": "Service",
        "apiVersion": "v1",
        "metadata": {"name": "my-service-1", "namespace": "default"},
        "spec": {"type": "ExternalName", "externalName": "hub.atguigu.com"},
    }
    assert defaulted("Service", manifest) == {
        "kind": "Service",
        "apiVersion": "v1",
        "metadata": {"name": "my-service-1", "namespace": "default"},
        "spec": {
            "type": "ExternalName",
            "externalName": "hub.atguigu.com",
            "sessionAffinity": "None",
        },
        "status": {"loadBalancer": {}},
    }


def test_seed_hostnames_service_defaults_target_port_and_type() -> None:
    manifest = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "hostnames"},
        "spec": {"selector": {"app": "hostnames"}, "ports": [{"name": "default", "port": 80}]},
    }
    spec = defaulted("Service", manifest)["spec"]
    assert spec["type"] == "ClusterIP"
    assert spec["ports"] == [{"name": "default", "port": 80, "targetPort": 80, "protocol": "TCP"}]


def test_client_ip_affinity_gets_the_default_timeout() -> None:
    manifest = copy.deepcopy(MYAPP_SERVICE)
    manifest["spec"]["sessionAffinity"] = "ClientIP"
    spec = defaulted("Service", manifest)["spec"]
    assert spec["sessionAffinityConfig"] == {"clientIP": {"timeoutSeconds": 10800}}


def test_affinity_none_drops_the_config() -> None:
    manifest = copy.deepcopy(MYAPP_SERVICE)
    manifest["spec"]["sessionAffinityConfig"] = {"clientIP": {"timeoutSeconds": 60}}
    assert "sessionAffinityConfig" not in defaulted("Service", manifest)["spec"]


def test_load_balancer_defaults() -> None:
    manifest = copy.deepcopy(MYAPP_SERVICE)
    manifest["spec"]["type"] = "LoadBalancer"
    manifest["status"] = {
        "loadBalancer": {"ingress": [{"ip": "192.0.2.1"}, {"hostname": "lb.example"}]}
    }
    obj = defaulted("Service", manifest)
    assert obj["spec"]["allocateLoadBalancerNodePorts"] is True
    assert obj["spec"]["externalTrafficPolicy"] == "Cluster"
    assert obj["status"]["loadBalancer"]["ingress"] == [
        {"ip": "192.0.2.1", "ipMode": "VIP"},
        {"hostname": "lb.example"},
    ]


def test_external_ips_make_cluster_ip_externally_accessible() -> None:
    manifest = copy.deepcopy(MYAPP_SERVICE)
    manifest["spec"]["externalIPs"] = ["192.0.2.10"]
    assert defaulted("Service", manifest)["spec"]["externalTrafficPolicy"] == "Cluster"


def test_cluster_ips_follow_cluster_ip() -> None:
    manifest = copy.deepcopy(MYAPP_SERVICE)
    manifest["spec"]["clusterIP"] = "10.96.0.10"
    assert defaulted("Service", manifest)["spec"]["clusterIPs"] == ["10.96.0.10"]


MYAPP_DEPLOYMENT: dict[str, Any] = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "myapp-deploy", "namespace": "default"},
    "spec": {
        "replicas": 3,
        "selector": {"matchLabels": {"app": "myapp", "release": "stabel"}},
        "template": {
            "metadata": {"labels": {"app": "myapp", "release": "stabel", "env": "test"}},
            "spec": {
                "containers": [
                    {
                        "name": "myapp",
                        "image": "wangyanglinux/myapp:v2",
                        "imagePullPolicy": "IfNotPresent",
                        "ports": [{"name": "http", "containerPort": 80}],
                    }
                ]
            },
        },
    },
}


def test_seed_deployment() -> None:
    assert defaulted("Deployment", MYAPP_DEPLOYMENT) == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "myapp-deploy", "namespace": "default"},
        "spec": {
            "replicas": 3,
            "selector": {"matchLabels": {"app": "myapp", "release": "stabel"}},
            "template": {
                "metadata": {"labels": {"app": "myapp", "release": "stabel", "env": "test"}},
                "spec": {
                    "containers": [
                        {
                            "name": "myapp",
                            "image": "wangyanglinux/myapp:v2",
                            "imagePullPolicy": "IfNotPresent",
                            "ports": [{"name": "http", "containerPort": 80, "protocol": "TCP"}],
                            "resources": {},
                            "terminationMessagePath": "/dev/termination-log",
                            "terminationMessagePolicy": "File",
                        }
                    ],
                    "dnsPolicy": "ClusterFirst",
                    "restartPolicy": "Always",
                    "schedulerName": "default-scheduler",
                    "securityContext": {},
                    "terminationGracePeriodSeconds": 30,
                },
            },
            "strategy": {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"},
            },
            "revisionHistoryLimit": 10,
            "progressDeadlineSeconds": 600,
        },
        "status": {},
    }


def test_seed_hostnames_deployment_pulls_untagged_image_always() -> None:
    manifest = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "hostnames"},
        "spec": {
            "selector": {"matchLabels": {"app": "hostnames"}},
            "template": {
                "metadata": {"labels": {"app": "hostnames"}},
                "spec": {
                    "containers": [
                        {
                            "name": "hostnames",
                            "image": "k8s.gcr.io/serve_hostname",
                            "ports": [{"containerPort": 9376, "protocol": "TCP"}],
                        }
                    ]
                },
            },
        },
    }
    obj = defaulted("Deployment", manifest)
    assert obj["spec"]["replicas"] == 1
    container = obj["spec"]["template"]["spec"]["containers"][0]
    assert container["imagePullPolicy"] == "Always"
    assert "enableServiceLinks" not in obj["spec"]["template"]["spec"]


def test_recreate_strategy_gets_no_rolling_update() -> None:
    manifest = copy.deepcopy(MYAPP_DEPLOYMENT)
    manifest["spec"]["strategy"] = {"type": "Recreate"}
    assert defaulted("Deployment", manifest)["spec"]["strategy"] == {"type": "Recreate"}


def test_replica_set() -> None:
    manifest = {
        "kind": "ReplicaSet",
        "metadata": {"name": "web"},
        "spec": {"template": {"spec": {"containers": [{"name": "a", "image": "a:1"}]}}},
    }
    obj = defaulted("ReplicaSet", manifest)
    assert obj["spec"]["replicas"] == 1
    assert obj["spec"]["template"]["spec"]["restartPolicy"] == "Always"


def test_pod() -> None:
    manifest = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {
            "containers": [
                {
                    "name": "app",
                    "image": "nginx",
                    "readinessProbe": {"httpGet": {"port": 80}},
                    "env": [
                        {"name": "NODE", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}}
                    ],
                }
            ],
            "volumes": [{"name": "scratch"}, {"name": "cfg", "configMap": {"name": "cfg"}}],
        },
    }
    obj = defaulted("Pod", manifest)
    spec = obj["spec"]
    container = spec["containers"][0]
    assert container["imagePullPolicy"] == "Always"
    assert container["readinessProbe"] == {
        "httpGet": {"port": 80, "path": "/", "scheme": "HTTP"},
        "timeoutSeconds": 1,
        "periodSeconds": 10,
        "successThreshold": 1,
        "failureThreshold": 3,
    }
    assert container["env"][0]["valueFrom"]["fieldRef"]["apiVersion"] == "v1"
    assert spec["enableServiceLinks"] is True
    assert spec["volumes"] == [
        {"name": "scratch", "emptyDir": {}},
        {"name": "cfg", "configMap": {"name": "cfg", "defaultMode": 420}},
    ]
    assert obj["status"] == {"phase": "Pending", "qosClass": "BestEffort"}


def test_pod_requests_default_to_limits() -> None:
    manifest = {
        "kind": "Pod",
        "metadata": {"name": "web"},
        "spec": {
            "containers": [
                {
                    "name": "app",
                    "image": "a:1",
                    "resources": {"limits": {"cpu": "1", "memory": "1Gi"}},
                }
            ]
        },
    }
    obj = defaulted("Pod", manifest)
    resources = obj["spec"]["containers"][0]["resources"]
    assert resources["requests"] == {"cpu": "1", "memory": "1Gi"}
    assert obj["status"]["qosClass"] == "Guaranteed"


@pytest.mark.parametrize(
    ("resources", "qos"),
    [
        ({}, "BestEffort"),
        ({"requests": {"cpu": "100m"}}, "Burstable"),
        (
            {
                "limits": {"cpu": "1", "memory": "1Gi"},
                "requests": {"cpu": "1000m", "memory": "1Gi"},
            },
            "Guaranteed",
        ),
        ({"limits": {"cpu": "1", "memory": "1Gi"}, "requests": {"cpu": "500m"}}, "Burstable"),
    ],
)
def test_qos_class(resources: dict[str, Any], qos: str) -> None:
    assert pod_qos_class({"containers": [{"name": "a", "resources": resources}]}) == qos


@pytest.mark.parametrize(
    ("image", "policy"),
    [
        ("nginx", "Always"),
        ("nginx:latest", "Always"),
        ("nginx:1.27", "IfNotPresent"),
        ("k8s.gcr.io/serve_hostname", "Always"),
        ("wangyanglinux/myapp:v2", "IfNotPresent"),
        ("localhost:5000/app", "Always"),
        ("localhost:5000/app:v1", "IfNotPresent"),
        ("nginx@sha256:" + "a" * 64, "IfNotPresent"),
    ],
)
def test_image_pull_policy(image: str, policy: str) -> None:
    assert image_pull_policy(image) == policy


def test_namespace() -> None:
    obj = defaulted("Namespace", {"kind": "Namespace", "metadata": {"name": "team-a"}})
    assert obj == {
        "kind": "Namespace",
        "metadata": {"name": "team-a", "labels": {"kubernetes.io/metadata.name": "team-a"}},
        "spec": {"finalizers": ["kubernetes"]},
        "status": {"phase": "Active"},
    }


def test_endpoint_slice_and_endpoints_ports() -> None:
    eps = defaulted("EndpointSlice", {"kind": "EndpointSlice", "ports": [{"port": 80}]})
    assert eps["ports"] == [{"port": 80, "name": "", "protocol": "TCP"}]
    ep = defaulted("Endpoints", {"kind": "Endpoints", "subsets": [{"ports": [{"port": 80}]}]})
    assert ep["subsets"][0]["ports"] == [{"port": 80, "protocol": "TCP"}]


def test_secret_string_data_is_folded_into_data() -> None:
    obj = defaulted(
        "Secret", {"kind": "Secret", "metadata": {"name": "s"}, "stringData": {"pw": "s3cret"}}
    )
    assert obj == {
        "kind": "Secret",
        "metadata": {"name": "s"},
        "type": "Opaque",
        "data": {"pw": base64.b64encode(b"s3cret").decode()},
    }


def test_ingress_path_type_is_not_defaulted() -> None:
    manifest = {
        "kind": "Ingress",
        "metadata": {"name": "web"},
        "spec": {"rules": [{"http": {"paths": [{"path": "/", "backend": {}}]}}]},
    }
    obj = defaulted("Ingress", manifest)
    assert obj["spec"] == manifest["spec"]
    assert obj["status"] == {"loadBalancer": {}}


@pytest.mark.parametrize(
    ("kind", "manifest"),
    [
        ("Service", MYAPP_SERVICE),
        ("Deployment", MYAPP_DEPLOYMENT),
        ("Namespace", {"kind": "Namespace", "metadata": {"name": "x"}}),
    ],
)
def test_defaulting_is_idempotent(kind: str, manifest: dict[str, Any]) -> None:
    once = defaulted(kind, manifest)
    assert defaulted(kind, once) == once


def test_malformed_input_is_left_alone() -> None:
    obj: dict[str, Any] = {"kind": "Service", "spec": {"ports": "80", "selector": 3}}
    apply_defaults("Service", obj)
    assert obj["spec"]["ports"] == "80"
    apply_defaults("Pod", {"spec": {"containers": [None, 3, {"image": 7}]}})
    apply_defaults("Deployment", {"spec": {"strategy": "x", "template": []}})
