"""ownerReferences: who controls an object, and whether a controller should adopt or release it.

`controller_ref` is metav1.GetControllerOf; `new_controller_ref` builds the reference every
controller writes (controller and blockOwnerDeletion true). `claim` decides, like
ControllerRefManager.ClaimObject, what a controller does with an object its selector may match:
keep it (owned and matching), adopt an orphan that matches, release an owned object that no
longer matches, or ignore it (someone else's, or the controller is being deleted). The patches
that adopt and release are strategic-merge patches on ownerReferences (merge key uid).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from kubesvc.controllers.pods import is_deleting, meta, uid_of

Obj = dict[str, Any]
Claim = Literal["owned", "adopt", "release", "ignore"]


def controller_ref(obj: Obj) -> Obj | None:
    for ref in meta(obj).get("ownerReferences") or []:
        if isinstance(ref, dict) and ref.get("controller") is True:
            return ref
    return None


def controller_uid(obj: Obj) -> str:
    ref = controller_ref(obj)
    return str(ref.get("uid") or "") if ref else ""


def new_controller_ref(owner: Obj, api_version: str, kind: str) -> Obj:
    return {
        "apiVersion": api_version,
        "kind": kind,
        "name": meta(owner).get("name"),
        "uid": uid_of(owner),
        "controller": True,
        "blockOwnerDeletion": True,
    }


def claim(owner: Obj, obj: Obj, matches: Callable[[Obj], bool]) -> Claim:
    ref = controller_ref(obj)
    if ref is not None:
        if ref.get("uid") != uid_of(owner):
            return "ignore"
        if matches(obj):
            return "owned"
        return "ignore" if is_deleting(owner) else "release"
    if is_deleting(owner) or not matches(obj) or is_deleting(obj):
        return "ignore"
    if meta(owner).get("namespace") != meta(obj).get("namespace"):
        return "ignore"
    return "adopt"


def adopt_patch(owner_ref: Obj, obj: Obj) -> Obj:
    return {"metadata": {"ownerReferences": [owner_ref], "uid": uid_of(obj)}}


def release_patch(owner_uid: str, obj: Obj) -> Obj:
    return {
        "metadata": {
            "ownerReferences": [{"$patch": "delete", "uid": owner_uid}],
            "uid": uid_of(obj),
        }
    }
