"""Service environment variables and a container's environment, as the kubelet builds them."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from kubesvc.node.envvars import EnvError, container_env, field_ref_value, service_env


def svc(
    name: str,
    ip: str,
    ports: list[dict[str, Any]],
    namespace: str = "default",
    **spec: Any,
) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"clusterIP": ip, "ports": ports, **spec},
    }


KUBERNETES = svc("kubernetes", "10.96.0.1", [{"name": "https", "port": 443, "protocol": "TCP"}])
REDIS_MASTER = svc("redis-master", "10.0.0.11", [{"port": 6379, "protocol": "TCP"}])

KUBERNETES_VARS = [
    ("KUBERNETES_SERVICE_HOST", "10.96.0.1"),
    ("KUBERNETES_SERVICE_PORT", "443"),
    ("KUBERNETES_SERVICE_PORT_HTTPS", "443"),
    ("KUBERNETES_PORT", "tcp://10.96.0.1:443"),
    ("KUBERNETES_PORT_443_TCP", "tcp://10.96.0.1:443"),
    ("KUBERNETES_PORT_443_TCP_PROTO", "tcp"),
    ("KUBERNETES_PORT_443_TCP_PORT", "443"),
    ("KUBERNETES_PORT_443_TCP_ADDR", "10.96.0.1"),
]


def test_seed_000_redis_master_gives_exactly_the_seven_variables() -> None:
    assert service_env([REDIS_MASTER], "default") == [
        ("REDIS_MASTER_SERVICE_HOST", "10.0.0.11"),
        ("REDIS_MASTER_SERVICE_PORT", "6379"),
        ("REDIS_MASTER_PORT", "tcp://10.0.0.11:6379"),
        ("REDIS_MASTER_PORT_6379_TCP", "tcp://10.0.0.11:6379"),
        ("REDIS_MASTER_PORT_6379_TCP_PROTO", "tcp"),
        ("REDIS_MASTER_PORT_6379_TCP_PORT", "6379"),
        ("REDIS_MASTER_PORT_6379_TCP_ADDR", "10.0.0.11"),
    ]


def test_master_service_always_and_sorted_by_service_name() -> None:
    env = service_env([REDIS_MASTER, KUBERNETES], "default")
    assert env[:8] == KUBERNETES_VARS
    assert env[8] == ("REDIS_MASTER_SERVICE_HOST", "10.0.0.11")


def test_other_namespace_sees_only_master_service() -> None:
    assert service_env([REDIS_MASTER, KUBERNETES], "prod") == KUBERNETES_VARS


def test_enable_service_links_false_keeps_master_service() -> None:
    assert service_env([REDIS_MASTER, KUBERNETES], "default", False) == KUBERNETES_VARS


def test_same_namespace_service_named_kubernetes_wins_over_master() -> None:
    own = svc("kubernetes", "10.96.5.5", [{"port": 80}], namespace="team")
    for order in ([KUBERNETES, own], [own, KUBERNETES]):
        env = dict(service_env(order, "team"))
        assert env["KUBERNETES_SERVICE_HOST"] == "10.96.5.5"


@pytest.mark.parametrize(
    "service",
    [
        svc("headless", "None", [{"port": 80}]),
        svc("pending", "", [{"port": 80}]),
        {
            "metadata": {"name": "ext", "namespace": "default"},
            "spec": {"type": "ExternalName", "externalName": "example.com"},
        },
    ],
    ids=["headless", "no-ip", "external-name"],
)
def test_services_without_cluster_ip_are_skipped(service: dict[str, Any]) -> None:
    assert service_env([service], "default") == []


def test_named_ports_udp_and_dashes() -> None:
    service = svc(
        "my-dns",
        "10.96.0.10",
        [
            {"name": "dns", "port": 53, "protocol": "UDP"},
            {"name": "dns-tcp", "port": 53, "protocol": "TCP"},
            {"name": "metrics", "port": 9153},
        ],
    )
    assert service_env([service], "default") == [
        ("MY_DNS_SERVICE_HOST", "10.96.0.10"),
        ("MY_DNS_SERVICE_PORT", "53"),
        ("MY_DNS_SERVICE_PORT_DNS", "53"),
        ("MY_DNS_SERVICE_PORT_DNS_TCP", "53"),
        ("MY_DNS_SERVICE_PORT_METRICS", "9153"),
        ("MY_DNS_PORT", "udp://10.96.0.10:53"),
        ("MY_DNS_PORT_53_UDP", "udp://10.96.0.10:53"),
        ("MY_DNS_PORT_53_UDP_PROTO", "udp"),
        ("MY_DNS_PORT_53_UDP_PORT", "53"),
        ("MY_DNS_PORT_53_UDP_ADDR", "10.96.0.10"),
        ("MY_DNS_PORT_53_TCP", "tcp://10.96.0.10:53"),
        ("MY_DNS_PORT_53_TCP_PROTO", "tcp"),
        ("MY_DNS_PORT_53_TCP_PORT", "53"),
        ("MY_DNS_PORT_53_TCP_ADDR", "10.96.0.10"),
        ("MY_DNS_PORT_9153_TCP", "tcp://10.96.0.10:9153"),
        ("MY_DNS_PORT_9153_TCP_PROTO", "tcp"),
        ("MY_DNS_PORT_9153_TCP_PORT", "9153"),
        ("MY_DNS_PORT_9153_TCP_ADDR", "10.96.0.10"),
    ]


def test_ipv6_cluster_ip_is_bracketed_in_urls() -> None:
    env = dict(service_env([svc("v6", "fd00::10", [{"port": 80}])], "default"))
    assert env["V6_PORT"] == "tcp://[fd00::10]:80"
    assert env["V6_PORT_80_TCP_ADDR"] == "fd00::10"


POD: dict[str, Any] = {
    "metadata": {
        "name": "web-1",
        "namespace": "default",
        "uid": "1234",
        "labels": {"app": "web", "tier": "front"},
        "annotations": {"note": 'say "hi"'},
    },
    "spec": {"nodeName": "node-1", "serviceAccountName": "default"},
    "status": {"podIP": "10.244.1.5", "podIPs": [{"ip": "10.244.1.5"}], "hostIP": "172.18.0.2"},
}


def env_of(
    container: dict[str, Any], services: list[tuple[str, str]] | None = None, **kw: Any
) -> Any:
    return container_env(POD, {"name": "c", **container}, services or [], **kw)


def test_service_env_first_then_container_env_in_order_with_expansion() -> None:
    services = [("REDIS_MASTER_SERVICE_HOST", "10.0.0.11"), ("REDIS_MASTER_SERVICE_PORT", "6379")]
    env = env_of(
        {
            "env": [
                {
                    "name": "ADDR",
                    "value": "$(REDIS_MASTER_SERVICE_HOST):$(REDIS_MASTER_SERVICE_PORT)",
                },
                {"name": "URL", "value": "redis://$(ADDR)/$(LATER)"},
                {"name": "LATER", "value": "x"},
                {"name": "ESCAPED", "value": "$$(ADDR)"},
            ]
        },
        services,
    )
    assert env == [
        *services,
        ("ADDR", "10.0.0.11:6379"),
        ("URL", "redis://10.0.0.11:6379/$(LATER)"),
        ("LATER", "x"),
        ("ESCAPED", "$(ADDR)"),
    ]


def test_container_env_overrides_service_variable() -> None:
    services = [("A_SERVICE_HOST", "1.1.1.1"), ("A_SERVICE_PORT", "80")]
    env = env_of({"env": [{"name": "A_SERVICE_HOST", "value": "override"}]}, services)
    assert env == [("A_SERVICE_PORT", "80"), ("A_SERVICE_HOST", "override")]


def test_empty_value_and_redefinition() -> None:
    env = env_of({"env": [{"name": "X", "value": "1"}, {"name": "E"}, {"name": "X", "value": "2"}]})
    assert env == [("X", "2"), ("E", "")]


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("metadata.name", "web-1"),
        ("metadata.namespace", "default"),
        ("metadata.uid", "1234"),
        ("metadata.labels['app']", "web"),
        ("metadata.labels['missing']", ""),
        ("metadata.annotations['note']", 'say "hi"'),
        ("metadata.labels", 'app="web"\ntier="front"'),
        ("metadata.annotations", 'note="say \\"hi\\""'),
        ("spec.nodeName", "node-1"),
        ("spec.serviceAccountName", "default"),
        ("status.podIP", "10.244.1.5"),
        ("status.podIPs", "10.244.1.5"),
        ("status.hostIP", "172.18.0.2"),
        ("status.hostIPs", "172.18.0.2"),
    ],
)
def test_field_refs(path: str, expected: str) -> None:
    env = env_of({"env": [{"name": "V", "valueFrom": {"fieldRef": {"fieldPath": path}}}]})
    assert env == [("V", expected)]


def test_field_ref_uses_explicit_ips_and_joins_dual_stack() -> None:
    value = field_ref_value(
        "status.podIPs", POD, pod_ips=["10.244.1.5", "fd00::5"], host_ips=["172.18.0.2"]
    )
    assert value == "10.244.1.5,fd00::5"


def test_unsupported_field_ref() -> None:
    with pytest.raises(EnvError, match=r"^field label not supported: spec\.hostname$"):
        env_of({"env": [{"name": "V", "valueFrom": {"fieldRef": {"fieldPath": "spec.hostname"}}}]})


@pytest.mark.parametrize(
    ("resources", "ref", "expected"),
    [
        ({"limits": {"cpu": "500m"}}, {"resource": "limits.cpu"}, "1"),
        ({"limits": {"cpu": "500m"}}, {"resource": "limits.cpu", "divisor": "1m"}, "500"),
        ({"requests": {"memory": "64Mi"}}, {"resource": "requests.memory"}, "67108864"),
        ({"requests": {"memory": "64Mi"}}, {"resource": "requests.memory", "divisor": "1Mi"}, "64"),
        ({}, {"resource": "requests.cpu"}, "0"),
        ({}, {"resource": "limits.memory", "divisor": "1Gi"}, "4"),
    ],
)
def test_resource_field_refs(resources: dict[str, Any], ref: dict[str, str], expected: str) -> None:
    env = env_of(
        {"resources": resources, "env": [{"name": "R", "valueFrom": {"resourceFieldRef": ref}}]},
        allocatable={"cpu": "2", "memory": "4Gi"},
    )
    assert env == [("R", expected)]


def test_unsupported_resource() -> None:
    ref = {"resourceFieldRef": {"resource": "limits.gpu"}}
    with pytest.raises(EnvError, match=r"^unsupported container resource : limits\.gpu$"):
        env_of({"env": [{"name": "R", "valueFrom": ref}]})


CONFIGMAPS = {"settings": {"data": {"mode": "fast", "level": "3", "bad key": "x"}}}
SECRETS = {"creds": {"data": {"password": base64.b64encode(b"s3cret").decode()}}}


def lookups() -> dict[str, Any]:
    return {"lookup_configmap": CONFIGMAPS.get, "lookup_secret": SECRETS.get}


def test_configmap_and_secret_key_refs() -> None:
    env = env_of(
        {
            "env": [
                {
                    "name": "MODE",
                    "valueFrom": {"configMapKeyRef": {"name": "settings", "key": "mode"}},
                },
                {"name": "PW", "valueFrom": {"secretKeyRef": {"name": "creds", "key": "password"}}},
            ]
        },
        **lookups(),
    )
    assert env == [("MODE", "fast"), ("PW", "s3cret")]


@pytest.mark.parametrize(
    ("source", "message"),
    [
        (
            {"configMapKeyRef": {"name": "settings", "key": "nope"}},
            "couldn't find key nope in ConfigMap default/settings",
        ),
        (
            {"secretKeyRef": {"name": "creds", "key": "nope"}},
            "couldn't find key nope in Secret default/creds",
        ),
        ({"configMapKeyRef": {"name": "gone", "key": "k"}}, 'configmap "gone" not found'),
        ({"secretKeyRef": {"name": "gone", "key": "k"}}, 'secret "gone" not found'),
    ],
)
def test_missing_required_references_raise_kubelet_messages(
    source: dict[str, Any], message: str
) -> None:
    with pytest.raises(EnvError) as caught:
        env_of({"env": [{"name": "V", "valueFrom": source}]}, **lookups())
    assert str(caught.value) == message


@pytest.mark.parametrize(
    "source",
    [
        {"configMapKeyRef": {"name": "settings", "key": "nope", "optional": True}},
        {"configMapKeyRef": {"name": "gone", "key": "k", "optional": True}},
        {"secretKeyRef": {"name": "gone", "key": "k", "optional": True}},
    ],
)
def test_optional_references_are_skipped(source: dict[str, Any]) -> None:
    assert env_of({"env": [{"name": "V", "valueFrom": source}]}, **lookups()) == []


def test_no_lookup_configured() -> None:
    source = {"configMapKeyRef": {"name": "settings", "key": "mode"}}
    with pytest.raises(EnvError, match="couldn't get configMap default/settings, no kubeClient"):
        env_of({"env": [{"name": "V", "valueFrom": source}]})


def test_env_from_with_prefix_invalid_keys_skipped_and_env_wins() -> None:
    env = env_of(
        {
            "envFrom": [
                {"configMapRef": {"name": "settings"}, "prefix": "CFG_"},
                {"secretRef": {"name": "creds"}},
                {"configMapRef": {"name": "gone", "optional": True}},
            ],
            "env": [{"name": "CFG_mode", "value": "slow $(password)"}],
        },
        [("CFG_level", "service")],
        **lookups(),
    )
    assert env == [("CFG_level", "3"), ("CFG_mode", "slow s3cret"), ("password", "s3cret")]


def test_env_from_missing_required() -> None:
    with pytest.raises(EnvError, match=r'^configmap "gone" not found$'):
        env_of({"envFrom": [{"configMapRef": {"name": "gone"}}]}, **lookups())
