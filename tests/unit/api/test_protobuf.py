"""Protobuf Service bodies, built by a tiny protobuf writer the way kubectl's typed client does.

The writer below emits fields the way gogo-protobuf marshals Kubernetes types: ascending field
numbers, every non-pointer field sent even when empty or zero, pointer fields only when set.
"""

from __future__ import annotations

import contextlib
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kubesvc.api.protobuf import MAGIC, decode_object

# --------------------------------------------------------------------------- a protobuf writer


def varint(value: int) -> bytes:
    value &= (1 << 64) - 1
    out = bytearray()
    while True:
        low, value = value & 0x7F, value >> 7
        if value:
            out.append(low | 0x80)
        else:
            out.append(low)
            return bytes(out)


def vint(number: int, value: int) -> bytes:
    return varint(number << 3) + varint(value)


def blob(number: int, data: bytes | str) -> bytes:
    raw = data.encode() if isinstance(data, str) else data
    return varint(number << 3 | 2) + varint(len(raw)) + raw


def entry(number: int, key: str, value: str) -> bytes:
    return blob(number, blob(1, key) + blob(2, value))


def envelope(raw: bytes, kind: str = "Service", api_version: str = "v1") -> bytes:
    type_meta = blob(1, api_version) + blob(2, kind)
    return MAGIC + blob(1, type_meta) + blob(2, raw) + blob(3, "") + blob(4, "")


def object_meta(name: str, labels: dict[str, str] | None = None) -> bytes:
    """ObjectMeta as gogo writes it: all plain fields, creationTimestamp as an empty message."""
    out = blob(1, name) + blob(2, "") + blob(3, "") + blob(4, "") + blob(5, "") + blob(6, "")
    out += vint(7, 0) + blob(8, b"")
    for key, value in sorted((labels or {}).items()):
        out += entry(11, key, value)
    return out


def int_or_string(value: int | str) -> bytes:
    if isinstance(value, str):
        return vint(1, 1) + vint(2, 0) + blob(3, value)
    return vint(1, 0) + vint(2, value) + blob(3, "")


def service_port(
    name: str, port: int, target: int | str, *, protocol: str = "TCP", node_port: int = 0
) -> bytes:
    return (
        blob(1, name)
        + blob(2, protocol)
        + vint(3, port)
        + blob(4, int_or_string(target))
        + vint(5, node_port)
    )


def service_spec(
    ports: list[bytes],
    *,
    selector: dict[str, str] | None = None,
    cluster_ip: str = "",
    type_: str = "ClusterIP",
    external_name: str = "",
    extra: bytes = b"",
) -> bytes:
    out = b"".join(blob(1, p) for p in ports)
    for key, value in sorted((selector or {}).items()):
        out += entry(2, key, value)
    out += (
        blob(3, cluster_ip) + blob(4, type_) + blob(7, "") + blob(8, "") + blob(10, external_name)
    )
    out += blob(11, "") + vint(12, 0) + vint(13, 0)
    return out + extra


def service(meta: bytes, spec: bytes) -> bytes:
    status = blob(1, b"")  # an empty LoadBalancerStatus
    return blob(1, meta) + blob(2, spec) + blob(3, status)


def create_service_clusterip_aaa() -> bytes:
    """`kubectl create service clusterip aaa --tcp=81:8080 --tcp=5678:http`."""
    spec = service_spec(
        [service_port("81-8080", 81, 8080), service_port("5678-http", 5678, "http")],
        selector={"app": "aaa"},
    )
    return envelope(service(object_meta("aaa", {"app": "aaa"}), spec))


# --------------------------------------------------------------------------- decoding


def test_kubectl_create_service_clusterip_example() -> None:
    assert decode_object(create_service_clusterip_aaa()) == {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "aaa", "labels": {"app": "aaa"}},
        "spec": {
            "ports": [
                {"name": "81-8080", "protocol": "TCP", "port": 81, "targetPort": 8080},
                {"name": "5678-http", "protocol": "TCP", "port": 5678, "targetPort": "http"},
            ],
            "selector": {"app": "aaa"},
            "type": "ClusterIP",
        },
    }


def test_nodeport_with_node_port() -> None:
    spec = service_spec(
        [service_port("80-8080", 80, 8080, node_port=30080)],
        selector={"app": "np"},
        type_="NodePort",
    )
    body = decode_object(envelope(service(object_meta("np", {"app": "np"}), spec)))
    assert body["spec"] == {
        "ports": [
            {
                "name": "80-8080",
                "protocol": "TCP",
                "port": 80,
                "targetPort": 8080,
                "nodePort": 30080,
            }
        ],
        "selector": {"app": "np"},
        "type": "NodePort",
    }


def test_externalname() -> None:
    spec = service_spec([], type_="ExternalName", external_name="example.com")
    body = decode_object(envelope(service(object_meta("ext", {"app": "ext"}), spec)))
    assert body["spec"] == {"type": "ExternalName", "externalName": "example.com"}
    assert body["metadata"] == {"name": "ext", "labels": {"app": "ext"}}


