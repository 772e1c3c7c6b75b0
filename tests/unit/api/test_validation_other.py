"""Validation of Pods, workloads and the smaller kinds, plus the never-raise property.

The table holds one invalid object per rule with kube-apiserver's exact messages; objects are
defaulted first, as the server does. Hypothesis then drops random JSON values into random
places of valid objects of every kind: validation must answer with errors, never raise.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kubesvc.api.defaults import apply_defaults
from kubesvc.api.validation import validate, validate_status_update

DNS1123_LABEL = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and "
    "must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex "
    "used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
)
DNS1123_SUBDOMAIN = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or "
    "'.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used "
    "for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
)
DNS1035 = (
    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an "
    "alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or "
    "'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"
)
PORT_RANGE = "must be between 1 and 65535, inclusive"
IP = "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"
NOT_MATCH = "`selector` does not match template `labels`"


def meta(name: str = "web", namespace: str | None = "default") -> dict[str, Any]:
    return {"name": name, **({"namespace": namespace} if namespace else {})}


def pod_spec(**container: Any) -> dict[str, Any]:
    return {"containers": [{"name": "app", "image": "nginx:1.27", **container}]}


def pod(spec: dict[str, Any] | None = None, **container: Any) -> dict[str, Any]:
    obj = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": meta(),
        "spec": spec or pod_spec(**container),
    }
    apply_defaults("Pod", obj)
    return obj


def deployment(**spec: Any) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": meta(),
        "spec": {
            "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}}, "spec": pod_spec()},
            **spec,
        },
    }
    apply_defaults("Deployment", obj)
    return obj


def replica_set(**spec: Any) -> dict[str, Any]:
    obj = deployment(**spec)
    obj.update(kind="ReplicaSet")
    for name in ("strategy", "revisionHistoryLimit", "progressDeadlineSeconds"):
        obj["spec"].pop(name)
    return obj


def endpoints(*subsets: dict[str, Any]) -> dict[str, Any]:
    obj = {"apiVersion": "v1", "kind": "Endpoints", "metadata": meta(), "subsets": list(subsets)}
    apply_defaults("Endpoints", obj)
    return obj


def endpoint_slice(address_type: str = "IPv4", **fields: Any) -> dict[str, Any]:
    obj = {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": meta("web-abc12"),
        "addressType": address_type,
        "endpoints": [{"addresses": ["10.244.1.5"]}],
        "ports": [{"name": "http", "port": 80}],
        **fields,
    }
    apply_defaults("EndpointSlice", obj)
    return obj


def ingress(spec: dict[str, Any]) -> dict[str, Any]:
    obj = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": meta(),
        "spec": spec,
    }
    apply_defaults("Ingress", obj)
    return obj


def rule(path: dict[str, Any], host: str = "web.example.com") -> dict[str, Any]:
    return {"rules": [{"host": host, "http": {"paths": [path]}}]}


BACKEND = {"service": {"name": "web", "port": {"number": 80}}}


def simple(kind: str, **fields: Any) -> dict[str, Any]:
    obj = {"kind": kind, "metadata": meta(), **fields}
    apply_defaults(kind, obj)
    return obj


CASES: list[tuple[str, str, dict[str, Any], list[str]]] = [
    ("pod without containers", "Pod", pod({"containers": []}), ["spec.containers: Required value"]),
    (
        "container name",
        "Pod",
        pod(name="Web"),
        [f'spec.containers[0].name: Invalid value: "Web": {DNS1123_LABEL}'],
    ),
    (
        "duplicate container names",
        "Pod",
        pod({"containers": [{"name": "app", "image": "a"}, {"name": "app", "image": "b"}]}),
        ['spec.containers[1].name: Duplicate value: "app"'],
    ),
    ("image missing", "Pod", pod(image=""), ["spec.containers[0].image: Required value"]),
    (
        "containerPort out of range",
        "Pod",
        pod(ports=[{"containerPort": 70000}]),
        [f"spec.containers[0].ports[0].containerPort: Invalid value: 70000: {PORT_RANGE}"],
    ),
    (
        "containerPort missing",
        "Pod",
        pod(ports=[{"name": "http"}]),
        ["spec.containers[0].ports[0].containerPort: Required value"],
    ),
    (
        "restartPolicy",
        "Pod",
        pod({**pod_spec(), "restartPolicy": "Sometimes"}),
        [
            'spec.restartPolicy: Unsupported value: "Sometimes": '
            'supported values: "Always", "OnFailure", "Never"'
        ],
    ),
    (
        "probe without handler",
        "Pod",
        pod(livenessProbe={"periodSeconds": 5}),
        ["spec.containers[0].livenessProbe: Required value: must specify a handler type"],
    ),
    (
        "probe with two handlers",
        "Pod",
        pod(readinessProbe={"exec": {"command": ["true"]}, "tcpSocket": {"port": 80}}),
        [
            "spec.containers[0].readinessProbe.tcpSocket: Forbidden: "
            "may not specify more than 1 handler type"
        ],
    ),
    (
        "liveness successThreshold",
        "Pod",
        pod(livenessProbe={"httpGet": {"port": 80}, "successThreshold": 2}),
        ["spec.containers[0].livenessProbe.successThreshold: Invalid value: 2: must be 1"],
    ),
    (
        "env name with =",
        "Pod",
        pod(env=[{"name": "A=B", "value": "x"}]),
        [
            'spec.containers[0].env[0].name: Invalid value: "A=B": a valid environment variable '
            "name must consist only of printable ASCII characters other than '='"
        ],
    ),
    (
        "env name missing",
        "Pod",
        pod(env=[{"value": "x"}]),
        ["spec.containers[0].env[0].name: Required value"],
    ),
    (
        "mount of an unknown volume",
        "Pod",
        pod(volumeMounts=[{"name": "data", "mountPath": "/data"}]),
        ['spec.containers[0].volumeMounts[0].name: Not found: "data"'],
    ),
    (
        "imagePullPolicy",
        "Pod",
        pod(imagePullPolicy="Sometimes"),
        [
            'spec.containers[0].imagePullPolicy: Unsupported value: "Sometimes": '
            'supported values: "Always", "IfNotPresent", "Never"'
        ],
    ),
    (
        "deployment without selector",
        "Deployment",
        deployment(selector=None),
        [
            "spec.selector: Required value",
            'spec.template.metadata.labels: Invalid value: map[string]string{"app":"web"}: '
            + NOT_MATCH,
        ],
    ),
    (
        "selector does not match labels",
        "Deployment",
        deployment(selector={"matchLabels": {"app": "other"}}),
        [
            "spec.template.metadata.labels: Invalid value: "
            f'map[string]string{{"app":"web"}}: {NOT_MATCH}'
        ],
    ),
    (
        "empty selector",
        "Deployment",
        deployment(selector={}),
        [
            "spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string(nil), "
            "MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: "
            "empty selector is invalid for deployment"
        ],
    ),
    (
        "negative replicas",
        "Deployment",
        deployment(replicas=-1),
        ["spec.replicas: Invalid value: -1: must be greater than or equal to 0"],
    ),
    (
        "strategy type",
        "Deployment",
        deployment(strategy={"type": "Canary"}),
        [
            'spec.strategy: Unsupported value: apps.DeploymentStrategy{Type:"Canary", '
            "RollingUpdate:(*apps.RollingUpdateDeployment)(nil)}: "
            'supported values: "Recreate", "RollingUpdate"'
        ],
    ),
    (
        "maxUnavailable not a percent",
        "Deployment",
        deployment(strategy={"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25"}}),
        [
            "spec.strategy.rollingUpdate.maxUnavailable: Invalid value: "
            'intstr.IntOrString{Type:1, IntVal:0, StrVal:"25"}: a valid percent string must be a '
            "numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for "
            "validation is '[0-9]+%')"
        ],
    ),
    (
        "maxUnavailable and maxSurge both 0",
        "Deployment",
        deployment(
            strategy={
                "type": "RollingUpdate",
                "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 0},
            }
        ),
        [
            "spec.strategy.rollingUpdate.maxUnavailable: Invalid value: "
            'intstr.IntOrString{Type:0, IntVal:0, StrVal:""}: may not be 0 when `maxSurge` is 0'
        ],
    ),
    (
        "Recreate with rollingUpdate",
        "Deployment",
        deployment(strategy={"type": "Recreate", "rollingUpdate": {"maxSurge": 1}}),
        [
            "spec.strategy.rollingUpdate: Forbidden: "
            "may not be specified when strategy `type` is 'Recreate'"
        ],
    ),
    (
        "template restartPolicy Never",
        "Deployment",
        deployment(
            template={
                "metadata": {"labels": {"app": "web"}},
                "spec": {**pod_spec(), "restartPolicy": "Never"},
            }
        ),
        [
            'spec.template.spec.restartPolicy: Unsupported value: "Never": '
            'supported values: "Always"'
        ],
    ),
    (
        "replicaset selector mismatch",
        "ReplicaSet",
        replica_set(selector={"matchLabels": {"app": "other"}}),
        [
            "spec.template.metadata.labels: Invalid value: "
            f'map[string]string{{"app":"web"}}: {NOT_MATCH}'
        ],
    ),
    (
        "namespace name",
        "Namespace",
        simple("Namespace", metadata=meta("Team_A", None)),
        [f'metadata.name: Invalid value: "Team_A": {DNS1123_LABEL}'],
    ),
    (
        "namespace with a namespace",
        "Namespace",
        simple("Namespace", metadata=meta("team-a", "default")),
        ["metadata.namespace: Forbidden: not allowed on this type"],
    ),
    (
        "namespace finalizer",
        "Namespace",
        simple("Namespace", metadata=meta("team-a", None), spec={"finalizers": ["foo"]}),
        [
            'spec.finalizers: Invalid value: "foo": '
            "name is neither a standard finalizer name nor is it fully qualified"
        ],
    ),
    (
        "node name",
        "Node",
        simple("Node", metadata=meta("Node_1", None)),
        [f'metadata.name: Invalid value: "Node_1": {DNS1123_SUBDOMAIN}'],
    ),
    (
        "node podCIDR",
        "Node",
        simple("Node", metadata=meta("node-1", None), spec={"podCIDRs": ["10.244.1.0/33"]}),
        [
            'spec.podCIDRs[0]: Invalid value: "10.244.1.0/33": '
            "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)"
        ],
    ),
    (
        "node taint effect",
        "Node",
        simple(
            "Node",
            metadata=meta("node-1", None),
            spec={"taints": [{"key": "k", "effect": "Sometimes"}]},
        ),
        [
            'metadata.taints[0].effect: Unsupported value: "Sometimes": '
            'supported values: "NoSchedule", "PreferNoSchedule", "NoExecute"'
        ],
    ),
    (
        "endpoints subset without addresses",
        "Endpoints",
        endpoints({"ports": [{"port": 80}]}),
        ["subsets[0]: Required value: must specify `addresses` or `notReadyAddresses`"],
    ),
    (
        "endpoints address not an IP",
        "Endpoints",
        endpoints({"addresses": [{"ip": "10.1.1"}]}),
        [
            f'subsets[0].addresses[0].ip: Invalid value: "10.1.1": {IP}',
            'subsets[0].addresses[0].ip: Invalid value: "10.1.1": must be a valid IP address',
        ],
    ),
    (
        "endpoints loopback address",
        "Endpoints",
        endpoints({"addresses": [{"ip": "127.0.0.1"}]}),
        [
            'subsets[0].addresses[0].ip: Invalid value: "127.0.0.1": '
            "may not be in the loopback range (127.0.0.0/8, ::1/128)"
        ],
    ),
    (
        "endpoints port name required",
        "Endpoints",
        endpoints(
            {
                "addresses": [{"ip": "10.244.1.5"}],
                "ports": [{"name": "a", "port": 80}, {"port": 81}],
            }
        ),
        ["subsets[0].ports[1].name: Required value"],
    ),
    (
        "endpointslice addressType",
        "EndpointSlice",
        endpoint_slice("IPv5"),
        ['addressType: Unsupported value: "IPv5": supported values: "FQDN", "IPv4", "IPv6"'],
    ),
    (
        "endpointslice IPv6 address in an IPv4 slice",
        "EndpointSlice",
        endpoint_slice(endpoints=[{"addresses": ["fd00::1"]}]),
        ['endpoints[0].addresses[0]: Invalid value: "fd00::1": must be a valid IPv4 address'],
    ),
    (
        "endpointslice endpoint without addresses",
        "EndpointSlice",
        endpoint_slice(endpoints=[{"addresses": []}]),
        ["endpoints[0].addresses: Required value: must contain at least 1 address"],
    ),
    (
        "endpointslice port protocol",
        "EndpointSlice",
        endpoint_slice(ports=[{"name": "http", "port": 80, "protocol": "HTTP"}]),
        ['ports[0].protocol: Unsupported value: "HTTP": supported values: "SCTP", "TCP", "UDP"'],
    ),
    (
        "endpointslice duplicate port names",
        "EndpointSlice",
        endpoint_slice(ports=[{"name": "http", "port": 80}, {"name": "http", "port": 81}]),
        ['ports[1].name: Duplicate value: "http"'],
    ),
    (
        "event in another namespace than its object",
        "Event",
        simple("Event", involvedObject={"kind": "Pod", "name": "web", "namespace": "other"}),
        ['involvedObject.namespace: Invalid value: "other": does not match event.namespace'],
    ),
    (
        "configmap key",
        "ConfigMap",
        simple("ConfigMap", data={"bad key": "x"}),
        [
            'data[bad key]: Invalid value: "bad key": a valid config key must consist of '
            "alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or "
            "'key-name', regex used for validation is '[-._a-zA-Z0-9]+')"
        ],
    ),
    (
        "configmap key ..",
        "ConfigMap",
        simple("ConfigMap", data={"..": "x"}),
        ["data[..]: Invalid value: \"..\": must not be '..'"],
    ),
    (
        "configmap key in data and binaryData",
        "ConfigMap",
        simple("ConfigMap", data={"a": "x"}, binaryData={"a": "eA=="}),
        ['data[a]: Invalid value: "a": duplicate of key present in binaryData'],
    ),
    (
        "tls secret without keys",
        "Secret",
        simple("Secret", type="kubernetes.io/tls", data={}),
        ["data[tls.crt]: Required value", "data[tls.key]: Required value"],
    ),
    (
        "serviceaccount name",
        "ServiceAccount",
        simple("ServiceAccount", metadata=meta("Builder")),
        [f'metadata.name: Invalid value: "Builder": {DNS1123_SUBDOMAIN}'],
    ),
    (
        "ingress without rules or backend",
        "Ingress",
        ingress({}),
        [
            "spec: Invalid value: []networking.IngressRule(nil): "
            "either `defaultBackend` or `rules` must be specified"
        ],
    ),
    (
        "ingress host is an IP",
        "Ingress",
        ingress(rule({"path": "/", "pathType": "Prefix", "backend": BACKEND}, host="10.0.0.1")),
        ['spec.rules[0].host: Invalid value: "10.0.0.1": must be a DNS name, not an IP address'],
    ),
    (
        "ingress double wildcard",
        "Ingress",
        ingress(
            rule({"path": "/", "pathType": "Prefix", "backend": BACKEND}, host="*.*.example.com")
        ),
        [
            'spec.rules[0].host: Invalid value: "*.*.example.com": a wildcard DNS-1123 subdomain '
            "must start with '*.', followed by a valid DNS subdomain, which must consist of lower "
            "case alphanumeric characters, '-' or '.' and end with an alphanumeric character "
            "(e.g. '*.example.com', regex used for validation is "
            "'\\*\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
        ],
    ),
    (
        "ingress relative Prefix path",
        "Ingress",
        ingress(rule({"path": "api", "pathType": "Prefix", "backend": BACKEND})),
        ['spec.rules[0].http.paths[0].path: Invalid value: "api": must be an absolute path'],
    ),
    (
        "ingress path with //",
        "Ingress",
        ingress(rule({"path": "/a//b", "pathType": "Exact", "backend": BACKEND})),
        ["spec.rules[0].http.paths[0].path: Invalid value: \"/a//b\": must not contain '//'"],
    ),
    (
        "ingress pathType missing",
        "Ingress",
        ingress(rule({"path": "/", "backend": BACKEND})),
        ["spec.rules[0].http.paths[0].pathType: Required value: pathType must be specified"],
    ),
    (
        "ingress pathType value",
        "Ingress",
        ingress(rule({"path": "/", "pathType": "Regex", "backend": BACKEND})),
        [
            'spec.rules[0].http.paths[0].pathType: Unsupported value: "Regex": '
            'supported values: "Exact", "ImplementationSpecific", "Prefix"'
        ],
    ),
    (
        "ingress backend without port",
        "Ingress",
        ingress(rule({"path": "/", "pathType": "Prefix", "backend": {"service": {"name": "web"}}})),
        ["spec.rules[0].http.paths[0].backend: Required value: port name or number is required"],
    ),
    (
        "ingress backend service name",
        "Ingress",
        ingress(
            rule(
                {
                    "path": "/",
                    "pathType": "Prefix",
                    "backend": {"service": {"name": "Web", "port": {"number": 80}}},
                }
            )
        ),
        [f'spec.rules[0].http.paths[0].backend.service.name: Invalid value: "Web": {DNS1035}'],
    ),
    (
        "ingressclass controller",
        "IngressClass",
        simple("IngressClass", metadata=meta("nginx", None), spec={"controller": "nginx"}),
        [
            'spec.controller: Invalid value: "nginx": '
            'must be a domain-prefixed path (such as "acme.io/foo")'
        ],
    ),
    (
        "lease duration",
        "Lease",
        simple("Lease", spec={"leaseDurationSeconds": 0}),
        ["spec.leaseDurationSeconds: Invalid value: 0: must be greater than 0"],
    ),
]


@pytest.mark.parametrize(
    ("kind", "obj", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_invalid_object(kind: str, obj: dict[str, Any], expected: list[str]) -> None:
    assert [str(e) for e in validate(kind, obj)] == expected


def test_table_is_large_enough() -> None:
    assert len(CASES) >= 20


VALID: dict[str, tuple[str, dict[str, Any]]] = {
    "pod": ("Pod", pod(ports=[{"name": "http", "containerPort": 80}])),
    "pod with probes and volume": (
        "Pod",
        pod(
            {
                "volumes": [{"name": "data"}],
                "containers": [
                    {
                        "name": "app",
                        "image": "nginx",
                        "volumeMounts": [{"name": "data", "mountPath": "/data"}],
                        "readinessProbe": {"httpGet": {"port": "http"}},
                        "livenessProbe": {"tcpSocket": {"port": 80}},
                        "ports": [{"name": "http", "containerPort": 80}],
                        "resources": {"limits": {"cpu": "500m", "memory": "128Mi"}},
                    }
                ],
            }
        ),
    ),
    "deployment": ("Deployment", deployment(replicas=3)),
    "replicaset": ("ReplicaSet", replica_set()),
    "namespace": ("Namespace", simple("Namespace", metadata=meta("team-a", None))),
    "node": (
        "Node",
        simple("Node", metadata=meta("node-1", None), spec={"podCIDRs": ["10.244.1.0/24"]}),
    ),
    "endpoints": (
        "Endpoints",
        endpoints(
            {"addresses": [{"ip": "10.244.1.5", "nodeName": "node-1"}], "ports": [{"port": 9376}]}
        ),
    ),
    "endpointslice": ("EndpointSlice", endpoint_slice()),
    "event": (
        "Event",
        simple("Event", involvedObject={"kind": "Service", "name": "web", "namespace": "default"}),
    ),
    "configmap": ("ConfigMap", simple("ConfigMap", data={"key.name": "v"})),
    "secret": ("Secret", simple("Secret", stringData={"password": "s3cret"})),
    "serviceaccount": ("ServiceAccount", simple("ServiceAccount")),
    "ingress": (
        "Ingress",
        ingress(
            rule({"path": "/", "pathType": "Prefix", "backend": BACKEND}, host="*.example.com")
        ),
    ),
    "ingressclass": (
        "IngressClass",
        simple(
            "IngressClass",
            metadata=meta("nginx", None),
            spec={"controller": "k8s.io/ingress-nginx"},
        ),
    ),
    "lease": (
        "Lease",
        simple("Lease", spec={"holderIdentity": "node-1", "leaseDurationSeconds": 40}),
    ),
}


@pytest.mark.parametrize(("kind", "obj"), list(VALID.values()), ids=list(VALID))
def test_valid_object(kind: str, obj: dict[str, Any]) -> None:
    assert validate(kind, obj) == []


# ----------------------------------------------------------------------------------- updates


def test_pod_update_may_only_change_images() -> None:
    old = pod()
    new = copy.deepcopy(old)
    new["spec"]["containers"][0]["image"] = "nginx:1.28"
    assert validate("Pod", new, old) == []
    new["spec"]["restartPolicy"] = "Never"
    errors = validate("Pod", new, old)
    assert [e.field for e in errors] == ["spec"]
    assert str(errors[0]).startswith(
        "spec: Forbidden: pod updates may not change fields other than "
        "`spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,"
        "`spec.tolerations` (only additions to existing tolerations),"
        "`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously "
        "negative)\n"
    )
    assert '- restartPolicy: "Always"' in errors[0].detail


def test_pod_update_may_not_add_containers() -> None:
    old = pod()
    new = copy.deepcopy(old)
    new["spec"]["containers"].append({"name": "b", "image": "b"})
    apply_defaults("Pod", new)
    assert [str(e) for e in validate("Pod", new, old)] == [
        "spec.containers: Forbidden: pod updates may not add or remove containers"
    ]


def test_deployment_selector_is_immutable() -> None:
    old = deployment()
    new = copy.deepcopy(old)
    new["spec"]["selector"] = {"matchExpressions": [{"key": "app", "operator": "Exists"}]}
    assert [str(e) for e in validate("Deployment", new, old)] == [
        "spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string(nil), "
        'MatchExpressions:[]v1.LabelSelectorRequirement{v1.LabelSelectorRequirement{Key:"app", '
        'Operator:"Exists", Values:[]string(nil)}}}: field is immutable'
    ]


def test_configmap_immutable_data() -> None:
    old = simple("ConfigMap", data={"a": "1"}, immutable=True)
    new = copy.deepcopy(old)
    new["data"]["a"] = "2"
    assert [str(e) for e in validate("ConfigMap", new, old)] == [
        "data: Forbidden: field is immutable when `immutable` is set"
    ]


def test_namespace_status_phase() -> None:
    old = simple("Namespace", metadata=meta("team-a", None))
    new = copy.deepcopy(old)
    new["status"]["phase"] = "Terminating"
    assert [str(e) for e in validate_status_update("Namespace", new, old)] == [
        "status.Phase: Invalid value: \"Terminating\": may only be 'Active' if "
        "`deletionTimestamp` is empty"
    ]


def test_deployment_status_counts() -> None:
    old = deployment()
    new = copy.deepcopy(old)
    new["status"] = {"replicas": 1, "readyReplicas": 2, "availableReplicas": 1}
    assert [str(e) for e in validate_status_update("Deployment", new, old)] == [
        "status.readyReplicas: Invalid value: 2: cannot be greater than status.replicas"
    ]


def test_not_an_object() -> None:
    assert [str(e) for e in validate("Pod", "pod")] == [  # type: ignore[arg-type]
        ': Invalid value: "pod": must be of type object'
    ]


# ------------------------------------------------------------------- never raise (property)

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=12),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)

SEEDS = [(kind, obj) for kind, obj in VALID.values()] + [
    ("Service", {"kind": "Service", "metadata": meta(), "spec": {"ports": [{"port": 80}]}}),
]


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(value, dict):
        for k, v in value.items():
            found += _paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            found += _paths(v, (*prefix, i))
    return found


def _replace(obj: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    target = obj
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    return obj


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.sampled_from(SEEDS), choice=st.integers(min_value=0), value=json_values)
def test_random_values_never_raise(
    seed: tuple[str, dict[str, Any]], choice: int, value: Any
) -> None:
    kind, original = seed
    obj = copy.deepcopy(original)
    paths = _paths(obj)
    obj = _replace(obj, paths[choice % len(paths)], value)
    old = copy.deepcopy(original)
    for candidate in (obj, copy.deepcopy(obj)):
        if isinstance(candidate, dict):
            apply_defaults(kind, candidate)
        for errors in (
            validate(kind, candidate),
            validate(kind, candidate, old),
            validate_status_update(kind, candidate, old),
        ):
            assert all(e.type != "InternalError" for e in errors), [str(e) for e in errors]
            assert all(isinstance(str(e), str) for e in errors)


@settings(max_examples=200, deadline=None)
@given(kind=st.sampled_from(sorted({k for k, _ in SEEDS})), obj=json_values)
def test_random_objects_never_raise(kind: str, obj: Any) -> None:
    if isinstance(obj, dict):
        apply_defaults(kind, obj)
    errors = validate(kind, obj) + validate(kind, obj, obj if isinstance(obj, dict) else None)
    assert all(e.type != "InternalError" for e in errors), [str(e) for e in errors]
