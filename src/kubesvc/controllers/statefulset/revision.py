"""ControllerRevisions: the history of a StatefulSet's pod template, as upstream keeps it.

A revision's `data` is the patch that restores the template:
`{"spec": {"template": {..., "$patch": "replace"}}}`. Its name is `SET-HASH`, where HASH is the
32-bit FNV-1 hash (not 1a) of the data's canonical JSON followed by the decimal collision count,
rendered through `rand.SafeEncodeString` (upstream hashes Go's JSON of the same map, which also
sorts keys; our bytes differ where our stored template differs from Go's encoding of it). It
carries the template's labels plus `controller.kubernetes.io/hash`, a controller
ownerReference and its `revision` number.

`choose` is getStatefulSetRevisions as a decision: the update revision is the newest existing
revision when its data equals the set's template, an older equal revision renumbered to the
next number (a rollback), or a new revision to create; the current revision is the one named
by `status.currentRevision`, else the update revision. `apply_revision` gives the set as of a
revision (its template replaced). `to_truncate` lists the revisions to delete so that at most
`revisionHistoryLimit` revisions that neither the status nor a pod refers to remain, oldest
first.
"""

from __future__ import annotations

import copy
import functools
import json
from dataclasses import dataclass
from typing import Any

from kubesvc.api.meta import parse_time
from kubesvc.controllers.hashing import safe_encode_string
from kubesvc.controllers.owners import new_controller_ref
from kubesvc.controllers.pods import meta, spec, status

Obj = dict[str, Any]

HASH_LABEL = "controller.kubernetes.io/hash"
_FNV_OFFSET = 0x811C9DC5
_FNV_PRIME = 0x01000193
_MAX_PREFIX = 223


def fnv32(data: bytes) -> int:
    """FNV-1, 32 bits (Go's hash/fnv.New32): multiply, then xor."""
    value = _FNV_OFFSET
    for byte in data:
        value = (value * _FNV_PRIME) & 0xFFFFFFFF
        value ^= byte
    return value


def revision_data(sts: Obj) -> Obj:
    template = copy.deepcopy(spec(sts).get("template") or {})
    template["$patch"] = "replace"
    return {"spec": {"template": template}}


def canonical(data: Any) -> bytes:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def hash_revision(data: Any, collision_count: int | None) -> str:
    raw = canonical(data)
    if collision_count is not None:
        raw += str(collision_count).encode()
    return safe_encode_string(str(fnv32(raw)))


def revision_name(prefix: str, digest: str) -> str:
    return f"{prefix[:_MAX_PREFIX]}-{digest}"


def new_revision(sts: Obj, number: int, collision_count: int | None) -> Obj:
    data = revision_data(sts)
    digest = hash_revision(data, collision_count)
    labels = dict(((spec(sts).get("template") or {}).get("metadata") or {}).get("labels") or {})
    labels[HASH_LABEL] = digest
    revision_meta: Obj = {
        "name": revision_name(str(meta(sts).get("name") or ""), digest),
        "labels": labels,
        "ownerReferences": [new_controller_ref(sts, "apps/v1", "StatefulSet")],
    }
    if meta(sts).get("namespace"):
        revision_meta["namespace"] = meta(sts)["namespace"]
    return {
        "apiVersion": "apps/v1",
        "kind": "ControllerRevision",
        "metadata": revision_meta,
        "data": data,
        "revision": number,
    }


def number_of(revision: Obj) -> int:
    value = revision.get("revision")
    return value if isinstance(value, int) else 0


def name_of(revision: Obj) -> str:
    return str(meta(revision).get("name") or "")


def _compare(a: Obj, b: Obj) -> int:
    """byRevision: the number, then the creation time, then the name."""
    if number_of(a) != number_of(b):
        return -1 if number_of(a) < number_of(b) else 1
    created_a = parse_time(meta(a).get("creationTimestamp"))
    created_b = parse_time(meta(b).get("creationTimestamp"))
    if created_a != created_b and created_a is not None and created_b is not None:
        return -1 if created_a < created_b else 1
    return (name_of(a) > name_of(b)) - (name_of(a) < name_of(b))


def sort_revisions(revisions: list[Obj]) -> list[Obj]:
    return sorted(revisions, key=functools.cmp_to_key(_compare))


def equal_revision(a: Obj, b: Obj) -> bool:
    return canonical(a.get("data")) == canonical(b.get("data"))


def apply_revision(sts: Obj, revision: Obj) -> Obj:
    """The set with its template as recorded in `revision`."""
    restored = copy.deepcopy(sts)
    data = revision.get("data")
    template = data.get("spec", {}).get("template") if isinstance(data, dict) else None
    if isinstance(template, dict):
        template = {k: v for k, v in copy.deepcopy(template).items() if k != "$patch"}
        restored.setdefault("spec", {})["template"] = template
    return restored


@dataclass(frozen=True, slots=True, kw_only=True)
class Choice:
    """How to get the update revision: `existing`, `renumber` it to `number`, or `create`."""

    action: str
    revision: Obj
    number: int = 0


def choose(sts: Obj, revisions: list[Obj], collision_count: int) -> Choice:
    ordered = sort_revisions(revisions)
    number = number_of(ordered[-1]) + 1 if ordered else 1
    wanted = new_revision(sts, number, collision_count)
    equal = [r for r in ordered if equal_revision(r, wanted)]
    if equal and equal[-1] is ordered[-1]:
        return Choice(action="existing", revision=ordered[-1])
    if equal:
        return Choice(action="renumber", revision=equal[-1], number=number)
    return Choice(action="create", revision=wanted)


def current_revision(sts: Obj, revisions: list[Obj], update: Obj) -> Obj:
    wanted = status(sts).get("currentRevision")
    return next((r for r in revisions if name_of(r) == wanted), update)


def to_truncate(limit: int, revisions: list[Obj], live: set[str]) -> list[Obj]:
    history = [r for r in sort_revisions(revisions) if name_of(r) not in live]
    return history[: max(0, len(history) - max(0, limit))]
