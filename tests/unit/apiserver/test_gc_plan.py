"""The garbage collector's plan: graph nodes in, deletions, orphanings and finalizations out."""

from __future__ import annotations

from typing import Any

from kubesvc.api.resources import lookup
from kubesvc.apiserver.gc import Node, node_of, plan

RS = lookup("apps", "replicasets")
PODS = lookup("", "pods")
assert RS is not None and PODS is not None


def obj(name: str, uid: str, owners: tuple[str, ...] = (), **meta: Any) -> dict[str, Any]:
    refs = [
        {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": f"owner-{o}", "uid": o}
        for o in owners
    ]
    return {"metadata": {"name": name, "namespace": "default", "uid": uid, **meta}
            | ({"ownerReferences": refs} if refs else {})}  # fmt: skip


def test_node_keeps_only_what_collection_needs() -> None:
    node = node_of(
        PODS,
        obj("p", "u1", ("r1",), finalizers=["example.com/x", "orphan"], deletionTimestamp="t"),
    )
    assert node.ref == (PODS, "default", "p") and node.uid == "u1" and node.deleting
    assert [o.uid for o in node.owners] == ["r1"] and node.owners[0].kind == "ReplicaSet"
    assert node.finalizers == ("orphan",)


def nodes(*objs: tuple[Any, dict[str, Any]]) -> list[Node]:
    return [node_of(res, o) for res, o in objs]


def test_a_dependent_of_a_gone_owner_is_deleted_one_with_a_live_owner_kept() -> None:
    actions = plan(
        nodes(
            (RS, obj("rs", "r1")),
            (PODS, obj("kept", "p1", ("r1",))),
            (PODS, obj("orphaned", "p2", ("gone",))),
            (PODS, obj("going", "p3", ("gone",), deletionTimestamp="t")),
            (PODS, obj("one-left", "p4", ("gone", "r1"))),
        )
    )
    assert actions.delete == [(PODS, "default", "orphaned")]
    assert not actions.orphan and not actions.finalize


def test_foreground_deletes_dependents_first_then_finalizes() -> None:
    owner = obj("rs", "r1", finalizers=["foregroundDeletion"], deletionTimestamp="t")
    first = plan(nodes((RS, owner), (PODS, obj("p", "p1", ("r1",)))))
    assert first.delete == [(PODS, "default", "p")] and first.finalize == []
    after = plan(nodes((RS, owner)))
    assert after.finalize == [((RS, "default", "rs"), "foregroundDeletion")]


def test_orphan_drops_the_reference_then_finalizes() -> None:
    owner = obj("rs", "r1", finalizers=["orphan"], deletionTimestamp="t")
    first = plan(nodes((RS, owner), (PODS, obj("p", "p1", ("r1",)))))
    assert first.orphan == [((PODS, "default", "p"), "r1")] and not first.delete
    assert plan(nodes((RS, owner), (PODS, obj("p", "p1")))).finalize == [
        ((RS, "default", "rs"), "orphan")
    ]
