"""The shape of Kubernetes' Go API types, as data the strict decoder walks.

Each JSON field of a served kind maps to a `Type`: a `Scalar` (string, bool, integer of a given
width, each with the Go type name kube-apiserver prints in `json: cannot unmarshal ... of type
v1.Protocol`), a `Special` (a Go type with its own UnmarshalJSON: IntOrString, Quantity, Time,
MicroTime, []byte, or `raw` for fields kept as opaque JSON), a `ListOf`, a `MapOf` or a
`Struct` (its Go name, used in `Go struct field ServicePort.spec.ports.port`, and its fields).

Embedded Go structs (TypeMeta, VolumeSource, ProbeHandler, LocalObjectReference...) are listed
as plain fields of the outer struct, because Go promotes them and names the outer struct in
its errors. This module holds the model and the meta/v1 types; `schema_pod` and
`schema_kinds` describe the rest, as Kubernetes 1.32's k8s.io/api declares them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Scalar:
    """A JSON string, bool or number; `bits` is the width of an integer (0 otherwise)."""

    kind: str  # "string" | "bool" | "int" | "uint" | "float"
    go: str
    bits: int = 0


@dataclass(frozen=True, slots=True)
class Special:
    """A Go type that decodes itself: intstr, quantity, time, microtime, bytes, raw."""

    kind: str
    go: str


@dataclass(frozen=True, slots=True)
class ListOf:
    elem: Type
    go: str


@dataclass(frozen=True, slots=True)
class MapOf:
    elem: Type
    go: str


@dataclass(frozen=True, slots=True)
class Struct:
    name: str
    go: str
    fields: Mapping[str, Type]


Type = Scalar | Special | ListOf | MapOf | Struct

STRING = Scalar("string", "string")
BOOL = Scalar("bool", "bool")
INT32 = Scalar("int", "int32", 32)
INT64 = Scalar("int", "int64", 64)
UINT8 = Scalar("uint", "uint8", 8)
UID = Scalar("string", "types.UID")
INT_OR_STRING = Special("intstr", "intstr.IntOrString")
QUANTITY = Special("quantity", "resource.Quantity")
TIME = Special("time", "v1.Time")
MICRO_TIME = Special("microtime", "v1.MicroTime")
BYTES = Special("bytes", "[]uint8")
RAW = Special("raw", "raw")


def named(go_name: str) -> Scalar:
    """A Go string type with a name of its own (`type Protocol string` is `v1.Protocol`)."""
    return Scalar("string", go_name)


def list_of(elem: Type) -> ListOf:
    return ListOf(elem, "[]" + elem.go)


def map_of(elem: Type, go_name: str = "") -> MapOf:
    return MapOf(elem, go_name or "map[string]" + elem.go)


def struct(name: str, fields: Mapping[str, Type]) -> Struct:
    return Struct(name, "v1." + name, dict(fields))


def extend(name: str, base: Struct, fields: Mapping[str, Type]) -> Struct:
    """A struct embedding `base` inline: its fields are promoted under the new name."""
    return struct(name, {**base.fields, **fields})


STRINGS = list_of(STRING)
STRING_MAP = map_of(STRING)
RESOURCE_LIST = map_of(QUANTITY, "v1.ResourceList")

# ---- meta/v1 ---------------------------------------------------------------------------------

OWNER_REFERENCE = struct(
    "OwnerReference",
    {
        "apiVersion": STRING,
        "kind": STRING,
        "name": STRING,
        "uid": UID,
        "controller": BOOL,
        "blockOwnerDeletion": BOOL,
    },
)

MANAGED_FIELDS_ENTRY = struct(
    "ManagedFieldsEntry",
    {
        "manager": STRING,
        "operation": named("v1.ManagedFieldsOperationType"),
        "apiVersion": STRING,
        "time": TIME,
        "fieldsType": STRING,
        "fieldsV1": RAW,
        "subresource": STRING,
    },
)

OBJECT_META = struct(
    "ObjectMeta",
    {
        "name": STRING,
        "generateName": STRING,
        "namespace": STRING,
        "selfLink": STRING,
        "uid": UID,
        "resourceVersion": STRING,
        "generation": INT64,
        "creationTimestamp": TIME,
        "deletionTimestamp": TIME,
        "deletionGracePeriodSeconds": INT64,
        "labels": STRING_MAP,
        "annotations": STRING_MAP,
        "ownerReferences": list_of(OWNER_REFERENCE),
        "finalizers": STRINGS,
        "managedFields": list_of(MANAGED_FIELDS_ENTRY),
    },
)

LABEL_SELECTOR = struct(
    "LabelSelector",
    {
        "matchLabels": STRING_MAP,
        "matchExpressions": list_of(
            struct(
                "LabelSelectorRequirement",
                {"key": STRING, "operator": named("v1.LabelSelectorOperator"), "values": STRINGS},
            )
        ),
    },
)

CONDITION = struct(
    "Condition",
    {
        "type": STRING,
        "status": named("v1.ConditionStatus"),
        "observedGeneration": INT64,
        "lastTransitionTime": TIME,
        "reason": STRING,
        "message": STRING,
    },
)

TYPE_META: dict[str, Type] = {"apiVersion": STRING, "kind": STRING}


def kind(name: str, fields: Mapping[str, Type]) -> Struct:
    """A top-level kind: TypeMeta inline, ObjectMeta as `metadata`, then its own fields."""
    return struct(name, {**TYPE_META, "metadata": OBJECT_META, **fields})


DELETE_OPTIONS = struct(
    "DeleteOptions",
    {
        **TYPE_META,
        "gracePeriodSeconds": INT64,
        "preconditions": struct("Preconditions", {"uid": UID, "resourceVersion": STRING}),
        "orphanDependents": BOOL,
        "propagationPolicy": named("v1.DeletionPropagation"),
        "dryRun": STRINGS,
        "ignoreStoreReadErrorWithClusterBreakingPotential": BOOL,
    },
)
