"""Table printers for StatefulSet and ControllerRevision, after kube-apiserver's `printers.go`.

StatefulSet: NAME, READY (`status.readyReplicas/spec.replicas`), AGE, and in wide mode the
template's CONTAINERS and IMAGES. ControllerRevision: NAME, CONTROLLER (the controlling owner
as `kind.group/name`, lower-cased kind, `<none>` without one), REVISION (the number) and AGE.
"""

from __future__ import annotations

from datetime import datetime

from kubesvc.api.printers_common import (
    CONTAINERS_DESCRIPTION,
    IMAGES_DESCRIPTION,
    Cell,
    Column,
    Obj,
    age,
    age_column,
    container_cells,
    dicts,
    field,
    integer,
    mapping,
    name,
    name_column,
    text,
)

STATEFUL_SET_COLUMNS = (
    name_column(),
    Column(name="Ready", description="Number of the pod with ready state"),
    age_column(),
    Column(name="Containers", priority=1, description=CONTAINERS_DESCRIPTION),
    Column(name="Images", priority=1, description=IMAGES_DESCRIPTION),
)
CONTROLLER_REVISION_COLUMNS = (
    name_column(),
    Column(name="Controller", description="Controller of the object"),
    Column(
        name="Revision",
        description="Revision indicates the revision of the state represented by Data.",
    ),
    age_column(),
)


def stateful_set_cells(sts: Obj, now: datetime) -> list[Cell]:
    spec, status = mapping(sts, "spec"), mapping(sts, "status")
    names, images = container_cells(field(spec, "template", "spec"))
    return [
        name(sts),
        f"{integer(status, 'readyReplicas')}/{integer(spec, 'replicas', default=1)}",
        age(sts, now),
        names,
        images,
    ]


def _controller(obj: Obj) -> str:
    for ref in dicts(obj, "metadata", "ownerReferences"):
        if ref.get("controller") is True:
            api_version = text(ref, "apiVersion")
            group = api_version.rpartition("/")[0] if "/" in api_version else ""
            kind = text(ref, "kind").lower()
            qualified = f"{kind}.{group}" if group else kind
            return f"{qualified}/{text(ref, 'name')}"
    return "<none>"


def controller_revision_cells(revision: Obj, now: datetime) -> list[Cell]:
    return [
        name(revision),
        _controller(revision),
        integer(revision, "revision"),
        age(revision, now),
    ]
