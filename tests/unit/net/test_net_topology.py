"""topology.up/down against a fake kernel: only names with the cluster id are ever touched."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from kubesvc.net import ip, plan, topology
from kubesvc.net.plan import Stage, Sysctl


@dataclass
class FakeKernel:
    netns: set[str] = field(default_factory=set)
    host_links: set[str] = field(default_factory=lambda: {"lo", "eth0"})
    routes: list[dict[str, Any]] = field(default_factory=list)
    pids: dict[str, list[int]] = field(default_factory=dict)
    etc: set[str] = field(default_factory=set)
    ran: list[str] = field(default_factory=list)
    killed: list[int] = field(default_factory=list)
    sysctls: list[Sysctl] = field(default_factory=list)

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setattr(ip, "support", lambda: None)
        monkeypatch.setattr(ip, "netns_list", lambda: sorted(self.netns))
        monkeypatch.setattr(ip, "host_link_exists", lambda name: name in self.host_links)
        monkeypatch.setattr(ip, "host_routes", lambda: list(self.routes))
        monkeypatch.setattr(ip, "links", lambda netns=None: [])
        monkeypatch.setattr(ip, "netns_pids", self.netns_pids)
        monkeypatch.setattr(ip, "kill", self.kill)
        monkeypatch.setattr(ip, "etc_dirs", self.etc_dirs)
        monkeypatch.setattr(ip, "remove_etc", self.remove_etc)
        monkeypatch.setattr(ip, "remove_etc_root_if_empty", lambda: None)
        monkeypatch.setattr(ip, "run_stages", self.run_stages)

    def netns_pids(self, names: Iterable[str]) -> dict[str, list[int]]:
        return {n: self.pids[n] for n in names if self.pids.get(n)}

    def kill(self, pids: Iterable[int], wait: float = 2.0) -> None:
        gone = set(pids)
        self.killed += sorted(gone)
        self.pids = {ns: [p for p in group if p not in gone] for ns, group in self.pids.items()}

    def etc_dirs(self, prefix: str) -> list[Path]:
        return [Path("/etc/netns") / name for name in sorted(self.etc) if name.startswith(prefix)]

    def remove_etc(self, netns: str) -> bool:
        self.etc.discard(netns)
        return True

    def run_stages(self, stages: Iterable[Stage], sysctls: Sequence[Sysctl] = ()) -> None:
        self.sysctls += sysctls
        for stage in stages:
            for batch in stage:
                for line in batch.lines:
                    self.ran.append(" ".join([*batch.argv()[:-2], line]))
                    words = line.split()
                    if batch.netns is None and words[:2] == ["netns", "del"]:
                        self.netns.discard(words[2])
                    elif batch.netns is None and words[:2] == ["link", "del"]:
                        self.host_links.discard(words[2])
                        self.routes = [r for r in self.routes if r["dev"] != words[2]]
                    elif batch.netns is None and words[:2] == ["netns", "add"]:
                        self.netns.add(words[2])


@pytest.fixture
def kernel(monkeypatch: pytest.MonkeyPatch) -> FakeKernel:
    fake = FakeKernel()
    fake.install(monkeypatch)
    return fake


def test_down_removes_only_what_carries_the_id(kernel: FakeKernel) -> None:
    kernel.netns = {
        "ks-ab-underlay",
        "ks-ab-node-1",
        "ks-ab-p-web-1",
        "ks-abc-node-1",  # another cluster whose id starts the same
        "ks-a-node-1",
        "cni-1234",
    }
    kernel.host_links |= {"ksabh", "ksabch"}
    kernel.routes = [
        {"dst": "default", "gateway": "192.0.2.1", "dev": "eth0"},
        {"dst": "10.244.0.0/16", "gateway": "172.18.0.2", "dev": "ksabh"},
        {"dst": "10.245.0.0/16", "gateway": "172.19.0.2", "dev": "ksabch"},
    ]
    kernel.pids = {"ks-ab-p-web-1": [4242], "ks-abc-node-1": [777]}
    kernel.etc = {"ks-ab-p-web-1", "ks-abc-p-x"}

    removed = topology.down("ab")

    assert removed == [
        "pid 4242 (netns ks-ab-p-web-1)",
        "route 10.244.0.0/16 via 172.18.0.2 dev ksabh",
        "link ksabh",
        "netns ks-ab-node-1",
        "netns ks-ab-p-web-1",
        "netns ks-ab-underlay",
        "dir /etc/netns/ks-ab-p-web-1",
    ]
    assert kernel.killed == [4242]
    assert kernel.ran == [
        "ip -force link del ksabh",
        "ip -force netns del ks-ab-node-1",
        "ip -force netns del ks-ab-p-web-1",
        "ip -force netns del ks-ab-underlay",
    ]
    assert kernel.netns == {"ks-abc-node-1", "ks-a-node-1", "cni-1234"}
    assert kernel.host_links == {"lo", "eth0", "ksabch"}
    assert kernel.etc == {"ks-abc-p-x"}
    assert topology.leftovers("ab") == []
    assert topology.clusters() == ["a", "abc"]


def test_down_when_nothing_exists(kernel: FakeKernel) -> None:
    assert topology.down("ab") == []
    assert kernel.ran == []


def test_up_refuses_routes_that_clash(kernel: FakeKernel) -> None:
    kernel.routes = [{"dst": "172.18.0.0/16", "dev": "br-5e1f"}]
    with pytest.raises(topology.TopologyError) as err:
        topology.up(plan.plan_topology("ab", 2))
    assert str(err.value) == (
        "the host already routes addresses of this cluster's CIDRs: 172.18.0.0/16 dev br-5e1f "
        "overlaps 172.18.0.0/16 (choose other --node-cidr/--pod-cidr/--service-cidr)"
    )
    assert kernel.ran == []


def test_up_without_support(kernel: FakeKernel, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ip, "support", lambda: "network namespaces need root")
    with pytest.raises(topology.TopologyError, match=r"^network namespaces need root$"):
        topology.up(plan.plan_topology("ab", 1))


def test_up_runs_the_plan_and_the_sysctls(kernel: FakeKernel) -> None:
    t = plan.plan_topology("ab", 2)
    topology.up(t)
    assert kernel.ran[0] == "ip netns add ks-ab-underlay"
    assert kernel.netns == set(t.netns_names)
    assert kernel.sysctls == list(t.sysctls)
    kernel.ran.clear()
    topology.up(t)  # the namespaces exist now: they are not added again
    assert not [line for line in kernel.ran if "netns add" in line]
    assert "ip route replace 10.96.0.0/12 via 172.18.0.2 dev ksabh" in kernel.ran


def test_a_failed_first_build_is_removed(
    kernel: FakeKernel, monkeypatch: pytest.MonkeyPatch
) -> None:
    t = plan.plan_topology("ab", 1)

    def fail(stages: Iterable[Stage], sysctls: Sequence[Sysctl] = ()) -> None:
        kernel.netns |= set(t.netns_names)  # the host stage ran, then a namespace batch failed
        kernel.host_links.add(t.host_veth)
        monkeypatch.setattr(ip, "run_stages", kernel.run_stages)
        raise ip.IpError(["ip", "-n", "ks-ab-node-1", "-batch", "-"], "x\n", 1, "Error: boom")

    monkeypatch.setattr(ip, "run_stages", fail)
    with pytest.raises(topology.TopologyError, match="building the network of cluster ab failed"):
        topology.up(t)
    assert kernel.netns == set() and t.host_veth not in kernel.host_links
