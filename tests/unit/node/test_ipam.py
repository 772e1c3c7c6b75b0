"""Pod addresses on a node: handed out round-robin like the CNI host-local plugin."""

from __future__ import annotations

from pathlib import Path

import pytest

from kubesvc.net import plan
from kubesvc.node.images import ImageTable
from kubesvc.node.pod import NodeContext


@pytest.fixture
def ctx(tmp_path: Path) -> NodeContext:
    topology = plan.plan_topology("abcde", 1, "172.18.0.0/16", "10.244.0.0/16", "10.96.0.0/12")
    return NodeContext(
        node="node-1",
        node_ip="172.18.0.2",
        cluster="abcde",
        topology=topology,
        data_dir=tmp_path,
        image_table=ImageTable.load(None),
        services=list,
        lookup=lambda kind, ns, name: None,
        publish=lambda pod, status: None,
    )


def test_a_freed_address_is_not_handed_out_again_at_once(ctx: NodeContext) -> None:
    first, second = ctx.allocate_ip(), ctx.allocate_ip()
    assert (first, second) == ("10.244.1.2", "10.244.1.3")
    ctx.ipam.discard(first)
    assert ctx.allocate_ip() == "10.244.1.4"


def test_allocation_wraps_round_and_skips_addresses_in_use(ctx: NodeContext) -> None:
    ctx.ipam.update(f"10.244.1.{n}" for n in range(2, 255))
    ctx.ipam.discard("10.244.1.7")
    ctx.ipam_last = 200
    assert ctx.allocate_ip() == "10.244.1.7"
    with pytest.raises(RuntimeError, match="no free pod address on node-1"):
        ctx.allocate_ip()
