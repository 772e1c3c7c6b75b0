"""Kubernetes protobuf request bodies (`application/vnd.kubernetes.protobuf`) turned into JSON.

kubectl's typed clients (`kubectl create service ...`) POST protobuf: the magic `k8s\\x00`, then a
`runtime.Unknown` message {1: typeMeta{1: apiVersion, 2: kind}, 2: raw, 3: contentEncoding,
4: contentType} whose `raw` is the object's own message. `decode_object` reads the envelope and,
for core/v1 Service, the object, with a small table-driven reader: each message is a table from
field number to (Go name, JSON name, kind of value), following `k8s.io/api/core/v1/generated.proto`.
Unknown fields are skipped as protobuf requires; status, timestamps and managed fields are
skipped on purpose (the server sets them).

Protobuf sends zero values of plain fields explicitly (`clusterIP: ""`, `nodePort: 0`); they are
treated as unset, except a port's `port`, kept as 0 so validation says `Invalid value: 0`.
Pointer fields (`allocateLoadBalancerNodePorts`, `ipFamilyPolicy`, `appProtocol`,
`sessionAffinityConfig.clientIP.timeoutSeconds`, ...) are only sent when set, so whatever they
carry is kept. Anything malformed raises ValueError, worded like gogo-protobuf's errors
("unexpected EOF", "proto: wrong wireType = 0 for field Name", "proto: integer overflow").
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

MAGIC = b"k8s\x00"
CONTENT_TYPE = "application/vnd.kubernetes.protobuf"

VARINT, FIXED64, BYTES, START_GROUP, END_GROUP, FIXED32 = 0, 1, 2, 3, 4, 5


@dataclass(frozen=True, slots=True)
class _Field:
    go: str  # the Go field name, for error messages
    json: str
    kind: str  # string int32 int64 bool strings map message messages intstr skip raw
    message: str = ""  # the nested message's name, for "message" and "messages"
    pointer: bool = False  # sent only when set: keep zero values
    keep_zero: bool = False


def _f(go: str, kind: str = "string", json: str = "", **extra: Any) -> _Field:
    return _Field(go=go, json=json or go[0].lower() + go[1:], kind=kind, **extra)


_MESSAGES: dict[str, dict[int, _Field]] = {
    "Unknown": {
        1: _f("TypeMeta", "message", message="TypeMeta"),
        2: _f("Raw", "raw"),
        3: _f("ContentEncoding"),
        4: _f("ContentType"),
    },
    "TypeMeta": {1: _f("APIVersion", json="apiVersion"), 2: _f("Kind")},
    "Service": {
        1: _f("ObjectMeta", "message", json="metadata", message="ObjectMeta"),
        2: _f("Spec", "message", message="ServiceSpec"),
        3: _f("Status", "skip"),
    },
    "ObjectMeta": {
        1: _f("Name"),
        2: _f("GenerateName"),
        3: _f("Namespace"),
        4: _f("SelfLink", "skip"),
        5: _f("UID", json="uid"),
        6: _f("ResourceVersion"),
        7: _f("Generation", "int64"),
        8: _f("CreationTimestamp", "skip"),
        9: _f("DeletionTimestamp", "skip"),
        10: _f("DeletionGracePeriodSeconds", "int64", pointer=True),
        11: _f("Labels", "map"),
        12: _f("Annotations", "map"),
        13: _f("OwnerReferences", "skip"),
        14: _f("Finalizers", "strings"),
        17: _f("ManagedFields", "skip"),
    },
    "ServiceSpec": {
        1: _f("Ports", "messages", message="ServicePort"),
        2: _f("Selector", "map"),
        3: _f("ClusterIP", json="clusterIP"),
        4: _f("Type"),
        5: _f("ExternalIPs", "strings", json="externalIPs"),
        7: _f("SessionAffinity"),
        8: _f("LoadBalancerIP", json="loadBalancerIP"),
        9: _f("LoadBalancerSourceRanges", "strings"),
        10: _f("ExternalName"),
        11: _f("ExternalTrafficPolicy"),
        12: _f("HealthCheckNodePort", "int32"),
        13: _f("PublishNotReadyAddresses", "bool"),
        14: _f("SessionAffinityConfig", "message", message="SessionAffinityConfig"),
        17: _f("IPFamilyPolicy", json="ipFamilyPolicy", pointer=True),
        18: _f("ClusterIPs", "strings", json="clusterIPs"),
        19: _f("IPFamilies", "strings", json="ipFamilies"),
        20: _f("AllocateLoadBalancerNodePorts", "bool", pointer=True),
        21: _f("LoadBalancerClass", pointer=True),
        22: _f("InternalTrafficPolicy", pointer=True),
        23: _f("TrafficDistribution", pointer=True),
    },
    "ServicePort": {
        1: _f("Name"),
        2: _f("Protocol"),
        3: _f("Port", "int32", keep_zero=True),
        4: _f("TargetPort", "intstr"),
        5: _f("NodePort", "int32"),
        6: _f("AppProtocol", pointer=True),
    },
    "SessionAffinityConfig": {
        1: _f("ClientIP", "message", json="clientIP", message="ClientIPConfig"),
    },
    "ClientIPConfig": {1: _f("TimeoutSeconds", "int32", pointer=True)},
    "IntOrString": {1: _f("Type", "int64"), 2: _f("IntVal", "int32"), 3: _f("StrVal")},
}

_WIRE_TYPES = {
    "string": BYTES,
    "raw": BYTES,
    "strings": BYTES,
    "map": BYTES,
    "message": BYTES,
    "messages": BYTES,
    "intstr": BYTES,
    "int32": VARINT,
    "int64": VARINT,
    "bool": VARINT,
}


class _Reader:
    """Walks the fields of one message: (field number, wire type, int or bytes value)."""

    def __init__(self, data: bytes, name: str) -> None:
        self.data = data
        self.pos = 0
        self.name = name

    def varint(self) -> int:
        value = shift = 0
        while True:
            if shift >= 64:
                raise ValueError("proto: integer overflow")
            if self.pos >= len(self.data):
                raise ValueError("unexpected EOF")
            byte = self.data[self.pos]
            self.pos += 1
            value |= (byte & 0x7F) << shift
            if byte < 0x80:
                return value & 0xFFFFFFFFFFFFFFFF
            shift += 7

    def take(self, size: int) -> bytes:
        if size < 0 or size >= 1 << 63:
            raise ValueError("proto: negative length found during unmarshaling")
        if self.pos + size > len(self.data):
            raise ValueError("unexpected EOF")
        chunk = self.data[self.pos : self.pos + size]
        self.pos += size
        return chunk

    def fields(self) -> Iterator[tuple[int, int, Any]]:
        while self.pos < len(self.data):
            tag = self.varint()
            number, wire = tag >> 3, tag & 7
            if wire == END_GROUP:
                raise ValueError(f"proto: {self.name}: wiretype end group for non-group")
            if number <= 0 or number >= 1 << 29:
                raise ValueError(f"proto: {self.name}: illegal tag {number} (wire type {wire})")
            if wire == VARINT:
                yield number, wire, self.varint()
            elif wire == BYTES:
                yield number, wire, self.take(self.varint())
            elif wire == FIXED64:
                yield number, wire, self.take(8)
            elif wire == FIXED32:
                yield number, wire, self.take(4)
            else:
                raise ValueError(f"proto: illegal wireType {wire}")


def _signed(value: int, bits: int) -> int:
    value &= (1 << bits) - 1
    return value - (1 << bits) if value >> (bits - 1) else value


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", errors="replace")


def _map_entry(raw: bytes) -> tuple[str, str]:
    key = value = ""
    for number, wire, item in _Reader(raw, "MapEntry").fields():
        if number in (1, 2):
            if wire != BYTES:
                name = "Key" if number == 1 else "Value"
                raise ValueError(f"proto: wrong wireType = {wire} for field {name}")
            if number == 1:
                key = _text(item)
            else:
                value = _text(item)
    return key, value


def _int_or_string(raw: bytes) -> int | str:
    fields = _decode(raw, "IntOrString")
    if fields.get("type") == 1:
        return str(fields.get("strVal", ""))
    return int(fields.get("intVal", 0))


def _scalar(field: _Field, item: Any) -> Any:
    """The JSON value of one scalar occurrence, or None when it means "unset"."""
    if field.kind == "string":
        value: Any = _text(item)
    elif field.kind == "raw":
        value = bytes(item)
    elif field.kind == "int32":
        value = _signed(item, 32)
    elif field.kind == "int64":
        value = _signed(item, 64)
    elif field.kind == "bool":
        value = item != 0
    else:  # intstr
        value = _int_or_string(item)
    if field.pointer or field.keep_zero or value not in ("", 0, b""):
        return value
    return None


def _decode(data: bytes, name: str) -> dict[str, Any]:
    table = _MESSAGES[name]
    out: dict[str, Any] = {}
    for number, wire, item in _Reader(data, name).fields():
        field = table.get(number)
        if field is None:
            continue
        if wire != _WIRE_TYPES.get(field.kind, BYTES):
            raise ValueError(f"proto: wrong wireType = {wire} for field {field.go}")
        if field.kind == "skip":
            continue
        if field.kind == "strings":
            out.setdefault(field.json, []).append(_text(item))
        elif field.kind == "map":
            key, value = _map_entry(item)
            out.setdefault(field.json, {})[key] = value
        elif field.kind == "message":
            out[field.json] = {**out.get(field.json, {}), **_decode(item, field.message)}
        elif field.kind == "messages":
            out.setdefault(field.json, []).append(_decode(item, field.message))
        else:
            value = _scalar(field, item)
            if value is None:
                out.pop(field.json, None)
            else:
                out[field.json] = value
    for field in table.values():
        if field.keep_zero:
            out.setdefault(field.json, 0)
    return out


def decode_object(body: bytes) -> dict[str, Any]:
    """Decode a protobuf request body into Kubernetes JSON; ValueError if it is malformed."""
    if not body.startswith(MAGIC):
        raise ValueError(
            "provided data does not appear to be a protobuf message, expected prefix [107 56 115 0]"
        )
    envelope = _decode(body[len(MAGIC) :], "Unknown")
    type_meta = envelope.get("typeMeta", {})
    api_version, kind = type_meta.get("apiVersion", ""), type_meta.get("kind", "")
    if (api_version, kind) != ("v1", "Service"):
        if not kind:
            raise ValueError("object kind is not set in the protobuf envelope")
        raise ValueError(
            f'protobuf bodies are only understood for v1 Service, not "{api_version}" "{kind}"'
        )
    encoding = envelope.get("contentEncoding", "")
    if encoding:
        raise ValueError(f'unsupported protobuf content encoding "{encoding}"')
    service = _decode(envelope.get("raw", b""), "Service")
    return {
        "apiVersion": api_version,
        "kind": kind,
        "metadata": service.get("metadata", {}),
        "spec": service.get("spec", {}),
    }
