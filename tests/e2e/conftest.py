"""What every e2e module shares: the tier's marker, the root requirement, and a module-scoped
cluster (`kubesvc up`, 3 nodes) with a kubectl for it.

A module that needs `up` flags of its own overrides `cluster_args`; the cluster fixture itself
(start, yield, stop, check that nothing is left) lives in `harness.run_cluster`.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import Kubectl
from tests.e2e.harness import Cluster, cluster_kubectl, run_cluster

HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    needs_root = pytest.mark.skipif(
        os.geteuid() != 0, reason="kubesvc up needs root for network namespaces"
    )
    for item in items:
        if HERE in Path(str(item.fspath)).resolve().parents:
            item.add_marker(pytest.mark.e2e)
            item.add_marker(needs_root)


@pytest.fixture(scope="module")
def cluster_args() -> tuple[str, ...]:
    """Extra `kubesvc up` flags for this module's cluster."""
    return ()


@pytest.fixture(scope="module")
def cluster(
    tmp_path_factory: pytest.TempPathFactory, cluster_args: tuple[str, ...]
) -> Iterator[Cluster]:
    yield from run_cluster(tmp_path_factory, *cluster_args)


@pytest.fixture(scope="module")
def kubectl(cluster: Cluster, tmp_path_factory: pytest.TempPathFactory) -> Kubectl:
    return cluster_kubectl(cluster, tmp_path_factory)