def test_headless_cluster_ip_none() -> None:
    spec = service_spec([service_port("80", 80, 80)], cluster_ip="None")
    body = decode_object(envelope(service(object_meta("hl"), spec)))
    assert body["spec"]["clusterIP"] == "None"
    assert body["metadata"] == {"name": "hl"}


def test_zero_port_is_kept_other_zeros_are_unset() -> None:
    spec = service_spec([service_port("", 0, 0, protocol="")])
    body = decode_object(envelope(service(object_meta("z"), spec)))
    assert body["spec"]["ports"] == [{"port": 0}]
    assert "clusterIP" not in body["spec"]
    assert "healthCheckNodePort" not in body["spec"]


def test_port_field_absent_still_reads_as_zero() -> None:
    body = decode_object(envelope(service(b"", blob(1, blob(1, "p")))))
    assert body["spec"]["ports"] == [{"name": "p", "port": 0}]


def test_every_service_spec_field() -> None:
    affinity = blob(14, blob(1, vint(1, 600)))
    extra = (
        affinity
        + blob(5, "1.2.3.4")
        + blob(5, "5.6.7.8")
        + blob(9, "10.0.0.0/8")
        + blob(17, "PreferDualStack")
        + blob(18, "10.96.0.10")
        + blob(19, "IPv4")
        + vint(20, 0)
        + blob(21, "example.com/lb")
        + blob(22, "Local")
        + blob(23, "PreferClose")
    )
    spec = service_spec(
        [service_port("h", 443, "https", protocol="TCP") + blob(6, "kubernetes.io/h2c")],
        type_="LoadBalancer",
        cluster_ip="10.96.0.10",
        extra=extra,
    )
    spec += vint(12, 31000) + vint(13, 1) + blob(7, "ClientIP") + blob(8, "9.9.9.9")
    spec += blob(11, "Local")
    body = decode_object(envelope(service(object_meta("all"), spec)))
    assert body["spec"] == {
        "ports": [
            {
                "name": "h",
                "protocol": "TCP",
                "port": 443,
                "targetPort": "https",
                "appProtocol": "kubernetes.io/h2c",
            }
        ],
        "clusterIP": "10.96.0.10",
        "type": "LoadBalancer",
        "sessionAffinityConfig": {"clientIP": {"timeoutSeconds": 600}},
        "externalIPs": ["1.2.3.4", "5.6.7.8"],
        "loadBalancerSourceRanges": ["10.0.0.0/8"],
        "ipFamilyPolicy": "PreferDualStack",
        "clusterIPs": ["10.96.0.10"],
        "ipFamilies": ["IPv4"],
        "allocateLoadBalancerNodePorts": False,
        "loadBalancerClass": "example.com/lb",
        "internalTrafficPolicy": "Local",
        "trafficDistribution": "PreferClose",
        "healthCheckNodePort": 31000,
        "publishNotReadyAddresses": True,
        "sessionAffinity": "ClientIP",
        "loadBalancerIP": "9.9.9.9",
        "externalTrafficPolicy": "Local",
    }


def test_pointer_zero_values_are_kept() -> None:
    spec = blob(14, blob(1, vint(1, 0))) + vint(20, 0)
    body = decode_object(envelope(service(b"", spec)))
    assert body["spec"] == {
        "sessionAffinityConfig": {"clientIP": {"timeoutSeconds": 0}},
        "allocateLoadBalancerNodePorts": False,
    }


def test_object_meta_fields() -> None:
    meta = (
        blob(1, "web")
        + blob(2, "web-")
        + blob(3, "prod")
        + blob(4, "/api/v1/x")
        + blob(5, "1234-uid")
        + blob(6, "42")
        + vint(7, 3)
        + blob(8, vint(1, 1700000000))
        + blob(9, vint(1, 1700000001))
        + vint(10, 30)
        + entry(11, "app", "web")
        + entry(11, "tier", "")
        + entry(12, "note", "hi")
        + blob(13, blob(1, "Deployment"))
        + blob(14, "example.com/a")
        + blob(14, "example.com/b")
        + blob(17, blob(1, "kubectl"))
    )
    body = decode_object(envelope(service(meta, b"")))
    assert body["metadata"] == {
        "name": "web",
        "generateName": "web-",
        "namespace": "prod",
        "uid": "1234-uid",
        "resourceVersion": "42",
        "generation": 3,
        "deletionGracePeriodSeconds": 30,
        "labels": {"app": "web", "tier": ""},
        "annotations": {"note": "hi"},
        "finalizers": ["example.com/a", "example.com/b"],
    }


def test_negative_int32_is_sign_extended() -> None:
    body = decode_object(envelope(service(b"", blob(1, vint(3, -1) + vint(5, -30000)))))
    assert body["spec"]["ports"] == [{"port": -1, "nodePort": -30000}]


def test_unknown_fields_of_every_wire_type_are_skipped() -> None:
    unknown = vint(99, 7) + blob(98, "x") + varint(97 << 3 | 1) + b"8bytes!!" + varint(96 << 3 | 5)
    unknown += b"4byt"
    spec = unknown + blob(4, "NodePort")
    body = decode_object(envelope(service(unknown + blob(1, "u"), spec)))
    assert body == {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "u"},
        "spec": {"type": "NodePort"},
    }


