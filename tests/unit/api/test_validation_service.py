"""Service validation: one invalid Service per upstream rule, with kube-apiserver's exact text.

Each case builds a Service (defaulted as the server would, unless marked raw), validates it and
compares the rendered `str(FieldError)` list, in order, with what kube-apiserver returns.
The seeds' manifests and a few more valid shapes must produce no error at all.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from kubesvc.api.defaults import apply_defaults, prepare_service_update, service_ip_families
from kubesvc.api.validation import validate, validate_cluster_families, validate_status_update

DNS1035 = (
    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an "
    "alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or "
    "'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"
)
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
NAME_PART = (
    "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end "
    "with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for "
    "validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
)
LABEL_VALUE = (
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or "
    "'.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',"
    "  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
)
PORT_RANGE = "must be between 1 and 65535, inclusive"
IP = "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"
CIDR = "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)"
ONLY_LB = "may only be used when `type` is 'LoadBalancer'"
SERVICE_PORT_80 = (
    'core.ServicePort{Name:"", Protocol:"TCP", AppProtocol:(*string)(nil), Port:80, '
    'TargetPort:intstr.IntOrString{Type:0, IntVal:0, StrVal:""}, NodePort:0}'
)


def service(
    spec: dict[str, Any] | None = None, meta: dict[str, Any] | None = None, *, raw: bool = False
) -> dict[str, Any]:
    """A Service named web in default; `spec` keys replace the defaults; raw skips defaulting."""
    obj: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "web", "namespace": "default", **(meta or {})},
        "spec": {"selector": {"app": "web"}, "ports": [{"port": 80, "targetPort": 8080}]},
    }
    obj["spec"].update(spec or {})
    if raw:
        obj["spec"] = {
            "type": "ClusterIP",
            "sessionAffinity": "None",
            "internalTrafficPolicy": "Cluster",
            "selector": {"app": "web"},
            "ports": [{"port": 80, "targetPort": 8080, "protocol": "TCP"}],
            **(spec or {}),
        }
        return obj
    apply_defaults("Service", obj)
    return obj


def ports(*items: dict[str, Any]) -> dict[str, Any]:
    return {"ports": list(items)}


INVALID: list[tuple[str, dict[str, Any], list[str]]] = [
    (
        "name not a DNS-1035 label",
        service(meta={"name": "Web_1"}),
        [f'metadata.name: Invalid value: "Web_1": {DNS1035}'],
    ),
    (
        "name starts with a digit",
        service(meta={"name": "1web"}),
        [f'metadata.name: Invalid value: "1web": {DNS1035}'],
    ),
    (
        "name longer than 63",
        service(meta={"name": "a" * 64}),
        [f'metadata.name: Invalid value: "{"a" * 64}": must be no more than 63 characters'],
    ),
    (
        "name missing",
        service(meta={"name": None}),
        ["metadata.name: Required value: name or generateName is required"],
    ),
    (
        "generateName invalid",
        service(meta={"generateName": "Web-", "name": "web-x7k2p"}),
        [f'metadata.generateName: Invalid value: "Web-": {DNS1035}'],
    ),
    (
        "namespace missing",
        service(meta={"namespace": None}),
        ["metadata.namespace: Required value"],
    ),
    (
        "namespace not a DNS label",
        service(meta={"namespace": "Default"}),
        [f'metadata.namespace: Invalid value: "Default": {DNS1123_LABEL}'],
    ),
    (
        "label key with a space",
        service(meta={"labels": {"bad key": "x"}}),
        [f'metadata.labels: Invalid value: "bad key": {NAME_PART}'],
    ),
    (
        "label value too long",
        service(meta={"labels": {"app": "v" * 64}}),
        [f'metadata.labels: Invalid value: "{"v" * 64}": must be no more than 63 characters'],
    ),
    (
        "annotation key with two slashes",
        service(meta={"annotations": {"a/b/c": "x"}}),
        [
            'metadata.annotations: Invalid value: "a/b/c": a qualified name must consist of '
            "alphanumeric characters, '-', '_' or '.', and must start and end with an "
            "alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used "
            "for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS "
            "subdomain prefix and '/' (e.g. 'example.com/MyName')"
        ],
    ),
    (
        "annotations over 256 KiB",
        service(meta={"annotations": {"big": "x" * (256 * 1024)}}),
        ["metadata.annotations: Too long: must have at most 262144 bytes"],
    ),
    (
        "finalizer neither standard nor qualified",
        service(meta={"finalizers": ["cleanup"]}),
        [
            'metadata.finalizers[0]: Invalid value: "cleanup": name is neither a standard '
            "finalizer name nor is it fully qualified"
        ],
    ),
    ("ports missing", service({"ports": None}), ["spec.ports: Required value"]),
    (
        "port 0",
        service(ports({"port": 0, "targetPort": 8080})),
        [f"spec.ports[0].port: Invalid value: 0: {PORT_RANGE}"],
    ),
    (
        "port 70000",
        service(ports({"port": 70000, "targetPort": 80})),
        [f"spec.ports[0].port: Invalid value: 70000: {PORT_RANGE}"],
    ),
    (
        "port 0 with defaulted targetPort",
        service(ports({"port": 0})),
        [
            f"spec.ports[0].port: Invalid value: 0: {PORT_RANGE}",
            f"spec.ports[0].targetPort: Invalid value: 0: {PORT_RANGE}",
        ],
    ),
    (
        "name required with two ports",
        service(ports({"name": "a", "port": 80}, {"port": 81})),
        ["spec.ports[1].name: Required value"],
    ),
    (
        "duplicate port names",
        service(ports({"name": "http", "port": 80}, {"name": "http", "port": 81})),
        ['spec.ports[1].name: Duplicate value: "http"'],
    ),
    (
        "port name not a DNS label",
        service(ports({"name": "HTTP", "port": 80})),
        [f'spec.ports[0].name: Invalid value: "HTTP": {DNS1123_LABEL}'],
    ),
    (
        "protocol not supported",
        service(ports({"port": 80, "protocol": "HTTP"})),
        [
            'spec.ports[0].protocol: Unsupported value: "HTTP": '
            'supported values: "SCTP", "TCP", "UDP"'
        ],
    ),
    (
        "protocol missing (raw)",
        service(ports({"port": 80, "targetPort": 80}), raw=True),
        ["spec.ports[0].protocol: Required value"],
    ),
    (
        "targetPort negative",
        service(ports({"port": 80, "targetPort": -1})),
        [f"spec.ports[0].targetPort: Invalid value: -1: {PORT_RANGE}"],
    ),
    (
        "targetPort name with consecutive hyphens",
        service(ports({"port": 80, "targetPort": "web--x"})),
        ['spec.ports[0].targetPort: Invalid value: "web--x": must not contain consecutive hyphens'],
    ),
    (
        "targetPort name longer than 15",
        service(ports({"port": 80, "targetPort": "averylongportname"})),
        [
            'spec.ports[0].targetPort: Invalid value: "averylongportname": '
            "must be no more than 15 characters"
        ],
    ),
    (
        "targetPort name without a letter",
        service(ports({"port": 80, "targetPort": "8080"})),
        ['spec.ports[0].targetPort: Invalid value: "8080": must contain at least one letter (a-z)'],
    ),
    (
        "targetPort name with upper case and edge hyphen",
        service(ports({"port": 80, "targetPort": "Web-"})),
        [
            'spec.ports[0].targetPort: Invalid value: "Web-": must contain only alpha-numeric '
            "characters (a-z, 0-9), and hyphens (-)",
            'spec.ports[0].targetPort: Invalid value: "Web-": must not begin or end with a hyphen',
        ],
    ),
    (
        "appProtocol not a qualified name",
        service(ports({"port": 80, "appProtocol": "a b"})),
        [f'spec.ports[0].appProtocol: Invalid value: "a b": {NAME_PART}'],
    ),
    (
        "duplicate port and protocol",
        service(ports({"name": "a", "port": 80}, {"name": "b", "port": 80})),
        [f"spec.ports[1]: Duplicate value: {SERVICE_PORT_80}"],
    ),
    (
        "nodePort on ClusterIP",
        service(ports({"port": 80, "nodePort": 30080})),
        ["spec.ports[0].nodePort: Forbidden: may not be used when `type` is 'ClusterIP'"],
    ),
    (
        "nodePort on a headless Service",
        service({"clusterIP": "None", **ports({"port": 80, "nodePort": 30080})}),
        ["spec.ports[0].nodePort: Forbidden: may not be used when `type` is 'ClusterIP'"],
    ),
    (
        "duplicate nodePorts",
        service(
            {
                "type": "NodePort",
                **ports(
                    {"name": "a", "port": 80, "nodePort": 30080},
                    {"name": "b", "port": 81, "nodePort": 30080},
                ),
            }
        ),
        ["spec.ports[1].nodePort: Duplicate value: 30080"],
    ),
    (
        "type not supported",
        service({"type": "Foo"}),
        [
            'spec.type: Unsupported value: "Foo": supported values: '
            '"ClusterIP", "ExternalName", "LoadBalancer", "NodePort"'
        ],
    ),
    ("type missing (raw)", service({"type": ""}, raw=True), ["spec.type: Required value"]),
    (
        "clusterIP not an IP",
        service({"clusterIP": "10.0.0.300"}),
        [f'spec.clusterIPs[0]: Invalid value: "10.0.0.300": {IP}'],
    ),
    (
        "clusterIPs[0] differs from clusterIP",
        service({"clusterIP": "10.96.0.10", "clusterIPs": ["10.96.0.11"]}),
        [
            'spec.clusterIPs: Invalid value: []string{"10.96.0.11"}: '
            "first value must match `clusterIP`"
        ],
    ),
    (
        "clusterIPs without clusterIP",
        service({"clusterIPs": ["10.96.0.11"]}),
        [
            'spec.clusterIPs: Invalid value: []string{"10.96.0.11"}: '
            "must be empty when `clusterIP` is not specified"
        ],
    ),
    (
        "None for NodePort",
        service({"type": "NodePort", "clusterIP": "None"}),
        [
            'spec.clusterIPs[0]: Invalid value: "None": '
            "may not be set to 'None' for NodePort services"
        ],
    ),
    (
        "None for LoadBalancer",
        service({"type": "LoadBalancer", "clusterIP": "None"}),
        [
            'spec.clusterIPs[0]: Invalid value: "None": '
            "may not be set to 'None' for LoadBalancer services"
        ],
    ),
    (
        "None not alone",
        service({"clusterIP": "None", "clusterIPs": ["None", "10.96.0.1"]}),
        [
            'spec.clusterIPs: Invalid value: []string{"None", "10.96.0.1"}: '
            "'None' must be the first and only value"
        ],
    ),
    (
        "three clusterIPs",
        service({"clusterIP": "10.96.0.1", "clusterIPs": ["10.96.0.1", "fd00::1", "10.96.0.2"]}),
        [
            'spec.clusterIPs: Invalid value: []string{"10.96.0.1", "fd00::1", "10.96.0.2"}: '
            "may only hold up to 2 values"
        ],
    ),
    (
        "two IPv4 clusterIPs",
        service({"clusterIP": "10.96.0.1", "clusterIPs": ["10.96.0.1", "10.96.0.2"]}),
        [
            'spec.clusterIPs: Invalid value: []string{"10.96.0.1", "10.96.0.2"}: '
            "may specify no more than one IP for each IP family"
        ],
    ),
    (
        "ipFamilies value",
        service({"ipFamilies": ["IPv5"]}),
        ['spec.ipFamilies[0]: Unsupported value: "IPv5": supported values: "IPv4", "IPv6"'],
    ),
    (
        "ipFamilies duplicate",
        service({"ipFamilies": ["IPv4", "IPv4"]}),
        ['spec.ipFamilies[1]: Duplicate value: "IPv4"'],
    ),
    (
        "ipFamilyPolicy value",
        service({"ipFamilyPolicy": "Dual"}),
        [
            'spec.ipFamilyPolicy: Unsupported value: "Dual": supported values: '
            '"PreferDualStack", "RequireDualStack", "SingleStack"'
        ],
    ),
    (
        "clusterIP family differs from ipFamilies",
        service({"clusterIP": "10.96.0.1", "ipFamilies": ["IPv6"]}),
        [
            'spec.clusterIPs[0]: Invalid value: "10.96.0.1": '
            "expected an IPv6 value as indicated by `ipFamilies[0]`"
        ],
    ),
    (
        "ExternalName without externalName",
        service({"type": "ExternalName"}),
        ["spec.externalName: Required value"],
    ),
    (
        "externalName not a DNS subdomain",
        service({"type": "ExternalName", "externalName": "Hub_Atguigu.com"}),
        [f'spec.externalName: Invalid value: "Hub_Atguigu.com": {DNS1123_SUBDOMAIN}'],
    ),
    (
        "ExternalName with clusterIP",
        service({"type": "ExternalName", "externalName": "a.b", "clusterIP": "10.96.0.5"}),
        ["spec.clusterIPs: Forbidden: may not be set for ExternalName services"],
    ),
    (
        "ExternalName with ipFamilies and policy",
        service(
            {
                "type": "ExternalName",
                "externalName": "a.b",
                "ipFamilies": ["IPv4"],
                "ipFamilyPolicy": "SingleStack",
            }
        ),
        [
            "spec.ipFamilies: Forbidden: may not be set for ExternalName services",
            "spec.ipFamilyPolicy: Forbidden: may not be set for ExternalName services",
        ],
    ),
    (
        "externalIP not an IP",
        service({"externalIPs": ["1.2.3"]}),
        [f'spec.externalIPs[0]: Invalid value: "1.2.3": {IP}'],
    ),
    (
        "externalIP loopback",
        service({"externalIPs": ["127.0.0.1"]}),
        [
            'spec.externalIPs[0]: Invalid value: "127.0.0.1": '
            "may not be in the loopback range (127.0.0.0/8, ::1/128)"
        ],
    ),
    (
        "externalIP unspecified",
        service({"externalIPs": ["0.0.0.0"]}),
        ['spec.externalIPs[0]: Invalid value: "0.0.0.0": may not be unspecified (0.0.0.0)'],
    ),
    (
        "externalIP link-local",
        service({"externalIPs": ["169.254.1.1"]}),
        [
            'spec.externalIPs[0]: Invalid value: "169.254.1.1": '
            "may not be in the link-local range (169.254.0.0/16, fe80::/10)"
        ],
    ),
    (
        "sessionAffinity value",
        service({"sessionAffinity": "Sticky"}),
        ['spec.sessionAffinity: Unsupported value: "Sticky": supported values: "ClientIP", "None"'],
    ),
    (
        "affinity timeout 0",
        service(
            {
                "sessionAffinity": "ClientIP",
                "sessionAffinityConfig": {"clientIP": {"timeoutSeconds": 0}},
            }
        ),
        [
            "spec.sessionAffinityConfig.clientIP.timeoutSeconds: Invalid value: 0: "
            "must be greater than 0 and less than 86400"
        ],
    ),
    (
        "affinity timeout above a day",
        service(
            {
                "sessionAffinity": "ClientIP",
                "sessionAffinityConfig": {"clientIP": {"timeoutSeconds": 86401}},
            }
        ),
        [
            "spec.sessionAffinityConfig.clientIP.timeoutSeconds: Invalid value: 86401: "
            "must be greater than 0 and less than 86400"
        ],
    ),
    (
        "affinity config with None (raw)",
        service({"sessionAffinityConfig": {"clientIP": {"timeoutSeconds": 60}}}, raw=True),
        ["spec.sessionAffinityConfig: Forbidden: must not be set when session affinity is None"],
    ),
    (
        "ClientIP without config (raw)",
        service({"sessionAffinity": "ClientIP"}, raw=True),
        ["spec.sessionAffinityConfig: Required value: when session affinity type is ClientIP"],
    ),
    (
        "selector value",
        service({"selector": {"app": "bad value!"}}),
        [f'spec.selector: Invalid value: "bad value!": {LABEL_VALUE}'],
    ),
    (
        "externalTrafficPolicy on a ClusterIP Service",
        service({"externalTrafficPolicy": "Local"}),
        [
            'spec.externalTrafficPolicy: Invalid value: "Local": '
            "may only be set for externally-accessible services"
        ],
    ),
    (
        "externalTrafficPolicy value",
        service({"type": "NodePort", "externalTrafficPolicy": "Foo"}),
        [
            'spec.externalTrafficPolicy: Unsupported value: "Foo": '
            'supported values: "Cluster", "Local"'
        ],
    ),
    (
        "internalTrafficPolicy value",
        service({"internalTrafficPolicy": "Foo"}),
        [
            'spec.internalTrafficPolicy: Unsupported value: "Foo": '
            'supported values: "Cluster", "Local"'
        ],
    ),
    (
        "internalTrafficPolicy missing (raw)",
        service({"internalTrafficPolicy": None}, raw=True),
        ["spec.internalTrafficPolicy: Required value"],
    ),
    (
        "source ranges on ClusterIP",
        service({"loadBalancerSourceRanges": ["10.0.0.0/8"]}),
        [f"spec.LoadBalancerSourceRanges: Forbidden: {ONLY_LB}"],
    ),
    (
        "source range not a CIDR",
        service({"type": "LoadBalancer", "loadBalancerSourceRanges": ["10.0.0.0/33"]}),
        [f'spec.LoadBalancerSourceRanges[0]: Invalid value: "10.0.0.0/33": {CIDR}'],
    ),
    (
        "source ranges annotation",
        service(
            {"type": "LoadBalancer"},
            meta={
                "annotations": {
                    "service.beta.kubernetes.io/load-balancer-source-ranges": "10.0.0.0/8, bogus"
                }
            },
        ),
        [
            "metadata.annotations[service.beta.kubernetes.io/load-balancer-source-ranges]: "
            f'Invalid value: "bogus": {CIDR}'
        ],
    ),
    (
        "healthCheckNodePort on NodePort",
        service({"type": "NodePort", "healthCheckNodePort": 30000}),
        [
            "spec.healthCheckNodePort: Invalid value: 30000: may only be set when `type` is "
            "'LoadBalancer' and `externalTrafficPolicy` is 'Local'"
        ],
    ),
    (
        "healthCheckNodePort missing for Local",
        service({"type": "LoadBalancer", "externalTrafficPolicy": "Local"}),
        ["spec.healthCheckNodePort: Required value"],
    ),
    (
        "healthCheckNodePort out of range",
        service(
            {"type": "LoadBalancer", "externalTrafficPolicy": "Local", "healthCheckNodePort": 70000}
        ),
        [f"spec.healthCheckNodePort: Invalid value: 70000: {PORT_RANGE}"],
    ),
    (
        "allocateLoadBalancerNodePorts on ClusterIP",
        service({"allocateLoadBalancerNodePorts": False}),
        [f"spec.allocateLoadBalancerNodePorts: Forbidden: {ONLY_LB}"],
    ),
    (
        "allocateLoadBalancerNodePorts missing (raw)",
        service({"type": "LoadBalancer", "externalTrafficPolicy": "Cluster"}, raw=True),
        ["allocateLoadBalancerNodePorts: Required value"],
    ),
    (
        "loadBalancerClass on ClusterIP",
        service({"loadBalancerClass": "example.com/lb"}),
        [f"spec.loadBalancerClass: Forbidden: {ONLY_LB}"],
    ),
    (
        "loadBalancerClass not a qualified name",
        service({"type": "LoadBalancer", "loadBalancerClass": "bad class"}),
        [f'spec.loadBalancerClass: Invalid value: "bad class": {NAME_PART}'],
    ),
    (
        "trafficDistribution value",
        service({"trafficDistribution": "Random"}),
        ['spec.trafficDistribution: Unsupported value: "Random": supported values: "PreferClose"'],
    ),
    (
        "topology annotations disagree",
        service(
            meta={
                "annotations": {
                    "service.kubernetes.io/topology-aware-hints": "Disabled",
                    "service.kubernetes.io/topology-mode": "Auto",
                }
            }
        ),
        [
            "metadata.annotations[service.kubernetes.io/topology-mode]: Invalid value: "
            '"Auto": must match annotations[service.kubernetes.io/topology-aware-hints] '
            "when both are specified"
        ],
    ),
    (
        "several problems at once, in upstream order",
        service({"type": "Foo", **ports({"port": 70000, "targetPort": 80, "protocol": "HTTP"})}),
        [
            f"spec.ports[0].port: Invalid value: 70000: {PORT_RANGE}",
            'spec.ports[0].protocol: Unsupported value: "HTTP": '
            'supported values: "SCTP", "TCP", "UDP"',
            'spec.type: Unsupported value: "Foo": supported values: '
            '"ClusterIP", "ExternalName", "LoadBalancer", "NodePort"',
        ],
    ),
]


def test_table_is_large_enough() -> None:
    assert len(INVALID) >= 45


@pytest.mark.parametrize(("obj", "expected"), [c[1:] for c in INVALID], ids=[c[0] for c in INVALID])
def test_invalid_service(obj: dict[str, Any], expected: list[str]) -> None:
    assert [str(e) for e in validate("Service", obj)] == expected


def test_nodeport_range_is_left_to_the_allocator() -> None:
    obj = service({"type": "NodePort", **ports({"port": 80, "nodePort": 80})})
    assert validate("Service", obj) == []


def test_message_kubectl_prints() -> None:
    from kubesvc.api.errors import invalid_error

    obj = service(ports({"port": 70000, "targetPort": 80}))
    error = invalid_error("Service", "", "web", validate("Service", obj))
    assert error.message == (
        'Service "web" is invalid: spec.ports[0].port: Invalid value: 70000: '
        "must be between 1 and 65535, inclusive"
    )
    assert error.details is not None
    assert error.details["causes"] == [
        {
            "reason": "FieldValueInvalid",
            "message": "Invalid value: 70000: must be between 1 and 65535, inclusive",
            "field": "spec.ports[0].port",
        }
    ]


# ---------------------------------------------------------------------------- valid Services

SEED_MYAPP = {
    "apiVersion": "v1",
    "kind": "Service",
    "metadata": {"name": "myapp", "namespace": "default"},
    "spec": {
        "type": "ClusterIP",
        "selector": {"app": "myapp", "release": "stabel"},
        "ports": [{"name": "http", "port": 80, "targetPort": 80}],
    },
}
SEED_HEADLESS = {
    "apiVersion": "v1",
    "kind": "Service",
    "metadata": {"name": "myapp-headless", "namespace": "default"},
    "spec": {
        "selector": {"app": "myapp"},
        "clusterIP": "None",
        "ports": [{"port": 80, "targetPort": 80}],
    },
}
SEED_NODEPORT = {
    "apiVersion": "v1",
    "kind": "Service",
    "metadata": {"name": "myapp", "namespace": "default"},
    "spec": {
        "type": "NodePort",
        "selector": {"app": "myapp", "release": "stabel"},
        "ports": [{"name": "http", "port": 80, "targetPort": 80}],
    },
}
SEED_EXTERNAL = {
    "kind": "Service",
    "apiVersion": "v1",
    "metadata": {"name": "my-service-1", "namespace": "default"},
    "spec": {"type": "ExternalName", "externalName": "hub.atguigu.com"},
}
SEED_HOSTNAMES = {
    "apiVersion": "v1",
    "kind": "Service",
    "metadata": {"name": "hostnames", "namespace": "default"},
    "spec": {
        "selector": {"app": "hostnames"},
        "ports": [{"name": "default", "protocol": "TCP", "port": 80, "targetPort": 9376}],
    },
}
VALID = {
    "seed myapp": SEED_MYAPP,
    "seed myapp-headless": SEED_HEADLESS,
    "seed nodeport": SEED_NODEPORT,
    "seed my-service-1": SEED_EXTERNAL,
    "seed hostnames": SEED_HOSTNAMES,
    "allocated ClusterIP": service({"clusterIP": "10.96.0.10", "clusterIPs": ["10.96.0.10"]}),
    "LoadBalancer with Local traffic": service(
        {"type": "LoadBalancer", "externalTrafficPolicy": "Local", "healthCheckNodePort": 31000}
    ),
    "ClientIP affinity": service({"sessionAffinity": "ClientIP"}),
    "headless without ports": service({"clusterIP": "None", "ports": None}),
    "headless without selector": service({"clusterIP": "None", "selector": None}),
    "fully qualified externalName": service(
        {"type": "ExternalName", "externalName": "db.example."}
    ),
    "named targetPort": service(ports({"name": "web", "port": 80, "targetPort": "http"})),
    "UDP and TCP on one port": service(
        ports({"name": "dns", "port": 53, "protocol": "UDP"}, {"name": "dns-tcp", "port": 53})
    ),
    "external IPs": service({"externalIPs": ["192.0.2.10", "2001:db8::1"]}),
    "generated name": service(meta={"name": "web-x7k2p", "generateName": "web-"}),
}


@pytest.mark.parametrize("obj", list(VALID.values()), ids=list(VALID))
def test_valid_service(obj: dict[str, Any]) -> None:
    obj = copy.deepcopy(obj)
    apply_defaults("Service", obj)
    service_ip_families(obj)
    assert validate("Service", obj) == []
    assert validate_cluster_families(obj) == []


# --------------------------------------------------------------------------------- updates


def stored(spec: dict[str, Any]) -> dict[str, Any]:
    obj = service(spec)
    obj["metadata"]["resourceVersion"] = "5"
    service_ip_families(obj)
    return obj


def test_cluster_ip_may_not_change() -> None:
    old = stored({"clusterIP": "10.96.0.10"})
    new = copy.deepcopy(old)
    new["spec"]["clusterIP"] = "10.96.0.11"
    new["spec"]["clusterIPs"] = ["10.96.0.11"]
    assert [str(e) for e in validate("Service", new, old)] == [
        'spec.clusterIPs[0]: Invalid value: []string{"10.96.0.11"}: may not change once set'
    ]


def test_cleared_cluster_ip_is_refused_then_patched_back() -> None:
    old = stored({"clusterIP": "10.96.0.10"})
    new = service()
    assert [str(e) for e in validate("Service", new, old)] == [
        "spec.clusterIPs[0]: Invalid value: []string(nil): primary clusterIP can not be unset",
        "spec.ipFamilies[0]: Invalid value: []core.IPFamily(nil): "
        "primary ipFamily can not be unset",
    ]
    prepare_service_update(new, old)
    service_ip_families(new, old)
    assert new["spec"]["clusterIPs"] == ["10.96.0.10"]
    assert validate("Service", new, old) == []


def test_ip_family_may_not_change() -> None:
    old = stored({"clusterIP": "10.96.0.10"})
    new = copy.deepcopy(old)
    new["spec"]["ipFamilies"] = ["IPv6"]
    assert [str(e) for e in validate("Service", new, old)] == [
        'spec.ipFamilies[0]: Invalid value: []core.IPFamily{"IPv6"}: may not change once set',
        'spec.clusterIPs[0]: Invalid value: "10.96.0.10": '
        "expected an IPv6 value as indicated by `ipFamilies[0]`",
    ]


def test_change_to_external_name_drops_cluster_ip() -> None:
    old = stored({"clusterIP": "10.96.0.10"})
    new = copy.deepcopy(old)
    new["spec"].update({"type": "ExternalName", "externalName": "db.example.com"})
    apply_defaults("Service", new)
    prepare_service_update(new, old)
    assert "clusterIP" not in new["spec"] and "ipFamilies" not in new["spec"]
    assert validate("Service", new, old) == []


def test_node_port_to_cluster_ip_drops_type_fields() -> None:
    old = stored({"type": "NodePort", **ports({"port": 80, "nodePort": 30707})})
    new = copy.deepcopy(old)
    new["spec"]["type"] = "ClusterIP"
    assert [str(e) for e in validate("Service", new, old)] == [
        "spec.ports[0].nodePort: Forbidden: may not be used when `type` is 'ClusterIP'",
        'spec.externalTrafficPolicy: Invalid value: "Cluster": '
        "may only be set for externally-accessible services",
    ]
    prepare_service_update(new, old)
    assert validate("Service", new, old) == []


def test_apply_keeps_allocated_node_port() -> None:
    old = stored({"type": "NodePort", **ports({"name": "http", "port": 80, "nodePort": 30707})})
    new = service({"type": "NodePort", **ports({"name": "http", "port": 8081})})
    prepare_service_update(new, old)
    assert new["spec"]["ports"][0]["nodePort"] == 30707


def test_load_balancer_class_and_health_check_port_are_fixed() -> None:
    old = stored(
        {
            "type": "LoadBalancer",
            "externalTrafficPolicy": "Local",
            "healthCheckNodePort": 31000,
            "loadBalancerClass": "a.example/lb",
        }
    )
    new = copy.deepcopy(old)
    new["spec"]["loadBalancerClass"] = "b.example/lb"
    new["spec"]["healthCheckNodePort"] = 31001
    assert [str(e) for e in validate("Service", new, old)] == [
        'spec.loadBalancerClass: Invalid value: "b.example/lb": may not change once set',
        "spec.healthCheckNodePort: Forbidden: field is immutable",
    ]


def test_name_is_immutable() -> None:
    old = stored({})
    new = copy.deepcopy(old)
    new["metadata"]["name"] = "web2"
    assert [str(e) for e in validate("Service", new, old)] == [
        'metadata.name: Invalid value: "web2": field is immutable'
    ]


# --------------------------------------------------------------------- status and families


def test_status_ingress_needs_load_balancer() -> None:
    old = stored({})
    new = copy.deepcopy(old)
    new["status"] = {"loadBalancer": {"ingress": [{"ip": "192.0.2.1"}]}}
    assert [str(e) for e in validate_status_update("Service", new, old)] == [
        "status.loadBalancer.ingress: Forbidden: "
        "may only be used when `spec.type` is 'LoadBalancer'"
    ]


def test_status_ingress_ip() -> None:
    old = stored({"type": "LoadBalancer"})
    new = copy.deepcopy(old)
    new["status"] = {"loadBalancer": {"ingress": [{"ip": "x"}, {"ip": "192.0.2.1"}]}}
    apply_defaults("Service", new)
    assert new["status"]["loadBalancer"]["ingress"][1]["ipMode"] == "VIP"
    assert [str(e) for e in validate_status_update("Service", new, old)] == [
        f'status.loadBalancer.ingress[0].ip: Invalid value: "x": {IP}'
    ]


def test_single_stack_cluster_refuses_dual_stack() -> None:
    obj = service({"ipFamilyPolicy": "RequireDualStack"})
    service_ip_families(obj)
    assert [str(e) for e in validate_cluster_families(obj)] == [
        'spec.ipFamilyPolicy: Invalid value: "RequireDualStack": '
        "this cluster is not configured for dual-stack services"
    ]
    obj = service({"ipFamilies": ["IPv6"]})
    service_ip_families(obj)
    assert [str(e) for e in validate_cluster_families(obj)] == [
        'spec.ipFamilies[0]: Invalid value: "IPv6": not configured on this cluster'
    ]


def test_wrong_types_are_decoding_errors() -> None:
    obj = service({"ports": "80"})
    assert [str(e) for e in validate("Service", obj)] == [
        'spec.ports: Invalid value: "80": must be of type array, not string'
    ]
    obj = service(ports({"port": "eighty"}))
    assert [str(e) for e in validate("Service", obj)] == [
        'spec.ports[0].port: Invalid value: "eighty": must be of type integer, not string'
    ]
