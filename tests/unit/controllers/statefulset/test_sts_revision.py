"""ControllerRevisions: hashing and naming, choosing the update revision, history."""

from __future__ import annotations

import re

import pytest

from kubesvc.controllers.statefulset import revision
from tests.unit.controllers.statefulset.sts_builders import pod, rev, sts


@pytest.mark.parametrize(
    ("data", "value"),
    [(b"", 0x811C9DC5), (b"a", 0x050C5D7E), (b"foobar", 0x31F0B262)],
)
def test_fnv1_32_reference_values(data: bytes, value: int) -> None:
    assert revision.fnv32(data) == value


def test_revision_object() -> None:
    made = revision.new_revision(sts(), 1, 0)
    digest = made["metadata"]["labels"]["controller.kubernetes.io/hash"]
    assert re.fullmatch(r"[bcdfghjklmnpqrstvwxz2456789]{1,10}", digest)
    assert made["metadata"]["name"] == f"web-{digest}"
    assert made["metadata"]["labels"]["app"] == "nginx"
    assert made["metadata"]["ownerReferences"][0]["kind"] == "StatefulSet"
    template = made["data"]["spec"]["template"]
    assert template["$patch"] == "replace"
    assert template["spec"]["containers"][0]["image"] == "nginx:1"
    assert made["revision"] == 1


def test_hash_depends_on_template_and_collision_count_only() -> None:
    data = revision.revision_data(sts())
    assert revision.hash_revision(data, 0) == revision.hash_revision(
        revision.revision_data(sts(replicas=7)), 0
    )
    assert revision.hash_revision(data, 0) != revision.hash_revision(data, 1)
    assert revision.hash_revision(data, 0) != revision.hash_revision(
        revision.revision_data(sts(image="nginx:2")), 0
    )


def test_long_names_are_cut() -> None:
    assert revision.revision_name("x" * 300, "abc") == "x" * 223 + "-abc"


def test_apply_revision_restores_the_template() -> None:
    restored = revision.apply_revision(sts(image="nginx:2", replicas=5), rev("nginx:1"))
    assert restored["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1"
    assert "$patch" not in restored["spec"]["template"]
    assert restored["spec"]["replicas"] == 5


def test_choose() -> None:
    r1, r2 = rev("nginx:1", 1), rev("nginx:2", 2)
    same = revision.choose(sts(image="nginx:2"), [r2, r1], 0)
    assert same.action == "existing" and same.revision is r2
    back = revision.choose(sts(image="nginx:1"), [r1, r2], 0)
    assert (back.action, back.revision, back.number) == ("renumber", r1, 3)
    new = revision.choose(sts(image="nginx:3"), [r1, r2], 0)
    assert new.action == "create" and new.revision["revision"] == 3
    first = revision.choose(sts(), [], 0)
    assert first.action == "create" and first.revision["revision"] == 1


def test_current_revision_is_named_by_the_status() -> None:
    r1, r2 = rev("nginx:1", 1), rev("nginx:2", 2)
    named = sts(status={"currentRevision": revision.name_of(r1)})
    assert revision.current_revision(named, [r1, r2], r2) is r1
    assert revision.current_revision(sts(), [r1, r2], r2) is r2


def test_history_is_truncated_oldest_first_keeping_live_revisions() -> None:
    revisions = [rev(f"nginx:{i}", i) for i in range(1, 6)]
    names = [revision.name_of(r) for r in revisions]
    live = {names[4], names[1]}
    dropped = revision.to_truncate(2, list(reversed(revisions)), live)
    assert [revision.name_of(r) for r in dropped] == [names[0]]
    assert revision.to_truncate(0, revisions, live) == [revisions[0], revisions[2], revisions[3]]
    assert revision.to_truncate(10, revisions, live) == []


def test_pod_revision_label_names_the_revision() -> None:
    r2 = rev("nginx:2", 2)
    assert pod(0, revision_of=r2)["metadata"]["labels"]["controller-revision-hash"] == (
        revision.name_of(r2)
    )
