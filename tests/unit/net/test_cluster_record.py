"""The cluster record `kubesvc up` writes and every node-side command reads."""

from __future__ import annotations

from pathlib import Path

import pytest

from kubesvc.net import cluster


def test_round_trip_and_derived_values(tmp_path: Path) -> None:
    record = cluster.ClusterRecord(
        cluster="ab12c",
        nodes=2,
        node_cidr="172.19.0.0/16",
        pod_cidr="10.245.0.0/16",
        service_cidr="10.112.0.0/12",
        lease_interval=1.25,
    )
    record.save(tmp_path)
    loaded = cluster.load(tmp_path)
    assert loaded == record
    assert loaded.dns_ip == "10.112.0.10"
    assert [n.name for n in loaded.topology().nodes] == ["node-1", "node-2"]
    assert loaded.topology().node("node-2").pod_subnet == "10.245.2.0/24"


def test_missing_record_says_how_to_start_one(tmp_path: Path) -> None:
    with pytest.raises(cluster.NoCluster) as info:
        cluster.load(tmp_path)
    assert str(info.value) == (
        f"no cluster in {tmp_path}: start one with `kubesvc up --data-dir {tmp_path}`"
    )
