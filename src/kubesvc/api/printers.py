"""Server-side printing: objects to `meta.k8s.io/v1` Tables, as kube-apiserver renders them.

`kubectl get` asks for `application/json;as=Table;v=v1;g=meta.k8s.io` and prints whatever
columns the server sends, upper-cased. This module is the server half: a registry from kind to
`Printer` (its column definitions and a function from one object to its cells, found in the
`printers_*` modules), and `to_table`, which wraps the rows in a
Table the way the API server's `asTable` does, attaching to each row the object as
PartialObjectMetadata (the default, needed for `-A`, `--show-labels` and `-L`), the full object
(`includeObject=Object`, sent with `--sort-by`) or nothing.

Cells are always those of wide mode, because `-o wide` sends the same request; kubectl hides the
priority-1 columns itself. Kinds without a printer get the API server's default table convertor:
`Name` and `Created At` (RFC 3339). Printing never raises on malformed objects: missing or
mistyped fields print like Go's zero values.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from kubesvc.api import printers_apps as apps
from kubesvc.api import printers_core as core
from kubesvc.api import printers_network as net
from kubesvc.api import printers_pod as pod
from kubesvc.api.printers_common import (
    AGE_DESCRIPTION,
    Cell,
    CellsFunc,
    Column,
    Obj,
    created_at,
    name,
    name_column,
)

__all__ = ["INCLUDE_OBJECT_VALUES", "Printer", "columns", "printer_for", "row_cells", "to_table"]

TABLE_API_VERSION = "meta.k8s.io/v1"
INCLUDE_OBJECT_VALUES = ("", "Metadata", "Object", "None")


def _no_conditions(_: Obj) -> list[dict[str, Any]]:
    return []


@dataclass(frozen=True, slots=True, kw_only=True)
class Printer:
    """How one kind prints: its columns and its cells (and row conditions) for one object."""

    columns: tuple[Column, ...]
    cells: CellsFunc
    conditions: Callable[[Obj], list[dict[str, Any]]] = _no_conditions


def _default_cells(obj: Obj, _now: datetime) -> list[Cell]:
    return [name(obj), created_at(obj)]


DEFAULT_PRINTER = Printer(
    columns=(name_column(), Column(name="Created At", type="date", description=AGE_DESCRIPTION)),
    cells=_default_cells,
)

PRINTERS: Mapping[str, Printer] = {
    "Service": Printer(columns=net.SERVICE_COLUMNS, cells=net.service_cells),
    "Endpoints": Printer(columns=net.ENDPOINTS_COLUMNS, cells=net.endpoints_cells),
    "EndpointSlice": Printer(columns=net.ENDPOINT_SLICE_COLUMNS, cells=net.endpoint_slice_cells),
    "Ingress": Printer(columns=net.INGRESS_COLUMNS, cells=net.ingress_cells),
    "IngressClass": Printer(columns=net.INGRESS_CLASS_COLUMNS, cells=net.ingress_class_cells),
    "IPAddress": Printer(columns=net.IP_ADDRESS_COLUMNS, cells=net.ip_address_cells),
    "Pod": Printer(columns=pod.POD_COLUMNS, cells=pod.pod_cells, conditions=pod.pod_conditions),
    "Deployment": Printer(columns=core.DEPLOYMENT_COLUMNS, cells=core.deployment_cells),
    "ReplicaSet": Printer(columns=core.REPLICA_SET_COLUMNS, cells=core.replica_set_cells),
    "StatefulSet": Printer(columns=apps.STATEFUL_SET_COLUMNS, cells=apps.stateful_set_cells),
    "ControllerRevision": Printer(
        columns=apps.CONTROLLER_REVISION_COLUMNS, cells=apps.controller_revision_cells
    ),
    "Node": Printer(columns=core.NODE_COLUMNS, cells=core.node_cells),
    "Namespace": Printer(columns=core.NAMESPACE_COLUMNS, cells=core.namespace_cells),
    "Event": Printer(columns=core.EVENT_COLUMNS, cells=core.event_cells),
    "ConfigMap": Printer(columns=core.CONFIG_MAP_COLUMNS, cells=core.config_map_cells),
    "Secret": Printer(columns=core.SECRET_COLUMNS, cells=core.secret_cells),
    "ServiceAccount": Printer(
        columns=core.SERVICE_ACCOUNT_COLUMNS, cells=core.service_account_cells
    ),
    "Lease": Printer(columns=core.LEASE_COLUMNS, cells=core.lease_cells),
}


def printer_for(kind: str) -> Printer:
    """The printer of `kind`, or the default Name / Created At printer."""
    return PRINTERS.get(kind, DEFAULT_PRINTER)


def columns(kind: str) -> list[dict[str, Any]]:
    """The Table columnDefinitions for `kind`."""
    return [c.to_dict() for c in printer_for(kind).columns]


def row_cells(kind: str, obj: dict[str, Any], now: datetime) -> list[Cell]:
    """The cells of one object's row (all columns, wide mode included)."""
    return printer_for(kind).cells(obj if isinstance(obj, Mapping) else {}, now)


def _row_object(obj: Obj, include_object: str, api_version: str) -> dict[str, Any] | None:
    if include_object == "Object":
        return dict(obj)
    if include_object == "None":
        return None
    metadata = obj.get("metadata")
    return {
        "kind": "PartialObjectMetadata",
        "apiVersion": api_version,
        "metadata": dict(metadata) if isinstance(metadata, Mapping) else {},
    }


def to_table(
    kind: str,
    objs: Iterable[dict[str, Any]],
    *,
    now: datetime,
    include_object: str = "Metadata",
    resource_version: str = "",
    continue_token: str = "",
    api_version: str = TABLE_API_VERSION,
) -> dict[str, Any]:
    """A `meta.k8s.io/v1` Table of `objs` (one row each, in order).

    `include_object` is the request's `includeObject` (`Metadata` or empty, `Object`, `None`);
    any other value raises ValueError with the API server's BadRequest message. `api_version` is
    `meta.k8s.io/v1beta1` when the client negotiated that Table version; PartialObjectMetadata
    rows use the same group version. Empty `resource_version` and `continue_token` are omitted,
    as Go's `omitempty` does.
    """
    if include_object not in INCLUDE_OBJECT_VALUES:
        raise ValueError(f"unrecognized includeObject value: {json.dumps(include_object)}")
    printer = printer_for(kind)
    rows: list[dict[str, Any]] = []
    for obj in objs:
        source: Obj = obj if isinstance(obj, Mapping) else {}
        row: dict[str, Any] = {"cells": printer.cells(source, now)}
        conditions = printer.conditions(source)
        if conditions:
            row["conditions"] = conditions
        row_object = _row_object(source, include_object, api_version)
        if row_object is not None:
            row["object"] = row_object
        rows.append(row)
    metadata: dict[str, Any] = {}
    if resource_version:
        metadata["resourceVersion"] = resource_version
    if continue_token:
        metadata["continue"] = continue_token
    return {
        "kind": "Table",
        "apiVersion": api_version,
        "metadata": metadata,
        "columnDefinitions": [c.to_dict() for c in printer.columns],
        "rows": rows,
    }
