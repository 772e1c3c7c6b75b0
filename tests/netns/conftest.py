"""Root tier fixtures: clusters with test-unique ids and processes, all removed even on failure.

Every cluster a test makes is removed by `down(id)` in a finally block, and the fixture then
checks that `ip netns`, `ip link` and `ip route` show nothing carrying its id.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator

import pytest

from kubesvc.net import topology
from kubesvc.net.plan import Topology, plan_topology
from tests.netns.netns_helpers import CIDRS_A, traces, unique_id


@pytest.fixture
def make_cluster() -> Iterator[Callable[..., Topology]]:
    """Build topologies with test-unique ids; all of them are torn down and checked afterwards."""
    made: list[str] = []

    def make(nodes: int = 3, cidrs: tuple[str, str, str] = CIDRS_A) -> Topology:
        t = plan_topology(unique_id(), nodes, *cidrs)
        made.append(t.cluster)
        topology.up(t)
        return t

    try:
        yield make
    finally:
        failures = []
        for cluster in made:
            try:
                topology.down(cluster)
            except Exception as err:  # go on with the others, then report
                failures.append(f"{cluster}: {err}")
        left = {cluster: traces(cluster) + topology.leftovers(cluster) for cluster in made}
        assert not failures and not any(left.values()), (failures, left)


@pytest.fixture
def procs() -> Iterator[list[subprocess.Popen[bytes]]]:
    """Processes a test starts; killed by pid and reaped even when the test fails."""
    started: list[subprocess.Popen[bytes]] = []
    try:
        yield started
    finally:
        for proc in started:
            if proc.poll() is None:
                proc.kill()
            proc.wait(10)