def test_last_occurrence_of_a_scalar_wins_and_an_empty_one_unsets() -> None:
    spec = blob(4, "NodePort") + blob(4, "ClusterIP") + blob(3, "1.1.1.1") + blob(3, "")
    assert decode_object(envelope(service(b"", spec)))["spec"] == {"type": "ClusterIP"}


def test_empty_service_message() -> None:
    assert decode_object(envelope(b"")) == {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {},
        "spec": {},
    }


def test_invalid_utf8_is_replaced() -> None:
    body = decode_object(envelope(service(blob(1, b"a\xffb"), b"")))
    assert body["metadata"]["name"] == "a\ufffdb"


# --------------------------------------------------------------------------- malformed bodies


NOT_PROTOBUF = (
    "provided data does not appear to be a protobuf message, expected prefix [107 56 115 0]"
)
ONLY_SERVICE = "protobuf bodies are only understood for v1 Service, not "
NO_KIND = "object kind is not set in the protobuf envelope"
WRONG = "proto: wrong wireType = "
TYPE_META = blob(1, blob(1, "v1") + blob(2, "Service"))
MALFORMED = [
    (b"", NOT_PROTOBUF),
    (b'{"kind":"Service"}', NOT_PROTOBUF),
    (b"k8s\x01" + blob(2, b""), NOT_PROTOBUF),
    (MAGIC, NO_KIND),
    (envelope(b"", kind=""), NO_KIND),
    (envelope(b"", "Deployment", "apps/v1"), ONLY_SERVICE + '"apps/v1" "Deployment"'),
    (envelope(b"", "Service", "v2"), ONLY_SERVICE + '"v2" "Service"'),
    (MAGIC + TYPE_META + blob(3, "gzip"), 'unsupported protobuf content encoding "gzip"'),
    (MAGIC + b"\x0a", "unexpected EOF"),
    (MAGIC + b"\x0a\x05ab", "unexpected EOF"),
    (MAGIC + b"\x0a\x80", "unexpected EOF"),
    (MAGIC + varint(99 << 3 | 1) + b"short", "unexpected EOF"),
    (envelope(blob(2, blob(1, blob(4, b"\x10")))), "unexpected EOF"),
    (MAGIC + b"\x08" + b"\xff" * 10 + b"\x01", "proto: integer overflow"),
    (MAGIC + b"\x0a" + b"\xff" * 9 + b"\x01", "proto: negative length found during unmarshaling"),
    (MAGIC + b"\x00", "proto: Unknown: illegal tag 0 (wire type 0)"),
    (MAGIC + b"\x0c", "proto: Unknown: wiretype end group for non-group"),
    (MAGIC + b"\x0e", "proto: illegal wireType 6"),
    (MAGIC + b"\x0b", "proto: illegal wireType 3"),
    (MAGIC + b"\x08\x01", WRONG + "0 for field TypeMeta"),
    (MAGIC + blob(1, vint(2, 1)), WRONG + "0 for field Kind"),
    (envelope(blob(1, vint(1, 5))), WRONG + "0 for field Name"),
    (envelope(blob(2, vint(1, 5))), WRONG + "0 for field Ports"),
    (envelope(blob(2, blob(1, blob(3, "x")))), WRONG + "2 for field Port"),
    (envelope(blob(2, blob(13, "yes"))), WRONG + "2 for field PublishNotReadyAddresses"),
    (envelope(blob(2, blob(1, blob(4, blob(2, "x"))))), WRONG + "2 for field IntVal"),
    (envelope(blob(1, blob(11, vint(1, 1)))), WRONG + "0 for field Key"),
    (envelope(blob(1, blob(11, vint(2, 1)))), WRONG + "0 for field Value"),
]


@pytest.mark.parametrize(("body", "message"), MALFORMED)
def test_malformed_bodies_raise_value_error(body: bytes, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        decode_object(body)
    assert str(caught.value) == message


def test_every_truncation_of_a_real_body_is_value_error_or_decodes() -> None:
    body = create_service_clusterip_aaa()
    for cut in range(len(MAGIC), len(body)):
        try:
            decoded = decode_object(body[:cut])
        except ValueError:
            continue
        assert decoded["kind"] == "Service"


@given(st.binary(max_size=256))
@settings(max_examples=400)
def test_fuzz_random_bytes_only_raise_value_error(data: bytes) -> None:
    for body in (data, MAGIC + data, envelope(data)):
        try:
            result: Any = decode_object(body)
        except ValueError:
            continue
        assert result["kind"] == "Service"


@given(st.data())
@settings(max_examples=300)
def test_fuzz_mutated_real_body_only_raises_value_error(data: st.DataObject) -> None:
    body = bytearray(create_service_clusterip_aaa())
    for _ in range(data.draw(st.integers(1, 4))):
        index = data.draw(st.integers(len(MAGIC), len(body) - 1))
        body[index] = data.draw(st.integers(0, 255))
    with contextlib.suppress(ValueError):
        decode_object(bytes(body))
